#include <algorithm>
#include <limits>

#include "strategies.hpp"

namespace llm_router::selector::strategies {

std::vector<PlannedBackend> LowestLatency::order(const StrategyContext& context,
                                                 std::span<const std::size_t> eligible) const {
  const double output_tokens =
      static_cast<double>(expected_output_tokens(context.route, context.facts));
  std::vector<std::pair<double, PlannedBackend>> keyed;
  keyed.reserve(eligible.size());
  for (std::size_t index : eligible) {
    const BackendLive live = context.live.get(index);
    const bool measured = live.ttft_ms >= 0 && live.per_token_ms >= 0;
    // An unmeasured backend goes first while no request is measuring it (one at a time, so a
    // slow one costs a single request), then last until its first sample: a faster backend is
    // found at once instead of never (or after many requests of exploration).
    const bool probing = !measured && live.in_flight == 0;
    const double expected = measured  ? live.ttft_ms + live.per_token_ms * output_tokens
                            : probing ? -1.0
                                      : std::numeric_limits<double>::infinity();
    std::string reason = measured ? "expected " + format_number(expected, 4) + " ms (ttft " +
                                        format_number(live.ttft_ms, 4) + " + " +
                                        format_number(output_tokens, 6) + " tokens x " +
                                        format_number(live.per_token_ms, 3) + " ms)"
                         : probing ? "no latency samples yet: this request measures it"
                                   : "no latency samples yet (a first one is under way)";
    keyed.emplace_back(expected, planned(context, index, expected, std::move(reason)));
  }
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<PlannedBackend> out;
  out.reserve(keyed.size());
  for (auto& [expected, p] : keyed) out.push_back(std::move(p));
  if (out.size() > 1 && exploration_ > 0 && !context.preview &&
      context.rng.uniform() < exploration_) {
    const auto pick = static_cast<std::size_t>(context.rng.next() % out.size());
    std::rotate(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(pick),
                out.begin() + static_cast<std::ptrdiff_t>(pick) + 1);
    out.front().reason = "exploration (" + out.front().reason + ")";
  }
  return out;
}

}  // namespace llm_router::selector::strategies
