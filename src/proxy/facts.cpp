#include <algorithm>
#include <array>
#include <cmath>

#include "llm_router/analyzer/request.hpp"
#include "router_handler.hpp"

namespace llm_router::proxy {

// About 4 bytes a token, plus what a chat's framing costs: OpenAI counts ~3 tokens a message
// and 3 priming the reply, which a conversation of short turns is mostly made of.
std::int64_t estimated_prompt_tokens(const api::ParsedRequest& parsed) {
  const auto& summary = parsed.summary;
  const auto text =
      static_cast<std::int64_t>(
          (summary.content_chars + summary.functions_chars + summary.format_chars) / 4) +
      summary.media_tokens();
  if (summary.messages == 0) return text + 1;
  return text + 3 * static_cast<std::int64_t>(summary.messages) + 3;
}

bool estimate_decides(const Snapshot& snapshot, const api::ParsedRequest& parsed,
                      const selector::RequestFacts& facts) {
  const auto& config = *snapshot.config;
  if (const auto* route = config.find_route(facts.model)) {
    if (snapshot.route_tests_tokens[static_cast<std::size_t>(route - config.routes.data())]) {
      return true;
    }
  }
  if (snapshot.smallest_prompt_room <= 0) return false;
  // At its densest (digits between spaces, control characters) text is ~1.2 tokens a byte.
  const auto& summary = parsed.summary;
  const double densest = 1.2 * static_cast<double>(summary.content_chars + summary.functions_chars +
                                                   summary.format_chars);
  return densest + static_cast<double>(facts.estimated_tokens + facts.max_output_tokens) >=
         static_cast<double>(snapshot.smallest_prompt_room);
}

std::int64_t read_estimated_tokens(const api::ParsedRequest& parsed, api::Endpoint endpoint) {
  analyzer::TextSelection counting_only;
  counting_only.follow_up_context = false;
  counting_only.max_chars = 0;
  counting_only.model_chars = 0;
  counting_only.pii_whole_request = false;
  counting_only.pii_chars = 0;
  const auto read =
      analyzer::extract_request(parsed.text, analyzer_endpoint(endpoint), counting_only);
  return std::llround(read.estimated_tokens);
}

analyzer::EndpointKind analyzer_endpoint(api::Endpoint endpoint) {
  return endpoint == api::Endpoint::chat_completions ? analyzer::EndpointKind::chat
         : endpoint == api::Endpoint::completions    ? analyzer::EndpointKind::completions
                                                     : analyzer::EndpointKind::embeddings;
}

void resolve_alias(api::ParsedRequest& parsed, const config::Config& config) {
  const std::string_view route = config.canonical_model(parsed.model);
  if (route == parsed.model) return;
  parsed.requested_model = std::move(parsed.model);
  parsed.model = std::string(route);
}

selector::RequestFacts facts_from(const api::ParsedRequest& parsed, const HttpRequest& request,
                                  bool with_session_key) {
  const api::RequestSummary& summary = parsed.summary;
  selector::RequestFacts facts;
  facts.model = parsed.model;
  facts.requested_model = parsed.requested_model;
  facts.stream = parsed.stream;
  facts.headers.reserve(request.headers.size());
  for (const auto& h : request.headers) {
    if (h.name == "authorization" || h.name == "cookie" || h.name == "x-api-key" ||
        h.name == "api-key" || h.name == "proxy-authorization") {
      continue;  // credentials: never matched, shown or logged
    }
    facts.headers.emplace_back(h.name, h.value);
  }
  facts.user = summary.user;
  if (summary.metadata.is_object()) facts.metadata = summary.metadata;
  facts.has_tools = summary.has_tools;
  facts.json_mode = summary.json_mode;
  facts.max_output_tokens = summary.max_output_tokens.value_or(0);
  facts.choices = summary.choices;
  facts.has_images = summary.has_images;
  facts.has_audio = summary.audio_parts > 0 || summary.audio_output;
  facts.estimated_tokens = estimated_prompt_tokens(parsed);
  if (with_session_key) {
    const std::vector<std::string> texts = api::opening_texts(parsed);
    const std::vector<std::string_view> opening(texts.begin(), texts.end());
    facts.session_key = selector::session_key_of(opening);
  }
  return facts;
}

void add_analysis(const analyzer::Analysis& analysis, selector::RequestFacts& facts) {
  facts.category = analysis.category;
  if (auto it = analysis.category_scores.find(analysis.category);
      it != analysis.category_scores.end()) {
    facts.category_confidence = it->second;
  }
  facts.complexity = analysis.complexity;
  facts.sentiment = analysis.sentiment;
  // The analyzer's estimate reads the text (scripts, digits, data), where the request
  // scanner's is bytes / 4: rules, windows and costs use the one the decision shows.
  facts.estimated_tokens = std::llround(analysis.estimated_tokens);
  facts.keyword_hits = analysis.keyword_hits;
  facts.keyword_words = analysis.keyword_words;
  for (const auto& [name, score] : analysis.semantic_scores) facts.semantic_scores[name] = score;
  for (const auto& pii : analysis.pii) facts.pii.push_back(pii.kind);
  facts.has_images = facts.has_images || analysis.has_images;
  facts.has_audio = facts.has_audio || analysis.has_audio;
  facts.has_tools = facts.has_tools || analysis.has_tools;
  facts.json_mode = facts.json_mode || analysis.json_mode;
}

}  // namespace llm_router::proxy
