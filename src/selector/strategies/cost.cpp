#include <algorithm>

#include "strategies.hpp"

namespace llm_router::selector::strategies {

std::vector<PlannedBackend> Cost::order(const StrategyContext& context,
                                        std::span<const std::size_t> eligible) const {
  // The quality floor was applied by the selector: every eligible backend is good enough.
  std::vector<PlannedBackend> out;
  out.reserve(eligible.size());
  for (std::size_t index : eligible) {
    const auto& backend = context.config.backends[index];
    const double cost = expected_cost(backend, context.route, context.facts);
    out.push_back(planned(context, index, cost,
                          "expected $" + format_number(cost, 4) + " at quality " +
                              format_number(backend.quality, 2)));
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    if (a.score != b.score) return a.score < b.score;
    return a.backend->quality > b.backend->quality;
  });
  return out;
}

}  // namespace llm_router::selector::strategies
