#include "strategies.hpp"

namespace llm_router::selector::strategies {

std::vector<PlannedBackend> Ordered::order(const StrategyContext& context,
                                           std::span<const std::size_t> eligible) const {
  std::vector<PlannedBackend> out;
  out.reserve(eligible.size());
  for (std::size_t i = 0; i < eligible.size(); ++i) {
    out.push_back(planned(context, eligible[i], static_cast<double>(eligible.size() - i),
                          "listed #" + std::to_string(i + 1)));
  }
  return out;
}

}  // namespace llm_router::selector::strategies
