#pragma once

#include <atomic>
#include <cstdint>

#include "llm_router/health/circuit_breaker.hpp"  // Nanos

namespace llm_router::health {

// A per-minute budget (a backend's `rpm` or `tpm`) as the generic cell rate algorithm: one
// atomic "theoretical arrival time". The budget refills continuously at limit/60 s and holds
// at most one minute's worth, so a quiet backend takes a burst of `limit` at once and a busy
// one is held to `limit` in any 60 s. Lock-free: shared by every io thread. The limit is
// passed to every call (a reload may change it): the state is the share of a minute spent.
class RateBudget {
 public:
  static constexpr Nanos kWindow = 60'000'000'000;  // one minute

  // What may be spent now, 0..limit (limit <= 0: unlimited, returns a huge number).
  double available(Nanos now, std::int64_t limit) const;
  // Spends `amount` when that much is available; false (and nothing spent) otherwise. An
  // amount above a whole minute's budget counts as that budget, taken when the budget is full:
  // a prompt larger than `tpm` still runs, alone in its minute.
  bool try_spend(Nanos now, std::int64_t limit, double amount);
  // Spends without asking (tokens an answer used beyond the estimate spent before it ran); a
  // negative amount gives back. The debt may pass a minute's worth: later requests wait it out.
  void adjust(Nanos now, std::int64_t limit, double amount);
  // How long until `amount` (capped at the limit) is available; 0 when it is now.
  Nanos wait_for(Nanos now, std::int64_t limit, double amount) const;
  // A reload changed the limit: what was spent stays spent, counted in requests or tokens (a
  // key that had used its 10 requests would otherwise stay blocked after a raise to 100, and
  // one that had used 5 of 60 get 5 more after a cut to 6). From unlimited, nothing was spent.
  void rescale(Nanos now, std::int64_t old_limit, std::int64_t new_limit);

 private:
  std::atomic<Nanos> tat_{0};  // when the budget is whole again
};

}  // namespace llm_router::health
