#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llm_router/config/config.hpp"
#include "llm_router/selector/live_stats.hpp"
#include "llm_router/selector/plan.hpp"
#include "llm_router/selector/request_facts.hpp"
#include "llm_router/selector/rng.hpp"

namespace llm_router::selector {

// What a strategy may look at for one request.
struct StrategyContext {
  const config::Config& config;
  const config::Route& route;
  const RequestFacts& facts;
  const LiveStats& live;
  Rng& rng;
  bool preview = false;  // a dry run: shared state (round-robin turns) is read, not advanced
};

// Orders the eligible backends of one pool. One instance per pool, built at Selector
// construction (so rings and weights are resolved once); order() is const and thread-safe,
// mutable state (round-robin counters) is atomic.
class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string_view name() const = 0;
  // Whether order() reads RequestFacts::session_key (computed only when some pool does).
  virtual bool hashes_sessions() const { return false; }
  // eligible: Config::backends indices in pool order, already filtered (capability, ejected,
  // full, quality floor). Returns them all, best first, each with a score and a reason.
  virtual std::vector<PlannedBackend> order(const StrategyContext& context,
                                            std::span<const std::size_t> eligible) const = 0;
};

// Builds the named strategy for a pool (`pool` holds its settings; `route` the route-wide
// ones). Throws std::invalid_argument for an unknown name (config load validates names first).
std::unique_ptr<Strategy> make_strategy(std::string_view name, const config::Config& config,
                                        const config::Route& route, const config::Pool& pool);

// Expected output tokens for cost/latency estimates.
std::int64_t expected_output_tokens(const config::Route& route, const RequestFacts& facts);
// Expected USD cost of the request on a backend.
double expected_cost(const config::Backend& backend, const config::Route& route,
                     const RequestFacts& facts);

}  // namespace llm_router::selector
