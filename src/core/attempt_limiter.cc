#include "core/attempt_limiter.h"

#include <algorithm>

namespace sirr::core {

std::optional<int64_t> AttemptLimiter::RetryAfter(const std::string& client) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(client);
  if (it == entries_.end()) return std::nullopt;
  const int64_t now = clock_.NowMillis();
  if (now >= it->second.next_allowed_ms) return std::nullopt;
  return std::max<int64_t>(1, (it->second.next_allowed_ms - now + 999) / 1000);
}

void AttemptLimiter::RecordFailure(const std::string& client) {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowMillis();
  if (entries_.size() >= limits_.max_tracked && !entries_.contains(client)) {
    auto stalest = std::min_element(entries_.begin(), entries_.end(), [](auto& a, auto& b) {
      return a.second.last_ms < b.second.last_ms;
    });
    entries_.erase(stalest);
  }
  Entry& e = entries_[client];
  e.failures += 1;
  e.last_ms = now;
  const int over = e.failures - limits_.free_failures;
  if (over > 0) {
    int64_t delay = limits_.base_delay_ms;
    for (int i = 1; i < over && delay < limits_.max_delay_ms; ++i) delay *= 2;
    e.next_allowed_ms = now + std::min(delay, limits_.max_delay_ms);
  }
}

void AttemptLimiter::RecordSuccess(const std::string& client) {
  std::lock_guard lock(mu_);
  entries_.erase(client);
}

}  // namespace sirr::core
