// What a backend's stream events say: content (the commit point), the end, an error, or events
// no SDK can read.
#include <nlohmann/json.hpp>

#include "llm_router/api/errors.hpp"
#include "llm_router/api/json_parse.hpp"
#include "llm_router/requestlog/redactor.hpp"
#include "router_handler.hpp"
#include "stream_events.hpp"
#include "upstream_failures.hpp"

namespace llm_router::proxy {

using nlohmann::json;

namespace {

// Events without content held before a stream's commit point; past this, it commits anyway.
constexpr std::size_t kMaxHeldBytes = 1024 * 1024;

}  // namespace

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

// Why a stream cannot commit on this read: a broken read, an early end, or an error event.
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

// A stream event that carries what the client waits for (text, a tool call, the end), as
// opposed to a role-only opening chunk: the commit point of a stream.
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

}  // namespace llm_router::proxy
