// POST /v1/route decides as the real request would, for each endpoint a body may be meant for.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "integration/router_config.hpp"
#include "support/fixtures.hpp"

namespace test_support {
namespace {

using nlohmann::json;

// {"model", "input": "text"} is an embeddings request and a Responses one alike: the body
// alone reads as embeddings, `?endpoint=responses` as what POST /v1/responses decides.
TEST(DryRun, TheEndpointQueryReadsAnAmbiguousBodyAsTheRequestItIsFor) {
  std::string config = router_config({{"a", ""}, {"b", ""}}, "[a]");
  config += "    rules:\n      - {name: billing, when: {keywords: [refund]}, use: [b]}\n";
  Router router(config);
  HttpClient client(router.port());
  const std::string body = R"({"model":"auto","input":"I want a refund"})";

  const auto real = client.post_json("/v1/responses", body);
  ASSERT_EQ(real.status, 200) << real.body;
  EXPECT_EQ(real.header("x-llm-router-backend"), "b");

  const json as_responses =
      json::parse(client.post_json("/v1/route?endpoint=responses", body).body);
  EXPECT_EQ(as_responses["endpoint"], "responses");
  EXPECT_EQ(as_responses["attempt_order"], json::parse(R"(["b"])")) << as_responses.dump();

  const json unsaid = json::parse(client.post_json("/v1/route", body).body);
  EXPECT_EQ(unsaid["endpoint"], "embeddings");

  const json chat = json::parse(client
                                    .post_json("/v1/route?x=1&endpoint=chat%2Fcompletions",
                                               chat_body("auto", "a refund please"))
                                    .body);
  EXPECT_EQ(chat["endpoint"], "chat/completions");
  EXPECT_EQ(chat["attempt_order"], json::parse(R"(["b"])")) << chat.dump();

  const auto bogus = client.post_json("/v1/route?endpoint=images", body);
  EXPECT_EQ(bogus.status, 400);
  EXPECT_EQ(json::parse(bogus.body)["error"]["param"], "endpoint");
}

// Images, audio and a response_format schema are prompt too: the estimate that checks a
// backend's context window counts them (85 tokens a low-detail image, 100 an audio part) with or
// without the analyzer, in the dry run and for the request alike.
TEST(DryRun, ImagesAudioAndSchemasCountTowardAContextWindow) {
  Router router(router_config({{"small", "", "context_window: 1000"}}, "[small]"));
  HttpClient client(router.port());
  std::string parts = R"({"type":"text","text":"what is in these?"})";
  for (int i = 0; i < 12; ++i) {
    parts += R"(,{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=",)"
             R"("detail":"low"}})";
  }
  const std::string images =
      R"({"model":"auto","messages":[{"role":"user","content":[)" + parts + "]}]}";
  const json dry = json::parse(client.post_json("/v1/route", images).body);
  EXPECT_GE(dry["facts"]["estimated_tokens"].get<int>(), 12 * 85) << dry.dump();
  EXPECT_EQ(client.post_json("/v1/chat/completions", images).status, 400);

  std::string properties;
  for (int i = 0; i < 120; ++i) {
    properties += std::string(i ? "," : "") + R"("field_)" + std::to_string(i) +
                  R"(":{"type":"string","description":"what the field holds, in a few words"})";
  }
  const std::string schema =
      chat_body("auto", "fill it in",
                R"(,"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":)"
                R"({"type":"object","properties":{)" +
                    properties + "}}}}");
  const json with_schema = json::parse(client.post_json("/v1/route", schema).body);
  EXPECT_GT(with_schema["facts"]["estimated_tokens"].get<int>(), 1000) << with_schema.dump();
}

// Data dense in tokens (base64: ~2.7 tokens per 4 bytes) is estimated by reading it whenever the
// estimate decides something, with or without an analyzer: near a context window, and for a
// route whose rules test `tokens`. The dry run and the request agree.
TEST(DryRun, DenseDataNearAContextWindowIsReadNotCountedByBytes) {
  std::string config = router_config(
      {{"small", "", "context_window: 4000"}, {"large", "", "context_window: 64000"}}, "[small]");
  config += "    rules:\n      - {name: long, when: {tokens: {min: 5000}}, use: [large]}\n";
  Router router(config);
  HttpClient client(router.port());
  std::string blob;
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 12000; ++i) blob += alphabet[(i * 7919 + i / 3) % 64];
  // 12,000 bytes: 3,000 tokens by bytes, ~8,000 in truth.
  const std::string direct = chat_body("small", blob);
  const json dry = json::parse(client.post_json("/v1/route", direct).body);
  EXPECT_GT(dry["facts"]["estimated_tokens"].get<int>(), 6000) << dry.dump();
  const auto refused = client.post_json("/v1/chat/completions", direct);
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(json::parse(refused.body)["error"]["code"], "context_length_exceeded");
  EXPECT_EQ(json::parse(refused.body)["error"]["param"], "messages");
  // A prompt that fits, with more room asked for the answer than is left: max_tokens is at fault.
  const auto greedy =
      client.post_json("/v1/chat/completions", chat_body("small", "hi", R"(,"max_tokens":5000)"));
  EXPECT_EQ(greedy.status, 400) << greedy.body;
  EXPECT_EQ(json::parse(greedy.body)["error"]["param"], "max_tokens");

  const std::string routed = chat_body("auto", blob);
  const json routed_dry = json::parse(client.post_json("/v1/route", routed).body);
  EXPECT_EQ(routed_dry["attempt_order"], json::parse(R"(["large"])")) << routed_dry.dump();
  const auto answered = client.post_json("/v1/chat/completions", routed);
  EXPECT_EQ(answered.status, 200) << answered.body;
  EXPECT_EQ(answered.header("x-llm-router-backend"), "large");
}

// Tool calls' arguments are prompt on every path (a backend named directly too); a schema written
// in \u escapes (Python's json.dumps) counts as the text it stands for; a backend's
// override_params max_tokens is the answer room its window must hold.
TEST(DryRun, ToolCallsEscapedSchemasAndForcedAnswerRoomCountTowardAWindow) {
  std::string config = router_config({{"small", "", "context_window: 4000"},
                                      {"capped", "",
                                       "context_window: 4000\n    override_params: "
                                       "{max_tokens: 3000}"}},
                                     "[small]");
  Router router(config);
  HttpClient client(router.port());
  std::string hex;
  for (int i = 0; i < 13000; ++i) hex += "0123456789abcdef"[(i * 7 + i / 5) % 16];
  const std::string call = R"({"model":"small","messages":[{"role":"user","content":"hi"},)"
                           R"({"role":"assistant","content":null,"tool_calls":[{"id":"c",)"
                           R"("type":"function","function":{"name":"f","arguments":"{\"blob\":\")" +
                           hex + R"(\"}"}}]},{"role":"tool","tool_call_id":"c","content":"ok"}]})";
  const json dry = json::parse(client.post_json("/v1/route", call).body);
  EXPECT_EQ(dry["status"], "no_candidates") << dry.dump();
  EXPECT_EQ(client.post_json("/v1/chat/completions", call).status, 400);

  std::string description;
  for (int i = 0; i < 300; ++i) description += "\\u6211\\u7684\\u8ba2\\u5355\\u5728\\u54ea";
  const std::string escaped_tool =
      chat_body("small", "hi",
                R"(,"tools":[{"type":"function","function":{"name":"f","description":")" +
                    description + R"(","parameters":{"type":"object"}}}])");
  const json escaped = json::parse(client.post_json("/v1/route", escaped_tool).body);
  EXPECT_LT(escaped["facts"]["estimated_tokens"].get<int>(), 2500) << escaped.dump();
  EXPECT_EQ(client.post_json("/v1/chat/completions", escaped_tool).status, 200);

  // 1,500 tokens of prompt and 3,000 forced answer tokens do not fit 4,000.
  std::string words;
  for (int i = 0; i < 1500; ++i) words += " 7";
  const auto capped = client.post_json("/v1/chat/completions", chat_body("capped", words));
  EXPECT_EQ(capped.status, 400) << capped.body;
  EXPECT_EQ(client.post_json("/v1/chat/completions", chat_body("small", words)).status, 200);
}

// The decision says which word of the prompt matched a keyword rule, as the prompt wrote it.
TEST(DryRun, AKeywordRuleSaysWhichWordMatched) {
  std::string config = router_config({{"a", ""}, {"b", ""}}, "[a]");
  config +=
      "    rules:\n      - {name: billing, when: {keywords: [refund, money back]}, use: [b]}\n";
  Router router(config);
  HttpClient client(router.port());
  const json phrase = json::parse(
      client.post_json("/v1/route", chat_body("auto", "I want my Money  Back, then a refund"))
          .body);
  EXPECT_EQ(phrase["matched"], "matched auto/billing/keywords ('Money  Back')") << phrase.dump();
  EXPECT_EQ(phrase["analysis"]["keyword_words"], json::parse(R"(["Money  Back"])"));
  const json word =
      json::parse(client.post_json("/v1/route", chat_body("auto", "REFUND please")).body);
  EXPECT_EQ(word["matched"], "matched auto/billing/keywords ('REFUND')") << word.dump();
}

// A request to a route scores that route's semantic rules, not every route's: each costs its
// examples' comparisons, and a config of many routes paid for all of them on every request.
TEST(DryRun, ARequestScoresOnlyItsOwnRoutesSemanticRules) {
  std::string config = router_config({{"a", ""}, {"b", ""}}, "[a]");
  config +=
      "    rules:\n"
      "      - {name: cancel, when: {semantic: {examples: [cancel my plan]}}, use: [b]}\n"
      "  - name: other\n"
      "    use: [a]\n"
      "    rules:\n"
      "      - {name: refund, when: {semantic: {examples: [give me my money back]}}, use: [b]}\n";
  Router router(config);
  HttpClient client(router.port());
  const json decision =
      json::parse(client.post_json("/v1/route", chat_body("auto", "please cancel my plan")).body);
  const json scores = decision["analysis"]["semantic_scores"];
  EXPECT_TRUE(scores.contains("auto/cancel/semantic")) << decision.dump();
  EXPECT_FALSE(scores.contains("other/refund/semantic")) << decision.dump();
  EXPECT_EQ(decision["attempt_order"], json::parse(R"(["b"])")) << decision.dump();
  const auto real = client.post_json("/v1/chat/completions", chat_body("other", "my money back"));
  EXPECT_EQ(real.status, 200);
  const json other =
      json::parse(client.post_json("/v1/route", chat_body("other", "give me my money back")).body);
  EXPECT_TRUE(other["analysis"]["semantic_scores"].contains("other/refund/semantic"))
      << other.dump();
  EXPECT_FALSE(other["analysis"]["semantic_scores"].contains("auto/cancel/semantic"));
  EXPECT_EQ(other["attempt_order"], json::parse(R"(["b"])")) << other.dump();
}

// `explain` reads a body as the dry run does, `--endpoint` settling the same ambiguity.
TEST(DryRun, ExplainReadsAResponsesBodyAsPostV1ResponsesWould) {
  std::string config_text = router_config({{"a", ""}, {"b", ""}}, "[a]");
  config_text += "    rules:\n      - {name: billing, when: {keywords: [refund]}, use: [b]}\n";
  TempFile config("dry.yaml", config_text);
  TempFile request("request.json", R"({"model":"auto","input":"I want a refund"})");
  ChildProcess explain({LLM_ROUTER_BIN, "explain", "--config", config.path(), "--json",
                        request.path(), "--endpoint", "responses"});
  std::string output;
  while (auto line = explain.wait_for_line("", std::chrono::seconds(10))) output += *line;
  EXPECT_EQ(explain.wait(std::chrono::seconds(10)), 0);
  const auto decision = json::parse(output, nullptr, false);
  ASSERT_FALSE(decision.is_discarded()) << output;
  EXPECT_EQ(decision["endpoint"], "responses");
  EXPECT_EQ(decision["attempt_order"], json::parse(R"(["b"])")) << output;
}

}  // namespace
}  // namespace test_support
