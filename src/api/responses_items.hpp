#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

// The pieces of a Response object shared by the whole-answer and the streamed translation.
namespace llm_router::api {

// A backend's JSON text as a value, or discarded (depth-limited). A lone or split surrogate
// escape, or invalid UTF-8 in a string, is read as U+FFFD, as the chat endpoint's clients would
// decode it.
nlohmann::json parse_backend_json(std::string_view text);

// Text of a content given as a string or as parts carrying `text` (or `refusal`); nothing
// for other shapes.
std::optional<std::string> text_of_content(const nlohmann::json& content);

// The string member `key` of `object`, if it is one.
const std::string* string_at(const nlohmann::json& object, const char* key);
// The same with a fallback; never throws (json::value() does for a member of another type).
std::string string_or(const nlohmann::json& object, const char* key, std::string_view fallback);
long long integer_or(const nlohmann::json& object, const char* key, long long fallback);

// "resp_", "msg_", "fc_" followed by 32 random hex digits.
std::string new_item_id(std::string_view prefix);

// An assistant message item holding one output_text (or refusal) part.
nlohmann::json message_item(std::string_view id, std::string_view status, bool refusal,
                            std::string_view text);
nlohmann::json text_part(bool refusal, std::string_view text);
nlohmann::json function_call_item(std::string_view id, std::string_view status,
                                  std::string_view call_id, std::string_view name,
                                  std::string_view arguments);

// Chat usage (prompt/completion tokens and their details) as Response usage.
nlohmann::json response_usage(const nlohmann::json& chat_usage);

// Ends `response` by the chat finish_reason: completed, or incomplete for length and
// content_filter. Returns the status set.
std::string set_final_status(nlohmann::json& response, std::string_view finish_reason);

}  // namespace llm_router::api
