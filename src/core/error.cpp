#include "llm_router/core/error.hpp"

#include <array>

#include "llm_router/core/utf8.hpp"

namespace llm_router {
namespace {

struct Entry {
  std::string_view name;
  ErrorTraits traits;
};

constexpr auto kClient = ErrorSource::client;
constexpr auto kUpstream = ErrorSource::upstream;
constexpr auto kRouter = ErrorSource::router;

// Indexed by ErrorKind; the static_assert below keeps the table and the enum in step.
constexpr std::array kTable{
    Entry{"invalid_json", {kClient, 400, "invalid_request_error", "invalid_json", false}},
    Entry{"invalid_request", {kClient, 400, "invalid_request_error", "invalid_value", false}},
    Entry{"unsupported_path", {kClient, 404, "invalid_request_error", "unknown_url", false}},
    Entry{"method_not_allowed",
          {kClient, 405, "invalid_request_error", "method_not_allowed", false}},
    Entry{"model_not_found", {kClient, 404, "invalid_request_error", "model_not_found", false}},
    Entry{"model_not_allowed", {kClient, 403, "permission_error", "model_not_allowed", false}},
    Entry{"not_found", {kClient, 404, "invalid_request_error", "not_found", false}},
    Entry{"payload_too_large", {kClient, 413, "invalid_request_error", "request_too_large", false}},
    Entry{"headers_too_large", {kClient, 431, "invalid_request_error", "headers_too_large", false}},
    Entry{"uri_too_long", {kClient, 414, "invalid_request_error", "uri_too_long", false}},
    Entry{"expectation_failed",
          {kClient, 417, "invalid_request_error", "expectation_failed", false}},
    Entry{"request_timeout", {kClient, 408, "invalid_request_error", "request_timeout", false}},
    Entry{"connect_failed", {kUpstream, 502, "upstream_error", "connect_failed", true}},
    Entry{"connect_timeout", {kUpstream, 504, "timeout_error", "connect_timeout", true}},
    Entry{"first_byte_timeout", {kUpstream, 504, "timeout_error", "first_byte_timeout", true}},
    Entry{"idle_timeout", {kUpstream, 504, "timeout_error", "idle_timeout", true}},
    Entry{"total_timeout", {kUpstream, 504, "timeout_error", "total_timeout", true}},
    Entry{"slow_stream", {kUpstream, 504, "timeout_error", "slow_stream", true}},
    Entry{"upstream_closed", {kUpstream, 502, "upstream_error", "upstream_closed", true}},
    Entry{"upstream_rate_limited",
          {kUpstream, 429, "rate_limit_error", "rate_limit_exceeded", true}},
    Entry{"upstream_server_error", {kUpstream, 502, "upstream_error", "upstream_error", true}},
    Entry{"upstream_client_error",
          {kUpstream, 400, "invalid_request_error", "upstream_rejected", false}},
    Entry{"upstream_bad_response",
          {kUpstream, 502, "upstream_error", "bad_upstream_response", true}},
    Entry{"context_window_exceeded",
          {kUpstream, 400, "invalid_request_error", "context_length_exceeded", true}},
    Entry{"unsupported_by_backends",
          {kClient, 400, "invalid_request_error", "unsupported_by_backends", false}},
    Entry{"content_policy",
          {kUpstream, 400, "invalid_request_error", "content_policy_violation", true}},
    Entry{"low_confidence", {kUpstream, 502, "upstream_error", "low_confidence", true}},
    Entry{"circuit_open", {kRouter, 503, "service_unavailable", "circuit_open", true}},
    Entry{"overloaded", {kRouter, 429, "rate_limit_error", "router_overloaded", true}},
    Entry{"at_rate_limit", {kRouter, 429, "rate_limit_error", "rate_limit_exceeded", true}},
    Entry{"shutting_down", {kRouter, 503, "service_unavailable", "server_shutting_down", true}},
    Entry{"hedge_lost", {kRouter, 499, "cancelled", "hedge_lost", false}},
    Entry{"cancelled", {kClient, 499, "cancelled", "client_closed_request", false}},
    Entry{"internal", {kRouter, 500, "server_error", "internal_error", false}},
};
static_assert(kTable.size() == static_cast<size_t>(ErrorKind::internal) + 1);

}  // namespace

const ErrorTraits& traits(ErrorKind kind) {
  return kTable[static_cast<size_t>(kind)].traits;
}

std::string_view name(ErrorKind kind) {
  return kTable[static_cast<size_t>(kind)].name;
}

std::string quote_excerpt(std::string_view value, std::size_t limit) {
  if (value.size() <= limit) return "'" + std::string(value) + "'";
  return "'" + std::string(core::utf8_prefix(value, limit)) + "...'";
}

}  // namespace llm_router
