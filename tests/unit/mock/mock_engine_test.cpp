#include <gtest/gtest.h>

#include <bit>
#include <cstdint>

#include "llm_router/core/base64.hpp"
#include "llm_router/mock/mock_engine.hpp"

namespace llm_router::mock {
namespace {

using nlohmann::json;

json chat(const std::string& extra_json = "{}") {
  json body = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "tell me a story"}}}}};
  body.update(json::parse(extra_json));
  return body;
}

TEST(MockEngine, AnswersDeterministicallyWithUsage) {
  config::MockBehavior defaults;
  auto plan = make_plan(chat(), Endpoint::chat, defaults, "mock-x", 0.5);
  ASSERT_FALSE(plan.tokens.empty());
  const auto body = json::parse(completion_body(plan));
  EXPECT_EQ(body["model"], "mock-x");
  EXPECT_EQ(body["usage"]["completion_tokens"], plan.tokens.size());
  EXPECT_GT(body["usage"]["prompt_tokens"].get<int>(), 0);
  EXPECT_EQ(make_plan(chat(), Endpoint::chat, defaults, "mock-x", 0.5).tokens, plan.tokens);
}

// Images count as a vision model counts them: 85 at low detail, 765 for one fetched by URL
// (priced as 1024x1024); an audio part as the router's estimate counts it.
TEST(MockEngine, PromptTokensCountImagesAndAudio) {
  const int text_only = make_plan(chat(), Endpoint::chat, {}, "m", 0.5).prompt_tokens;
  const json parts = json::parse(R"([{"type":"text","text":"tell me a story"},
    {"type":"image_url","image_url":{"url":"https://example.com/a.png","detail":"low"}},
    {"type":"image_url","image_url":{"url":"https://example.com/b.png"}},
    {"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}])");
  const json with_media = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", parts}}}}};
  EXPECT_EQ(make_plan(with_media, Endpoint::chat, {}, "m", 0.5).prompt_tokens,
            text_only + 85 + 765 + 100);
  const json responses = json::parse(R"({"model":"m","input":[{"role":"user","content":[
    {"type":"input_text","text":"tell me a story"},
    {"type":"input_image","image_url":"https://example.com/a.png","detail":"low"}]}]})");
  EXPECT_EQ(make_plan(responses, Endpoint::chat, {}, "m", 0.5).prompt_tokens, text_only + 85);
}

TEST(MockEngine, NChoicesAreNumberedInAnswersAndChunks) {
  auto plan = make_plan(chat(R"({"n":3})"), Endpoint::chat, {}, "mock-x", 0.5);
  const auto body = json::parse(completion_body(plan));
  ASSERT_EQ(body["choices"].size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(body["choices"][i]["index"], i);
  EXPECT_EQ(body["usage"]["completion_tokens"], 3 * plan.tokens.size());
  const auto chunk = json::parse(chunk_data(plan, 0));
  ASSERT_EQ(chunk["choices"].size(), 3u);
  EXPECT_EQ(chunk["choices"][2]["index"], 2);
  EXPECT_EQ(json::parse(final_chunk_data(plan))["choices"].size(), 3u);
  EXPECT_EQ(make_plan(chat(R"({"n":500})"), Endpoint::chat, {}, "m", 0.5).choices, 8);
}

// A legacy completion answers each prompt of a list (n each), and echoes the prompt when asked.
TEST(MockEngine, LegacyCompletionsAnswerEachPromptAndEcho) {
  const json listed = {{"model", "m"}, {"prompt", {"one", "two"}}, {"n", 2}};
  auto plan = make_plan(listed, Endpoint::completions, {}, "mock-x", 0.5);
  const auto body = json::parse(completion_body(plan));
  ASSERT_EQ(body["choices"].size(), 4u);
  EXPECT_EQ(body["choices"][3]["index"], 3);
  const json token_lists = {{"model", "m"}, {"prompt", {{1, 2}, {3}}}};
  EXPECT_EQ(make_plan(token_lists, Endpoint::completions, {}, "mock-x", 0.5).choices, 2);
  const json token_ids = {{"model", "m"}, {"prompt", {1, 2, 3}}};
  EXPECT_EQ(make_plan(token_ids, Endpoint::completions, {}, "mock-x", 0.5).choices, 1);
  const json echoed = {{"model", "m"}, {"prompt", "Once upon a time"}, {"echo", true}};
  const auto echo =
      json::parse(completion_body(make_plan(echoed, Endpoint::completions, {}, "mock-x", 0.5)));
  EXPECT_TRUE(echo["choices"][0]["text"].get<std::string>().starts_with("Once upon a time"))
      << echo.dump();
  // "logprobs": N lists each token with N alternatives and where it starts in the text.
  const json with_logprobs = {{"model", "m"}, {"prompt", "hi"}, {"logprobs", 2}, {"max_tokens", 3}};
  auto scored = make_plan(with_logprobs, Endpoint::completions, {}, "mock-x", 0.5);
  const auto logprobs = json::parse(completion_body(scored))["choices"][0]["logprobs"];
  ASSERT_EQ(logprobs["tokens"].size(), scored.tokens.size());
  EXPECT_EQ(logprobs["token_logprobs"].size(), scored.tokens.size());
  EXPECT_EQ(logprobs["top_logprobs"][0].size(), 2u);
  EXPECT_EQ(logprobs["text_offset"][1], scored.tokens[0].size());
  const auto chunk = json::parse(chunk_data(scored, 1))["choices"][0]["logprobs"];
  EXPECT_EQ(chunk["text_offset"][0], scored.tokens[0].size());
}

// A tool-calling app tried against the mock gets a call of the function it offered, with
// arguments shaped by the function's schema, then an answer in words after the tool's result.
TEST(MockEngine, LogprobsAreGivenWhenAskedFor) {
  auto without = make_plan(chat(), Endpoint::chat, {}, "mock-x", 0.5);
  EXPECT_TRUE(json::parse(completion_body(without))["choices"][0]["logprobs"].is_null());
  auto plan =
      make_plan(chat(R"({"logprobs":true,"top_logprobs":2})"), Endpoint::chat, {}, "mock-x", 0.5);
  const auto content = json::parse(completion_body(plan))["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), plan.tokens.size());
  for (std::size_t i = 0; i < content.size(); ++i) {
    EXPECT_EQ(content[i]["token"], plan.tokens[i]);
    EXPECT_LE(content[i]["logprob"].get<double>(), 0.0);
    EXPECT_GT(content[i]["logprob"].get<double>(), -0.5);
    EXPECT_EQ(content[i]["top_logprobs"].size(), 2u);
    EXPECT_EQ(content[i]["bytes"].size(), plan.tokens[i].size());
  }
  const auto chunk = json::parse(chunk_data(plan, 1))["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(chunk.size(), 1u);
  EXPECT_EQ(chunk[0]["token"], plan.tokens[1]);
  // The request's mock control sets every logprob (a model unsure of its answer).
  auto unsure = make_plan(chat(R"({"logprobs":true,"mock":{"logprob":-3.5}})"), Endpoint::chat, {},
                          "mock-x", 0.5);
  EXPECT_EQ(json::parse(completion_body(unsure))["choices"][0]["logprobs"]["content"][0]["logprob"],
            -3.5);
}

TEST(MockEngine, OfferedToolsAreCalledThenAnsweredInWords) {
  const std::string tools = R"({"tools":[{"type":"function","function":{"name":"get_weather",
      "parameters":{"type":"object","properties":{"city":{"type":"string"},
      "unit":{"type":"string","enum":["c","f"]},"days":{"type":"integer"}}}}}]})";
  auto plan = make_plan(chat(tools), Endpoint::chat, {}, "m", 0.5);
  ASSERT_TRUE(plan.calls_tool());
  auto body = json::parse(completion_body(plan));
  const auto& choice = body["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "tool_calls");
  EXPECT_TRUE(choice["message"]["content"].is_null());
  const auto& call = choice["message"]["tool_calls"][0];
  EXPECT_EQ(call["function"]["name"], "get_weather");
  const auto arguments = json::parse(call["function"]["arguments"].get<std::string>());
  EXPECT_EQ(arguments, (json{{"city", "mock"}, {"unit", "c"}, {"days", 1}}));
  // Streamed: the first delta names the call, the arguments follow as text.
  const auto first = json::parse(chunk_data(plan, 0))["choices"][0]["delta"]["tool_calls"][0];
  EXPECT_EQ(first["id"], call["id"]);
  EXPECT_EQ(first["function"]["name"], "get_weather");
  EXPECT_EQ(json::parse(final_chunk_data(plan))["choices"][0]["finish_reason"], "tool_calls");
  // Two choices, two call ids.
  json two = chat(tools);
  two["n"] = 2;
  const auto both = json::parse(completion_body(make_plan(two, Endpoint::chat, {}, "m", 0.5)));
  EXPECT_NE(both["choices"][0]["message"]["tool_calls"][0]["id"],
            both["choices"][1]["message"]["tool_calls"][0]["id"]);

  json round_trip = chat(tools);
  round_trip["messages"].push_back({{"role", "assistant"},
                                    {"content", nullptr},
                                    {"tool_calls", choice["message"]["tool_calls"]}});
  round_trip["messages"].push_back(
      {{"role", "tool"}, {"tool_call_id", call["id"]}, {"content", "sunny"}});
  EXPECT_FALSE(make_plan(round_trip, Endpoint::chat, {}, "m", 0.5).calls_tool());
  EXPECT_FALSE(
      make_plan(
          chat(R"({"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"none"})"),
          Endpoint::chat, {}, "m", 0.5)
          .calls_tool());
}

json tool_arguments(const std::string& parameters) {
  const std::string tools =
      R"({"tools":[{"type":"function","function":{"name":"f")" +
      (parameters.empty() ? std::string() : R"(,"parameters":)" + parameters) + "}}]}";
  const auto plan = make_plan(chat(tools), Endpoint::chat, {}, "m", 0.5);
  const auto body = json::parse(completion_body(plan));
  return json::parse(
      body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"].get<std::string>());
}

// Arguments are always an object, shaped as Pydantic and zod schemas write them.
TEST(MockEngine, ToolArgumentsFollowTheSchema) {
  EXPECT_EQ(tool_arguments(""), json::object());
  EXPECT_EQ(tool_arguments("{}"), json::object());
  EXPECT_EQ(tool_arguments(R"({"type":"string"})"), json::object());
  EXPECT_EQ(tool_arguments(R"({"type":"object","properties":{
      "primary":{"$ref":"#/$defs/Item"},
      "note":{"anyOf":[{"type":"null"},{"type":"string"}]},
      "both":{"allOf":[{"properties":{"a":{"type":"integer"}}},{"properties":{"b":{"const":"x"}}}]},
      "list":{"type":"array","minItems":2,"items":{"type":"boolean"}}},
      "$defs":{"Item":{"type":"object","properties":{"sku":{"type":"string"}}}}})"),
            (json{{"primary", {{"sku", "mock"}}},
                  {"note", "mock"},
                  {"both", {{"a", 1}, {"b", "x"}}},
                  {"list", {true, true}}}));
  // A schema that refers to itself stops: the answer stays small.
  const auto nested = tool_arguments(
      R"({"type":"object","properties":{"kids":{"type":"array","minItems":8,"items":{"$ref":"#"}}}})");
  EXPECT_LT(nested.dump().size(), 1'000'000u);
}

TEST(MockEngine, StringsAndNumbersMeetTheirFormatsAndBounds) {
  const json args = tool_arguments(R"({"type":"object","properties":{
      "email":{"type":"string","format":"email"},
      "when":{"type":"string","format":"date-time"},
      "id":{"type":"string","format":"uuid"},
      "code":{"type":"string","minLength":6,"maxLength":8},
      "short":{"type":"string","maxLength":2},
      "count":{"type":"integer","minimum":5},
      "ratio":{"type":"number","exclusiveMaximum":1,"minimum":0},
      "negative":{"type":"integer","maximum":-3}}})");
  EXPECT_EQ(args["email"], "user@example.com");
  EXPECT_EQ(args["when"], "2026-01-01T00:00:00Z");
  EXPECT_EQ(args["id"].get<std::string>().size(), 36u);
  EXPECT_EQ(args["code"], "mockxx");
  EXPECT_EQ(args["short"], "mo");
  EXPECT_EQ(args["count"], 5);
  EXPECT_LT(args["ratio"].get<double>(), 1.0);
  EXPECT_GE(args["ratio"].get<double>(), 0.0);
  EXPECT_EQ(args["negative"], -3);
}

std::string joined_text(const Plan& plan) {
  return json::parse(completion_body(plan))["choices"][0]["message"]["content"].get<std::string>();
}

TEST(MockEngine, TheAnswerEndsBeforeAStopSequence) {
  const auto full =
      make_plan(chat(R"({"mock":{"content":"one two three four"}})"), Endpoint::chat, {}, "m", 0.5);
  EXPECT_EQ(joined_text(full), "one two three four");
  for (const char* stop : {R"("stop":" three")", R"("stop":["zzz"," three","two"])"}) {
    const auto plan =
        make_plan(chat(std::string(R"({"mock":{"content":"one two three four"},)") + stop + "}"),
                  Endpoint::chat, {}, "m", 0.5);
    const std::string text = joined_text(plan);
    EXPECT_TRUE(text == "one two" || text == "one ") << text;
    EXPECT_EQ(plan.finish_reason, "stop");
  }
}

TEST(MockEngine, JsonModeAnswersJson) {
  auto plan = make_plan(chat(R"({"response_format":{"type":"json_object"}})"), Endpoint::chat, {},
                        "m", 0.5);
  auto content = json::parse(completion_body(plan))["choices"][0]["message"]["content"];
  EXPECT_TRUE(json::parse(content.get<std::string>()).contains("answer"));
  std::string streamed;
  for (std::size_t i = 0; i < plan.tokens.size(); ++i) {
    streamed +=
        json::parse(chunk_data(plan, i))["choices"][0]["delta"]["content"].get<std::string>();
  }
  EXPECT_EQ(streamed, content);
  plan = make_plan(chat(R"({"response_format":{"type":"json_schema","json_schema":{"name":"x",
      "schema":{"type":"object","properties":{"ok":{"type":"boolean"}}}}}})"),
                   Endpoint::chat, {}, "m", 0.5);
  content = json::parse(completion_body(plan))["choices"][0]["message"]["content"];
  EXPECT_EQ(json::parse(content.get<std::string>()), (json{{"ok", true}}));
}

TEST(MockEngine, MaxTokensCapsTheAnswerWithFinishReasonLength) {
  auto plan = make_plan(chat(R"({"max_tokens":3})"), Endpoint::chat, {}, "m", 0.5);
  EXPECT_EQ(plan.tokens.size(), 3u);
  EXPECT_EQ(plan.finish_reason, "length");
}

TEST(MockEngine, RequestControlsOverrideDefaults) {
  auto plan = make_plan(chat(R"({"mock":{"status":503,"ttft_ms":7,"tokens":4,"hang":true}})"),
                        Endpoint::chat, {}, "m", 0.5);
  EXPECT_EQ(plan.status, 503);
  EXPECT_EQ(plan.time_to_first_token, std::chrono::milliseconds(7));
  EXPECT_EQ(plan.tokens.size(), 4u);
  EXPECT_TRUE(plan.hang);
}

TEST(MockEngine, IllTypedControlsAreIgnored) {
  auto plan =
      make_plan(chat(R"({"mock":{"status":"bad","tokens":[1]}})"), Endpoint::chat, {}, "m", 0.5);
  EXPECT_EQ(plan.status, 200);
}

TEST(MockEngine, FailureRateFailsThatShareOfDraws) {
  config::MockBehavior defaults;
  defaults.failure_rate = 0.3;
  EXPECT_EQ(make_plan(chat(), Endpoint::chat, defaults, "m", 0.1).status, 500);
  EXPECT_EQ(make_plan(chat(), Endpoint::chat, defaults, "m", 0.9).status, 200);
}

TEST(MockEngine, StreamChunksCarryTheRoleFirstThenContent) {
  auto plan = make_plan(chat(R"({"stream":true})"), Endpoint::chat, {}, "m", 0.5);
  const auto first = json::parse(chunk_data(plan, 0));
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  const auto last = json::parse(final_chunk_data(plan));
  EXPECT_EQ(last["choices"][0]["finish_reason"], "stop");
}

TEST(MockEngine, EmbeddingsHaveOneUnitVectorPerInput) {
  const json body = {{"model", "e"}, {"input", {"a", "b", "c"}}, {"dimensions", 8}};
  auto plan = make_plan(body, Endpoint::embeddings, {}, "e", 0.5);
  const auto out = json::parse(embeddings_body(body, plan));
  ASSERT_EQ(out["data"].size(), 3u);
  double norm = 0;
  for (double v : out["data"][0]["embedding"]) norm += v * v;
  EXPECT_NEAR(norm, 1.0, 1e-6);
}

TEST(MockEngine, EmbeddingsAreNeverStreamed) {
  const json body = {{"model", "e"}, {"input", "hi"}, {"stream", true}};
  EXPECT_FALSE(make_plan(body, Endpoint::embeddings, {}, "e", 0.5).stream);
  EXPECT_TRUE(make_plan(body, Endpoint::chat, {}, "e", 0.5).stream);
}

TEST(MockEngine, EmbeddingsAsBase64FloatsAndTokenIdInputs) {
  const json floats_body = {{"model", "e"}, {"input", "refund my order"}, {"dimensions", 16}};
  json base64_body = floats_body;
  base64_body["encoding_format"] = "base64";
  auto plan = make_plan(floats_body, Endpoint::embeddings, {}, "e", 0.5);
  const json floats = json::parse(embeddings_body(floats_body, plan))["data"][0]["embedding"];
  const json encoded = json::parse(embeddings_body(base64_body, plan))["data"][0]["embedding"];
  ASSERT_TRUE(encoded.is_string());
  // What the OpenAI SDK does with it: base64 -> little-endian float32s.
  const auto bytes = core::base64_decode(encoded.get<std::string>());
  ASSERT_TRUE(bytes && bytes->size() == 16 * 4);
  for (std::size_t i = 0; i < 16; ++i) {
    std::uint32_t bits = 0;
    for (int b = 0; b < 4; ++b) bits |= std::uint32_t{(*bytes)[i * 4 + b]} << (8 * b);
    EXPECT_FLOAT_EQ(std::bit_cast<float>(bits), floats[i].get<float>()) << i;
  }
  // One array of token ids is one input; an array of such arrays is several.
  const json ids = {{"model", "e"}, {"input", {1, 2, 3}}};
  EXPECT_EQ(json::parse(embeddings_body(ids, plan))["data"].size(), 1u);
  const json batches = {{"model", "e"}, {"input", {{1, 2}, {3}}}};
  EXPECT_EQ(json::parse(embeddings_body(batches, plan))["data"].size(), 2u);
}

double cosine_of(const json& a, const json& b) {
  double dot = 0;
  for (std::size_t i = 0; i < a.size(); ++i) dot += a[i].get<double>() * b[i].get<double>();
  return dot;
}

TEST(MockEngine, EmbeddingsAreDeterministicBagsOfWords) {
  const json body = {
      {"model", "e"},
      {"input",
       {"Cancel my plan", "plan: cancel MY", "cancel my plan now", "the weather in Paris"}}};
  auto plan = make_plan(body, Endpoint::embeddings, {}, "e", 0.5);
  const auto out = json::parse(embeddings_body(body, plan));
  const auto& data = out["data"];
  ASSERT_EQ(data.size(), 4u);
  EXPECT_EQ(data[0]["embedding"].size(), 256u);
  EXPECT_EQ(json::parse(embeddings_body(body, plan))["data"], data);  // same text, same vector
  // Word order, case and punctuation do not matter; shared words bring texts together.
  EXPECT_NEAR(cosine_of(data[0]["embedding"], data[1]["embedding"]), 1.0, 1e-9);
  EXPECT_GT(cosine_of(data[0]["embedding"], data[2]["embedding"]), 0.8);
  EXPECT_LT(cosine_of(data[0]["embedding"], data[3]["embedding"]), 0.5);
}

}  // namespace
}  // namespace llm_router::mock
