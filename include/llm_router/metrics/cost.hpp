#pragma once

#include <cstdint>

#include "llm_router/config/config.hpp"

namespace llm_router::metrics {

// Spend in US dollars for one request, prices being per million tokens. Negative token counts
// (a broken usage block) count as zero.
double cost_usd(std::int64_t prompt_tokens, std::int64_t completion_tokens,
                double price_in_per_mtok, double price_out_per_mtok);

inline double cost_usd(std::int64_t prompt_tokens, std::int64_t completion_tokens,
                       const config::Cost& price) {
  return cost_usd(prompt_tokens, completion_tokens, price.input_per_mtok, price.output_per_mtok);
}

// The same when `cached_prompt_tokens` of the prompt came from the provider's prompt cache:
// those at the backend's cached input price.
double cost_usd(std::int64_t prompt_tokens, std::int64_t completion_tokens,
                std::int64_t cached_prompt_tokens, const config::Cost& price);

}  // namespace llm_router::metrics
