#include "responses_items.hpp"

#include <sys/random.h>

#include <array>
#include <cstdint>
#include <random>

#include "llm_router/api/json_parse.hpp"

namespace llm_router::api {

using nlohmann::json;

// Ids are capabilities (an item_reference by id returns the item): 128 bits from the kernel's
// generator, which no run of earlier ids predicts, as a seeded engine's would.
std::string new_item_id(std::string_view prefix) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::array<unsigned char, 16> bytes{};
  if (getrandom(bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
    std::random_device device;  // /dev/urandom where getrandom is missing
    for (auto& byte : bytes) byte = static_cast<unsigned char>(device());
  }
  std::string id(prefix);
  for (const unsigned char byte : bytes) {
    id += kHex[byte >> 4];
    id += kHex[byte & 15];
  }
  return id;
}

json parse_backend_json(std::string_view text, bool keep_lone_surrogates) {
  // Our parser (depth-limited: the value is dumped again, recursively) and, for text it
  // refuses, once more after the repair.
  JsonParseOptions options;
  options.keep_lone_surrogates = keep_lone_surrogates;
  json value;
  if (parse_json(text, value, options).ok) return value;
  const std::string fixed = with_invalid_utf8_replaced(text);
  if (parse_json(fixed, value, options).ok) return value;
  return json(json::value_t::discarded);
}

json choice_logprobs(const json& choice) {
  if (!choice.is_object()) return json::array();
  const auto logprobs = choice.find("logprobs");
  if (logprobs == choice.end() || !logprobs->is_object()) return json::array();
  const auto content = logprobs->find("content");
  return content != logprobs->end() && content->is_array() ? *content : json::array();
}

json text_part(bool refusal, std::string_view text) {
  if (refusal) return json{{"type", "refusal"}, {"refusal", text}};
  return json{{"type", "output_text"}, {"text", text}, {"annotations", json::array()}};
}

json message_item(std::string_view id, std::string_view status, bool refusal,
                  std::string_view text) {
  json content = json::array();
  if (status != "in_progress") content.push_back(text_part(refusal, text));
  return json{{"id", id},
              {"type", "message"},
              {"status", status},
              {"role", "assistant"},
              {"content", std::move(content)}};
}

json reasoning_item(std::string_view id, std::string_view text) {
  json summary = json::array();
  if (!text.empty()) summary.push_back({{"type", "summary_text"}, {"text", text}});
  return json{{"id", id}, {"type", "reasoning"}, {"summary", std::move(summary)}};
}

const std::string* reasoning_text(const json& message) {
  const std::string* text = string_at(message, "reasoning_content");
  if (text == nullptr || text->empty()) text = string_at(message, "reasoning");
  return text != nullptr && !text->empty() ? text : nullptr;
}

json response_annotations(const json& chat_annotations) {
  json out = json::array();
  if (!chat_annotations.is_array()) return out;
  for (const json& annotation : chat_annotations) {
    if (!annotation.is_object()) continue;
    const std::string type = string_or(annotation, "type", "");
    const auto nested = annotation.find(type);
    if (nested == annotation.end() || !nested->is_object()) {
      out.push_back(annotation);
      continue;
    }
    json flat{{"type", type}};
    flat.update(*nested);
    out.push_back(std::move(flat));
  }
  return out;
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
