// POST /v1/responses -> the chat.completions request the router routes.
#include <algorithm>
#include <chrono>

#include "llm_router/api/json_parse.hpp"
#include "llm_router/api/responses.hpp"
#include "responses_items.hpp"

namespace llm_router::api {
namespace {

// The client's key order is kept (nlohmann::ordered_json): a JSON schema's `properties` order is
// the order a model writes the fields in ("reasoning" before "answer").
using json = nlohmann::ordered_json;

Failure invalid(std::string message, std::string param) {
  return Failure{ErrorKind::invalid_request, std::move(message), 0, std::move(param)};
}

Failure unsupported(std::string_view what, std::string param) {
  return invalid(std::string(what) +
                     " is not supported: llm-router keeps no stored responses, files or "
                     "conversations; send the whole conversation in `input`",
                 std::move(param));
}

std::string indexed(std::string_view base, std::size_t index) {
  return std::string(base) + "[" + std::to_string(index) + "]";
}

// One user content part: input_text, input_image (by URL), input_file (inline), input_audio.
Expected<json> user_part(const json& part, const std::string& param) {
  if (!part.is_object()) return invalid("each content part must be an object", param);
  const std::string type = string_or(part, "type", "");
  if (type == "input_text" || type == "output_text" || type == "text") {
    if (!part.contains("text") || !part["text"].is_string()) {
      return invalid("a text part needs `text` as a string", param + ".text");
    }
    return json{{"type", "text"}, {"text", part["text"]}};
  }
  if (type == "input_image") {
    const auto url = part.find("image_url");
    if (url != part.end() && !url->is_string()) {
      return invalid("an input_image's `image_url` must be a string (a URL or a data: URL)",
                     param + ".image_url");
    }
    if (url == part.end()) {
      return unsupported("an input_image without `image_url` (file_id)", param + ".image_url");
    }
    json image{{"url", *url}};
    if (auto detail = part.find("detail"); detail != part.end() && detail->is_string()) {
      image["detail"] = *detail;
    }
    return json{{"type", "image_url"}, {"image_url", std::move(image)}};
  }
  if (type == "input_file") {
    const auto data = part.find("file_data");
    if (data == part.end() || !data->is_string()) {
      return unsupported("an input_file without `file_data` (file_id, file_url)", param);
    }
    json file{{"file_data", *data}};
    if (auto name = part.find("filename"); name != part.end()) file["filename"] = *name;
    return json{{"type", "file"}, {"file", std::move(file)}};
  }
  if (type == "input_audio" && part.contains("input_audio")) {
    return json{{"type", "input_audio"}, {"input_audio", part["input_audio"]}};
  }
  return invalid("unknown content part type " + quote_excerpt(type), param + ".type");
}

// Chat backends take images, files and audio in user messages only: in another role's
// message they would be lost without a word (the part's type names them).
std::optional<Failure> media_outside_user(const json& content, const std::string& role,
                                          const std::string& param) {
  for (std::size_t k = 0; k < content.size(); ++k) {
    const std::string type = string_or(content[k], "type", "");
    if (type != "input_image" && type != "input_file" && type != "input_audio") continue;
    return invalid("a " + role + " message with " + quote_excerpt(type) +
                       " content cannot reach chat-completions backends (only user messages "
                       "carry images, files and audio there): send it in a user message",
                   indexed(param + ".content", k) + ".type");
  }
  return std::nullopt;
}

// A message item: user content keeps its parts (images, files); other roles get plain text,
// which every chat backend accepts. `developer` is sent as `system` for the same reason.
Expected<json> message_of(const json& item, const std::string& param) {
  const auto role_it = item.find("role");
  if (role_it == item.end() || !role_it->is_string()) {
    return invalid("a message item needs a `role`", param + ".role");
  }
  std::string role = role_it->get<std::string>();
  if (role != "user" && role != "assistant" && role != "system" && role != "developer") {
    return invalid("unknown role " + quote_excerpt(role), param + ".role");
  }
  if (role == "developer") role = "system";
  const auto content = item.find("content");
  if (content == item.end() || !(content->is_string() || content->is_array())) {
    return invalid("a message item needs `content` as a string or an array of parts",
                   param + ".content");
  }
  if (role != "user" && content->is_array()) {
    if (auto lost = media_outside_user(*content, role_it->get<std::string>(), param)) {
      return std::move(*lost);
    }
  }
  if (role != "user" || content->is_string()) {
    // Several instruction parts are separate texts ("be nice", "be brief"), not one run.
    auto text = text_of_content(*content, role == "system" ? "\n" : "");
    if (!text) return invalid("each content part must be an object", param + ".content");
    return json{{"role", role}, {"content", std::move(*text)}};
  }
  json parts = json::array();
  for (std::size_t k = 0; k < content->size(); ++k) {
    auto part = user_part((*content)[k], indexed(param + ".content", k));
    if (!part) return part.take_failure();
    parts.push_back(std::move(*part));
  }
  return json{{"role", role}, {"content", std::move(parts)}};
}

// Consecutive function_call items are one assistant turn with several tool calls.
Expected<json> tool_call_of(const json& item, const std::string& param) {
  for (const char* key : {"call_id", "name", "arguments"}) {
    if (!item.contains(key) || !item[key].is_string()) {
      return invalid(std::string("a function_call item needs `") + key + "` as a string",
                     param + "." + key);
    }
  }
  return json{{"id", item["call_id"]},
              {"type", "function"},
              {"function", {{"name", item["name"]}, {"arguments", item["arguments"]}}}};
}

void add_tool_call(json& messages, json call) {
  if (!messages.empty()) {
    json& last = messages.back();
    if (last["role"] == "assistant" && !last.contains("tool_call_id")) {
      last["tool_calls"].push_back(std::move(call));
      return;
    }
  }
  messages.push_back(
      {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", json::array({call})}});
}

Expected<json> tool_result_of(const json& item, const std::string& param) {
  if (!item.contains("call_id") || !item["call_id"].is_string()) {
    return invalid("a function_call_output item needs `call_id` as a string", param + ".call_id");
  }
  if (auto parts = item.find("output"); parts != item.end() && parts->is_array()) {
    // A chat tool message holds text only: an image or file would be lost without a word.
    for (std::size_t k = 0; k < parts->size(); ++k) {
      const std::string type = string_or((*parts)[k], "type", "");
      if (type == "input_text" || type == "output_text" || type == "text") continue;
      return invalid("a function_call_output with " + quote_excerpt(type) +
                         " content cannot reach chat-completions backends (a tool message holds "
                         "text only): return text from the tool, or send the image in a user "
                         "message",
                     indexed(param + ".output", k) + ".type");
    }
  }
  std::optional<std::string> output;
  if (auto parts = item.find("output"); parts != item.end() && parts->is_array()) {
    // Parts are separate pieces of the tool's output (["a.py", "b.py"]): one per line, as
    // servers that flatten a message's text parts (vLLM) join them.
    output.emplace();
    for (const json& part : *parts) {
      const auto text = text_of_content(json::array({part}));
      if (!text) return invalid("a function_call_output part needs `text`", param + ".output");
      if (!output->empty()) *output += '\n';
      *output += *text;
    }
  } else if (parts != item.end()) {
    output = text_of_content(*parts);
  }
  if (!output) {
    return invalid("a function_call_output item needs `output` as a string", param + ".output");
  }
  return json{{"role", "tool"}, {"tool_call_id", item["call_id"]}, {"content", *output}};
}

Expected<bool> add_input_item(json& messages, const json& item, const std::string& param,
                              const ItemSource& items);

// An earlier output item named by its id: the item as this router sent it.
Expected<bool> add_referenced_item(json& messages, const json& reference, const std::string& param,
                                   const ItemSource& items) {
  const std::string* id = string_at(reference, "id");
  if (id == nullptr) {
    return invalid("an item_reference item needs `id` as a string", param + ".id");
  }
  std::optional<nlohmann::json> item =
      items.store ? items.store->find(*id, items.owner) : std::nullopt;
  if (!item) {
    return invalid(
        "item_reference " + quote_excerpt(*id) +
            " names no output item this router sent this client recently (each process keeps at "
            "most " +
            std::to_string(items.store ? items.store->limits().items : 0) + " items, " +
            std::to_string(items.store ? items.store->limits().bytes : 0) +
            " bytes, in memory: not across restarts or replicas): send the item itself "
            "(Vercel AI SDK: providerOptions.openai.store = false)",
        param + ".id");
  }
  // Without the store: a kept item is never a reference itself.
  return add_input_item(messages, json(*item), param, ItemSource{});
}

Expected<bool> add_input_item(json& messages, const json& item, const std::string& param,
                              const ItemSource& items) {
  if (!item.is_object()) return invalid("each input item must be an object", param);
  // Without a type: a message by its role, else a reference by its id (OpenAI's schema lets
  // item references leave the type out).
  const std::string type = string_or(item, "type",
                                     item.contains("role") ? "message"
                                     : item.contains("id") ? "item_reference"
                                                           : "");
  if (type == "message") {
    auto message = message_of(item, param);
    if (!message) return message.take_failure();
    messages.push_back(std::move(*message));
  } else if (type == "function_call") {
    auto call = tool_call_of(item, param);
    if (!call) return call.take_failure();
    add_tool_call(messages, std::move(*call));
  } else if (type == "function_call_output") {
    auto result = tool_result_of(item, param);
    if (!result) return result.take_failure();
    messages.push_back(std::move(*result));
  } else if (type == "reasoning") {
    // A reasoning item only the model that wrote it can read: nothing to send on.
  } else if (type == "item_reference") {
    return add_referenced_item(messages, item, param, items);
  } else {
    return invalid("input item type " + quote_excerpt(type) +
                       " is not supported (message, function_call, function_call_output)",
                   param + ".type");
  }
  return true;
}

Expected<json> messages_of(const json& request, const ItemSource& items) {
  json messages = json::array();
  if (auto it = request.find("instructions"); it != request.end() && !it->is_null()) {
    if (!it->is_string()) return invalid("`instructions` must be a string", "instructions");
    if (!it->get_ref<const std::string&>().empty()) {
      messages.push_back({{"role", "system"}, {"content", *it}});
    }
  }
  const auto input = request.find("input");
  if (input == request.end() || input->is_null()) {
    return invalid("`input` is required: a string or an array of input items", "input");
  }
  if (input->is_string()) {
    messages.push_back({{"role", "user"}, {"content", *input}});
  } else if (input->is_array()) {
    for (std::size_t i = 0; i < input->size(); ++i) {
      auto added = add_input_item(messages, (*input)[i], indexed("input", i), items);
      if (!added) return added.take_failure();
    }
  } else {
    return invalid("`input` must be a string or an array of input items", "input");
  }
  if (messages.empty()) return invalid("`input` holds no message", "input");
  return messages;
}

// Function tools move their name, description and schema under `function`.
// Whether a JSON schema meets strict mode's rules: every object closed (additionalProperties
// false) with all its properties required, at every depth.
bool strict_compatible(const json& schema, int depth = 0) {
  constexpr int kDeepest = 32;
  if (depth > kDeepest) return false;
  if (schema.is_array()) {
    return std::all_of(schema.begin(), schema.end(),
                       [&](const json& item) { return strict_compatible(item, depth + 1); });
  }
  if (!schema.is_object()) return true;
  const auto properties = schema.find("properties");
  if (schema.value("type", json()) == "object" || properties != schema.end()) {
    const auto closed = schema.find("additionalProperties");
    if (closed == schema.end() || *closed != false) return false;
    if (properties != schema.end() && properties->is_object()) {
      const json required = schema.value("required", json::array());
      for (const auto& [name, property] : properties->items()) {
        if (!required.is_array() ||
            std::find(required.begin(), required.end(), name) == required.end() ||
            !strict_compatible(property, depth + 1)) {
          return false;
        }
      }
    }
  }
  for (const char* key : {"items", "anyOf", "allOf", "oneOf", "$defs", "definitions"}) {
    const auto nested = schema.find(key);
    if (nested == schema.end()) continue;
    if (nested->is_object() &&
        (std::string_view(key) == "$defs" || std::string_view(key) == "definitions")) {
      for (const auto& [name, definition] : nested->items()) {
        if (!strict_compatible(definition, depth + 1)) return false;
      }
    } else if (!strict_compatible(*nested, depth + 1)) {
      return false;
    }
  }
  return true;
}

// A Responses function tool is strict unless it says otherwise (chat's default is the
// opposite); its schema must allow it, as OpenAI's tools with a schema that does not are sent
// without strict mode.
bool tool_is_strict(const json& tool) {
  const auto strict = tool.find("strict");
  if (strict != tool.end() && strict->is_boolean()) return strict->get<bool>();
  const auto parameters = tool.find("parameters");
  return parameters != tool.end() && parameters->is_object() && strict_compatible(*parameters);
}

Expected<json> chat_tools(const json& tools) {
  if (!tools.is_array()) return invalid("`tools` must be an array", "tools");
  json out = json::array();
  for (std::size_t i = 0; i < tools.size(); ++i) {
    const json& tool = tools[i];
    const std::string param = indexed("tools", i);
    if (!tool.is_object()) return invalid("each tool must be an object", param);
    const std::string type = string_or(tool, "type", "");
    if (type != "function") {
      return invalid("tool type " + quote_excerpt(type) +
                         " is not supported: the router's backends run function tools only",
                     param + ".type");
    }
    if (!tool.contains("name") || !tool["name"].is_string()) {
      return invalid("a function tool needs `name` as a string", param + ".name");
    }
    json function{{"name", tool["name"]}};
    for (const char* key : {"description", "parameters", "strict"}) {
      if (auto it = tool.find(key); it != tool.end() && !it->is_null()) function[key] = *it;
    }
    if (!function.contains("strict") && tool_is_strict(tool)) function["strict"] = true;
    out.push_back({{"type", "function"}, {"function", std::move(function)}});
  }
  return out;
}

// A function named as Responses names it ({"type": "function", "name"}), as chat does.
std::optional<json> chat_function_choice(const json& choice) {
  if (string_or(choice, "type", "") != "function" || !choice.contains("name")) return std::nullopt;
  return json{{"type", "function"}, {"function", {{"name", choice["name"]}}}};
}

Expected<json> chat_tool_choice(const json& choice) {
  if (choice.is_string()) return choice;
  if (auto function = chat_function_choice(choice)) return std::move(*function);
  // {"type": "allowed_tools", "mode", "tools": [...]}: chat nests the same under allowed_tools.
  if (string_or(choice, "type", "") == "allowed_tools" && choice.contains("tools") &&
      choice["tools"].is_array()) {
    json tools = json::array();
    for (const json& tool : choice["tools"]) {
      auto function = chat_function_choice(tool);
      if (!function) {
        return invalid("allowed_tools may list function tools only", "tool_choice.tools");
      }
      tools.push_back(std::move(*function));
    }
    return json{{"type", "allowed_tools"},
                {"allowed_tools",
                 {{"mode", string_or(choice, "mode", "auto")}, {"tools", std::move(tools)}}}};
  }
  return invalid(
      "`tool_choice` must be \"auto\", \"none\", \"required\", a function or allowed_tools",
      "tool_choice");
}

// text.format -> response_format: text (the default), json_object, json_schema.
Expected<std::optional<json>> chat_response_format(const json& text) {
  if (!text.is_object()) return invalid("`text` must be an object", "text");
  const auto format = text.find("format");
  if (format == text.end() || format->is_null()) return std::optional<json>{};
  if (!format->is_object()) return invalid("`text.format` must be an object", "text.format");
  const std::string type = format->value("type", "");
  if (type == "text") return std::optional<json>{};
  if (type == "json_object") return std::optional<json>{json{{"type", "json_object"}}};
  if (type == "json_schema") {
    const auto name = format->find("name");
    const auto body = format->find("schema");
    if (name == format->end() || !name->is_string()) {
      return invalid("a json_schema format needs `name` as a string", "text.format.name");
    }
    if (body == format->end() || !body->is_object()) {
      return invalid("a json_schema format needs `schema` as an object", "text.format.schema");
    }
    json schema = json::object();
    for (const char* key : {"name", "schema", "strict", "description"}) {
      if (auto it = format->find(key); it != format->end()) schema[key] = *it;
    }
    return std::optional<json>{json{{"type", "json_schema"}, {"json_schema", std::move(schema)}}};
  }
  return invalid("unknown text format type " + quote_excerpt(type), "text.format.type");
}

// Stored state and server-side features a stateless router cannot honour.
std::optional<Failure> refuse_stateful(const json& request) {
  for (const char* key : {"previous_response_id", "conversation", "prompt"}) {
    if (auto it = request.find(key); it != request.end() && !it->is_null()) {
      return unsupported(std::string("`") + key + "`", key);
    }
  }
  if (const auto background = request.find("background");
      background != request.end() && *background == true) {
    return invalid("`background` is not supported: llm-router answers while you wait",
                   "background");
  }
  return std::nullopt;
}

// Responses API fields read above, or with no chat counterpart to pass on (`truncation`,
// `max_tool_calls`, `include`, `store`): every other field is a backend's own extra (`top_k`,
// `min_p`, `chat_template_kwargs`...) and reaches it, as in a chat request.
constexpr std::string_view kResponsesOnly[] = {
    "input",          "instructions", "max_output_tokens", "reasoning",
    "text",           "tools",        "tool_choice",       "stream",
    "stream_options", "truncation",   "max_tool_calls",    "include",
    "store",          "background",   "conversation",      "previous_response_id",
    "prompt"};

bool passed_on_as_is(std::string_view key) {
  return std::find(std::begin(kResponsesOnly), std::end(kResponsesOnly), key) ==
         std::end(kResponsesOnly);
}

// Whether the request's `include` list names `what`.
bool includes(const json& request, std::string_view what) {
  const auto include = request.find("include");
  if (include == request.end() || !include->is_array()) return false;
  return std::any_of(include->begin(), include->end(),
                     [&](const json& item) { return item.is_string() && item == what; });
}

Expected<json> chat_body_of(const json& request, bool stream, const ItemSource& items) {
  auto messages = messages_of(request, items);
  if (!messages) return messages.take_failure();
  json chat{{"messages", std::move(*messages)}};
  for (const auto& [key, value] : request.items()) {
    if (passed_on_as_is(key) && !value.is_null()) chat[key] = value;
  }
  if (chat.contains("top_logprobs") || includes(request, "message.output_text.logprobs")) {
    chat["logprobs"] = true;
  }
  if (auto it = request.find("max_output_tokens"); it != request.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<long long>() < 1) {
      return invalid("`max_output_tokens` must be a positive integer", "max_output_tokens");
    }
    // max_tokens: the name every chat backend knows (OpenAI's reasoning models want
    // max_completion_tokens, asked for when `reasoning` is set).
    chat[request.contains("reasoning") ? "max_completion_tokens" : "max_tokens"] = *it;
  }
  if (auto it = request.find("reasoning"); it != request.end() && it->is_object()) {
    if (auto effort = it->find("effort"); effort != it->end() && effort->is_string()) {
      chat["reasoning_effort"] = *effort;
    }
  }
  if (auto it = request.find("tools"); it != request.end() && !it->is_null()) {
    auto tools = chat_tools(*it);
    if (!tools) return tools.take_failure();
    if (!tools->empty()) chat["tools"] = std::move(*tools);
  }
  if (auto it = request.find("tool_choice"); it != request.end() && !it->is_null()) {
    auto choice = chat_tool_choice(*it);
    if (!choice) return choice.take_failure();
    chat["tool_choice"] = std::move(*choice);
  }
  if (auto it = request.find("text"); it != request.end() && !it->is_null()) {
    auto format = chat_response_format(*it);
    if (!format) return format.take_failure();
    if (*format) chat["response_format"] = std::move(**format);
    if (auto verbosity = it->find("verbosity");
        it->is_object() && verbosity != it->end() && verbosity->is_string()) {
      chat["verbosity"] = *verbosity;
    }
  }
  if (stream) {
    chat["stream"] = true;
    chat["stream_options"] = {{"include_usage", true}};  // a Response always carries usage
  }
  return chat;
}

json value_or(const json& request, const char* key, json fallback) {
  auto it = request.find(key);
  return it == request.end() || it->is_null() ? fallback : *it;
}

// The Response object as the request configured it, before any output.
// The tools as the Response echoes them, each with the strict mode it runs in.
json echoed_tools(const json& request) {
  json tools = value_or(request, "tools", json::array());
  if (!tools.is_array()) return tools;
  for (json& tool : tools) {
    if (tool.is_object() && tool.value("type", json()) == "function") {
      tool["strict"] = tool_is_strict(tool);
    }
  }
  return tools;
}

json shell_of(const json& request) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch());
  json reasoning{{"effort", nullptr}, {"summary", nullptr}};
  if (auto it = request.find("reasoning"); it != request.end() && it->is_object()) {
    reasoning.update(*it);
  }
  // `text` as asked ({"verbosity": "low"} too), with the plain-text format it implies.
  json text{{"format", {{"type", "text"}}}};
  if (auto it = request.find("text"); it != request.end() && it->is_object()) text.update(*it);
  return json{{"id", new_item_id("resp_")},
              {"object", "response"},
              {"created_at", now.count()},
              {"status", "in_progress"},
              {"background", false},
              {"error", nullptr},
              {"incomplete_details", nullptr},
              {"instructions", value_or(request, "instructions", nullptr)},
              {"max_output_tokens", value_or(request, "max_output_tokens", nullptr)},
              {"model", value_or(request, "model", "")},
              {"output", json::array()},
              {"parallel_tool_calls", value_or(request, "parallel_tool_calls", true)},
              {"previous_response_id", nullptr},
              {"prompt_cache_key", value_or(request, "prompt_cache_key", nullptr)},
              {"reasoning", std::move(reasoning)},
              {"safety_identifier", value_or(request, "safety_identifier", nullptr)},
              {"service_tier", value_or(request, "service_tier", "auto")},
              {"store", false},
              {"temperature", value_or(request, "temperature", 1.0)},
              {"text", std::move(text)},
              {"tool_choice", value_or(request, "tool_choice", "auto")},
              {"tools", echoed_tools(request)},
              {"top_p", value_or(request, "top_p", 1.0)},
              {"truncation", value_or(request, "truncation", "disabled")},
              {"usage", nullptr},
              {"user", value_or(request, "user", nullptr)},
              {"metadata", value_or(request, "metadata", json::object())}};
}

}  // namespace

Expected<ResponsesCall> chat_request_from_responses(std::string_view body,
                                                    const ItemSource& items) {
  nlohmann::json checked;
  // Our parser first: its depth limit keeps a hostile nesting from nlohmann's recursive parser
  // and dump below, its value limit bounds the DOMs built here (8 MB of `[0,0,...]` took
  // seconds), and its errors say where the body is wrong.
  const JsonParseResult parsed = parse_json(body, checked, {.max_values = kMaxRequestJsonValues});
  if (!parsed.ok && parsed.too_many_values) {
    return Failure{ErrorKind::payload_too_large, "the request body holds more than " +
                                                     std::to_string(kMaxRequestJsonValues) +
                                                     " JSON values (numbers, strings, objects...)"};
  }
  if (!parsed.ok) {
    return Failure{ErrorKind::invalid_json,
                   "the request body is not valid JSON: " + parsed.error.describe(body)};
  }
  if (parsed.repeated_top_level_key) {
    // As on the other endpoints: parsers disagree on which copy wins ("model" twice).
    return Failure{ErrorKind::invalid_json, "the request body repeats a top-level key"};
  }
  json request = in_client_order(body, checked);
  if (!request.is_object()) return invalid("the request body must be a JSON object", "");
  if (auto refused = refuse_stateful(request)) return std::move(*refused);
  const auto stream_it = request.find("stream");
  if (stream_it != request.end() && !stream_it->is_null() && !stream_it->is_boolean()) {
    return invalid("`stream` must be a boolean", "stream");
  }
  const bool stream =
      stream_it != request.end() && stream_it->is_boolean() && stream_it->get<bool>();
  auto chat = chat_body_of(request, stream, items);
  if (!chat) return chat.take_failure();
  const auto store = request.find("store");
  const bool keep_items = store == request.end() || *store != false;
  return ResponsesCall{chat->dump(-1, ' ', false, json::error_handler_t::replace), stream,
                       nlohmann::json(shell_of(request)), keep_items};
}

}  // namespace llm_router::api
