#pragma once

// AttemptLimiter: slows down guessing (unseal keys) per client address.
//
// The first `free_failures` failed attempts from an address cost nothing; after the n-th failure
// beyond those, the address must wait base * 2^(n-1) seconds (capped at max_delay) before its
// next attempt, which is refused with the remaining wait (HTTP 429 + Retry-After). A success
// clears the address. At most `max_tracked` addresses are remembered; the stalest are dropped.
//
// Thread safety: thread-safe.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "base/clock.h"

namespace sirr::core {

struct AttemptLimits {
  int free_failures = 3;
  int64_t base_delay_ms = 1000;
  int64_t max_delay_ms = 300'000;
  size_t max_tracked = 10'000;
};

class AttemptLimiter {
 public:
  AttemptLimiter(const Clock& clock, AttemptLimits limits = {}) : clock_(clock), limits_(limits) {}

  // Seconds to wait (>= 1) when `client` may not try now; nullopt when it may.
  std::optional<int64_t> RetryAfter(const std::string& client);
  void RecordFailure(const std::string& client);
  void RecordSuccess(const std::string& client);

 private:
  struct Entry {
    int failures = 0;
    int64_t next_allowed_ms = 0;
    int64_t last_ms = 0;
  };
  const Clock& clock_;
  const AttemptLimits limits_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;  // guarded by mu_
};

}  // namespace sirr::core
