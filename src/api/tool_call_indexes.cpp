#include "llm_router/api/tool_call_indexes.hpp"

#include <algorithm>

#include "llm_router/api/json_parse.hpp"

namespace llm_router::api {

using nlohmann::json;

bool ToolCallIndexes::fill(json& chunk) {
  const auto choices = chunk.find("choices");
  if (choices == chunk.end() || !choices->is_array()) return false;
  bool changed = false;
  for (json& choice : *choices) {
    if (!choice.is_object()) continue;
    const auto delta = choice.find("delta");
    if (delta == choice.end() || !delta->is_object()) continue;
    const auto calls = delta->find("tool_calls");
    if (calls == delta->end() || !calls->is_array()) continue;
    const auto number = choice.find("index");
    Choice& state =
        choices_[number != choice.end() && number->is_number_integer() ? number->get<long long>()
                                                                       : 0];
    for (json& call : *calls) {
      if (!call.is_object()) continue;
      const auto id = call.find("id");
      const std::string* id_text =
          id != call.end() && id->is_string() ? id->get_ptr<const std::string*>() : nullptr;
      const auto given = call.find("index");
      if (given != call.end() && given->is_number_integer()) {
        indexed_ = true;
        state.last_index = std::max(state.last_index, given->get<long long>());
      } else {
        const bool next_call =
            state.last_index < 0 || (id_text && !id_text->empty() && *id_text != state.last_id);
        if (next_call) ++state.last_index;
        call["index"] = state.last_index;
        changed = true;
      }
      if (id_text && !id_text->empty()) state.last_id = *id_text;
    }
  }
  return changed;
}

bool ToolCallIndexes::fill(std::string& data) {
  if (indexed_ || data.find("\"tool_calls\"") == std::string::npos) return false;
  json chunk;
  if (!parse_json(data, chunk).ok || !chunk.is_object() || !fill(chunk)) return false;
  data = chunk.dump(-1, ' ', false, json::error_handler_t::replace);
  return true;
}

}  // namespace llm_router::api
