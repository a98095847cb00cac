#include "llm_router/metrics/cost.hpp"

#include <algorithm>

namespace llm_router::metrics {

double cost_usd(std::int64_t prompt_tokens, std::int64_t completion_tokens,
                double price_in_per_mtok, double price_out_per_mtok) {
  const auto in = static_cast<double>(std::max<std::int64_t>(0, prompt_tokens));
  const auto out = static_cast<double>(std::max<std::int64_t>(0, completion_tokens));
  // One division at the end: token counts times prices are usually exact in binary, so the
  // result is the correctly rounded dollar amount (1000 tokens at $2.5 is exactly 0.0025).
  return (in * price_in_per_mtok + out * price_out_per_mtok) / 1e6;
}

double cost_usd(std::int64_t prompt_tokens, std::int64_t completion_tokens,
                std::int64_t cached_prompt_tokens, const config::Cost& price) {
  const std::int64_t prompt = std::max<std::int64_t>(0, prompt_tokens);
  const std::int64_t cached = std::clamp<std::int64_t>(cached_prompt_tokens, 0, prompt);
  const auto out = static_cast<double>(std::max<std::int64_t>(0, completion_tokens));
  return (static_cast<double>(prompt - cached) * price.input_per_mtok +
          static_cast<double>(cached) * price.cached_input_per_mtok.value_or(price.input_per_mtok) +
          out * price.output_per_mtok) /
         1e6;
}

}  // namespace llm_router::metrics
