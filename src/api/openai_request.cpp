#include "llm_router/api/openai_request.hpp"

#include <algorithm>
#include <charconv>

#include "llm_router/api/json_parse.hpp"

namespace llm_router::api {
namespace {

using nlohmann::json;

Failure invalid(std::string message, std::string param) {
  return Failure{ErrorKind::invalid_request, std::move(message), 0, std::move(param)};
}

std::optional<Failure> check_messages(const json& body) {
  auto it = body.find("messages");
  if (it == body.end()) return invalid("'messages' is a required property", "messages");
  if (!it->is_array()) return invalid("'messages' must be an array", "messages");
  if (it->empty()) return invalid("'messages' must contain at least one message", "messages");
  for (size_t i = 0; i < it->size(); ++i) {
    const json& message = (*it)[i];
    const std::string param = "messages[" + std::to_string(i) + "]";
    if (!message.is_object()) return invalid(param + " must be an object", param);
    auto role = message.find("role");
    if (role == message.end() || !role->is_string()) {
      return invalid(param + ".role is required and must be a string", param + ".role");
    }
  }
  return std::nullopt;
}

std::optional<Failure> check_fields(const json& body, Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::chat_completions:
      return check_messages(body);
    case Endpoint::completions:
      if (!body.contains("prompt")) return invalid("'prompt' is a required property", "prompt");
      return std::nullopt;
    case Endpoint::embeddings:
      if (!body.contains("input")) return invalid("'input' is a required property", "input");
      return std::nullopt;
  }
  return std::nullopt;
}

long long number_after(std::string_view text, std::string_view key) {
  const size_t at = text.find(key);
  if (at == std::string_view::npos) return -1;
  size_t i = at + key.size();
  while (i < text.size() && (text[i] == '"' || text[i] == ':' || text[i] == ' ')) ++i;
  long long value = -1;
  std::from_chars(text.data() + i, text.data() + text.size(), value);
  return value;
}

}  // namespace

std::string_view upstream_path(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::chat_completions:
      return "/chat/completions";
    case Endpoint::completions:
      return "/completions";
    case Endpoint::embeddings:
      return "/embeddings";
  }
  return "/chat/completions";
}

Expected<ParsedRequest> parse_request(std::string_view text, Endpoint endpoint) {
  ParsedRequest request;
  request.text = text;
  const JsonParseResult parsed = parse_json(text, request.body, {.locate = "model"});
  if (!parsed.ok) {
    return Failure{ErrorKind::invalid_json,
                   "the request body is not valid JSON " + parsed.error.describe(text)};
  }
  if (!request.body.is_object()) {
    return Failure{ErrorKind::invalid_json, "the request body must be a JSON object"};
  }
  // A repeated key means different things to different parsers: the router and the backend
  // could disagree on the model (and the router's key would pay for the client's choice).
  if (parsed.repeated_top_level_key) {
    return Failure{ErrorKind::invalid_json, "the request body repeats a top-level key"};
  }
  auto model = request.body.find("model");
  if (model == request.body.end()) return invalid("'model' is a required property", "model");
  if (!model->is_string()) return invalid("'model' must be a string", "model");
  request.model = model->get<std::string>();
  request.model_begin = parsed.located_begin;
  request.model_end = parsed.located_end;
  if (auto stream = request.body.find("stream"); stream != request.body.end()) {
    if (stream->is_boolean()) {
      request.stream = stream->get<bool>();
    } else if (!stream->is_null()) {
      return invalid("'stream' must be a boolean", "stream");
    }
  }
  if (auto options = request.body.find("stream_options");
      options != request.body.end() && !options->is_object() && !options->is_null()) {
    return invalid("'stream_options' must be an object", "stream_options");
  }
  if (auto failure = check_fields(request.body, endpoint)) return std::move(*failure);
  return request;
}

namespace {

// `text` with the bytes [begin, end) replaced by `value` as a JSON string.
std::string splice_at(std::string_view text, std::size_t begin, std::size_t end,
                      std::string_view value) {
  std::string out;
  out.reserve(text.size() + value.size() + 2);
  out.append(text.substr(0, begin));
  const bool plain = value.find_first_of("\"\\") == std::string_view::npos &&
                     std::all_of(value.begin(), value.end(),
                                 [](char c) { return static_cast<unsigned char>(c) >= 0x20; });
  if (plain) {
    out.append(1, '"').append(value).append(1, '"');
  } else {
    out.append(json(std::string(value)).dump(-1, ' ', false, json::error_handler_t::replace));
  }
  out.append(text.substr(end));
  return out;
}

}  // namespace

bool asks_stream_usage(const json& body) {
  auto options = body.find("stream_options");
  if (options == body.end() || !options->is_object()) return false;
  auto include = options->find("include_usage");
  return include != options->end() && include->is_boolean() && include->get<bool>();
}

bool is_usage_only_chunk(std::string_view data) {
  return data.find("\"usage\"") != std::string_view::npos &&
         data.find("\"choices\":[]") != std::string_view::npos;
}

std::string body_for_backend(const ParsedRequest& request, const std::string& upstream_model,
                             bool ask_usage) {
  ask_usage = ask_usage && request.stream && !asks_stream_usage(request.body);
  if (!ask_usage || !request.body.contains("stream_options")) {
    std::optional<std::string> text;
    if (request.model == upstream_model && !request.text.empty()) {
      text = std::string(request.text);
    } else if (request.model_end > request.model_begin &&
               request.model_end <= request.text.size()) {
      text = splice_at(request.text, request.model_begin, request.model_end, upstream_model);
    }
    if (text) {
      if (ask_usage) {
        const size_t brace = text->find('{');
        text->insert(brace + 1, R"("stream_options":{"include_usage":true},)");
      }
      return std::move(*text);
    }
  }
  json copy = request.body;
  copy["model"] = upstream_model;
  if (ask_usage) {
    auto& options = copy["stream_options"];
    if (!options.is_object()) options = json::object();
    options["include_usage"] = true;
  }
  return copy.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<Usage> find_usage(std::string_view text) {
  const size_t at = text.find("\"usage\"");
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view rest = text.substr(at);
  Usage usage;
  usage.prompt_tokens = number_after(rest, "\"prompt_tokens\"");
  usage.completion_tokens = number_after(rest, "\"completion_tokens\"");
  if (usage.prompt_tokens < 0 && usage.completion_tokens < 0) return std::nullopt;
  usage.prompt_tokens = std::max(0LL, usage.prompt_tokens);
  usage.completion_tokens = std::max(0LL, usage.completion_tokens);
  return usage;
}

bool is_error_event(std::string_view data) {
  if (data.find("\"error\"") == std::string_view::npos) return false;
  const json parsed = json::parse(data, nullptr, false);
  return parsed.is_object() && parsed.contains("error") && !parsed.contains("choices");
}

}  // namespace llm_router::api
