#include <algorithm>

#include "strategies.hpp"

namespace llm_router::selector::strategies {

std::vector<PlannedBackend> LeastBusy::order(const StrategyContext& context,
                                             std::span<const std::size_t> eligible) const {
  std::vector<std::pair<double, PlannedBackend>> keyed;
  keyed.reserve(eligible.size());
  for (std::size_t index : eligible) {
    const auto& backend = context.config.backends[index];
    const int in_flight = std::max(0, context.live.get(index).in_flight);
    const double slots = backend.max_concurrency > 0 ? backend.max_concurrency : kUnlimitedSlots;
    const double load = in_flight / slots;
    const std::string limit =
        backend.max_concurrency > 0 ? std::to_string(backend.max_concurrency) : "unlimited";
    keyed.emplace_back(load, planned(context, index, 1.0 - load,
                                     "in flight " + std::to_string(in_flight) + "/" + limit));
  }
  // Stable: equal load keeps the listed order, so the result is deterministic.
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<PlannedBackend> out;
  out.reserve(keyed.size());
  for (auto& [load, p] : keyed) out.push_back(std::move(p));
  return out;
}

}  // namespace llm_router::selector::strategies
