#include <algorithm>

#include "strategies.hpp"

namespace llm_router::selector::strategies {

std::vector<PlannedBackend> Quality::order(const StrategyContext& context,
                                           std::span<const std::size_t> eligible) const {
  std::vector<std::pair<double, PlannedBackend>> keyed;
  keyed.reserve(eligible.size());
  for (std::size_t index : eligible) {
    const auto& backend = context.config.backends[index];
    const double cost = expected_cost(backend, context.route, context.facts);
    keyed.emplace_back(cost, planned(context, index, backend.quality,
                                     "quality " + format_number(backend.quality, 2) +
                                         ", expected $" + format_number(cost, 4)));
  }
  std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) {
    if (a.second.score != b.second.score) return a.second.score > b.second.score;
    return a.first < b.first;
  });
  std::vector<PlannedBackend> out;
  out.reserve(keyed.size());
  for (auto& [cost, p] : keyed) out.push_back(std::move(p));
  return out;
}

}  // namespace llm_router::selector::strategies
