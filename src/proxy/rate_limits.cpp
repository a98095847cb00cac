#include "rate_limits.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace llm_router::proxy {

namespace {

// What try_spend takes for a reservation: at most a whole minute's budget.
std::int64_t tokens_taken(const RateBudgets& budgets, std::int64_t reserved) {
  return std::clamp<std::int64_t>(reserved, 0, budgets.tpm);
}

}  // namespace

RateBudgets budgets_of(BackendHealth& health, const config::Backend& backend) {
  return {health.requests, health.tokens, backend.rpm, backend.tpm};
}

RateBudgets budgets_of(const ClientEntry& client) {
  return {client.budgets->requests, client.budgets->tokens, client.rpm, client.tpm};
}

bool take_rate_budget(const RateBudgets& budgets, std::int64_t reserved) {
  if (budgets.rpm <= 0 && budgets.tpm <= 0) return true;
  const health::Nanos now = health::steady_now();
  if (!budgets.requests.try_spend(now, budgets.rpm, 1)) return false;
  if (!budgets.tokens.try_spend(now, budgets.tpm, static_cast<double>(reserved))) {
    budgets.requests.adjust(now, budgets.rpm, -1);  // the request was not sent after all
    return false;
  }
  return true;
}

void settle_tokens(const RateBudgets& budgets, std::int64_t reserved, long long spent) {
  if (budgets.tpm <= 0) return;
  budgets.tokens.adjust(health::steady_now(), budgets.tpm,
                        static_cast<double>(spent - tokens_taken(budgets, reserved)));
}

void refund_request(const RateBudgets& budgets) {
  if (budgets.rpm > 0) budgets.requests.adjust(health::steady_now(), budgets.rpm, -1);
}

std::chrono::milliseconds rate_budget_wait(const RateBudgets& budgets, std::int64_t reserved) {
  const health::Nanos now = health::steady_now();
  const health::Nanos wait =
      std::max(budgets.requests.wait_for(now, budgets.rpm, 1),
               budgets.tokens.wait_for(now, budgets.tpm, static_cast<double>(reserved)));
  return std::chrono::ceil<std::chrono::milliseconds>(std::chrono::nanoseconds(wait));
}

std::string reset_duration(std::chrono::milliseconds wait) {
  const long long ms = std::max<long long>(wait.count(), 0);
  if (ms < 1000) return std::to_string(ms) + "ms";
  const long long minutes = ms / 60'000;
  const long long rest = ms % 60'000;
  std::string seconds = std::to_string(rest / 1000);
  if (const long long fraction = rest % 1000; fraction != 0) {
    std::string digits = std::to_string(fraction + 1000).substr(1);  // "050" for 50 ms
    while (digits.back() == '0') digits.pop_back();
    seconds += "." + digits;
  }
  return (minutes > 0 ? std::to_string(minutes) + "m" : std::string()) + seconds + "s";
}

namespace {

void add_budget_headers(server::Headers& headers, const health::RateBudget& budget,
                        std::int64_t limit, health::Nanos now, std::string_view unit,
                        double given_back = 0) {
  const auto remaining = std::min<long long>(
      static_cast<long long>(std::floor(budget.available(now, limit) + given_back)), limit);
  const auto until_whole = std::chrono::ceil<std::chrono::milliseconds>(
      std::chrono::nanoseconds(budget.wait_for(now, limit, static_cast<double>(limit))));
  headers.push_back({"x-ratelimit-limit-" + std::string(unit), std::to_string(limit)});
  headers.push_back({"x-ratelimit-remaining-" + std::string(unit),
                     std::to_string(std::max<long long>(remaining, 0))});
  headers.push_back({"x-ratelimit-reset-" + std::string(unit), reset_duration(until_whole)});
}

}  // namespace

void add_rate_limit_headers(server::Headers& headers, const RateBudgets& budgets,
                            bool request_given_back) {
  if (budgets.rpm <= 0 && budgets.tpm <= 0) return;
  const health::Nanos now = health::steady_now();
  if (budgets.rpm > 0) {
    add_budget_headers(headers, budgets.requests, budgets.rpm, now, "requests",
                       request_given_back ? 1 : 0);
  }
  if (budgets.tpm > 0) add_budget_headers(headers, budgets.tokens, budgets.tpm, now, "tokens");
}

}  // namespace llm_router::proxy
