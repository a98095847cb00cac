#include "llm_router/api/prompt_text.hpp"

#include <gtest/gtest.h>

namespace llm_router::api {
namespace {

ParsedRequest parsed(std::string_view body, Endpoint endpoint = Endpoint::chat_completions) {
  auto request = parse_request(body, endpoint);
  EXPECT_TRUE(request) << body;
  return std::move(*request);
}

TEST(PromptText, ReadsMessagesNotTheirJson) {
  const auto request =
      parsed(R"({"model":"m","messages":[{"role":"system","content":"Be brief."},)"
             R"({"role":"user","content":[{"type":"text","text":"What is this?"},)"
             R"({"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]},)"
             R"({"role":"assistant","content":null,"tool_calls":[{"id":"t","type":"function",)"
             R"("function":{"name":"look","arguments":"{\"x\":1}"}}]}]})");
  EXPECT_EQ(prompt_text(request),
            "system\nBe brief.\nuser\nWhat is this?\nassistant\nlook\n{\"x\":1}");
  EXPECT_EQ(chat_format_tokens(request), 12);
}

TEST(PromptText, ReadsPromptsAndInputs) {
  EXPECT_EQ(prompt_text(parsed(R"({"model":"m","prompt":["a","b"]})", Endpoint::completions)),
            "a\nb");
  EXPECT_EQ(prompt_text(parsed(R"({"model":"m","input":"hello"})", Endpoint::embeddings)), "hello");
  EXPECT_EQ(chat_format_tokens(parsed(R"({"model":"m","input":"x"})", Endpoint::embeddings)), 0);
}

}  // namespace
}  // namespace llm_router::api
