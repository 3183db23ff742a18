#pragma once

// Bounds what refusals cost in the audit log (unauthenticated and rate-limited requests can
// come as fast as a client can send them): per client address and action, the first
// `detailed` refusals of each window are recorded one by one; the rest are only counted, and
// one summary record per window says how many there were. The map of counters is bounded too:
// past `max_clients` addresses, further ones share one "*" counter.
//
// Thread safety: thread-safe.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"

namespace sirr::core {

class RefusalThrottle {
 public:
  struct Options {
    int64_t window_ms = 10'000;
    int detailed = 5;  // records per client, action and window
    size_t max_clients = 10'000;
  };
  struct Summary {
    std::string client;
    std::string action;
    int64_t suppressed = 0;  // refusals counted but not recorded one by one
    int64_t window_start_ms = 0;
  };

  RefusalThrottle(const Clock& clock, Options options) : clock_(clock), options_(options) {}

  // True when this refusal is to be recorded in detail; false when it was only counted.
  bool Admit(const std::string& client, std::string_view action) {
    const int64_t now = clock_.NowMillis();
    std::lock_guard lock(mu_);
    auto key = std::make_pair(client, std::string(action));
    auto it = counters_.find(key);
    if (it == counters_.end()) {
      if (counters_.size() >= options_.max_clients) key.first = "*";
      it = counters_.try_emplace(key, Counter{now, 0, 0}).first;
    }
    Counter& c = it->second;
    if (now - c.window_start >= options_.window_ms && c.suppressed == 0) c = Counter{now, 0, 0};
    if (c.detailed < options_.detailed && now - c.window_start < options_.window_ms) {
      ++c.detailed;
      return true;
    }
    ++c.suppressed;
    return false;
  }

  // Summaries of the windows that have ended (all of them when `all`), each once.
  std::vector<Summary> TakeEnded(bool all = false) {
    const int64_t now = clock_.NowMillis();
    std::vector<Summary> out;
    std::lock_guard lock(mu_);
    for (auto it = counters_.begin(); it != counters_.end();) {
      Counter& c = it->second;
      if (!all && now - c.window_start < options_.window_ms) {
        ++it;
        continue;
      }
      if (c.suppressed > 0)
        out.push_back(Summary{it->first.first, it->first.second, c.suppressed, c.window_start});
      it = counters_.erase(it);
    }
    return out;
  }

 private:
  struct Counter {
    int64_t window_start = 0;
    int detailed = 0;
    int64_t suppressed = 0;
  };
  const Clock& clock_;
  const Options options_;
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Counter> counters_;  // guarded by mu_
};

}  // namespace sirr::core
