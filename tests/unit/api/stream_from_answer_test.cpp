#include "llm_router/api/stream_from_answer.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "llm_router/api/sse.hpp"

namespace llm_router::api {
namespace {

using nlohmann::json;

std::vector<std::string> data_of(const std::string& stream) {
  std::vector<SseEvent> events;
  SseParser().feed(stream, events);
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.data);
  return out;
}

TEST(StreamFromAnswer, ChatChoicesBecomeContentThenFinishEvents) {
  const auto stream = stream_from_answer(
      R"({"id":"a","object":"chat.completion","created":5,"model":"m","choices":[)"
      R"({"index":0,"message":{"role":"assistant","content":"one"},"finish_reason":"stop"},)"
      R"({"index":1,"message":{"role":"assistant","content":"two"},"finish_reason":"length"}]})",
      false);
  ASSERT_TRUE(stream);
  const auto events = data_of(*stream);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(json::parse(events[0])["choices"][0]["delta"]["content"], "one");
  EXPECT_EQ(json::parse(events[1])["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(json::parse(events[2])["choices"][0]["index"], 1);
  EXPECT_EQ(json::parse(events[3])["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(json::parse(events[3])["created"], 5);
  EXPECT_EQ(events[4], "[DONE]");
}

TEST(StreamFromAnswer, TextCompletionsKeepTheirShape) {
  const auto stream = stream_from_answer(
      R"({"id":"b","object":"text_completion","model":"m","choices":[)"
      R"({"index":0,"text":"hello","finish_reason":"stop"}],"usage":{"total_tokens":2}})",
      true);
  ASSERT_TRUE(stream);
  const auto events = data_of(*stream);
  ASSERT_EQ(events.size(), 3u);
  const json first = json::parse(events[0]);
  EXPECT_EQ(first["object"], "text_completion");
  EXPECT_EQ(first["choices"][0]["text"], "hello");
  EXPECT_EQ(json::parse(events[1])["usage"]["total_tokens"], 2);
}

TEST(StreamFromAnswer, AnythingElseIsNotAnAnswer) {
  for (const char* body : {"", "[]", "not json", R"({"data":[]})", R"({"choices":[1]})"}) {
    EXPECT_FALSE(stream_from_answer(body, true)) << body;
  }
}

}  // namespace
}  // namespace llm_router::api

namespace llm_router::api {
namespace {

TEST(StreamFromAnswer, NestingBeyondTheParsersLimitIsNoAnswer) {
  // Re-serialized nesting would recurse once per level: refused at the parse instead.
  const std::string deep = R"({"choices":[{"message":{"content":"x","extra":)" +
                           std::string(100000, '[') + std::string(100000, ']') + "}}]}";
  EXPECT_FALSE(stream_from_answer(deep, false));
}

}  // namespace
}  // namespace llm_router::api
