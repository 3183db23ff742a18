#include "base/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "base/clock.h"
#include "base/encoding.h"

namespace sirr::log {
namespace {

constexpr size_t kMaxRepeatEntries = 1024;
constexpr size_t kAccessBufferFlushBytes = 64 * 1024;

struct Repeat {
  int64_t window_start = 0;
  int64_t suppressed = 0;
  Level level = Level::kError;
};

class Logger {
 public:
  static Logger& Get() {
    static Logger* logger = new Logger();  // never destroyed: used until exit
    return *logger;
  }

  void Configure(const Options& o) {
    std::lock_guard lock(mu_);
    options_ = o;
    access_on_.store(o.access_log && o.level <= Level::kInfo, std::memory_order_relaxed);
  }
  Options Current() {
    std::lock_guard lock(mu_);
    return options_;
  }
  void SetSink(std::string* sink) {
    std::unique_lock lock(mu_);
    FlushLocked(lock);
    lock.lock();
    sink_ = sink;
  }

  void Write(Level level, std::string_view message, const Fields& fields) {
    const int64_t now = SystemClock::Get().NowMillis();
    std::unique_lock lock(mu_);
    if (level < options_.level) return;
    if (level >= Level::kWarning && options_.repeat_window_ms > 0) {
      auto it = repeats_.find(message);
      if (it != repeats_.end() && now - it->second.window_start < options_.repeat_window_ms) {
        ++it->second.suppressed;
        return;
      }
      if (it != repeats_.end()) {
        WriteRepeatLocked(it->first, it->second, now);
        repeats_.erase(it);
      }
      if (repeats_.size() >= kMaxRepeatEntries) EndRepeatsLocked(now, /*all=*/true);
      repeats_.emplace(std::string(message), Repeat{now, 0, level});
    }
    FormatLocked(now, level, message, fields);
    FlushLocked(lock);
  }

  void Access(const AccessRecord& r) {
    if (!access_on_.load(std::memory_order_relaxed)) return;  // off: no lock per request
    const int64_t now = SystemClock::Get().NowMillis();
    std::unique_lock lock(mu_);
    if (!options_.access_log || options_.level > Level::kInfo) return;
    char duration[32];
    std::snprintf(duration, sizeof duration, "%.3f", r.duration_ms);
    if (options_.format == Format::kJson) {
      buffer_ += "{\"time\":\"" + FormatRfc3339(now) + "\",\"level\":\"info\",\"msg\":\"request\"";
      auto member = [&](std::string_view k, std::string_view v) {
        buffer_ += ",\"";
        buffer_ += k;
        buffer_ += "\":";
        AppendJsonString(buffer_, v);
      };
      member("request_id", r.request_id);
      member("method", r.method);
      member("route", r.route);
      buffer_ += ",\"status\":" + std::to_string(r.status);
      buffer_ += ",\"duration_ms\":";
      buffer_ += duration;
      member("principal", r.principal);
      member("client", r.client);
      buffer_ += "}\n";
    } else {
      buffer_ += FormatRfc3339(now);
      buffer_ += " sirrd access: ";
      buffer_ += r.method;
      buffer_.push_back(' ');
      buffer_ += r.route;
      buffer_ += ' ' + std::to_string(r.status) + ' ' + duration + "ms id=";
      buffer_ += r.request_id;
      buffer_ += " principal=";
      buffer_ += r.principal.empty() ? "-" : r.principal;
      buffer_ += " client=";
      buffer_ += r.client;
      buffer_.push_back('\n');
    }
    if (!flusher_started_) {
      flusher_started_ = true;
      std::thread([this] { FlushLoop(); }).detach();
    }
    // No wake-up per line: the flusher writes every 100 ms; a full buffer is written now.
    if (buffer_.size() >= kAccessBufferFlushBytes) FlushLocked(lock);
  }

  void Flush() {
    const int64_t now = SystemClock::Get().NowMillis();
    std::unique_lock lock(mu_);
    EndRepeatsLocked(now, /*all=*/false);
    FlushLocked(lock);
  }

 private:
  void FlushLoop() {
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::unique_lock lock(mu_);
      FlushLocked(lock);
    }
  }

  void FormatLocked(int64_t now, Level level, std::string_view message, const Fields& fields) {
    if (options_.format == Format::kJson) {
      buffer_ += "{\"time\":\"" + FormatRfc3339(now) + "\",\"level\":\"";
      buffer_ += LevelName(level);
      buffer_ += "\",\"msg\":";
      AppendJsonString(buffer_, message);
      for (const auto& [k, v] : fields) {
        buffer_ += ",\"";
        buffer_ += k;
        buffer_ += "\":";
        AppendJsonString(buffer_, v);
      }
      buffer_ += "}\n";
      return;
    }
    buffer_ += FormatRfc3339(now) + " sirrd ";
    buffer_ += LevelName(level);
    buffer_ += ": ";
    buffer_ += message;
    for (const auto& [k, v] : fields) {
      buffer_.push_back(' ');
      buffer_ += k;
      buffer_.push_back('=');
      buffer_ += v;
    }
    buffer_.push_back('\n');
  }

  void WriteRepeatLocked(const std::string& message, const Repeat& r, int64_t now) {
    if (r.suppressed == 0) return;
    FormatLocked(
        now, r.level, message,
        {{"repeated", std::to_string(r.suppressed)}, {"since", FormatRfc3339(r.window_start)}});
  }

  void EndRepeatsLocked(int64_t now, bool all) {
    for (auto it = repeats_.begin(); it != repeats_.end();) {
      if (all || now - it->second.window_start >= options_.repeat_window_ms) {
        WriteRepeatLocked(it->first, it->second, now);
        it = repeats_.erase(it);
      } else {
        ++it;
      }
    }
  }

  // Takes the buffered lines and writes them with mu_ released (writers keep appending
  // meanwhile); write_mu_, taken before mu_ is released, keeps the writes in order. Returns
  // with `lock` unlocked.
  void FlushLocked(std::unique_lock<std::mutex>& lock) {
    if (buffer_.empty()) {
      lock.unlock();
      return;
    }
    std::string out;
    out.swap(spare_);
    out.swap(buffer_);  // buffer_ gets the spare's capacity
    std::string* sink = sink_;
    {
      std::lock_guard write_lock(write_mu_);
      lock.unlock();
      if (sink) {
        sink->append(out);
      } else {
        size_t off = 0;
        while (off < out.size()) {
          ssize_t n = ::write(STDERR_FILENO, out.data() + off, out.size() - off);
          if (n <= 0) break;  // stderr gone: nothing better to do with the line
          off += static_cast<size_t>(n);
        }
      }
    }
    out.clear();
    lock.lock();
    if (spare_.capacity() < out.capacity()) spare_.swap(out);
    lock.unlock();
  }

  std::atomic<bool> access_on_{true};  // options_.access_log at level info or below
  std::mutex mu_;
  // Held while a taken buffer is written: taken with mu_ held, then mu_ is released; mu_ is
  // never requested while holding it.
  std::mutex write_mu_;
  std::string spare_;            // guarded by mu_: a cleared buffer kept for its capacity
  Options options_;              // guarded by mu_
  std::string buffer_;           // guarded by mu_
  std::string* sink_ = nullptr;  // guarded by mu_
  std::map<std::string, Repeat, std::less<>> repeats_;  // guarded by mu_
  bool flusher_started_ = false;                        // guarded by mu_
};

}  // namespace

StatusOr<Level> ParseLevel(std::string_view t) {
  if (t == "debug") return Level::kDebug;
  if (t == "info") return Level::kInfo;
  if (t == "warning" || t == "warn") return Level::kWarning;
  if (t == "error") return Level::kError;
  return InvalidArgumentError("SIRR_LOG_LEVEL must be debug, info, warning or error");
}

StatusOr<Format> ParseFormat(std::string_view t) {
  if (t == "text") return Format::kText;
  if (t == "json") return Format::kJson;
  return InvalidArgumentError("SIRR_LOG_FORMAT must be text or json");
}

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarning:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "info";
}

void Configure(const Options& options) { Logger::Get().Configure(options); }
Options Current() { return Logger::Get().Current(); }
void Write(Level level, std::string_view message, const Fields& fields) {
  Logger::Get().Write(level, message, fields);
}
void Access(const AccessRecord& record) { Logger::Get().Access(record); }
void Flush() { Logger::Get().Flush(); }
void SetSinkForTesting(std::string* sink) { Logger::Get().SetSink(sink); }

}  // namespace sirr::log
