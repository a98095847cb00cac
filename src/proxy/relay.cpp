// The relays: a backend's answer or stream passed on to the client once the attempt commits, with
// the usage it lacked and the backend's headers a client reads. After the first byte reached
// the client there is no fallback: a broken stream ends with an error event.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "llm_router/api/answer_text.hpp"
#include "llm_router/api/embeddings.hpp"
#include "llm_router/api/errors.hpp"
#include "llm_router/api/stream_from_answer.hpp"
#include "llm_router/api/tool_call_indexes.hpp"
#include "request_path.hpp"
#include "router_handler.hpp"
#include "stream_events.hpp"
#include "upstream_failures.hpp"
#include "usage_fields.hpp"

namespace llm_router::proxy {

namespace {

constexpr std::size_t kMaxCoalescedBytes = 64 * 1024;  // stream events written in one send

// After a stream's [DONE], how long its backend may take to end the response and keep the
// connection for reuse (the client has its whole answer by then).
constexpr std::chrono::milliseconds kEndAfterDoneGrace{250};

// After a stream's finish_reason, how long the usage chunk and [DONE] may take before the
// stream is ended as complete (a backend that leaves its response open would hold the client
// for the whole idle timeout, then fail a whole answer).
constexpr std::chrono::milliseconds kAfterFinishGrace{1000};

// What a client's SDK reads from the backend's answer: rate limits, retry hints, OpenAI's
// processing time and API version. (Not openai-organization or openai-project: they name the
// router operator's account.)
bool relayed_upstream_header(std::string_view name) {
  return name == "retry-after" || name == "retry-after-ms" || name.starts_with("x-ratelimit-") ||
         name == "openai-processing-ms" || name == "openai-version" || name == "x-should-retry";
}

}  // namespace

Failure withheld_by_filter_failure() {
  return Failure{ErrorKind::content_policy, "the backend's content filter withheld the answer"};
}

// `extra`: the backend's response_headers.
Headers relayed_headers(const upstream::ResponseHead& head, const std::vector<std::string>& extra) {
  Headers out;
  for (const auto& h : head.headers) {
    if (relayed_upstream_header(h.name) ||
        (!extra.empty() && config::lists_response_header(extra, h.name))) {
      out.push_back(h);
    } else if (h.name == "x-request-id") {
      // The backend's own id, for its provider's support; x-request-id is the router's.
      out.push_back({"x-llm-router-upstream-request-id", h.value});
    }
  }
  return out;
}

// The backend's headers for the client's answer, its request id kept for the request log. A
// client key with limits of its own reads those (decision_headers) instead of the limits of
// the router's account with the backend.
void add_relayed(Headers& headers, Headers relayed, RequestRecord& record) {
  const bool own_limits = has_rate_limits(record.client);
  for (auto& h : relayed) {
    if (h.name == "x-llm-router-upstream-request-id") record.upstream_request_id = h.value;
    if (own_limits && h.name.starts_with("x-ratelimit-")) continue;
    headers.push_back(std::move(h));
  }
}

asio::awaitable<RouterHandler::AttemptResult> RouterHandler::relay_body(
    upstream::Exchange& exchange, ResponseWriter& writer, const api::ParsedRequest& parsed,
    api::Endpoint endpoint, RequestScope& scope, std::size_t index, RequestRecord& record,
    Headers headers, bool may_cascade) {
  AttemptResult result;
  auto body = co_await exchange.read_body(scope.snapshot->config->server.max_response_bytes);
  std::size_t usage_at = std::string_view::npos;  // noted by the answer's check
  if (!body) {
    result.failure = body.take_failure();
  } else {
    result.failure = unusable_unless_repaired(*body, endpoint, &usage_at);
  }
  if (result.failure) {
    note_answered(*result.failure, exchange);
    record.attempts.back().failure = result.failure;
    co_return result;
  }
  if (may_cascade) {
    if (auto reason = weak_answer_reason(*body, scope.route->cascade, parsed.body())) {
      result.failure = Failure{ErrorKind::low_confidence, *reason};
    }
  }
  // A filtered answer is set aside for the route's content_policy_fallback, and still given
  // if none of those answers.
  if (!result.failure && scope.route && !scope.route->content_policy_fallback.empty() &&
      withheld_by_content_filter(*body)) {
    result.failure = withheld_by_filter_failure();
  }
  if (result.failure) {
    note_answered(*result.failure, exchange);  // it answered, and its answer was set aside
    record.attempts.back().failure = result.failure;
    result.weak_answer = std::move(*body);
    result.weak_headers = std::move(headers);
    co_return result;
  }
  record.answer_usage_at = usage_at;  // taken by deliver_body before it first waits
  co_await deliver_body(std::move(*body), exchange.head().status, writer, parsed, endpoint, scope,
                        index, record, std::move(headers));
  result.answered = true;
  co_return result;
}

asio::awaitable<void> RouterHandler::deliver_body(std::string body, int status,
                                                  ResponseWriter& writer,
                                                  const api::ParsedRequest& parsed,
                                                  api::Endpoint endpoint, RequestScope& scope,
                                                  std::size_t index, RequestRecord& record,
                                                  Headers headers) {
  record.first_byte = std::chrono::steady_clock::now();
  const bool embeddings = endpoint == api::Endpoint::embeddings;
  // Found when the answer was checked (this body, unless re-encoded below).
  std::optional<std::size_t> usage_at = std::exchange(record.answer_usage_at, std::nullopt);
  if (embeddings && parsed.summary.base64_embeddings && status >= 200 && status < 300) {
    // A backend that ignored encoding_format: the SDK would decode its numbers as base64.
    if (auto encoded = api::embeddings_as_base64(body)) {
      body = std::move(*encoded);
      usage_at.reset();
    }
  }
  if (auto usage = usage_at ? api::usage_at(body, *usage_at) : api::find_usage(body)) {
    record.usage = *usage;
  } else {
    // The backend reports no usage: count it, so cost and token metrics still move.
    const auto* encoder = scope.snapshot->encoders[index];
    count_usage(encoder, parsed, api::answer_text(body), record);
    if (status >= 200 && status < 300) {
      add_usage(body, record.usage, embeddings);
      // Billing code can tell the router's count from the backend's figures.
      headers.push_back({"x-llm-router-usage", "estimated"});
    }
  }
  record.status = status;
  record.answered_status = status;
  // A backend that ignored "stream": true: the client's SDK reads events only.
  auto events =
      parsed.stream ? api::stream_from_answer(body, parsed.summary.include_usage) : std::nullopt;
  if (events) {
    body = std::move(*events);
    headers.push_back({"content-type", "text/event-stream"});
    headers.push_back({"cache-control", "no-cache"});
  } else {
    headers.push_back({"content-type", "application/json"});
  }
  const auto ec = co_await writer.send(record.status, std::move(headers), std::move(body));
  if (ec) record.status = 499;
}

asio::awaitable<RouterHandler::AttemptResult> RouterHandler::relay_stream(
    upstream::Exchange& exchange, ResponseWriter& writer, RequestRecord& record, Headers headers,
    const StreamUsage& usage, BackendHealth& health, upstream::Clock::time_point began,
    bool filtered_falls_back) {
  AttemptResult result;
  // Commit point: nothing is sent before the first event carrying content arrived, so a
  // backend that fails, times out or sends an error event before that falls back invisibly.
  std::vector<api::SseEvent> held;
  std::size_t held_bytes = 0;
  while (true) {
    auto next = co_await exchange.next_event();
    result.failure = pre_commit_failure(next);
    if (result.failure) {
      note_answered(*result.failure, exchange);
      record.attempts.back().failure = result.failure;
      co_return result;
    }
    const bool content = carries_content(*next.event);
    keep_for_usage(next.event->data, record);
    held_bytes += next.event->data.size();
    held.push_back(std::move(*next.event));
    if (content && filtered_falls_back && withheld_by_content_filter(held.back().data)) {
      // As for a whole answer: the route's content_policy_fallback is asked instead; nothing
      // was sent.
      result.failure = withheld_by_filter_failure();
      note_answered(*result.failure, exchange);
      record.attempts.back().failure = result.failure;
      co_return result;
    }
    if (content) {
      exchange.content_arrived();
      // A half-open trial that streams for minutes need not keep its backend out that long.
      health.record_commit(record.attempts.back().backend,
                           millis_since(began, upstream::Clock::now()));
      break;
    }
    if ((result.failure = contentless_stream(held_bytes, exchange))) {
      record.attempts.back().failure = result.failure;
      co_return result;
    }
  }
  co_return co_await deliver_stream(exchange, writer, record, std::move(headers), usage,
                                    std::move(held));
}

asio::awaitable<RouterHandler::AttemptResult> RouterHandler::deliver_stream(
    upstream::Exchange& exchange, ResponseWriter& writer, RequestRecord& record, Headers headers,
    const StreamUsage& usage, std::vector<api::SseEvent> held) {
  AttemptResult result;
  const bool client_wants_usage = usage.client_wants;
  // The stream's first event names its id and model, for a usage chunk the router adds.
  const std::string first_data = client_wants_usage && !held.empty() ? held.front().data : "";
  const auto missing_usage = [&]() -> std::string {
    if (!client_wants_usage || record.usage_reported || !usage.count_missing) return {};
    usage.count_missing();
    return usage_chunk(first_data, record.usage);
  };
  record.first_byte = std::chrono::steady_clock::now();
  record.status = 200;
  result.answered = true;
  // The backend had answered (its head's status stays on the attempt: billed work, not a
  // backend that never answered).
  const auto broke = [&](Failure failure) {
    note_answered(failure, exchange);
    if (!result.broke_after_commit) result.broke_after_commit = failure;
    record.attempts.back().failure = failure;
    record.status = traits(failure.kind).status;
  };
  headers.push_back({"content-type", "text/event-stream"});
  headers.push_back({"cache-control", "no-cache"});
  headers.push_back({"x-accel-buffering", "no"});
  std::string pending;
  api::ToolCallIndexes tool_call_indexes;
  for (auto& event : held) {
    if (!client_wants_usage) drop_null_usage(event.data);
    tool_call_indexes.fill(event.data);
    pending += event.serialize();
  }
  // The head leaves with the held events, in one packet.
  record.answered_status = 200;
  if (co_await writer.start_stream_with(200, std::move(headers), pending)) {
    note_client_left(record);
    co_return result;
  }
  pending.clear();
  bool finished = false;  // [DONE] or a finish_reason seen: the stream may end now
  bool done_seen = false;
  for (const auto& event : held) {
    finished = finished || ends_a_stream(event);
    done_seen = done_seen || event.is_done();
  }
  // With n > 1 a finish_reason ends one choice only.
  const auto note_finish = [&] {
    if (finished && usage.choices <= 1) exchange.answer_finished(kAfterFinishGrace);
  };
  note_finish();
  // [DONE] ends the client's stream at once, whenever the backend closes its response.
  while (!done_seen) {
    auto next = co_await exchange.next_event();
    if (next.failure && next.failure->kind == ErrorKind::cancelled && writer.server_stopping()) {
      // drain_timeout ran out: end the stream with an error event, as a broken one would.
      co_await asio::this_coro::reset_cancellation_state();
      const Failure stopping = shutting_down_failure();
      record.status = traits(stopping.kind).status;
      record.attempts.back().failure = stopping;
      pending += api::SseEvent{"", api::error_body(stopping), ""}.serialize();
      if (!co_await writer.write_chunk(pending)) co_await writer.finish_stream();
      co_return result;
    }
    if (next.failure && next.failure->kind == ErrorKind::cancelled) {
      note_client_left(record);
      co_return result;
    }
    if (next.event && !next.failure) next.failure = garbled(*next.event);
    if (finished && usage.choices <= 1 && !next.event && next.failure &&
        (next.failure->kind == ErrorKind::upstream_closed ||
         next.failure->kind == ErrorKind::idle_timeout ||
         next.failure->kind == ErrorKind::slow_stream)) {
      // Cut, or left open, after its finish_reason (a chunked body without its last chunk,
      // silence past kAfterFinishGrace): the answer is whole, so it ends as a stream without
      // [DONE] does (with n > 1 another choice may not be).
      next.failure.reset();
    }
    if (!next.event && !next.failure && !finished) {
      next.failure =
          Failure{ErrorKind::upstream_closed,
                  "the stream ended before its last event (no finish_reason, no [DONE])"};
    }
    if (next.failure) {
      // Bytes already reached the client: end the stream with an error event, never hang.
      const Failure& f = *next.failure;
      broke(f);
      api::SseEvent error{
          "", api::error_body(Failure{f.kind, "upstream stream broke: " + f.message}), ""};
      pending += error.serialize();
      co_await writer.write_chunk(pending);
      pending.clear();
      break;
    }
    if (!next.event) {
      // Ended after its finish_reason but without the [DONE] OpenAI sends: some clients wait
      // for it, so it is added.
      if (!done_seen && !result.broke_after_commit) pending += missing_usage() + "data: [DONE]\n\n";
      break;
    }
    finished = finished || ends_a_stream(*next.event);
    done_seen = done_seen || next.event->is_done();
    note_finish();
    if (!result.broke_after_commit && error_event(*next.event)) {
      // Relayed in OpenAI's shape (the client's SDK raises it), counted as the backend's
      // failure; the stream ends with it, as a broken one does.
      broke(Failure{ErrorKind::upstream_server_error, "the stream carried an error event"});
      pending += openai_error_event(*next.event).serialize();
      co_await writer.write_chunk(pending);
      pending.clear();
      break;
    }
    bool relay = true;
    if (auto usage = api::find_usage(next.event->data)) {
      record.usage = *usage;
      record.usage_reported = true;
      // The router asked for this chunk for its own accounting: the client did not.
      relay = client_wants_usage || !api::is_usage_only_chunk(next.event->data);
    }
    if (relay) {
      if (!client_wants_usage) drop_null_usage(next.event->data);
      tool_call_indexes.fill(next.event->data);
      if (next.event->is_done() && !result.broke_after_commit) pending += missing_usage();
      pending += next.event->serialize();
      keep_for_usage(next.event->data, record);
    }
    // Events that arrived together leave together; nothing waits for events still to come.
    if (!done_seen && exchange.event_ready() && pending.size() < kMaxCoalescedBytes) continue;
    if (co_await writer.write_chunk(pending)) {
      note_client_left(record);  // dropping the exchange cancels the upstream request
      co_return result;
    }
    pending.clear();
  }
  if (!pending.empty()) {
    if (co_await writer.write_chunk(pending)) {
      note_client_left(record);
      co_return result;
    }
  }
  co_await writer.finish_stream();
  result.ended_by_done = done_seen;
  co_return result;
}

namespace {

// `providers` keeps the exchange's connection pool alive until it is done.
asio::awaitable<void> drain_after_done(std::unique_ptr<upstream::Exchange> exchange,
                                       std::shared_ptr<ProviderSet> /*providers*/) {
  co_await exchange->end_after_done(kEndAfterDoneGrace);
}

}  // namespace

void RouterHandler::end_after_done(std::unique_ptr<upstream::Exchange> exchange,
                                   std::shared_ptr<ProviderSet> providers) {
  // Detached: the request is over for its client, whose connection may carry the next one.
  asio::co_spawn(io_, drain_after_done(std::move(exchange), std::move(providers)), asio::detached);
}

}  // namespace llm_router::proxy
