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

}  // namespace
}  // namespace test_support
