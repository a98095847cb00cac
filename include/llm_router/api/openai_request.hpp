#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llm_router/core/expected.hpp"

namespace llm_router::api {

enum class Endpoint { chat_completions, completions, embeddings };

std::string_view upstream_path(Endpoint endpoint);  // "/chat/completions", ...

// What the router reads from every request body, gathered while the body is validated (no
// DOM is built for it). Field names are the OpenAI request's.
struct RequestSummary {
  std::string user;                 // `user`, when a string
  nlohmann::json metadata;          // `metadata`, when an object (else null)
  bool has_metadata = false;        // `metadata` is present, whatever its value
  bool store = false;               // `store` is true
  bool base64_embeddings = false;   // embeddings asked with encoding_format "base64"
  bool has_tools = false;           // a non-empty `tools` array, or `functions`
  bool json_mode = false;           // response_format.type is json_object or json_schema
  bool has_stream_options = false;  // `stream_options` is present
  int choices = 1;                  // `n`
  bool include_usage = false;       // stream_options.include_usage is true
  // stream_options is an object holding nothing but a boolean include_usage: a backend that
  // refuses it refuses the field itself, not something odd the client wrote in it
  bool plain_stream_options = false;
  std::optional<std::int64_t> max_output_tokens;  // the larger of max_completion_tokens, max_tokens
  bool max_tokens_only = false;  // max_tokens is set and max_completion_tokens is not
  // The prompt's text: `messages`' contents when `messages` is an array, else `prompt`, else
  // `input`. Bytes of decoded text (content parts' `text` included) and whether an image part
  // was seen.
  std::size_t content_chars = 0;
  bool has_images = false;
  std::int64_t image_tokens = 0;  // what its image parts cost (image_tokens.hpp)
  std::size_t audio_parts = 0;
  // Speech asked for (`audio`, "audio" in `modalities`) or an earlier spoken answer sent back.
  bool audio_output = false;
  // Prompt the model reads besides the messages: of content_chars, the names and strings of
  // `tools`; not in it, those of the legacy `functions` and the bytes of `response_format` (a
  // JSON schema).
  std::size_t tools_chars = 0, functions_chars = 0, format_chars = 0;
  // Tokens a model charges for an audio part (a few seconds), as the analyzer's estimate
  // counts them.
  static constexpr std::int64_t kAudioTokens = 100;
  std::int64_t media_tokens() const {
    return image_tokens + kAudioTokens * static_cast<std::int64_t>(audio_parts);
  }
  std::size_t messages = 0;  // items of `messages`, when an array
  // Where the contents of the first (at most two) system or user messages are in the body:
  // they open the conversation and stay the same on every turn. opening_texts() decodes them.
  struct Span {
    std::size_t begin = 0, end = 0;
    bool is_string = false;  // else an array of content parts
  };
  std::array<Span, 2> openings{};
  std::size_t opening_count = 0;
};

// A client request body, validated once and checked for the fields the router needs. Every
// other field is kept as sent and reaches the backend unchanged.
struct ParsedRequest {
  std::string_view text;  // the body as received (lives as long as the request)
  std::string model;
  // The name the client sent, when `model` became the route it is an alias of; else empty.
  std::string requested_model;
  const std::string& model_as_sent() const {
    return requested_model.empty() ? model : requested_model;
  }
  bool stream = false;
  // Where the model's value is written in `text` ([begin, end)), for the splice.
  std::size_t model_begin = 0;
  std::size_t model_end = 0;
  RequestSummary summary;

  // The whole body as a DOM, built on first use (the analyzer and the cascade need it; a
  // pass-through request never does).
  const nlohmann::json& body() const;

 private:
  mutable std::optional<nlohmann::json> body_;
};

// Failures are client errors (400) whose message says what is wrong and where.
Expected<ParsedRequest> parse_request(std::string_view text, Endpoint endpoint);

// The opening messages' contents (RequestSummary::openings), decoded; content parts' texts are
// joined. Read on demand: only a session-keyed route needs them.
std::vector<std::string> opening_texts(const ParsedRequest& request);

// What the body sent to a backend carries of `stream_options`.
enum class StreamOptions {
  as_sent,    // the client's, if any
  ask_usage,  // a stream asks for the final usage chunk, so tokens are counted exactly
  left_out,   // none: the backend refuses the field (the router then adds the usage chunk)
};

// The body for one backend: the client's, with `model` set to the backend's model id. The
// client's bytes are kept and only the model's value is replaced (no re-serialisation) unless
// `stream_options` must change or `metadata` (routing input) must go: it is left out unless
// the client set `store: true`, as OpenAI requires.
// Body fields a backend sets (name, JSON text of the value): `defaults` where the client's body
// has no such field, `overrides` in place of the client's.
// `max_completion_tokens`: the backend refuses max_tokens (OpenAI's reasoning models), so a
// request's max_tokens is sent under the newer name.
struct BodyFields {
  const std::vector<std::pair<std::string, std::string>>* defaults = nullptr;
  const std::vector<std::pair<std::string, std::string>>* overrides = nullptr;
  bool max_completion_tokens = false;
  bool empty() const {
    return (defaults == nullptr || defaults->empty()) &&
           (overrides == nullptr || overrides->empty()) && !max_completion_tokens;
  }
};

std::string body_for_backend(const ParsedRequest& request, const std::string& upstream_model,
                             StreamOptions stream_options = StreamOptions::as_sent,
                             BodyFields fields = {});

// A stream chunk that only carries usage (empty choices): relayed only if the client asked.
bool is_usage_only_chunk(std::string_view data);

struct Usage {
  long long prompt_tokens = 0;
  long long completion_tokens = 0;
  long long cached_prompt_tokens = 0;  // of prompt_tokens, read from the provider's cache
};

// The `usage` object of an OpenAI response or stream chunk, when it has one.
std::optional<Usage> find_usage(std::string_view json_text);
// The same when where the `usage` member's name begins is known already (npos: it has none).
std::optional<Usage> usage_at(std::string_view json_text, std::size_t at);

// True when a stream event carries an error object instead of content.
bool is_error_event(std::string_view data);

}  // namespace llm_router::api
