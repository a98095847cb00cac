#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

namespace llm_router::health {

// A request waiting for a free slot. It may wait on several backends at once; the first
// backend to free a slot claims it, so it is woken exactly once.
class CapacityWaiter {
 public:
  // `wake` runs on the releasing thread: it must only hand the news over (post, cancel a timer).
  explicit CapacityWaiter(std::function<void()> wake) : wake_(std::move(wake)) {}

  // True for the one caller that gets to wake this waiter.
  bool claim() {
    bool expected = false;
    return woken_.compare_exchange_strong(expected, true, std::memory_order_acq_rel);
  }
  bool woken() const { return woken_.load(std::memory_order_acquire); }
  void wake() const { wake_(); }

 private:
  std::function<void()> wake_;
  std::atomic<bool> woken_{false};
};

// One backend's concurrency slots (`max_concurrency`) and the FIFO of requests waiting for
// one. Taking a slot is lock-free; the mutex is only touched while somebody waits.
class CapacityGate {
 public:
  // Takes a slot unless `limit` (> 0) are taken; limit 0 means unlimited.
  bool try_acquire(int limit);
  // Frees a slot and wakes the oldest waiter not woken yet.
  void release();
  // Wakes the oldest waiter when a slot is free: a request woken for a slot that it then did
  // not take (refused, or sent elsewhere) passes its turn on.
  void pass_turn(int limit);
  // Wakes every waiter (a reload may have raised the limit: each looks again).
  void wake_all();
  int in_flight() const { return in_flight_.load(); }

  // Queues a waiter; false when `max_waiting` already wait (the caller answers 429).
  bool enqueue(std::shared_ptr<CapacityWaiter> waiter, int max_waiting);
  void remove(const CapacityWaiter* waiter);
  int waiting() const { return waiting_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int> in_flight_{0};
  std::atomic<int> waiting_{0};  // lets release() skip the mutex when nobody waits
  std::mutex mutex_;
  std::deque<std::shared_ptr<CapacityWaiter>> waiters_;

  void wake_oldest();
};

}  // namespace llm_router::health
