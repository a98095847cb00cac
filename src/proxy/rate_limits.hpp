#pragma once

#include <chrono>
#include <cstdint>

#include "llm_router/config/config.hpp"
#include "llm_router/health/rate_budget.hpp"
#include "llm_router/proxy/runtime.hpp"

namespace llm_router::proxy {

// An `rpm` and a `tpm` (a backend's or a client key's) as the router spends them: one request
// and the prompt's estimated tokens when a request goes out, the rest of the tokens (or a
// refund) when its answer's usage is known. Budgets are this process's: replicas each keep
// their own. Without limits each call costs a comparison (no clock read).
struct RateBudgets {
  health::RateBudget& requests;
  health::RateBudget& tokens;
  std::int64_t rpm = 0;  // 0: unlimited
  std::int64_t tpm = 0;
};
RateBudgets budgets_of(BackendHealth& health, const config::Backend& backend);
RateBudgets budgets_of(const ClientEntry& client);

// Takes one request and `prompt_tokens`; false, with nothing taken, when either is spent.
bool take_rate_budget(const RateBudgets& budgets, std::int64_t prompt_tokens);

// The answer used `spent` tokens in all after `prompt_tokens` were taken for it: the tpm
// budget pays (or is given back) the difference.
void settle_tokens(const RateBudgets& budgets, std::int64_t prompt_tokens, long long spent);

// How long until the budgets could take this request (0: now).
std::chrono::milliseconds rate_budget_wait(const RateBudgets& budgets, std::int64_t prompt_tokens);

}  // namespace llm_router::proxy
