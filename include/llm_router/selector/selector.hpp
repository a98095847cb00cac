#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "llm_router/config/config.hpp"
#include "llm_router/selector/live_stats.hpp"
#include "llm_router/selector/plan.hpp"
#include "llm_router/selector/request_facts.hpp"
#include "llm_router/selector/strategy.hpp"

namespace llm_router::selector {

struct SelectorOptions {
  std::uint64_t seed = 0x5eed'5e1e'c7a0'0001ULL;  // each plan() draws from seed + call number
};

// Why `backend` cannot take a request with these facts (a capability tag it lacks, a context
// window too small, ejected by its breaker, at max_concurrency), or nullopt when it can.
// The room for the answer a backend is asked for: its override_params' max_tokens (or
// max_completion_tokens) whatever the client asked (`client_room`, 0: nothing), else the
// client's, else its default_params'.
std::int64_t answer_room(const config::Backend& backend, std::int64_t client_room);

std::optional<Exclusion> cannot_take(const config::Backend& backend, const BackendLive& live,
                                     const RequestFacts& facts);

// Turns request facts into a RoutePlan. Immutable after construction: one instance per config
// snapshot, shared by every io thread; plan() takes no locks.
class Selector {
 public:
  explicit Selector(std::shared_ptr<const config::Config> config, SelectorOptions options = {});
  ~Selector();

  RoutePlan plan(const RequestFacts& facts, const LiveStats& live) const;
  // Same with an explicit random seed (explain, replay, tests).
  RoutePlan plan(const RequestFacts& facts, const LiveStats& live, std::uint64_t seed) const;
  // The plan the next request with these facts would get, leaving every shared counter (the
  // seed sequence, round-robin turns) as it was: for dry runs, which must not move live routing.
  RoutePlan preview(const RequestFacts& facts, const LiveStats& live) const;

  const config::Config& config() const { return *config_; }
  // Whether a pool's strategy hashes RequestFacts::session_key, which is otherwise left empty.
  bool hashes_sessions() const { return hashes_sessions_; }

 private:
  struct CompiledPool;
  struct CompiledRoute;

  RoutePlan plan_direct(std::size_t backend_index, const RequestFacts& facts,
                        const LiveStats& live) const;
  RoutePlan plan_with(const RequestFacts& facts, const LiveStats& live, std::uint64_t seed,
                      bool preview) const;
  void fill_pool(const CompiledRoute& route, const CompiledPool& pool, const RequestFacts& facts,
                 const LiveStats& live, std::uint64_t seed, bool preview, RoutePlan& plan) const;

  std::shared_ptr<const config::Config> config_;
  SelectorOptions options_;
  std::vector<std::unique_ptr<CompiledRoute>> routes_;
  bool hashes_sessions_ = false;
  mutable std::atomic<std::uint64_t> calls_{0};
};

}  // namespace llm_router::selector
