#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

namespace llm_router::health {

using Nanos = std::int64_t;  // steady-clock nanoseconds, passed in so tests drive time by hand

struct BreakerSettings {
  int failure_threshold = 5;  // failures within `window` that open it...
  double failure_rate = 0.5;  // ...when they are at least this share of the window's results
  std::chrono::milliseconds window{10'000};
  std::chrono::milliseconds base_cooldown{5'000};   // first ejection
  std::chrono::milliseconds max_cooldown{120'000};  // doubling stops here
};

enum class BreakerState { closed, open, half_open };
std::string_view to_string(BreakerState state);  // "closed", "open", "half_open"

// Passive health of one backend, fed by attempt results. Lock-free: shared by every io thread.
// The window slides: the results counted are those of the last `window` (in tenths of it), so
// a busy backend's few failures never meet an emptied count just after a window began.
// closed --N failures in window, at least failure_rate of its results--> open
//   --cooldown over--> half_open (one trial request)
//   half_open --success--> closed;  half_open --failure--> open with a doubled cooldown.
// Active health checks add: any --probes failing--> open (held while they fail);
//   open by probes --probes passing--> closed.
class CircuitBreaker {
 public:
  explicit CircuitBreaker(BreakerSettings settings = {}) { configure(settings); }
  // New settings (a reload): they apply to the next result and the next ejection; an ejection
  // under way keeps its end.
  void configure(const BreakerSettings& settings);
  // Forgets what it saw: closed, no ejections, no results (the backend's address changed).
  void reset();

  // May a request go to this backend now? In half-open state one trial at a time is let
  // through; its stamp goes to `*trial` (left 0 for an ordinary admission), for end_trial.
  bool allow(Nanos now, Nanos* trial = nullptr);
  // The trial admitted at `stamp` ended without a verdict (the client left, a hedge won, the
  // request itself was at fault, no slot was free): the next request may try. After a verdict
  // (record_success, record_failure) it does nothing. A trial without either for max_cooldown
  // is presumed lost too.
  void end_trial(Nanos stamp);
  // Each says whether it changed the circuit: closed it (a success while open or half-open),
  // opened it (a failure). `started`: when the attempt began (-1: now). An attempt begun before
  // the circuit opened says nothing about what opened it: a plain request that succeeded while
  // the backend's streams were breaking does not close it, nor does a long stream failing after
  // the cooldown reopen it; the half-open trial (or a panic attempt) decides.
  bool record_success(Nanos now, Nanos started = -1);
  bool record_failure(Nanos now, Nanos started = -1);
  // The attempt begun at `started` is answering (a stream's first content arrived): when the
  // circuit is open or half-open, the backend is back and it closes, without waiting for an
  // answer that may stream for minutes. Its result is still recorded when it ends.
  bool record_commit(Nanos started);

  // Active health checks. The probes failed enough times in a row: keep the backend ejected
  // until at least `until` (the next probe decides again). Counts as an ejection when the
  // circuit was not open.
  void hold_open(Nanos now, Nanos until);
  // The probes passed enough times in a row: closes the circuit when the probes opened it. An
  // ejection by request failures keeps its cooldown and half-open trial (a backend may answer
  // its health path and still fail completions).
  void probe_passed();
  bool ejected_by_probe() const { return probe_ejected_.load(std::memory_order_relaxed); }

  BreakerState state(Nanos now) const;
  // When the current ejection ends (0 when closed): panic mode picks the soonest.
  Nanos open_until() const { return open_until_.load(std::memory_order_relaxed); }
  int ejections() const { return ejections_.load(std::memory_order_relaxed); }
  BreakerSettings settings() const;

 private:
  // A tenth of the window: its results packed in one word, so that starting a new tenth and
  // counting a result are one compare-and-swap (no result lost between them).
  static constexpr std::size_t kSlices = 10;
  struct Counts {
    int failures = 0;
    int successes = 0;
  };
  void add_result(Nanos now, bool failure);
  Counts window_counts(Nanos now) const;
  Nanos slice_length() const;
  void open(Nanos now);
  void close();
  void clear_counts();  // the window's failures and successes

  std::atomic<int> failure_threshold_{0};
  std::atomic<double> failure_rate_{0};
  std::atomic<Nanos> window_{0};
  std::atomic<Nanos> base_cooldown_{0};
  std::atomic<Nanos> max_cooldown_{0};
  // Per slice: [slice number, 32 bits][failures, 16][successes, 16], the counts saturating.
  std::array<std::atomic<std::uint64_t>, kSlices> slices_{};
  std::atomic<Nanos> open_until_{0};
  std::atomic<Nanos> opened_at_{0};  // when the circuit last opened
  std::atomic<int> ejections_{0};
  std::atomic<Nanos> trial_started_{0};  // 0: no trial in flight
  std::atomic<bool> probe_ejected_{false};
};

// Ends the half-open trial admitted at `stamp` (0: none) when it goes out of scope, if no
// verdict ended it first: however the attempts it admitted came to an end.
class TrialGuard {
 public:
  TrialGuard(CircuitBreaker& breaker, Nanos stamp) : breaker_(breaker), stamp_(stamp) {}
  TrialGuard(const TrialGuard&) = delete;
  TrialGuard& operator=(const TrialGuard&) = delete;
  ~TrialGuard() {
    if (stamp_ != 0) breaker_.end_trial(stamp_);
  }

 private:
  CircuitBreaker& breaker_;
  Nanos stamp_;
};

Nanos steady_now();

}  // namespace llm_router::health
