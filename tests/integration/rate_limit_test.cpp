// A backend's rpm and tpm: spent as requests go out, skipped once spent, 429 when every
// candidate is spent.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>
#include <vector>

#include <unistd.h>

#include "integration/router_config.hpp"
#include "support/canned_backend.hpp"
#include "support/fixtures.hpp"

namespace test_support {
namespace {

using nlohmann::json;

std::string answered_by(HttpClient& client, const std::string& body) {
  const auto response = client.post_json("/v1/chat/completions", body);
  EXPECT_EQ(response.status, 200) << response.body;
  return response.header("x-llm-router-backend");
}

TEST(RateLimits, ABackendAtItsRpmIsSkippedForTheNext) {
  MockLlm quota;
  MockLlm spare;
  Router router(router_config({{"quota", quota.url(), "rpm: 2"}, {"spare", spare.url()}}, "[quota]",
                              "[spare]"));
  HttpClient client(router.port());
  EXPECT_EQ(answered_by(client, chat_body("auto")), "quota");
  EXPECT_EQ(answered_by(client, chat_body("auto")), "quota");
  EXPECT_EQ(answered_by(client, chat_body("auto")), "spare");
  EXPECT_EQ(quota.requests(), 2);
  const auto ready = json::parse(client.request("GET", "/readyz").body)["backends"];
  EXPECT_EQ(ready["quota"]["rpm_available"], 0);
  EXPECT_FALSE(ready["spare"].contains("rpm_available"));  // unlimited
  EXPECT_NE(client.request("GET", "/metrics")
                .body.find(R"(llm_router_rate_limit_skips_total{backend="quota"} 1)"),
            std::string::npos);
}

TEST(RateLimits, EveryCandidateSpentIsA429WithWhenToComeBack) {
  MockLlm quota;
  Router router(router_config({{"quota", quota.url(), "rpm: 1"}}, "[quota]"));
  HttpClient client(router.port());
  EXPECT_EQ(answered_by(client, chat_body("auto")), "quota");
  const auto refused = client.post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(refused.status, 429) << refused.body;
  const auto error = json::parse(refused.body)["error"];
  EXPECT_EQ(error["type"], "rate_limit_error");
  EXPECT_EQ(error["code"], "rate_limit_exceeded");
  EXPECT_NE(error["message"].get<std::string>().find("rpm 1 reached"), std::string::npos) << error;
  // One request a minute, just spent: the next fits in at most 60 s.
  const int retry_after = std::stoi(refused.header("retry-after"));
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 60);
  EXPECT_FALSE(refused.header("retry-after-ms").empty());
  EXPECT_EQ(quota.requests(), 1);  // the refused request never reached it
  // Naming the backend does not get around its limit.
  EXPECT_EQ(client.post_json("/v1/chat/completions", chat_body("quota")).status, 429);
}

// A reload that fails (here: a tokenizer that is not in tokenizers_dir) leaves the running
// limits as they were; it had applied the new rpm to the backends listed before the failure.
TEST(RateLimits, AFailedReloadLeavesTheLimitsAsTheyWere) {
  MockLlm quota;
  MockLlm other;
  const std::string empty_dir =
      ::testing::TempDir() + "no-tokenizers-" + std::to_string(::getpid());
  std::filesystem::create_directories(empty_dir);
  const std::string server = "  watch_config: false\n  tokenizers_dir: " + empty_dir + "\n";
  const auto config = [&](const std::string& rpm, const std::string& other_extra) {
    return router_config(
        {{"quota", quota.url(), "rpm: " + rpm}, {"other", other.url(), other_extra}}, "[quota]",
        "[]", server);
  };
  Router router(config("2", "tokenizer: estimate"));
  HttpClient client(router.port());
  const auto available = [&] {
    return json::parse(client.request("GET", "/readyz").body)["backends"]["quota"]["rpm_available"]
        .get<int>();
  };
  EXPECT_EQ(answered_by(client, chat_body("auto")), "quota");
  EXPECT_EQ(available(), 1);
  std::ofstream(router.config_path()) << config("1000", "tokenizer: o200k_base");
  const auto reload = client.request("POST", "/admin/reload");
  EXPECT_NE(reload.status, 200) << reload.body;
  EXPECT_NE(reload.body.find("tokenizer"), std::string::npos) << reload.body;
  // At the reload's rpm of 1,000 the bucket would refill ~5 requests in 300 ms; at 2, none.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(available(), 1);
  EXPECT_EQ(answered_by(client, chat_body("auto")), "quota");
  EXPECT_EQ(client.post_json("/v1/chat/completions", chat_body("auto")).status, 429);
  std::filesystem::remove_all(empty_dir);
}

TEST(RateLimits, TpmCountsThePromptBeforeAndTheAnswerAfter) {
  MockLlm quota;
  MockLlm spare;
  Router router(router_config({{"quota", quota.url(), "tpm: 1000"}, {"spare", spare.url()}},
                              "[quota]", "[spare]"));
  HttpClient client(router.port());
  std::string long_prompt;
  for (int i = 0; i < 120; ++i) long_prompt += "alpha beta gamma delta epsilon ";  // ~600 tokens
  EXPECT_EQ(answered_by(client, chat_body("auto", long_prompt)), "quota");
  // What is left of the minute's 1,000 tokens cannot hold the same prompt again.
  EXPECT_EQ(answered_by(client, chat_body("auto", long_prompt)), "spare");
  const auto ready = json::parse(client.request("GET", "/readyz").body)["backends"];
  EXPECT_LT(ready["quota"]["tpm_available"].get<int>(), 500);
  EXPECT_EQ(quota.requests(), 1);
}

// A request naming max_tokens takes them from the tpm before it runs; an attempt the backend
// answered with an error generated nothing and gives its reservation back.
TEST(RateLimits, MaxTokensAreReservedAndAFailedAttemptGivesThemBack) {
  CannedBackend failing([](const std::string&) {
    return http_response(500, "application/json", R"({"error":{"message":"boom"}})");
  });
  Router router(router_config({{"quota", failing.url(), "tpm: 5000"}}, "[quota]"));
  HttpClient client(router.port());
  for (int i = 0; i < 3; ++i) {
    const auto failed =
        client.post_json("/v1/chat/completions", chat_body("auto", "x", R"(,"max_tokens":1500)"));
    EXPECT_EQ(failed.status, 502) << failed.body;
  }
  const auto ready = json::parse(client.request("GET", "/readyz").body)["backends"];
  EXPECT_GE(ready["quota"]["tpm_available"].get<int>(), 4990) << ready;  // 3 x 1501 given back
}

TEST(RateLimits, APromptLargerThanTheWholeTpmStillRunsOnAFullBudget) {
  MockLlm quota;
  Router router(router_config({{"quota", quota.url(), "tpm: 50"}}, "[quota]"));
  HttpClient client(router.port());
  std::string long_prompt;
  for (int i = 0; i < 60; ++i) long_prompt += "alpha beta gamma delta ";
  EXPECT_EQ(answered_by(client, chat_body("auto", long_prompt)), "quota");
  const auto refused = client.post_json("/v1/chat/completions", chat_body("auto", long_prompt));
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_NE(refused.body.find("tpm 50"), std::string::npos) << refused.body;
}

// Requests queued for a slot while the backend's rpm ran out are answered 429 as their turn
// comes, each handing the freed slot on; none waits out its queue_timeout beside a free slot.
TEST(RateLimits, RequestsQueuedForASlotGetTheRateLimitOnceItIsSpent) {
  MockLlm slow({"--ttft-ms", "300"});
  Router router(router_config(
      {{"slow", slow.url(), "rpm: 2\n    max_concurrency: 1\n    queue_timeout: 60s"}}, "[slow]"));
  std::vector<std::future<HttpResponse>> pending;
  for (int i = 0; i < 5; ++i) {
    pending.push_back(std::async(std::launch::async, [&] {
      return HttpClient(router.port()).post_json("/v1/chat/completions", chat_body("auto"));
    }));
  }
  int answered = 0;
  for (auto& p : pending) {
    const auto response = p.get();
    if (response.status == 200) {
      ++answered;
      continue;
    }
    EXPECT_EQ(response.status, 429) << response.body;
    EXPECT_EQ(json::parse(response.body)["error"]["code"], "rate_limit_exceeded") << response.body;
    EXPECT_GE(std::stoi(response.header("retry-after")), 2) << "when the budget refills";
  }
  EXPECT_EQ(answered, 2);
  EXPECT_EQ(slow.requests(), 2);
}

// Retries of a backend answering 429 stop at its rpm; the client is told when the router's
// budget refills, not the backend's short Retry-After.
TEST(RateLimits, RetriesStopAtTheRpmAndTheClientWaitsForItsRefill) {
  MockLlm limited({"--status", "429", "--retry-after-ms", "200"});
  Router router(router_config(
      {{"limited", limited.url(), "rpm: 3\n    retry: {attempts: 5, max_retry_after: 1s}"}},
      "[limited]"));
  HttpClient client(router.port());
  const auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(response.status, 429) << response.body;
  EXPECT_EQ(limited.requests(), 3);
  // 3 a minute, all spent: the next one is about 20 s away.
  EXPECT_GE(std::stoi(response.header("retry-after")), 10) << response.body;
  EXPECT_NE(response.header("x-llm-router-attempts").find("at_rate_limit"), std::string::npos)
      << response.header("x-llm-router-attempts");
}

}  // namespace
}  // namespace test_support
