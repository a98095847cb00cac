#include <algorithm>
#include <cmath>

#include "strategies.hpp"

namespace llm_router::selector::strategies {
namespace {

// Gaussian posterior of the mean reward with a weak N(0.5, 0.25) prior worth one observation.
double gaussian_sample(const ArmPosterior& arm, Rng& rng) {
  const double n = arm.count + 1;
  const double mean = (arm.reward_sum + 0.5) / n;
  const double second_moment = (arm.reward_sq_sum + 0.25 + 0.25) / n;
  const double variance = std::max(0.01, second_moment - mean * mean);
  return mean + rng.normal() * std::sqrt(variance / n);
}

}  // namespace

// Thompson sampling: draw a plausible mean reward per arm from its posterior, best draw first.
// Arms are per (route, category), so a backend good at code need not win for chit-chat.
std::vector<PlannedBackend> Bandit::order(const StrategyContext& context,
                                          std::span<const std::size_t> eligible) const {
  const std::string key = bandit_key(context.route.name, context.facts.category);
  const bool gaussian = context.route.bandit.prior == config::BanditSettings::Prior::gaussian;
  std::vector<PlannedBackend> out;
  out.reserve(eligible.size());
  for (std::size_t index : eligible) {
    const auto& backend = context.config.backends[index];
    const ArmPosterior arm = context.live.arm(key, backend.name);
    const double mean = arm.count > 0 ? arm.reward_sum / arm.count : 0;
    if (context.preview) {
      // A dry run ranks by what has been learnt, not by one random draw.
      const double expected = gaussian ? mean : arm.alpha / (arm.alpha + arm.beta);
      out.push_back(planned(context, index, expected,
                            "posterior mean " + format_number(expected) + " (" + key + ", n=" +
                                format_number(arm.count, 9) + "; requests draw a sample)"));
      continue;
    }
    const double sample =
        gaussian ? gaussian_sample(arm, context.rng)
                 : context.rng.beta(std::max(arm.alpha, 1e-6), std::max(arm.beta, 1e-6));
    out.push_back(planned(context, index, sample,
                          "thompson sample " + format_number(sample) + " (" + key + ", n=" +
                              format_number(arm.count, 9) + ", mean " + format_number(mean) + ")"));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.score > b.score; });
  return out;
}

}  // namespace llm_router::selector::strategies
