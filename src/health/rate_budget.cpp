#include "llm_router/health/rate_budget.hpp"

#include <algorithm>
#include <limits>

namespace llm_router::health {

namespace {

// Nanoseconds of the minute one unit of the budget stands for.
double interval(std::int64_t limit) {
  return static_cast<double>(RateBudget::kWindow) / limit;
}

Nanos cost_of(std::int64_t limit, double amount) {
  return static_cast<Nanos>(std::clamp(amount, 0.0, static_cast<double>(limit)) * interval(limit));
}

}  // namespace

double RateBudget::available(Nanos now, std::int64_t limit) const {
  if (limit <= 0) return std::numeric_limits<double>::max();
  const Nanos debt = std::max<Nanos>(0, tat_.load(std::memory_order_relaxed) - now);
  return std::max(0.0, static_cast<double>(kWindow - debt) / interval(limit));
}

bool RateBudget::try_spend(Nanos now, std::int64_t limit, double amount) {
  if (limit <= 0) return true;
  const Nanos cost = cost_of(limit, amount);
  Nanos tat = tat_.load(std::memory_order_relaxed);
  for (;;) {
    const Nanos next = std::max(tat, now) + cost;
    if (next - now > kWindow) return false;
    if (tat_.compare_exchange_weak(tat, next, std::memory_order_relaxed)) return true;
  }
}

void RateBudget::adjust(Nanos now, std::int64_t limit, double amount) {
  if (limit <= 0 || amount == 0) return;
  // Not capped at the limit: an answer may spend more than a minute's worth.
  const double most = 100.0 * kWindow;  // (no overflow from an absurd token count)
  const auto change = static_cast<Nanos>(std::clamp(amount * interval(limit), -most, most));
  Nanos tat = tat_.load(std::memory_order_relaxed);
  for (;;) {
    // What is given back never makes the budget more than whole.
    const Nanos next = std::max(std::max(tat, now) + change, now);
    if (tat_.compare_exchange_weak(tat, next, std::memory_order_relaxed)) return;
  }
}

void RateBudget::rescale(Nanos now, std::int64_t old_limit, std::int64_t new_limit) {
  if (new_limit <= 0 || old_limit == new_limit) return;
  if (old_limit <= 0) {
    tat_.store(0, std::memory_order_relaxed);
    return;
  }
  const double ratio = static_cast<double>(old_limit) / static_cast<double>(new_limit);
  Nanos tat = tat_.load(std::memory_order_relaxed);
  for (;;) {
    const Nanos debt = std::max<Nanos>(tat, now) - now;
    const Nanos next = now + static_cast<Nanos>(std::min(static_cast<double>(debt) * ratio,
                                                         100.0 * static_cast<double>(kWindow)));
    if (tat_.compare_exchange_weak(tat, next, std::memory_order_relaxed)) return;
  }
}

Nanos RateBudget::wait_for(Nanos now, std::int64_t limit, double amount) const {
  if (limit <= 0) return 0;
  const Nanos tat = tat_.load(std::memory_order_relaxed);
  return std::max<Nanos>(0, std::max(tat, now) + cost_of(limit, amount) - now - kWindow);
}

}  // namespace llm_router::health
