#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llm_router/analyzer/detectors.hpp"

namespace llm_router::analyzer {

enum class EndpointKind { chat, completions, embeddings };

// What the server knows about a request besides its body.
struct RequestMeta {
  EndpointKind endpoint = EndpointKind::chat;
  // Which of the analyzer's semantic sets (Analyzer::semantic_sets(), by index) to score: the
  // requested route's and the config's own; null: all. Others are left out of the analysis.
  const std::vector<bool>* semantic_sets = nullptr;
  // Lowercase names; views into the request, which outlives the analysis.
  std::vector<std::pair<std::string_view, std::string_view>> headers;

  std::string_view header(std::string_view lowercase_name) const;
};

// Which text the content signals (sentiment, PII, keywords, ...) are computed on.
struct TextSelection {
  bool include_system = false;  // prepend the system/developer prompt
  int history_messages = 0;     // earlier messages (any role but system) before the last user one
  // Without history: for a last user message under 200 bytes, what it continues is kept aside
  // (RequestFacts::context_text: a coding agent's tool results since it, or the previous user
  // turn), for the category of a follow-up that says little on its own ("and in Rust?").
  bool follow_up_context = true;
  std::size_t max_chars = 4000;  // cap on bytes read, bounding the work on huge prompts
  // Sentiment, semantic similarity and script/language read at most this many bytes of the
  // selected text: its head and its tail (tone and intent sit at the start and the end).
  std::size_t model_chars = 1500;
  // With pii_whole_request, PII and secrets are looked for in the whole request (every message
  // and role, tool calls and results, not only the selected text: compliance rules must see
  // all that is sent), in at most pii_chars bytes; 0 turns that scan off. The router sets it
  // when a route tests `pii`; otherwise the analyzer scans the selected text only.
  bool pii_whole_request = true;
  std::size_t pii_chars = 1 << 20;
};

// Structural facts about the whole request plus the selected text.
struct RequestFacts {
  std::string text;            // selected text, at most max_chars bytes (UTF-8 safe cut)
  std::string context_text;    // what a short last user turn continues (follow_up_context)
  PiiCounts pii{};             // found in the whole request's text (TextSelection::pii_chars)
  bool pii_truncated = false;  // the request had more text than pii_chars
  // Where the PII is in `text`, when the scan above read `text` whole as one of the request's
  // strings (one user message, the common case): the analyzer blanks it without a second scan.
  std::optional<std::vector<PiiMatch>> text_pii;
  bool truncated = false;
  double estimated_tokens = 0;
  int turns = 0;
  bool has_images = false;
  bool has_audio = false;
  bool has_tools = false;
  bool json_mode = false;
  bool stream = false;
  std::string user;
  nlohmann::json metadata;
};

// At most max_bytes of text: all of it, or its first two thirds and last third joined by '\n'.
// `buffer` holds the joined copy when one is needed.
std::string_view head_and_tail(std::string_view text, std::size_t max_bytes, std::string& buffer);

// Reads the request body's JSON text in one pass, without building a DOM. Never throws: a body
// of an unexpected shape, or text that is not JSON, just yields fewer facts.
RequestFacts extract_request(std::string_view body, EndpointKind endpoint,
                             const TextSelection& selection);
// The same for a DOM (tests, the classify CLI): it is serialized first.
RequestFacts extract_request(const nlohmann::json& body, EndpointKind endpoint,
                             const TextSelection& selection);
// A DOM as the body text the string_view overloads read.
std::string request_text(const nlohmann::json& body);

}  // namespace llm_router::analyzer
