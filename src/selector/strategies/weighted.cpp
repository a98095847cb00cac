#include <algorithm>
#include <cmath>
#include <limits>

#include "strategies.hpp"

namespace llm_router::selector::strategies {

Weighted::Weighted(const config::Config& config, const std::map<std::string, double>& weights)
    : weight_by_backend_(config.backends.size(), 1.0) {
  for (std::size_t i = 0; i < config.backends.size(); ++i) {
    const auto it = weights.find(config.backends[i].name);
    if (it != weights.end()) weight_by_backend_[i] = it->second;
  }
}

std::vector<PlannedBackend> Weighted::order(const StrategyContext& context,
                                            std::span<const std::size_t> eligible) const {
  double total = 0;
  for (std::size_t index : eligible) total += weight_by_backend_[index];
  // Weighted sampling without replacement (Efraimidis-Spirakis): sort by u^(1/w), so the first
  // pick follows the weights and the rest form a weighted fallback order. A dry run shows the
  // most likely order (heaviest first) instead of one random draw.
  std::vector<std::pair<double, PlannedBackend>> keyed;
  keyed.reserve(eligible.size());
  for (std::size_t index : eligible) {
    const double w = weight_by_backend_[index];
    const double key = context.preview ? w
                       : w > 0         ? std::log(std::max(context.rng.uniform(), 1e-300)) / w
                                       : -std::numeric_limits<double>::infinity();
    const double share = total > 0 ? w / total : 0;
    keyed.emplace_back(key, planned(context, index, share,
                                    "weight " + format_number(w) + " (" +
                                        format_number(100 * share) + "% of the pool)"));
  }
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<PlannedBackend> out;
  out.reserve(keyed.size());
  for (auto& [key, p] : keyed) out.push_back(std::move(p));
  return out;
}

}  // namespace llm_router::selector::strategies
