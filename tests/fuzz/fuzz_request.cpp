// Client request bodies: parsing, the model splice and the body sent upstream, and the
// answer-side helpers that read upstream bytes (usage, error events, answer text).
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <string_view>

#include "fuzz_target.hpp"
#include "llm_router/api/answer_text.hpp"
#include "llm_router/api/openai_request.hpp"
#include "proxy/router_handler.hpp"

namespace {

using llm_router::api::Endpoint;

void require(bool condition) {
  if (!condition) std::abort();
}

void check_body_for_backend(std::string_view text, Endpoint endpoint) {
  auto parsed = llm_router::api::parse_request(text, endpoint);
  if (!parsed) return;
  // The request facts the rules test, and the cascade's look at an answer (here: the same
  // bytes, as if a backend had sent them).
  (void)llm_router::proxy::facts_from(*parsed, llm_router::server::HttpRequest{});
  llm_router::config::CascadeSettings cascade;
  cascade.enabled = true;
  cascade.min_mean_logprob = -1.0;
  (void)llm_router::proxy::weak_answer_reason(text, cascade, parsed->body);
  const std::string body = llm_router::api::body_for_backend(*parsed, "backend-model", true);
  // Whatever the client sent, the backend gets valid JSON naming the backend's model.
  const auto sent = nlohmann::json::parse(body, nullptr, false);
  require(sent.is_object());
  require(sent.value("model", "") == "backend-model");
  // Only the model (and the usage request) changed: every other member is the client's.
  for (const auto& [key, value] : parsed->body.items()) {
    if (key != "model" && key != "stream_options")
      require(sent.contains(key) && sent[key] == value);
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
