// Client request bodies: parsing, the model splice and the body sent upstream, and the
// answer-side helpers that read upstream bytes (usage, error events, answer text).
#include <nlohmann/json.hpp>

#include <cmath>
#include <optional>
#include <string_view>

#include "fuzz_target.hpp"
#include "llm_router/api/answer_text.hpp"
#include "llm_router/api/embeddings.hpp"
#include "llm_router/api/image_tokens.hpp"
#include "llm_router/api/json_fields.hpp"
#include "llm_router/api/json_parse.hpp"
#include "llm_router/api/openai_request.hpp"
#include "proxy/router_handler.hpp"

namespace {

using llm_router::api::Endpoint;

using llm_router::api::string_field;
using nlohmann::json;

// What an image part costs, read from the DOM: `image_url` over `source`, the URL's own
// `detail` over the part's.
std::int64_t image_part_tokens(const json& part) {
  namespace api = llm_router::api;
  std::optional<api::ImageSize> size;
  const json* detail = part.contains("detail") ? &part["detail"] : nullptr;
  const auto url = part.find("image_url");
  if (url != part.end() && url->is_string()) {
    size = api::data_url_image_size(url->get_ref<const std::string&>());
  } else if (url != part.end() && url->is_object()) {
    size = api::data_url_image_size(string_field(*url, "url"));
    if (url->contains("detail") && (*url)["detail"].is_string()) detail = &(*url)["detail"];
  } else if (const auto source = part.find("source"); source != part.end() && source->is_object()) {
    size = api::base64_image_size(string_field(*source, "data"));
  }
  const std::string_view detail_text =
      detail && detail->is_string() ? std::string_view(detail->get_ref<const std::string&>()) : "";
  return api::image_tokens(size, api::image_detail(detail_text));
}

// The request summary as read from the DOM: what parse_request gathers in its one pass must
// be the same.
void add_content(const json& content, llm_router::api::RequestSummary& out) {
  if (content.is_string()) {
    out.content_chars += content.get_ref<const std::string&>().size();
  } else if (content.is_array()) {
    for (const auto& part : content) {
      // A list `input` or `prompt`: texts, lists of token ids, token ids (four characters each).
      if (part.is_string()) out.content_chars += part.get_ref<const std::string&>().size();
      if (part.is_array()) out.content_chars += 4 * part.size();
      if (part.is_number()) out.content_chars += 4;
      if (!part.is_object()) continue;
      const std::string_view type = string_field(part, "type");
      if (type == "image_url" || type == "input_image" || type == "image") {
        out.has_images = true;
        out.image_tokens += image_part_tokens(part);
      } else if (type == "input_audio" || type == "audio") {
        ++out.audio_parts;
      }
      out.content_chars += string_field(part, "text").size();
    }
  }
}

// The names and strings inside the top-level `tools` array, as written (a DOM keeps one of
// two repeated names): counted by nlohmann's SAX reader, which refuses a few texts ours
// takes (a lone surrogate); then nullopt.
struct ToolTextCounter : nlohmann::json_sax<json> {
  int depth = 0;
  bool top_key_is_tools = false;
  int tools_depth = 0;  // depth of the tools array while inside it, else 0
  std::size_t chars = 0;

  bool inside() const { return tools_depth > 0 && depth >= tools_depth; }
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool string(string_t& value) override {
    if (inside()) chars += value.size();
    return true;
  }
  bool key(string_t& name) override {
    if (depth == 1) top_key_is_tools = name == "tools";
    if (inside()) chars += name.size();
    return true;
  }
  bool start_object(std::size_t) override {
    ++depth;
    return true;
  }
  bool end_object() override {
    --depth;
    return true;
  }
  bool start_array(std::size_t) override {
    ++depth;
    if (depth == 2 && top_key_is_tools && tools_depth == 0) tools_depth = depth;
    return true;
  }
  bool end_array() override {
    if (depth == tools_depth) tools_depth = -1;  // read once: a repeated top-level key is refused
    --depth;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }
};

std::optional<std::size_t> tool_text_chars(std::string_view text) {
  ToolTextCounter counter;
  if (!json::sax_parse(text, &counter)) return std::nullopt;
  return counter.chars;
}

std::string text_of(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string joined;
  if (content.is_array()) {
    for (const auto& part : content) joined += string_field(part, "text");
  }
  return joined;
}

// The summary, and the opening messages' texts the parser leaves to opening_texts().
llm_router::api::RequestSummary summary_from_dom(const json& body, Endpoint endpoint,
                                                 std::vector<std::string>& opening) {
  llm_router::api::RequestSummary out;
  out.user = string_field(body, "user");
  if (auto m = body.find("metadata"); m != body.end() && m->is_object()) out.metadata = *m;
  if (auto t = body.find("tools"); t != body.end() && t->is_array() && !t->empty()) {
    out.has_tools = true;
  }
  out.has_tools = out.has_tools || body.contains("functions");
  if (auto f = body.find("response_format"); f != body.end() && f->is_object()) {
    const std::string_view type = string_field(*f, "type");
    out.json_mode = type == "json_object" || type == "json_schema";
  }
  out.has_stream_options = body.contains("stream_options");
  if (auto o = body.find("stream_options"); o != body.end() && o->is_object()) {
    auto include = o->find("include_usage");
    out.include_usage = include != o->end() && include->is_boolean() && include->get<bool>();
  }
  // (An embedding has no output to cap: its request's max_tokens means nothing.)
  for (const char* key : {"max_completion_tokens", "max_tokens"}) {
    if (endpoint == Endpoint::embeddings) break;
    if (auto cap = body.find(key); cap != body.end() && cap->is_number_integer()) {
      out.max_output_tokens = cap->get<std::int64_t>();
      break;
    }
  }
  if (auto messages = body.find("messages"); messages != body.end() && messages->is_array()) {
    for (const auto& message : *messages) {
      if (!message.is_object()) continue;
      auto content = message.find("content");
      if (content == message.end()) continue;
      add_content(*content, out);
      const std::string_view role = string_field(message, "role");
      if (opening.size() < 2 && (role == "system" || role == "user")) {
        opening.push_back(text_of(*content));
      }
    }
  } else if (auto prompt = body.find("prompt"); prompt != body.end()) {
    add_content(*prompt, out);
  } else if (auto input = body.find("input"); input != body.end()) {
    add_content(*input, out);
  }
  return out;
}

void check_summary(const llm_router::api::ParsedRequest& parsed, std::string_view text,
                   Endpoint endpoint) {
  const auto& got = parsed.summary;
  std::vector<std::string> opening;
  auto want = summary_from_dom(parsed.body(), endpoint, opening);
  const auto tools = tool_text_chars(text);
  want.content_chars += tools.value_or(0);
  require(got.user == want.user && got.metadata == want.metadata);
  require(got.has_tools == want.has_tools && got.json_mode == want.json_mode);
  require(got.has_stream_options == want.has_stream_options);
  require(got.include_usage == want.include_usage);
  require(got.max_output_tokens == want.max_output_tokens);
  require(!tools || got.content_chars == want.content_chars);
  require(got.has_images == want.has_images);
  require(got.image_tokens == want.image_tokens && got.audio_parts == want.audio_parts);
  require(llm_router::api::opening_texts(parsed) == opening);
  require(parsed.model == parsed.body().value("model", std::string()));
  const auto stream = parsed.body().find("stream");
  require(parsed.stream ==
          (stream != parsed.body().end() && stream->is_boolean() && stream->get<bool>()));
}

void check_body_for_backend(std::string_view text, Endpoint endpoint) {
  auto parsed = llm_router::api::parse_request(text, endpoint);
  // The one-pass reading accepts exactly the JSON objects the DOM parser accepts.
  json dom;
  const auto full = llm_router::api::parse_json(text, dom);
  if (!full.ok || !dom.is_object() || full.repeated_top_level_key) {
    require(!parsed && (parsed.failure().kind == llm_router::ErrorKind::invalid_json));
    return;
  }
  if (!parsed) {
    require(parsed.failure().kind != llm_router::ErrorKind::invalid_json);
    return;
  }
  check_summary(*parsed, text, endpoint);
  // The request facts the rules test, and the cascade's look at an answer (here: the same
  // bytes, as if a backend had sent them).
  (void)llm_router::proxy::facts_from(*parsed, llm_router::server::HttpRequest{}, true);
  llm_router::config::CascadeSettings cascade;
  cascade.enabled = true;
  cascade.min_mean_logprob = -1.0;
  (void)llm_router::proxy::weak_answer_reason(text, cascade, parsed->body());
  const std::string body = llm_router::api::body_for_backend(
      *parsed, "backend-model", llm_router::api::StreamOptions::ask_usage);
  // Whatever the client sent, the backend gets valid JSON naming the backend's model (valid as
  // our parser reads it: an unpaired surrogate escape the client sent is passed on as it is).
  json sent;
  require(llm_router::api::parse_json(body, sent).ok);
  require(sent.is_object());
  require(sent.value("model", "") == "backend-model");
  // Only the model and the usage request changed, and `metadata` went unless `store` is true:
  // every other member is the client's.
  const bool stored = parsed->body().value("store", json()) == true;
  require(stored || !sent.contains("metadata"));
  for (const auto& [key, value] : parsed->body().items()) {
    if (key != "model" && key != "stream_options" && (key != "metadata" || stored))
      require(sent.contains(key) && sent[key] == value);
  }
}

// An embeddings backend's answer: never throws; what it accepts is what it promised.
void check_embeddings_answer(std::string_view text) {
  for (std::size_t expected : {1, 2}) {
    const auto vectors = llm_router::api::parse_embeddings(text, expected);
    if (!vectors) continue;
    require(vectors->size() == expected && !vectors->front().empty());
    for (const auto& vector : *vectors) {
      require(vector.size() == vectors->front().size());
      for (float x : vector) require(std::isfinite(x));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (auto endpoint : {Endpoint::chat_completions, Endpoint::completions, Endpoint::embeddings}) {
    check_body_for_backend(text, endpoint);
  }
  (void)llm_router::api::find_usage(text);
  (void)llm_router::api::is_error_event(text);
  (void)llm_router::api::is_usage_only_chunk(text);
  check_embeddings_answer(text);
  std::string answer = llm_router::api::answer_text(text);
  llm_router::api::append_chunk_text(text, answer);
  return 0;
}

std::vector<std::string> fuzz_seeds() {
  return {
      R"({"model":"auto","messages":[{"role":"user","content":"Hello"}]})",
      R"({"model":"auto","stream":true,"stream_options":{"include_usage":false},"messages":[{"role":"system","content":"Be brief"},{"role":"user","content":[{"type":"text","text":"What is in this image?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}],"tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"response_format":{"type":"json_object"},"metadata":{"tenant":"a"},"user":"u1"})",
      R"({"messages":[],"model":"x","model":"y"})",
      R"({"model":"gpt","prompt":["a","b"],"max_tokens":5})",
      R"({"model":"emb","input":["one","two"],"encoding_format":"float"})",
      R"( { "model" : "a\"b\\u00e9" , "messages" : [ { "role" : "user" , "content" : "\ud83d\ude00" } ] } )",
      R"({"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"hi","tool_calls":[{"function":{"name":"f","arguments":"{}"}}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}})",
      R"({"choices":[{"delta":{"content":"x"}}],"usage":null})",
      R"({"error":{"message":"boom","type":"server_error"}})",
      R"({"model":"a","messages":[{"role":"user","content":"json please"}],"response_format":{"type":"json_object"},"choices":[{"message":{"content":"{\"ok\":"},"logprobs":{"content":[{"token":"x","logprob":-2.5}]},"finish_reason":"length"}]})",
      R"({"object":"list","data":[{"object":"embedding","index":1,"embedding":[0.5,-1e-3]},{"index":0,"embedding":[1,2]}],"model":"m"})",
      "[DONE]",
      "",
  };
}

std::vector<std::string> fuzz_dictionary() {
  return {"{",
          "}",
          "[",
          "]",
          ",",
          ":",
          "\"",
          "\\",
          "\"model\"",
          "\"messages\"",
          "\"stream\"",
          "true",
          "null",
          "1e999",
          "-0",
          "\"content\"",
          "\"role\"",
          "\"usage\"",
          "\"prompt_tokens\":",
          "\"completion_tokens\":",
          "\"choices\"",
          "\"delta\"",
          "\"tool_calls\"",
          "\"error\"",
          "\"input\"",
          "\"prompt\"",
          "\\u0000",
          "\\\"",
          " "};
}
