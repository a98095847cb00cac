#include <gtest/gtest.h>

#include "llm_router/analyzer/request.hpp"

namespace llm_router::analyzer {
namespace {

using nlohmann::json;

json chat(json messages) {
  return json{{"model", "m"}, {"messages", std::move(messages)}};
}

const json kConversation = chat(json::array({
    {{"role", "system"}, {"content", "You are terse."}},
    {{"role", "user"}, {"content", "first question"}},
    {{"role", "assistant"}, {"content", "first answer"}},
    {{"role", "user"}, {"content", "second question"}},
}));

TEST(TextSelection, DefaultIsLastUserMessage) {
  const auto facts = extract_request(kConversation, EndpointKind::chat, {});
  EXPECT_EQ(facts.text, "second question");
  EXPECT_EQ(facts.turns, 2);
  EXPECT_FALSE(facts.truncated);
}

TEST(TextSelection, SystemAndHistoryInConversationOrder) {
  TextSelection selection;
  selection.include_system = true;
  selection.history_messages = 2;
  const auto facts = extract_request(kConversation, EndpointKind::chat, selection);
  EXPECT_EQ(facts.text, "You are terse.\nfirst question\nfirst answer\nsecond question");
}

TEST(TextSelection, ThePreviousUserTurnIsKeptAsideForFollowUps) {
  const auto facts = extract_request(kConversation, EndpointKind::chat, {});
  EXPECT_EQ(facts.text, "second question");
  EXPECT_EQ(facts.context_text, "first question");
  TextSelection with_history;
  with_history.history_messages = 2;  // already in the analyzed text
  EXPECT_EQ(extract_request(kConversation, EndpointKind::chat, with_history).context_text, "");
  TextSelection off;
  off.follow_up_context = false;
  EXPECT_EQ(extract_request(kConversation, EndpointKind::chat, off).context_text, "");
}

TEST(TextSelection, AnAgentLoopKeepsItsToolResultsAsideNewestFirst) {
  const auto body = chat(json::array({
      {{"role", "user"}, {"content", "an earlier task"}},
      {{"role", "assistant"}, {"content", "done"}},
      {{"role", "user"}, {"content", "make the tests pass"}},
      {{"role", "assistant"},
       {"content", nullptr},
       {"tool_calls",
        {{{"id", "c1"},
          {"type", "function"},
          {"function", {{"name", "run"}, {"arguments", R"({"cmd":"pytest"})"}}}}}}},
      {{"role", "tool"},
       {"tool_call_id", "c1"},
       {"content", "FAILED tests/test_orders.py::test_total - assert 329.0 == 282.0"}},
      {{"role", "tool"},
       {"tool_call_id", "c2"},
       {"content", "File \"src/orders.py\", line 88\n    return sum(l.qty * l.price) == total()"}},
  }));
  const auto facts = extract_request(body, EndpointKind::chat, {});
  EXPECT_EQ(facts.text, "make the tests pass");
  EXPECT_EQ(facts.context_text,
            "File \"src/orders.py\", line 88\n    return sum(l.qty * l.price) == total()\n"
            "FAILED tests/test_orders.py::test_total - assert 329.0 == 282.0");
  // Another tool's answer (a calendar's JSON, a weather report) is no code work to continue:
  // the earlier user turn is the context then.
  auto errand = body;
  errand["messages"][4]["content"] = R"({"events": [{"title": "dentist"}]})";
  errand["messages"][5]["content"] = "Rain from 3 pm, 12 mm, wind 20 km/h.";
  EXPECT_EQ(extract_request(errand, EndpointKind::chat, {}).context_text, "an earlier task");
}

TEST(TextSelection, ContentPartsAndImages) {
  const auto body = chat(
      json::array({{{"role", "user"},
                    {"content", json::array({
                                    {{"type", "text"}, {"text", "look at"}},
                                    {{"type", "image_url"}, {"image_url", {{"url", "data:..."}}}},
                                    {{"type", "text"}, {"text", "this"}},
                                    {{"type", "input_audio"}},
                                })}}}));
  const auto facts = extract_request(body, EndpointKind::chat, {});
  EXPECT_EQ(facts.text, "look at\nthis");
  EXPECT_TRUE(facts.has_images);
  EXPECT_TRUE(facts.has_audio);
  EXPECT_GT(facts.estimated_tokens, 765);  // an image of unknown size, priced as 1024x1024

  // Low detail costs 85 whatever the size; the estimate agrees with the request summary's.
  auto low = body;
  low["messages"][0]["content"][1]["image_url"]["detail"] = "low";
  const auto low_facts = extract_request(low, EndpointKind::chat, {});
  EXPECT_NEAR(facts.estimated_tokens - low_facts.estimated_tokens, 765 - 85, 1e-9);
}

TEST(TextSelection, CharCapKeepsTheLastUserMessageFirst) {
  TextSelection selection;
  selection.max_chars = 16;
  selection.include_system = true;
  const auto body = chat(json::array({{{"role", "system"}, {"content", "system prompt text"}},
                                      {{"role", "user"}, {"content", std::string(100, 'x')}}}));
  const auto facts = extract_request(body, EndpointKind::chat, selection);
  EXPECT_EQ(facts.text, std::string(10, 'x') + "\n" + std::string(5, 'x'));  // start and end
  EXPECT_TRUE(facts.truncated);
  EXPECT_GT(facts.estimated_tokens, 20);  // tokens count the whole request, not the cap
}

// An assistant turn's refusal and reasoning go back to the model: they count as prompt; a
// predicted output does not.
TEST(TextSelection, RefusalsAndReasoningCountAsPrompt) {
  const std::string long_text(2000, 'x');
  const auto estimate = [&](const std::string& field) {
    json assistant = {{"role", "assistant"}, {"content", "ok"}};
    if (!field.empty()) assistant[field] = long_text + " and more";
    const auto body = chat(json::array({{{"role", "user"}, {"content", "hi"}},
                                        assistant,
                                        {{"role", "user"}, {"content", "go on"}}}));
    return extract_request(body, EndpointKind::chat, TextSelection{}).estimated_tokens;
  };
  const double bare = estimate("");
  for (const char* field : {"refusal", "reasoning_content", "reasoning"}) {
    EXPECT_GT(estimate(field), bare + 100) << field;
  }
  json predicted = chat(json::array({{{"role", "user"}, {"content", "hi"}}}));
  predicted["prediction"] = {{"type", "content"}, {"content", long_text}};
  EXPECT_LT(extract_request(predicted, EndpointKind::chat, TextSelection{}).estimated_tokens, 20);
}

TEST(TextSelection, CapNeverSplitsUtf8) {
  TextSelection selection;
  selection.max_chars = 16;
  const auto body = chat(json::array({{{"role", "user"}, {"content", "ééééééééééé"}}}));
  const auto facts = extract_request(body, EndpointKind::chat, selection);
  std::string characters = facts.text;
  std::erase(characters, '\n');  // between the start and the end kept
  EXPECT_EQ(characters.size() % 2, 0u);
  EXPECT_LE(facts.text.size(), 16u);
}

// "<a pasted document> Summarize the passage above.": the ask comes last.
TEST(TextSelection, CapKeepsTheEndOfALongMessage) {
  TextSelection selection;
  selection.max_chars = 300;
  const std::string prompt = std::string(2000, 'a') + " Summarize the passage above.";
  const auto facts = extract_request(chat(json::array({{{"role", "user"}, {"content", prompt}}})),
                                     EndpointKind::chat, selection);
  EXPECT_TRUE(facts.truncated);
  EXPECT_LE(facts.text.size(), 300u);
  EXPECT_TRUE(facts.text.starts_with("aaaa"));
  EXPECT_TRUE(facts.text.ends_with("Summarize the passage above.")) << facts.text;
}

TEST(TextSelection, CompletionsAndEmbeddings) {
  EXPECT_EQ(extract_request(json{{"prompt", "hello"}}, EndpointKind::completions, {}).text,
            "hello");
  EXPECT_EQ(extract_request(json{{"prompt", {"a", "b"}}}, EndpointKind::completions, {}).text,
            "a\nb");
  const auto ids = extract_request(json{{"prompt", {1, 2, 3}}}, EndpointKind::completions, {});
  EXPECT_EQ(ids.text, "");
  EXPECT_EQ(ids.estimated_tokens, 3);
  EXPECT_EQ(extract_request(json{{"input", "embed me"}}, EndpointKind::embeddings, {}).text,
            "embed me");
}

TEST(TextSelection, WrongShapesGiveFewerSignalsNeverThrow) {
  for (const json& body :
       {json(nullptr), json("text"), json::array(), json{{"messages", "hello"}},
        json{{"messages", {1, 2, "x", nullptr}}},
        json{{"messages", {{{"role", 7}, {"content", 42}}}}},
        json{{"messages", {{{"role", "user"}, {"content", {{{"type", "text"}, {"text", 5}}}}}}}},
        json{{"response_format", "json"}, {"stream", "yes"}, {"tools", 3}, {"metadata", 1}}}) {
    EXPECT_NO_THROW(extract_request(body, EndpointKind::chat, {})) << body.dump();
    EXPECT_NO_THROW(extract_request(body, EndpointKind::completions, {})) << body.dump();
  }
}

TEST(RequestFacts, FlagsUserAndMetadata) {
  json body = kConversation;
  body["stream"] = true;
  body["response_format"] = {{"type", "json_schema"}};
  body["tools"] = json::array({{{"type", "function"}, {"function", {{"name", "f"}}}}});
  body["user"] = "u-42";
  body["metadata"] = {{"team", "search"}};
  const auto facts = extract_request(body, EndpointKind::chat, {});
  EXPECT_TRUE(facts.stream);
  EXPECT_TRUE(facts.json_mode);
  EXPECT_TRUE(facts.has_tools);
  EXPECT_EQ(facts.user, "u-42");
  EXPECT_EQ(facts.metadata["team"], "search");
}

TEST(RequestText, EscapedStringsSurviveLaterReads) {
  // Strings written with escapes are decoded into a buffer; earlier views must stay valid
  // while later ones are decoded.
  const std::string body =
      R"({"messages":[{"role":"system","content":"be \"brief\""},)"
      R"({"role":"user","content":[{"text":"caf\u00e9\nmenu","type":"text"},"then\tthis"]}]})";
  TextSelection selection;
  selection.include_system = true;
  const auto facts = extract_request(std::string_view(body), EndpointKind::chat, selection);
  EXPECT_EQ(facts.text, "be \"brief\"\ncaf\u00e9\nmenu\nthen\tthis");
  EXPECT_EQ(facts.turns, 1);
}

TEST(RequestText, SameFactsAsTheDom) {
  json body = kConversation;
  body["messages"].push_back(
      {{"role", "assistant"},
       {"content", nullptr},
       {"tool_calls",
        {{{"id", "c1"}, {"function", {{"name", "f"}, {"arguments", "{\"a\":1}"}}}}}}});
  body["messages"].push_back({{"role", "user"}, {"content", "third\nquestion \u00fc"}});
  body["tools"] = json::array({{{"type", "function"}, {"function", {{"name", "f"}}}}});
  body["metadata"] = {{"team", "search"}};
  TextSelection selection;
  selection.include_system = true;
  selection.history_messages = 3;
  const std::string text = body.dump();
  const auto raw = extract_request(std::string_view(text), EndpointKind::chat, selection);
  const auto dom = extract_request(body, EndpointKind::chat, selection);
  EXPECT_EQ(raw.text, dom.text);
  EXPECT_EQ(raw.text, "You are terse.\nfirst answer\nsecond question\nthird\nquestion \u00fc");
  EXPECT_EQ(raw.turns, 3);
  EXPECT_DOUBLE_EQ(raw.estimated_tokens, dom.estimated_tokens);
  EXPECT_GT(raw.estimated_tokens, 5 * 4 + 8);  // framing per message and the tool call
  EXPECT_TRUE(raw.has_tools);
  EXPECT_EQ(raw.metadata, dom.metadata);
}

TEST(RequestText, TextThatStopsBeingJsonKeepsWhatWasRead) {
  const std::string body =
      R"({"user":"u-1","stream":true,"messages":[{"role":"user","content":"hi"},)";
  const auto facts = extract_request(std::string_view(body), EndpointKind::chat, {});
  EXPECT_EQ(facts.user, "u-1");
  EXPECT_TRUE(facts.stream);
  EXPECT_EQ(facts.text, "hi");
  for (const std::string_view junk : {"", "nope", "[1,2]", "{\"messages\":", "\"text\""}) {
    EXPECT_NO_THROW(extract_request(junk, EndpointKind::chat, {})) << junk;
    EXPECT_EQ(extract_request(junk, EndpointKind::completions, {}).text, "") << junk;
  }
}

TEST(HeadAndTail, NeverLongerThanTheLimitJoinerIncluded) {
  const std::string text = "0123456789abcdefghij";  // 20 bytes
  std::string buffer;
  for (std::size_t limit = 0; limit < text.size(); ++limit) {
    const std::string_view cut = head_and_tail(text, limit, buffer);
    EXPECT_LE(cut.size(), limit) << limit;
  }
  EXPECT_EQ(head_and_tail(text, 10, buffer), "012345\nhij");  // two thirds, '\n', the rest
  EXPECT_EQ(head_and_tail(text, 20, buffer), text);
}

}  // namespace
}  // namespace llm_router::analyzer
