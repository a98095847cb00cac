#include "llm_router/health/circuit_breaker.hpp"

#include <algorithm>

namespace llm_router::health {
namespace {

Nanos to_nanos(std::chrono::milliseconds ms) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(ms).count();
}

}  // namespace

std::string_view to_string(BreakerState state) {
  switch (state) {
    case BreakerState::open:
      return "open";
    case BreakerState::half_open:
      return "half_open";
    case BreakerState::closed:
      break;
  }
  return "closed";
}

Nanos steady_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

BreakerState CircuitBreaker::state(Nanos now) const {
  const Nanos until = open_until_.load(std::memory_order_acquire);
  if (until == 0) return BreakerState::closed;
  return now < until ? BreakerState::open : BreakerState::half_open;
}

bool CircuitBreaker::allow(Nanos now, Nanos* trial) {
  switch (state(now)) {
    case BreakerState::closed:
      return true;
    case BreakerState::open:
      return false;
    case BreakerState::half_open: {
      Nanos started = trial_started_.load(std::memory_order_acquire);
      if (started != 0 && now - started < to_nanos(settings_.max_cooldown)) return false;
      const Nanos stamp = std::max<Nanos>(now, 1);
      if (!trial_started_.compare_exchange_strong(started, stamp)) return false;
      if (trial) *trial = stamp;
      return true;
    }
  }
  return true;
}

void CircuitBreaker::end_trial(Nanos stamp) {
  trial_started_.compare_exchange_strong(stamp, 0, std::memory_order_acq_rel);
}

void CircuitBreaker::clear_counts() {
  failures_.store(0, std::memory_order_relaxed);
  successes_.store(0, std::memory_order_relaxed);
}

void CircuitBreaker::roll_window(Nanos now) {
  Nanos start = window_start_.load(std::memory_order_relaxed);
  if (now - start <= to_nanos(settings_.window)) return;
  if (window_start_.compare_exchange_strong(start, now)) {
    clear_counts();
  }
}

bool CircuitBreaker::record_success(Nanos now, Nanos started) {
  if (started < 0) started = now;
  const bool was_open = open_until_.load(std::memory_order_acquire) != 0;
  if (was_open && started < opened_at_.load(std::memory_order_acquire)) return false;
  if (was_open) {
    // The trial (or a request already under way) succeeded: closed, with a fresh count.
    open_until_.store(0, std::memory_order_release);
    ejections_.store(0, std::memory_order_relaxed);
    clear_counts();
    window_start_.store(now, std::memory_order_relaxed);
  }
  probe_ejected_.store(false, std::memory_order_relaxed);
  trial_started_.store(0, std::memory_order_release);
  roll_window(now);
  successes_.fetch_add(1, std::memory_order_acq_rel);
  return was_open;
}

void CircuitBreaker::hold_open(Nanos now, Nanos until) {
  if (state(now) != BreakerState::open) {
    ejections_.fetch_add(1, std::memory_order_acq_rel);
    opened_at_.store(now, std::memory_order_release);
  }
  Nanos current = open_until_.load(std::memory_order_acquire);
  while (current < until &&
         !open_until_.compare_exchange_weak(current, until, std::memory_order_acq_rel)) {
  }
  probe_ejected_.store(true, std::memory_order_relaxed);
  clear_counts();
  trial_started_.store(0, std::memory_order_release);
}

void CircuitBreaker::probe_passed() {
  if (!probe_ejected_.exchange(false, std::memory_order_acq_rel)) return;
  open_until_.store(0, std::memory_order_release);
  ejections_.store(0, std::memory_order_relaxed);
  clear_counts();
  trial_started_.store(0, std::memory_order_release);
}

bool CircuitBreaker::record_failure(Nanos now, Nanos started) {
  if (started < 0) started = now;
  if (state(now) == BreakerState::half_open) {
    if (started < opened_at_.load(std::memory_order_acquire)) return false;
    // The trial failed: eject again, for longer.
    open(now);
    return true;
  }
  if (state(now) == BreakerState::open) return false;  // late results of requests under way
  roll_window(now);
  // A success does not wipe the count: a backend failing 4 requests in 5 is ejected, while
  // one failing a few in thousands (a busy, healthy one) is not.
  const int failures = failures_.fetch_add(1, std::memory_order_acq_rel) + 1;
  const int results = failures + successes_.load(std::memory_order_acquire);
  if (failures >= settings_.failure_threshold &&
      failures >= settings_.failure_rate * static_cast<double>(results)) {
    open(now);
    return true;
  }
  return false;
}

void CircuitBreaker::open(Nanos now) {
  probe_ejected_.store(false, std::memory_order_relaxed);
  const int previous = ejections_.fetch_add(1, std::memory_order_acq_rel);
  const Nanos base = to_nanos(settings_.base_cooldown);
  const Nanos cap = to_nanos(settings_.max_cooldown);
  Nanos cooldown = base;
  for (int i = 0; i < previous && cooldown < cap; ++i) cooldown *= 2;
  opened_at_.store(now, std::memory_order_release);
  open_until_.store(now + std::min(cooldown, cap), std::memory_order_release);
  clear_counts();
  trial_started_.store(0, std::memory_order_release);
}

}  // namespace llm_router::health
