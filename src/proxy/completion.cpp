// The request path: parse once -> plan (rules + strategy) -> try each candidate, with retries,
// breaker checks and per-error-class fallbacks -> relay. Fallback happens only while nothing
// has reached the client; after that a broken stream ends with an error event.
// The parts of the path have files of their own: upstream_failures.cpp (an error answer read
// as a failure), hedging.cpp, relay.cpp (with stream_events.cpp and usage_fields.cpp),
// refusals.cpp (the router's own error answers) and request_finish.cpp (log and metrics).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <exception>

#include "client_key.hpp"
#include "forwarded_headers.hpp"
#include "llm_router/api/errors.hpp"
#include "llm_router/api/prompt_text.hpp"
#include "llm_router/core/request_id.hpp"
#include "llm_router/core/utf8.hpp"
#include "rate_limits.hpp"
#include "request_path.hpp"
#include "router_handler.hpp"
#include "throughput_guard.hpp"
#include "upstream_failures.hpp"
#include "usage_fields.hpp"

namespace llm_router::proxy {

namespace {

constexpr auto kDirectRequestTimeout = std::chrono::minutes(10);

// A request woken for a slot that its new plan does not start with (its backend now over its
// rpm, another backend free): the next waiter gets the turn, or it would wait out its
// queue_timeout beside a free slot.
void pass_unused_turns(const Snapshot& snapshot, const std::vector<std::size_t>& waited_on,
                       const selector::RoutePlan& plan) {
  const auto order = plan.attempt_order();
  for (const std::size_t index : waited_on) {
    if (plan.ok() && order.front() == index) continue;
    snapshot.health[index]->capacity.pass_turn(snapshot.config->backends[index].max_concurrency);
  }
}

std::vector<std::size_t> full_backends_of(const selector::RoutePlan& plan) {
  std::vector<std::size_t> full;
  for (const auto& excluded : plan.excluded) {
    if (excluded.full()) full.push_back(excluded.index);
  }
  return full;
}

}  // namespace

// pass_client_auth forwards the client's key, in the header it came in.
bool sends_client_credentials(const config::Backend& backend, const HttpRequest& request) {
  return backend.pass_client_auth &&
         std::any_of(std::begin(server::kApiKeyHeaders), std::end(server::kApiKeyHeaders),
                     [&](std::string_view name) { return request.header(name) != nullptr; });
}

bool has_rate_limits(const std::optional<ClientEntry>& client) {
  return client && (client->rpm > 0 || client->tpm > 0);
}

std::string describe(const Attempt& attempt) {
  if (!attempt.failure) return attempt.backend + "=ok";
  std::string text = attempt.backend + "=" + std::string(name(attempt.failure->kind));
  if (attempt.failure->upstream_status != 0) {
    text += "(" + std::to_string(attempt.failure->upstream_status) + ")";
  }
  return text;
}

// A backend skipped for its open circuit, its full slots or its spent rpm/tpm: it was sent
// nothing.
bool skipped(const Attempt& attempt) {
  return attempt.failure && (attempt.failure->kind == ErrorKind::circuit_open ||
                             attempt.failure->kind == ErrorKind::overloaded ||
                             attempt.failure->kind == ErrorKind::at_rate_limit);
}

namespace {

// A failed attempt the backend generated nothing for (an error status, a connection that never
// opened): its tokens go back to the backend's tpm. Not a timeout or a cut answer: the backend
// may have worked (and billed) for it.
bool generated_nothing(const Failure& failure) {
  return failure.upstream_status >= 400 || failure.kind == ErrorKind::connect_failed ||
         failure.kind == ErrorKind::connect_timeout;
}

// A backend whose rpm or tpm budget was spent when its attempt came: skipped, and the client
// told when it refills should nothing else answer.
void note_rate_limited(RequestRecord& record, BackendHealth& health,
                       const config::Backend& backend) {
  record.attempts.push_back(
      {backend.name, Failure{ErrorKind::at_rate_limit, "its rpm or tpm budget is spent"}});
  record.longest_retry_after =
      std::max(record.longest_retry_after,
               rate_budget_wait(budgets_of(health, backend), record.reserved_tokens));
}

// The route's fallbacks for a class of errors (context_window_fallback,
// content_policy_fallback) serve its default pool: a matched rule's pool says where its
// requests may go (a PII rule keeps them local), so they never reach these.
bool class_fallbacks_apply(std::string_view plan_rule) {
  return plan_rule == "default";
}

// The prompt fits no candidate's window: the route's context_window_fallback backends (those
// large enough) become the plan, as if each candidate had answered context_length_exceeded,
// ahead of the route's plain fallbacks (which stay after them). Not for a request no candidate
// can serve for what it asks (images, tools, JSON mode).
void use_context_window_fallback(selector::RoutePlan& plan, const Snapshot& snapshot,
                                 const selector::RequestFacts& facts,
                                 const selector::LiveStats& live) {
  const auto* route = snapshot.config->find_route(plan.route);
  if (route == nullptr || route->context_window_fallback.empty() || facts.embeddings) return;
  if (!class_fallbacks_apply(plan.rule)) return;
  const bool too_long = std::any_of(plan.excluded.begin(), plan.excluded.end(), [](const auto& e) {
    return e.cause == selector::ExclusionCause::context_window;
  });
  // A backend left out for now (busy, over its rate, ejected) may hold the prompt later: the
  // request waits or fails as it would without this list.
  const bool for_now = std::any_of(plan.excluded.begin(), plan.excluded.end(), [](const auto& e) {
    return e.cause == selector::ExclusionCause::full ||
           e.cause == selector::ExclusionCause::rate_limited ||
           e.cause == selector::ExclusionCause::ejected;
  });
  if (!too_long || for_now) return;
  const auto& backends = snapshot.config->backends;
  for (const auto& name : route->context_window_fallback) {
    for (std::size_t i = 0; i < backends.size(); ++i) {
      if (backends[i].name != name) continue;
      // Only those that can take it: a window large enough, the tags it needs, not ejected.
      if (auto why = selector::cannot_take(backends[i], live.get(i), facts)) {
        plan.excluded.push_back(selector::ExcludedBackend{
            i, &backends[i], "context_window_fallback: " + why->reason, why->cause});
        continue;
      }
      selector::PlannedBackend planned;
      planned.index = i;
      planned.backend = &backends[i];
      planned.reason = "context_window_fallback";
      plan.candidates.push_back(planned);
      // Listed as a plain fallback too: tried once, here.
      std::erase_if(plan.fallbacks, [&](const auto& f) { return f.index == i; });
    }
  }
  if (plan.candidates.empty()) return;
  plan.status = selector::PlanStatus::ok;
  plan.message.clear();
  plan.rule = "context_window_fallback";
}

}  // namespace

// Whether a stream's request to a backend carries stream_options whose refusal says the
// backend lacks the field (learnt, asked again without): the router's own, or the client's
// when they hold nothing but include_usage. A refusal of anything else the client wrote in
// them is about the client's request (relayed), and teaches nothing about the backend.
bool sent_stream_options(const api::ParsedRequest& parsed, api::StreamOptions options) {
  const bool sent = options == api::StreamOptions::ask_usage ||
                    (options == api::StreamOptions::as_sent && parsed.summary.has_stream_options);
  return parsed.stream && sent &&
         (!parsed.summary.has_stream_options || parsed.summary.plain_stream_options);
}

Headers RouterHandler::decision_headers(const RequestRecord& record) const {
  Headers headers;
  headers.reserve(9);  // these eight and the content type the caller adds
  headers.push_back({"x-request-id", record.id});
  if (!record.route.empty()) headers.push_back({"x-llm-router-route", record.route});
  if (!record.rule.empty()) headers.push_back({"x-llm-router-rule", record.rule});
  if (!record.strategy.empty()) headers.push_back({"x-llm-router-strategy", record.strategy});
  if (!record.category.empty()) headers.push_back({"x-llm-router-category", record.category});
  // The score a complexity threshold compares, as `calibrate` prints thresholds.
  if (record.complexity) {
    char score[16];
    std::snprintf(score, sizeof score, "%.6f", *record.complexity);
    headers.push_back({"x-llm-router-complexity", score});
  }
  if (!record.backend.empty()) headers.push_back({"x-llm-router-backend", record.backend});
  if (!record.attempts.empty()) {
    std::string attempts;
    for (const auto& a : record.attempts) {
      if (!attempts.empty()) attempts += ", ";
      attempts += describe(a);
    }
    headers.push_back({"x-llm-router-attempts", std::move(attempts)});
  }
  if (has_rate_limits(record.client)) {
    // (settle_client_budgets gives a request back by the same rule.)
    const bool given_back = record.client_charged &&
                            std::all_of(record.attempts.begin(), record.attempts.end(), skipped);
    add_rate_limit_headers(headers, budgets_of(*record.client), given_back);
  }
  return headers;
}

void RouterHandler::stop_sending_stream_options(const RequestScope& scope,
                                                std::size_t index) const {
  if (scope.snapshot->health[index]->rejects_stream_options.exchange(true)) return;
  log_->warn(
      "backend {} refused stream_options: it is no longer sent to it, and the router counts its "
      "streams' usage itself (set stream_usage: false on it to skip this)",
      scope.snapshot->config->backends[index].name);
}

void RouterHandler::stop_sending_max_tokens(const RequestScope& scope, std::size_t index) const {
  if (scope.snapshot->health[index]->rejects_max_tokens.exchange(true)) return;
  log_->warn(
      "backend {} refused max_tokens: requests' max_tokens are sent to it as "
      "max_completion_tokens from now on",
      scope.snapshot->config->backends[index].name);
}

bool RouterHandler::renames_max_tokens(const RequestScope& scope, std::size_t index) const {
  return scope.snapshot->health[index]->rejects_max_tokens.load(std::memory_order_relaxed);
}

api::StreamOptions RouterHandler::stream_options_for(const api::ParsedRequest& parsed,
                                                     api::Endpoint endpoint,
                                                     const RequestScope& scope,
                                                     std::size_t index) const {
  if (!parsed.stream || endpoint == api::Endpoint::embeddings) return api::StreamOptions::as_sent;
  if (scope.snapshot->health[index]->rejects_stream_options.load(std::memory_order_relaxed)) {
    return api::StreamOptions::left_out;
  }
  return scope.snapshot->config->backends[index].stream_usage ? api::StreamOptions::ask_usage
                                                              : api::StreamOptions::as_sent;
}

upstream::UpstreamRequest RouterHandler::upstream_request(
    const HttpRequest& request, const api::ParsedRequest& parsed, api::Endpoint endpoint,
    const config::Backend& backend, const RequestRecord& record, api::StreamOptions stream_options,
    bool max_completion_tokens) const {
  upstream::UpstreamRequest out;
  out.path = std::string(api::upstream_path(endpoint));
  // (Only a wildcard backend's model is made per request: the others' is used as configured.)
  const std::string matched_model =
      backend.wildcard() ? backend.upstream_model(parsed.model) : std::string();
  out.body = api::body_for_backend(
      parsed, backend.wildcard() ? matched_model : backend.model, stream_options,
      {&backend.default_params, &backend.override_params, max_completion_tokens});
  out.stream = parsed.stream;
  out.headers.push_back({"x-request-id", record.id});
  add_forwarded_headers(request, backend, out.headers);
  return out;
}

namespace {

// What the analyzer is told of a request for `model`, or nullopt when it is not analyzed. A
// route's request is, and with `analyze_direct` (dry runs) one for a backend named directly; a
// model that names neither is a 404: nothing to analyze for.
std::optional<analyzer::RequestMeta> analysis_meta(const Snapshot& snapshot, std::string_view model,
                                                   api::Endpoint endpoint, bool analyze_direct) {
  if (!snapshot.analyzer) return std::nullopt;
  const auto& config = *snapshot.config;
  const auto* route = config.find_route(model);
  if (route == nullptr) {
    const auto* backend = config.find_backend(model);
    if (!analyze_direct || backend == nullptr || !backend->direct) return std::nullopt;
  }
  analyzer::RequestMeta meta;
  meta.endpoint = analyzer_endpoint(endpoint);
  if (route != nullptr) {
    meta.semantic_sets =
        &snapshot.semantic_sets_by_route[static_cast<std::size_t>(route - config.routes.data())];
  }
  return meta;
}

}  // namespace

// A sticky route's conversation goes first to the backend that answered it last, while that
// one can take this turn (its circuit, rate budget and window allowing); the plan's order
// follows it.
void stick_to_conversation_backend(Decision& decision, const config::Route& route,
                                   const Snapshot& snapshot, const selector::LiveStats& live,
                                   StickyBackends& sticky) {
  auto [key, label] = selector::key_text(route.sticky.key, decision.facts);
  if (key.empty()) return;
  decision.sticky_key = std::move(key);
  const auto name = sticky.find(route.name, decision.sticky_key, StickyBackends::Clock::now());
  const auto* backend = name ? snapshot.config->find_backend(*name) : nullptr;
  if (backend == nullptr) return;
  const auto index = static_cast<std::size_t>(backend - snapshot.config->backends.data());
  if (selector::cannot_take(*backend, live.get(index), decision.facts)) return;
  auto& plan = decision.plan;
  const auto other = [&](const auto& entry) { return entry.index == index; };
  std::erase_if(plan.candidates, other);
  std::erase_if(plan.fallbacks, other);
  std::erase_if(plan.excluded, other);
  plan.candidates.insert(
      plan.candidates.begin(),
      selector::PlannedBackend{index, backend, 0,
                               "sticky: answered this conversation (" + label + ")"});
  decision.sticky_hit = true;
}

Decision decide(const Snapshot& snapshot, const selector::BanditState& bandit,
                const api::ParsedRequest& parsed, const HttpRequest& request,
                api::Endpoint endpoint, bool dry_run, const analyzer::DenseQuery* dense,
                StickyBackends* sticky) {
  Decision decision;
  decision.facts = facts_from(parsed, request, snapshot.selector->hashes_sessions());
  auto& facts = decision.facts;
  facts.embeddings = endpoint == api::Endpoint::embeddings;
  if (auto meta = analysis_meta(snapshot, facts.model, endpoint, dry_run)) {
    meta->headers = facts.headers;
    decision.analysis = snapshot.analyzer->analyze(parsed.text, *meta, dense);
    add_analysis(*decision.analysis, facts);
  } else if (estimate_decides(snapshot, parsed, facts)) {
    facts.estimated_tokens = read_estimated_tokens(parsed, endpoint);
  }
  const auto plan = [&](const selector::LiveStats& live) {
    return dry_run ? snapshot.selector->preview(facts, live) : snapshot.selector->plan(facts, live);
  };
  SnapshotLiveStats live(snapshot, bandit);
  decision.plan = plan(live);
  if (decision.plan.status == selector::PlanStatus::no_candidates ||
      decision.plan.status == selector::PlanStatus::rate_limited) {
    // Panic mode (as Envoy): when the breaker ejected every candidate (the others, if any, at
    // their rate limits), still try them, the one whose cooldown ends first leading, rather
    // than refuse everything.
    SnapshotLiveStats ignoring_breaker(snapshot, bandit, /*ignore_ejection=*/true);
    auto panic = plan(ignoring_breaker);
    // Busy in panic mode too: the request waits for a slot as it would for a closed circuit.
    if (panic.ok() || panic.status == selector::PlanStatus::all_busy) {
      std::stable_sort(panic.candidates.begin(), panic.candidates.end(),
                       [&](const auto& a, const auto& b) {
                         return snapshot.health[a.index]->breaker.open_until() <
                                snapshot.health[b.index]->breaker.open_until();
                       });
      decision.panic = true;
      decision.plan = std::move(panic);
    }
  }
  if (decision.plan.candidates.empty()) {  // none of the default pool; its fallbacks may be
    use_context_window_fallback(decision.plan, snapshot, facts, live);
  }
  if (const auto* route = snapshot.config->find_route(decision.plan.route)) {
    if (sticky != nullptr && route->sticky.enabled && decision.plan.ok() && !decision.panic) {
      stick_to_conversation_backend(decision, *route, snapshot, live, *sticky);
    }
    const auto& backends = snapshot.config->backends;
    for (const auto* list : {&route->context_window_fallback, &route->content_policy_fallback}) {
      for (const auto& name : *list) {
        const auto* backend = snapshot.config->find_backend(name);
        if (backend == nullptr) continue;
        const auto index = static_cast<std::size_t>(backend - backends.data());
        const auto why = selector::cannot_take(*backend, live.get(index), facts);
        if (why && selector::about_the_request(why->cause)) {
          decision.unfit_class_fallbacks.push_back(index);
        }
      }
    }
  }
  return decision;
}

nlohmann::json Decision::to_json() const {
  nlohmann::json out = plan.to_json();
  if (analysis) out["analysis"] = analysis->to_json();
  out["panic"] = panic;
  if (!sticky_key.empty()) out["sticky"] = sticky_hit;  // a sticky route: its backend leads
  out["facts"] = {{"estimated_tokens", facts.estimated_tokens},
                  {"stream", facts.stream},
                  {"tools", facts.has_tools},
                  {"images", facts.has_images},
                  {"audio", facts.has_audio},
                  {"json_mode", facts.json_mode},
                  {"user", facts.user}};
  return out;
}

asio::awaitable<std::optional<DenseReading>> RouterHandler::read_dense(
    const api::ParsedRequest& parsed, api::Endpoint endpoint, const Snapshot& snapshot,
    const ProviderSet& providers, bool analyze_direct) const {
  if (!snapshot.embeddings) co_return std::nullopt;
  const auto meta = analysis_meta(snapshot, parsed.model, endpoint, analyze_direct);
  if (!meta) co_return std::nullopt;
  std::string text = snapshot.analyzer->semantic_text(parsed.text, *meta);
  const std::size_t backend = snapshot.embeddings->backend_index();
  co_return co_await read_embedding(snapshot.embeddings, providers.by_index[backend],
                                    snapshot.health[backend]->breaker, std::move(text));
}

selector::RoutePlan RouterHandler::plan_for(const api::ParsedRequest& parsed,
                                            const HttpRequest& request, api::Endpoint endpoint,
                                            const Snapshot& snapshot, RequestRecord& record,
                                            const std::optional<DenseReading>& dense,
                                            std::optional<analyzer::Analysis>* analysis_out) const {
  const std::optional<analyzer::DenseQuery> query =
      dense ? std::optional<analyzer::DenseQuery>(dense->query()) : std::nullopt;
  Decision decision =
      decide(snapshot, state_->bandit(), parsed, request, endpoint,
             /*dry_run=*/false, query ? &*query : nullptr, &state_->sticky_backends());
  if (decision.analysis) {
    record.category = decision.analysis->category;
    record.complexity = decision.analysis->complexity;
    if (analysis_out) *analysis_out = std::move(decision.analysis);
  }
  if (decision.panic) {
    record.panic = true;
    // A warning every few seconds per io thread, not one per request of an outage.
    const auto now = std::chrono::steady_clock::now();
    const bool warn = now - last_panic_warning_ >= std::chrono::seconds(5);
    if (warn) last_panic_warning_ = now;
    log_->log(warn ? spdlog::level::warn : spdlog::level::debug,
              "request_id={} route={}: every candidate is ejected; panic mode tries each once",
              record.id, decision.plan.route);
  }
  record.route = decision.plan.route;
  record.unfit_class_fallbacks = std::move(decision.unfit_class_fallbacks);
  if (!decision.sticky_key.empty()) {
    record.sticky_key = std::move(decision.sticky_key);
    record.sticky_ttl = snapshot.config->find_route(record.route)->sticky.ttl;
  }
  record.rule = decision.plan.rule;
  record.strategy = decision.plan.strategy;
  record.estimated_tokens = decision.facts.estimated_tokens;
  record.reserved_tokens = decision.facts.reserved_tokens();
  record.excluded.clear();
  const bool logged = state_->request_log() != nullptr;
  for (const auto& e : decision.plan.excluded) {
    if (e.cause == selector::ExclusionCause::rate_limited) {
      rate_limit_skips_metric_.with({e.backend->name}).inc();
    }
    if (logged) record.excluded.push_back({e.backend->name, e.reason});
  }
  return std::move(decision.plan);
}

// The client went away: its request is a 499, and the attempt under way neither the backend's
// failure nor its success (the attempts metric would count every abandoned stream as an
// answer).
void note_client_left(RequestRecord& record) {
  record.status = 499;
  if (!record.attempts.empty() && !record.attempts.back().failure) {
    record.attempts.back().failure =
        Failure{ErrorKind::cancelled, "the client went away", record.answered_status};
  }
}

namespace {

// A route or backend of the config (a label may carry it: the set is bounded).
bool known_model(const config::Config& config, std::string_view model) {
  return config.find_route(model) != nullptr || config.find_backend(model) != nullptr;
}

}  // namespace

// A client key whose `models` leave out the model it named (OpenAI's SDKs raise
// PermissionDeniedError for the 403).
Failure model_not_allowed(const ClientEntry& client, std::string_view model) {
  std::string allowed;
  for (const auto& name : client.models) allowed += (allowed.empty() ? "" : ", ") + name;
  return Failure{
      ErrorKind::model_not_allowed,
      "This API key may not use the model " + quote_excerpt(model) + "; it may use: " + allowed, 0,
      "model"};
}

std::string request_id_of(const HttpRequest& request) {
  if (!request.id.empty()) return request.id;
  const auto* client_id = request.header("x-request-id");
  return client_id && core::acceptable_request_id(*client_id) ? *client_id : core::new_request_id();
}

void RouterHandler::name_record(const HttpRequest& request, RequestRecord& record) const {
  record.id = request_id_of(request);
  if (const auto* client = find_client(request, *snapshot_)) {
    record.client = *client;
    record.client_key_id = client->name;
  } else {
    record.client_key_id = client_key_id(request);
  }
}

asio::awaitable<void> RouterHandler::refuse_request(const HttpRequest& request,
                                                    ResponseWriter& writer,
                                                    const Failure& failure) {
  co_await refuse_request(request, writer, traits(failure.kind).status, api::error_body(failure));
}

asio::awaitable<void> RouterHandler::refuse_request(const HttpRequest& request,
                                                    ResponseWriter& writer, int status,
                                                    std::string body) {
  RequestRecord record;
  name_record(request, record);
  record.status = status;
  co_await send_json(writer, status, std::move(body), decision_headers(record));
  finish_request(record);
}

asio::awaitable<void> RouterHandler::completion(HttpRequest& request, ResponseWriter& writer,
                                                api::Endpoint endpoint) {
  RequestRecord record;
  // Logged however the request ends, a cancellation by a departed client included.
  struct FinishOnExit {
    RouterHandler& handler;
    RequestRecord& record;
    const ResponseWriter& writer;
    ~FinishOnExit() {
      // Unanswered: the client left (499), or the server stopped waiting at its drain_timeout
      // and answers 503 server_shutting_down for it.
      if (record.status == 0) record.status = writer.server_stopping() ? 503 : 499;
      record.client_too_slow = record.status == 499 && writer.client_too_slow();
      handler.finish_request(record);
    }
  } finish_on_exit{*this, record, writer};
  record.config = snapshot_->config;
  name_record(request, record);
  bool failed = false;
  try {
    auto parsed = api::parse_request(request.body, endpoint);
    if (!parsed) {
      record.status = traits(parsed.failure().kind).status;
      co_await send_error(writer, parsed.failure(), decision_headers(record));
      co_return;
    }
    record.stream = parsed->stream;
    resolve_alias(*parsed, *snapshot_->config);
    if (state_->request_log() != nullptr) {
      record.user = core::utf8_prefix(parsed->summary.user, 256);
      record.requested_model = core::utf8_prefix(parsed->model_as_sent(), 256);
    }
    if (record.client && !record.client->may_use(parsed->model)) {
      const Failure refused = model_not_allowed(*record.client, parsed->model_as_sent());
      record.status = traits(refused.kind).status;
      if (known_model(*snapshot_->config, parsed->model)) record.route = parsed->model;
      co_await send_error(writer, refused, decision_headers(record));
      co_return;
    }
    if (auto* log = state_->request_log(); log && snapshot_->config->request_log.log_prompts) {
      record.prompt = api::prompt_text(*parsed);  // the messages' text, redacted by the writer
    }
    // A client key over its own rpm/tpm is refused before any routing work, counted under the
    // route (or backend) it named: that route's operators see its clients throttled.
    record.estimated_tokens = estimated_prompt_tokens(*parsed);
    // n answers may each write max_tokens (OpenAI's limiter counts them so too).
    const std::int64_t max_output =
        parsed->summary.max_output_tokens.value_or(0) * std::max(parsed->summary.choices, 1);
    record.client_reserved = selector::tokens_to_reserve(record.estimated_tokens, max_output);
    const bool too_large =
        record.client && record.client->tpm > 0 && record.client_reserved > record.client->tpm;
    const auto refused = too_large ? std::nullopt : charge_client(record);
    if (too_large || refused) {
      if (known_model(*snapshot_->config, parsed->model)) record.route = parsed->model;
      if (too_large) {
        co_await send_too_large_for_client(writer, record);
      } else {
        co_await send_client_rate_limited(writer, record, *refused);
      }
      co_return;
    }
    RequestScope scope{snapshot_, providers_, nullptr, {}};
    const auto dense = co_await read_dense(*parsed, endpoint, *scope.snapshot, *scope.providers,
                                           /*analyze_direct=*/false);
    auto plan = plan_for(*parsed, request, endpoint, *scope.snapshot, record, dense);
    // (No co_await on the right of && here and below: GCC 12 evaluates it even when the left
    // side is false, so a request with a free backend waited for a full one.)
    // The route's timeout bounds the whole request, a wait for a free slot included.
    const auto* route = plan.direct ? nullptr : scope.snapshot->config->find_route(plan.route);
    scope.deadline = scope.arrived +
                     std::chrono::duration_cast<upstream::Clock::duration>(
                         route ? route->timeout : std::chrono::milliseconds(kDirectRequestTimeout));
    CapacityWait waited = CapacityWait::slot_freed;
    while (plan.status == selector::PlanStatus::all_busy) {
      const auto waited_on = full_backends_of(plan);
      const auto waited_in = scope.snapshot;
      waited =
          co_await wait_for_capacity(*scope.snapshot, waited_on, scope.arrived, scope.deadline);
      if (waited != CapacityWait::slot_freed) break;
      // Reloaded while waiting (a raised max_concurrency, another backend): plan with it. (The
      // thread's snapshot may be fresh already, taken by another request since the reload.)
      if (state_->generation() != generation_) refresh_snapshot();
      if (scope.snapshot != snapshot_) {
        scope.snapshot = snapshot_;
        scope.providers = providers_;
        record.config = snapshot_->config;
      }
      plan = plan_for(*parsed, request, endpoint, *scope.snapshot, record, dense);
      route = plan.direct ? nullptr : scope.snapshot->config->find_route(plan.route);
      // (After a reload the indices differ, and the reload woke every waiter anyway.)
      if (waited_in == scope.snapshot) pass_unused_turns(*waited_in, waited_on, plan);
    }
    if (!plan.ok()) {
      co_await send_plan_failure(writer, plan, *scope.snapshot, record, waited);
      co_return;
    }
    scope.route = route;  // the same after planning again: one request, one model
    for (const std::size_t index : plan.attempt_order()) {
      record.candidates.push_back(scope.snapshot->config->backends[index].name);
    }
    co_await run_plan(request, writer, *parsed, endpoint, plan, scope, record);
  } catch (const boost::system::system_error& e) {
    // A cancellation (the client left) ends the connection in the server; anything else is
    // a bug like the next. The cancellation may surface as this exception rather than as a
    // cancelled operation (a coroutine awaited after it came): the attempt then ended the same.
    if (e.code() == asio::error::operation_aborted) {
      if (!writer.server_stopping()) note_client_left(record);
      throw;
    }
    log_->error("request_id={} failed: {}", record.id, e.what());
    failed = true;
  } catch (const std::exception& e) {
    // A bug, not the client's doing: logged and counted as the 500 the client gets.
    log_->error("request_id={} failed: {}", record.id, e.what());
    failed = true;
  }
  if (failed) {  // (no co_await inside a catch block)
    // An answer already on its way keeps its status (the server cuts the connection).
    if (record.status == 0 || !writer.started()) record.status = 500;
    if (!writer.started()) {
      const Failure internal{ErrorKind::internal, "internal error"};    // (GCC 12: no braces
      co_await send_error(writer, internal, decision_headers(record));  // in a co_await)
    }
  }
}

asio::awaitable<void> RouterHandler::run_plan(const HttpRequest& request, ResponseWriter& writer,
                                              const api::ParsedRequest& parsed,
                                              api::Endpoint endpoint,
                                              const selector::RoutePlan& plan, RequestScope& scope,
                                              RequestRecord& record) {
  const auto& config = *scope.snapshot->config;
  AttemptQueue queue(plan.attempt_order());
  std::vector<bool> tried(config.backends.size(), false);
  std::string weak_answer;
  Headers weak_headers;
  RequestRecord::Spent weak_spent;  // what the weak answer cost, wherever it ends up
  const bool cascade = scope.route && scope.route->cascade.enabled && !parsed.stream &&
                       endpoint != api::Endpoint::embeddings;
  // Hedged requests (a duplicate when the first attempt is slow to commit); not with cascade,
  // which must see each answer before deciding.
  bool hedge = scope.route && scope.route->hedge.enabled && !cascade;
  while (!queue.empty()) {
    const std::size_t index = queue.pop_front();
    if (tried[index]) continue;
    tried[index] = true;
    const auto& backend = config.backends[index];
    BackendHealth& health = *scope.snapshot->health[index];
    health::Nanos trial = 0;
    if (!record.panic && !health.breaker.allow(health::steady_now(), &trial)) {
      record.attempts.push_back({backend.name, Failure{ErrorKind::circuit_open, "ejected"}});
      note_reopening(record.soonest_reopening, health.breaker);
      continue;
    }
    const health::TrialGuard trial_guard(health.breaker, trial);
    if (!health.capacity.try_acquire(backend.max_concurrency)) {
      // Taken between planning and now by a concurrent request. With nothing else to try
      // yet, wait for a slot here as the plan would have.
      const bool only_full_so_far = std::all_of(
          record.attempts.begin(), record.attempts.end(),
          [](const Attempt& a) { return a.failure && a.failure->kind == ErrorKind::overloaded; });
      std::vector<std::size_t> this_backend(1, index);  // not braced: GCC 12 coroutine bug
      if (queue.empty() && only_full_so_far) {
        const auto waited = co_await wait_for_capacity(*scope.snapshot, std::move(this_backend),
                                                       scope.arrived, scope.deadline);
        if (waited == CapacityWait::slot_freed) {
          tried[index] = false;
          queue.push_front(index);
          continue;
        }
        if (waited == CapacityWait::draining) {
          record.attempts.push_back({backend.name, queued_at_shutdown_failure()});
          break;
        }
      }
      record.attempts.push_back(
          {backend.name, Failure{ErrorKind::overloaded, "at max_concurrency"}});
      continue;
    }
    const SlotRelease slot{health.capacity};
    if (!take_rate_budget(budgets_of(health, backend), record.reserved_tokens)) {
      // Spent by concurrent requests between planning and now: the next candidate.
      note_rate_limited(record, health, backend);
      rate_limit_skips_metric_.with({backend.name}).inc();
      continue;
    }
    std::optional<Failure> last;
    for (int retry = 0;; ++retry) {
      // Each try is a request the backend's rpm counts; a spent budget moves on.
      if (retry > 0 && !take_rate_budget(budgets_of(health, backend), record.reserved_tokens)) {
        note_rate_limited(record, health, backend);
        rate_limit_skips_metric_.with({backend.name}).inc();
        break;
      }
      const bool may_cascade = cascade && !queue.empty();
      const auto started = upstream::Clock::now();
      AttemptResult result;
      if (hedge) {
        hedge = false;  // one duplicate per request, on its first attempt
        result = co_await hedged_attempt(request, writer, parsed, endpoint, index, queue, tried,
                                         scope, record);
      } else {
        result =
            co_await attempt(request, writer, parsed, endpoint, index, scope, record, may_cascade);
      }
      const double latency = millis_since(started, upstream::Clock::now());
      if (!result.hedged) record.attempts.back().latency_ms = latency;
      if (result.answered) {
        if (result.hedged) co_return;  // recorded by the race
        record_outcome(scope, record, index, result, latency);
        if (!weak_answer.empty()) record.discarded.push_back(std::move(weak_spent));
        co_return;
      }
      last = result.failure;
      if (result.hedged) {
        if (last->kind == ErrorKind::cancelled) co_return;
      } else if (!result.weak_answer.empty()) {
        health.record_success(backend.name, latency);
        if (!weak_answer.empty()) record.discarded.push_back(std::move(weak_spent));
        weak_answer = std::move(result.weak_answer);
        weak_headers = std::move(result.weak_headers);
        weak_spent = {backend.name,
                      answer_usage(scope.snapshot->encoders[index], parsed, weak_answer)};
        settle_tokens(budgets_of(health, backend), record.reserved_tokens,
                      weak_spent.usage.prompt_tokens + weak_spent.usage.completion_tokens);
        record.backend = backend.name;
      } else if (last->kind == ErrorKind::cancelled) {
        // The client is gone, or the server stopped waiting (drain_timeout): only then say so.
        if (writer.server_stopping()) co_await send_shutting_down(writer, record);
        co_return;
      } else if (counts_against_backend(last->kind)) {
        health.record_failure(backend.name, latency);
        learn(scope, record, index, false, latency);
      }
      if (!result.hedged && generated_nothing(*last)) {
        settle_tokens(budgets_of(health, backend), record.reserved_tokens, 0);
      }
      if (!retry_same_backend(*last, backend.retry) || retry >= backend.retry.attempts) break;
      // This failure opened (or reopened) its circuit: the next candidate, not another try. In
      // panic mode (every circuit open) each candidate gets one try: retries there multiply
      // the load on backends already failing, on top of the clients' own retries.
      if (record.panic ||
          health.breaker.state(health::steady_now()) == health::BreakerState::open) {
        break;
      }
      auto wait = backoff_for(backend.retry, retry);
      // A 429's Retry-After, or any other failure's (a 503 saying how long it will be down).
      if (last->kind == ErrorKind::upstream_rate_limited || result.retry_after.count() > 0) {
        if (result.retry_after > backend.retry.max_retry_after) break;  // better move on
        wait = std::max(wait, result.retry_after);
      }
      if (upstream::Clock::now() + wait >= scope.deadline) break;
      co_await sleep_for(wait);
    }
    if (!traits(last->kind).retryable && last->kind != ErrorKind::low_confidence) break;
    if (upstream::Clock::now() >= scope.deadline) break;
    // Error classes with their own fallbacks go first (LiteLLM's context_window_fallbacks).
    // Not for embeddings: those backends may serve another model's vectors.
    if (scope.route && class_fallbacks_apply(record.rule) &&
        endpoint != api::Endpoint::embeddings) {
      const std::vector<std::string>* special = nullptr;
      if (last->kind == ErrorKind::context_window_exceeded) {
        special = &scope.route->context_window_fallback;
      } else if (last->kind == ErrorKind::content_policy) {
        special = &scope.route->content_policy_fallback;
      }
      if (special) {
        const auto& unfit = record.unfit_class_fallbacks;
        for (auto it = special->rbegin(); it != special->rend(); ++it) {
          for (std::size_t i = 0; i < config.backends.size(); ++i) {
            if (config.backends[i].name == *it &&
                std::find(unfit.begin(), unfit.end(), i) == unfit.end()) {
              queue.push_front(i);
            }
          }
        }
      }
    }
  }
  if (!weak_answer.empty()) {
    // Every stronger candidate failed: the weak answer is still an answer.
    record.status = 200;
    record.usage = weak_spent.usage;
    record.backend = weak_spent.backend;
    record.first_byte = std::chrono::steady_clock::now();
    // The decision headers again, now listing the escalations that failed after the weak answer.
    Headers headers = decision_headers(record);
    for (auto& header : weak_headers) {
      // (The decision headers again: a client key's own x-ratelimit-* among them.)
      if (!header.name.starts_with("x-llm-router-") && header.name != "x-request-id" &&
          !(has_rate_limits(record.client) && header.name.starts_with("x-ratelimit-"))) {
        headers.push_back(std::move(header));
      }
    }
    headers.push_back({"content-type", "application/json"});
    co_await writer.send(200, std::move(headers), std::move(weak_answer));
    co_return;
  }
  co_await send_all_failed(writer, record);
}

asio::awaitable<RouterHandler::AttemptResult> RouterHandler::attempt(
    const HttpRequest& request, ResponseWriter& writer, const api::ParsedRequest& parsed,
    api::Endpoint endpoint, std::size_t index, RequestScope& scope, RequestRecord& record,
    bool may_cascade) {
  const auto began = upstream::Clock::now();
  const auto& backend = scope.snapshot->config->backends[index];
  record.attempts.push_back({backend.name, std::nullopt});
  auto fail = [&](Failure failure) {
    log_->debug("request_id={} backend={} attempt failed: {} {}", record.id, backend.name,
                name(failure.kind), failure.message);
    record.attempts.back().failure = failure;
    AttemptResult result;
    result.failure = std::move(failure);
    return result;
  };
  const config::Timeouts timeouts = config::effective_timeouts(backend, scope.route);
  upstream::Deadlines deadlines{timeouts.connect, timeouts.head_wait(parsed.stream), timeouts.idle,
                                std::min(upstream::Clock::now() + timeouts.total, scope.deadline)};
  const api::StreamOptions stream_options = stream_options_for(parsed, endpoint, scope, index);
  auto opened = co_await scope.providers->by_index[index]->open(
      upstream_request(request, parsed, endpoint, backend, record, stream_options,
                       renames_max_tokens(scope, index)),
      deadlines);
  if (!opened) co_return fail(opened.take_failure());
  auto& exchange = **opened;
  const auto& head = exchange.head();

  if (head.status < 200 || head.status >= 300) {
    auto body = co_await exchange.read_body(kMaxErrorBodyBytes);
    const std::string text = body ? *body : std::string();
    if (sent_stream_options(parsed, stream_options) && refuses_stream_options(head.status, text)) {
      // It refuses stream_options, not what the client asked: asked again without them, as
      // every later stream to it will be (the router counts usage and adds the chunk itself,
      // for a client that asked for it too).
      stop_sending_stream_options(scope, index);
      record.attempts.pop_back();
      co_return co_await attempt(request, writer, parsed, endpoint, index, scope, record,
                                 may_cascade);
    }
    if (parsed.summary.max_tokens_only && !renames_max_tokens(scope, index) &&
        refuses_max_tokens(head.status, text)) {
      // A reasoning model the route chose: the client could not know it wants the newer name.
      stop_sending_max_tokens(scope, index);
      record.attempts.pop_back();
      co_return co_await attempt(request, writer, parsed, endpoint, index, scope, record,
                                 may_cascade);
    }
    Failure failure = classify_status(head, text, sends_client_credentials(backend, request));
    if (failure.kind == ErrorKind::upstream_client_error) {
      // The request itself is at fault: every backend would say the same. Relay the answer.
      record.backend = backend.name;
      record.status = head.status;
      record.attempts.back().failure = failure;
      Headers headers = decision_headers(record);
      add_relayed(headers, relayed_headers(head, backend.response_headers), record);
      headers.push_back({"content-type", "application/json"});
      co_await writer.send(head.status, std::move(headers), client_error_body(head.status, text));
      AttemptResult answered;
      answered.answered = true;
      answered.client_error = true;
      co_return answered;
    }
    record.last_upstream_headers = relayed_headers(head, backend.response_headers);
    if (auto refusal = content_refusal(failure, head.status, text, record.attempts.size() - 1)) {
      record.refusal = std::move(refusal);
    }
    auto result = fail(std::move(failure));
    result.retry_after = retry_after_of(head);
    record.longest_retry_after = std::max(record.longest_retry_after, result.retry_after);
    co_return result;
  }
  record.backend = backend.name;
  Headers headers = decision_headers(record);
  add_relayed(headers, relayed_headers(head, backend.response_headers), record);
  if (parsed.stream && head.event_stream) {
    // Text is collected for counting only from backends whose last stream lacked usage.
    auto& health = *scope.snapshot->health[index];
    record.stream_text.reset();
    if (health.omits_stream_usage.load(std::memory_order_relaxed)) record.stream_text.emplace();
    std::unique_ptr<upstream::Exchange> events = std::move(*opened);
    if (backend.throughput.tokens_per_second > 0) {
      events = guard_throughput(std::move(events), backend.throughput);
    }
    const auto* encoder = scope.snapshot->encoders[index];
    const StreamUsage usage = stream_usage(parsed, encoder, record);
    auto result =
        co_await relay_stream(*events, writer, record, std::move(headers), usage, health, began,
                              scope.route && !scope.route->content_policy_fallback.empty());
    if (result.ended_by_done) end_after_done(std::move(events), scope.providers);
    if (result.answered) {
      health.omits_stream_usage.store(!record.usage_reported, std::memory_order_relaxed);
      if (!record.usage_reported && !record.usage_estimated) {
        count_stream_usage(encoder, parsed, record);
      }
    }
    co_return result;
  }
  co_return co_await relay_body(exchange, writer, parsed, endpoint, scope, index, record,
                                std::move(headers), may_cascade);
}

asio::awaitable<RouterHandler::CapacityWait> RouterHandler::wait_for_capacity(
    const Snapshot& snapshot, std::vector<std::size_t> full_backends,
    upstream::Clock::time_point arrived, upstream::Clock::time_point deadline) {
  if (state_->draining.load()) co_return CapacityWait::draining;
  auto timer = std::make_shared<asio::steady_timer>(io_);
  auto waiter = std::make_shared<health::CapacityWaiter>([timer, executor = io_.get_executor()] {
    asio::post(executor, [timer] { timer->cancel(); });
  });
  std::vector<health::CapacityGate*> joined;
  auto longest_wait = std::chrono::milliseconds(0);
  bool slot_free = false;
  for (const std::size_t index : full_backends) {
    const auto& backend = snapshot.config->backends[index];
    auto& gate = snapshot.health[index]->capacity;
    if (!gate.enqueue(waiter, backend.max_queue)) continue;  // this backend's queue is full
    joined.push_back(&gate);
    longest_wait = std::max(longest_wait, backend.queue_timeout);
    // A slot freed before we queued wakes nobody: look once more now that we are queued.
    slot_free = slot_free || gate.in_flight() < backend.max_concurrency;
  }
  bool woken = false;
  if (!joined.empty()) {
    if (slot_free) {
      woken = waiter->claim();
    } else {
      timer->expires_at(std::min(arrived + longest_wait, deadline));
      co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
      // Not claimed by a releasing backend: the wait timed out (or the client left).
      woken = !waiter->claim();
    }
  }
  for (auto* gate : joined) gate->remove(waiter.get());
  // (begin_draining sets the flag before it wakes anyone.)
  if (state_->draining.load()) co_return CapacityWait::draining;
  if (woken) co_return CapacityWait::slot_freed;
  co_return joined.empty() ? CapacityWait::queues_full : CapacityWait::timed_out;
}

asio::awaitable<void> RouterHandler::sleep_for(std::chrono::milliseconds duration) {
  asio::steady_timer timer(io_, duration);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

void RouterHandler::record_outcome(const RequestScope& scope, const RequestRecord& record,
                                   std::size_t index, const AttemptResult& result,
                                   double latency_ms) {
  BackendHealth& health = *scope.snapshot->health[index];
  const auto& broke = result.broke_after_commit;
  const bool failed = broke && counts_against_backend(broke->kind);
  const config::Backend& answered_by = scope.snapshot->config->backends[index];
  const std::string& backend = answered_by.name;
  settle_tokens(budgets_of(health, answered_by), record.reserved_tokens,
                record.usage.prompt_tokens + record.usage.completion_tokens);
  if (result.client_error) return;  // the request's fault: the breaker's trial ends untold
  if (failed) {
    health.record_failure(backend, latency_ms);
  } else {
    health.record_success(backend, latency_ms);
  }
  learn(scope, record, index, !failed, latency_ms);
}

void RouterHandler::learn(const RequestScope& scope, const RequestRecord& record, std::size_t index,
                          bool success, double latency_ms) {
  BackendHealth& health = *scope.snapshot->health[index];
  if (success && record.first_byte.time_since_epoch().count() != 0) {
    // From this attempt's start (it ended now, latency_ms after it began), not the request's:
    // a hedge's delay, a failed attempt or a wait for a slot before it is not its latency.
    const double since_first_byte =
        millis_since(record.first_byte, std::chrono::steady_clock::now());
    const double ttft = std::max(0.0, latency_ms - since_first_byte);
    const double tokens = static_cast<double>(record.usage.completion_tokens);
    const double per_token = tokens > 0 ? std::max(0.0, latency_ms - ttft) / tokens : -1;
    health.observe_latency(ttft, per_token);
  }
  if (record.strategy != "bandit" || !scope.route) return;
  const auto& backend = scope.snapshot->config->backends[index];
  selector::Outcome outcome;
  outcome.success = success;
  outcome.latency_ms = latency_ms;
  outcome.cost_usd =
      (static_cast<double>(record.usage.prompt_tokens) * backend.cost.input_per_mtok +
       static_cast<double>(record.usage.completion_tokens) * backend.cost.output_per_mtok) /
      1e6;
  const double reward = selector::bandit_reward(outcome, scope.route->bandit);
  const std::string key = selector::bandit_key(scope.route->name, record.category);
  state_->bandit().record(key, backend.name, reward);
  if (success) {
    state_->feedback().remember(
        record.id,
        {key, backend.name, reward, scope.route->bandit.feedback_weight, record.client_key_id});
  }
}

}  // namespace llm_router::proxy
