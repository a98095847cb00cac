#include "rate_limits.hpp"

#include <algorithm>

namespace llm_router::proxy {

namespace {

// What try_spend takes for a prompt: at most a whole minute's budget.
std::int64_t tokens_taken(const config::Backend& backend, std::int64_t prompt_tokens) {
  return std::clamp<std::int64_t>(prompt_tokens, 0, backend.tpm);
}

}  // namespace

bool take_rate_budget(BackendHealth& health, const config::Backend& backend,
                      std::int64_t prompt_tokens, health::Nanos now) {
  if (backend.rpm <= 0 && backend.tpm <= 0) return true;
  if (!health.requests.try_spend(now, backend.rpm, 1)) return false;
  if (!health.tokens.try_spend(now, backend.tpm, static_cast<double>(prompt_tokens))) {
    health.requests.adjust(now, backend.rpm, -1);  // the request was not sent after all
    return false;
  }
  return true;
}

void settle_tokens(BackendHealth& health, const config::Backend& backend,
                   std::int64_t prompt_tokens, const api::Usage& used, health::Nanos now) {
  if (backend.tpm <= 0) return;
  const long long spent = used.prompt_tokens + used.completion_tokens;
  health.tokens.adjust(now, backend.tpm,
                       static_cast<double>(spent - tokens_taken(backend, prompt_tokens)));
}

std::chrono::milliseconds rate_budget_wait(const BackendHealth& health,
                                           const config::Backend& backend,
                                           std::int64_t prompt_tokens, health::Nanos now) {
  const health::Nanos wait =
      std::max(health.requests.wait_for(now, backend.rpm, 1),
               health.tokens.wait_for(now, backend.tpm, static_cast<double>(prompt_tokens)));
  return std::chrono::ceil<std::chrono::milliseconds>(std::chrono::nanoseconds(wait));
}

}  // namespace llm_router::proxy
