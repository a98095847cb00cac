#include "llm_router/health/capacity_gate.hpp"

#include <algorithm>

namespace llm_router::health {

bool CapacityGate::try_acquire(int limit) {
  int current = in_flight_.load();
  do {
    if (limit > 0 && current >= limit) return false;
  } while (!in_flight_.compare_exchange_weak(current, current + 1));
  return true;
}

void CapacityGate::release() {
  // Sequentially consistent with enqueue(): either a new waiter sees the freed slot when it
  // looks again after queueing, or this sees the waiter.
  in_flight_.fetch_sub(1);
  wake_oldest();
}

void CapacityGate::pass_turn(int limit) {
  if (limit > 0 && in_flight_.load() >= limit) return;
  wake_oldest();
}

void CapacityGate::wake_oldest() {
  if (waiting_.load() == 0) return;
  std::shared_ptr<CapacityWaiter> chosen;
  {
    std::lock_guard lock(mutex_);
    while (!waiters_.empty() && !chosen) {
      auto front = std::move(waiters_.front());
      waiters_.pop_front();
      waiting_.fetch_sub(1, std::memory_order_relaxed);
      if (front->claim()) chosen = std::move(front);  // else woken by another backend already
    }
  }
  if (chosen) chosen->wake();
}

void CapacityGate::wake_all() {
  std::deque<std::shared_ptr<CapacityWaiter>> woken;
  {
    std::lock_guard lock(mutex_);
    woken.swap(waiters_);
    waiting_.fetch_sub(static_cast<int>(woken.size()), std::memory_order_relaxed);
  }
  for (const auto& waiter : woken) {
    if (waiter->claim()) waiter->wake();
  }
}

bool CapacityGate::enqueue(std::shared_ptr<CapacityWaiter> waiter, int max_waiting) {
  std::lock_guard lock(mutex_);
  if (static_cast<int>(waiters_.size()) >= max_waiting) return false;
  waiters_.push_back(std::move(waiter));
  waiting_.fetch_add(1);
  return true;
}

void CapacityGate::remove(const CapacityWaiter* waiter) {
  std::lock_guard lock(mutex_);
  const auto before = waiters_.size();
  std::erase_if(waiters_, [&](const auto& w) { return w.get() == waiter; });
  waiting_.fetch_sub(static_cast<int>(before - waiters_.size()), std::memory_order_relaxed);
}

}  // namespace llm_router::health
