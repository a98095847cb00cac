#include "strategies.hpp"

namespace llm_router::selector::strategies {

// Rules already chose the pool; the inner strategy (from the route's `optimize`) orders it.
std::vector<PlannedBackend> Hybrid::order(const StrategyContext& context,
                                          std::span<const std::size_t> eligible) const {
  auto out = inner_->order(context, eligible);
  const std::string prefix = std::string(inner_->name()) + ": ";
  for (auto& p : out) p.reason.insert(0, prefix);
  return out;
}

}  // namespace llm_router::selector::strategies
