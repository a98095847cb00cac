// consistent_hash keyed by session: every turn of a conversation goes to the backend its opening
// messages hash to, through the whole router (the key is computed only when a pool hashes it).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <set>
#include <string>

#include "support/fixtures.hpp"
#include "support/http_client.hpp"

namespace test_support {
namespace {

using nlohmann::json;

std::string conversation(const std::string& opening, int turns) {
  json messages = json::array({{{"role", "system"}, {"content", "You are terse."}},
                               {{"role", "user"}, {"content", opening}}});
  for (int turn = 1; turn < turns; ++turn) {
    messages.push_back({{"role", "assistant"}, {"content", "answer " + std::to_string(turn)}});
    messages.push_back({{"role", "user"}, {"content", "follow-up " + std::to_string(turn)}});
  }
  return json{{"model", "chat"}, {"messages", messages}}.dump();
}

TEST(SessionAffinity, EveryTurnOfAConversationGoesToOneBackend) {
  MockLlm a, b, c;
  const auto backend = [](const std::string& name, const MockLlm& mock) {
    return "  - {name: " + name + ", provider: openai, base_url: \"" + mock.url() +
           "\", model: m, api_key: sk-" + name + "}\n";
  };
  const std::string config = "server: {threads: 2}\nlogging: {level: warn}\nbackends:\n" +
                             backend("a", a) + backend("b", b) + backend("c", c) +
                             "routes:\n"
                             "  - {name: chat, use: [a, b, c], strategy: consistent_hash}\n";
  Router router(config);
  HttpClient client(router.port());
  std::set<std::string> used;
  for (int conversation_number = 0; conversation_number < 12; ++conversation_number) {
    const std::string opening = "Conversation " + std::to_string(conversation_number);
    std::string first;
    for (int turns = 1; turns <= 3; ++turns) {
      const auto answer = client.post_json("/v1/chat/completions", conversation(opening, turns));
      ASSERT_EQ(answer.status, 200) << answer.body;
      const std::string chosen = answer.header("x-llm-router-backend");
      if (turns == 1) first = chosen;
      EXPECT_EQ(chosen, first) << opening << ", turn " << turns;
    }
    used.insert(first);
  }
  // Twelve conversations over three backends: the key is the conversation's, not a constant.
  EXPECT_GT(used.size(), 1u);
}

// A conversation whose last user turn is `last`.
std::string turn(const std::string& opening, const std::string& last, int turns) {
  json body = json::parse(conversation(opening, turns));
  body["messages"].back()["content"] = last;
  return body.dump();
}

// A sticky route keeps a conversation on the backend that answered it, whatever the rules say
// of a later turn; a failure moves it to the backend that answers instead, which keeps it.
TEST(StickyConversations, LaterTurnsStayOnTheBackendThatAnsweredUntilItFails) {
  MockLlm small, large;
  const auto backend = [](const std::string& name, const MockLlm& mock) {
    return "  - {name: " + name + ", provider: openai, base_url: \"" + mock.url() +
           "\", model: m, api_key: sk-" + name + ", retry: {attempts: 0}}\n";
  };
  const std::string config = "server: {threads: 2}\nlogging: {level: warn}\nbackends:\n" +
                             backend("small", small) + backend("large", large) +
                             "routes:\n"
                             "  - name: chat\n"
                             "    use: [small]\n"
                             "    sticky: {ttl: 10m}\n"
                             "    rules:\n"
                             "      - {name: deploys, when: {keywords: [deploy]}, use: [large]}\n";
  Router router(config);
  HttpClient client(router.port());
  const auto backend_for = [&](const std::string& body) {
    const auto answer = client.post_json("/v1/chat/completions", body);
    EXPECT_EQ(answer.status, 200) << answer.body;
    return answer.header("x-llm-router-backend");
  };
  const std::string opening = "Plan the release notes";
  EXPECT_EQ(backend_for(turn(opening, opening, 1)), "small");
  // The rule would send this turn to large; the conversation stays where it is.
  EXPECT_EQ(backend_for(turn(opening, "now deploy it", 2)), "small");
  const auto dry = client.post_json("/v1/route", turn(opening, "now deploy it", 2));
  EXPECT_EQ(json::parse(dry.body)["sticky"], true) << dry.body;
  // Another conversation is routed by the rules.
  EXPECT_EQ(backend_for(turn("Another task", "deploy the service", 1)), "large");
  small.kill();
  EXPECT_EQ(backend_for(turn(opening, "and deploy again", 3)), "large");
  // The conversation now lives on large, even for a turn the rules give small.
  EXPECT_EQ(backend_for(turn(opening, "thanks", 4)), "large");
}

// The key may be a header the client sends (an agent's session id): turns with the same id
// share a backend whatever their messages.
TEST(StickyConversations, AHeaderCanBeTheConversationKey) {
  Router router(
      "server: {threads: 1}\nlogging: {level: warn}\nbackends:\n"
      "  - {name: a, provider: mock, mock: {time_to_first_token: 1ms, token_delay: 1ms}}\n"
      "  - {name: b, provider: mock, mock: {time_to_first_token: 1ms, token_delay: 1ms}}\n"
      "routes:\n"
      "  - {name: chat, use: [a], sticky: {key: header x-session-id},"
      " rules: [{name: b-words, when: {keywords: [zebra]}, use: [b]}]}\n");
  HttpClient client(router.port());
  const auto backend_for = [&](const std::string& session, const std::string& text) {
    const auto answer = client.request(
        "POST", "/v1/chat/completions",
        json{{"model", "chat"}, {"messages", {{{"role", "user"}, {"content", text}}}}}.dump(),
        {{"content-type", "application/json"}, {"x-session-id", session}});
    EXPECT_EQ(answer.status, 200) << answer.body;
    return answer.header("x-llm-router-backend");
  };
  EXPECT_EQ(backend_for("s1", "zebra facts"), "b");
  EXPECT_EQ(backend_for("s1", "something else"), "b");
  EXPECT_EQ(backend_for("s2", "something else"), "a");
  EXPECT_EQ(backend_for("s2", "zebra facts"), "a");
}

}  // namespace
}  // namespace test_support
