// The request path: parse once -> resolve the route -> try each candidate in order -> relay.
// Fallback happens only while nothing has reached the client; after that a broken stream ends
// with an error event.
#include <nlohmann/json.hpp>

#include <random>

#include "llm_router/api/errors.hpp"
#include "router_handler.hpp"

namespace llm_router::proxy {
namespace {

constexpr std::size_t kMaxResponseBytes = 64 * 1024 * 1024;
constexpr std::size_t kMaxErrorBodyBytes = 256 * 1024;

std::string new_request_id() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "req-";
  std::uint64_t bits = random();
  for (int i = 0; i < 16; ++i, bits >>= 4) id += kHex[bits & 15];
  return id;
}

bool acceptable_request_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) { return c > 32 && c < 127; });
}

// The backends to try, in order: a route's candidates then its fallbacks, or one backend the
// client named directly.
std::vector<std::size_t> candidates_for(const config::Config& config, const std::string& model,
                                        std::string& route_name) {
  std::vector<std::size_t> order;
  auto add = [&](const std::string& backend) {
    for (std::size_t i = 0; i < config.backends.size(); ++i) {
      if (config.backends[i].name == backend &&
          std::find(order.begin(), order.end(), i) == order.end()) {
        order.push_back(i);
      }
    }
  };
  if (const auto* route = config.find_route(model)) {
    route_name = route->name;
    for (const auto& b : route->use) add(b);
    for (const auto& b : route->fallback) add(b);
  } else if (config.find_backend(model) != nullptr) {
    route_name = model;
    add(model);
  }
  return order;
}

bool contains_any(std::string_view text, std::initializer_list<std::string_view> needles) {
  for (auto n : needles) {
    if (text.find(n) != std::string_view::npos) return true;
  }
  return false;
}

// An upstream's error status, read as a failure kind (which decides whether to fall back).
Failure classify_status(int status, std::string_view body) {
  Failure failure{ErrorKind::upstream_server_error, "", status};
  if (status == 429) {
    failure.kind = ErrorKind::upstream_rate_limited;
  } else if (status == 408) {
    failure.kind = ErrorKind::first_byte_timeout;
  } else if (contains_any(body, {"context_length_exceeded", "maximum context length",
                                 "context window", "too many tokens"})) {
    failure.kind = ErrorKind::context_window_exceeded;
  } else if (contains_any(body, {"content_policy", "content_filter", "content management policy"})) {
    failure.kind = ErrorKind::content_policy;
  } else if (status == 400 || status == 422) {
    failure.kind = ErrorKind::upstream_client_error;
  } else if (status >= 400 && status < 500) {
    // 401/403/404 and the like: this backend is misconfigured; another one may still answer.
    failure.kind = ErrorKind::upstream_bad_response;
  }
  failure.message = "HTTP " + std::to_string(status);
  return failure;
}

bool relayed_upstream_header(std::string_view name) {
  return name == "retry-after" || name == "retry-after-ms" || name.starts_with("x-ratelimit-");
}

Headers relayed_headers(const upstream::ResponseHead& head) {
  Headers out;
  for (const auto& h : head.headers) {
    if (relayed_upstream_header(h.name)) out.push_back(h);
  }
  return out;
}

std::string describe(const Attempt& attempt) {
  if (!attempt.failure) return attempt.backend + "=ok";
  std::string text = attempt.backend + "=" + std::string(name(attempt.failure->kind));
  if (attempt.failure->upstream_status != 0) {
    text += "(" + std::to_string(attempt.failure->upstream_status) + ")";
  }
  return text;
}

double millis_since(std::chrono::steady_clock::time_point from,
                    std::chrono::steady_clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

}  // namespace

Headers RouterHandler::decision_headers(const RequestRecord& record) const {
  Headers headers{{"x-request-id", record.id}};
  if (!record.route.empty()) headers.push_back({"x-llm-router-route", record.route});
  if (!record.backend.empty()) headers.push_back({"x-llm-router-backend", record.backend});
  if (!record.attempts.empty()) {
    std::string attempts;
    for (const auto& a : record.attempts) {
      if (!attempts.empty()) attempts += ", ";
      attempts += describe(a);
    }
    headers.push_back({"x-llm-router-attempts", attempts});
  }
  return headers;
}

upstream::UpstreamRequest RouterHandler::upstream_request(const HttpRequest& request,
                                                          const api::ParsedRequest& parsed,
                                                          api::Endpoint endpoint,
                                                          const config::Backend& backend,
                                                          const RequestRecord& record) const {
  upstream::UpstreamRequest out;
  out.path = std::string(api::upstream_path(endpoint));
  out.body = api::body_for_backend(parsed.body, backend.model);
  out.stream = parsed.stream;
  out.headers.push_back({"x-request-id", record.id});
  if (const auto* trace = request.header("traceparent")) out.headers.push_back({"traceparent", *trace});
  if (backend.pass_client_auth) {
    if (const auto* auth = request.header("authorization")) {
      out.headers.push_back({"authorization", *auth});
    }
  }
  return out;
}

asio::awaitable<void> RouterHandler::completion(HttpRequest& request, ResponseWriter& writer,
                                                api::Endpoint endpoint) {
  RequestRecord record;
  // Logged however the request ends, a cancellation by a departed client included.
  struct LogOnExit {
    const RouterHandler& handler;
    RequestRecord& record;
    ~LogOnExit() {
      if (record.status == 0) record.status = 499;
      handler.log_request(record);
    }
  } log_on_exit{*this, record};
  const auto* client_id = request.header("x-request-id");
  record.id = client_id && acceptable_request_id(*client_id) ? *client_id : new_request_id();

  auto parsed = api::parse_request(request.body, endpoint);
  if (!parsed) {
    record.status = traits(parsed.failure().kind).status;
    co_await send_error(writer, parsed.failure(), decision_headers(record));
    co_return;
  }
  record.stream = parsed->stream;
  const auto order = candidates_for(*config_, parsed->model, record.route);
  if (order.empty()) {
    Failure failure{ErrorKind::model_not_found,
                    "The model '" + parsed->model +
                        "' does not exist: name a route or a backend listed by GET /v1/models",
                    0, "model"};
    record.status = 404;
    co_await send_error(writer, failure, decision_headers(record));
    co_return;
  }
  for (const std::size_t index : order) {
    if (co_await attempt(request, writer, *parsed, endpoint, index, record)) co_return;
    const auto& last = *record.attempts.back().failure;
    if (last.kind == ErrorKind::cancelled) break;
    if (!traits(last.kind).retryable) break;
  }
  co_await send_all_failed(writer, record);
}

asio::awaitable<bool> RouterHandler::attempt(const HttpRequest& request, ResponseWriter& writer,
                                             const api::ParsedRequest& parsed,
                                             api::Endpoint endpoint, std::size_t backend_index,
                                             RequestRecord& record) {
  const auto& backend = config_->backends[backend_index];
  record.attempts.push_back({backend.name, std::nullopt});
  auto fail = [&](Failure failure) {
    log_->debug("request_id={} backend={} attempt failed: {} {}", record.id, backend.name,
                name(failure.kind), failure.message);
    record.attempts.back().failure = std::move(failure);
    return false;
  };

  upstream::Deadlines deadlines{backend.timeouts.connect, backend.timeouts.first_byte,
                                backend.timeouts.idle,
                                upstream::Clock::now() + backend.timeouts.total};
  auto opened = co_await providers_[backend_index]->open(
      upstream_request(request, parsed, endpoint, backend, record), deadlines);
  if (!opened) co_return fail(opened.take_failure());
  auto& exchange = **opened;
  const auto& head = exchange.head();

  if (head.status < 200 || head.status >= 300) {
    auto body = co_await exchange.read_body(kMaxErrorBodyBytes);
    const std::string text = body ? *body : std::string();
    Failure failure = classify_status(head.status, text);
    if (failure.kind == ErrorKind::upstream_client_error) {
      // The request itself is at fault: every backend would say the same. Relay the answer.
      record.backend = backend.name;
      record.status = head.status;
      record.attempts.back().failure = failure;
      Headers headers = decision_headers(record);
      for (auto& h : relayed_headers(head)) headers.push_back(std::move(h));
      headers.push_back({"content-type", "application/json"});
      co_await writer.send(head.status, std::move(headers), text);
      co_return true;
    }
    record.last_upstream_headers = relayed_headers(head);
    co_return fail(std::move(failure));
  }
  record.backend = backend.name;
  Headers headers = decision_headers(record);
  for (auto& h : relayed_headers(head)) headers.push_back(std::move(h));
  if (parsed.stream && head.event_stream) {
    co_return co_await relay_stream(exchange, writer, record, std::move(headers));
  }
  co_return co_await relay_body(exchange, writer, record, std::move(headers));
}

asio::awaitable<bool> RouterHandler::relay_body(upstream::Exchange& exchange,
                                                ResponseWriter& writer, RequestRecord& record,
                                                Headers headers) {
  auto body = co_await exchange.read_body(kMaxResponseBytes);
  if (!body) {
    record.attempts.back().failure = body.take_failure();
    co_return false;
  }
  record.first_byte = std::chrono::steady_clock::now();
  if (auto usage = api::find_usage(*body)) record.usage = *usage;
  record.status = exchange.head().status;
  headers.push_back({"content-type", "application/json"});
  const auto ec = co_await writer.send(record.status, std::move(headers), std::move(*body));
  if (ec) record.status = 499;
  co_return true;
}

asio::awaitable<bool> RouterHandler::relay_stream(upstream::Exchange& exchange,
                                                  ResponseWriter& writer, RequestRecord& record,
                                                  Headers headers) {
  // Commit point: nothing is sent to the client before the first event arrived and is not an
  // error, so a backend that fails before that still falls back invisibly.
  auto first = co_await exchange.next_event();
  if (first.failure) {
    record.attempts.back().failure = std::move(first.failure);
    co_return false;
  }
  if (!first.event) {
    record.attempts.back().failure =
        Failure{ErrorKind::upstream_bad_response, "stream ended before any event"};
    co_return false;
  }
  if (api::is_error_event(first.event->data)) {
    record.attempts.back().failure =
        Failure{ErrorKind::upstream_server_error, "stream began with an error event"};
    co_return false;
  }
  record.first_byte = std::chrono::steady_clock::now();
  record.status = 200;
  headers.push_back({"content-type", "text/event-stream"});
  headers.push_back({"cache-control", "no-cache"});
  headers.push_back({"x-accel-buffering", "no"});
  if (co_await writer.start_stream(200, std::move(headers))) {
    record.status = 499;
    co_return true;
  }
  std::optional<api::SseEvent> event = std::move(first.event);
  while (event) {
    if (auto usage = api::find_usage(event->data)) record.usage = *usage;
    if (co_await writer.write_chunk(event->serialize())) {
      record.status = 499;  // the client went away: dropping the exchange cancels upstream
      co_return true;
    }
    auto next = co_await exchange.next_event();
    if (next.failure) {
      // Bytes already reached the client: end the stream with an error event, never hang.
      record.attempts.back().failure = next.failure;
      record.status = 502;
      const Failure& f = *next.failure;
      api::SseEvent error{"", api::error_body(Failure{f.kind, "upstream stream broke: " + f.message}),
                          ""};
      co_await writer.write_chunk(error.serialize());
      break;
    }
    event = std::move(next.event);
  }
  co_await writer.finish_stream();
  co_return true;
}

asio::awaitable<void> RouterHandler::send_all_failed(ResponseWriter& writer,
                                                     RequestRecord& record) {
  const Failure& last = *record.attempts.back().failure;
  if (last.kind == ErrorKind::cancelled) {
    record.status = 499;
    co_return;
  }
  bool all_rate_limited = true;
  std::string message = record.attempts.size() == 1
                            ? "the backend failed: "
                            : "all " + std::to_string(record.attempts.size()) +
                                  " attempts failed: ";
  for (std::size_t i = 0; i < record.attempts.size(); ++i) {
    const auto& a = record.attempts[i];
    all_rate_limited = all_rate_limited && a.failure->kind == ErrorKind::upstream_rate_limited;
    if (i > 0) message += "; ";
    message += a.backend + ": " + std::string(name(a.failure->kind)) + " (" +
               a.failure->message + ")";
  }
  Failure failure{all_rate_limited ? ErrorKind::upstream_rate_limited : last.kind, message};
  record.status = traits(failure.kind).status;
  record.backend.clear();
  Headers headers = decision_headers(record);
  for (auto& h : record.last_upstream_headers) headers.push_back(std::move(h));
  co_await send_error(writer, failure, std::move(headers));
}

void RouterHandler::log_request(const RequestRecord& record) const {
  const auto now = std::chrono::steady_clock::now();
  std::string attempts;
  for (const auto& a : record.attempts) {
    if (!attempts.empty()) attempts += ',';
    attempts += describe(a);
  }
  const double ttft = record.first_byte.time_since_epoch().count() == 0
                          ? -1
                          : millis_since(record.start, record.first_byte);
  log_->info(
      "request_id={} route={} backend={} status={} stream={} attempts=[{}] latency_ms={:.1f} "
      "ttfb_ms={:.1f} prompt_tokens={} completion_tokens={}",
      record.id, record.route.empty() ? "-" : record.route,
      record.backend.empty() ? "-" : record.backend, record.status, record.stream, attempts,
      millis_since(record.start, now), ttft, record.usage.prompt_tokens,
      record.usage.completion_tokens);
}

}  // namespace llm_router::proxy
