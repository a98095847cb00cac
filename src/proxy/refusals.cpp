// The router's own error answers to the client (no plan, every backend failed, a backend's
// refusal, the client key's limits, shutting down), with the retry hints they carry.
#include "llm_router/api/errors.hpp"
#include "rate_limits.hpp"
#include "request_path.hpp"
#include "router_handler.hpp"

namespace llm_router::proxy {

namespace {

// Why no backend of the plan could be tried. When every candidate was left out for what the
// request asks (its size, images, tools, JSON mode) rather than for its health or load, it is
// the client's request that no backend here can serve: a 400 no retry will change.
std::string excluded_reasons(const selector::RoutePlan& plan) {
  std::string reasons;
  for (const auto& e : plan.excluded) {
    reasons += (reasons.empty() ? "" : "; ") + e.backend->name + ": " + e.reason;
  }
  return reasons;
}

// `prompt_tokens`: the request's estimate, which the context windows were checked against.
Failure no_candidate_failure(const selector::RoutePlan& plan, std::int64_t prompt_tokens) {
  using selector::ExclusionCause;
  bool too_long = !plan.excluded.empty();
  bool unsupported = !plan.excluded.empty();
  std::int64_t widest = 0;
  for (const auto& e : plan.excluded) {
    too_long = too_long && e.cause == ExclusionCause::context_window;
    unsupported = unsupported && selector::about_the_request(e.cause);
    if (e.backend != nullptr) widest = std::max(widest, e.backend->context_window);
  }
  const std::string reasons = excluded_reasons(plan);
  if (too_long) {
    // The prompt fits a window but not with the room asked for the answer: max_tokens is the
    // field to change (the reasons say so too).
    return Failure{ErrorKind::context_window_exceeded,
                   "the prompt and the answer room asked for fit no candidate's context window (" +
                       reasons + ")",
                   0, prompt_tokens < widest ? "max_tokens" : "messages"};
  }
  if (unsupported) {
    const ExclusionCause cause = plan.excluded.front().cause;
    const char* param = cause == ExclusionCause::no_tools             ? "tools"
                        : cause == ExclusionCause::no_json            ? "response_format"
                        : cause == ExclusionCause::other_vector_space ? "input"
                                                                      : "messages";
    return Failure{ErrorKind::unsupported_by_backends,
                   std::string(plan.direct ? "the backend named does not support"
                                           : "no backend of this route supports") +
                       " this request (" + reasons + ")",
                   0, param};
  }
  return Failure{ErrorKind::circuit_open,
                 "no backend of this route can serve the request: " + plan.message +
                     (reasons.empty() ? "" : " (" + reasons + ")")};
}

}  // namespace

Failure shutting_down_failure() {
  return Failure{ErrorKind::shutting_down,
                 "the router is shutting down and stopped waiting for the backend "
                 "(drain_timeout ran out, or a second stop signal came)"};
}

// A request still waiting for a backend slot when the router began to stop: never sent, so
// another replica can take it at once.
Failure queued_at_shutdown_failure() {
  return Failure{ErrorKind::shutting_down,
                 "the router is shutting down: the request was waiting for a backend slot and "
                 "was not sent to any backend (retry it)"};
}

namespace {

// The soonest any backend the plan left out for its rpm or tpm could take the request.
std::chrono::milliseconds soonest_rate_refill(const selector::RoutePlan& plan,
                                              const Snapshot& snapshot, std::int64_t tokens) {
  std::optional<std::chrono::milliseconds> soonest;
  for (const auto& e : plan.excluded) {
    if (e.cause != selector::ExclusionCause::rate_limited) continue;
    const auto wait = rate_budget_wait(budgets_of(*snapshot.health[e.index], *e.backend), tokens);
    soonest = std::min(soonest.value_or(wait), wait);
  }
  return soonest.value_or(std::chrono::milliseconds(0));
}

// How long until a breaker opened by failures lets a trial through (at least a second: the
// Retry-After resolution).
std::chrono::milliseconds until_reopening(const health::CircuitBreaker& breaker) {
  const health::Nanos left = breaker.open_until() - health::steady_now();
  return std::max(std::chrono::milliseconds(1000),
                  std::chrono::ceil<std::chrono::milliseconds>(std::chrono::nanoseconds(left)));
}

}  // namespace

void note_reopening(std::optional<std::chrono::milliseconds>& soonest,
                    const health::CircuitBreaker& breaker) {
  const auto wait = until_reopening(breaker);
  soonest = std::min(soonest.value_or(wait), wait);
}

namespace {

// A route whose every backend is ejected: when the first takes a trial again.
std::optional<std::chrono::milliseconds> soonest_reopening(const selector::RoutePlan& plan,
                                                           const Snapshot& snapshot) {
  std::optional<std::chrono::milliseconds> soonest;
  for (const auto& e : plan.excluded) {
    if (e.cause == selector::ExclusionCause::ejected) {
      note_reopening(soonest, snapshot.health[e.index]->breaker);
    }
  }
  return soonest;
}

void add_retry_after(Headers& headers, std::chrono::milliseconds wait) {
  headers.push_back({"retry-after", std::to_string((wait.count() + 999) / 1000)});
  headers.push_back({"retry-after-ms", std::to_string(wait.count())});
}

}  // namespace

Failure unknown_model_failure(const selector::RoutePlan& plan) {
  Failure failure{ErrorKind::model_not_found,
                  "The model " + quote_excerpt(plan.route) +
                      " does not exist: name a route or a backend listed by GET /v1/models",
                  0, "model"};
  if (!plan.serving_backends.empty()) {
    std::string names;
    for (const auto& name : plan.serving_backends) {
      names.append(names.empty() ? "" : ", ").append(quote_excerpt(name));
    }
    failure.message += " (backends " + names + " all serve it upstream: name one)";
  }
  return failure;
}

asio::awaitable<void> RouterHandler::send_plan_failure(ResponseWriter& writer,
                                                       const selector::RoutePlan& plan,
                                                       const Snapshot& snapshot,
                                                       RequestRecord& record, CapacityWait waited) {
  Failure failure{ErrorKind::internal, plan.message};
  switch (plan.status) {
    case selector::PlanStatus::unknown_model:
      failure = unknown_model_failure(plan);
      break;
    case selector::PlanStatus::all_busy:
      failure = waited == CapacityWait::draining
                    ? queued_at_shutdown_failure()
                    : Failure{ErrorKind::overloaded,
                              plan.message + (waited == CapacityWait::queues_full
                                                  ? " and every queue for a slot is full"
                                                  : " and no slot freed in time")};
      break;
    case selector::PlanStatus::rate_limited:
      // (A direct plan's message names its backend's reason already.)
      failure =
          Failure{ErrorKind::at_rate_limit,
                  plan.direct ? plan.message : plan.message + " (" + excluded_reasons(plan) + ")"};
      break;
    default:
      failure = no_candidate_failure(plan, record.estimated_tokens);
  }
  if (plan.status == selector::PlanStatus::unknown_model) record.route.clear();
  record.status = traits(failure.kind).status;
  Headers headers = decision_headers(record);
  if (plan.status == selector::PlanStatus::all_busy) headers.push_back({"retry-after", "1"});
  if (plan.status == selector::PlanStatus::rate_limited) {
    add_retry_after(headers, soonest_rate_refill(plan, snapshot, record.reserved_tokens));
  }
  if (failure.kind == ErrorKind::circuit_open) {
    if (const auto wait = soonest_reopening(plan, snapshot)) add_retry_after(headers, *wait);
  }
  co_await send_error(writer, failure, std::move(headers));
}

asio::awaitable<void> RouterHandler::send_shutting_down(ResponseWriter& writer,
                                                        RequestRecord& record) {
  co_await asio::this_coro::reset_cancellation_state();
  const Failure failure = shutting_down_failure();
  record.status = traits(failure.kind).status;
  co_await send_error(writer, failure, decision_headers(record));
}

asio::awaitable<void> RouterHandler::send_all_failed(ResponseWriter& writer,
                                                     RequestRecord& record) {
  bool all_rate_limited = !record.attempts.empty();
  std::string message =
      record.attempts.size() == 1
          ? "the backend failed: "
          : "all " + std::to_string(record.attempts.size()) + " attempts failed: ";
  ErrorKind kind = ErrorKind::circuit_open;
  for (std::size_t i = 0; i < record.attempts.size(); ++i) {
    const auto& a = record.attempts[i];
    all_rate_limited = all_rate_limited && a.failure->kind == ErrorKind::upstream_rate_limited;
    if (a.failure->kind != ErrorKind::circuit_open) kind = a.failure->kind;
    if (i > 0) message += "; ";
    message +=
        a.backend + ": " + std::string(name(a.failure->kind)) + " (" + a.failure->message + ")";
  }
  Failure failure{all_rate_limited ? ErrorKind::upstream_rate_limited : kind, message};
  // The last backend's own code, type and blamed field, when the failure is of its kind (a
  // 429's "insufficient_quota", a context error's "messages").
  for (auto it = record.attempts.rbegin(); it != record.attempts.rend(); ++it) {
    if (it->failure->kind != failure.kind) continue;
    failure.code = it->failure->code;
    failure.param = it->failure->param;
    failure.type = it->failure->type;
    const auto at = static_cast<std::size_t>(record.attempts.rend() - it - 1);
    if (record.refusal && record.refusal->attempt == at) {
      co_await send_refusal(writer, record);
      co_return;
    }
    break;
  }
  // Every backend that answered said 503: the client hears "unavailable" (and may wait for
  // its Retry-After), not "bad gateway", as a proxy passing the status through would say.
  // Attempts that got no answer (a timeout, a refused connection) say nothing either way.
  const auto answered_503 = [](const Attempt& a) { return a.failure->upstream_status == 503; };
  const bool all_unavailable =
      failure.kind == ErrorKind::upstream_server_error &&
      std::any_of(record.attempts.begin(), record.attempts.end(), answered_503) &&
      std::all_of(record.attempts.begin(), record.attempts.end(), [&](const Attempt& a) {
        return answered_503(a) || a.failure->upstream_status == 0 || skipped(a);
      });
  record.status = all_unavailable ? 503 : traits(failure.kind).status;
  record.backend.clear();
  Headers headers = decision_headers(record);
  // The last backend's own verdict on asking again (OpenAI's x-should-retry), on the failure
  // the client hears.
  std::optional<std::string> backend_says_retry;
  const bool last_answered =
      !record.attempts.empty() && record.attempts.back().failure &&
      record.attempts.back().failure->upstream_status != 0;  // not an earlier backend's verdict
  for (const auto& h : record.last_upstream_headers) {
    if (h.name == "x-should-retry" && last_answered) backend_says_retry = h.value;
  }
  // A backend's rate-limit headers describe the answer when every attempt was rate limited;
  // after other failures only its Retry-After still helps the client.
  for (auto& h : record.last_upstream_headers) {
    if (h.name.starts_with("retry-after")) continue;  // the longest any backend asked, below
    if (h.name == "x-should-retry") continue;         // below
    // A client key with limits reads its own (decision_headers), not the backend account's.
    if (has_rate_limits(record.client) && h.name.starts_with("x-ratelimit-")) continue;
    if (all_rate_limited) headers.push_back(std::move(h));
  }
  // Every backend's wait passes before all of them could answer: the client waits the longest
  // (the last backend may have named none, and an SDK would then retry at once).
  if (const auto wait = record.longest_retry_after; wait.count() > 0) {
    add_retry_after(headers, wait);
  } else if (failure.kind == ErrorKind::circuit_open && record.soonest_reopening) {
    add_retry_after(headers, *record.soonest_reopening);  // every backend was ejected
  }
  // Asking again cannot help when the backends' setup is at fault (a key, a URL, a model name,
  // an exhausted quota, a certificate not trusted): the openai SDKs then skip their automatic
  // retries.
  const bool misconfigured =
      std::all_of(record.attempts.begin(), record.attempts.end(), [](const Attempt& a) {
        const int status = a.failure->upstream_status;
        return a.failure->code == "insufficient_quota" || a.failure->lasting ||
               (a.failure->kind == ErrorKind::upstream_bad_response &&
                (status == 401 || status == 403 || status == 404));
      });
  if (misconfigured && !record.attempts.empty()) {
    headers.push_back({"x-should-retry", "false"});
  } else if (backend_says_retry) {
    headers.push_back({"x-should-retry", *backend_says_retry});
  }
  co_await send_json(writer, record.status, api::error_body(failure), std::move(headers));
}

asio::awaitable<void> RouterHandler::send_refusal(ResponseWriter& writer, RequestRecord& record) {
  record.status = record.refusal->status;
  record.backend.clear();
  Headers headers = decision_headers(record);
  co_await send_json(writer, record.status, std::move(record.refusal->body), std::move(headers));
}

std::optional<std::chrono::milliseconds> RouterHandler::charge_client(RequestRecord& record) {
  if (!record.client) return std::nullopt;
  const RateBudgets budgets = budgets_of(*record.client);
  if (take_rate_budget(budgets, record.client_reserved)) {
    record.client_charged = true;
    return std::nullopt;
  }
  return rate_budget_wait(budgets, record.client_reserved);
}

asio::awaitable<void> RouterHandler::send_client_rate_limited(ResponseWriter& writer,
                                                              RequestRecord& record,
                                                              std::chrono::milliseconds wait) {
  const ClientEntry& key = *record.client;
  const RateBudgets budgets = budgets_of(key);
  const health::Nanos now = health::steady_now();
  // Which limit is spent: the one the client should look at.
  std::string spent;
  if (key.rpm > 0 && budgets.requests.available(now, key.rpm) < 1) {
    spent = "rpm " + std::to_string(key.rpm) + " reached";
  }
  if (key.tpm > 0 && budgets.tokens.available(now, key.tpm) <
                         static_cast<double>(std::min(record.client_reserved, key.tpm))) {
    spent += (spent.empty() ? "" : ", ") + std::string("tpm ") + std::to_string(key.tpm) + ": " +
             std::to_string(static_cast<long long>(budgets.tokens.available(now, key.tpm))) +
             " tokens left, this request reserves " + std::to_string(record.client_reserved) +
             " (its prompt and max_completion_tokens or max_tokens)";
  }
  if (spent.empty()) spent = "spent by concurrent requests";
  const Failure failure{ErrorKind::at_rate_limit,
                        "client key '" + key.name + "' is at its rate limit (" + spent +
                            "); retry after " + std::to_string((wait.count() + 999) / 1000) + " s"};
  record.status = traits(failure.kind).status;
  record.client_limited = true;
  Headers headers = decision_headers(record);
  add_retry_after(headers, wait);
  co_await send_error(writer, failure, std::move(headers));
}

// A request whose prompt and max_tokens are more than its key's whole tpm can never run (as
// OpenAI answers "Request too large ... on tokens per min"): waiting would not help.
asio::awaitable<void> RouterHandler::send_too_large_for_client(ResponseWriter& writer,
                                                               RequestRecord& record) {
  const ClientEntry& key = *record.client;
  const Failure failure{
      ErrorKind::at_rate_limit,
      "request too large for client key '" + key.name + "': its tpm is " + std::to_string(key.tpm) +
          ", this request needs " + std::to_string(record.client_reserved) +
          " tokens (its prompt, estimated, and max_completion_tokens or max_tokens); shorten "
          "it or lower them"};
  record.status = traits(failure.kind).status;
  record.client_limited = true;
  Headers headers = decision_headers(record);
  headers.push_back({"x-should-retry", "false"});
  co_await send_error(writer, failure, std::move(headers));
}

}  // namespace llm_router::proxy
