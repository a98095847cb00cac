#pragma once

#include <string>
#include <string_view>

namespace llm_router {

// Where a failure came from: decides status, log level and whether another backend may help.
enum class ErrorSource { client, upstream, router };

// Every failure the data plane can meet, as a value (no exceptions on the request path).
enum class ErrorKind {
  invalid_json,
  invalid_request,
  unsupported_path,
  method_not_allowed,
  model_not_found,
  model_not_allowed,  // the client key may not use the model it named (its `models`)
  not_found,          // a named thing (not a model) the router does not know, e.g. a request id
  payload_too_large,
  headers_too_large,
  uri_too_long,
  expectation_failed,  // an Expect header other than 100-continue
  request_timeout,     // the client did not finish sending its request in time
  connect_failed,
  connect_timeout,
  first_byte_timeout,
  idle_timeout,
  total_timeout,
  slow_stream,  // a stream below the backend's min_tokens_per_second
  upstream_closed,
  upstream_rate_limited,
  upstream_server_error,
  upstream_client_error,
  upstream_bad_response,
  context_window_exceeded,
  unsupported_by_backends,  // images, tools or JSON mode that no candidate backend is tagged for
  content_policy,
  low_confidence,
  circuit_open,
  overloaded,
  at_rate_limit,  // the backend's rpm or tpm budget (config) is spent for now
  shutting_down,  // the router stopped before the request could finish (drain_timeout)
  hedge_lost,     // a hedged attempt cancelled because the other one committed first
  cancelled,
  internal,
};

struct ErrorTraits {
  ErrorSource source;
  int status;             // HTTP status the client gets when this ends the request
  std::string_view type;  // OpenAI error "type"
  std::string_view code;  // OpenAI error "code"
  bool retryable;         // another attempt (same or other backend) may succeed
};

const ErrorTraits& traits(ErrorKind kind);
std::string_view name(ErrorKind kind);

// A failed step: its kind plus what the client or the log should know.
struct Failure {
  ErrorKind kind = ErrorKind::internal;
  std::string message;
  int upstream_status = 0;  // the backend's HTTP status, when it answered
  std::string param;        // the request field at fault, for client errors
  std::string code;         // the backend's own error code ("rate_limit_exceeded"), if it gave one
  std::string type;         // and its own error type ("insufficient_quota"), if it gave one
  // Asking the same backend again cannot help (its TLS certificate is not trusted).
  bool lasting = false;
};

// A value from the request quoted in an error message: at most `limit` bytes (cut at a UTF-8
// character boundary, "..." marking the cut), so a huge field is not echoed back whole.
std::string quote_excerpt(std::string_view value, std::size_t limit = 128);

}  // namespace llm_router
