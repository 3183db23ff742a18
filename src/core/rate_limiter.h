#pragma once

// RateLimiter: a token bucket per principal. Each principal may make `burst` requests at once
// and `per_second` requests per second on average; a request that finds the bucket empty is
// refused with the seconds until a token is available (HTTP 429 + Retry-After). At most
// `max_tracked` principals are remembered; when full, buckets that have refilled completely
// (indistinguishable from new ones) are dropped first, then the stalest.
//
// Thread safety: thread-safe.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "base/clock.h"

namespace sirr::core {

struct RateLimits {
  double per_second = 50;  // <= 0: unlimited
  double burst = 100;
  size_t max_tracked = 100'000;
};

class RateLimiter {
 public:
  RateLimiter(const Clock& clock, RateLimits limits) : clock_(clock), limits_(limits) {}

  bool enabled() const { return limits_.per_second > 0; }
  // Takes one token for `principal`; nullopt when allowed, else seconds to wait (>= 1).
  std::optional<int64_t> Take(const std::string& principal);
  // How many principals have a bucket now (at most max_tracked).
  size_t tracked() const;

 private:
  struct Bucket {
    double tokens = 0;
    int64_t updated_ms = 0;
  };
  void Evict(int64_t now);

  const Clock& clock_;
  const RateLimits limits_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;  // guarded by mu_
};

}  // namespace sirr::core
