// Hedged requests: a duplicate to the next candidate when the first attempt is slow to commit.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "integration/router_config.hpp"
#include "support/fixtures.hpp"

namespace test_support {
namespace {

std::string hedged_config(const std::string& slow_url, const std::string& fast_url,
                          const std::string& hedge = "    hedge: {after: 100ms, max: 1}\n") {
  return router_config({{"slow", slow_url}, {"fast", fast_url}}, "[slow, fast]") + hedge;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Far longer than the hedge needs, far shorter than the slow backend's answer.
constexpr auto kSafetyBound = std::chrono::milliseconds(2500);

TEST(Hedge, SlowPrimaryIsOvertakenByTheDuplicate) {
  MockLlm slow({"--ttft-ms", "4000"});
  MockLlm fast;
  Router router(hedged_config(slow.url(), fast.url()));
  HttpClient client(router.port());
  const auto started = std::chrono::steady_clock::now();
  auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_LT(std::chrono::steady_clock::now() - started, kSafetyBound);
  EXPECT_EQ(response.header("x-llm-router-backend"), "fast");
  EXPECT_EQ(response.header("x-llm-router-attempts"), "slow=hedge_lost, fast=ok");
  EXPECT_EQ(fast.requests(), 1);
}

TEST(Hedge, SlowStreamIsOvertakenByTheDuplicate) {
  MockLlm slow({"--ttft-ms", "4000"});
  MockLlm fast;
  Router router(hedged_config(slow.url(), fast.url()));
  HttpClient client(router.port());
  const auto started = std::chrono::steady_clock::now();
  auto response = client.stream("/v1/chat/completions", chat_body("auto", "x", R"(,"stream":true)"),
                                [](const std::string&) { return true; });
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_LT(std::chrono::steady_clock::now() - started, kSafetyBound);
  EXPECT_EQ(response.header("x-llm-router-backend"), "fast");
  EXPECT_EQ(response.header("x-llm-router-attempts"), "slow=hedge_lost, fast=ok");
  EXPECT_EQ(sse_data(response.body).back(), "[DONE]");
}

// A client that leaves while both attempts wait: both are recorded, as cancelled.
TEST(Hedge, AttemptsOfARaceTheClientLeftAreRecorded) {
  MockLlm slow({"--ttft-ms", "4000"});
  MockLlm slower({"--ttft-ms", "4000"});
  Router router(hedged_config(slow.url(), slower.url()));
  // Sends the request, waits until both attempts run, and leaves.
  post_and_leave(router.port(), "/v1/chat/completions", chat_body("auto"),
                 std::chrono::milliseconds(400));
  HttpClient client(router.port());
  bool recorded = false;
  for (int i = 0; i < 100 && !recorded; ++i) {
    const std::string metrics = client.request("GET", "/metrics").body;
    recorded =
        contains(metrics,
                 R"(llm_router_upstream_attempts_total{backend="slow",outcome="cancelled"} 1)") &&
        contains(metrics,
                 R"(llm_router_upstream_attempts_total{backend="fast",outcome="cancelled"} 1)");
    if (!recorded) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(recorded) << client.request("GET", "/metrics").body;
}

TEST(Hedge, FastPrimarySendsNoDuplicate) {
  MockLlm primary;
  MockLlm second;
  Router router(hedged_config(primary.url(), second.url(), "    hedge: {after: 2s}\n"));
  HttpClient client(router.port());
  for (int i = 0; i < 3; ++i) {
    auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(response.header("x-llm-router-backend"), "slow");
    EXPECT_EQ(response.header("x-llm-router-attempts"), "slow=ok");
  }
  auto stream = client.stream("/v1/chat/completions", chat_body("auto", "x", R"(,"stream":true)"),
                              [](const std::string&) { return true; });
  ASSERT_EQ(stream.status, 200);
  EXPECT_EQ(sse_data(stream.body).back(), "[DONE]");
  EXPECT_EQ(second.requests(), 0);
}

TEST(Hedge, PrimaryFailingBeforeTheHedgeFallsBackAsUsual) {
  MockLlm failing({"--status", "500"});
  MockLlm backup;
  Router router(hedged_config(failing.url(), backup.url(), "    hedge: {after: 2s}\n"));
  HttpClient client(router.port());
  auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("x-llm-router-backend"), "fast");
  EXPECT_TRUE(contains(response.header("x-llm-router-attempts"), "slow=upstream_server_error"));
  EXPECT_EQ(backup.requests(), 1);
}

TEST(Hedge, DuplicateFailingLetsTheSlowPrimaryAnswer) {
  MockLlm slow({"--ttft-ms", "600"});
  MockLlm failing({"--status", "500"});
  Router router(hedged_config(slow.url(), failing.url()));
  HttpClient client(router.port());
  auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("x-llm-router-backend"), "slow");
  EXPECT_EQ(response.header("x-llm-router-attempts"), "fast=upstream_server_error(500), slow=ok");
  EXPECT_EQ(failing.requests(), 1);
}

TEST(Hedge, WithoutHedgeASlowPrimaryIsWaitedFor) {
  MockLlm slow({"--ttft-ms", "400"});
  MockLlm fast;
  Router router(hedged_config(slow.url(), fast.url(), ""));
  HttpClient client(router.port());
  auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("x-llm-router-backend"), "slow");
  EXPECT_EQ(response.header("x-llm-router-attempts"), "slow=ok");
  EXPECT_EQ(fast.requests(), 0);
}

}  // namespace
}  // namespace test_support

namespace test_support {
namespace {

TEST(Hedge, AfterP95HedgesOnceTheBackendIsMeasured) {
  auto primary = std::make_unique<MockLlm>(std::vector<std::string>{"--ttft-ms", "20"});
  const int port = primary->port();
  MockLlm fast;
  Router router(
      hedged_config(primary->url(), fast.url(), "    hedge: {after: p95, initial_after: 10s}\n"));
  HttpClient client(router.port());
  for (int i = 0; i < 25; ++i) {  // 20 measured answers are needed; these come in ~20 ms
    auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
    ASSERT_EQ(response.status, 200) << response.body;  // the slowest few may be hedged
  }
  // The same backend now takes 4 s: the hedge fires after its measured p95 (tens of ms), not
  // after initial_after (10 s).
  primary.reset();
  MockLlm slowed({"--ttft-ms", "4000"}, port);
  HttpClient fresh(router.port());
  const auto started = std::chrono::steady_clock::now();
  auto response = fresh.post_json("/v1/chat/completions", chat_body("auto"));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_LT(std::chrono::steady_clock::now() - started, kSafetyBound);
  EXPECT_EQ(response.header("x-llm-router-backend"), "fast");
  EXPECT_EQ(response.header("x-llm-router-attempts"), "slow=hedge_lost, fast=ok");
}

// A primary that slows down loses every hedge and is cancelled before it answers: its p95
// estimate must still rise (each lost hedge says "slower than that"), so hedging falls back to
// the slowest few requests instead of duplicating every one for good.
TEST(Hedge, AfterP95FollowsAPrimaryThatSlowedDown) {
  auto primary = std::make_unique<MockLlm>(std::vector<std::string>{"--ttft-ms", "10"});
  const int port = primary->port();
  MockLlm fast;
  Router router(
      hedged_config(primary->url(), fast.url(), "    hedge: {after: p95, initial_after: 10s}\n"));
  HttpClient client(router.port());
  for (int i = 0; i < 25; ++i) {
    ASSERT_EQ(client.post_json("/v1/chat/completions", chat_body("auto")).status, 200);
  }
  primary.reset();
  MockLlm slowed({"--ttft-ms", "40"}, port);
  HttpClient fresh(router.port());
  int answered_by_primary_alone = 0;
  for (int i = 0; i < 90; ++i) {
    auto response = fresh.post_json("/v1/chat/completions", chat_body("auto"));
    ASSERT_EQ(response.status, 200) << response.body;
    if (i >= 70 && response.header("x-llm-router-attempts") == "slow=ok") {
      ++answered_by_primary_alone;
    }
  }
  // ~5 % hedged once the estimate has caught up (it had stayed at ~10 ms: 20 of 20 hedged).
  EXPECT_GE(answered_by_primary_alone, 14);
}
}  // namespace
}  // namespace test_support
