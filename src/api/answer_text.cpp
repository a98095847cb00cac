#include "llm_router/api/answer_text.hpp"

#include <string.h>

#include <nlohmann/json.hpp>

#include "llm_router/api/json_parse.hpp"

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
    for (const char* key : {"content", "reasoning_content", "reasoning", "refusal"}) {
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

namespace {

std::size_t skip_space(std::string_view body, std::size_t i) {
  while (i < body.size() &&
         (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n')) {
    ++i;
  }
  return i;
}

// Where the value of the member whose name token `"name"` is at `at` starts, or body.size().
std::size_t value_after(std::string_view body, std::size_t at, std::string_view token) {
  const std::size_t i = skip_space(body, at + token.size());
  if (i >= body.size() || body[i] != ':') return body.size();
  return skip_space(body, i + 1);
}

// The byte that starts that value, or 0.
char value_start_after(std::string_view body, std::size_t at, std::string_view token) {
  const std::size_t i = value_after(body, at, token);
  return i < body.size() ? body[i] : 0;
}

// The member `list` of the top-level object is a non-empty array of objects (its first item
// an object): it follows `"name"` at `at` (a JSON string token: inside a string its quotes
// would be escaped).
bool array_of_objects_after(std::string_view body, std::size_t at, std::string_view token) {
  const std::size_t open = value_after(body, at, token);
  if (open >= body.size() || body[open] != '[') return false;
  const std::size_t first = skip_space(body, open + 1);
  return first < body.size() && body[first] == '{';
}

// What a choice must hold to be one: a chat `message` object, a completion's `text` string.
struct ChoiceShape {
  std::string_view token;  // "\"message\"" or "\"text\""
  char value_start;        // '{' or '"'
};

ChoiceShape choice_shape(Endpoint endpoint) {
  if (endpoint == Endpoint::completions) return {"\"text\"", '"'};
  return {"\"message\"", '{'};
}

// A choice that is an object with the shape's member of the right kind, or with none of it (or
// a null one) but a `finish_reason` (a reply withheld by a content filter).
bool usable_choice(JsonCursor& cursor, std::string_view member, char value_start) {
  if (cursor.peek() != '{' || !cursor.enter_object()) return false;
  bool has_member = false;  // and not null
  bool good_member = false;
  bool finished = false;
  std::string_view name;
  while (cursor.next_member(name)) {
    if (name == member && cursor.peek() != 'n') {
      has_member = true;
      good_member = cursor.peek() == value_start;
    } else if (name == "finish_reason") {
      finished = cursor.peek() == '"';
    }
    if (!cursor.skip_value()) return false;
  }
  return has_member ? good_member : finished;
}

// The precise reading, for answers the quick one doubts.
std::optional<std::string> read_answer_outline(std::string_view body, std::string_view list,
                                               Endpoint endpoint) {
  const ChoiceShape shape = choice_shape(endpoint);
  const std::string_view member = shape.token.substr(1, shape.token.size() - 2);
  const bool choices = list == "choices";
  bool bad_item = false;
  JsonCursor cursor(body);
  if (cursor.peek() != '{' || !cursor.enter_object()) return "the answer is not a JSON object";
  bool has_list = false;
  std::string_view name;
  while (cursor.next_member(name)) {
    if (name == "error" && cursor.peek() != 'n') {
      return "the backend answered 2xx with an error object";
    }
    if (name == list && cursor.peek() == '[') {
      if (!cursor.enter_array()) break;
      while (cursor.next_item()) {
        has_list = true;
        if (choices ? !usable_choice(cursor, member, shape.value_start)
                    : cursor.peek() != '{' || !cursor.skip_value()) {
          bad_item = !cursor.failed();
          break;
        }
      }
      if (bad_item) break;
      continue;
    }
    if (!cursor.skip_value()) break;
  }
  if (bad_item) {
    return "the answer's `" + std::string(list) + "` are not " +
           (choices ? "completion choices" : "objects");
  }
  if (cursor.failed() || !cursor.finish()) return "the answer is not valid JSON";
  if (!has_list) return "the answer has no `" + std::string(list) + "`";
  return std::nullopt;
}

// Where the JSON string token `"name"` first occurs, if anywhere: memmem for `name"` (a
// letter is rarer in JSON than a quote), then the quote before it.
std::size_t find_token(std::string_view body, std::string_view quoted_name) {
  const std::string_view tail = quoted_name.substr(1);
  std::size_t from = 1;
  while (from < body.size()) {
    const void* hit = memmem(body.data() + from, body.size() - from, tail.data(), tail.size());
    if (hit == nullptr) return std::string_view::npos;
    const auto at = static_cast<std::size_t>(static_cast<const char*>(hit) - body.data());
    if (body[at - 1] == '"') return at - 1;
    from = at + 1;
  }
  return std::string_view::npos;
}

}  // namespace

std::optional<std::string> answer_problem(std::string_view body, Endpoint endpoint,
                                          std::size_t* usage_at) {
  if (!looks_like_json_object(body)) {
    return "the backend answered with a body that is not a JSON object";
  }
  // A body cut short (a close-delimited one that lost its end still starts and ends like an
  // object), glued to another or broken inside is the backend's failure: no SDK reads it.
  AnswerOutline outline;
  if (!is_json_object(body, outline)) {
    return "the backend answered with a body that is not valid JSON";
  }
  if (usage_at != nullptr) *usage_at = outline.usage;
  const bool embeddings = endpoint == Endpoint::embeddings;
  const std::string_view token = embeddings ? "\"data\"" : "\"choices\"";
  const std::size_t at = embeddings ? outline.data : outline.choices;
  // Choices (or embeddings) that look right at a glance make an answer usable whatever else it
  // holds: the list's first item is an object and, for choices, the first `message` (`text`)
  // member holds an object (a string). Anything else is read in full, to say why (an error
  // object sent with status 200, no choices, choices that are not completions).
  if (at != std::string_view::npos && array_of_objects_after(body, at, token)) {
    if (endpoint == Endpoint::embeddings) return std::nullopt;
    const ChoiceShape shape = choice_shape(endpoint);
    const std::size_t member = find_token(body.substr(at), shape.token);
    if (member != std::string_view::npos &&
        value_start_after(body, at + member, shape.token) == shape.value_start) {
      return std::nullopt;
    }
  }
  return read_answer_outline(body, token.substr(1, token.size() - 2), endpoint);
}

}  // namespace llm_router::api
