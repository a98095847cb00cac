#pragma once

#include <string_view>

#include "llm_router/config/config.hpp"
#include "llm_router/server/http_types.hpp"

// Which of a client's headers reach a backend.
namespace llm_router::proxy {

// Appends to `out` the client headers the backend is sent: W3C trace context (traceparent
// when valid, with its tracestate), the headers the backend's forward_headers names, and with
// pass_client_auth the one header the client's key was read from. None other that the
// client's Connection header names (hop-by-hop: for the router alone).
void add_forwarded_headers(const server::HttpRequest& request, const config::Backend& backend,
                           server::Headers& out);

// A W3C traceparent: version-trace_id-parent_id-flags in lower-case hex, neither id all
// zeros, version ff refused; a version after 00 may append fields.
bool valid_traceparent(std::string_view value);

}  // namespace llm_router::proxy
