#pragma once

// Prometheus metrics (DESIGN.md §6; exposition format 0.0.4, docs/operator.md "Monitoring").
//
// Each module owns its metric objects (plain members, updated with relaxed atomics: no lock on
// the hot path) and the composition root registers them, by reference, under their Prometheus
// names in one Registry, which renders the text format on a scrape. Label values are escaped
// (`\\`, `\"`, `\n`); help text too (`\\`, `\n`). Nothing secret is ever a label: routes are
// templates ("/api/v1/vaults/{vault}/secrets/{secret...}"), never raw paths or names.
//
// Thread safety: every class here is thread-safe. Registered objects must outlive the
// Registry's last Render().

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sirr::metrics {

class Counter {
 public:
  void Inc(uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void Add(double v) noexcept { value_.fetch_add(v, std::memory_order_relaxed); }
  double Value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Cumulative buckets on output; one atomic count per bucket inside.
class Histogram {
 public:
  // Upper bounds, ascending (+Inf is implied).
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v) noexcept;

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Read() const;

  // Seconds, from 100 µs to 10 s.
  static std::vector<double> LatencyBounds();

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

// Metrics of one kind told apart by label values; children are created on first use and live
// as long as the family (references stay valid).
template <typename M>
class Family {
 public:
  // `make` builds a child (a Histogram needs its bounds).
  explicit Family(
      std::vector<std::string> label_names,
      std::function<std::unique_ptr<M>()> make = [] { return std::make_unique<M>(); })
      : label_names_(std::move(label_names)), make_(std::move(make)) {}

  // The child for these label values (as many as label names); created on first use (a
  // logically const operation: the family's observable values do not change).
  M& With(std::initializer_list<std::string_view> values) const {
    std::string key;
    for (std::string_view v : values) {
      key.append(v);
      key.push_back('\x1f');
    }
    {
      std::shared_lock lock(mu_);
      auto it = children_.find(key);
      if (it != children_.end()) return *it->second.metric;
    }
    std::unique_lock lock(mu_);
    auto [it, inserted] = children_.try_emplace(std::move(key));
    if (inserted) {
      it->second.values.assign(values.begin(), values.end());
      it->second.metric = make_();
    }
    return *it->second.metric;
  }

  const std::vector<std::string>& label_names() const { return label_names_; }
  // Calls fn(label values, metric) for each child, in label order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    std::shared_lock lock(mu_);
    for (const auto& [key, child] : children_) fn(child.values, *child.metric);
  }

 private:
  struct Child {
    std::vector<std::string> values;
    std::unique_ptr<M> metric;
  };
  const std::vector<std::string> label_names_;
  const std::function<std::unique_ptr<M>()> make_;
  mutable std::shared_mutex mu_;
  mutable std::map<std::string, Child, std::less<>> children_;  // guarded by mu_
};

using Labels = std::vector<std::pair<std::string, std::string>>;

class Registry {
 public:
  // One sample stream each; the same name may be added several times with other labels.
  void Add(std::string name, std::string help, const Counter& c, Labels labels = {});
  void Add(std::string name, std::string help, const Gauge& g, Labels labels = {});
  void Add(std::string name, std::string help, const Histogram& h, Labels labels = {});
  void Add(std::string name, std::string help, const Family<Counter>& f);
  void Add(std::string name, std::string help, const Family<Gauge>& f);
  void Add(std::string name, std::string help, const Family<Histogram>& f);
  // A value computed at scrape time (must be cheap: no I/O beyond /proc, no database query).
  void AddGaugeFn(std::string name, std::string help, std::function<double()> fn,
                  Labels labels = {});
  void AddCounterFn(std::string name, std::string help, std::function<double()> fn,
                    Labels labels = {});

  // The standard process_* metrics, read from /proc/self at scrape time.
  void AddProcessMetrics();

  // The text exposition format, version 0.0.4.
  std::string Render() const;
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Source {
    Labels labels;
    std::function<void(const Labels&, std::string_view name, std::string& out)> write;
  };
  struct Metric {
    std::string help;
    Type type;
    std::vector<Source> sources;
  };
  void AddSource(std::string name, std::string help, Type type, Source source);

  mutable std::mutex mu_;
  std::map<std::string, Metric> metrics_;  // by name; guarded by mu_
};

// Text-format helpers (exposed for tests).
std::string EscapeLabelValue(std::string_view v);
std::string EscapeHelp(std::string_view v);
// Go ParseFloat-compatible: "+Inf", "-Inf", "NaN", else the shortest round-trip decimal.
std::string FormatValue(double v);

}  // namespace sirr::metrics
