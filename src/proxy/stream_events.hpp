#pragma once
// What a backend's stream events say (stream_events.cpp).

#include <cstddef>
#include <optional>

#include "router_handler.hpp"

namespace llm_router::proxy {

// An event whose data is neither "[DONE]" nor a JSON object: no SDK can read it. An event
// whose only fault is invalid UTF-8 is repaired in place instead.
std::optional<Failure> garbled(api::SseEvent& event);
// "[DONE]" or a choice with a finish_reason (not null): what a complete stream ends with.
bool ends_a_stream(const api::SseEvent& event);
// An error event: {"error": ...}, {"object": "error", ...} or an SSE `event: error` line.
bool error_event(const api::SseEvent& event);
// A backend's error event as the client's SDK raises it: OpenAI's `data: {"error": {...}}`.
api::SseEvent openai_error_event(const api::SseEvent& event);
// Why a stream cannot commit on this read: a broken read, an early end, or an error event.
std::optional<Failure> pre_commit_failure(upstream::EventResult& next);
// A stream whose first events carry no content past a limit is broken (nullopt: not yet).
std::optional<Failure> contentless_stream(std::size_t held_bytes,
                                          const upstream::Exchange& exchange);
// A stream event that carries what the client waits for (text, a tool call, the end): the
// commit point of a stream.
bool carries_content(const api::SseEvent& event);

}  // namespace llm_router::proxy
