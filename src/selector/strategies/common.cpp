#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "strategies.hpp"

namespace llm_router::selector {

std::int64_t expected_output_tokens(const config::Route& route, const RequestFacts& facts) {
  if (facts.max_output_tokens > 0) {
    return std::min(facts.max_output_tokens, route.expected_output_tokens);
  }
  return route.expected_output_tokens;
}

double expected_cost(const config::Backend& backend, const config::Route& route,
                     const RequestFacts& facts) {
  const double input = static_cast<double>(std::max<std::int64_t>(0, facts.estimated_tokens));
  const double output = static_cast<double>(expected_output_tokens(route, facts));
  return (input * backend.cost.input_per_mtok + output * backend.cost.output_per_mtok) / 1e6;
}

namespace strategies {

PlannedBackend planned(const StrategyContext& context, std::size_t index, double score,
                       std::string reason) {
  return PlannedBackend{index, &context.config.backends[index], score, std::move(reason)};
}

std::string format_number(double value, int precision) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*g", precision, value);
  return buffer;
}

}  // namespace strategies

std::unique_ptr<Strategy> make_strategy(std::string_view name, const config::Config& config,
                                        const config::Route& route, const config::Pool& pool) {
  using namespace strategies;
  const auto& weights = pool.weights.empty() ? route.weights : pool.weights;
  const auto hash_key = pool.hash_key.value_or(route.hash_key.value_or(config::HashKey{}));
  const double exploration =
      pool.exploration.value_or(route.exploration.value_or(LowestLatency::kDefaultExploration));
  if (name == "ordered") return std::make_unique<Ordered>();
  if (name == "weighted") return std::make_unique<Weighted>(config, weights);
  if (name == "round_robin") return std::make_unique<RoundRobin>();
  if (name == "consistent_hash")
    return std::make_unique<ConsistentHash>(config, pool.use, hash_key);
  if (name == "least_busy") return std::make_unique<LeastBusy>();
  if (name == "lowest_latency") return std::make_unique<LowestLatency>(exploration);
  if (name == "cost") return std::make_unique<Cost>();
  if (name == "quality") return std::make_unique<Quality>();
  if (name == "bandit") return std::make_unique<Bandit>();
  if (name == "hybrid") {
    switch (route.optimize) {
      case config::Optimize::cost:
        return std::make_unique<Hybrid>(std::make_unique<Cost>());
      case config::Optimize::latency:
        return std::make_unique<Hybrid>(std::make_unique<LowestLatency>(exploration));
      case config::Optimize::quality:
        return std::make_unique<Hybrid>(std::make_unique<Quality>());
      case config::Optimize::none:
        break;
    }
    return std::make_unique<Hybrid>(std::make_unique<LeastBusy>());
  }
  throw std::invalid_argument("unknown strategy '" + std::string(name) + "'");
}

}  // namespace llm_router::selector
