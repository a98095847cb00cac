#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "llm_router/core/expected.hpp"

namespace llm_router::api {

enum class Endpoint { chat_completions, completions, embeddings };

std::string_view upstream_path(Endpoint endpoint);  // "/chat/completions", ...

// A client request body, parsed once and checked for the fields the router needs. Every other
// field is kept as sent and reaches the backend unchanged.
struct ParsedRequest {
  std::string_view text;  // the body as received (lives as long as the request)
  nlohmann::json body;
  std::string model;
  bool stream = false;
  // Where the model's value is written in `text` ([begin, end)), for the splice.
  std::size_t model_begin = 0;
  std::size_t model_end = 0;
};

// Failures are client errors (400) whose message says what is wrong and where.
Expected<ParsedRequest> parse_request(std::string_view text, Endpoint endpoint);

// The body for one backend: the client's, with `model` set to the backend's model id. The
// client's bytes are kept and only the model's value is replaced (no re-serialisation).
// With `ask_usage`, streams also ask for the final usage chunk (stream_options.include_usage),
// so tokens are counted exactly even when the client did not ask for it.
std::string body_for_backend(const ParsedRequest& request, const std::string& upstream_model,
                             bool ask_usage = false);

// True when a stream request already asks for the usage chunk.
bool asks_stream_usage(const nlohmann::json& body);

// A stream chunk that only carries usage (empty choices): relayed only if the client asked.
bool is_usage_only_chunk(std::string_view data);

struct Usage {
  long long prompt_tokens = 0;
  long long completion_tokens = 0;
};

// The `usage` object of an OpenAI response or stream chunk, when it has one.
std::optional<Usage> find_usage(std::string_view json_text);

// True when a stream event carries an error object instead of content.
bool is_error_event(std::string_view data);

}  // namespace llm_router::api
