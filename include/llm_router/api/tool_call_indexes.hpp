#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace llm_router::api {

// Some backends (Gemini's OpenAI-compatible endpoint) stream tool calls without the `index`
// OpenAI gives every `choices[].delta.tool_calls[]` entry. SDKs merge deltas by that index, so
// two such calls become one (arguments `{"city":"Paris"}{"city":"Rome"}`) or none. This fills
// it in as the calls arrive: an entry with a new id starts the next call, one without an id (or
// with the same id) continues the last. One per stream.
class ToolCallIndexes {
 public:
  // Adds the missing indexes to a chunk (true if it changed).
  bool fill(nlohmann::json& chunk);
  // The same for an event's data; it is parsed and rewritten only when it holds a tool call.
  bool fill(std::string& data);

 private:
  struct Choice {
    std::string last_id;
    long long last_index = -1;
  };
  std::map<long long, Choice> choices_;  // by choice index
  bool indexed_ = false;  // the backend gave an index: it gives them all, nothing to read
};

}  // namespace llm_router::api
