#include "core/refusal_throttle.h"

#include <gtest/gtest.h>

namespace sirr::core {
namespace {

TEST(RefusalThrottleTest, RecordsAFewPerWindowThenCountsAndSummarisesOnce) {
  FakeClock clock;
  RefusalThrottle t(clock, {10'000, 3, 100});
  int detailed = 0;
  for (int i = 0; i < 1000; ++i) detailed += t.Admit("10.0.0.1", "auth.denied") ? 1 : 0;
  EXPECT_EQ(detailed, 3);
  EXPECT_TRUE(t.Admit("10.0.0.2", "auth.denied"));        // another address has its own budget
  EXPECT_TRUE(t.Admit("10.0.0.1", "auth.rate_limited"));  // and another action
  EXPECT_TRUE(t.TakeEnded().empty());                     // the window is still open
  clock.AdvanceSeconds(11);
  auto ended = t.TakeEnded();
  ASSERT_EQ(ended.size(), 1u);  // only windows with suppressed refusals are summarised
  EXPECT_EQ(ended[0].client, "10.0.0.1");
  EXPECT_EQ(ended[0].suppressed, 997);
  EXPECT_TRUE(t.TakeEnded().empty());               // once
  EXPECT_TRUE(t.Admit("10.0.0.1", "auth.denied"));  // a new window
}

TEST(RefusalThrottleTest, ManyAddressesShareOneCounterPastTheBound) {
  FakeClock clock;
  RefusalThrottle t(clock, {10'000, 1, 4});
  int detailed = 0;
  for (int i = 0; i < 1000; ++i)
    detailed += t.Admit("10.0.0." + std::to_string(i), "auth.denied") ? 1 : 0;
  EXPECT_EQ(detailed, 4 + 1);  // four addresses, then the shared "*" counter once
  auto all = t.TakeEnded(/*all=*/true);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].client, "*");
  EXPECT_EQ(all[0].suppressed, 995);
}

}  // namespace
}  // namespace sirr::core
