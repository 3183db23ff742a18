#include "base/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace sirr::metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) noexcept {
  const size_t i =
      static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.bounds = bounds_;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> Histogram::LatencyBounds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out.push_back(c);
  }
  return out;
}

std::string EscapeHelp(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out.push_back(c);
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

namespace {

// name{a="x",b="y"} value\n, with `extra` (le="…") last.
void WriteSample(std::string& out, std::string_view name, const Labels& labels,
                 const std::pair<std::string, std::string>* extra, const std::string& value) {
  out.append(name);
  if (!labels.empty() || extra) {
    out.push_back('{');
    bool first = true;
    auto put = [&](const std::string& k, const std::string& v) {
      if (!first) out.push_back(',');
      first = false;
      out += k;
      out += "=\"";
      out += EscapeLabelValue(v);
      out.push_back('"');
    };
    for (const auto& [k, v] : labels) put(k, v);
    if (extra) put(extra->first, extra->second);
    out.push_back('}');
  }
  out.push_back(' ');
  out += value;
  out.push_back('\n');
}

void WriteHistogram(std::string& out, std::string_view name, const Labels& labels,
                    const Histogram& h) {
  const Histogram::Snapshot s = h.Read();
  const std::string bucket = std::string(name) + "_bucket";
  for (size_t i = 0; i <= s.bounds.size(); ++i) {
    std::pair<std::string, std::string> le{
        "le", i < s.bounds.size() ? FormatValue(s.bounds[i]) : std::string("+Inf")};
    WriteSample(out, bucket, labels, &le, std::to_string(s.cumulative[i]));
  }
  WriteSample(out, std::string(name) + "_sum", labels, nullptr, FormatValue(s.sum));
  WriteSample(out, std::string(name) + "_count", labels, nullptr, std::to_string(s.count));
}

Labels Zip(const std::vector<std::string>& names, const std::vector<std::string>& values,
           const Labels& base) {
  Labels out = base;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i)
    out.emplace_back(names[i], values[i]);
  return out;
}

}  // namespace

void Registry::AddSource(std::string name, std::string help, Type type, Source source) {
  std::lock_guard lock(mu_);
  Metric& m = metrics_[name];
  if (m.sources.empty()) {
    m.help = std::move(help);
    m.type = type;
  }
  m.sources.push_back(std::move(source));
}

void Registry::Add(std::string name, std::string help, const Counter& c, Labels labels) {
  AddSource(std::move(name), std::move(help), Type::kCounter,
            {std::move(labels), [&c](const Labels& l, std::string_view n, std::string& out) {
               WriteSample(out, n, l, nullptr, std::to_string(c.Value()));
             }});
}

void Registry::Add(std::string name, std::string help, const Gauge& g, Labels labels) {
  AddSource(std::move(name), std::move(help), Type::kGauge,
            {std::move(labels), [&g](const Labels& l, std::string_view n, std::string& out) {
               WriteSample(out, n, l, nullptr, FormatValue(g.Value()));
             }});
}

void Registry::Add(std::string name, std::string help, const Histogram& h, Labels labels) {
  AddSource(std::move(name), std::move(help), Type::kHistogram,
            {std::move(labels), [&h](const Labels& l, std::string_view n, std::string& out) {
               WriteHistogram(out, n, l, h);
             }});
}

void Registry::Add(std::string name, std::string help, const Family<Counter>& f) {
  AddSource(std::move(name), std::move(help), Type::kCounter,
            {{}, [&f](const Labels& l, std::string_view n, std::string& out) {
               f.ForEach([&](const std::vector<std::string>& values, const Counter& c) {
                 WriteSample(out, n, Zip(f.label_names(), values, l), nullptr,
                             std::to_string(c.Value()));
               });
             }});
}

void Registry::Add(std::string name, std::string help, const Family<Gauge>& f) {
  AddSource(std::move(name), std::move(help), Type::kGauge,
            {{}, [&f](const Labels& l, std::string_view n, std::string& out) {
               f.ForEach([&](const std::vector<std::string>& values, const Gauge& g) {
                 WriteSample(out, n, Zip(f.label_names(), values, l), nullptr,
                             FormatValue(g.Value()));
               });
             }});
}

void Registry::Add(std::string name, std::string help, const Family<Histogram>& f) {
  AddSource(std::move(name), std::move(help), Type::kHistogram,
            {{}, [&f](const Labels& l, std::string_view n, std::string& out) {
               f.ForEach([&](const std::vector<std::string>& values, const Histogram& h) {
                 WriteHistogram(out, n, Zip(f.label_names(), values, l), h);
               });
             }});
}

void Registry::AddGaugeFn(std::string name, std::string help, std::function<double()> fn,
                          Labels labels) {
  AddSource(std::move(name), std::move(help), Type::kGauge,
            {std::move(labels),
             [fn = std::move(fn)](const Labels& l, std::string_view n, std::string& out) {
               WriteSample(out, n, l, nullptr, FormatValue(fn()));
             }});
}

void Registry::AddCounterFn(std::string name, std::string help, std::function<double()> fn,
                            Labels labels) {
  AddSource(std::move(name), std::move(help), Type::kCounter,
            {std::move(labels),
             [fn = std::move(fn)](const Labels& l, std::string_view n, std::string& out) {
               WriteSample(out, n, l, nullptr, FormatValue(fn()));
             }});
}

std::string Registry::Render() const {
  std::string out;
  out.reserve(16 * 1024);
  std::lock_guard lock(mu_);
  for (const auto& [name, m] : metrics_) {
    out += "# HELP " + name + " " + EscapeHelp(m.help) + "\n";
    out += "# TYPE " + name + " " +
           (m.type == Type::kCounter ? "counter"
            : m.type == Type::kGauge ? "gauge"
                                     : "histogram") +
           "\n";
    for (const Source& s : m.sources) s.write(s.labels, name, out);
  }
  return out;
}

namespace {

struct ProcStat {
  double cpu_seconds = 0;
  double start_time = 0;
  double virtual_bytes = 0;
  double resident_bytes = 0;
};

// /proc/self/stat fields 14-15 (utime, stime), 22 (starttime), 23 (vsize), 24 (rss pages).
ProcStat ReadProcStat() {
  ProcStat s;
  std::ifstream in("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');  // the command name may hold spaces
  if (paren == std::string::npos) return s;
  std::istringstream fields(text.substr(paren + 2));
  std::vector<std::string> f;
  for (std::string x; fields >> x;) f.push_back(x);
  // f[0] is field 3 (state).
  auto field = [&](int n) { return n - 3 < static_cast<int>(f.size()) ? f[n - 3] : "0"; };
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  s.cpu_seconds = (std::stod(field(14)) + std::stod(field(15))) / ticks;
  s.virtual_bytes = std::stod(field(23));
  s.resident_bytes = std::stod(field(24)) * static_cast<double>(::sysconf(_SC_PAGESIZE));
  double boot = 0;
  std::ifstream proc_stat("/proc/stat");
  for (std::string line; std::getline(proc_stat, line);)
    if (line.starts_with("btime ")) boot = std::stod(line.substr(6));
  s.start_time = boot + std::stod(field(22)) / ticks;
  return s;
}

double OpenFds() {
  double n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (const dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
    n -= 1;  // the directory stream's own descriptor
  }
  return n;
}

}  // namespace

void Registry::AddProcessMetrics() {
  AddCounterFn("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
               [] { return ReadProcStat().cpu_seconds; });
  AddGaugeFn("process_resident_memory_bytes", "Resident memory size in bytes.",
             [] { return ReadProcStat().resident_bytes; });
  AddGaugeFn("process_virtual_memory_bytes", "Virtual memory size in bytes.",
             [] { return ReadProcStat().virtual_bytes; });
  AddGaugeFn("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
             [] { return ReadProcStat().start_time; });
  AddGaugeFn("process_open_fds", "Number of open file descriptors.", OpenFds);
  AddGaugeFn("process_max_fds", "Maximum number of open file descriptors.", [] {
    rlimit r{};
    return ::getrlimit(RLIMIT_NOFILE, &r) == 0 ? static_cast<double>(r.rlim_cur) : 0.0;
  });
}

}  // namespace sirr::metrics
