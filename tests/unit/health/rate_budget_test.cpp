#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "llm_router/health/rate_budget.hpp"

namespace llm_router::health {
namespace {

constexpr Nanos kSecond = 1'000'000'000;
constexpr Nanos kStart = 1000 * kSecond;  // any steady-clock reading

TEST(RateBudget, TakesAMinutesWorthAtOnceThenRefuses) {
  RateBudget budget;
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(budget.try_spend(kStart, 60, 1)) << i;
  EXPECT_FALSE(budget.try_spend(kStart, 60, 1));
  EXPECT_LT(budget.available(kStart, 60), 1);
}

TEST(RateBudget, RefillsContinuouslyAtTheLimitPerMinute) {
  RateBudget budget;
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(budget.try_spend(kStart, 60, 1));
  // 60 per minute: one more each second, not all at the next minute.
  EXPECT_FALSE(budget.try_spend(kStart + kSecond / 2, 60, 1));
  EXPECT_TRUE(budget.try_spend(kStart + kSecond, 60, 1));
  EXPECT_FALSE(budget.try_spend(kStart + kSecond, 60, 1));
  EXPECT_NEAR(budget.available(kStart + 31 * kSecond, 60), 30, 1e-6);
  EXPECT_NEAR(budget.available(kStart + 600 * kSecond, 60), 60, 1e-6);  // never above the limit
}

TEST(RateBudget, ARefusalSpendsNothing) {
  RateBudget budget;
  ASSERT_TRUE(budget.try_spend(kStart, 1000, 900));
  EXPECT_FALSE(budget.try_spend(kStart, 1000, 200));
  EXPECT_TRUE(budget.try_spend(kStart, 1000, 100));
}

TEST(RateBudget, ZeroLimitIsUnlimited) {
  RateBudget budget;
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(budget.try_spend(kStart, 0, 1e9));
  EXPECT_EQ(budget.wait_for(kStart, 0, 1e9), 0);
  EXPECT_GT(budget.available(kStart, 0), 1e300);
}

TEST(RateBudget, MoreThanTheLimitRunsOnlyOnAWholeBudget) {
  RateBudget budget;
  EXPECT_TRUE(budget.try_spend(kStart, 1000, 5000));  // alone in its minute
  EXPECT_FALSE(budget.try_spend(kStart + 30 * kSecond, 1000, 5000));
  EXPECT_TRUE(budget.try_spend(kStart + 60 * kSecond, 1000, 5000));
}

TEST(RateBudget, WaitForSaysWhenTheAmountIsThere) {
  RateBudget budget;
  ASSERT_TRUE(budget.try_spend(kStart, 60, 60));
  EXPECT_EQ(budget.wait_for(kStart, 60, 1), kSecond);
  EXPECT_EQ(budget.wait_for(kStart, 60, 10), 10 * kSecond);
  EXPECT_EQ(budget.wait_for(kStart + 20 * kSecond, 60, 10), 0);
  EXPECT_TRUE(budget.try_spend(kStart + 20 * kSecond, 60, 10));
}

TEST(RateBudget, AdjustChargesBeyondTheLimitAndRefundsUpToWhole) {
  RateBudget budget;
  ASSERT_TRUE(budget.try_spend(kStart, 1000, 100));
  // The answer used 2,900 tokens more than the prompt's estimate: two minutes of debt.
  budget.adjust(kStart, 1000, 2900);
  EXPECT_EQ(budget.available(kStart, 1000), 0);
  EXPECT_FALSE(budget.try_spend(kStart + 60 * kSecond, 1000, 1));
  EXPECT_NEAR(budget.available(kStart + 150 * kSecond, 1000), 500, 1e-6);
  // A refund larger than what was spent leaves the budget whole, not above it.
  budget.adjust(kStart + 150 * kSecond, 1000, -100'000);
  EXPECT_NEAR(budget.available(kStart + 150 * kSecond, 1000), 1000, 1e-6);
}

TEST(RateBudget, ALoweredLimitKeepsTheShareSpent) {
  RateBudget budget;
  ASSERT_TRUE(budget.try_spend(kStart, 100, 50));  // half of the minute
  EXPECT_NEAR(budget.available(kStart, 10), 5, 1e-6);
}

// A reload's new limit keeps what was spent as a count, not as a share of the minute.
TEST(RateBudget, ARescaleKeepsTheCountSpent) {
  RateBudget raised;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(raised.try_spend(kStart, 10, 1));
  EXPECT_FALSE(raised.try_spend(kStart, 10, 1));
  raised.rescale(kStart, 10, 100);
  EXPECT_NEAR(raised.available(kStart, 100), 90, 1e-6);
  RateBudget cut;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(cut.try_spend(kStart, 60, 1));
  cut.rescale(kStart, 60, 6);
  EXPECT_NEAR(cut.available(kStart, 6), 1, 1e-6);
  RateBudget was_unlimited;
  ASSERT_TRUE(was_unlimited.try_spend(kStart, 10, 10));
  was_unlimited.rescale(kStart, 0, 10);  // nothing was counted while unlimited
  EXPECT_NEAR(was_unlimited.available(kStart, 10), 10, 1e-6);
}

TEST(RateBudget, ConcurrentSpendersNeverTakeMoreThanTheLimit) {
  RateBudget budget;
  std::atomic<int> taken{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (budget.try_spend(kStart, 500, 1)) taken.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(taken.load(), 500);
}

}  // namespace
}  // namespace llm_router::health
