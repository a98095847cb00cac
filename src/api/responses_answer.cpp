// A whole chat.completion -> the Response object.
#include "llm_router/api/json_parse.hpp"
#include "llm_router/api/responses.hpp"
#include "responses_items.hpp"

namespace llm_router::api {
namespace {

using nlohmann::json;

// The message's text (or refusal) first, then one function_call item per tool call.
json output_of(const json& message, std::string_view item_status) {
  json output = json::array();
  if (const std::string* thought = reasoning_text(message)) {
    output.push_back(reasoning_item(new_item_id("rs_"), *thought));
  }
  const auto content = message.is_object() ? message.find("content") : message.end();
  const std::optional<std::string> text =
      message.is_object() && content != message.end() ? text_of_content(*content) : std::nullopt;
  const std::string* refusal = string_at(message, "refusal");
  const auto calls = message.is_object() ? message.find("tool_calls") : message.end();
  const bool has_calls =
      message.is_object() && calls != message.end() && calls->is_array() && !calls->empty();
  if (refusal && !refusal->empty()) {
    output.push_back(message_item(new_item_id("msg_"), item_status, true, *refusal));
  } else if ((text && !text->empty()) || !has_calls) {
    output.push_back(message_item(new_item_id("msg_"), item_status, false, text ? *text : ""));
    if (auto annotations = message.find("annotations"); annotations != message.end()) {
      output.back()["content"][0]["annotations"] = response_annotations(*annotations);
    }
  }
  if (!has_calls) return output;
  for (const json& call : *calls) {
    const json& function =
        call.is_object() && call.contains("function") ? call["function"] : json::object();
    const std::string* id = string_at(call, "id");
    const std::string* name = string_at(function, "name");
    // Some backends send the arguments as an object rather than its JSON text, or "" for a
    // function without parameters (OpenAI sends "{}").
    const auto arguments = function.find("arguments");
    std::string arguments_text =
        arguments == function.end() ? "{}"
        : arguments->is_string()    ? arguments->get<std::string>()
                                 : arguments->dump(-1, ' ', false, json::error_handler_t::replace);
    if (arguments_text.empty()) arguments_text = "{}";
    output.push_back(function_call_item(new_item_id("fc_"), item_status,
                                        id && !id->empty() ? *id : new_item_id("call_"),
                                        name ? *name : "", arguments_text));
  }
  return output;
}

}  // namespace

std::string error_for_responses(std::string body) {
  json error;
  if (!parse_json(body, error).ok) return body;  // depth-limited: it is dumped again
  if (!error.is_object() || !error.contains("error") || !error["error"].is_object()) return body;
  json& param = error["error"]["param"];
  if (!param.is_string() || !param.get_ref<const std::string&>().starts_with("messages")) {
    return body;
  }
  param = "input";
  return error.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<std::string> response_from_chat_answer(std::string_view chat_answer,
                                                     const json& shell, ResponseItemStore* items,
                                                     std::string_view owner) {
  const json answer = parse_backend_json(chat_answer);
  if (!answer.is_object()) return std::nullopt;
  const auto choices = answer.find("choices");
  if (choices == answer.end() || !choices->is_array() || choices->empty() ||
      !(*choices)[0].is_object()) {
    return std::nullopt;
  }
  const json& choice = (*choices)[0];
  json response = shell;
  if (const std::string* model = string_at(answer, "model")) response["model"] = *model;
  if (const std::string* tier = string_at(answer, "service_tier")) response["service_tier"] = *tier;
  const std::string* finish = string_at(choice, "finish_reason");
  const std::string status = set_final_status(response, finish ? *finish : "stop");
  response["output"] = output_of(choice.contains("message") ? choice["message"] : json(), status);
  // With include: ["message.output_text.logprobs"] (the chat request asked for logprobs).
  if (json logprobs = choice_logprobs(choice); !logprobs.empty()) {
    for (json& item : response["output"]) {
      if (item["type"] != "message" || item["content"].empty()) continue;
      json& part = item["content"][0];
      if (part["type"] == "output_text") part["logprobs"] = std::move(logprobs);
      break;
    }
  }
  response["usage"] = response_usage(answer.contains("usage") ? answer["usage"] : json());
  if (items != nullptr) items->remember(response["output"], owner);
  return response.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace llm_router::api
