#pragma once

#include <chrono>
#include <cstdint>

#include "llm_router/api/openai_request.hpp"
#include "llm_router/config/config.hpp"
#include "llm_router/proxy/runtime.hpp"

namespace llm_router::proxy {

// A backend's `rpm` and `tpm` as the router spends them: one request and the prompt's
// estimated tokens when an attempt starts, the rest of the tokens (or a refund) when its
// answer's usage is known. Budgets are this process's: replicas each keep their own.

// Takes one request and `prompt_tokens` from the backend's budgets; false, with nothing
// taken, when either is spent for now.
bool take_rate_budget(BackendHealth& health, const config::Backend& backend,
                      std::int64_t prompt_tokens, health::Nanos now);

// The answer used `used` after `prompt_tokens` were taken for it: the tpm budget pays (or is
// given back) the difference.
void settle_tokens(BackendHealth& health, const config::Backend& backend,
                   std::int64_t prompt_tokens, const api::Usage& used, health::Nanos now);

// How long until the backend's budgets could take this request (0: now).
std::chrono::milliseconds rate_budget_wait(const BackendHealth& health,
                                           const config::Backend& backend,
                                           std::int64_t prompt_tokens, health::Nanos now);

}  // namespace llm_router::proxy
