#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "llm_router/config/config.hpp"

namespace llm_router::selector {

enum class PlanStatus {
  ok,             // candidates/fallbacks hold at least one backend
  unknown_model,  // `model` names neither a route nor a backend (404 model_not_found)
  no_candidates,  // every backend was excluded (capability, context window, ejected)
  all_busy,       // every eligible backend is at max_concurrency: queue or answer 429
  rate_limited,   // every eligible backend is at its rpm or tpm: 429 until a budget refills
};
std::string_view to_string(PlanStatus status);

struct PlannedBackend {
  std::size_t index = 0;  // into Config::backends
  const config::Backend* backend = nullptr;
  double score = 0;  // strategy-specific; higher is better unless the reason says otherwise
  std::string reason;
};

// Why a backend was left out of a plan: for what the request asks (no retry or wait changes
// that), or for the backend's state.
enum class ExclusionCause {
  no_vision,
  no_audio,
  no_tools,
  no_json,
  context_window,
  ejected,              // by the circuit breaker
  full,                 // at max_concurrency: worth waiting for
  rate_limited,         // its rpm or tpm budget is spent for now
  below_quality_floor,  // weaker than the route's or the request's floor
  other_vector_space,   // embeddings from another model than the route's
};

// A cause no backend state changes: the request needs what the backend lacks.
constexpr bool about_the_request(ExclusionCause cause) {
  return cause == ExclusionCause::no_vision || cause == ExclusionCause::no_audio ||
         cause == ExclusionCause::no_tools || cause == ExclusionCause::no_json ||
         cause == ExclusionCause::context_window || cause == ExclusionCause::other_vector_space;
}

struct Exclusion {
  std::string reason;
  ExclusionCause cause;
  bool full() const { return cause == ExclusionCause::full; }
};

struct ExcludedBackend {
  std::size_t index = 0;
  const config::Backend* backend = nullptr;
  std::string reason;
  ExclusionCause cause = ExclusionCause::ejected;
  bool full() const { return cause == ExclusionCause::full; }
};

// The selector's decision: which backends to try, in which order, and why. Backend pointers
// point into the Config snapshot the Selector holds: keep that snapshot alive with the plan.
struct RoutePlan {
  PlanStatus status = PlanStatus::ok;
  std::string route;                           // route name, or the backend name when `direct`
  std::string rule;                            // matched rule name, "default", or "direct"
  std::string strategy;                        // strategy that ordered `candidates`
  std::vector<std::string> rules_not_matched;  // rules tested before the match, in order
  std::vector<std::string> not_matched_why;    // dry runs: why each of them did not match
  std::string matched;                         // dry runs: what satisfied the rule's `when`
  bool direct = false;                         // `model` named a backend
  std::vector<PlannedBackend> candidates;      // primary first
  std::vector<PlannedBackend> fallbacks;       // after every candidate, in the listed order
  std::vector<ExcludedBackend> excluded;
  std::string message;  // why the plan is not ok
  // unknown_model: the backends whose upstream model it is, when there are several to name
  std::vector<std::string> serving_backends;

  bool ok() const { return status == PlanStatus::ok; }
  // candidates then fallbacks: the order the proxy walks.
  std::vector<std::size_t> attempt_order() const;
  nlohmann::json to_json() const;
};

}  // namespace llm_router::selector
