#include "llm_router/api/answer_text.hpp"

#include <nlohmann/json.hpp>

namespace llm_router::api {
namespace {

using nlohmann::json;

void append_string(const json& object, const char* key, std::string& out) {
  if (auto it = object.find(key); it != object.end() && it->is_string()) {
    out += it->get_ref<const std::string&>();
  }
}

void append_tool_calls(const json& message, std::string& out) {
  auto calls = message.find("tool_calls");
  if (calls != message.end() && calls->is_array()) {
    for (const auto& call : *calls) {
      if (!call.is_object()) continue;
      if (auto fn = call.find("function"); fn != call.end() && fn->is_object()) {
        append_string(*fn, "name", out);
        append_string(*fn, "arguments", out);
      }
    }
  }
  if (auto fn = message.find("function_call"); fn != message.end() && fn->is_object()) {
    append_string(*fn, "name", out);
    append_string(*fn, "arguments", out);
  }
}

// `message_key` is "message" in a whole answer and "delta" in a stream chunk.
void append_choices(const json& answer, const char* message_key, std::string& out) {
  auto choices = answer.find("choices");
  if (choices == answer.end() || !choices->is_array()) return;
  for (const auto& choice : *choices) {
    if (!choice.is_object()) continue;
    append_string(choice, "text", out);
    auto message = choice.find(message_key);
    if (message == choice.end() || !message->is_object()) continue;
    for (const char* key : {"content", "reasoning_content", "refusal"}) {
      append_string(*message, key, out);
    }
    append_tool_calls(*message, out);
  }
}

}  // namespace

std::string answer_text(std::string_view body) {
  std::string out;
  const json answer = json::parse(body, nullptr, false);
  if (answer.is_object()) append_choices(answer, "message", out);
  return out;
}

void append_chunk_text(std::string_view data, std::string& out) {
  const json chunk = json::parse(data, nullptr, false);
  if (chunk.is_object()) append_choices(chunk, "delta", out);
}

bool looks_like_json_object(std::string_view body) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!body.empty() && is_space(body.front())) body.remove_prefix(1);
  while (!body.empty() && is_space(body.back())) body.remove_suffix(1);
  return body.size() >= 2 && body.front() == '{' && body.back() == '}';
}

}  // namespace llm_router::api
