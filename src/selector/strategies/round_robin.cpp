#include "strategies.hpp"

namespace llm_router::selector::strategies {

std::vector<PlannedBackend> RoundRobin::order(const StrategyContext& context,
                                              std::span<const std::size_t> eligible) const {
  std::vector<PlannedBackend> out;
  if (eligible.empty()) return out;
  const std::uint64_t turn = context.preview ? next_.load(std::memory_order_relaxed)
                                             : next_.fetch_add(1, std::memory_order_relaxed);
  const std::size_t start = static_cast<std::size_t>(turn % eligible.size());
  out.reserve(eligible.size());
  for (std::size_t i = 0; i < eligible.size(); ++i) {
    const std::size_t index = eligible[(start + i) % eligible.size()];
    out.push_back(
        planned(context, index, static_cast<double>(eligible.size() - i),
                i == 0 ? "round robin turn " + std::to_string(turn) : "next in rotation"));
  }
  return out;
}

}  // namespace llm_router::selector::strategies
