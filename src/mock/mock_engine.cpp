#include "llm_router/mock/mock_engine.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cctype>
#include <cmath>
#include <ctime>
#include <optional>
#include <span>

#include "llm_router/api/errors.hpp"
#include "llm_router/api/image_tokens.hpp"
#include "llm_router/api/openai_request.hpp"
#include "llm_router/core/base64.hpp"

namespace llm_router::mock {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

void collect_text(const json& value, std::string& out) {
  if (value.is_string()) {
    out += value.get_ref<const std::string&>();
    out += ' ';
  } else if (value.is_array()) {
    for (const auto& item : value) collect_text(item, out);
  } else if (value.is_object()) {
    if (auto it = value.find("content"); it != value.end()) collect_text(*it, out);
    if (auto it = value.find("text"); it != value.end()) collect_text(*it, out);
  }
}

std::string request_text(const json& body) {
  std::string text;
  for (const char* key : {"messages", "prompt", "input"}) {
    if (auto it = body.find(key); it != body.end()) collect_text(*it, text);
  }
  return text;
}

std::string last_user_text(const json& body) {
  if (auto messages = body.find("messages"); messages != body.end() && messages->is_array()) {
    for (auto it = messages->rbegin(); it != messages->rend(); ++it) {
      const auto role = it->is_object() ? it->find("role") : it->end();
      if (role != it->end() && *role == "user") {
        std::string text;
        collect_text(*it, text);
        return text;
      }
    }
  }
  return request_text(body);
}

std::vector<std::string> split_words(std::string_view text, size_t limit) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size() && words.size() < limit) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    if (j > i) words.emplace_back(text.substr(i, j - i));
    i = j;
  }
  return words;
}

// A deterministic answer: a preamble naming the model, then the prompt's words echoed back,
// then filler, cut to the token count. Each token is a word with its leading space.
std::vector<std::string> make_tokens(std::string_view model, const std::string& prompt, int count) {
  static constexpr std::string_view kFiller[] = {"the",  "answer", "is",     "based", "on",
                                                 "what", "you",    "asked,", "and",   "so"};
  std::vector<std::string> source = split_words("This is " + std::string(model) + " answering:", 8);
  for (auto& w : split_words(prompt, 32)) source.push_back(std::move(w));
  std::vector<std::string> tokens;
  tokens.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    const size_t index = static_cast<size_t>(i);
    std::string word =
        index < source.size() ? source[index] : std::string(kFiller[index % std::size(kFiller)]);
    tokens.push_back(i == 0 ? word : " " + word);
  }
  if (!tokens.empty()) tokens.back() += ".";
  return tokens;
}

int requested_cap(const json& body) {
  for (const char* key : {"max_completion_tokens", "max_tokens"}) {
    if (auto it = body.find(key); it != body.end() && it->is_number_integer()) {
      return std::max(0, it->get<int>());
    }
  }
  return -1;
}

template <typename T>
void override_from(const json& control, const char* key, T& target) {
  if (auto it = control.find(key); it != control.end() && !it->is_null()) {
    try {
      target = it->get<T>();
    } catch (const json::exception&) {
      // An ill-typed control field is ignored: the mock never fails on its own controls.
    }
  }
}

void override_duration(const json& control, const char* key, milliseconds& target) {
  long long ms = target.count();
  override_from(control, key, ms);
  target = milliseconds(std::max(0LL, ms));
}

std::string next_id() {
  static std::atomic<std::uint64_t> counter{0};
  return "mock-" + std::to_string(counter.fetch_add(1, std::memory_order_relaxed) + 1);
}

json usage_json(const Plan& plan) {
  const int completion = static_cast<int>(plan.tokens.size()) * plan.choices;
  return {{"prompt_tokens", plan.prompt_tokens},
          {"completion_tokens", completion},
          {"total_tokens", plan.prompt_tokens + completion}};
}

std::string joined(const std::vector<std::string>& tokens) {
  std::string text;
  for (const auto& t : tokens) text += t;
  return text;
}

std::int64_t now_seconds() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

// Fields of a request body the mock reads, whatever their types: "" / {} when not a string /
// an object (the mock never fails on a field of an unexpected type).
std::string string_at(const json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const json& object_at(const json& object, const char* key) {
  static const json kEmpty = json::object();
  if (!object.is_object()) return kEmpty;
  const auto it = object.find(key);
  return it != object.end() && it->is_object() ? *it : kEmpty;
}

// An image or audio part's prompt tokens as a real model counts them: images as OpenAI prices
// them (chat's `image_url: {url, detail}`, Responses' `input_image`), audio as the router's
// estimate does.
std::int64_t part_tokens(const json& part) {
  const std::string type = string_at(part, "type");
  if (type == "input_audio") return api::RequestSummary::kAudioTokens;
  if (type != "image_url" && type != "input_image") return 0;
  // Views, not copies: a data URL may be megabytes.
  const auto view = [](const json& object, const char* key) {
    const auto found = object.find(key);
    return found != object.end() && found->is_string()
               ? std::string_view(found->get_ref<const std::string&>())
               : std::string_view();
  };
  const auto image = part.find("image_url");
  const bool nested = image != part.end() && image->is_object();
  const std::string_view url = nested ? view(*image, "url") : view(part, "image_url");
  const std::string_view detail = nested ? view(*image, "detail") : view(part, "detail");
  return api::image_tokens(api::data_url_image_size(url), api::image_detail(detail));
}

std::int64_t media_tokens(const json& body) {
  std::int64_t tokens = 0;
  for (const char* key : {"messages", "input"}) {
    const auto items = body.find(key);
    if (items == body.end() || !items->is_array()) continue;
    for (const auto& item : *items) {
      const auto content = item.is_object() ? item.find("content") : item.end();
      if (content == item.end() || !content->is_array()) continue;
      for (const auto& part : *content) {
        if (part.is_object()) tokens += part_tokens(part);
      }
    }
  }
  return tokens;
}

constexpr int kMaxPlaceholderValues = 10'000;

// A number inside the schema's bounds: 1 when they allow it, else the bound nearest to it.
json number_for(const json& schema, bool integer) {
  const auto bound = [&](const char* key) -> std::optional<double> {
    auto it = schema.find(key);
    if (it == schema.end() || !it->is_number()) return std::nullopt;
    return it->get<double>();
  };
  const double step = integer ? 1.0 : 0.5;
  double low = -1e18;
  double high = 1e18;
  if (auto v = bound("minimum")) low = *v;
  if (auto v = bound("exclusiveMinimum")) low = std::max(low, *v + step);
  if (auto v = bound("maximum")) high = *v;
  if (auto v = bound("exclusiveMaximum")) high = std::min(high, *v - step);
  double value = std::clamp(1.0, low, std::max(low, high));
  if (integer) {
    value = std::ceil(value);
    return static_cast<long long>(value);
  }
  return value;
}

// A string of the schema's `format` (email, date-time, uuid, uri, ...) and length bounds.
json string_for(const json& schema) {
  static const std::pair<std::string_view, std::string_view> kFormats[] = {
      {"email", "user@example.com"},
      {"date-time", "2026-01-01T00:00:00Z"},
      {"date", "2026-01-01"},
      {"time", "00:00:00Z"},
      {"duration", "PT1H"},
      {"uuid", "00000000-0000-4000-8000-000000000000"},
      {"uri", "https://example.com/"},
      {"url", "https://example.com/"},
      {"hostname", "example.com"},
      {"ipv4", "127.0.0.1"},
      {"ipv6", "::1"}};
  std::string value = "mock";
  const std::string format = string_at(schema, "format");
  for (const auto& [name, sample] : kFormats) {
    if (format == name) value = sample;
  }
  const auto length = [&](const char* key) -> std::optional<std::size_t> {
    auto it = schema.find(key);
    if (it == schema.end() || !it->is_number_unsigned()) return std::nullopt;
    return std::min<std::size_t>(it->get<std::size_t>(), 256);
  };
  if (auto min = length("minLength"); min && value.size() < *min) value.resize(*min, 'x');
  if (auto max = length("maxLength"); max && value.size() > *max) value.resize(*max);
  return value;
}

// A value of the JSON-schema type `schema` asks for: the first enum value, or a placeholder.
// `$ref` to the root's `$defs`/`definitions` is followed; `anyOf`/`oneOf` take their first
// non-null branch, `allOf` merges its branches' properties; arrays get `minItems` items (at
// most 8). `budget` bounds the values made, so a recursive schema cannot blow up.
json placeholder_for(const json& schema, const json& root, int& budget, int depth = 0) {
  if (!schema.is_object() || depth > 8 || --budget < 0) return "mock";
  if (const std::string ref = string_at(schema, "$ref"); !ref.empty()) {
    constexpr std::pair<std::string_view, const char*> kDefinitions[] = {
        {"#/$defs/", "$defs"}, {"#/definitions/", "definitions"}};
    for (const auto& [prefix, key] : kDefinitions) {
      if (ref.starts_with(prefix)) {
        const std::string name = ref.substr(prefix.size());
        return placeholder_for(object_at(object_at(root, key), name.c_str()), root, budget,
                               depth + 1);
      }
    }
    return ref == "#" ? placeholder_for(root, root, budget, depth + 1) : json("mock");
  }
  if (auto values = schema.find("enum");
      values != schema.end() && values->is_array() && !values->empty()) {
    return values->front();
  }
  if (auto constant = schema.find("const"); constant != schema.end()) return *constant;
  for (const char* key : {"anyOf", "oneOf"}) {
    if (auto branches = schema.find(key); branches != schema.end() && branches->is_array()) {
      for (const auto& branch : *branches) {
        if (string_at(branch, "type") != "null")
          return placeholder_for(branch, root, budget, depth + 1);
      }
    }
  }
  if (auto parts = schema.find("allOf"); parts != schema.end() && parts->is_array()) {
    json merged = json::object();
    for (const auto& part : *parts) {
      json value = placeholder_for(part, root, budget, depth + 1);
      if (value.is_object()) merged.update(value);
    }
    return merged;
  }
  const std::string kind = string_at(schema, "type");
  if (kind == "integer" || kind == "number") return number_for(schema, kind == "integer");
  if (kind == "string") return string_for(schema);
  if (kind == "boolean") return true;
  if (kind == "null") return nullptr;
  if (kind == "array") {
    json items = json::array();
    const auto min_items = schema.find("minItems");
    const int count = min_items != schema.end() && min_items->is_number_integer()
                          ? std::clamp(min_items->get<int>(), 0, 8)
                          : 0;
    for (int i = 0; i < count; ++i)
      items.push_back(placeholder_for(object_at(schema, "items"), root, budget, depth + 1));
    return items;
  }
  if (kind == "object" || schema.contains("properties")) {
    json out = json::object();
    for (const auto& [name, property] : object_at(schema, "properties").items()) {
      out[name] = placeholder_for(property, root, budget, depth + 1);
    }
    return out;
  }
  return "mock";
}

// Tool arguments are a JSON object whatever the schema says (none, `{}`, not an object).
json arguments_for(const json& parameters) {
  int budget = kMaxPlaceholderValues;
  json value = placeholder_for(parameters, parameters, budget);
  return value.is_object() ? value : json::object();
}

// The function a tool-calling model would call now, or null: the one tool_choice names, else
// the first offered; none when tool_choice is "none" or the last message is a tool's result
// (the model answers in words after the round trip).
const json* chosen_function(const json& body) {
  const auto tools = body.find("tools");
  if (tools == body.end() || !tools->is_array() || tools->empty()) return nullptr;
  const auto choice = body.find("tool_choice");
  if (choice != body.end() && *choice == "none") return nullptr;
  if (auto messages = body.find("messages"); messages != body.end() && messages->is_array() &&
                                             !messages->empty() &&
                                             string_at(messages->back(), "role") == "tool") {
    return nullptr;
  }
  const std::string wanted =
      choice != body.end() ? string_at(object_at(*choice, "function"), "name") : std::string();
  for (const auto& tool : *tools) {
    const json& function = object_at(tool, "function");
    const std::string name = string_at(function, "name");
    if (!name.empty() && (wanted.empty() || name == wanted)) return &function;
  }
  return nullptr;
}

// JSON mode: {"answer": <the text>}; a json_schema: an object of its properties' placeholders.
std::optional<std::string> json_mode_content(const json& body, const std::string& text) {
  const json& format = object_at(body, "response_format");
  const std::string type = string_at(format, "type");
  if (type == "json_object") return json{{"answer", text}}.dump();
  if (type != "json_schema") return std::nullopt;
  const json& schema = object_at(object_at(format, "json_schema"), "schema");
  int budget = kMaxPlaceholderValues;
  return placeholder_for(schema, schema, budget).dump();
}

// Splits text into pieces of about 16 bytes, at UTF-8 character starts: stream deltas.
std::vector<std::string> pieces_of(const std::string& text) {
  std::vector<std::string> pieces;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = std::min(start + 16, text.size());
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
    pieces.push_back(text.substr(start, end - start));
    start = end;
  }
  return pieces;
}

}  // namespace

namespace {

// The answer ends before the first of the request's `stop` sequences, as a model's would.
void cut_at_stop(const json& body, Plan& plan) {
  const auto stop = body.find("stop");
  if (stop == body.end()) return;
  std::vector<std::string> sequences;
  if (stop->is_string()) sequences.push_back(stop->get<std::string>());
  if (stop->is_array()) {
    for (const auto& item : *stop) {
      if (item.is_string()) sequences.push_back(item.get<std::string>());
    }
  }
  const std::string text = joined(plan.tokens);
  std::size_t cut = std::string::npos;
  for (const auto& sequence : sequences) {
    if (!sequence.empty()) cut = std::min(cut, text.find(sequence));
  }
  if (cut == std::string::npos) return;
  std::vector<std::string> kept;
  std::size_t length = 0;
  for (auto& token : plan.tokens) {
    if (length >= cut) break;
    if (length + token.size() > cut) token.resize(cut - length);
    length += token.size();
    kept.push_back(std::move(token));
  }
  plan.tokens = std::move(kept);
  plan.finish_reason = "stop";
}

}  // namespace

int estimate_prompt_tokens(const json& body) {
  const std::string text = request_text(body);
  return static_cast<int>(text.size() / 4) + 1 + static_cast<int>(media_tokens(body));
}

Plan make_plan(const json& body, Endpoint endpoint, const config::MockBehavior& defaults,
               std::string_view model, double random01) {
  Plan plan;
  plan.endpoint = endpoint;
  plan.model = std::string(model);
  plan.id = next_id();
  plan.status = defaults.status;
  plan.hang = defaults.hang;
  plan.drop_after_tokens = defaults.drop_after_tokens;
  plan.time_to_first_token = defaults.time_to_first_token;
  plan.token_delay = defaults.token_delay;
  plan.retry_after = defaults.retry_after;
  plan.error_event = defaults.error_event;
  plan.omit_usage = defaults.omit_usage;
  // Embeddings are never streamed; OpenAI ignores the field there.
  if (endpoint != Endpoint::embeddings) override_from(body, "stream", plan.stream);
  if (auto options = body.find("stream_options"); options != body.end() && options->is_object()) {
    override_from(*options, "include_usage", plan.include_usage);
  }
  plan.prompt_tokens = estimate_prompt_tokens(body);
  if (auto n = body.find("n"); n != body.end() && n->is_number_integer()) {
    plan.choices = std::clamp(n->get<int>(), 1, 8);
  }
  if (endpoint == Endpoint::completions) {
    // A legacy completion answers each prompt of a list (n choices each, in order), and with
    // `echo` repeats the prompt before its text.
    const auto prompt_list = body.find("prompt");
    // (A list of token ids is one prompt; a list of texts or of token-id lists is several.)
    if (prompt_list != body.end() && prompt_list->is_array() && !prompt_list->empty() &&
        (prompt_list->front().is_string() || prompt_list->front().is_array())) {
      plan.choices *= static_cast<int>(std::min<std::size_t>(prompt_list->size(), 16));
    }
    const auto echo = body.find("echo");
    if (echo != body.end() && *echo == true) plan.echoed = last_user_text(body);
  }

  const std::string prompt = last_user_text(body);
  int count = defaults.completion_tokens > 0
                  ? defaults.completion_tokens
                  : std::clamp(12 + static_cast<int>(prompt.size()) / 16, 12, 48);
  std::string content = defaults.content;
  if (auto control = body.find("mock"); control != body.end() && control->is_object()) {
    override_from(*control, "status", plan.status);
    override_from(*control, "hang", plan.hang);
    override_from(*control, "drop_after_tokens", plan.drop_after_tokens);
    override_from(*control, "error_event", plan.error_event);
    override_from(*control, "tokens", count);
    override_from(*control, "content", content);
    override_from(*control, "finish_reason", plan.finish_reason);
    override_duration(*control, "ttft_ms", plan.time_to_first_token);
    override_duration(*control, "token_delay_ms", plan.token_delay);
    override_duration(*control, "retry_after_ms", plan.retry_after);
  }
  if (plan.status == 200 && random01 < defaults.failure_rate) plan.status = 500;

  count = std::clamp(count, 0, 100'000);
  if (const int cap = requested_cap(body); cap >= 0 && cap < count) {
    count = cap;
    plan.finish_reason = "length";
  }
  if (!content.empty()) {
    plan.tokens = split_words(content, 100'000);
    for (size_t i = 1; i < plan.tokens.size(); ++i) plan.tokens[i].insert(0, " ");
  } else {
    plan.tokens = make_tokens(model, prompt, count);
  }
  cut_at_stop(body, plan);
  // A legacy completion's "logprobs" is how many alternatives to list per token (0-5).
  if (auto logprobs = body.find("logprobs"); endpoint == Endpoint::completions &&
                                             logprobs != body.end() &&
                                             logprobs->is_number_integer()) {
    plan.logprobs = true;
    plan.top_logprobs = std::clamp(logprobs->get<int>(), 0, 5);
  }
  if (endpoint != Endpoint::chat) return plan;
  if (auto logprobs = body.find("logprobs"); logprobs != body.end() && *logprobs == true) {
    plan.logprobs = true;
    if (auto top = body.find("top_logprobs"); top != body.end() && top->is_number_integer()) {
      plan.top_logprobs = std::clamp(top->get<int>(), 0, 20);
    }
    if (auto control = body.find("mock"); control != body.end() && control->is_object()) {
      if (auto value = control->find("logprob"); value != control->end() && value->is_number()) {
        plan.logprob = value->get<double>();
      }
    }
  }
  if (const json* function = chosen_function(body)) {
    plan.tool_name = string_at(*function, "name");
    plan.tool_call_id = "call_" + plan.id;
    plan.tokens = {arguments_for(object_at(*function, "parameters")).dump()};
    plan.finish_reason = "tool_calls";
  } else if (auto json_text = json_mode_content(body, joined(plan.tokens))) {
    plan.tokens = pieces_of(*json_text);
  }
  return plan;
}

namespace {

// `choice` as choices 0..count-1 (the request's "n").
json numbered_copies(json choice, int count) {
  json out = json::array();
  for (int i = 0; i < count; ++i) {
    choice["index"] = i;
    out.push_back(choice);
  }
  return out;
}

// With n > 1 each choice's tool call gets its own id ("call_mock-3", "call_mock-3-1", ...), as
// the SDKs key calls by id.
void number_call_ids(json& choices, const char* part) {
  for (std::size_t i = 1; i < choices.size(); ++i) {
    json& calls = choices[i][part]["tool_calls"];
    if (calls.is_array() && !calls.empty() && calls[0].contains("id")) {
      calls[0]["id"] = calls[0]["id"].get<std::string>() + "-" + std::to_string(i);
    }
  }
}

// OpenAI's logprob entry for one token: its logprob, bytes and `top` alternatives, the token
// itself first.
json logprob_entry(const Plan& plan, const std::string& token) {
  const double logprob = plan.logprob.value_or(-static_cast<double>(fnv1a(token) % 500) / 1000.0);
  const auto entry = [](const std::string& text, double value) {
    json bytes = json::array();
    for (unsigned char c : text) bytes.push_back(c);
    return json{{"token", text}, {"logprob", value}, {"bytes", std::move(bytes)}};
  };
  json out = entry(token, logprob);
  json top = json::array();
  for (int i = 0; i < plan.top_logprobs; ++i) {
    top.push_back(i == 0 ? entry(token, logprob)
                         : entry(token + "_" + std::to_string(i), logprob - 1.0 - i));
  }
  out["top_logprobs"] = std::move(top);
  return out;
}

// A legacy completion choice's "logprobs": parallel lists of the tokens, their logprobs, their
// alternatives (token -> logprob) and where each starts in the choice's text.
json legacy_logprobs_of(const Plan& plan, std::span<const std::string> tokens, std::size_t offset) {
  json out = {{"tokens", json::array()},
              {"token_logprobs", json::array()},
              {"top_logprobs", json::array()},
              {"text_offset", json::array()}};
  for (const auto& token : tokens) {
    const json entry = logprob_entry(plan, token);
    out["tokens"].push_back(token);
    out["token_logprobs"].push_back(entry["logprob"]);
    json top = json::object();
    for (const auto& alternative : entry["top_logprobs"]) {
      top[alternative["token"].get<std::string>()] = alternative["logprob"];
    }
    out["top_logprobs"].push_back(std::move(top));
    out["text_offset"].push_back(offset);
    offset += token.size();
  }
  return out;
}

// A choice's "logprobs" for `tokens` (starting at `offset` of a legacy choice's text): null
// unless the request asked for them.
json logprobs_of(const Plan& plan, std::span<const std::string> tokens, std::size_t offset = 0) {
  if (!plan.logprobs || plan.calls_tool()) return nullptr;
  if (plan.endpoint == Endpoint::completions) return legacy_logprobs_of(plan, tokens, offset);
  json content = json::array();
  for (const auto& token : tokens) content.push_back(logprob_entry(plan, token));
  return {{"content", std::move(content)}, {"refusal", nullptr}};
}

}  // namespace

std::string completion_body(const Plan& plan) {
  const std::string text = joined(plan.tokens);
  json choice = {{"index", 0},
                 {"finish_reason", plan.finish_reason},
                 {"logprobs", logprobs_of(plan, plan.tokens, plan.echoed.size())}};
  json body = {{"id", plan.id}, {"created", now_seconds()}, {"model", plan.model}};
  if (plan.endpoint == Endpoint::completions) {
    choice["text"] = plan.echoed + text;
    body["object"] = "text_completion";
  } else if (plan.calls_tool()) {
    choice["message"] = {
        {"role", "assistant"},
        {"content", nullptr},
        {"refusal", nullptr},
        {"tool_calls",
         json::array({{{"id", plan.tool_call_id},
                       {"type", "function"},
                       {"function", {{"name", plan.tool_name}, {"arguments", text}}}}})}};
    body["object"] = "chat.completion";
  } else {
    choice["message"] = {{"role", "assistant"}, {"content", text}, {"refusal", nullptr}};
    body["object"] = "chat.completion";
  }
  body["choices"] = numbered_copies(std::move(choice), plan.choices);
  if (plan.calls_tool()) number_call_ids(body["choices"], "message");
  if (!plan.omit_usage) body["usage"] = usage_json(plan);
  return body.dump();
}

std::string chunk_data(const Plan& plan, std::size_t token_index) {
  const std::string& token = plan.tokens[token_index];
  std::size_t offset = 0;  // where the token starts in a legacy choice's text
  for (std::size_t i = 0; i < token_index; ++i) offset += plan.tokens[i].size();
  json choice = {{"index", 0},
                 {"finish_reason", nullptr},
                 {"logprobs", logprobs_of(plan, std::span<const std::string>(&token, 1), offset)}};
  json body = {{"id", plan.id}, {"created", now_seconds()}, {"model", plan.model}};
  if (plan.endpoint == Endpoint::completions) {
    choice["text"] = token;
    body["object"] = "text_completion";
  } else if (plan.calls_tool()) {
    // The call opens with its id and name, then its arguments arrive as text.
    json call = {{"index", 0}, {"function", {{"arguments", token}}}};
    if (token_index == 0) {
      call["id"] = plan.tool_call_id;
      call["type"] = "function";
      call["function"]["name"] = plan.tool_name;
    }
    choice["delta"] = {{"tool_calls", json::array({call})}};
    if (token_index == 0) choice["delta"]["role"] = "assistant";
    body["object"] = "chat.completion.chunk";
  } else {
    choice["delta"] = token_index == 0 ? json{{"role", "assistant"}, {"content", token}}
                                       : json{{"content", token}};
    body["object"] = "chat.completion.chunk";
  }
  body["choices"] = numbered_copies(std::move(choice), plan.choices);
  if (plan.calls_tool() && token_index == 0) number_call_ids(body["choices"], "delta");
  return body.dump();
}

std::string final_chunk_data(const Plan& plan) {
  json choice = {{"index", 0}, {"finish_reason", plan.finish_reason}, {"logprobs", nullptr}};
  json body = {{"id", plan.id}, {"created", now_seconds()}, {"model", plan.model}};
  if (plan.endpoint == Endpoint::completions) {
    choice["text"] = "";
    body["object"] = "text_completion";
  } else {
    choice["delta"] = json::object();
    body["object"] = "chat.completion.chunk";
  }
  body["choices"] = numbered_copies(std::move(choice), plan.choices);
  return body.dump();
}

std::string usage_chunk_data(const Plan& plan) {
  json body = {{"id", plan.id},
               {"object", plan.endpoint == Endpoint::completions ? "text_completion"
                                                                 : "chat.completion.chunk"},
               {"created", now_seconds()},
               {"model", plan.model},
               {"choices", json::array()},
               {"usage", usage_json(plan)}};
  return body.dump();
}

namespace {

// A hashed bag of words: each lowercased word adds +-1 to the dimension its hash picks; the sum
// is normalised (all zeros for a text without words). Deterministic, and texts sharing words
// point the same way, so semantic routing through it can be tested.
std::vector<double> bag_of_words_vector(std::string_view text, int dimensions) {
  std::vector<double> vector(static_cast<size_t>(dimensions), 0.0);
  std::string word;
  auto add_word = [&] {
    if (word.empty()) return;
    const std::uint64_t hash = fnv1a(word);
    vector[hash % vector.size()] += (hash >> 63) != 0 ? -1.0 : 1.0;
    word.clear();
  };
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || byte >= 0x80) {
      word += static_cast<char>(std::tolower(byte));
    } else {
      add_word();
    }
  }
  add_word();
  double norm = 0;
  for (double v : vector) norm += v * v;
  if (norm > 0) {
    for (auto& v : vector) v /= std::sqrt(norm);
  }
  return vector;
}

// OpenAI's encoding_format "base64": the float32 values' little-endian bytes.
std::string base64_floats(const std::vector<double>& vector) {
  std::string bytes;
  bytes.reserve(vector.size() * 4);
  for (const double value : vector) {
    const auto bits = std::bit_cast<std::uint32_t>(static_cast<float>(value));
    for (int shift = 0; shift < 32; shift += 8) bytes += static_cast<char>((bits >> shift) & 0xFF);
  }
  return core::base64_encode(bytes);
}

// The texts to embed: a string, an array of strings, one array of token ids, or an array of
// token-id arrays (token ids are embedded as their JSON text).
std::vector<std::string> embedding_inputs(const json& input) {
  std::vector<std::string> inputs;
  if (input.is_string()) {
    inputs.push_back(input.get<std::string>());
  } else if (input.is_array() && !input.empty() &&
             std::all_of(input.begin(), input.end(), [](const json& v) { return v.is_number(); })) {
    inputs.push_back(input.dump());
  } else if (input.is_array()) {
    for (const auto& item : input) {
      inputs.push_back(item.is_string() ? item.get<std::string>() : item.dump());
    }
  }
  return inputs;
}

}  // namespace

std::string embeddings_body(const json& request, const Plan& plan) {
  static const json kEmpty = json::object();
  const json& body = request.is_object() ? request : kEmpty;  // value() throws on others
  std::vector<std::string> inputs;
  if (auto input = body.find("input"); input != body.end()) inputs = embedding_inputs(*input);
  const auto format = body.find("encoding_format");
  const bool base64 = format != body.end() && *format == "base64";
  int dimensions = 256;
  if (auto it = body.find("dimensions"); it != body.end() && it->is_number_integer()) {
    dimensions = std::clamp(it->get<int>(), 1, 4096);
  }
  json data = json::array();
  int tokens = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<double> vector = bag_of_words_vector(inputs[i], dimensions);
    data.push_back({{"object", "embedding"},
                    {"index", i},
                    {"embedding", base64 ? json(base64_floats(vector)) : json(vector)}});
    tokens += static_cast<int>(inputs[i].size() / 4) + 1;
  }
  return json{{"object", "list"},
              {"data", std::move(data)},
              {"model", plan.model},
              {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}}
      .dump();
}

std::string error_body_for(int status) {
  if (status == 429) {
    return api::error_body("Rate limit reached for requests (mock)", "rate_limit_error", "",
                           "rate_limit_exceeded");
  }
  if (status == 400) {
    return api::error_body("Bad request (mock)", "invalid_request_error", "", "invalid_request");
  }
  if (status == 401) {
    return api::error_body("Incorrect API key provided (mock)", "invalid_request_error", "",
                           "invalid_api_key");
  }
  if (status == 403 || status == 404) {
    return api::error_body(status == 403 ? "Forbidden (mock)" : "Not found (mock)",
                           "invalid_request_error", "", status == 403 ? "forbidden" : "not_found");
  }
  if (status >= 400 && status < 500) {
    return api::error_body("The request was rejected (mock status " + std::to_string(status) + ")",
                           "invalid_request_error", "", "invalid_request");
  }
  return api::error_body("The server had an error while processing your request (mock status " +
                             std::to_string(status) + ")",
                         "server_error", "", "server_error");
}

}  // namespace llm_router::mock
