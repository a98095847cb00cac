// A hedged attempt: a duplicate sent to the next candidate when the first is slow to commit;
// each is read up to its commit point beside the request, and the first to commit answers.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <exception>

#include "llm_router/api/errors.hpp"
#include "rate_limits.hpp"
#include "request_path.hpp"
#include "router_handler.hpp"
#include "stream_events.hpp"
#include "throughput_guard.hpp"
#include "upstream_failures.hpp"
#include "usage_fields.hpp"

namespace llm_router::proxy {

namespace {

// A hedged attempt read up to its commit point (nothing sent to the client yet): the whole body
// of a non-stream answer, the events of a stream up to the first one carrying content, or why
// it failed. It owns everything it uses, so it can run beside the request's coroutine.
struct Primed {
  std::unique_ptr<upstream::Exchange> exchange;
  std::optional<Failure> failure;
  bool client_error = false;  // a 400/413/422 that is relayed as is (in `body`)
  int status = 0;
  Headers relayed;  // retry-after and rate-limit headers
  std::chrono::milliseconds retry_after{0};
  std::string body;
  bool stream = false;
  std::vector<api::SseEvent> held;
  upstream::Clock::time_point finished;
  bool refused_stream_options = false;  // answered to the request sent again without them
  bool refused_max_tokens = false;      // answered to it sent again with max_completion_tokens
};

// `without_options`: the same request without stream_options, sent when the backend refuses
// them (the answer then says so in refused_stream_options); `renamed`: with max_completion_tokens
// for max_tokens, sent when it refuses max_tokens (refused_max_tokens).
asio::awaitable<Primed> prime(std::shared_ptr<upstream::Provider> provider,
                              upstream::UpstreamRequest request, api::Endpoint endpoint,
                              upstream::Deadlines deadlines, bool want_stream,
                              std::size_t max_answer_bytes, config::ThroughputGuard guard,
                              bool client_credentials,
                              std::optional<upstream::UpstreamRequest> without_options,
                              std::optional<upstream::UpstreamRequest> renamed,
                              std::vector<std::string> response_headers) {
  Primed p;
  auto opened = co_await provider->open(std::move(request), deadlines);
  if (!opened) {
    p.failure = opened.take_failure();
    p.finished = upstream::Clock::now();
    co_return p;
  }
  std::unique_ptr<upstream::Exchange> exchange = std::move(*opened);
  p.status = exchange->head().status;
  p.relayed = relayed_headers(exchange->head(), response_headers);
  if (p.status < 200 || p.status >= 300) {
    auto body = co_await exchange->read_body(kMaxErrorBodyBytes);
    if (body) p.body = std::move(*body);
    if (without_options && refuses_stream_options(p.status, p.body)) {
      Primed again =
          co_await prime(std::move(provider), std::move(*without_options), endpoint, deadlines,
                         want_stream, max_answer_bytes, guard, client_credentials, std::nullopt,
                         std::nullopt, std::move(response_headers));
      again.refused_stream_options = true;
      co_return again;
    }
    if (renamed && refuses_max_tokens(p.status, p.body)) {
      Primed again = co_await prime(std::move(provider), std::move(*renamed), endpoint, deadlines,
                                    want_stream, max_answer_bytes, guard, client_credentials,
                                    std::nullopt, std::nullopt, std::move(response_headers));
      again.refused_max_tokens = true;
      co_return again;
    }
    p.failure = classify_status(exchange->head(), p.body, client_credentials);
    p.client_error = p.failure->kind == ErrorKind::upstream_client_error;
    p.retry_after = retry_after_of(exchange->head());
  } else if (want_stream && exchange->head().event_stream) {
    p.stream = true;
    if (guard.tokens_per_second > 0) exchange = guard_throughput(std::move(exchange), guard);
    std::size_t held_bytes = 0;
    while (true) {
      auto next = co_await exchange->next_event();
      p.failure = pre_commit_failure(next);
      if (p.failure) {
        note_answered(*p.failure, *exchange);
        break;
      }
      const bool content = carries_content(*next.event);
      held_bytes += next.event->data.size();
      p.held.push_back(std::move(*next.event));
      if (content) {
        exchange->content_arrived();
        break;
      }
      if ((p.failure = contentless_stream(held_bytes, *exchange))) break;
    }
  } else {
    auto body = co_await exchange->read_body(max_answer_bytes);
    if (!body) {
      p.failure = body.take_failure();
      note_answered(*p.failure, *exchange);
    } else if (auto unusable = unusable_unless_repaired(*body, endpoint)) {
      p.failure = std::move(unusable);
      note_answered(*p.failure, *exchange);
    } else {
      p.body = std::move(*body);
    }
  }
  p.exchange = std::move(exchange);
  p.finished = upstream::Clock::now();
  co_return p;
}

// The two attempts of a hedged request; their coroutines report here and wake the request's.
struct HedgeRace {
  explicit HedgeRace(asio::io_context& io) : wake(io) {}
  asio::steady_timer wake;
  std::array<std::optional<Primed>, 2> result;
  std::array<asio::cancellation_signal, 2> cancel;
  std::array<bool, 2> started{false, false};
  std::array<bool, 2> done{false, false};
  std::array<std::size_t, 2> index{0, 0};
  std::array<upstream::Clock::time_point, 2> launched;
};

// When the request's coroutine leaves the race, however it leaves: attempts still running are
// cancelled, and, if the race was not decided (the client left), both are recorded as
// cancelled so the log and the attempt metrics still show them.
struct RaceExit {
  std::shared_ptr<HedgeRace> race;
  const config::Config& config;
  RequestRecord& record;
  bool settled = false;
  ~RaceExit() {
    const auto now = upstream::Clock::now();
    for (std::size_t slot = 0; slot < 2; ++slot) {
      if (!race->started[slot]) continue;
      if (!settled) {
        record.attempts.push_back({config.backends[race->index[slot]].name,
                                   Failure{ErrorKind::cancelled, "the request ended first"},
                                   millis_since(race->launched[slot], now)});
      }
      if (!race->done[slot]) race->cancel[slot].emit(asio::cancellation_type::terminal);
    }
  }
};

bool committed(const Primed& p) {
  return !p.failure || p.client_error;
}

// The answer a backend's content filter withheld (Azure's finish_reason "content_filter"
// before any content): the whole answer, or the stream's first content event.
bool withheld(const Primed& p) {
  if (p.client_error) return false;
  if (!p.stream) return withheld_by_content_filter(p.body);
  return !p.held.empty() && withheld_by_content_filter(p.held.back().data);
}

}  // namespace

asio::awaitable<RouterHandler::AttemptResult> RouterHandler::hedged_attempt(
    const HttpRequest& request, ResponseWriter& writer, const api::ParsedRequest& parsed,
    api::Endpoint endpoint, std::size_t index, const AttemptQueue& queue, std::vector<bool>& tried,
    RequestScope& scope, RequestRecord& record) {
  constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
  const auto& config = *scope.snapshot->config;
  auto race = std::make_shared<HedgeRace>(io_);
  RaceExit race_exit{race, config, record};
  auto launch = [&](std::size_t slot, std::size_t backend_index) {
    const auto& backend = config.backends[backend_index];
    const config::Timeouts timeouts = config::effective_timeouts(backend, scope.route);
    upstream::Deadlines deadlines{
        timeouts.connect, timeouts.head_wait(parsed.stream), timeouts.idle,
        std::min(upstream::Clock::now() + timeouts.total, scope.deadline)};
    race->started[slot] = true;
    race->index[slot] = backend_index;
    race->launched[slot] = upstream::Clock::now();
    auto done = [race, slot](std::exception_ptr error, Primed primed) {
      if (error) {
        primed = Primed{};
        primed.failure = Failure{ErrorKind::cancelled, "cancelled"};
        primed.finished = upstream::Clock::now();
      }
      race->result[slot] = std::move(primed);
      race->done[slot] = true;
      race->wake.cancel();
    };
    const api::StreamOptions stream_options =
        stream_options_for(parsed, endpoint, scope, backend_index);
    std::optional<upstream::UpstreamRequest> without_options, renamed;
    const bool max_completion_tokens = renames_max_tokens(scope, backend_index);
    if (parsed.summary.max_tokens_only && !max_completion_tokens) {
      renamed = upstream_request(request, parsed, endpoint, backend, record, stream_options, true);
    }
    if (sent_stream_options(parsed, stream_options)) {
      without_options = upstream_request(request, parsed, endpoint, backend, record,
                                         api::StreamOptions::left_out, max_completion_tokens);
    }
    asio::co_spawn(
        io_,
        prime(scope.providers->by_index[backend_index],
              upstream_request(request, parsed, endpoint, backend, record, stream_options,
                               max_completion_tokens),
              endpoint, deadlines, parsed.stream, scope.snapshot->config->server.max_response_bytes,
              backend.throughput, sends_client_credentials(backend, request),
              std::move(without_options), std::move(renamed), backend.response_headers),
        asio::bind_cancellation_slot(race->cancel[slot].slot(), std::move(done)));
  };

  launch(0, index);
  const auto& hedge = scope.route->hedge;
  const auto delay =
      hedge.after_p95 ? scope.snapshot->health[index]->hedge_delay(hedge.after) : hedge.after;
  race->wake.expires_after(delay);
  co_await race->wake.async_wait(use_nothrow);
  // Still nothing committed: the duplicate goes to the next candidate that is not ejected and
  // has a free slot.
  std::optional<SlotRelease> second_slot;
  std::optional<health::TrialGuard> second_trial;
  if (!race->done[0]) {
    for (const std::size_t next : queue) {
      if (tried[next] || next == index) continue;
      const auto& backend = config.backends[next];
      BackendHealth& health = *scope.snapshot->health[next];
      health::Nanos trial = 0;
      if (!record.panic && !health.breaker.allow(health::steady_now(), &trial)) continue;
      if (!health.capacity.try_acquire(backend.max_concurrency)) {
        if (trial != 0) health.breaker.end_trial(trial);
        continue;
      }
      second_slot.emplace(health.capacity);
      if (!take_rate_budget(budgets_of(health, backend), record.reserved_tokens)) {
        second_slot.reset();
        if (trial != 0) health.breaker.end_trial(trial);
        continue;
      }
      second_trial.emplace(health.breaker, trial);
      tried[next] = true;
      log_->debug("request_id={} backend={} no commit after {} ms: hedging on {}", record.id,
                  config.backends[index].name, delay.count(), backend.name);
      launch(1, next);
      break;
    }
  }
  // The first to commit wins; a failure lets the other one go on.
  std::optional<std::size_t> winner;
  while (true) {
    for (std::size_t slot = 0; slot < 2 && !winner; ++slot) {
      if (race->done[slot] && committed(*race->result[slot])) winner = slot;
    }
    const bool all_done =
        (race->done[0] || !race->started[0]) && (race->done[1] || !race->started[1]);
    if (winner || all_done) break;
    race->wake.expires_at(upstream::Clock::time_point::max());
    co_await race->wake.async_wait(use_nothrow);
  }
  // The loser is cancelled (its exchange dropped, which cancels the upstream request) and
  // waited for, so nothing outlives the request.
  if (winner) {
    const std::size_t loser = 1 - *winner;
    if (race->started[loser] && !race->done[loser]) {
      scope.snapshot->health[race->index[loser]]->observe_unanswered(
          millis_since(race->launched[loser], upstream::Clock::now()));
      race->cancel[loser].emit(asio::cancellation_type::terminal);
      while (!race->done[loser]) {
        race->wake.expires_at(upstream::Clock::time_point::max());
        co_await race->wake.async_wait(use_nothrow);
      }
      race->result[loser]->failure =
          Failure{ErrorKind::hedge_lost, "the other attempt committed first"};
    } else if (race->started[loser] && committed(*race->result[loser])) {
      race->result[loser]->failure =
          Failure{ErrorKind::hedge_lost, "the other attempt committed first"};
    }
  }
  for (std::size_t slot = 0; slot < 2; ++slot) {
    // Every exchange but the winner's is dropped now, not when the answer has been relayed.
    if (race->started[slot] && (!winner || slot != *winner)) race->result[slot]->exchange.reset();
  }
  if (!winner || *winner != 1) second_slot.reset();  // the duplicate's slot is free again
  race_exit.settled = true;
  for (std::size_t slot = 0; slot < 2; ++slot) {
    if (race->started[slot] && race->result[slot] && race->result[slot]->refused_stream_options) {
      stop_sending_stream_options(scope, race->index[slot]);
    }
    if (race->started[slot] && race->result[slot] && race->result[slot]->refused_max_tokens) {
      stop_sending_max_tokens(scope, race->index[slot]);
    }
  }
  // Attempts are recorded the loser first, the one that answered (or the first one) last.
  std::vector<std::size_t> order;
  for (std::size_t slot = 0; slot < 2; ++slot) {
    if (race->started[slot] && (!winner || slot != *winner)) order.push_back(slot);
  }
  if (winner) order.push_back(*winner);
  if (!winner && order.size() == 2) std::swap(order[0], order[1]);  // the first attempt's last
  for (const std::size_t slot : order) {
    auto& primed = *race->result[slot];
    const auto& name_of = config.backends[race->index[slot]].name;
    Attempt a{name_of, std::nullopt, millis_since(race->launched[slot], primed.finished)};
    if (!winner || slot != *winner || primed.client_error) a.failure = primed.failure;
    record.attempts.push_back(std::move(a));
    if (winner && slot == *winner) break;
    BackendHealth& health = *scope.snapshot->health[race->index[slot]];
    if (primed.failure->kind == ErrorKind::hedge_lost ||
        !counts_against_backend(primed.failure->kind)) {
      continue;
    }
    health.record_failure(name_of, millis_since(race->launched[slot], upstream::Clock::now()));
    learn(scope, record, race->index[slot], false, record.attempts.back().latency_ms);
  }

  AttemptResult result;
  result.hedged = true;
  if (!winner) {
    // Both failed (or the first one failed before the hedge): the first one's failure decides
    // what comes next, as it would have without hedging.
    auto& first = *race->result[0];
    result.failure = first.failure;
    result.retry_after = first.retry_after;
    record.longest_retry_after = std::max(record.longest_retry_after, first.retry_after);
    if (first.status != 0 && (first.status < 200 || first.status >= 300)) {
      record.last_upstream_headers = first.relayed;
      if (first.failure) {
        if (auto refusal = content_refusal(*first.failure, first.status, first.body,
                                           record.attempts.size() - 1)) {
          record.refusal = std::move(refusal);
        }
      }
    }
    co_return result;
  }
  const std::size_t won = race->index[*winner];
  Primed primed = std::move(*race->result[*winner]);
  const auto& backend = config.backends[won];
  record.backend = backend.name;
  Headers headers = decision_headers(record);
  add_relayed(headers, std::move(primed.relayed), record);
  if (scope.route && !scope.route->content_policy_fallback.empty() && withheld(primed)) {
    // As unhedged: the route's content_policy_fallback is asked instead; a whole answer is
    // kept, and given if none of those answers.
    result.failure = withheld_by_filter_failure();
    result.failure->upstream_status = primed.status;
    record.attempts.back().failure = result.failure;
    if (!primed.stream) {
      result.weak_answer = std::move(primed.body);
      result.weak_headers = std::move(headers);
    }
    co_return result;
  }
  result.answered = true;
  if (primed.client_error) {
    // The request itself is at fault: every backend would say the same. Relay the answer.
    record.status = primed.status;
    headers.push_back({"content-type", "application/json"});
    co_await writer.send(primed.status, std::move(headers),
                         client_error_body(primed.status, primed.body));
    co_return result;
  }
  if (primed.stream) {
    auto& health = *scope.snapshot->health[won];
    record.stream_text.reset();
    if (health.omits_stream_usage.load(std::memory_order_relaxed)) record.stream_text.emplace();
    for (const auto& event : primed.held) keep_for_usage(event.data, record);
    const auto* encoder = scope.snapshot->encoders[won];
    const StreamUsage usage = stream_usage(parsed, encoder, record);
    const auto delivered = co_await deliver_stream(
        *primed.exchange, writer, record, std::move(headers), usage, std::move(primed.held));
    result.broke_after_commit = delivered.broke_after_commit;
    if (delivered.ended_by_done) end_after_done(std::move(primed.exchange), scope.providers);
    if (!record.usage_reported && !record.usage_estimated) {
      count_stream_usage(encoder, parsed, record);
    }
    health.omits_stream_usage.store(!record.usage_reported, std::memory_order_relaxed);
  } else {
    co_await deliver_body(std::move(primed.body), primed.status, writer, parsed, endpoint, scope,
                          won, record, std::move(headers));
  }
  const double latency = millis_since(race->launched[*winner], upstream::Clock::now());
  record.attempts.back().latency_ms = latency;
  record_outcome(scope, record, won, result, latency);
  co_return result;
}

}  // namespace llm_router::proxy
