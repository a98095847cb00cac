#include "responses_items.hpp"

namespace llm_router::api {

using nlohmann::json;

const std::string* string_at(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

json text_part(bool refusal, std::string_view text) {
  if (refusal) return json{{"type", "refusal"}, {"refusal", text}};
  return json{{"type", "output_text"}, {"text", text}, {"annotations", json::array()}};
}

json message_item(std::string_view id, std::string_view status, bool refusal,
                  std::string_view text) {
  json content = json::array();
  if (status == "completed") content.push_back(text_part(refusal, text));
  return json{{"id", id},
              {"type", "message"},
              {"status", status},
              {"role", "assistant"},
              {"content", std::move(content)}};
}

json function_call_item(std::string_view id, std::string_view status, std::string_view call_id,
                        std::string_view name, std::string_view arguments) {
  return json{{"id", id},     {"type", "function_call"}, {"status", status}, {"call_id", call_id},
              {"name", name}, {"arguments", arguments}};
}

namespace {

long long count_at(const json& object, const char* key) {
  if (!object.is_object()) return 0;
  auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<long long>() : 0;
}

}  // namespace

json response_usage(const json& chat_usage) {
  const long long input = count_at(chat_usage, "prompt_tokens");
  const long long output = count_at(chat_usage, "completion_tokens");
  const json no_details = json::object();
  const auto details = [&](const char* key) -> const json& {
    auto it = chat_usage.find(key);
    return it == chat_usage.end() ? no_details : *it;
  };
  return json{
      {"input_tokens", input},
      {"input_tokens_details",
       {{"cached_tokens", count_at(details("prompt_tokens_details"), "cached_tokens")}}},
      {"output_tokens", output},
      {"output_tokens_details",
       {{"reasoning_tokens", count_at(details("completion_tokens_details"), "reasoning_tokens")}}},
      {"total_tokens", input + output}};
}

std::string set_final_status(json& response, std::string_view finish_reason) {
  if (finish_reason == "length" || finish_reason == "content_filter") {
    response["status"] = "incomplete";
    response["incomplete_details"] = {
        {"reason", finish_reason == "length" ? "max_output_tokens" : "content_filter"}};
    return "incomplete";
  }
  response["status"] = "completed";
  return "completed";
}

}  // namespace llm_router::api
