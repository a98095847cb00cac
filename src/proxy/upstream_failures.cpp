// A backend's error answer read as a Failure (its kind, the backend's own words, whether the
// request may go to another backend), and when to ask the same backend again.
#include <nlohmann/json.hpp>

#include <charconv>
#include <ctime>
#include <random>

#include "llm_router/api/answer_text.hpp"
#include "llm_router/api/errors.hpp"
#include "llm_router/api/json_parse.hpp"
#include "llm_router/core/utf8.hpp"
#include "llm_router/requestlog/redactor.hpp"
#include "router_handler.hpp"
#include "upstream_failures.hpp"

namespace llm_router::proxy {

using nlohmann::json;

namespace {

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

}  // namespace

// A backend error body's own short text: OpenAI's error.message, a "detail"/"message"/"error"
// string, FastAPI's list of validation errors (also under "message", as Mistral writes them),
// or a short plain-text body, cut to 300 bytes; never its other fields (they may name internal
// hosts).
std::optional<std::string> backend_detail(const json& body, bool openai_message,
                                          std::string_view raw_body) {
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

namespace {

// A short printable token from an OpenAI-shaped error's `field` ("rate_limit_exceeded",
// "messages"), or "".
// Codes and fields are words ("invalid_api_key", "RESOURCE_EXHAUSTED", "DeploymentNotFound",
// "messages[0].content"); a long token of both cases and digits, or of many digits, is more
// likely a key a backend quoted.
bool looks_like_a_key(std::string_view text) {
  const auto count = [&](auto&& test) {
    return std::count_if(text.begin(), text.end(),
                         [&](char c) { return test(static_cast<unsigned char>(c)); });
  };
  const auto upper = count([](unsigned char c) { return std::isupper(c) != 0; });
  const auto lower = count([](unsigned char c) { return std::islower(c) != 0; });
  const auto digits = count([](unsigned char c) { return std::isdigit(c) != 0; });
  return (text.size() >= 16 && digits >= 2 && upper > 0 && lower > 0) || digits >= 8 ||
         (text.size() >= 32 && digits >= 2);
}

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
  return token && !looks_like_a_key(text) ? text : "";
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

}  // namespace

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
    // the field it blamed would contradict the status (its code still says what went wrong,
    // unless it is about a key: the router's, which the client would take for its own).
    failure.type.clear();
    failure.param.clear();
    if (contains_any(failure.code, {"key", "auth", "credential"})) failure.code.clear();
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

namespace {

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

}  // namespace

std::chrono::milliseconds retry_after_of(const upstream::ResponseHead& head) {
  if (const auto* ms = server::find_header(head.headers, "retry-after-ms")) {
    return capped_delay(*ms, std::chrono::milliseconds(1));
  }
  if (const auto* value = server::find_header(head.headers, "retry-after")) {
    return retry_after_value(*value);
  }
  return std::chrono::milliseconds(0);
}

// A failure after the backend's head arrived carries the status it had begun answering with
// (a 200 cut short): logged, and not retried on the same backend.
void note_answered(Failure& failure, const upstream::Exchange& exchange) {
  if (failure.upstream_status == 0) failure.upstream_status = exchange.head().status;
}

// Exponential backoff with full jitter.
std::chrono::milliseconds backoff_for(const config::RetrySettings& retry, int retry_number) {
  auto ceiling = retry.backoff;
  for (int i = 0; i < retry_number && ceiling < retry.max_backoff; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, retry.max_backoff);
  std::uniform_int_distribution<long long> jitter(ceiling.count() / 2, ceiling.count());
  return std::chrono::milliseconds(jitter(random_engine()));
}

namespace {

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

}  // namespace

// unusable_answer, but an answer whose only fault is invalid UTF-8 (a stray byte where a token
// split a character) is used with those bytes read as U+FFFD, as Python clients decode them.
std::optional<Failure> unusable_unless_repaired(std::string& body, api::Endpoint endpoint,
                                                std::size_t* usage_at) {
  auto failure = unusable_answer(body, endpoint, usage_at);
  if (!failure) return failure;
  std::string repaired = api::with_invalid_utf8_replaced(body);
  if (repaired == body || unusable_answer(repaired, endpoint, usage_at)) return failure;
  body = std::move(repaired);
  return std::nullopt;
}

// A backend's 400 refusing max_tokens for max_completion_tokens, as OpenAI's reasoning models
// answer ("'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.").
bool refuses_max_tokens(int status, std::string_view body) {
  const std::size_t old_name = body.find("max_tokens");
  const std::size_t new_name = body.find("max_completion_tokens");
  const bool unsupported = body.find("nsupported") != std::string_view::npos ||
                           body.find("not supported") != std::string_view::npos;
  return (status == 400 || status == 422) && unsupported && old_name < new_name &&
         new_name != std::string_view::npos;
}

// A backend's 400/422 naming the stream_options sent with a stream.
bool refuses_stream_options(int status, std::string_view body) {
  return (status == 400 || status == 422) && body.find("stream_options") != std::string_view::npos;
}

}  // namespace llm_router::proxy
