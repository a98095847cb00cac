#pragma once
// Helpers a completion request's path shares between its files (completion.cpp, hedging.cpp,
// relay.cpp, refusals.cpp, request_finish.cpp); each is defined in the file named beside it.

#include <chrono>
#include <optional>
#include <vector>

#include "router_handler.hpp"

namespace llm_router::proxy {

inline double millis_since(std::chrono::steady_clock::time_point from,
                           std::chrono::steady_clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// Gives a backend's concurrency slot back, however the attempts on it ended.
struct SlotRelease {
  health::CapacityGate& gate;
  ~SlotRelease() { gate.release(); }
};

// completion.cpp
// pass_client_auth forwards the client's key, in the header it came in.
bool sends_client_credentials(const config::Backend& backend, const HttpRequest& request);
bool has_rate_limits(const std::optional<ClientEntry>& client);
// "backend=ok", "backend=kind(status)": an attempt in the x-llm-router-attempts header and logs.
std::string describe(const Attempt& attempt);
// A backend skipped for its open circuit, its full slots or its spent rpm/tpm: it was sent
// nothing.
bool skipped(const Attempt& attempt);
// Whether a stream's request to a backend carries stream_options whose refusal says the
// backend lacks the field.
bool sent_stream_options(const api::ParsedRequest& parsed, api::StreamOptions options);
// The client went away: its request is a 499, and the attempt under way neither the backend's
// failure nor its success.
void note_client_left(RequestRecord& record);

// relay.cpp
// The backend's headers a client's SDK reads (`extra`: the backend's response_headers).
Headers relayed_headers(const upstream::ResponseHead& head, const std::vector<std::string>& extra);
// The backend's headers for the client's answer, its request id kept for the request log.
void add_relayed(Headers& headers, Headers relayed, RequestRecord& record);
// An answer the backend's content filter withheld, set aside for content_policy_fallback.
Failure withheld_by_filter_failure();

// refusals.cpp
Failure shutting_down_failure();
// The 404 of a plan whose model names nothing (naming the backends that serve it, if several).
Failure unknown_model_failure(const selector::RoutePlan& plan);
// A request still waiting for a backend slot when the router began to stop.
Failure queued_at_shutdown_failure();
// `soonest`: the sooner of itself and when `breaker` lets a trial through.
void note_reopening(std::optional<std::chrono::milliseconds>& soonest,
                    const health::CircuitBreaker& breaker);

}  // namespace llm_router::proxy
