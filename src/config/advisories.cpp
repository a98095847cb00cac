#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "llm_router/config/config.hpp"

namespace llm_router::config {
namespace {

// Every backend a route's pools may order: its default pool, its rules', their fallbacks.
std::set<std::string> backends_of(const Route& route) {
  std::set<std::string> names(route.use.begin(), route.use.end());
  names.insert(route.fallback.begin(), route.fallback.end());
  for (const auto& rule : route.rules) {
    names.insert(rule.pool.use.begin(), rule.pool.use.end());
    names.insert(rule.pool.fallback.begin(), rule.pool.fallback.end());
  }
  return names;
}

bool orders_by(const Route& route, std::string_view strategy, Optimize optimize) {
  if (route.strategy == strategy || route.optimize == optimize) return true;
  for (const auto& rule : route.rules) {
    if (rule.pool.strategy == strategy) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> advisories(const Config& config) {
  std::vector<std::string> out;
  for (const auto& route : config.routes) {
    if (route.cascade.enabled && route.cascade.min_mean_logprob) {
      out.push_back("route '" + route.name +
                    "': cascade.min_mean_logprob reads only answers to requests that ask for "
                    "logprobs (logprobs: true); the router does not add them");
    }
    const bool by_cost = orders_by(route, "cost", Optimize::cost);
    const bool by_quality =
        orders_by(route, "quality", Optimize::quality) || route.quality_floor.value_or(0) > 0 ||
        std::any_of(route.rules.begin(), route.rules.end(),
                    [](const Rule& r) { return r.pool.quality_floor.value_or(0) > 0; });
    for (const auto& name : backends_of(route)) {
      const Backend* backend = config.find_backend(name);
      if (backend == nullptr) continue;
      if (by_cost && !backend->cost_set) {
        out.push_back("route '" + route.name + "' orders by cost, but backend '" + name +
                      "' has no cost: it counts as free (set cost: {input_per_mtok, "
                      "output_per_mtok})");
      }
      if (by_quality && !backend->quality_set) {
        out.push_back("route '" + route.name + "' uses quality, but backend '" + name +
                      "' has none: it counts as 0.5 (set quality: 0..1)");
      }
    }
  }
  return out;
}

}  // namespace llm_router::config
