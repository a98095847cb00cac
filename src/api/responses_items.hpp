#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

// The pieces of a Response object shared by the whole-answer and the streamed translation.
namespace llm_router::api {

// A backend's JSON text as a value, or discarded (depth-limited). A lone or split surrogate
// escape, or invalid UTF-8 in a string, is read as U+FFFD, as the chat endpoint's clients would
// decode it; with `keep_lone_surrogates`, a lone surrogate escape is kept as its three bytes
// (see JsonParseOptions) for the caller to join or replace.
nlohmann::json parse_backend_json(std::string_view text, bool keep_lone_surrogates = false);

// Text of a content given as a string or as parts carrying `text` (or `refusal`), the parts'
// texts joined by `separator`; nothing for other shapes. Templates over the JSON type: the
// request side keeps its keys in the client's order (nlohmann::ordered_json), answers need no
// order.
template <typename Json>
std::optional<std::string> text_of_content(const Json& content, std::string_view separator = "") {
  if (content.is_string()) return content.template get<std::string>();
  if (!content.is_array()) return std::nullopt;
  std::string text;
  for (const Json& part : content) {
    if (!part.is_object()) return std::nullopt;
    const std::string* piece = nullptr;
    if (auto t = part.find("text"); t != part.end() && t->is_string()) {
      piece = &t->template get_ref<const std::string&>();
    } else if (auto r = part.find("refusal"); r != part.end() && r->is_string()) {
      piece = &r->template get_ref<const std::string&>();
    }
    if (piece == nullptr) continue;
    if (!text.empty()) text += separator;
    text += *piece;
  }
  return text;
}

// The string member `key` of `object`, if it is one.
template <typename Json>
const std::string* string_at(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? &it->template get_ref<const std::string&>()
                                               : nullptr;
}

// The same with a fallback; never throws (json::value() does for a member of another type).
template <typename Json>
std::string string_or(const Json& object, const char* key, std::string_view fallback) {
  const std::string* value = string_at(object, key);
  return value ? *value : std::string(fallback);
}

template <typename Json>
long long integer_or(const Json& object, const char* key, long long fallback) {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->template get<long long>() : fallback;
}

// "resp_", "msg_", "fc_" followed by 32 random hex digits.
std::string new_item_id(std::string_view prefix);

// The token logprobs of a chat choice (`logprobs.content`: token, logprob, bytes,
// top_logprobs), which a Response's output_text carries in the same shape; empty without them.
nlohmann::json choice_logprobs(const nlohmann::json& choice);

// An assistant message item holding one output_text (or refusal) part.
nlohmann::json message_item(std::string_view id, std::string_view status, bool refusal,
                            std::string_view text);
nlohmann::json text_part(bool refusal, std::string_view text);
// A reasoning item: what the model thought before answering (a chat backend's
// `reasoning_content` or `reasoning`), as one summary_text part, which clients show.
nlohmann::json reasoning_item(std::string_view id, std::string_view text);
// The reasoning text of a chat message or delta, if it carries one.
const std::string* reasoning_text(const nlohmann::json& message);
// Chat annotations ({"type": "url_citation", "url_citation": {url, title, start_index,
// end_index}}) in the Responses shape ({"type": "url_citation", url, title, start_index,
// end_index}); others as they came.
nlohmann::json response_annotations(const nlohmann::json& chat_annotations);
nlohmann::json function_call_item(std::string_view id, std::string_view status,
                                  std::string_view call_id, std::string_view name,
                                  std::string_view arguments);

// Chat usage (prompt/completion tokens and their details) as Response usage.
nlohmann::json response_usage(const nlohmann::json& chat_usage);

// Ends `response` by the chat finish_reason: completed, or incomplete for length and
// content_filter. Returns the status set.
std::string set_final_status(nlohmann::json& response, std::string_view finish_reason);

}  // namespace llm_router::api
