// A whole chat.completion -> the Response object.
#include "llm_router/api/responses.hpp"
#include "responses_items.hpp"

namespace llm_router::api {
namespace {

using nlohmann::json;

// The message's text (or refusal) first, then one function_call item per tool call.
json output_of(const json& message) {
  json output = json::array();
  const std::string* text = string_at(message, "content");
  const std::string* refusal = string_at(message, "refusal");
  const auto calls = message.is_object() ? message.find("tool_calls") : message.end();
  const bool has_calls =
      message.is_object() && calls != message.end() && calls->is_array() && !calls->empty();
  if (refusal && !refusal->empty()) {
    output.push_back(message_item(new_item_id("msg_"), "completed", true, *refusal));
  } else if ((text && !text->empty()) || !has_calls) {
    output.push_back(message_item(new_item_id("msg_"), "completed", false, text ? *text : ""));
  }
  if (!has_calls) return output;
  for (const json& call : *calls) {
    const json& function =
        call.is_object() && call.contains("function") ? call["function"] : json::object();
    const std::string* id = string_at(call, "id");
    const std::string* name = string_at(function, "name");
    const std::string* arguments = string_at(function, "arguments");
    output.push_back(function_call_item(new_item_id("fc_"), "completed",
                                        id ? *id : new_item_id("call_"), name ? *name : "",
                                        arguments ? *arguments : "{}"));
  }
  return output;
}

}  // namespace

std::optional<std::string> response_from_chat_answer(std::string_view chat_answer,
                                                     const json& shell) {
  const json answer = json::parse(chat_answer, nullptr, false);
  if (!answer.is_object()) return std::nullopt;
  const auto choices = answer.find("choices");
  if (choices == answer.end() || !choices->is_array() || choices->empty() ||
      !(*choices)[0].is_object()) {
    return std::nullopt;
  }
  const json& choice = (*choices)[0];
  json response = shell;
  if (const std::string* model = string_at(answer, "model")) response["model"] = *model;
  response["output"] = output_of(choice.contains("message") ? choice["message"] : json());
  const std::string* finish = string_at(choice, "finish_reason");
  set_final_status(response, finish ? *finish : "stop");
  response["usage"] = response_usage(answer.contains("usage") ? answer["usage"] : json());
  return response.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace llm_router::api
