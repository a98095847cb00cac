// The request path: parse once -> plan (rules + strategy) -> try each candidate, with retries,
// breaker checks and per-error-class fallbacks -> relay. Fallback happens only while nothing
// has reached the client; after that a broken stream ends with an error event.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <ctime>
#include <exception>
#include <random>

#include "client_key.hpp"
#include "llm_router/api/answer_text.hpp"
#include "llm_router/api/embeddings.hpp"
#include "llm_router/api/errors.hpp"
#include "llm_router/api/json_parse.hpp"
#include "llm_router/api/prompt_text.hpp"
#include "llm_router/api/stream_from_answer.hpp"
#include "llm_router/api/tool_call_indexes.hpp"
#include "llm_router/core/request_id.hpp"
#include "llm_router/core/utf8.hpp"
#include "llm_router/metrics/cost.hpp"
#include "llm_router/requestlog/redactor.hpp"
#include "llm_router/tokenizer/tokenizer.hpp"
#include "rate_limits.hpp"
#include "router_handler.hpp"
#include "throughput_guard.hpp"

namespace llm_router::proxy {
namespace {

using nlohmann::json;
// An error answer longer than this is cut (a whole answer's limit: server.max_response_bytes).
constexpr std::size_t kMaxErrorBodyBytes = 256 * 1024;
// Events without content held before a stream's commit point; past this, it commits anyway.
constexpr std::size_t kMaxHeldBytes = 1024 * 1024;
constexpr std::size_t kMaxCoalescedBytes = 64 * 1024;  // stream events written in one send
// After a stream's [DONE], how long its backend may take to end the response and keep the
// connection for reuse (the client has its whole answer by then).
constexpr std::chrono::milliseconds kEndAfterDoneGrace{250};
// After a stream's finish_reason, how long the usage chunk and [DONE] may take before the
// stream is ended as complete (a backend that leaves its response open would hold the client
// for the whole idle timeout, then fail a whole answer).
constexpr std::chrono::milliseconds kAfterFinishGrace{1000};
constexpr auto kDirectRequestTimeout = std::chrono::minutes(10);

std::mt19937_64& random_engine() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

bool contains_any(std::string_view text, std::initializer_list<std::string_view> needles) {
  for (auto n : needles) {
    if (text.find(n) != std::string_view::npos) return true;
  }
  return false;
}

// FastAPI's validation errors: {"detail": [{"loc": ["body", "messages"], "msg": "..."}]} ->
// "body.messages: ...; ...".
std::string validation_details(const json& detail) {
  std::string text;
  for (const auto& item : detail) {
    const auto msg = item.is_object() ? item.find("msg") : item.end();
    if (!item.is_object() || msg == item.end() || !msg->is_string()) continue;
    if (!text.empty()) text += "; ";
    std::string location;
    if (auto loc = item.find("loc"); loc != item.end() && loc->is_array()) {
      for (const auto& part : *loc) {
        if (!location.empty()) location += '.';
        location += part.is_string() ? part.get<std::string>() : part.dump();
      }
    }
    if (!location.empty()) text += location + ": ";
    text += msg->get<std::string>();
  }
  return text;
}

// A token holding "***" is a key the backend masked ("sk-proj-****abcd"): out of messages too.
std::string without_masked_keys(std::string_view text) {
  std::string out;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = std::min(text.find_first_of(" \t\n\"'", at), text.size());
    const std::string_view token = text.substr(at, end - at);
    out += token.find("***") == std::string_view::npos ? token : "[masked key]";
    if (end < text.size()) out += text[end];
    at = end + 1;
  }
  return out;
}

// An error body as most backends write it: Gemini's OpenAI endpoint wraps its error object in
// a list ([{"error": {...}}]); the object inside.
const json& error_document(const json& parsed) {
  if (parsed.is_array() && parsed.size() == 1 && parsed[0].is_object() &&
      parsed[0].contains("error")) {
    return parsed[0];
  }
  return parsed;
}

// A backend error body's own short text: OpenAI's error.message, a "detail"/"message"/"error"
// string, FastAPI's list of validation errors (also under "message", as Mistral writes them),
// or a short plain-text body, cut to 300 bytes; never its other fields (they may name internal
// hosts).
std::optional<std::string> backend_detail(const json& body, bool openai_message,
                                          std::string_view raw_body = {}) {
  if (body.is_discarded() && !raw_body.empty() && raw_body.size() <= 1000 &&
      raw_body.find('<') == std::string_view::npos) {
    // Plain text ("bad request: temperature out of range"), not an HTML error page.
    return requestlog::Redactor{}.redact(without_masked_keys(core::utf8_prefix(raw_body, 300)));
  }
  const json& parsed = error_document(body);
  if (!parsed.is_object()) return std::nullopt;
  std::string_view detail;
  std::string listed;
  const auto nested = parsed.find("message");
  const json* holders[] = {&parsed,
                           nested != parsed.end() && nested->is_object() ? &*nested : nullptr};
  for (const json* holder : holders) {
    if (holder == nullptr || !listed.empty()) continue;
    const auto it = holder->find("detail");
    if (it != holder->end() && it->is_array()) {
      listed = validation_details(*it);
      detail = listed;
    }
  }
  const auto error = parsed.find("error");
  if (openai_message && error != parsed.end() && error->is_object()) {
    const auto message = error->find("message");
    if (message != error->end() && message->is_string()) {
      detail = message->get_ref<const std::string&>();
    }
  }
  for (const char* key : {"detail", "message", "error"}) {
    const auto it = parsed.find(key);
    if (!detail.empty() || it == parsed.end() || !it->is_string()) continue;
    detail = it->get_ref<const std::string&>();
  }
  if (detail.empty()) return std::nullopt;
  // Gateways and misconfigured servers echo the request's Authorization header in their errors:
  // the router's own backend key must not reach the client, nor a client's key the log.
  return requestlog::Redactor{}.redact(without_masked_keys(core::utf8_prefix(detail, 300)));
}

// What the client gets for a backend's 400/413/422: the backend's own body when it has OpenAI's
// error shape (its message is the useful one), otherwise an OpenAI-shaped error carrying at most
// the backend's short "detail"/"message" text, never the rest of its fields.
std::string client_error_body(int status, const std::string& body) {
  const json whole = api::parse_json_value(body);  // depth-limited: it may be dumped again
  const bool listed = &error_document(whole) != &whole;
  json parsed = error_document(whole);
  if (parsed.is_object()) {
    const auto error = parsed.find("error");
    if (error != parsed.end() && error->is_object() && error->contains("message")) {
      json& message = (*error)["message"];
      if (!message.is_string()) return listed ? parsed.dump() : body;
      std::string redacted = requestlog::Redactor{}.redact(message.get_ref<const std::string&>());
      if (redacted == message.get_ref<const std::string&>() && !listed) return body;
      message = std::move(redacted);
      return parsed.dump();
    }
  }
  std::string message = "the backend rejected the request (HTTP " + std::to_string(status) + ")";
  if (auto detail = backend_detail(parsed, /*openai_message=*/false, body)) {
    message += ": " + *detail;
  }
  return api::error_body(message, "invalid_request_error", "", "upstream_rejected");
}

// A backend's 4xx refusing what the request holds (too long for its context, against its
// content policy) with OpenAI's error shape: worth giving the client as it is, should no
// other backend answer.
std::optional<RequestRecord::Refusal> content_refusal(const Failure& failure, int status,
                                                      const std::string& body,
                                                      std::size_t attempt) {
  if (failure.kind != ErrorKind::context_window_exceeded &&
      failure.kind != ErrorKind::content_policy) {
    return std::nullopt;
  }
  if (status < 400 || status >= 500) return std::nullopt;
  const json parsed = api::parse_json_value(body);
  const auto error = parsed.is_object() ? parsed.find("error") : parsed.end();
  if (error == parsed.end() || !error->is_object() || !error->contains("message")) {
    return std::nullopt;
  }
  return RequestRecord::Refusal{attempt, status, client_error_body(status, body)};
}

// A short printable token from an OpenAI-shaped error's `field` ("rate_limit_exceeded",
// "messages"), or "".
std::string error_token(const json& body, const char* field) {
  const json& parsed = error_document(body);
  if (!parsed.is_object()) return "";
  const auto error = parsed.find("error");
  if (error == parsed.end() || !error->is_object()) return "";
  const auto value = error->find(field);
  if (value == error->end() || !value->is_string()) return "";
  const auto& text = value->get_ref<const std::string&>();
  const bool token =
      !text.empty() && text.size() <= 64 && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
               c == '[' || c == ']';
      });
  return token ? text : "";
}

// Where a backend's redirect points, printable and short: the operator fixes base_url with it.
std::string redirect_target(const upstream::ResponseHead& head) {
  const auto* location = server::find_header(head.headers, "location");
  if (location == nullptr) return "";
  std::string target(core::utf8_prefix(*location, 200));
  std::erase_if(target, [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
  return target;
}

// A 4xx other than 401 saying the key itself was refused: Gemini answers a bad key with 400
// INVALID_ARGUMENT, reason API_KEY_INVALID; some OpenAI-compatible servers use a 403.
bool refuses_the_key(int status, const json& parsed, std::string_view body) {
  if (status != 400 && status != 403) return false;
  return error_token(parsed, "code") == "invalid_api_key" ||
         body.find("API_KEY_INVALID") != std::string_view::npos;
}

bool names_a_missing_model(std::string_view code) {
  return code == "model_not_found" || code == "model_decommissioned" ||
         code == "DeploymentNotFound";
}

// An upstream's error status, read as a failure kind (which decides whether to fall back).
// `client_credentials`: the backend was sent the client's own key (pass_client_auth),
// so its 401/403 is about the client's key, which no other backend will accept either.
Failure classify_status(const upstream::ResponseHead& head, std::string_view body,
                        bool client_credentials) {
  const int status = head.status;
  Failure failure{ErrorKind::upstream_server_error, "HTTP " + std::to_string(status), status};
  // The backend's own verdict (OpenAI's x-should-retry): asking it again cannot help.
  const auto* should_retry = server::find_header(head.headers, "x-should-retry");
  failure.lasting = should_retry != nullptr && *should_retry == "false";
  const json parsed = json::parse(body, nullptr, false);
  // The backend's own words help whoever reads the error (masked keys taken out: 401s quote
  // them); so do its code and the field it blames, which SDK users test. Not a plain-text
  // body here: proxies in front of backends write internal addresses in theirs ("dial tcp
  // 10.0.3.4:8000: connection refused"). Nor a 401 about the router's own key: some backends
  // quote part of the key they refused ("Invalid key sk-abc...xyz"), which neither the client
  // nor the log may see.
  const bool routers_key_refused =
      !client_credentials && (status == 401 || refuses_the_key(status, parsed, body));
  if (auto detail = backend_detail(parsed, true); detail && !routers_key_refused) {
    failure.message += ": " + *detail;
  }
  failure.code = error_token(parsed, "code");
  failure.param = error_token(parsed, "param");
  failure.type = error_token(parsed, "type");
  if (status >= 300 && status < 400) {
    // The router does not follow redirects (the request's key would go wherever one points):
    // the backend's base_url is not where it answers.
    failure.kind = ErrorKind::upstream_bad_response;
    failure.lasting = true;
    const std::string target = redirect_target(head);
    failure.message += target.empty()
                           ? " (a redirect: check the backend's base_url)"
                           : " (redirected to '" + target + "': check the backend's base_url)";
  } else if (status == 429) {
    failure.kind = ErrorKind::upstream_rate_limited;
  } else if (client_credentials && (status == 401 || status == 403)) {
    failure.kind = ErrorKind::upstream_client_error;
  } else if (routers_key_refused && status != 401) {
    // A key refused with another status (Gemini: 400 API_KEY_INVALID) is as much the
    // router's setup as a 401: the next backend is tried, the client is not blamed.
    failure.kind = ErrorKind::upstream_bad_response;
    failure.code.clear();
    failure.message += " (the backend refused the router's credentials: check its api_key)";
  } else if (status == 400 && names_a_missing_model(failure.code)) {
    // The backend's model (retired, not deployed, not pulled) is the router's setup too.
    failure.kind = ErrorKind::upstream_bad_response;
    failure.message += " (check the backend's model)";
  } else if (status == 408) {
    failure.kind = ErrorKind::upstream_server_error;  // the backend's own timeout, not ours
  } else if (contains_any(body, {"context_length_exceeded", "maximum context length",
                                 "context window", "too many tokens", "prompt is too long",
                                 "exceed_context_size_error", "exceeds the available context size",
                                 "input token count", "input is too long"})) {
    failure.kind = ErrorKind::context_window_exceeded;
  } else if (contains_any(body,
                          {"content_policy", "content_filter", "content management policy"})) {
    failure.kind = ErrorKind::content_policy;
  } else if (status == 400 || status == 413 || status == 422) {
    failure.kind = ErrorKind::upstream_client_error;
  } else if (status >= 400 && status < 500) {
    // 401/403/404 and the like: this backend is misconfigured; another one may still answer.
    failure.kind = ErrorKind::upstream_bad_response;
    if (status == 401) {
      failure.code.clear();  // "invalid_api_key" is about the router's key, not the client's
      failure.message += " (the backend refused the router's credentials: check its api_key)";
    } else if (status == 403) {
      failure.message +=
          " (the backend refused access: check its api_key and what its account "
          "may use)";
    } else if (status == 404) {
      failure.message += " (check the backend's base_url and model)";
    }
  }
  if (traits(failure.kind).status >= 500) {
    // The router's failure, not the client's request: a backend's "invalid_request_error" or
    // the field it blamed would contradict the status (its code still says what went wrong).
    failure.type.clear();
    failure.param.clear();
  }
  return failure;
}

// Failures worth another try on the same backend (a moment later), rather than moving on. A
// connection that closed after the backend had begun a 200 answer is not: the backend did the
// (billed) work, and asking again would pay for it again.
bool retry_same_backend(const Failure& failure, const config::RetrySettings& retry) {
  if (failure.lasting) return false;
  switch (failure.kind) {
    case ErrorKind::upstream_closed:
      return failure.upstream_status == 0;
    case ErrorKind::connect_failed:
      return true;
    case ErrorKind::upstream_rate_limited:
      // A 429 for an exhausted quota (billing) does not clear in a moment.
      if (failure.code == "insufficient_quota") return false;
      [[fallthrough]];
    case ErrorKind::upstream_server_error:
    case ErrorKind::upstream_bad_response:
      // An error status the backend answered with: the backend's retry.on_status decides.
      return failure.upstream_status >= 400 &&
             std::find(retry.on_status.begin(), retry.on_status.end(), failure.upstream_status) !=
                 retry.on_status.end();
    default:
      return false;
  }
}

// Failures that say something about the backend's health (not about the request).
bool counts_against_backend(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::context_window_exceeded:
    case ErrorKind::content_policy:
    case ErrorKind::low_confidence:
    case ErrorKind::upstream_client_error:
    case ErrorKind::cancelled:
      return false;
    default:
      return traits(kind).source == ErrorSource::upstream;
  }
}

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

// Gives a backend's concurrency slot back, however the attempts on it ended.
struct SlotRelease {
  health::CapacityGate& gate;
  ~SlotRelease() { gate.release(); }
};

// A count of whole units in a Retry-After value, at most a day's worth: a huge or overflowing
// count ("99999999999999999999") is a long wait, not none.
std::chrono::milliseconds capped_delay(std::string_view digits, std::chrono::milliseconds unit) {
  constexpr std::chrono::milliseconds kLongest = std::chrono::hours(24);
  std::uint64_t count = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
  if (end == digits.data()) return std::chrono::milliseconds(0);
  if (ec == std::errc::result_out_of_range || count >= static_cast<std::uint64_t>(kLongest / unit))
    return kLongest;
  return unit * static_cast<std::int64_t>(count);
}

// Retry-After is delay-seconds or an HTTP-date (RFC 9110 section 10.2.3); a date in the past,
// or a value neither form reads, is no wait.
std::chrono::milliseconds retry_after_value(const std::string& value) {
  using std::chrono::milliseconds;
  if (!value.empty() && value[0] >= '0' && value[0] <= '9') {
    return capped_delay(value, std::chrono::seconds(1));
  }
  std::tm date{};
  if (strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S", &date) == nullptr) return milliseconds(0);
  const auto when = std::chrono::system_clock::from_time_t(timegm(&date));
  const auto wait =
      std::chrono::duration_cast<milliseconds>(when - std::chrono::system_clock::now());
  return std::max(wait, milliseconds(0));
}

std::chrono::milliseconds retry_after_of(const upstream::ResponseHead& head) {
  if (const auto* ms = server::find_header(head.headers, "retry-after-ms")) {
    return capped_delay(*ms, std::chrono::milliseconds(1));
  }
  if (const auto* value = server::find_header(head.headers, "retry-after")) {
    return retry_after_value(*value);
  }
  return std::chrono::milliseconds(0);
}

// Fills in usage the backend did not report, counted with the backend's tokenizer.
// Tokens of the request's text (not its JSON) and of an answer's, for a backend that reports
// no usage.
api::Usage counted_usage(const tokenizer::Encoder* encoder, const api::ParsedRequest& parsed,
                         std::string_view answer_text) {
  api::Usage usage;
  // The text counted; tool definitions and schemas estimated by their bytes; images and audio
  // at the analyzer's flat figures.
  const auto& summary = parsed.summary;
  usage.prompt_tokens =
      static_cast<long long>(count_tokens(encoder, api::prompt_text(parsed))) +
      api::chat_format_tokens(parsed) +
      static_cast<long long>(
          (summary.tools_chars + summary.functions_chars + summary.format_chars) / 4) +
      summary.media_tokens();
  usage.completion_tokens = static_cast<long long>(count_tokens(encoder, answer_text));
  return usage;
}

// What an answer's tokens were: as the backend reported them, else counted.
api::Usage answer_usage(const tokenizer::Encoder* encoder, const api::ParsedRequest& parsed,
                        std::string_view body) {
  if (auto usage = api::find_usage(body)) return *usage;
  return counted_usage(encoder, parsed, api::answer_text(body));
}

void count_usage(const tokenizer::Encoder* encoder, const api::ParsedRequest& parsed,
                 std::string_view answer, RequestRecord& record) {
  record.usage = counted_usage(encoder, parsed, answer);
  record.usage_estimated = true;
}

// `embeddings`: OpenAI's embeddings usage has no completion_tokens.
std::string usage_object(const api::Usage& usage, bool embeddings = false) {
  if (embeddings) {
    return fmt::format(R"({{"prompt_tokens":{},"total_tokens":{}}})", usage.prompt_tokens,
                       usage.prompt_tokens);
  }
  return fmt::format(R"({{"prompt_tokens":{},"completion_tokens":{},"total_tokens":{}}})",
                     usage.prompt_tokens, usage.completion_tokens,
                     usage.prompt_tokens + usage.completion_tokens);
}

// A JSON answer that reports no usage (none, or `"usage": null`) gets the counted one (as
// LiteLLM does), so a client that bills by it still can; the access log marks it
// usage=estimated.
void add_usage(std::string& body, const api::Usage& usage, bool embeddings) {
  const std::size_t end = body.find_last_not_of(" \t\r\n");
  if (end == std::string::npos || end == 0 || body[end] != '}') return;
  if (const std::size_t at = body.find("\"usage\""); at != std::string::npos) {
    std::size_t value = body.find_first_not_of(" \t\r\n", at + 7);
    if (value == std::string::npos || body[value] != ':') return;
    value = body.find_first_not_of(" \t\r\n", value + 1);
    if (value != std::string::npos && body.compare(value, 4, "null") == 0) {
      body.replace(value, 4, usage_object(usage, embeddings));
    }
    return;
  }
  const bool empty = body[body.find_last_not_of(" \t\r\n", end - 1)] == '{';
  body.insert(end, std::string(empty ? "" : ",") + "\"usage\":" + usage_object(usage, embeddings));
}

// A stream that ended without a usage chunk: counted from its collected text, or about one
// token per content event (as OpenAI-style servers send) when the text was not collected.
// Past the kept text's cap, the count of the text kept grows with the events that came after it.
void count_stream_usage(const tokenizer::Encoder* encoder, const api::ParsedRequest& parsed,
                        RequestRecord& record) {
  count_usage(encoder, parsed, record.stream_text.value_or(""), record);
  if (!record.stream_text) {
    record.usage.completion_tokens = record.content_events;
  } else if (record.kept_text_events > 0 && record.content_events > record.kept_text_events) {
    const double scale =
        static_cast<double>(record.content_events) / static_cast<double>(record.kept_text_events);
    record.usage.completion_tokens =
        std::llround(static_cast<double>(record.usage.completion_tokens) * scale);
  }
}

// The usage chunk a backend did not send, with the id, created and model of its stream's first
// event (`first_data`).
std::string usage_chunk(std::string_view first_data, const api::Usage& usage) {
  const json first = api::parse_json_value(first_data);
  json chunk = json::object();
  for (const char* key : {"id", "object", "created", "model"}) {
    if (first.is_object() && first.contains(key)) chunk[key] = first[key];
  }
  chunk["choices"] = json::array();
  chunk["usage"] = {{"prompt_tokens", usage.prompt_tokens},
                    {"completion_tokens", usage.completion_tokens},
                    {"total_tokens", usage.prompt_tokens + usage.completion_tokens}};
  return api::SseEvent{"", chunk.dump(), ""}.serialize();
}

// Notes a stream event's generated text in case the stream ends without a usage chunk.
void keep_for_usage(std::string_view data, RequestRecord& record) {
  ++record.content_events;
  // 64 KiB (~16k tokens) count most answers exactly and the rest by their events; a stalled
  // stream's client held 1 MiB of kept text each at 1 MiB.
  constexpr std::size_t kMaxKeptText = 64 * 1024;
  if (record.stream_text && record.stream_text->size() < kMaxKeptText) {
    api::append_chunk_text(data, *record.stream_text);
    record.kept_text_events = record.content_events;
  }
}

// A stream whose usage the router asked for and the client did not: OpenAI then writes
// "usage": null into every chunk, which the client would not have seen.
void drop_null_usage(std::string& data) {
  for (const std::string_view member :
       {R"(,"usage":null)", R"("usage":null,)", R"(, "usage": null)", R"("usage": null, )"}) {
    if (const auto at = data.find(member); at != std::string::npos) {
      data.erase(at, member.size());
      return;
    }
  }
}

// What a client's SDK reads from the backend's answer: rate limits, retry hints, OpenAI's
// processing time and API version. (Not openai-organization or openai-project: they name the
// router operator's account.)
bool relayed_upstream_header(std::string_view name) {
  return name == "retry-after" || name == "retry-after-ms" || name.starts_with("x-ratelimit-") ||
         name == "openai-processing-ms" || name == "openai-version" || name == "x-should-retry";
}

// Counting is wired in only when the client asked for usage (no std::function for the others).
StreamUsage stream_usage(const api::ParsedRequest& parsed, const tokenizer::Encoder* encoder,
                         RequestRecord& record) {
  StreamUsage usage;
  usage.client_wants = parsed.summary.include_usage;
  usage.choices = parsed.summary.choices;
  if (usage.client_wants) {
    usage.count_missing = [&parsed, encoder, &record] {
      count_stream_usage(encoder, parsed, record);
    };
  }
  return usage;
}

// pass_client_auth forwards the client's key, in the header it came in.
bool sends_client_credentials(const config::Backend& backend, const HttpRequest& request) {
  return backend.pass_client_auth &&
         std::any_of(std::begin(server::kApiKeyHeaders), std::end(server::kApiKeyHeaders),
                     [&](std::string_view name) { return request.header(name) != nullptr; });
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

bool has_rate_limits(const std::optional<ClientEntry>& client) {
  return client && (client->rpm > 0 || client->tpm > 0);
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

// A stream event that carries what the client waits for (text, a tool call, the end), as
// opposed to a role-only opening chunk: the commit point of a stream.
// Why a stream cannot commit on this read: a broken read, an early end, or an error event.
// An event whose data is neither "[DONE]" nor a JSON object: no SDK can read it.
// Invalid UTF-8 alone does not make it one: some servers emit a stray byte where a token splits
// a character; those bytes read as U+FFFD (as Python clients decode them).
std::optional<Failure> garbled(api::SseEvent& event) {
  if (event.data.empty() || event.is_done() || api::is_json_object(event.data)) {
    return std::nullopt;
  }
  if (std::string repaired = api::with_invalid_utf8_replaced(event.data);
      repaired != event.data && api::is_json_object(repaired)) {
    event.data = std::move(repaired);
    return std::nullopt;
  }
  return Failure{ErrorKind::upstream_bad_response, "stream event that is not JSON"};
}

Failure shutting_down_failure() {
  return Failure{ErrorKind::shutting_down,
                 "the router is shutting down and stopped waiting for the backend "
                 "(drain_timeout ran out, or a second stop signal came)"};
}

Failure withheld_by_filter_failure() {
  return Failure{ErrorKind::content_policy, "the backend's content filter withheld the answer"};
}

// A request still waiting for a backend slot when the router began to stop: never sent, so
// another replica can take it at once.
Failure queued_at_shutdown_failure() {
  return Failure{ErrorKind::shutting_down,
                 "the router is shutting down: the request was waiting for a backend slot and "
                 "was not sent to any backend (retry it)"};
}

// "[DONE]" or a choice with a finish_reason (not null): what a complete stream ends with.
bool ends_a_stream(const api::SseEvent& event) {
  if (event.is_done()) return true;
  constexpr std::string_view kKey = "\"finish_reason\"";
  const std::string_view data = event.data;
  for (auto at = data.find(kKey); at != std::string_view::npos; at = data.find(kKey, at + 1)) {
    const std::size_t value = data.find_first_not_of(" \t\r\n:", at + kKey.size());
    if (value != std::string_view::npos && data[value] != 'n') return true;  // not null
  }
  return false;
}

// An error event: {"error": ...}, {"object": "error", ...} or an SSE `event: error` line.
bool error_event(const api::SseEvent& event) {
  return event.event == "error" || api::is_error_event(event.data);
}

// A backend's error event as the client's SDK raises it: OpenAI's `data: {"error": {...}}`. One
// already in that shape is kept (its type and code are the backend's); vLLM's
// {"object": "error"} and an `event: error` line are rewritten, with the backend's own words.
api::SseEvent openai_error_event(const api::SseEvent& event) {
  json parsed = api::parse_json_value(event.data);
  if (event.event.empty() && parsed.is_object()) {
    const auto error = parsed.find("error");
    if (error != parsed.end() && error->is_object() && error->contains("message") &&
        (*error)["message"].is_string()) {
      // With all four fields of OpenAI's error, as the router's own error events have (an SDK
      // reads `code` and `type`), and no key quoted in the message.
      json& message = (*error)["message"];
      message = requestlog::Redactor{}.redact(message.get_ref<const std::string&>());
      if (!error->contains("type")) (*error)["type"] = "server_error";
      if (!error->contains("param")) (*error)["param"] = nullptr;
      if (!error->contains("code")) (*error)["code"] = nullptr;
      return api::SseEvent{"", parsed.dump(), ""};
    }
  }
  std::string message = "upstream stream broke: the backend sent an error event";
  if (auto detail = backend_detail(parsed, true)) message += ": " + *detail;
  return api::SseEvent{"", api::error_body(Failure{ErrorKind::upstream_server_error, message}), ""};
}

std::optional<Failure> pre_commit_failure(upstream::EventResult& next) {
  if (next.failure) return std::move(next.failure);
  if (!next.event) return Failure{ErrorKind::upstream_bad_response, "stream ended before content"};
  if (next.event->is_done()) {
    return Failure{ErrorKind::upstream_bad_response, "stream ended ([DONE]) before content"};
  }
  if (auto failure = garbled(*next.event)) return failure;
  if (error_event(*next.event)) {
    std::string message = "stream began with an error";
    if (auto detail = backend_detail(api::parse_json_value(next.event->data), true)) {
      message += ": " + *detail;  // the backend's own words, as for an answer's error status
    }
    return Failure{ErrorKind::upstream_server_error, std::move(message)};
  }
  return std::nullopt;
}

// What `usage` from `backend` cost (0 for a backend no longer configured).
double spend_usd(const config::Config& config, const std::string& backend,
                 const api::Usage& usage) {
  const auto* b = config.find_backend(backend);
  return b ? metrics::cost_usd(usage.prompt_tokens, usage.completion_tokens,
                               usage.cached_prompt_tokens, b->cost)
           : 0.0;
}

// A backend skipped for its open circuit, its full slots or its spent rpm/tpm: it was sent
// nothing.
bool skipped(const Attempt& attempt) {
  return attempt.failure && (attempt.failure->kind == ErrorKind::circuit_open ||
                             attempt.failure->kind == ErrorKind::overloaded ||
                             attempt.failure->kind == ErrorKind::at_rate_limit);
}

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

void note_reopening(std::optional<std::chrono::milliseconds>& soonest,
                    const health::CircuitBreaker& breaker) {
  const auto wait = until_reopening(breaker);
  soonest = std::min(soonest.value_or(wait), wait);
}

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

// A failure after the backend's head arrived carries the status it had begun answering with
// (a 200 cut short): logged, and not retried on the same backend.
void note_answered(Failure& failure, const upstream::Exchange& exchange) {
  if (failure.upstream_status == 0) failure.upstream_status = exchange.head().status;
}

// A stream whose first kMaxHeldBytes of events carry no content (endless role-only or
// keep-alive chunks) is broken: nothing was sent yet, so the next candidate answers instead.
std::optional<Failure> contentless_stream(std::size_t held_bytes,
                                          const upstream::Exchange& exchange) {
  if (held_bytes <= kMaxHeldBytes) return std::nullopt;
  Failure failure{ErrorKind::upstream_bad_response,
                  "the stream's first MiB of events carried no content"};
  note_answered(failure, exchange);
  return failure;
}

bool carries_content(const api::SseEvent& event) {
  if (event.is_done()) return true;
  const json data = json::parse(event.data, nullptr, false);
  if (!data.is_object()) return true;
  // No choice, no answer yet: Azure's first chunk ({"choices": [], "prompt_filter_results":
  // ...}), a usage or keep-alive object. Held, and relayed with the first content.
  auto choices = data.find("choices");
  if (choices == data.end() || !choices->is_array() || choices->empty()) return false;
  const json& choice = (*choices)[0];
  if (choice.contains("finish_reason") && !choice["finish_reason"].is_null()) return true;
  if (auto text = choice.find("text"); text != choice.end() && text->is_string()) {
    return !text->get_ref<const std::string&>().empty();
  }
  auto delta = choice.find("delta");
  if (delta == choice.end() || !delta->is_object()) return true;
  // Anything the delta carries besides its role: text, reasoning (`reasoning_content`, and
  // `reasoning` from OpenRouter, Ollama, Groq, vLLM), tool calls, audio. Empty strings, nulls
  // and empty containers are none: OpenAI's opening chunk is {"role": "assistant", "content": ""}.
  for (const auto& [key, value] : delta->items()) {
    if (key == "role" || value.is_null()) continue;
    if (value.is_string() ? !value.get_ref<const std::string&>().empty() : !value.empty()) {
      return true;
    }
  }
  return false;
}

// Exponential backoff with full jitter.
std::chrono::milliseconds backoff_for(const config::RetrySettings& retry, int retry_number) {
  auto ceiling = retry.backoff;
  for (int i = 0; i < retry_number && ceiling < retry.max_backoff; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, retry.max_backoff);
  std::uniform_int_distribution<long long> jitter(ceiling.count() / 2, ceiling.count());
  return std::chrono::milliseconds(jitter(random_engine()));
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
};

// A 2xx answer the client cannot use (an HTML page at base_url, a body cut short, an error
// object sent with status 200, no choices) is the backend's failure: the next backend is tried
// instead of relaying it as a success, and the breaker counts it.
// An error object sent with a 2xx (OpenRouter's way for a provider's rate limit or an empty
// balance) keeps the backend's words, and its code says what kind of failure it is: a 429 is
// a rate limit (its backend is left alone for a moment), a 402 or an exhausted quota lasts.
std::optional<Failure> unusable_answer(std::string_view body, api::Endpoint endpoint,
                                       std::size_t* usage_at = nullptr) {
  auto problem = api::answer_problem(body, endpoint, usage_at);
  if (!problem) return std::nullopt;
  Failure failure{ErrorKind::upstream_bad_response, std::move(*problem)};
  const json parsed = api::parse_json_value(body);
  const auto error = parsed.is_object() ? parsed.find("error") : parsed.end();
  if (error == parsed.end() || !error->is_object()) return failure;
  if (auto detail = backend_detail(parsed, true)) failure.message += ": " + *detail;
  const auto code = error->find("code");
  const auto code_is = [&](int number, std::string_view word) {
    return code != error->end() &&
           ((code->is_number_integer() && code->get<long long>() == number) ||
            (code->is_string() && code->get_ref<const std::string&>() == word));
  };
  if (code_is(429, "rate_limit_exceeded")) failure.kind = ErrorKind::upstream_rate_limited;
  failure.lasting = code_is(402, "insufficient_quota");
  failure.code = error_token(parsed, "code");
  return failure;
}

// unusable_answer, but an answer whose only fault is invalid UTF-8 (a stray byte where a token
// split a character) is used with those bytes read as U+FFFD, as Python clients decode them.
std::optional<Failure> unusable_unless_repaired(std::string& body, api::Endpoint endpoint,
                                                std::size_t* usage_at = nullptr) {
  auto failure = unusable_answer(body, endpoint, usage_at);
  if (!failure) return failure;
  std::string repaired = api::with_invalid_utf8_replaced(body);
  if (repaired == body || unusable_answer(repaired, endpoint, usage_at)) return failure;
  body = std::move(repaired);
  return std::nullopt;
}

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

// A backend's 400/422 naming the stream_options sent with a stream.
bool refuses_stream_options(int status, std::string_view body) {
  return (status == 400 || status == 422) && body.find("stream_options") != std::string_view::npos;
}

// `without_options`: the same request without stream_options, sent when the backend refuses
// them (the answer then says so in refused_stream_options).
asio::awaitable<Primed> prime(std::shared_ptr<upstream::Provider> provider,
                              upstream::UpstreamRequest request, api::Endpoint endpoint,
                              upstream::Deadlines deadlines, bool want_stream,
                              std::size_t max_answer_bytes, config::ThroughputGuard guard,
                              bool client_credentials,
                              std::optional<upstream::UpstreamRequest> without_options,
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
      Primed again = co_await prime(std::move(provider), std::move(*without_options), endpoint,
                                    deadlines, want_stream, max_answer_bytes, guard,
                                    client_credentials, std::nullopt, std::move(response_headers));
      again.refused_stream_options = true;
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

Failure no_candidate_failure(const selector::RoutePlan& plan) {
  using selector::ExclusionCause;
  bool too_long = !plan.excluded.empty();
  bool unsupported = !plan.excluded.empty();
  for (const auto& e : plan.excluded) {
    too_long = too_long && e.cause == ExclusionCause::context_window;
    unsupported = unsupported && selector::about_the_request(e.cause);
  }
  const std::string reasons = excluded_reasons(plan);
  if (too_long) {
    // The reasons say whether the prompt or the room asked for the answer (max_tokens) is at
    // fault.
    return Failure{ErrorKind::context_window_exceeded,
                   "the prompt and the answer room asked for fit no candidate's context window (" +
                       reasons + ")",
                   0, "messages"};
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

bool committed(const Primed& p) {
  return !p.failure || p.client_error;
}

}  // namespace

Headers RouterHandler::decision_headers(const RequestRecord& record) const {
  Headers headers;
  headers.reserve(8);  // these seven and the content type the caller adds
  headers.push_back({"x-request-id", record.id});
  if (!record.route.empty()) headers.push_back({"x-llm-router-route", record.route});
  if (!record.rule.empty()) headers.push_back({"x-llm-router-rule", record.rule});
  if (!record.strategy.empty()) headers.push_back({"x-llm-router-strategy", record.strategy});
  if (!record.category.empty()) headers.push_back({"x-llm-router-category", record.category});
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

upstream::UpstreamRequest RouterHandler::upstream_request(const HttpRequest& request,
                                                          const api::ParsedRequest& parsed,
                                                          api::Endpoint endpoint,
                                                          const config::Backend& backend,
                                                          const RequestRecord& record,
                                                          api::StreamOptions stream_options) const {
  upstream::UpstreamRequest out;
  out.path = std::string(api::upstream_path(endpoint));
  // (Only a wildcard backend's model is made per request: the others' is used as configured.)
  const std::string matched_model =
      backend.wildcard() ? backend.upstream_model(parsed.model) : std::string();
  out.body =
      api::body_for_backend(parsed, backend.wildcard() ? matched_model : backend.model,
                            stream_options, {&backend.default_params, &backend.override_params});
  out.stream = parsed.stream;
  out.headers.push_back({"x-request-id", record.id});
  // W3C trace context travels whole: a trace's vendor state and baggage go with its parent.
  for (const std::string_view name : {"traceparent", "tracestate", "baggage"}) {
    if (const auto* value = request.header(name))
      out.headers.push_back({std::string(name), *value});
  }
  if (!backend.forward_headers.empty()) {
    for (const auto& header : request.headers) {
      if (backend.forwards_header(header.name)) out.headers.push_back(header);
    }
  }
  if (backend.pass_client_auth) {
    for (const std::string_view name : server::kApiKeyHeaders) {
      if (const auto* value = request.header(name))
        out.headers.push_back({std::string(name), *value});
    }
  }
  return out;
}

namespace {

analyzer::EndpointKind analyzer_endpoint(api::Endpoint endpoint) {
  return endpoint == api::Endpoint::chat_completions ? analyzer::EndpointKind::chat
         : endpoint == api::Endpoint::completions    ? analyzer::EndpointKind::completions
                                                     : analyzer::EndpointKind::embeddings;
}

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
    // The analyzer reads the messages and tools; a response_format schema is prompt too.
    facts.estimated_tokens += static_cast<std::int64_t>(parsed.summary.format_chars / 4);
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

namespace {

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

}  // namespace

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

asio::awaitable<void> RouterHandler::send_plan_failure(ResponseWriter& writer,
                                                       const selector::RoutePlan& plan,
                                                       const Snapshot& snapshot,
                                                       RequestRecord& record, CapacityWait waited) {
  Failure failure{ErrorKind::internal, plan.message};
  switch (plan.status) {
    case selector::PlanStatus::unknown_model:
      failure = Failure{ErrorKind::model_not_found,
                        "The model " + quote_excerpt(plan.route) +
                            " does not exist: name a route or a backend listed by GET /v1/models",
                        0, "model"};
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
      failure = no_candidate_failure(plan);
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
      upstream_request(request, parsed, endpoint, backend, record, stream_options), deadlines);
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
    std::optional<upstream::UpstreamRequest> without_options;
    if (sent_stream_options(parsed, stream_options)) {
      without_options = upstream_request(request, parsed, endpoint, backend, record,
                                         api::StreamOptions::left_out);
    }
    asio::co_spawn(
        io_,
        prime(scope.providers->by_index[backend_index],
              upstream_request(request, parsed, endpoint, backend, record, stream_options),
              endpoint, deadlines, parsed.stream, scope.snapshot->config->server.max_response_bytes,
              backend.throughput, sends_client_credentials(backend, request),
              std::move(without_options), backend.response_headers),
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

namespace {

// The client key's tpm pays what the request's answers used beyond its reservation; a request
// the router refused before any backend was sent it (overloaded, every backend at its limits,
// an unknown model) gives its rpm back too: the client pays for answers, not for the gateway's
// own limits.
void settle_client_budgets(const RequestRecord& record) {
  if (!record.client_charged) return;
  const api::Usage paid = record.paid_usage();
  const RateBudgets budgets = budgets_of(*record.client);
  settle_tokens(budgets, record.client_reserved, paid.prompt_tokens + paid.completion_tokens);
  if (std::all_of(record.attempts.begin(), record.attempts.end(), skipped)) {
    refund_request(budgets);
  }
}

}  // namespace

void RouterHandler::finish_request(const RequestRecord& record) {
  settle_client_budgets(record);
  if (!record.sticky_key.empty() && record.status == 200 && !record.backend.empty()) {
    state_->sticky_backends().remember(record.route, record.sticky_key, record.backend,
                                       StickyBackends::Clock::now() + record.sticky_ttl);
  }
  const double latency = millis_since(record.start, std::chrono::steady_clock::now());
  log_request(record, latency);
  record_metrics(record, latency);
  write_request_log(record, latency);
}

void RouterHandler::write_request_log(const RequestRecord& record, double latency_ms) {
  auto* log = state_->request_log();
  if (log == nullptr) return;
  requestlog::RequestLogEntry entry;
  entry.id = record.id;
  entry.client_key_id = record.client_key_id;
  entry.time = record.arrived;
  entry.route = record.route;
  entry.rule = record.rule;
  entry.strategy = record.strategy;
  entry.category = record.category;
  entry.complexity = record.complexity;
  entry.candidates = record.candidates;
  entry.excluded = record.excluded;
  const int answered = record.answered_status != 0 ? record.answered_status : record.status;
  for (const auto& a : record.attempts) {
    entry.attempts.push_back({a.backend, a.failure ? a.failure->upstream_status : answered,
                              a.failure ? std::string(name(a.failure->kind)) : "ok", a.latency_ms});
  }
  entry.backend = record.backend;
  entry.upstream_request_id = record.upstream_request_id;
  const api::Usage paid = record.paid_usage();  // answers set aside (cascade) were paid too
  entry.input_tokens = paid.prompt_tokens;
  entry.output_tokens = paid.completion_tokens;
  const config::Config& config = record.config_or(*snapshot_->config);
  entry.cost_usd = spend_usd(config, record.backend, record.usage);
  for (const auto& spent : record.discarded) {
    entry.cost_usd += spend_usd(config, spent.backend, spent.usage);
  }
  entry.status = record.status;
  entry.latency_ms = latency_ms;
  if (record.first_byte.time_since_epoch().count() != 0) {
    entry.ttft_ms = millis_since(record.start, record.first_byte);
  }
  entry.stream = record.stream;
  entry.usage_estimated = record.usage_estimated;
  entry.user = record.user;
  entry.model = record.requested_model;
  entry.prompt = record.prompt;
  log->submit(std::move(entry));
}

RouterHandler::PairSeries& RouterHandler::pair_series(std::string_view route,
                                                      std::string_view backend) {
  pair_key_.assign(route);
  pair_key_.push_back('\xff');  // not valid UTF-8, so it cannot appear inside a name
  pair_key_.append(backend);
  if (auto it = pair_series_.find(pair_key_); it != pair_series_.end()) return it->second;
  return pair_series_.emplace(pair_key_, PairSeries{}).first->second;
}

template <typename Metric>
Metric& RouterHandler::series(Metric*& slot, metrics::Family<Metric>& family,
                              std::string_view route, std::string_view backend) {
  if (slot == nullptr) slot = &family.with({route, backend});
  return *slot;
}

void RouterHandler::record_metrics(const RequestRecord& record, double latency_ms) {
  // (std::string_view on both sides: a ternary of "-" and a std::string makes a temporary.)
  const std::string_view route = record.route.empty() ? std::string_view("-") : record.route;
  const std::string_view backend = record.backend.empty() ? std::string_view("-") : record.backend;
  const std::string status = std::to_string(record.status);
  requests_metric_.with({route, backend, status}).inc();
  const auto& families = state_->metrics();
  PairSeries& pair = pair_series(route, backend);
  series(pair.duration, families.request_duration, route, backend).observe(latency_ms / 1000);
  const bool answered = record.first_byte.time_since_epoch().count() != 0;
  const double ttft_ms = answered ? millis_since(record.start, record.first_byte) : 0;
  if (answered)
    series(pair.ttft, families.time_to_first_token, route, backend).observe(ttft_ms / 1000);
  series(pair.input_tokens, families.input_tokens, route, backend)
      .add(static_cast<double>(record.usage.prompt_tokens));
  series(pair.output_tokens, families.output_tokens, route, backend)
      .add(static_cast<double>(record.usage.completion_tokens));
  double cost = 0;
  const config::Config& config = record.config_or(*snapshot_->config);
  if (const auto* b = config.find_backend(record.backend)) {
    cost = metrics::cost_usd(record.usage.prompt_tokens, record.usage.completion_tokens,
                             record.usage.cached_prompt_tokens, b->cost);
    series(pair.cost, families.cost, route, backend).add(cost);
  }
  std::vector<metrics::RequestSummary::Spend> set_aside;
  for (const auto& spent : record.discarded) {
    // Generated and billed, then set aside (cascade): the spend is the request's too.
    const std::string_view by = spent.backend;
    PairSeries& spender = pair_series(route, by);
    series(spender.input_tokens, families.input_tokens, route, by)
        .add(static_cast<double>(spent.usage.prompt_tokens));
    series(spender.output_tokens, families.output_tokens, route, by)
        .add(static_cast<double>(spent.usage.completion_tokens));
    const double wasted = spend_usd(config, spent.backend, spent.usage);
    series(spender.cost, families.cost, route, by).add(wasted);
    cost += wasted;
    set_aside.push_back(
        {spent.backend, spent.usage.prompt_tokens, spent.usage.completion_tokens, wasted});
  }
  if (!record.category.empty()) categories_metric_.with({record.category}).inc();
  if (record.client) {
    const std::string_view key = record.client->name;
    const api::Usage paid = record.paid_usage();
    client_requests_metric_.with({key, status}).inc();
    client_tokens_metric_.with({key, "input"}).add(static_cast<double>(paid.prompt_tokens));
    client_tokens_metric_.with({key, "output"}).add(static_cast<double>(paid.completion_tokens));
    client_cost_metric_.with({key}).add(cost);
  }
  metrics::RequestSummary summary;
  summary.id = record.id;
  // With client keys configured, a key that is none of them counts in one entry: refused keys
  // (a different one on every 401) would crowd the configured keys out of the stats.
  summary.client_key_id =
      record.client || snapshot_->clients.empty() ? record.client_key_id : "(unknown key)";
  summary.route = record.route;
  summary.rule = record.rule;
  summary.backend = record.backend;
  summary.category = record.category;
  summary.status = record.status;
  summary.client_limited = record.client_limited;
  summary.latency_seconds = latency_ms / 1000;
  if (answered) summary.ttft_seconds = ttft_ms / 1000;
  const api::Usage paid = record.paid_usage();
  summary.input_tokens = paid.prompt_tokens;
  summary.output_tokens = paid.completion_tokens;
  summary.cost_usd = cost;
  summary.set_aside = std::move(set_aside);
  summary.attempts = 0;
  const Attempt* previous = nullptr;
  for (const auto& a : record.attempts) {
    // A skipped backend was sent nothing: no attempt (an alert on failed attempts must not
    // rise while the breaker protects a backend). The decision header and the request log
    // still list it, and moving past it is a fallback.
    if (skipped(a)) continue;
    ++summary.attempts;
    const std::string_view outcome = a.failure ? name(a.failure->kind) : "ok";
    attempts_metric_.with({a.backend, outcome}).inc();
    // Failed as the backend's failure: not a lost hedge, an attempt the client's leaving
    // cancelled, nor the request's own fault (a relayed 400, a prompt over the context window).
    if (a.failure && counts_against_backend(a.failure->kind)) {
      summary.failed_backends.push_back(a.backend);
    }
    // A retry counts under the failure that caused it, whether or not it then succeeded.
    if (previous && previous->failure && previous->backend == a.backend) {
      retries_metric_.with({a.backend, name(previous->failure->kind)}).inc();
    }
    previous = &a;
  }
  for (std::size_t i = 1; i < record.attempts.size(); ++i) {
    const auto& from = record.attempts[i - 1];
    // A hedge that lost the race did not fail: nothing fell back.
    if (from.failure && from.failure->kind != ErrorKind::hedge_lost &&
        from.backend != record.attempts[i].backend) {
      fallbacks_metric_.with({route, from.backend, name(from.failure->kind)}).inc();
      summary.fell_back = true;
    }
  }
  state_->stats().shard(thread_index_).record(summary);
}

namespace {

// The access line is built with plain copies into the stack: one line per request, where a
// formatting library's argument handling and buffer growth showed in profiles.
class AccessLine {
 public:
  AccessLine& text(std::string_view value) {
    if (!spilled_ && value.size() <= sizeof bytes_ - size_) {
      std::memcpy(bytes_ + size_, value.data(), value.size());
      size_ += value.size();
      return *this;
    }
    if (!spilled_) spill_.assign(bytes_, size_);
    spilled_ = true;
    spill_.append(value);
    return *this;
  }
  AccessLine& text_or_dash(std::string_view value) { return text(value.empty() ? "-" : value); }
  AccessLine& number(long long value) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    return text({digits, static_cast<std::size_t>(end - digits)});
  }
  // Milliseconds with one decimal, as "12.3".
  AccessLine& millis(double value) {
    const auto tenths = static_cast<long long>(std::llround(std::max(value, 0.0) * 10));
    number(tenths / 10);
    const char fraction[] = {'.', static_cast<char>('0' + tenths % 10)};
    return text({fraction, sizeof fraction});
  }
  std::string_view view() const {
    return spilled_ ? std::string_view(spill_) : std::string_view(bytes_, size_);
  }

 private:
  char bytes_[768];  // an access line is ~300 bytes: longer ones spill to the heap
  std::size_t size_ = 0;
  bool spilled_ = false;
  std::string spill_;
};

}  // namespace

void RouterHandler::log_request(const RequestRecord& record, double latency_ms) const {
  if (!log_->should_log(spdlog::level::info)) return;
  AccessLine line;
  line.text("request_id=").text(record.id).text(" route=").text_or_dash(record.route);
  line.text(" rule=").text_or_dash(record.rule).text(" strategy=").text_or_dash(record.strategy);
  line.text(" backend=").text_or_dash(record.backend).text(" status=").number(record.status);
  // Quoted: each attempt reads name=outcome, and a logfmt value holds no bare `=`.
  line.text(" stream=").text(record.stream ? "true" : "false").text(" attempts=\"[");
  for (std::size_t i = 0; i < record.attempts.size(); ++i) {
    if (i > 0) line.text(",");
    line.text(describe(record.attempts[i]));
  }
  line.text("]\" latency_ms=").millis(latency_ms).text(" ttfb_ms=");
  if (record.first_byte.time_since_epoch().count() == 0) {
    line.text("-");  // nothing was sent
  } else {
    line.millis(millis_since(record.start, record.first_byte));
  }
  // Answers set aside (cascade) were paid for too, as the request log and metrics count them.
  const api::Usage paid = record.paid_usage();
  line.text(" prompt_tokens=").number(paid.prompt_tokens);
  line.text(" completion_tokens=").number(paid.completion_tokens);
  line.text(" key=").text_or_dash(record.client_key_id);
  if (record.panic) line.text(" panic=true");
  if (record.usage_estimated) line.text(" usage=estimated");
  if (record.client_too_slow) line.text(" client=too_slow");
  log_->info(line.view());
}

}  // namespace llm_router::proxy
