#include "core/attempt_limiter.h"

#include <gtest/gtest.h>

namespace sirr::core {
namespace {

TEST(AttemptLimiterTest, DelaysGrowAfterFreeFailuresAndSuccessClears) {
  FakeClock clock;
  AttemptLimiter limiter(clock, AttemptLimits{3, 1000, 8000, 100});
  const std::string a = "10.0.0.1", b = "10.0.0.2";
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(limiter.RetryAfter(a));
    limiter.RecordFailure(a);
  }
  EXPECT_FALSE(limiter.RetryAfter(a));  // three free failures
  limiter.RecordFailure(a);             // 4th: 1 s
  EXPECT_EQ(limiter.RetryAfter(a), 1);
  EXPECT_FALSE(limiter.RetryAfter(b));  // per address
  clock.AdvanceMillis(1000);
  EXPECT_FALSE(limiter.RetryAfter(a));
  limiter.RecordFailure(a);  // 5th: 2 s
  EXPECT_EQ(limiter.RetryAfter(a), 2);
  clock.AdvanceMillis(2000);
  limiter.RecordFailure(a);  // 4 s
  limiter.RecordFailure(a);  // 8 s (cap)
  limiter.RecordFailure(a);  // still 8 s
  EXPECT_EQ(limiter.RetryAfter(a), 8);
  limiter.RecordSuccess(a);
  EXPECT_FALSE(limiter.RetryAfter(a));
}

TEST(AttemptLimiterTest, TracksABoundedNumberOfAddresses) {
  FakeClock clock;
  AttemptLimiter limiter(clock, AttemptLimits{0, 1000, 1000, 2});
  limiter.RecordFailure("a");
  clock.AdvanceMillis(1);
  limiter.RecordFailure("b");
  clock.AdvanceMillis(1);
  limiter.RecordFailure("c");  // evicts "a", the stalest
  EXPECT_FALSE(limiter.RetryAfter("a"));
  EXPECT_TRUE(limiter.RetryAfter("b"));
  EXPECT_TRUE(limiter.RetryAfter("c"));
}

}  // namespace
}  // namespace sirr::core
