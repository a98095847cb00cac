#include "llm_router/health/circuit_breaker.hpp"

#include <algorithm>

namespace llm_router::health {
namespace {

Nanos to_nanos(std::chrono::milliseconds ms) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(ms).count();
}

constexpr std::uint64_t kCountMax = 0xFFFF;

std::uint64_t pack(std::uint32_t slice, std::uint64_t failures, std::uint64_t successes) {
  return (std::uint64_t{slice} << 32) | (failures << 16) | successes;
}
std::uint32_t slice_of(std::uint64_t packed) {
  return static_cast<std::uint32_t>(packed >> 32);
}
std::uint64_t failures_of(std::uint64_t packed) {
  return (packed >> 16) & kCountMax;
}
std::uint64_t successes_of(std::uint64_t packed) {
  return packed & kCountMax;
}

}  // namespace

void CircuitBreaker::configure(const BreakerSettings& settings) {
  failure_threshold_.store(settings.failure_threshold, std::memory_order_relaxed);
  failure_rate_.store(settings.failure_rate, std::memory_order_relaxed);
  window_.store(to_nanos(settings.window), std::memory_order_relaxed);
  base_cooldown_.store(to_nanos(settings.base_cooldown), std::memory_order_relaxed);
  max_cooldown_.store(to_nanos(settings.max_cooldown), std::memory_order_relaxed);
}

BreakerSettings CircuitBreaker::settings() const {
  const auto millis = [](Nanos n) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::nanoseconds(n));
  };
  BreakerSettings settings;
  settings.failure_threshold = failure_threshold_.load(std::memory_order_relaxed);
  settings.failure_rate = failure_rate_.load(std::memory_order_relaxed);
  settings.window = millis(window_.load(std::memory_order_relaxed));
  settings.base_cooldown = millis(base_cooldown_.load(std::memory_order_relaxed));
  settings.max_cooldown = millis(max_cooldown_.load(std::memory_order_relaxed));
  return settings;
}

Nanos CircuitBreaker::slice_length() const {
  return std::max<Nanos>(1, window_.load(std::memory_order_relaxed) / static_cast<Nanos>(kSlices));
}

void CircuitBreaker::add_result(Nanos now, bool failure) {
  const auto slice = static_cast<std::uint32_t>(now / slice_length());
  std::atomic<std::uint64_t>& word = slices_[slice % kSlices];
  std::uint64_t old = word.load(std::memory_order_relaxed);
  while (true) {
    std::uint64_t failures = 0;
    std::uint64_t successes = 0;
    if (slice_of(old) == slice) {
      failures = failures_of(old);
      successes = successes_of(old);
    }
    if (failure) {
      failures = std::min(failures + 1, kCountMax);
    } else {
      successes = std::min(successes + 1, kCountMax);
    }
    if (word.compare_exchange_weak(old, pack(slice, failures, successes),
                                   std::memory_order_acq_rel)) {
      return;
    }
  }
}

// The results of the slices that are still in the window: this one and the nine before.
CircuitBreaker::Counts CircuitBreaker::window_counts(Nanos now) const {
  const auto slice = static_cast<std::uint32_t>(now / slice_length());
  Counts counts;
  for (const auto& word : slices_) {
    const std::uint64_t packed = word.load(std::memory_order_acquire);
    if (packed == 0 || slice - slice_of(packed) >= kSlices) continue;
    counts.failures += static_cast<int>(failures_of(packed));
    counts.successes += static_cast<int>(successes_of(packed));
  }
  return counts;
}

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
      if (started != 0 && now - started < max_cooldown_.load(std::memory_order_relaxed)) {
        return false;
      }
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
  for (auto& word : slices_) word.store(0, std::memory_order_relaxed);
}

// The trial (or a request already under way) succeeded: closed, with a fresh count.
void CircuitBreaker::close() {
  open_until_.store(0, std::memory_order_release);
  ejections_.store(0, std::memory_order_relaxed);
  clear_counts();
  probe_ejected_.store(false, std::memory_order_relaxed);
  trial_started_.store(0, std::memory_order_release);
}

void CircuitBreaker::reset() {
  close();
}

bool CircuitBreaker::record_success(Nanos now, Nanos started) {
  if (started < 0) started = now;
  const bool was_open = open_until_.load(std::memory_order_acquire) != 0;
  if (was_open && started < opened_at_.load(std::memory_order_acquire)) return false;
  if (was_open) close();
  add_result(now, false);
  return was_open;
}

bool CircuitBreaker::record_commit(Nanos started) {
  if (open_until_.load(std::memory_order_acquire) == 0) return false;
  if (started < opened_at_.load(std::memory_order_acquire)) return false;
  close();
  return true;
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
  // A success does not wipe the count: a backend failing 4 requests in 5 is ejected, while
  // one failing a few in thousands (a busy, healthy one) is not.
  add_result(now, true);
  const Counts counts = window_counts(now);
  const int results = counts.failures + counts.successes;
  if (counts.failures >= failure_threshold_.load(std::memory_order_relaxed) &&
      counts.failures >=
          failure_rate_.load(std::memory_order_relaxed) * static_cast<double>(results)) {
    open(now);
    return true;
  }
  return false;
}

void CircuitBreaker::open(Nanos now) {
  probe_ejected_.store(false, std::memory_order_relaxed);
  const int previous = ejections_.fetch_add(1, std::memory_order_acq_rel);
  const Nanos base = base_cooldown_.load(std::memory_order_relaxed);
  const Nanos cap = max_cooldown_.load(std::memory_order_relaxed);
  Nanos cooldown = base;
  for (int i = 0; i < previous && cooldown < cap; ++i) cooldown *= 2;
  opened_at_.store(now, std::memory_order_release);
  open_until_.store(now + std::min(cooldown, cap), std::memory_order_release);
  clear_counts();
  trial_started_.store(0, std::memory_order_release);
}

}  // namespace llm_router::health
