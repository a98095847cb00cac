#include <nlohmann/json.hpp>

#include <array>

#include "llm_router/api/json_fields.hpp"
#include "router_handler.hpp"

namespace llm_router::proxy {
namespace {

using nlohmann::json;

void scan_content(const json& content, std::size_t& chars, bool& images) {
  if (content.is_string()) {
    chars += content.get_ref<const std::string&>().size();
  } else if (content.is_array()) {
    for (const auto& part : content) {
      if (!part.is_object()) continue;
      const std::string_view type = api::string_field(part, "type");
      if (type == "image_url" || type == "input_image" || type == "image") images = true;
      if (auto text = part.find("text"); text != part.end() && text->is_string()) {
        chars += text->get_ref<const std::string&>().size();
      }
    }
  }
}

// The text of a message's content; parts are joined into `joined`.
std::string_view text_of(const json& content, std::string& joined) {
  if (content.is_string()) return content.get_ref<const std::string&>();
  if (content.is_array()) {
    for (const auto& part : content) joined += api::string_field(part, "text");
  }
  return joined;
}

}  // namespace

selector::RequestFacts facts_from(const api::ParsedRequest& parsed, const HttpRequest& request) {
  const json& body = parsed.body;
  selector::RequestFacts facts;
  facts.model = parsed.model;
  facts.stream = parsed.stream;
  for (const auto& h : request.headers) {
    if (h.name == "authorization" || h.name == "cookie" || h.name == "x-api-key") continue;
    facts.headers.emplace_back(h.name, h.value);
  }
  if (auto user = body.find("user"); user != body.end() && user->is_string()) {
    facts.user = user->get<std::string>();
  }
  if (auto metadata = body.find("metadata"); metadata != body.end() && metadata->is_object()) {
    facts.metadata = *metadata;
  }
  if (auto tools = body.find("tools");
      tools != body.end() && tools->is_array() && !tools->empty()) {
    facts.has_tools = true;
  }
  if (body.contains("functions")) facts.has_tools = true;
  if (auto format = body.find("response_format"); format != body.end() && format->is_object()) {
    const std::string_view type = api::string_field(*format, "type");
    facts.json_mode = type == "json_object" || type == "json_schema";
  }
  for (const char* key : {"max_completion_tokens", "max_tokens"}) {
    if (auto cap = body.find(key); cap != body.end() && cap->is_number_integer()) {
      facts.max_output_tokens = cap->get<std::int64_t>();
      break;
    }
  }
  std::size_t chars = 0;
  std::array<std::string_view, 2> opening;
  std::array<std::string, 2> joined;  // for contents made of parts
  std::size_t openings = 0;
  if (auto messages = body.find("messages"); messages != body.end() && messages->is_array()) {
    for (const auto& message : *messages) {
      if (!message.is_object()) continue;
      if (auto content = message.find("content"); content != message.end()) {
        scan_content(*content, chars, facts.has_images);
        const std::string_view role = api::string_field(message, "role");
        if (openings < opening.size() && (role == "system" || role == "user")) {
          opening[openings] = text_of(*content, joined[openings]);
          ++openings;
        }
      }
    }
  } else if (auto prompt = body.find("prompt"); prompt != body.end()) {
    scan_content(*prompt, chars, facts.has_images);
  } else if (auto input = body.find("input"); input != body.end()) {
    scan_content(*input, chars, facts.has_images);
  }
  facts.estimated_tokens = static_cast<std::int64_t>(chars / 4) + 1;
  facts.session_key = selector::session_key_of({opening.begin(), opening.begin() + openings});
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
  facts.estimated_tokens =
      std::max(facts.estimated_tokens, static_cast<std::int64_t>(analysis.estimated_tokens));
  facts.keyword_hits = analysis.keyword_hits;
  for (const auto& [name, score] : analysis.semantic_scores) facts.semantic_scores[name] = score;
  for (const auto& pii : analysis.pii) facts.pii.push_back(pii.kind);
  facts.has_images = facts.has_images || analysis.has_images;
  facts.has_tools = facts.has_tools || analysis.has_tools;
  facts.json_mode = facts.json_mode || analysis.json_mode;
}

}  // namespace llm_router::proxy
