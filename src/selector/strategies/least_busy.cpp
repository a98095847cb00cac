#include <algorithm>
#include <cmath>

#include "strategies.hpp"

namespace llm_router::selector::strategies {

namespace {

// The share of a per-minute budget spent now (0 when the backend sets no limit).
double budget_used(std::int64_t limit, double available) {
  return limit > 0 ? std::clamp(1.0 - available / static_cast<double>(limit), 0.0, 1.0) : 0.0;
}

std::string percent(double share) {
  return std::to_string(std::lround(share * 100)) + "%";
}

}  // namespace

// Load is the most used of the backend's capacities: its slots, its rpm, its tpm (LiteLLM's
// usage-based routing, by share of each backend's own quota).
std::vector<PlannedBackend> LeastBusy::order(const StrategyContext& context,
                                             std::span<const std::size_t> eligible) const {
  std::vector<std::pair<double, PlannedBackend>> keyed;
  keyed.reserve(eligible.size());
  for (std::size_t index : eligible) {
    const auto& backend = context.config.backends[index];
    const BackendLive live = context.live.get(index);
    const int in_flight = std::max(0, live.in_flight);
    const double slots = backend.max_concurrency > 0 ? backend.max_concurrency : kUnlimitedSlots;
    double load = in_flight / slots;
    std::string reason = "in flight " + std::to_string(in_flight) + "/" +
                         (backend.max_concurrency > 0 ? std::to_string(backend.max_concurrency)
                                                      : std::string("unlimited"));
    if (backend.rpm > 0) {
      const double used = budget_used(backend.rpm, live.requests_available);
      load = std::max(load, used);
      reason += ", rpm " + percent(used) + " used";
    }
    if (backend.tpm > 0) {
      const double used = budget_used(backend.tpm, live.tokens_available);
      load = std::max(load, used);
      reason += ", tpm " + percent(used) + " used";
    }
    keyed.emplace_back(load, planned(context, index, 1.0 - load, std::move(reason)));
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
