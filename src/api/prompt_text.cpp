#include "llm_router/api/prompt_text.hpp"

#include <nlohmann/json.hpp>

#include "llm_router/api/json_fields.hpp"

namespace llm_router::api {
namespace {

using nlohmann::json;

void append(std::string& out, std::string_view text) {
  if (text.empty()) return;
  if (!out.empty()) out += '\n';
  out += text;
}

// A string, or an array of strings and content parts ({"type":"text","text":...}).
void append_content(std::string& out, const json& content) {
  if (content.is_string()) return append(out, content.get_ref<const std::string&>());
  if (!content.is_array()) return;
  for (const auto& part : content) {
    append(out, part.is_string() ? std::string_view(part.get_ref<const std::string&>())
                                 : string_field(part, "text"));
  }
}

void append_message(std::string& out, const json& message) {
  if (!message.is_object()) return;
  append(out, string_field(message, "role"));
  if (auto content = message.find("content"); content != message.end()) {
    append_content(out, *content);
  }
  if (auto calls = message.find("tool_calls"); calls != message.end() && calls->is_array()) {
    for (const auto& call : *calls) {
      if (!call.is_object() || !call.contains("function")) continue;
      append(out, string_field(call["function"], "name"));
      append(out, string_field(call["function"], "arguments"));
    }
  }
}

}  // namespace

std::string prompt_text(const ParsedRequest& request) {
  const json& body = request.body();
  std::string out;
  if (auto messages = body.find("messages"); messages != body.end() && messages->is_array()) {
    for (const auto& message : *messages) append_message(out, message);
  }
  for (const char* key : {"prompt", "input"}) {
    if (auto value = body.find(key); value != body.end()) append_content(out, *value);
  }
  return out;
}

long long chat_format_tokens(const ParsedRequest& request) {
  const json& body = request.body();
  const auto messages = body.find("messages");
  if (messages == body.end() || !messages->is_array()) return 0;
  return 3 * static_cast<long long>(messages->size()) + 3;
}

}  // namespace llm_router::api
