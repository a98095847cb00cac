#include "rate_limits.hpp"

#include <algorithm>

namespace llm_router::proxy {

namespace {

// What try_spend takes for a prompt: at most a whole minute's budget.
std::int64_t tokens_taken(const RateBudgets& budgets, std::int64_t prompt_tokens) {
  return std::clamp<std::int64_t>(prompt_tokens, 0, budgets.tpm);
}

}  // namespace

RateBudgets budgets_of(BackendHealth& health, const config::Backend& backend) {
  return {health.requests, health.tokens, backend.rpm, backend.tpm};
}

RateBudgets budgets_of(const ClientEntry& client) {
  return {client.budgets->requests, client.budgets->tokens, client.rpm, client.tpm};
}

bool take_rate_budget(const RateBudgets& budgets, std::int64_t prompt_tokens) {
  if (budgets.rpm <= 0 && budgets.tpm <= 0) return true;
  const health::Nanos now = health::steady_now();
  if (!budgets.requests.try_spend(now, budgets.rpm, 1)) return false;
  if (!budgets.tokens.try_spend(now, budgets.tpm, static_cast<double>(prompt_tokens))) {
    budgets.requests.adjust(now, budgets.rpm, -1);  // the request was not sent after all
    return false;
  }
  return true;
}

void settle_tokens(const RateBudgets& budgets, std::int64_t prompt_tokens, long long spent) {
  if (budgets.tpm <= 0) return;
  budgets.tokens.adjust(health::steady_now(), budgets.tpm,
                        static_cast<double>(spent - tokens_taken(budgets, prompt_tokens)));
}

std::chrono::milliseconds rate_budget_wait(const RateBudgets& budgets, std::int64_t prompt_tokens) {
  const health::Nanos now = health::steady_now();
  const health::Nanos wait =
      std::max(budgets.requests.wait_for(now, budgets.rpm, 1),
               budgets.tokens.wait_for(now, budgets.tpm, static_cast<double>(prompt_tokens)));
  return std::chrono::ceil<std::chrono::milliseconds>(std::chrono::nanoseconds(wait));
}

}  // namespace llm_router::proxy
