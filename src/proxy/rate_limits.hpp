#pragma once

#include <chrono>
#include <cstdint>

#include "llm_router/config/config.hpp"
#include "llm_router/health/rate_budget.hpp"
#include "llm_router/proxy/runtime.hpp"
#include "llm_router/server/http_types.hpp"

namespace llm_router::proxy {

// An `rpm` and a `tpm` (a backend's or a client key's) as the router spends them: one request
// and its reserved tokens (the prompt's estimate and its max_tokens: tokens_to_reserve) when a
// request goes out, the rest of the tokens (or a refund) when its answer's usage is known. Budgets
// are this process's: replicas each keep their own. Without limits each call costs a comparison (no
// clock read).
struct RateBudgets {
  health::RateBudget& requests;
  health::RateBudget& tokens;
  std::int64_t rpm = 0;  // 0: unlimited
  std::int64_t tpm = 0;
};
RateBudgets budgets_of(BackendHealth& health, const config::Backend& backend);
RateBudgets budgets_of(const ClientEntry& client);

// Takes one request and `reserved` tokens; false, with nothing taken, when either is spent.
bool take_rate_budget(const RateBudgets& budgets, std::int64_t reserved);

// The answer used `spent` tokens in all after `reserved` were taken for it: the tpm budget
// pays (or is given back) the difference.
void settle_tokens(const RateBudgets& budgets, std::int64_t reserved, long long spent);

// Gives back the request taken for one that no backend was sent (the router refused it).
void refund_request(const RateBudgets& budgets);

// How long until the budgets could take this request (0: now).
std::chrono::milliseconds rate_budget_wait(const RateBudgets& budgets, std::int64_t reserved);

// OpenAI's x-ratelimit-{limit,remaining,reset}-{requests,tokens} for each limit set, as they
// stand now (the reset: until the budget is whole again, written as "8.64s", "20ms", "1m0s").
// `request_given_back`: the request was refused before any backend ran it, so its rpm is
// returned when it finishes; the headers already count it as returned.
void add_rate_limit_headers(server::Headers& headers, const RateBudgets& budgets,
                            bool request_given_back = false);

// "20ms", "8.64s", "1m30s": a duration as OpenAI's reset headers write it.
std::string reset_duration(std::chrono::milliseconds wait);

}  // namespace llm_router::proxy
