#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace llm_router::config {
struct HashKey;
}

namespace llm_router::selector {

// text without its leading and trailing spaces and tabs.
std::string_view trimmed(std::string_view text);

// Tokens a tpm budget takes for a request before it runs: its prompt and the max_tokens it
// names (as OpenAI's own limiter counts them), so that concurrent requests cannot overdraw the
// budget by all they may write; the answer's usage settles the difference. One without
// max_tokens takes its prompt: what it writes is paid when its usage is known.
inline std::int64_t tokens_to_reserve(std::int64_t prompt_tokens, std::int64_t max_output_tokens) {
  return prompt_tokens + std::max<std::int64_t>(max_output_tokens, 0);
}

// Everything rules and strategies may test about one request. Filled by the proxy from the
// request body/headers and by the analyzer; the selector never sees the prompt itself.
struct RequestFacts {
  std::string model;            // the route or backend the client named
  std::string requested_model;  // the alias it named the route by, if it did
  // Names lowercase; views into the request, which outlives its facts.
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string user;         // OpenAI `user` field
  nlohmann::json metadata;  // OpenAI `metadata` object; null when the request has none

  std::string category;  // classifier label; empty when unknown
  double category_confidence = 0;
  double complexity = 0;               // 0..1
  double sentiment = 0;                // -1 (angry) .. 1 (happy)
  std::int64_t estimated_tokens = 0;   // prompt tokens
  std::int64_t max_output_tokens = 0;  // request's max_tokens; 0 = unset
  std::int64_t choices = 1;            // `n`: answers asked, each up to max_tokens

  bool stream = false;
  // An embeddings request: its vectors must come from one model whatever its text says, so
  // only backends of the route's model (its default pool's first) stand in for each other.
  bool embeddings = false;
  bool has_tools = false;
  bool has_images = false;
  bool has_audio = false;  // input_audio parts
  bool json_mode = false;

  std::vector<std::string> keyword_hits;   // KeywordSpec names that matched
  std::vector<std::string> keyword_words;  // beside each, the word that matched ("": a pattern)
  std::map<std::string, double, std::less<>> semantic_scores;  // SemanticSpec name -> 0..1
  std::vector<std::string> pii;  // kinds found: "email", "secret", ...

  std::string session_key;  // hash of the first messages; consistent_hash "session" key

  std::optional<std::string_view> header(std::string_view name) const;  // the first line's value
  // The first value of the header `name` that `accept` takes, or nullopt: the whole value of
  // each of its lines, then each comma-separated element of it (RFC 9110 5.3: repeated lines
  // are one list, and a proxy may join them), trimmed.
  template <typename Accept>
  std::optional<std::string_view> header_value_where(std::string_view name, Accept&& accept) const {
    for (const auto& [key, value] : headers) {
      if (key != name) continue;
      if (accept(value)) return value;
      for (std::size_t start = 0; start < value.size();) {
        const std::size_t comma = std::min(value.find(',', start), value.size());
        const std::string_view element = trimmed(value.substr(start, comma - start));
        if (element.size() != value.size() && accept(element)) return element;
        start = comma + 1;
      }
    }
    return std::nullopt;
  }
  bool keyword_hit(std::string_view name) const;
  std::int64_t reserved_tokens() const {
    return tokens_to_reserve(estimated_tokens,
                             max_output_tokens * std::max<std::int64_t>(choices, 1));
  }
  double semantic_score(std::string_view name) const;  // 0 when absent
};

// The consistent_hash "session" key: a hash of the conversation's opening messages (system
// prompt and first user turn), which stay the same on every turn of one conversation.
std::string session_key_of(std::span<const std::string_view> first_messages);

// What a HashKey names in the request (the session key, the user, a header's or a metadata
// key's value, as text) and a label for it ("session", "header x-session-id"); the text is
// empty when the request has none.
std::pair<std::string, std::string> key_text(const config::HashKey& key, const RequestFacts& facts);

}  // namespace llm_router::selector
