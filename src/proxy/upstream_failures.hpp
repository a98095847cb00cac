#pragma once
// A backend's error answer read as a Failure, and whether to ask the same backend again
// (upstream_failures.cpp).

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "router_handler.hpp"

namespace llm_router::proxy {

// An error answer longer than this is cut (a whole answer's limit: server.max_response_bytes).
inline constexpr std::size_t kMaxErrorBodyBytes = 256 * 1024;

// A backend error body's own short text: OpenAI's error.message, a "detail"/"message"/"error"
// string, FastAPI's list of validation errors (also under "message", as Mistral writes them),
// or a short plain-text body, cut to 300 bytes; never its other fields (they may name internal
// hosts).
std::optional<std::string> backend_detail(const nlohmann::json& body, bool openai_message,
                                          std::string_view raw_body = {});
// What the client gets for a backend's 400/413/422: the backend's own body when it has OpenAI's
// error shape, otherwise an OpenAI-shaped error carrying at most the backend's short text.
std::string client_error_body(int status, const std::string& body);
// A backend's 4xx refusing what the request holds (too long for its context, against its
// content policy) with OpenAI's error shape: worth giving the client as it is, should no
// other backend answer.
std::optional<RequestRecord::Refusal> content_refusal(const Failure& failure, int status,
                                                      const std::string& body, std::size_t attempt);
// An upstream's error status, read as a failure kind (which decides whether to fall back).
// `client_credentials`: the backend was sent the client's own key (pass_client_auth).
Failure classify_status(const upstream::ResponseHead& head, std::string_view body,
                        bool client_credentials);
// Failures worth another try on the same backend (a moment later), rather than moving on.
bool retry_same_backend(const Failure& failure, const config::RetrySettings& retry);
// Failures that say something about the backend's health (not about the request).
bool counts_against_backend(ErrorKind kind);
// The wait a backend's retry-after-ms or Retry-After header asks for (0: none).
std::chrono::milliseconds retry_after_of(const upstream::ResponseHead& head);
// A failure after the backend's head arrived carries the status it had begun answering with
// (a 200 cut short): logged, and not retried on the same backend.
void note_answered(Failure& failure, const upstream::Exchange& exchange);
// Exponential backoff with full jitter.
std::chrono::milliseconds backoff_for(const config::RetrySettings& retry, int retry_number);
// A 2xx answer the client cannot use, as the backend's failure; an answer whose only fault is
// invalid UTF-8 is used with those bytes read as U+FFFD (`body` repaired).
std::optional<Failure> unusable_unless_repaired(std::string& body, api::Endpoint endpoint,
                                                std::size_t* usage_at = nullptr);
// A backend's 400/422 naming the stream_options sent with a stream.
bool refuses_stream_options(int status, std::string_view body);
bool refuses_max_tokens(int status, std::string_view body);

}  // namespace llm_router::proxy
