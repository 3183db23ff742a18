#include "core/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace sirr::core {

std::optional<int64_t> RateLimiter::Take(const std::string& principal) {
  if (!enabled()) return std::nullopt;
  const int64_t now = clock_.NowMillis();
  std::lock_guard lock(mu_);
  auto it = buckets_.find(principal);
  if (it == buckets_.end()) {
    if (buckets_.size() >= limits_.max_tracked) Evict(now);
    it = buckets_.emplace(principal, Bucket{limits_.burst, now}).first;
  }
  Bucket& b = it->second;
  const double elapsed = static_cast<double>(std::max<int64_t>(0, now - b.updated_ms)) / 1000.0;
  b.tokens = std::min(limits_.burst, b.tokens + elapsed * limits_.per_second);
  b.updated_ms = now;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return std::nullopt;
  }
  const double wait = (1 - b.tokens) / limits_.per_second;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait)));
}

void RateLimiter::Evict(int64_t now) {
  const double full_after_ms = limits_.burst / limits_.per_second * 1000.0;
  std::erase_if(buckets_, [&](const auto& entry) {
    return static_cast<double>(now - entry.second.updated_ms) >= full_after_ms;
  });
  if (buckets_.size() < limits_.max_tracked) return;
  auto stalest = std::min_element(
      buckets_.begin(), buckets_.end(),
      [](const auto& a, const auto& b) { return a.second.updated_ms < b.second.updated_ms; });
  buckets_.erase(stalest);
}

size_t RateLimiter::tracked() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

}  // namespace sirr::core
