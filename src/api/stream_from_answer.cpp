#include "llm_router/api/stream_from_answer.hpp"

#include <nlohmann/json.hpp>

#include "llm_router/api/json_parse.hpp"

namespace llm_router::api {
namespace {

using nlohmann::json;

void add_event(std::string& out, const json& data) {
  out += "data: ";
  out += data.dump(-1, ' ', false, json::error_handler_t::replace);
  out += "\n\n";
}

// The chunk's envelope: the answer's id, created, model (and fingerprint), a chunk's object.
json envelope(const json& answer, bool chat) {
  json chunk = json::object();
  for (const char* key : {"id", "created", "model", "system_fingerprint"}) {
    if (auto it = answer.find(key); it != answer.end()) chunk[key] = *it;
  }
  chunk["object"] = chat ? "chat.completion.chunk" : "text_completion";
  return chunk;
}

json delta_of(const json& message) {
  json delta = message.is_object() ? message : json::object();
  if (auto calls = delta.find("tool_calls"); calls != delta.end() && calls->is_array()) {
    for (std::size_t k = 0; k < calls->size(); ++k) {
      if ((*calls)[k].is_object()) (*calls)[k]["index"] = k;
    }
  }
  return delta;
}

json field_or_null(const json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? json(nullptr) : *it;
}

}  // namespace

std::optional<std::string> stream_from_answer(std::string_view body, bool include_usage) {
  const json answer = parse_json_value(body);  // depth-limited: its parts are dumped
  if (!answer.is_object()) return std::nullopt;
  const auto choices = answer.find("choices");
  if (choices == answer.end() || !choices->is_array()) return std::nullopt;
  const bool chat = answer.value("object", "") != "text_completion";
  std::string out;
  for (std::size_t i = 0; i < choices->size(); ++i) {
    const json& choice = (*choices)[i];
    if (!choice.is_object()) return std::nullopt;
    const json index = choice.contains("index") ? choice["index"] : json(i);
    json chunk = envelope(answer, chat);
    if (chat) {
      chunk["choices"] = json::array({{{"index", index},
                                       {"delta", delta_of(field_or_null(choice, "message"))},
                                       {"logprobs", field_or_null(choice, "logprobs")},
                                       {"finish_reason", nullptr}}});
      add_event(out, chunk);
      chunk["choices"] = json::array({{{"index", index},
                                       {"delta", json::object()},
                                       {"finish_reason", field_or_null(choice, "finish_reason")}}});
    } else {
      chunk["choices"] = json::array({{{"index", index},
                                       {"text", choice.value("text", "")},
                                       {"logprobs", field_or_null(choice, "logprobs")},
                                       {"finish_reason", field_or_null(choice, "finish_reason")}}});
    }
    add_event(out, chunk);
  }
  if (include_usage) {
    if (auto usage = answer.find("usage"); usage != answer.end()) {
      json chunk = envelope(answer, chat);
      chunk["choices"] = json::array();
      chunk["usage"] = *usage;
      add_event(out, chunk);
    }
  }
  out += "data: [DONE]\n\n";
  return out;
}

}  // namespace llm_router::api
