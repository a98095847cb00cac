#include "llm_router/api/responses.hpp"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "llm_router/api/json_parse.hpp"

namespace llm_router::api {
namespace {

using nlohmann::json;

json chat_of(const std::string& body) {
  auto call = chat_request_from_responses(body);
  EXPECT_TRUE(call.ok()) << (call.ok() ? "" : call.failure().message);
  return call.ok() ? json::parse(call->chat_body) : json();
}

Failure failure_of(const std::string& body) {
  auto call = chat_request_from_responses(body);
  EXPECT_FALSE(call.ok()) << body;
  return call.ok() ? Failure{} : call.failure();
}

TEST(ResponsesRequest, InstructionsAndStringInputBecomeSystemAndUserMessages) {
  const json chat =
      chat_of(R"({"model":"auto","instructions":"Be brief.","input":"Hi","max_output_tokens":50,)"
              R"("temperature":0.2,"metadata":{"team":"a"},"user":"u1","store":true})");
  EXPECT_EQ(chat["model"], "auto");
  EXPECT_EQ(chat["messages"], json::parse(R"([{"role":"system","content":"Be brief."},)"
                                          R"({"role":"user","content":"Hi"}])"));
  EXPECT_EQ(chat["max_tokens"], 50);
  EXPECT_EQ(chat["temperature"], 0.2);
  EXPECT_EQ(chat["metadata"]["team"], "a");
  EXPECT_EQ(chat["user"], "u1");
  EXPECT_FALSE(chat.contains("store"));
  EXPECT_FALSE(chat.contains("stream"));
}

// The conversion builds DOMs of the body: one of more values than any real request holds
// (8 MB of `[0,0,...]` took seconds) is refused before it is built.
TEST(ResponsesRequest, ABodyOfMoreValuesThanAnyRequestHoldsIsRefused) {
  std::string zeros = "0";
  for (std::size_t i = 1; i < kMaxRequestJsonValues; ++i) zeros += ",0";
  const auto refused =
      chat_request_from_responses(R"({"model":"auto","input":"hi","x":[)" + zeros + "]}");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.failure().kind, ErrorKind::payload_too_large);
  EXPECT_TRUE(chat_request_from_responses(R"({"model":"auto","input":"hi","x":[0,0]})"));
}

// A backend's own extras reach it as in a chat request; Responses-only fields with no chat
// counterpart do not; text.verbosity becomes chat's verbosity.
TEST(ResponsesRequest, ExtraFieldsPassOnAndResponsesOnlyOnesDoNot) {
  const json chat = chat_of(
      R"({"model":"auto","input":"Hi","top_k":5,"min_p":0.1,"chat_template_kwargs":{"a":1},)"
      R"("truncation":"auto","max_tool_calls":3,"include":["x"],"text":{"verbosity":"low"}})");
  EXPECT_EQ(chat["top_k"], 5);
  EXPECT_EQ(chat["min_p"], 0.1);
  EXPECT_EQ(chat["chat_template_kwargs"]["a"], 1);
  EXPECT_EQ(chat["verbosity"], "low");
  for (const char* dropped : {"truncation", "max_tool_calls", "include", "text", "input"}) {
    EXPECT_FALSE(chat.contains(dropped)) << dropped;
  }
}

// Output logprobs are asked for with `include` (or top_logprobs): the chat request asks too.
TEST(ResponsesRequest, IncludedLogprobsAreAskedFor) {
  EXPECT_EQ(chat_of(R"({"input":"Hi","include":["message.output_text.logprobs"]})")["logprobs"],
            true);
  EXPECT_EQ(chat_of(R"({"input":"Hi","top_logprobs":2})")["logprobs"], true);
  EXPECT_FALSE(
      chat_of(R"({"input":"Hi","include":["reasoning.encrypted_content"]})").contains("logprobs"));
}

TEST(ResponsesRequest, ItemsBecomeTurnsWithToolCallsAndResults) {
  const json chat = chat_of(R"({"model":"m","stream":true,"input":[
    {"role":"developer","content":[{"type":"input_text","text":"rules"},
      {"type":"input_text","text":"more rules"}]},
    {"type":"message","role":"user","content":[{"type":"input_text","text":"Look: "},
      {"type":"input_image","image_url":"https://x/y.png","detail":"low"}]},
    {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Calling."}]},
    {"type":"function_call","call_id":"c1","name":"f","arguments":"{\"a\":1}"},
    {"type":"function_call","call_id":"c2","name":"g","arguments":"{}"},
    {"type":"reasoning","id":"r1","summary":[]},
    {"type":"function_call_output","call_id":"c1","output":"42"},
    {"type":"function_call_output","call_id":"c2","output":[{"type":"input_text","text":"a.py"},
      {"type":"input_text","text":"b.py"}]}]})");
  const json& m = chat["messages"];
  ASSERT_EQ(m.size(), 5u) << m;
  EXPECT_EQ(m[0], json::parse(R"({"role":"system","content":"rules\nmore rules"})"));
  EXPECT_EQ(m[1]["content"][1]["image_url"],
            json::parse(R"({"url":"https://x/y.png","detail":"low"})"));
  EXPECT_EQ(m[2]["content"], "Calling.");
  ASSERT_EQ(m[2]["tool_calls"].size(), 2u);
  EXPECT_EQ(m[2]["tool_calls"][1]["function"]["name"], "g");
  EXPECT_EQ(m[3], json::parse(R"({"role":"tool","tool_call_id":"c1","content":"42"})"));
  EXPECT_EQ(m[4]["content"], "a.py\nb.py");  // one part per line
  EXPECT_EQ(chat["stream"], true);
  EXPECT_EQ(chat["stream_options"]["include_usage"], true);
}

TEST(ResponsesRequest, ToolsToolChoiceAndTextFormatTakeTheChatShape) {
  const json chat = chat_of(R"({"model":"m","input":"x",
    "tools":[{"type":"function","name":"f","description":"d","parameters":{"type":"object"},"strict":true}],
    "tool_choice":{"type":"function","name":"f"},
    "text":{"format":{"type":"json_schema","name":"s","schema":{"type":"object"},"strict":true}},
    "reasoning":{"effort":"low"},"max_output_tokens":9})");
  EXPECT_EQ(chat["tools"][0],
            json::parse(R"({"type":"function","function":{"name":"f",)"
                        R"("description":"d","parameters":{"type":"object"},"strict":true}})"));
  EXPECT_EQ(chat["tool_choice"], json::parse(R"({"type":"function","function":{"name":"f"}})"));
  EXPECT_EQ(chat["response_format"]["type"], "json_schema");
  EXPECT_EQ(chat["response_format"]["json_schema"]["name"], "s");
  EXPECT_EQ(chat["reasoning_effort"], "low");
  EXPECT_EQ(chat["max_completion_tokens"], 9);
  EXPECT_EQ(chat_of(R"({"input":"x","text":{"format":{"type":"json_object"}}})")["response_format"],
            json::parse(R"({"type":"json_object"})"));
  EXPECT_FALSE(
      chat_of(R"({"input":"x","text":{"format":{"type":"text"}}})").contains("response_format"));
}

// A Responses function tool is strict unless it says otherwise (chat's default is the opposite),
// when its schema allows strict mode: closed objects with every property required.
TEST(ResponsesRequest, FunctionToolsAreStrictByDefaultWhereTheirSchemaAllows) {
  const auto strict_of = [](const std::string& tool) {
    const json chat = chat_of(R"({"input":"x","tools":[)" + tool + "]}");
    return chat["tools"][0]["function"].value("strict", json());
  };
  const std::string closed =
      R"("parameters":{"type":"object","properties":{"city":{"type":"string"},"at":{"type":)"
      R"("object","properties":{"lat":{"type":"number"}},"required":["lat"],)"
      R"("additionalProperties":false}},"required":["city","at"],"additionalProperties":false})";
  EXPECT_EQ(strict_of(R"({"type":"function","name":"f",)" + closed + "}"), true);
  EXPECT_EQ(strict_of(R"({"type":"function","name":"f","strict":false,)" + closed + "}"), false);
  EXPECT_EQ(strict_of(R"({"type":"function","name":"f","parameters":{"type":"object",)"
                      R"("properties":{"city":{"type":"string"}}}})"),
            json());  // open: sent without strict mode
  EXPECT_EQ(strict_of(R"({"type":"function","name":"f","parameters":{"type":"object",)"
                      R"("properties":{"city":{"type":"string"},"unit":{"type":"string"}},)"
                      R"("required":["city"],"additionalProperties":false}})"),
            json());  // an optional property
  EXPECT_EQ(strict_of(R"({"type":"function","name":"f"})"), json());
}

TEST(ResponsesRequest, AllowedToolsTakeTheChatShape) {
  const json chat =
      chat_of(R"({"input":"x","tools":[{"type":"function","name":"f"}],"tool_choice":{"type":)"
              R"("allowed_tools","mode":"required","tools":[{"type":"function","name":"f"}]}})");
  EXPECT_EQ(chat["tool_choice"],
            json::parse(R"({"type":"allowed_tools","allowed_tools":{"mode":"required",)"
                        R"("tools":[{"type":"function","function":{"name":"f"}}]}})"));
  EXPECT_EQ(failure_of(R"({"input":"x","tool_choice":{"type":"allowed_tools","tools":[)"
                       R"({"type":"web_search"}]}})")
                .param,
            "tool_choice.tools");
}

TEST(ResponsesRequest, WhatARouterCannotDoIsAClientErrorNamingTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"input":"x","previous_response_id":"resp_1"})", "previous_response_id"},
      {R"({"input":"x","conversation":"conv_1"})", "conversation"},
      {R"({"input":"x","background":true})", "background"},
      {R"({"input":"x","tools":[{"type":"web_search"}]})", "tools[0].type"},
      {R"({"input":[{"type":"item_reference","id":"i"}]})", "input[0].id"},
      {R"({"input":[{"id":"i"}]})", "input[0].id"},  // a reference, its type left out
      {R"({"input":[{"type":"function_call_output","call_id":"c","output":[{"type":"input_text","text":"see:"},{"type":"input_image","image_url":"data:image/png;base64,AA"}]}]})",
       "input[0].output[1].type"},
      {R"({"input":[{"role":"user","content":[{"type":"input_image","file_id":"f"}]}]})",
       "input[0].content[0].image_url"},
      {R"({"input":[{"role":"user","content":[{"type":"input_image","image_url":{"url":"u"}}]}]})",
       "input[0].content[0].image_url"},
      // Only user messages carry images, files and audio to a chat backend: not lost silently.
      {R"({"input":[{"role":"developer","content":[{"type":"input_text","text":"see"},{"type":"input_image","image_url":"https://x/y.png"}]},{"role":"user","content":"what is it?"}]})",
       "input[0].content[1].type"},
      {R"({"input":[{"role":"system","content":[{"type":"input_file","file_data":"data:application/pdf;base64,AA"}]}]})",
       "input[0].content[0].type"},
      {R"({"input":[{"role":"wizard","content":"x"}]})", "input[0].role"},
      {R"({"input":[{"type":"function_call","call_id":"c","name":"f"}]})", "input[0].arguments"},
      {R"({"input":5})", "input"},
      {R"({"model":"m"})", "input"},
      {R"({"input":"x","stream":"yes"})", "stream"},
      {R"({"input":"x","tool_choice":5})", "tool_choice"},
      {R"({"input":"x","max_output_tokens":"5"})", "max_output_tokens"},
      {R"({"input":"x","max_output_tokens":0})", "max_output_tokens"},
      {R"({"input":"x","text":{"format":{"type":"json_schema","name":"s"}}})",
       "text.format.schema"},
      {R"([1])", ""},
  };
  for (const auto& [body, param] : cases) {
    const Failure failure = failure_of(body);
    EXPECT_EQ(failure.kind, ErrorKind::invalid_request) << body;
    EXPECT_EQ(failure.param, param) << body << ": " << failure.message;
  }
  EXPECT_EQ(failure_of("{not json").kind, ErrorKind::invalid_json);
  // A repeated key (escaped or not) is refused as on the other endpoints.
  EXPECT_EQ(failure_of(R"({"model":"a","model":"b","input":"x"})").kind, ErrorKind::invalid_json);
  EXPECT_EQ(failure_of(R"({"input":"x","stream":false,"str\u0065am":true})").kind,
            ErrorKind::invalid_json);
  // Nesting deeper than the parser's limit is refused, not dumped recursively.
  EXPECT_EQ(failure_of(R"({"input":"x","metadata":)" + std::string(100000, '[') +
                       std::string(100000, ']') + "}")
                .kind,
            ErrorKind::invalid_json);
  // A type other than the expected one is a 400, never an exception.
  for (const char* body :
       {R"({"input":[{"type":5,"role":"user","content":"x"}]})",
        R"({"input":[{"role":"user","content":[{"type":[1]}]}]})",
        R"({"input":"x","tools":[{"type":{}}]})", R"({"input":"x","background":"yes"})",
        R"({"input":"x","tool_choice":{"type":1}})"}) {
    (void)chat_request_from_responses(body);
  }
}

json shell() {
  auto call = chat_request_from_responses(R"({"model":"auto","input":"x","instructions":"i"})");
  return call->shell;
}

TEST(ResponsesRequest, TextSettingsKeepThePlainFormatTheyImply) {
  auto call = chat_request_from_responses(R"({"input":"x","text":{"verbosity":"low"}})");
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(call->shell["text"]["verbosity"], "low");
  EXPECT_EQ(call->shell["text"]["format"]["type"], "text");
}

// The Response echoes what the request set, as OpenAI's does.
TEST(ResponsesRequest, TheResponseEchoesCacheKeyAndSafetyIdentifier) {
  auto call = chat_request_from_responses(
      R"({"input":"x","prompt_cache_key":"pk","safety_identifier":"s1"})");
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(call->shell["prompt_cache_key"], "pk");
  EXPECT_EQ(call->shell["safety_identifier"], "s1");
  auto bare = chat_request_from_responses(R"({"input":"x"})");
  EXPECT_TRUE(bare->shell["prompt_cache_key"].is_null());
}

TEST(ResponsesAnswer, AChatCompletionBecomesAResponse) {
  const auto text = response_from_chat_answer(
      R"({"id":"c","object":"chat.completion","model":"small","choices":[{"index":0,)"
      R"("message":{"role":"assistant","content":"Hello","tool_calls":[{"id":"call_1",)"
      R"("type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},)"
      R"("finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":7,)"
      R"("prompt_tokens_details":{"cached_tokens":2}}})",
      shell());
  ASSERT_TRUE(text);
  const json response = json::parse(*text);
  EXPECT_EQ(response["object"], "response");
  EXPECT_TRUE(response["id"].get<std::string>().starts_with("resp_"));
  EXPECT_EQ(response["status"], "completed");
  EXPECT_EQ(response["model"], "small");
  EXPECT_EQ(response["instructions"], "i");
  ASSERT_EQ(response["output"].size(), 2u);
  EXPECT_EQ(response["output"][0]["content"][0]["text"], "Hello");
  EXPECT_EQ(response["output"][1]["type"], "function_call");
  EXPECT_EQ(response["output"][1]["call_id"], "call_1");
  EXPECT_EQ(response["output"][1]["arguments"], R"({"a":1})");
  EXPECT_EQ(response["usage"]["input_tokens"], 5);
  EXPECT_EQ(response["usage"]["total_tokens"], 12);
  EXPECT_EQ(response["usage"]["input_tokens_details"]["cached_tokens"], 2);
}

TEST(ResponsesAnswer, LengthIsIncompleteAndNonAnswersAreLeftAlone) {
  const auto cut = response_from_chat_answer(
      R"({"choices":[{"message":{"content":"Hel"},"finish_reason":"length"}]})", shell());
  ASSERT_TRUE(cut);
  EXPECT_EQ(json::parse(*cut)["status"], "incomplete");
  EXPECT_EQ(json::parse(*cut)["incomplete_details"]["reason"], "max_output_tokens");
  EXPECT_FALSE(response_from_chat_answer(R"({"error":{"message":"x"}})", shell()));
  EXPECT_FALSE(response_from_chat_answer("not json", shell()));
}

TEST(ResponsesAnswer, BrokenTextAndOddShapesAreStillTranslated) {
  // A lone surrogate escape and a stray byte: valid for the chat endpoint's lenient clients.
  const auto text = response_from_chat_answer(
      "{\"choices\":[{\"message\":{\"content\":\"a \\ud83d b \xff c\"},"
      "\"finish_reason\":\"stop\"}]}",
      shell());
  ASSERT_TRUE(text);
  EXPECT_EQ(json::parse(*text)["output"][0]["content"][0]["text"], "a \uFFFD b \uFFFD c");
  // A lead byte no UTF-8 sequence starts with, before continuation bytes: each is replaced.
  const auto five_byte = response_from_chat_answer(
      "{\"choices\":[{\"message\":{\"content\":\"\xf8\x88\x80\"}}]}", shell());
  ASSERT_TRUE(five_byte);
  EXPECT_EQ(json::parse(*five_byte)["output"][0]["content"][0]["text"], "\uFFFD\uFFFD\uFFFD");
  const auto odd = response_from_chat_answer(
      R"({"choices":[{"message":{"content":[{"type":"text","text":"x"},{"type":"text","text":"y"}],)"
      R"("tool_calls":[{"id":"c","function":{"name":"f","arguments":{"a":1}}}]},"finish_reason":"length"}]})",
      shell());
  ASSERT_TRUE(odd);
  const json response = json::parse(*odd);
  EXPECT_EQ(response["output"][0]["content"][0]["text"], "xy");
  EXPECT_EQ(response["output"][0]["status"], "incomplete");
  EXPECT_EQ(response["output"][1]["arguments"], R"({"a":1})");
  EXPECT_EQ(response["output"][1]["status"], "incomplete");  // cut by max tokens too
  const auto blank_id = response_from_chat_answer(
      R"({"choices":[{"message":{"tool_calls":[{"id":"","function":{"name":"f","arguments":"{}"}}]},)"
      R"("finish_reason":"tool_calls"}]})",
      shell());
  ASSERT_TRUE(blank_id);
  EXPECT_TRUE(
      json::parse(*blank_id)["output"][0]["call_id"].get<std::string>().starts_with("call_"));
}

TEST(ResponsesAnswer, ErrorsAboutMessagesNameInput) {
  const json fixed = json::parse(error_for_responses(
      R"({"error":{"message":"too long","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}})"));
  EXPECT_EQ(fixed["error"]["param"], "input");
  EXPECT_EQ(fixed["error"]["code"], "context_length_exceeded");
  const std::string other = R"({"error":{"message":"x","param":"model"}})";
  EXPECT_EQ(error_for_responses(other), other);
  EXPECT_EQ(error_for_responses("<html>"), "<html>");
}

struct Event {
  std::string type;
  json data;
};

std::vector<Event> events_of(const std::string& sse) {
  std::vector<SseEvent> raw;
  SseParser().feed(sse, raw);
  std::vector<Event> out;
  for (auto& e : raw) {
    json data = json::parse(e.data);
    EXPECT_EQ(data["type"], e.event);
    out.push_back({e.event, std::move(data)});
  }
  return out;
}

std::string chunk(const std::string& delta, const std::string& finish = "null") {
  return R"(data: {"id":"c","object":"chat.completion.chunk","model":"small","choices":[{"index":0,"delta":)" +
         delta + R"(,"finish_reason":)" + finish + "}]}\n\n";
}

const std::string kLogprobs =
    R"({"content":[{"token":"Hi","logprob":-0.1,"bytes":[72,105],)"
    R"("top_logprobs":[{"token":"Hi","logprob":-0.1,"bytes":[72,105]}]}]})";

// With include: ["message.output_text.logprobs"] the chat choice's logprobs reach the text.
TEST(ResponsesAnswer, TokenLogprobsReachTheOutputText) {
  const auto text = response_from_chat_answer(
      R"({"choices":[{"message":{"content":"Hi"},"finish_reason":"stop","logprobs":)" + kLogprobs +
          "}]}",
      shell());
  ASSERT_TRUE(text);
  const json part = json::parse(*text)["output"][0]["content"][0];
  EXPECT_EQ(part["logprobs"], json::parse(kLogprobs)["content"]) << part;
  ResponsesStream stream(shell());
  std::string out = stream.feed(
      R"(data: {"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":)" +
      kLogprobs + R"(,"finish_reason":"stop"}]})" + "\n\ndata: [DONE]\n\n");
  out += stream.finish();
  const auto events = events_of(out);
  bool delta_seen = false;
  for (const auto& e : events) {
    if (e.type == "response.output_text.delta") {
      EXPECT_EQ(e.data["logprobs"], json::parse(kLogprobs)["content"]);
      delta_seen = true;
    }
  }
  EXPECT_TRUE(delta_seen) << out;
  EXPECT_EQ(events.back().data["response"]["output"][0]["content"][0]["logprobs"],
            json::parse(kLogprobs)["content"]);
}

// What reasoning backends (DeepSeek, vLLM) and search models add to a chat answer keeps its
// place in the Response: a reasoning item first, citations on the text, the service tier.
TEST(ResponsesAnswer, ReasoningCitationsAndServiceTierAreKept) {
  const auto text = response_from_chat_answer(
      R"({"model":"m","service_tier":"default","choices":[{"index":0,"message":{)"
      R"("role":"assistant","content":"Paris.","reasoning_content":"The capital is Paris.",)"
      R"("annotations":[{"type":"url_citation","url_citation":{"url":"https://e.org",)"
      R"("title":"E","start_index":0,"end_index":6}}]},"finish_reason":"stop"}]})",
      shell());
  ASSERT_TRUE(text);
  const json response = json::parse(*text);
  EXPECT_EQ(response["service_tier"], "default");
  ASSERT_EQ(response["output"].size(), 2u);
  EXPECT_EQ(response["output"][0]["type"], "reasoning");
  EXPECT_EQ(response["output"][0]["summary"][0]["text"], "The capital is Paris.");
  const json& annotation = response["output"][1]["content"][0]["annotations"][0];
  EXPECT_EQ(annotation["type"], "url_citation");
  EXPECT_EQ(annotation["url"], "https://e.org");
  EXPECT_EQ(annotation["end_index"], 6);
}

TEST(ResponsesItems, AReferenceToAnItemTheRouterSentThisClientIsThatItem) {
  ResponseItemStore items;
  const auto text = response_from_chat_answer(
      R"({"choices":[{"message":{"role":"assistant","content":"Sunny in Paris."},)"
      R"("finish_reason":"stop"}]})",
      shell(), &items, "key-alice");
  ASSERT_TRUE(text);
  const std::string id = json::parse(*text)["output"][0]["id"];
  EXPECT_EQ(id.size(), 4u + 32u);  // msg_ and 128 random bits
  const std::string body = R"({"model":"auto","input":[{"role":"user","content":"weather?"},)"
                           R"({"type":"item_reference","id":")" +
                           id + R"("},{"role":"user","content":"and tomorrow?"}]})";
  auto call = chat_request_from_responses(body, {&items, "key-alice"});
  ASSERT_TRUE(call.ok()) << call.failure().message;
  EXPECT_EQ(json::parse(call->chat_body)["messages"],
            json::parse(R"([{"role":"user","content":"weather?"},)"
                        R"({"role":"assistant","content":"Sunny in Paris."},)"
                        R"({"role":"user","content":"and tomorrow?"}])"));
  EXPECT_TRUE(call->keep_items);

  // Another client's reference to it finds nothing, as does one to an id never sent.
  for (const auto& [reference, owner] :
       std::vector<std::pair<std::string, std::string>>{{id, "key-mallory"}, {"msg_x", ""}}) {
    auto unknown = chat_request_from_responses(
        R"({"input":[{"type":"item_reference","id":")" + reference + R"("}]})", {&items, owner});
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.failure().param, "input[0].id");
    EXPECT_NE(unknown.failure().message.find("store = false"), std::string::npos);
  }
  EXPECT_FALSE(chat_request_from_responses(R"({"input":"x","store":false})")->keep_items);
}

TEST(ResponsesItems, AStreamedResponseIsKeptAsItEnds) {
  ResponseItemStore items;
  ResponsesStream stream(shell(), &items, "key-a");
  std::string out = stream.feed(chunk(R"({"role":"assistant","content":"Hi"})") +
                                chunk("{}", R"("stop")") + "data: [DONE]\n\n");
  out += stream.finish();
  const json done = events_of(out).back().data["response"];
  const auto kept = items.find(done["output"][0]["id"].get<std::string>(), "key-a");
  ASSERT_TRUE(kept);
  EXPECT_EQ((*kept)["content"][0]["text"], "Hi");
}

TEST(ResponsesItems, TheStoreDropsItsOldestItemsPastItsBounds) {
  ResponseItemStore items({.items = 2, .bytes = 1000, .item_bytes = 700});
  items.remember(json::parse(R"([{"id":"a","type":"message"},{"id":"b","type":"message"}])"), "");
  items.remember(json::parse(R"([{"id":"c","type":"message"},{"type":"no id"}])"), "");
  EXPECT_FALSE(items.find("a", ""));
  EXPECT_TRUE(items.find("b", ""));
  EXPECT_TRUE(items.find("c", ""));
  const std::string big(600, 'x');
  items.remember(json::array({{{"id", "d"}, {"text", big}}}), "");
  items.remember(json::array({{{"id", "e"}, {"text", big}}}), "");  // d and e: over 1000 bytes
  EXPECT_FALSE(items.find("d", ""));
  EXPECT_TRUE(items.find("e", ""));
  items.remember(json::array({{{"id", "f"}, {"text", std::string(800, 'x')}}}), "");  // > 700
  EXPECT_FALSE(items.find("f", ""));
  EXPECT_TRUE(items.find("e", ""));
}

// One client's long answers do not push out another's items: past the bounds, the client
// holding the most bytes loses its oldest first.
TEST(ResponsesItems, TheClientHoldingTheMostLosesItsOldestFirst) {
  ResponseItemStore items({.items = 100, .bytes = 2000, .item_bytes = 1000});
  items.remember(json::array({{{"id", "alice-1"}, {"text", "short"}}}), "alice");
  for (int i = 0; i < 10; ++i) {
    items.remember(
        json::array({{{"id", "bob-" + std::to_string(i)}, {"text", std::string(500, 'x')}}}),
        "bob");
  }
  EXPECT_TRUE(items.find("alice-1", "alice"));
  EXPECT_FALSE(items.find("bob-0", "bob"));
  EXPECT_TRUE(items.find("bob-9", "bob"));
  EXPECT_FALSE(items.find("bob-9", "alice"));  // each client finds its own only
  // The same id again is kept as the newest, counted once.
  items.remember(json::array({{{"id", "alice-1"}, {"text", "short again"}}}), "alice");
  EXPECT_EQ((*items.find("alice-1", "alice"))["text"], "short again");
  // With one client, the oldest go first, as before.
  ResponseItemStore one({.items = 3, .bytes = 100000, .item_bytes = 1000});
  for (const char* id : {"a", "b", "c", "d"}) one.remember(json::array({{{"id", id}}}), "");
  EXPECT_FALSE(one.find("a", ""));
  EXPECT_TRUE(one.find("b", ""));
  EXPECT_TRUE(one.find("d", ""));
}

TEST(ResponsesStream, TextDeltasBecomeOutputTextEventsInOrder) {
  const std::string chat =
      chunk(R"({"role":"assistant","content":""})") + chunk(R"({"content":"Hel"})") +
      chunk(R"({"content":"lo"})") + chunk("{}", R"("stop")") +
      R"(data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}})"
      "\n\ndata: [DONE]\n\n";
  ResponsesStream stream(shell());
  std::string out;
  for (char c : chat) out += stream.feed(std::string(1, c));  // split anywhere
  out += stream.finish();
  const auto events = events_of(out);
  std::vector<std::string> types;
  for (const auto& e : events) types.push_back(e.type);
  EXPECT_EQ(types,
            (std::vector<std::string>{"response.created", "response.in_progress",
                                      "response.output_item.added", "response.content_part.added",
                                      "response.output_text.delta", "response.output_text.delta",
                                      "response.output_text.done", "response.content_part.done",
                                      "response.output_item.done", "response.completed"}));
  for (std::size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].data["sequence_number"], i);
  const json& done = events.back().data["response"];
  EXPECT_EQ(done["status"], "completed");
  EXPECT_EQ(done["model"], "small");
  EXPECT_EQ(events[0].data["response"]["model"], "small");  // the answering model from the start
  EXPECT_EQ(done["output"][0]["content"][0]["text"], "Hello");
  EXPECT_EQ(done["usage"]["total_tokens"], 5);
  EXPECT_EQ(events[6].data["text"], "Hello");
}

TEST(ResponsesStream, ReasoningDeltasBecomeAReasoningItemBeforeTheText) {
  const std::string chat = chunk(R"({"role":"assistant","reasoning_content":"Think"})") +
                           chunk(R"({"reasoning_content":"ing."})") +
                           chunk(R"({"content":"Done"})") + chunk("{}", R"("stop")") +
                           "data: [DONE]\n\n";
  ResponsesStream stream(shell());
  std::string out = stream.feed(chat);
  out += stream.finish();
  std::vector<std::string> types;
  for (const auto& e : events_of(out)) types.push_back(e.type);
  EXPECT_EQ(types,
            (std::vector<std::string>{
                "response.created", "response.in_progress", "response.output_item.added",
                "response.reasoning_summary_part.added", "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.delta", "response.reasoning_summary_text.done",
                "response.reasoning_summary_part.done", "response.output_item.done",
                "response.output_item.added", "response.content_part.added",
                "response.output_text.delta", "response.output_text.done",
                "response.content_part.done", "response.output_item.done", "response.completed"}));
  const json done = events_of(out).back().data["response"];
  EXPECT_EQ(done["output"][0]["summary"][0]["text"], "Thinking.");
  EXPECT_EQ(done["output"][1]["content"][0]["text"], "Done");
}

TEST(ResponsesStream, ReasoningAfterTextIsAnItemAfterIt) {
  ResponsesStream stream(shell());
  std::string out =
      stream.feed(chunk(R"({"content":"A"})") + chunk(R"({"reasoning_content":"R"})") +
                  chunk(R"({"content":"B"})") + chunk("{}", R"("stop")") + "data: [DONE]\n\n");
  out += stream.finish();
  const json output = events_of(out).back().data["response"]["output"];
  ASSERT_EQ(output.size(), 3u);
  EXPECT_EQ(output[0]["content"][0]["text"], "A");
  EXPECT_EQ(output[1]["type"], "reasoning");
  EXPECT_EQ(output[2]["content"][0]["text"], "B");
}

TEST(ResponsesStream, ToolCallsFollowTheTextAsTheirOwnItems) {
  const std::string chat =
      chunk(R"({"content":"Let me check."})") +
      chunk(
          R"({"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":""}}]})") +
      chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"x\":"}}]})") +
      chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]})") +
      chunk(
          R"({"tool_calls":[{"index":1,"id":"call_b","function":{"name":"g","arguments":"{}"}}]})") +
      chunk("{}", R"("tool_calls")") + "data: [DONE]\n\n";
  ResponsesStream stream(shell());
  std::string out = stream.feed(chat);
  out += stream.finish();
  const auto events = events_of(out);
  const json& done = events.back().data["response"];
  ASSERT_EQ(done["output"].size(), 3u) << done;
  EXPECT_EQ(done["output"][0]["type"], "message");
  EXPECT_EQ(done["output"][1]["call_id"], "call_a");
  EXPECT_EQ(done["output"][1]["arguments"], R"({"x":1})");
  EXPECT_EQ(done["output"][2]["name"], "g");
  int argument_deltas = 0;
  for (const auto& e : events) {
    if (e.type == "response.function_call_arguments.delta") ++argument_deltas;
    if (e.type == "response.output_item.added") {
      EXPECT_EQ(e.data["item"]["status"], "in_progress");
    }
  }
  EXPECT_EQ(argument_deltas, 3);
  // Each call's item is done before the next one is added, as OpenAI streams them.
  std::vector<std::string> item_events;
  for (const auto& e : events) {
    if (e.type.starts_with("response.output_item.") ||
        e.type == "response.function_call_arguments.done") {
      item_events.push_back(e.type + " " + std::to_string(e.data["output_index"].get<int>()));
    }
  }
  EXPECT_EQ(item_events,
            (std::vector<std::string>{
                "response.output_item.added 0", "response.output_item.done 0",
                "response.output_item.added 1", "response.function_call_arguments.done 1",
                "response.output_item.done 1", "response.output_item.added 2",
                "response.function_call_arguments.done 2", "response.output_item.done 2"}));
}

// A backend coming back to a call after the next one began: its text still reaches the item.
TEST(ResponsesStream, ArgumentsForAFinishedCallReachItsItem) {
  ResponsesStream stream(shell());
  std::string out = stream.feed(
      chunk(
          R"({"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{\"x\""}}]})") +
      chunk(R"({"tool_calls":[{"index":1,"id":"b","function":{"name":"g","arguments":"{}"}}]})") +
      chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]})") +
      chunk("{}", R"("tool_calls")") + "data: [DONE]\n\n");
  out += stream.finish();
  const json output = events_of(out).back().data["response"]["output"];
  ASSERT_EQ(output.size(), 2u) << output;
  EXPECT_EQ(output[0]["arguments"], R"({"x":1})");
  EXPECT_EQ(output[1]["arguments"], "{}");
}

// Some backends name every call first and then send their arguments in turns: each call stays
// open until the answer ends, and its done events carry its whole arguments.
TEST(ResponsesStream, InterleavedCallsStayOpenUntilTheirArgumentsAreWhole) {
  ResponsesStream stream(shell());
  std::string out = stream.feed(
      chunk(R"({"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":""}}]})") +
      chunk(R"({"tool_calls":[{"index":1,"id":"b","function":{"name":"g","arguments":""}}]})") +
      chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"x\""}}]})") +
      chunk(R"({"tool_calls":[{"index":1,"function":{"arguments":"{\"y\":2}"}}]})") +
      chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]})") +
      chunk("{}", R"("tool_calls")") + "data: [DONE]\n\n");
  out += stream.finish();
  const auto events = events_of(out);
  std::map<int, std::string> streamed;  // arguments as the delta events built them
  std::map<int, std::string> done;
  for (const auto& e : events) {
    if (e.type == "response.function_call_arguments.delta") {
      streamed[e.data["output_index"].get<int>()] += e.data["delta"].get<std::string>();
    }
    if (e.type == "response.function_call_arguments.done") {
      done[e.data["output_index"].get<int>()] = e.data["arguments"].get<std::string>();
    }
  }
  EXPECT_EQ(streamed, (std::map<int, std::string>{{0, R"({"x":1})"}, {1, R"({"y":2})"}}));
  EXPECT_EQ(done, streamed);
  const json output = events.back().data["response"]["output"];
  ASSERT_EQ(output.size(), 2u) << output;
  EXPECT_EQ(output[0]["arguments"], R"({"x":1})");
  EXPECT_EQ(output[1]["arguments"], R"({"y":2})");
}

// A function without parameters: some backends send "" for its arguments, OpenAI "{}".
TEST(ResponsesStream, EmptyArgumentsAreAnEmptyObject) {
  ResponsesStream stream(shell());
  std::string out = stream.feed(
      chunk(R"({"tool_calls":[{"index":0,"id":"a","function":{"name":"now","arguments":""}}]})") +
      chunk("{}", R"("tool_calls")") + "data: [DONE]\n\n");
  out += stream.finish();
  const json output = events_of(out).back().data["response"]["output"];
  ASSERT_EQ(output.size(), 1u) << output;
  EXPECT_EQ(output[0]["arguments"], "{}");
}

// As a non-streamed answer: an empty answer is an empty message (an agent loop reads "no
// output" as "go on"), text given as parts is text, and an empty call id is replaced.
TEST(ResponsesStream, AnswersOfOddShapesKeepTheirOutput) {
  const auto output_of_stream = [](const std::string& chat) {
    ResponsesStream stream(shell());
    std::string out = stream.feed(chat);
    out += stream.finish();
    return events_of(out).back().data["response"]["output"];
  };
  json output = output_of_stream(chunk(R"({"role":"assistant","content":""})") +
                                 chunk("{}", R"("stop")") + "data: [DONE]\n\n");
  ASSERT_EQ(output.size(), 1u) << output;
  EXPECT_EQ(output[0]["type"], "message");
  EXPECT_EQ(output[0]["content"][0]["text"], "");

  output = output_of_stream(chunk(R"({"content":[{"type":"text","text":"Hi "}]})") +
                            chunk(R"({"content":[{"type":"text","text":"there"}]})") +
                            chunk("{}", R"("stop")") + "data: [DONE]\n\n");
  ASSERT_EQ(output.size(), 1u) << output;
  EXPECT_EQ(output[0]["content"][0]["text"], "Hi there");

  output = output_of_stream(
      chunk(R"({"tool_calls":[{"index":0,"id":"","function":{"name":"f","arguments":"{}"}}]})") +
      chunk("{}", R"("tool_calls")") + "data: [DONE]\n\n");
  ASSERT_EQ(output.size(), 1u) << output;
  EXPECT_EQ(output[0]["type"], "function_call");
  EXPECT_TRUE(output[0]["call_id"].get<std::string>().starts_with("call_")) << output;
}

TEST(ResponsesStream, OddlyTypedChunksAreSkippedNotThrown) {
  ResponsesStream stream(shell());
  std::string out = stream.feed(
      R"(data: {"choices":[{"index":"0","delta":{"content":"x"}}]})"
      "\n\n"
      R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":"a","function":[]}]}}]})"
      "\n\n");
  out += stream.finish();
  EXPECT_EQ(events_of(out).back().type, "response.failed");
}

// A backend that cuts strings by UTF-16 units may split an emoji's surrogate pair between two
// chunks: the halves are joined, in text and in a call's arguments; a half never completed
// reads as U+FFFD.
TEST(ResponsesStream, ASurrogatePairSplitAcrossChunksIsJoined) {
  ResponsesStream stream(shell());
  std::string out =
      stream.feed(chunk(R"({"content":"smile \ud83d"})") + chunk(R"({"content":"\ude00 end"})") +
                  chunk(R"({"content":" \ude00 and \ud83d"})") +
                  chunk(R"({"tool_calls":[{"index":0,"id":"c","function":{"name":"f",)"
                        R"("arguments":"{\"s\":\"\ud83d"}}]})") +
                  chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"\ude00\"}"}}]})") +
                  chunk("{}", R"("tool_calls")") + "data: [DONE]\n\n");
  out += stream.finish();
  const auto events = events_of(out);
  std::string deltas;
  for (const auto& e : events) {
    if (e.type == "response.output_text.delta") deltas += e.data["delta"].get<std::string>();
  }
  const json& output = events.back().data["response"]["output"];
  EXPECT_EQ(output[0]["content"][0]["text"], "smile \U0001F600 end \uFFFD and \uFFFD");
  EXPECT_EQ(deltas, "smile \U0001F600 end \uFFFD and \uFFFD");
  EXPECT_EQ(output[1]["arguments"], "{\"s\":\"\U0001F600\"}");
}

TEST(ResponsesStream, ErrorsAndEarlyEndsFailTheResponse) {
  {
    ResponsesStream stream(shell());
    std::string out = stream.feed(
        chunk(R"({"content":"a"})") +
        R"(data: {"error":{"message":"upstream stream broke","code":"upstream_closed"}})"
        "\n\n");
    out += stream.finish();
    const auto events = events_of(out);
    ASSERT_GE(events.size(), 2u);
    EXPECT_EQ(events[events.size() - 2].type, "error");
    EXPECT_EQ(events[events.size() - 2].data["code"], "upstream_closed");
    EXPECT_EQ(events.back().type, "response.failed");
    EXPECT_EQ(events.back().data["response"]["status"], "failed");
    // What the client already received is in the failed Response.
    EXPECT_EQ(events.back().data["response"]["output"][0]["content"][0]["text"], "a");
    EXPECT_EQ(events.back().data["response"]["output"][0]["status"], "incomplete");
  }
  {
    ResponsesStream stream(shell());
    std::string out = stream.feed(chunk(R"({"content":"a"})"));
    out += stream.finish();
    const auto events = events_of(out);
    EXPECT_EQ(events.back().type, "response.failed");
  }
  {
    ResponsesStream stream(shell());
    std::string out = stream.feed(chunk(R"({"content":"a"})") + chunk("{}", R"("length")"));
    out += stream.finish();
    const auto events = events_of(out);
    EXPECT_EQ(events.back().type, "response.incomplete");
    EXPECT_TRUE(stream.finish().empty());
  }
  {
    // A tool call cut by max tokens: its item is as incomplete as the Response.
    ResponsesStream stream(shell());
    std::string out = stream.feed(
        chunk(
            R"({"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{\"x"}}]})") +
        chunk("{}", R"("length")"));
    out += stream.finish();
    const auto events = events_of(out);
    EXPECT_EQ(events.back().type, "response.incomplete");
    EXPECT_EQ(events.back().data["response"]["output"][0]["type"], "function_call");
    EXPECT_EQ(events.back().data["response"]["output"][0]["status"], "incomplete");
  }
}

}  // namespace
}  // namespace llm_router::api
