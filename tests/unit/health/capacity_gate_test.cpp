#include "llm_router/health/capacity_gate.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace llm_router::health {
namespace {

TEST(CapacityGate, TakesSlotsUpToTheLimit) {
  CapacityGate gate;
  EXPECT_TRUE(gate.try_acquire(2));
  EXPECT_TRUE(gate.try_acquire(2));
  EXPECT_FALSE(gate.try_acquire(2));
  EXPECT_EQ(gate.in_flight(), 2);
  gate.release();
  EXPECT_TRUE(gate.try_acquire(2));
}

TEST(CapacityGate, ZeroLimitIsUnlimited) {
  CapacityGate gate;
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(gate.try_acquire(0));
  EXPECT_EQ(gate.in_flight(), 1000);
}

// Queues two waiters on `gate` that note their names in `woken` when woken.
void queue_two_waiters(CapacityGate& gate, std::string& woken) {
  ASSERT_TRUE(gate.enqueue(std::make_shared<CapacityWaiter>([&] { woken += "first "; }), 8));
  ASSERT_TRUE(gate.enqueue(std::make_shared<CapacityWaiter>([&] { woken += "second "; }), 8));
}

TEST(CapacityGate, ReleaseWakesTheOldestWaiterFirst) {
  CapacityGate gate;
  std::string woken;
  ASSERT_TRUE(gate.try_acquire(1));
  queue_two_waiters(gate, woken);
  EXPECT_EQ(gate.waiting(), 2);
  gate.release();
  EXPECT_EQ(woken, "first ");
  EXPECT_EQ(gate.waiting(), 1);
  ASSERT_TRUE(gate.try_acquire(1));
  gate.release();
  EXPECT_EQ(woken, "first second ");
}

// A woken request that does not take the freed slot hands its turn to the next waiter; while
// every slot is taken there is no turn to hand on.
TEST(CapacityGate, PassTurnWakesTheNextWaiterOnlyWhenASlotIsFree) {
  CapacityGate gate;
  std::string woken;
  ASSERT_TRUE(gate.try_acquire(1));
  queue_two_waiters(gate, woken);
  gate.release();
  EXPECT_EQ(woken, "first ");
  gate.pass_turn(1);
  EXPECT_EQ(woken, "first second ");
  EXPECT_EQ(gate.waiting(), 0);

  CapacityGate busy;
  std::string none;
  ASSERT_TRUE(busy.try_acquire(1));
  queue_two_waiters(busy, none);
  busy.pass_turn(1);
  EXPECT_EQ(none, "");
}

// After a reload every waiter looks again, in order, each woken once.
TEST(CapacityGate, WakeAllWakesEveryWaiterOnce) {
  CapacityGate gate;
  std::string woken;
  ASSERT_TRUE(gate.try_acquire(1));
  queue_two_waiters(gate, woken);
  gate.wake_all();
  EXPECT_EQ(woken, "first second ");
  EXPECT_EQ(gate.waiting(), 0);
  gate.release();  // nobody left to wake
  EXPECT_EQ(woken, "first second ");
}

TEST(CapacityGate, QueueIsBounded) {
  CapacityGate gate;
  auto noop = [] {};
  EXPECT_TRUE(gate.enqueue(std::make_shared<CapacityWaiter>(noop), 1));
  EXPECT_FALSE(gate.enqueue(std::make_shared<CapacityWaiter>(noop), 1));
  EXPECT_FALSE(gate.enqueue(std::make_shared<CapacityWaiter>(noop), 0));
}

TEST(CapacityGate, AWaiterQueuedOnTwoGatesIsWokenOnce) {
  CapacityGate a;
  CapacityGate b;
  ASSERT_TRUE(a.try_acquire(1));
  ASSERT_TRUE(b.try_acquire(1));
  int wakes = 0;
  auto waiter = std::make_shared<CapacityWaiter>([&] { ++wakes; });
  auto later = std::make_shared<CapacityWaiter>([&] { wakes += 10; });
  ASSERT_TRUE(a.enqueue(waiter, 8));
  ASSERT_TRUE(b.enqueue(waiter, 8));
  ASSERT_TRUE(b.enqueue(later, 8));
  a.release();
  EXPECT_EQ(wakes, 1);
  b.release();  // skips the waiter already woken by `a`, wakes the next one
  EXPECT_EQ(wakes, 11);
  EXPECT_EQ(b.waiting(), 0);
}

TEST(CapacityGate, RemovedWaitersAreNotWoken) {
  CapacityGate gate;
  ASSERT_TRUE(gate.try_acquire(1));
  bool woken = false;
  auto waiter = std::make_shared<CapacityWaiter>([&] { woken = true; });
  ASSERT_TRUE(gate.enqueue(waiter, 8));
  gate.remove(waiter.get());
  EXPECT_EQ(gate.waiting(), 0);
  gate.release();
  EXPECT_FALSE(woken);
}

}  // namespace
}  // namespace llm_router::health
