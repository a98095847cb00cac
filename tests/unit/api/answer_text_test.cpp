#include "llm_router/api/answer_text.hpp"
#include "llm_router/api/json_parse.hpp"
#include "llm_router/api/openai_request.hpp"

#include <gtest/gtest.h>

namespace llm_router::api {
namespace {

TEST(AnswerText, ChatCompletionContentOfEveryChoice) {
  EXPECT_EQ(answer_text(R"({"choices":[{"message":{"role":"assistant","content":"Hello"}},
                                       {"message":{"content":" world"}}]})"),
            "Hello world");
}

TEST(AnswerText, ToolCallArgumentsAndReasoningCount) {
  EXPECT_EQ(answer_text(R"({"choices":[{"message":{"content":null,"reasoning_content":"think ",
      "tool_calls":[{"type":"function","function":{"name":"get","arguments":"{\"a\":1}"}}]}}]})"),
            "think get{\"a\":1}");
}

TEST(AnswerText, LegacyTextCompletion) {
  EXPECT_EQ(answer_text(R"({"object":"text_completion","choices":[{"text":"abc"}]})"), "abc");
}

TEST(AnswerText, NotJsonOrNoChoicesIsEmpty) {
  EXPECT_EQ(answer_text("not json"), "");
  EXPECT_EQ(answer_text(R"({"data":[{"embedding":[0.1]}]})"), "");
  EXPECT_EQ(answer_text(R"({"choices":"oops"})"), "");
}

TEST(AnswerText, StreamChunksAppendTheirDeltas) {
  std::string text;
  append_chunk_text(R"({"choices":[{"delta":{"role":"assistant"}}]})", text);
  append_chunk_text(R"({"choices":[{"delta":{"content":"Hel"}}]})", text);
  append_chunk_text(R"({"choices":[{"delta":{"content":"lo"},"finish_reason":null}]})", text);
  append_chunk_text("[DONE]", text);
  append_chunk_text(R"({"choices":[],"usage":null})", text);
  EXPECT_EQ(text, "Hello");
}

}  // namespace
}  // namespace llm_router::api

namespace llm_router::api {
namespace {

TEST(AnswerProblem, UsableAnswersPassAndFailuresSentAsSuccessDoNot) {
  EXPECT_FALSE(answer_problem(R"({"id":"x","choices":[{"index":0,"message":{"content":"x"}}]})",
                              Endpoint::chat_completions));
  // A reply a content filter withheld: a finish_reason, no message.
  EXPECT_FALSE(answer_problem(R"({"choices":[{"index":0,"finish_reason":"content_filter"}]})",
                              Endpoint::chat_completions));
  EXPECT_FALSE(answer_problem(R"({"choices":[{"message":null,"finish_reason":"content_filter"}]})",
                              Endpoint::chat_completions));
  EXPECT_FALSE(answer_problem(R"({"choices":[{"text":null,"finish_reason":"content_filter"}]})",
                              Endpoint::completions));
  EXPECT_FALSE(answer_problem(R"({"choices" :
    [ {"text":"ok"} ] })",
                              Endpoint::completions));
  EXPECT_FALSE(
      answer_problem(R"({"object":"list","data":[{"embedding":[0.1]}]})", Endpoint::embeddings));
  // A nested "error" key is no failure; a top-level null one neither.
  EXPECT_FALSE(answer_problem(R"({"choices":[{"message":{"content":"x"},"logprobs":{"error":1}}]})",
                              Endpoint::chat_completions));
  EXPECT_FALSE(
      answer_problem(R"({"error":null,"choices":[{"message":{}}]})", Endpoint::chat_completions));
  // The word inside generated text is escaped, so it is not a member.
  EXPECT_FALSE(answer_problem(R"({"choices":[{"message":{"content":"say \"error\""}}]})",
                              Endpoint::chat_completions));
  for (const char* bad :
       {R"({"error":{"message":"overloaded"}})", R"({"detail":"Not Found"})", R"({"choices":[]})",
        R"({"error":{"message":"x"},"choices":null})", "<html></html>", "",
        // Choices that are no completion choices.
        R"({"choices":[null]})", R"({"choices":[1]})", R"({"choices":[{}]})",
        R"({"choices":[{"index":0}]})", R"({"choices":[{"message":null}]})",
        R"({"choices":[{"message":"text"}]})"}) {
    EXPECT_TRUE(answer_problem(bad, Endpoint::chat_completions)) << bad;
  }
  EXPECT_TRUE(answer_problem(R"({"choices":[{"index":0}]})", Endpoint::embeddings));
  EXPECT_TRUE(answer_problem(R"({"data":[[0.1]]})", Endpoint::embeddings));
  EXPECT_TRUE(answer_problem(R"({"choices":[{"text":1}]})", Endpoint::completions));
}

// The check notes where the top-level members an answer is read by begin: nested ones and
// names inside strings do not count; of repeated `usage` members the last (JSON's rule).
TEST(IsJsonObject, NotesWhereTopLevelChoicesAndUsageBegin) {
  const std::string answer =
      R"({"usage":{"prompt_tokens":1},"choices":[{"message":{"content":"\"usage\"",)"
      R"("usage":{"prompt_tokens":9}}}],"x":{"data":[]},"usage":{"prompt_tokens":3,)"
      R"("completion_tokens":4}})";
  AnswerOutline outline;
  ASSERT_TRUE(is_json_object(answer, outline));
  EXPECT_EQ(outline.choices, answer.find("\"choices\""));
  EXPECT_EQ(outline.usage, answer.rfind("\"usage\""));
  EXPECT_EQ(outline.data, std::string_view::npos);
  const auto usage = usage_at(answer, outline.usage);
  ASSERT_TRUE(usage);
  EXPECT_EQ(usage->prompt_tokens, 3);
  EXPECT_EQ(usage->completion_tokens, 4);
  std::size_t known = 0;
  EXPECT_FALSE(answer_problem(answer, Endpoint::chat_completions, &known));
  EXPECT_EQ(known, outline.usage);
  EXPECT_FALSE(usage_at(answer, std::string_view::npos));
}

TEST(IsJsonObject, ValidObjectsOnly) {
  for (const char* whole : {"{}", " {\"a\": [\"]}\\\"\", 1, -2.5e3, true, null]} \n",
                            R"({"s":"\u00e9 café \\"})", "\xEF\xBB\xBF{}"}) {
    EXPECT_TRUE(is_json_object(whole)) << whole;
  }
  for (const char* bad :
       {"", "x", "{", "[1]", R"({"a":"})", R"({"a":[})", R"({"a":1}})", R"({"a":1} {})",
        R"({"a":1} x)", R"({"a":"\)", "{]",
        // Outlines that close but are not JSON: what a careless server writes.
        R"({"a":nul})", R"({"a":"h\qi"})", R"({"a":[1] "b":2})", R"({"a":fp_abc})", R"({a:1})",
        R"({"a":NaN})", R"({"a":01})", R"({"a":1,})", "{\"a\":\"\x01\"}", "{\"a\":\"\xFF\"}"}) {
    EXPECT_FALSE(is_json_object(bad)) << bad;
  }
  EXPECT_FALSE(is_json_object("{\"a\":" + std::string(300, '[') + std::string(300, ']') + "}"));
  // As deep as the parser's limit (256 with the object itself), and one more.
  EXPECT_TRUE(is_json_object("{\"a\":" + std::string(255, '[') + std::string(255, ']') + "}"));
  EXPECT_FALSE(is_json_object("{\"a\":" + std::string(256, '[') + std::string(256, ']') + "}"));
  for (const char* escapes : {R"({"a":"\ud83d\ude00 \ud800 \udc00x \u00E9"})", R"({"a\n":1})"}) {
    EXPECT_TRUE(is_json_object(escapes)) << escapes;
  }
  for (const char* bad : {R"({"a":"\ud83d\uZZZZ"})", R"({"a":"\u12"})", R"({"a" 1})", R"({"a":1,})",
                          R"({"a":[1,]})", R"({"a":tru})", "{\"a\":1}\x01"}) {
    EXPECT_FALSE(is_json_object(bad)) << bad;
  }
  // Numbers a double cannot hold are refused, tiny ones round to zero.
  for (const std::string& number :
       {std::string("1e400"), std::string("-2.5E+309"), "1" + std::string(400, '0') + ".5"}) {
    EXPECT_FALSE(is_json_object("{\"a\":" + number + "}")) << number;
  }
  for (const char* number :
       {"1e-400", "1.5e307", "-1.2345e-05", "123456789012345678901234567890", "9.9e+307"}) {
    EXPECT_TRUE(is_json_object(std::string("{\"a\":") + number + "}")) << number;
  }
}

}  // namespace
}  // namespace llm_router::api
