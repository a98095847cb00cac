#include <gtest/gtest.h>

#include "llm_router/api/errors.hpp"
#include "llm_router/api/openai_request.hpp"

namespace llm_router::api {
namespace {

TEST(ParseRequest, KeepsEveryFieldAndReadsModelAndStream) {
  auto parsed = parse_request(
      R"({"model":"auto","stream":true,"top_k":5,"messages":[{"role":"user","content":"x"}]})",
      Endpoint::chat_completions);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->model, "auto");
  EXPECT_TRUE(parsed->stream);
  const auto body = nlohmann::json::parse(body_for_backend(*parsed, "gpt-x"));
  EXPECT_EQ(body["model"], "gpt-x");
  EXPECT_EQ(body["top_k"], 5);
  EXPECT_EQ(body["messages"][0]["content"], "x");
}

TEST(ParseRequest, TheBackendModelIsSplicedWhereTheClientWroteIt) {
  const std::string text =
      "{ \"messages\" : [{\"role\":\"user\",\"content\":\"\\\"model\\\": \\\"x\\\"\"}],\n"
      "  \"model\" :\t\"auto\" , \"n\": 1 }";
  auto parsed = parse_request(text, Endpoint::chat_completions);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(text.substr(parsed->model_begin, parsed->model_end - parsed->model_begin), "\"auto\"");
  const std::string body = body_for_backend(*parsed, "org/model \"v2\"");
  EXPECT_EQ(body,
            "{ \"messages\" : [{\"role\":\"user\",\"content\":\"\\\"model\\\": \\\"x\\\"\"}],\n"
            "  \"model\" :\t\"org/model \\\"v2\\\"\" , \"n\": 1 }");
  EXPECT_EQ(nlohmann::json::parse(body)["model"], "org/model \"v2\"");
}

// A byte order mark is read past and not sent on (strict JSON parsers refuse it).
TEST(ParseRequest, AByteOrderMarkIsNotSentToTheBackend) {
  const std::string text = "\xEF\xBB\xBF{\"model\":\"auto\",\"prompt\":\"x\"}";
  auto parsed = parse_request(text, Endpoint::completions);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(body_for_backend(*parsed, "auto"), R"({"model":"auto","prompt":"x"})");
  EXPECT_EQ(body_for_backend(*parsed, "gpt"), R"({"model":"gpt","prompt":"x"})");
}

// `metadata` steers routing; OpenAI refuses it without `store: true` ("The 'metadata' parameter
// is only allowed when 'store' is enabled"), so only then does it reach the backend.
TEST(ParseRequest, MetadataReachesTheBackendOnlyWithStore) {
  auto routed = parse_request(
      R"({"model":"auto","metadata":{"role":"planner"},"user":"u","messages":[{"role":"user","content":"x"}]})",
      Endpoint::chat_completions);
  ASSERT_TRUE(routed);
  EXPECT_EQ(routed->summary.metadata["role"], "planner");
  EXPECT_EQ(body_for_backend(*routed, "gpt"),
            R"({"model":"gpt","user":"u","messages":[{"role":"user","content":"x"}]})");
  auto stored = parse_request(
      R"({"model":"auto","store":true,"metadata":{"role":"planner"},"messages":[{"role":"user","content":"x"}]})",
      Endpoint::chat_completions);
  ASSERT_TRUE(stored);
  const auto body = nlohmann::json::parse(body_for_backend(*stored, "gpt"));
  EXPECT_EQ(body["metadata"]["role"], "planner");
  EXPECT_EQ(body["store"], true);
  auto not_an_object = parse_request(
      R"({"model":"auto","metadata":null,"messages":[{"role":"user","content":"x"}]})",
      Endpoint::chat_completions);
  ASSERT_TRUE(not_an_object);
  EXPECT_FALSE(nlohmann::json::parse(body_for_backend(*not_an_object, "gpt")).contains("metadata"));
}

// Dropping `metadata` or changing `stream_options` edits those members alone: every other
// member reaches the backend as the client wrote it (a DOM would have turned integers beyond
// 64 bits into doubles, collapsed repeated keys inside objects and decoded escapes).
TEST(ParseRequest, EditsLeaveEveryOtherMemberAsWritten) {
  const std::string rest =
      R"("big":123456789012345678901234567890,"neg":-9223372036854775809,"h":1E5,)"
      R"("tool":{"a":1,"a":2},"s":"caf\u00e9 \ud83d\ude00","messages":[{"role":"user","content":"x"}])";
  const std::string with_metadata = R"({"model":"auto","metadata":{"k":"v"},)" + rest + "}";
  auto parsed = parse_request(with_metadata, Endpoint::chat_completions);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(body_for_backend(*parsed, "gpt"), R"({"model":"gpt",)" + rest + "}");

  const std::string with_options =
      R"({"stream":true, "stream_options" : {"include_usage":false,"x":[1]}, "model" : "a",)" +
      rest + "}";
  auto stream = parse_request(with_options, Endpoint::chat_completions);
  ASSERT_TRUE(stream);
  EXPECT_EQ(body_for_backend(*stream, "gpt", StreamOptions::ask_usage),
            R"({"stream":true,"stream_options":{"include_usage":true,"x":[1]},"model" :"gpt",)" +
                rest + "}");
  EXPECT_EQ(body_for_backend(*stream, "gpt", StreamOptions::left_out),
            R"({"stream":true,"model" :"gpt",)" + rest + "}");
}

TEST(ParseRequest, EndpointSpecificRequiredFields) {
  EXPECT_FALSE(parse_request(R"({"model":"a"})", Endpoint::completions));
  EXPECT_TRUE(parse_request(R"({"model":"a","prompt":"x"})", Endpoint::completions));
  EXPECT_FALSE(parse_request(R"({"model":"a"})", Endpoint::embeddings));
  EXPECT_TRUE(parse_request(R"({"model":"a","input":"x"})", Endpoint::embeddings));
}

TEST(ParseRequest, InvalidJsonSaysWhere) {
  auto parsed = parse_request("{\n  \"model\": }", Endpoint::chat_completions);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.failure().kind, ErrorKind::invalid_json);
  EXPECT_NE(parsed.failure().message.find("line 2"), std::string::npos);
}

TEST(Usage, FoundInResponsesAndChunks) {
  auto usage = find_usage(R"({"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":34}})");
  ASSERT_TRUE(usage);
  EXPECT_EQ(usage->prompt_tokens, 12);
  EXPECT_EQ(usage->completion_tokens, 34);
  EXPECT_FALSE(find_usage(R"({"choices":[]})"));
  // Quoted text with escaped quotes, even or odd in number, does not hide the counts after it.
  for (const std::string_view note : {R"(a \"b\" c)", R"(a \" c\\)", R"(\\)"}) {
    const std::string answer = std::string(R"({"usage":{"note":")") + std::string(note) +
                               R"(","prompt_tokens" : 7,"completion_tokens":3}})";
    const auto counted = find_usage(answer);
    ASSERT_TRUE(counted) << answer;
    EXPECT_EQ(counted->prompt_tokens, 7) << answer;
    EXPECT_EQ(counted->completion_tokens, 3) << answer;
  }
}

// Prompt tokens the provider read from its cache are noted (a cheaper price may apply), never
// more than the prompt.
TEST(Usage, CachedPromptTokensAreNoted) {
  const auto cached =
      find_usage(R"({"choices":[],"usage":{"prompt_tokens":1000,"completion_tokens":5,)"
                 R"("prompt_tokens_details":{"cached_tokens":800,"audio_tokens":0}}})");
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->cached_prompt_tokens, 800);
  EXPECT_EQ(
      find_usage(R"({"usage":{"prompt_tokens":10,"completion_tokens":1}})")->cached_prompt_tokens,
      0);
  EXPECT_EQ(find_usage(R"({"usage":{"prompt_tokens":10,"completion_tokens":1,)"
                       R"("prompt_tokens_details":{"cached_tokens":50}}})")
                ->cached_prompt_tokens,
            10);
}

// A count no answer can hold (a backend's bug) is left out instead of poisoning the totals.
TEST(Usage, ImplausibleCountsAreLeftOut) {
  const auto huge = find_usage(
      R"({"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":9223372036854775807}})");
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->prompt_tokens, 12);
  EXPECT_EQ(huge->completion_tokens, 0);
  EXPECT_FALSE(
      find_usage(R"({"choices":[],"usage":{"prompt_tokens":100000001,"completion_tokens":-5}})"));
  const auto largest =
      find_usage(R"({"choices":[],"usage":{"prompt_tokens":100000000,"completion_tokens":1}})");
  ASSERT_TRUE(largest);
  EXPECT_EQ(largest->prompt_tokens, 100000000);
}

TEST(Usage, NotTakenFromTheAnswersText) {
  const auto usage =
      find_usage(R"({"usage":{"prompt_tokens":7,"completion_tokens":8},"choices":[{"message":)"
                 R"({"content":"say \"usage\": {\"prompt_tokens\": 1}"}}]})");
  ASSERT_TRUE(usage);
  EXPECT_EQ(usage->prompt_tokens, 7);
  EXPECT_EQ(usage->completion_tokens, 8);
  EXPECT_FALSE(find_usage(R"({"choices":[{"message":{"content":"\"usage\": 3"}}]})"));
}

TEST(ErrorEvent, RecognisesErrorObjectsOnly) {
  EXPECT_TRUE(is_error_event(R"({"error":{"message":"x"}})"));
  EXPECT_FALSE(is_error_event(R"({"choices":[{"delta":{"content":"\"error\""}}]})"));
  EXPECT_FALSE(is_error_event("[DONE]"));
}

TEST(ErrorBody, HasOpenAIShape) {
  const auto body = nlohmann::json::parse(
      error_body(Failure{ErrorKind::model_not_found, "no such model", 0, "model"}));
  EXPECT_EQ(body["error"]["message"], "no such model");
  EXPECT_EQ(body["error"]["type"], "invalid_request_error");
  EXPECT_EQ(body["error"]["param"], "model");
  EXPECT_EQ(body["error"]["code"], "model_not_found");
}

TEST(ErrorKinds, EveryKindHasANameStatusAndCode) {
  for (int k = 0; k <= static_cast<int>(ErrorKind::internal); ++k) {
    const auto kind = static_cast<ErrorKind>(k);
    EXPECT_FALSE(name(kind).empty());
    EXPECT_GE(traits(kind).status, 400);
    EXPECT_FALSE(traits(kind).code.empty());
  }
}

// What OpenAI refuses before running a model is refused here too, naming the field; what it
// accepts passes (null counts as absent).
TEST(ParseRequest, SamplingFieldsRolesAndContentAreChecked) {
  const std::string head = R"({"model":"a","messages":[{"role":"user","content":"x"}],)";
  for (const auto& [field, param] : std::vector<std::pair<std::string, std::string>>{
           {R"("temperature":"hot")", "temperature"},
           {R"("temperature":-0.5)", "temperature"},
           {R"("top_p":-1)", "top_p"},
           {R"("n":0)", "n"},
           {R"("n":"2")", "n"},
           {R"("n":1.5)", "n"},
           {R"("max_tokens":-1)", "max_tokens"},
           {R"("max_completion_tokens":0)", "max_completion_tokens"},
           {R"("seed":"x")", "seed"},
           {R"("presence_penalty":3)", "presence_penalty"},
           {R"("logprobs":"yes")", "logprobs"},
           {R"("top_logprobs":21)", "top_logprobs"},
           {R"("top_logprobs":2)", "top_logprobs"},  // without "logprobs": true
           {R"("logprobs":false,"top_logprobs":2)", "top_logprobs"},
           {R"("stop":[1])", "stop"},
           {R"("user":{"id":1})", "user"}}) {
    const auto bad = parse_request(head + field + "}", Endpoint::chat_completions);
    ASSERT_FALSE(bad) << field;
    EXPECT_EQ(bad.failure().kind, ErrorKind::invalid_request) << field;
    EXPECT_EQ(bad.failure().param, param) << field;
  }
  for (const char* field :
       {R"("temperature":0)", R"("temperature":2.5)", R"("top_p":null)", R"("n":2)",
        R"("seed":9223372036854775807)", R"("max_tokens":4096)", R"("seed":-7)",
        R"("logprobs":true,"top_logprobs":5)", R"("top_logprobs":5,"logprobs":true)",
        R"("logprobs":false,"top_logprobs":null)", R"("stop":"\n")", R"("stop":["a","b"])",
        R"("stop":null)", R"("frequency_penalty":-2)"}) {
    EXPECT_TRUE(parse_request(head + field + "}", Endpoint::chat_completions)) << field;
  }
  auto max_tokens = parse_request(head + R"("max_tokens":77})", Endpoint::chat_completions);
  ASSERT_TRUE(max_tokens);
  EXPECT_EQ(max_tokens->summary.max_output_tokens, 77);
  // Both caps: the larger is kept free, whichever one the backend honours.
  auto both = parse_request(head + R"("max_tokens":500,"max_completion_tokens":100})",
                            Endpoint::chat_completions);
  ASSERT_TRUE(both);
  EXPECT_EQ(both->summary.max_output_tokens, 500);
  // An assistant turn's refusal and reasoning count as prompt.
  auto reasoning = parse_request(
      R"({"model":"a","messages":[{"role":"assistant","content":"ok","reasoning_content":"abcdefgh",)"
      R"("refusal":"no"},{"role":"user","content":"x"}]})",
      Endpoint::chat_completions);
  ASSERT_TRUE(reasoning);
  EXPECT_EQ(reasoning->summary.content_chars, 2u + 8 + 2 + 1);
  for (const auto& [messages, param] : std::vector<std::pair<std::string, std::string>>{
           {R"([{"role":"bogus","content":"x"}])", "messages[0].role"},
           {R"([{"role":"user","content":"x"},{"role":"user","content":5}])",
            "messages[1].content"},
           // Content parts: objects with a string type; a text part's text a string.
           {R"([{"role":"user","content":[1,2]}])", "messages[0].content[0]"},
           {R"([{"role":"user","content":[{"type":"text","text":"a"},null]}])",
            "messages[0].content[1]"},
           {R"([{"role":"user","content":[{"type":"text","text":5}]}])", "messages[0].content[0]"},
           {R"([{"role":"user","content":[{"text":"a"}]}])", "messages[0].content[0]"},
           {R"([{"role":"user"}])", "messages[0].content"},
           {R"([{"role":"tool","tool_call_id":"c"}])", "messages[0].content"}}) {
    const auto bad =
        parse_request(R"({"model":"a","messages":)" + messages + "}", Endpoint::chat_completions);
    ASSERT_FALSE(bad) << messages;
    EXPECT_EQ(bad.failure().param, param) << messages;
  }
  EXPECT_TRUE(parse_request(
      R"({"model":"a","messages":[{"role":"developer","content":"x"},{"role":"assistant",)"
      R"("content":null,"tool_calls":[]},{"role":"tool","content":[{"type":"text","text":"r"}]}]})",
      Endpoint::chat_completions));
  // An assistant turn may carry tool calls instead of content.
  EXPECT_TRUE(parse_request(
      R"({"model":"a","messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[]}]})",
      Endpoint::chat_completions));
  // stream_options only with a stream; a tool to call only with tools.
  const auto options = parse_request(head + R"("stream_options":{"include_usage":true}})",
                                     Endpoint::chat_completions);
  ASSERT_FALSE(options);
  EXPECT_EQ(options.failure().param, "stream_options");
  EXPECT_TRUE(parse_request(head + R"("stream":true,"stream_options":{"include_usage":true}})",
                            Endpoint::chat_completions));
  for (const char* choice : {R"("required")", R"({"type":"function","function":{"name":"f"}})"}) {
    const auto bad =
        parse_request(head + R"("tool_choice":)" + choice + "}", Endpoint::chat_completions);
    ASSERT_FALSE(bad) << choice;
    EXPECT_EQ(bad.failure().param, "tool_choice");
  }
  EXPECT_TRUE(parse_request(head + R"("tool_choice":"none"})", Endpoint::chat_completions));
  EXPECT_TRUE(parse_request(
      head + R"("tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required"})",
      Endpoint::chat_completions));
  // Other part types pass to the backend, whichever it knows (vLLM's video_url).
  EXPECT_TRUE(parse_request(
      R"({"model":"a","messages":[{"role":"user","content":[{"type":"video_url","video_url":{}}]}]})",
      Endpoint::chat_completions));
  // metadata: an object of at most 64 keys (or null); nested values are not kept.
  EXPECT_FALSE(parse_request(head + R"("metadata":[]})", Endpoint::chat_completions));
  EXPECT_TRUE(parse_request(head + R"("metadata":null})", Endpoint::chat_completions));
  std::string wide = R"("metadata":{)";
  for (int i = 0; i < 65; ++i) wide += (i ? "," : "") + ("\"k" + std::to_string(i) + "\":1");
  const auto too_wide = parse_request(head + wide + "}}", Endpoint::chat_completions);
  ASSERT_FALSE(too_wide);
  EXPECT_EQ(too_wide.failure().param, "metadata");
  auto nested = parse_request(head + R"("metadata":{"team":"a","deep":{"x":[1]}}})",
                              Endpoint::chat_completions);
  ASSERT_TRUE(nested);
  EXPECT_EQ(nested->summary.metadata, (nlohmann::json{{"team", "a"}}));
  // Legacy completions check the same sampling fields; embeddings have none of them.
  EXPECT_FALSE(
      parse_request(R"({"model":"a","prompt":"x","temperature":"hot"})", Endpoint::completions));
  EXPECT_TRUE(parse_request(R"({"model":"a","input":"x","n":0})", Endpoint::embeddings));
  EXPECT_FALSE(parse_request(R"({"model":"a","input":"x","dimensions":0})", Endpoint::embeddings));
  EXPECT_TRUE(parse_request(R"({"model":"a","input":"x","dimensions":256})", Endpoint::embeddings));
  // A legacy completion may ask for no new tokens (the prompt echoed with its logprobs).
  EXPECT_TRUE(parse_request(R"({"model":"a","prompt":"x","max_tokens":0,"echo":true})",
                            Endpoint::completions));
}

}  // namespace
}  // namespace llm_router::api

namespace llm_router::api {
namespace {

TEST(SpliceModel, ReplacesOnlyTheTopLevelModelValue) {
  const std::string text =
      R"({"messages":[{"role":"user","content":"the \"model\": x","model":"inner"}], "model" : "auto","n":1})";
  auto parsed = parse_request(text, Endpoint::chat_completions);
  ASSERT_TRUE(parsed);
  const auto body = nlohmann::json::parse(body_for_backend(*parsed, "gpt-\"4o\""));
  EXPECT_EQ(body["model"], "gpt-\"4o\"");
  EXPECT_EQ(body["messages"][0]["model"], "inner");
  EXPECT_EQ(body["messages"][0]["content"], "the \"model\": x");
  EXPECT_EQ(body["n"], 1);
}

TEST(SpliceModel, OnlyAPlainStringModelIsAccepted) {
  // The splice needs a model written as a string: anything else is refused before it.
  EXPECT_FALSE(parse_request(R"({"model":null,"messages":[{"role":"user","content":"x"}]})",
                             Endpoint::chat_completions));
  EXPECT_FALSE(parse_request(R"({"other":1,"messages":[{"role":"user","content":"x"}]})",
                             Endpoint::chat_completions));
  auto parsed = parse_request(R"({"model":"a","messages":[{"role":"user","content":"x"}]})",
                              Endpoint::chat_completions);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(nlohmann::json::parse(body_for_backend(*parsed, "b"))["model"], "b");
  EXPECT_EQ(body_for_backend(*parsed, "a"), std::string(parsed->text));
}

}  // namespace
}  // namespace llm_router::api

namespace llm_router::api {
namespace {

TEST(StreamUsage, InjectedOnlyForStreamsThatDidNotAsk) {
  auto stream =
      parse_request(R"({"model":"a","stream":true,"messages":[{"role":"user","content":"x"}]})",
                    Endpoint::chat_completions);
  ASSERT_TRUE(stream);
  auto body = nlohmann::json::parse(body_for_backend(*stream, "b", StreamOptions::ask_usage));
  EXPECT_EQ(body["stream_options"]["include_usage"], true);
  EXPECT_EQ(body["model"], "b");
  auto plain = parse_request(R"({"model":"a","messages":[{"role":"user","content":"x"}]})",
                             Endpoint::chat_completions);
  EXPECT_FALSE(nlohmann::json::parse(body_for_backend(*plain, "b", StreamOptions::ask_usage))
                   .contains("stream_options"));
  auto other_options = parse_request(
      R"({"model":"a","stream":true,"stream_options":{"x":1},"messages":[{"role":"user","content":"x"}]})",
      Endpoint::chat_completions);
  auto merged =
      nlohmann::json::parse(body_for_backend(*other_options, "b", StreamOptions::ask_usage));
  EXPECT_EQ(merged["stream_options"]["include_usage"], true);
  EXPECT_EQ(merged["stream_options"]["x"], 1);
  // A backend that refuses the field gets none, the client's included.
  EXPECT_FALSE(nlohmann::json::parse(body_for_backend(*other_options, "b", StreamOptions::left_out))
                   .contains("stream_options"));
  EXPECT_TRUE(is_usage_only_chunk(R"({"choices":[],"usage":{"prompt_tokens":1}})"));
  EXPECT_FALSE(is_usage_only_chunk(R"({"choices":[{"delta":{}}]})"));
}

}  // namespace
}  // namespace llm_router::api

namespace llm_router::api {
namespace {

TEST(ParseRequest, ARepeatedTopLevelKeyIsRejected) {
  // Parsers disagree on which copy wins: the backend could see another model than the router.
  for (const char* body : {R"({"model":"a","model":"b","messages":[]})",
                           R"({"model":"a","mod\u0065l":"b","messages":[]})",
                           R"({"model":"a","messages":[],"messages":[]})"}) {
    auto parsed = parse_request(body, Endpoint::chat_completions);
    ASSERT_FALSE(parsed) << body;
    EXPECT_EQ(parsed.failure().kind, ErrorKind::invalid_json);
  }
  EXPECT_TRUE(parse_request(
      R"({"model":"a","messages":[{"role":"user","content":"{\"model\":1}"}],"metadata":{"model":"x"}})",
      Endpoint::chat_completions));
}

}  // namespace
}  // namespace llm_router::api

namespace llm_router::api {
namespace {

TEST(ParseRequest, StreamOptionsMustBeAnObjectAndOddFlagsAreSafe) {
  auto bad = parse_request(
      R"({"model":"a","stream":true,"stream_options":"x","messages":[{"role":"user","content":"hi"}]})",
      Endpoint::chat_completions);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.failure().param, "stream_options");
  auto wrong = parse_request(
      R"({"model":"a","stream":true,"stream_options":{"include_usage":"yes"},"messages":[{"role":"user","content":"hi"}]})",
      Endpoint::chat_completions);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.failure().param, "stream_options.include_usage");
  auto odd = parse_request(
      R"({"model":"a","stream":true,"stream_options":{"include_usage":null,"x":1},"messages":[{"role":"user","content":"hi"}]})",
      Endpoint::chat_completions);
  ASSERT_TRUE(odd);
  EXPECT_FALSE(odd->summary.include_usage);
  const auto sent = nlohmann::json::parse(body_for_backend(*odd, "m", StreamOptions::ask_usage));
  EXPECT_EQ(sent["stream_options"]["include_usage"], true);
  EXPECT_EQ(sent["model"], "m");
}

TEST(ParseRequest, SummarizesWhatRulesTestWithoutADom) {
  auto parsed = parse_request(
      R"({"model":"auto","user":"u-1","metadata":{"tenant":"acme"},"max_tokens":7,)"
      R"("max_completion_tokens":null,"response_format":{"type":"json_schema"},)"
      R"("tools":[{"type":"function"}],"stream":true,"stream_options":{"include_usage":true},)"
      R"("messages":[)"
      R"({"role":"system","content":"Be \"brief\"\n"},{"role":"assistant","content":"ok"},)"
      R"({"content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{}}],"role":"user"},)"
      R"({"role":"user","content":"third"}]})",
      Endpoint::chat_completions);
  ASSERT_TRUE(parsed);
  const RequestSummary& s = parsed->summary;
  EXPECT_EQ(s.user, "u-1");
  EXPECT_EQ(s.metadata, nlohmann::json({{"tenant", "acme"}}));
  EXPECT_EQ(s.max_output_tokens, 7);  // max_completion_tokens is not an integer
  EXPECT_TRUE(s.json_mode);
  EXPECT_TRUE(s.has_tools);
  EXPECT_TRUE(s.has_stream_options);
  EXPECT_TRUE(s.include_usage);
  EXPECT_TRUE(s.has_images);
  // Decoded bytes: `Be "brief"` + newline, ok, look, third; and the tools' JSON.
  EXPECT_EQ(s.content_chars, 11u + 2 + 4 + 5 + 4 + 8);  // and the tools' words: type, function
  // The first two system/user messages (role after content counts too), decoded and joined.
  EXPECT_EQ(opening_texts(*parsed), (std::vector<std::string>{"Be \"brief\"\n", "look"}));
}

// Speech asked for, or an earlier spoken answer sent back, needs a backend that speaks.
TEST(ParseRequest, AudioOutputIsNotedFromModalitiesAudioAndHistory) {
  const auto audio_output = [](const std::string& extra, const std::string& messages) {
    auto parsed = parse_request(R"({"model":"m","messages":)" + messages + extra + "}",
                                Endpoint::chat_completions);
    EXPECT_TRUE(parsed) << extra;
    return parsed && parsed->summary.audio_output;
  };
  const std::string hi = R"([{"role":"user","content":"hi"}])";
  EXPECT_FALSE(audio_output("", hi));
  EXPECT_FALSE(audio_output(R"(,"modalities":["text"])", hi));
  EXPECT_TRUE(audio_output(R"(,"modalities":["text","audio"])", hi));
  EXPECT_TRUE(audio_output(R"(,"audio":{"voice":"alloy","format":"wav"})", hi));
  EXPECT_FALSE(audio_output(R"(,"audio":null)", hi));
  EXPECT_TRUE(audio_output("", R"([{"role":"user","content":"hi"},)"
                               R"({"role":"assistant","audio":{"id":"audio_abc"}},)"
                               R"({"role":"user","content":"again"}])"));
}

TEST(ParseRequest, ALaterMemberOfAMessageWinsAsInTheDom) {
  auto parsed = parse_request(
      R"({"model":"a","messages":[{"role":7,"content":"x","role":"user","content":"longer"}]})",
      Endpoint::chat_completions);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->summary.content_chars, 6u);
  EXPECT_EQ(opening_texts(*parsed), (std::vector<std::string>{"longer"}));
  EXPECT_EQ(parsed->body()["messages"][0]["content"], "longer");
}

TEST(ParseRequest, ATopLevelKeyRepeatedUnderAnEscapeIsStillRepeated) {
  auto parsed = parse_request(
      R"({"model":"cheap","mod\u0065l":"gpt-4","messages":[{"role":"user","content":"x"}]})",
      Endpoint::chat_completions);
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.failure().message.find("repeats"), std::string::npos);
}

TEST(ParseRequest, PromptOrInputIsTheTextWithoutMessages) {
  auto completion = parse_request(R"({"model":"a","prompt":"hello"})", Endpoint::completions);
  ASSERT_TRUE(completion);
  EXPECT_EQ(completion->summary.content_chars, 5u);
  EXPECT_TRUE(opening_texts(*completion).empty());
  auto embedding = parse_request(R"({"model":"a","input":[1,2,3]})", Endpoint::embeddings);
  ASSERT_TRUE(embedding);
  EXPECT_EQ(embedding->summary.content_chars, 12u);  // four characters to a token id
}

// Lists count every element, and tool definitions count as prompt: a tpm budget or a context
// window sees a batch of texts to embed, and five long tools, for what they are.
TEST(ParseRequest, ListsAndToolsCountTowardsTheEstimate) {
  auto texts =
      parse_request(R"({"model":"a","input":["hello","world!",[1,2],[],7]})", Endpoint::embeddings);
  ASSERT_FALSE(texts);  // (an empty list of ids is refused; the count is read all the same)
  auto batch = parse_request(R"({"model":"a","input":["hello","world!"]})", Endpoint::embeddings);
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->summary.content_chars, 5u + 6);
  auto id_lists = parse_request(R"({"model":"a","input":[[1,2],[3]]})", Endpoint::embeddings);
  ASSERT_TRUE(id_lists);
  EXPECT_EQ(id_lists->summary.content_chars, 8u + 4);
  auto ids = parse_request(R"({"model":"a","input":[7,8]})", Endpoint::embeddings);
  ASSERT_TRUE(ids);
  EXPECT_EQ(ids->summary.content_chars, 4u + 4);
  auto prompts = parse_request(R"({"model":"a","prompt":["abc","defg"]})", Endpoint::completions);
  ASSERT_TRUE(prompts);
  EXPECT_EQ(prompts->summary.content_chars, 7u);
  const std::string tools =
      R"([{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}])";
  auto chat = parse_request(
      R"({"model":"a","messages":[{"role":"user","content":"hi"}],"tools":)" + tools + "}",
      Endpoint::chat_completions);
  ASSERT_TRUE(chat);
  // "hi", then the tools' names and strings: type function function name f parameters type
  // object.
  EXPECT_EQ(chat->summary.content_chars, 2u + 4 + 8 + 8 + 4 + 1 + 10 + 4 + 6);
}

TEST(ParseRequest, PromptAndInputMustBeTextOrTokenIds) {
  // Empty texts to embed, alone or in a list, are refused as OpenAI refuses them.
  for (const char* input :
       {"5", "null", "{}", "true", "[]", R"("")", R"(["a", ""])", "[[]]", "[[1], [ ] ]",
        R"([1, "a"])", R"(["a", [1]])", "[true]", R"([{"text": "a"}])"}) {
    auto bad =
        parse_request(std::string(R"({"model":"a","input":)") + input + "}", Endpoint::embeddings);
    ASSERT_FALSE(bad) << input;
    EXPECT_EQ(bad.failure().param, "input") << input;
  }
  for (const char* input : {R"("x")", R"(["a","b"])", "[1,2]", "[[1],[2,3]]"}) {
    EXPECT_TRUE(
        parse_request(std::string(R"({"model":"a","input":)") + input + "}", Endpoint::embeddings))
        << input;
  }
  // A legacy prompt may be empty text, but not an empty list or a list of mixed kinds.
  for (const char* prompt : {"7", "[]", "[[]]", R"([1, "a"])", R"([[1], "a"])", "[null]"}) {
    auto bad = parse_request(std::string(R"({"model":"a","prompt":)") + prompt + "}",
                             Endpoint::completions);
    ASSERT_FALSE(bad) << prompt;
    EXPECT_EQ(bad.failure().param, "prompt") << prompt;
  }
  for (const char* prompt : {R"("")", R"(["a", ""])", "[1,2]", "[[1],[2,3]]"}) {
    EXPECT_TRUE(parse_request(std::string(R"({"model":"a","prompt":)") + prompt + "}",
                              Endpoint::completions))
        << prompt;
  }
}

TEST(ParseRequest, LegacyCompletionFieldsAreChecked) {
  const std::string head = R"({"model":"a","prompt":"x",)";
  const auto param_of_refusal = [&](const std::string& rest) {
    auto parsed = parse_request(head + rest + "}", Endpoint::completions);
    return parsed ? std::string("accepted") : parsed.failure().param;
  };
  EXPECT_EQ(param_of_refusal(R"("logprobs":true)"), "logprobs");
  EXPECT_EQ(param_of_refusal(R"("logprobs":-1)"), "logprobs");
  EXPECT_EQ(param_of_refusal(R"("logprobs":"3")"), "logprobs");
  EXPECT_EQ(param_of_refusal(R"("logprobs":5)"), "accepted");
  EXPECT_EQ(param_of_refusal(R"("logprobs":null)"), "accepted");
  EXPECT_EQ(param_of_refusal(R"("best_of":0)"), "best_of");
  EXPECT_EQ(param_of_refusal(R"("best_of":1,"n":2)"), "best_of");
  EXPECT_EQ(param_of_refusal(R"("best_of":3,"n":2)"), "accepted");
  EXPECT_EQ(param_of_refusal(R"("best_of":2,"stream":true)"), "best_of");
  EXPECT_EQ(param_of_refusal(R"("best_of":1,"stream":true)"), "accepted");
  EXPECT_EQ(param_of_refusal(R"("echo":"yes")"), "echo");
  EXPECT_EQ(param_of_refusal(R"("echo":true)"), "accepted");
  EXPECT_EQ(param_of_refusal(R"("suffix":5)"), "suffix");
  EXPECT_EQ(param_of_refusal(R"("suffix":"}")"), "accepted");
  // In chat, best_of and suffix are a backend's own business.
  EXPECT_TRUE(parse_request(R"({"model":"a","messages":[{"role":"user","content":"x"}],)"
                            R"("best_of":0,"suffix":5})",
                            Endpoint::chat_completions));
}

TEST(ParseRequest, EmbeddingsEncodingFormatIsFloatOrBase64) {
  const auto parsed = [](const std::string& format) {
    return parse_request(R"({"model":"a","input":"x","encoding_format":)" + format + "}",
                         Endpoint::embeddings);
  };
  EXPECT_TRUE(parsed(R"("float")"));
  EXPECT_TRUE(parsed("null"));
  ASSERT_TRUE(parsed(R"("base64")"));
  EXPECT_TRUE(parsed(R"("base64")")->summary.base64_embeddings);
  for (const char* bad : {R"("hex")", "5", "true"}) {
    auto refused = parsed(bad);
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.failure().param, "encoding_format");
  }
  auto too_wide =
      parse_request(R"({"model":"a","input":"x","dimensions":2000000000})", Endpoint::embeddings);
  ASSERT_FALSE(too_wide);
  EXPECT_EQ(too_wide.failure().message,
            "'dimensions' must be between 1 and 1000000000, got 2000000000");
}

TEST(ParseRequest, SchemaErrorsComeAfterSyntaxErrorsAndInOrder) {
  // The syntax error at the end wins over the missing model at the start.
  auto broken = parse_request(R"({"messages":[], "x": tru})", Endpoint::chat_completions);
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.failure().kind, ErrorKind::invalid_json);
  auto second =
      parse_request(R"({"model":"a","messages":[{"role":"user","content":"x"},{"content":"x"}]})",
                    Endpoint::chat_completions);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.failure().param, "messages[1].role");
  auto not_object = parse_request(R"({"model":"a","messages":["hi",{"content":"x"}]})",
                                  Endpoint::chat_completions);
  ASSERT_FALSE(not_object);
  EXPECT_EQ(not_object.failure().param, "messages[0]");
}

}  // namespace
}  // namespace llm_router::api
