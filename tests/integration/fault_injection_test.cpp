// Bounded load against pools of misbehaving backends: every request must get an answer, and
// every request must succeed whenever a healthy backup exists.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <fstream>
#include <iostream>
#include <thread>

#include "integration/router_config.hpp"
#include "support/fixtures.hpp"

namespace test_support {
namespace {

using nlohmann::json;

struct Tally {
  std::atomic<int> ok{0};
  std::atomic<int> clean_error{0};  // an OpenAI-style error response
  // A stream that had begun when its backend broke: no fallback is possible once bytes reached
  // the client, so it ends with an error event (cleanly, never hanging).
  std::atomic<int> interrupted{0};
  std::atomic<int> broken{0};  // no response, a malformed one, or a stream that never ended

  int total() const { return ok + clean_error + interrupted + broken; }
};

bool is_openai_error(const std::string& body) {
  auto parsed = json::parse(body, nullptr, false);
  return parsed.is_object() && parsed.contains("error") && parsed["error"].contains("message");
}

void one_request(HttpClient& client, bool stream, Tally& tally) {
  if (!stream) {
    auto response = client.post_json("/v1/chat/completions", chat_body("auto", "load test"));
    if (response.status == 200 && json::accept(response.body)) {
      ++tally.ok;
    } else if (response.status >= 400 && is_openai_error(response.body)) {
      ++tally.clean_error;
    } else {
      ++tally.broken;
    }
    return;
  }
  auto response =
      client.stream("/v1/chat/completions", chat_body("auto", "load test", R"(,"stream":true)"),
                    [](const std::string&) { return true; });
  const auto events = sse_data(response.body);
  if (response.status == 200 && !response.closed_early && !events.empty() &&
      events.back() == "[DONE]") {
    ++tally.ok;
  } else if (response.status == 200 && !response.closed_early && !events.empty() &&
             is_openai_error(events.back())) {
    ++tally.interrupted;
  } else if (response.status >= 400 && is_openai_error(response.body)) {
    ++tally.clean_error;
  } else {
    ++tally.broken;
  }
}

// `requests` requests from `clients` threads, half of them streams; `during` runs meanwhile.
void run_load(int port, int requests, int clients, Tally& tally,
              const std::function<void()>& during = {}) {
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      HttpClient client(port, std::chrono::seconds(30));
      for (int i = next++; i < requests; i = next++) one_request(client, (i + c) % 2 == 0, tally);
    });
  }
  if (during) during();
  for (auto& t : threads) t.join();
}

void report(const char* name, const Tally& tally) {
  std::cout << "[fault-injection] " << name << ": " << tally.total() << " requests, " << tally.ok
            << " ok, " << tally.clean_error << " clean errors, " << tally.interrupted
            << " streams interrupted after their first bytes, " << tally.broken << " broken\n";
}

TEST(FaultInjection, EveryRequestSucceedsWhileAHealthyBackupExists) {
  MockLlm flaky({"--failure-rate", "0.3", "--tokens", "5"});
  MockLlm hanging({"--hang"});
  MockLlm limited({"--status", "429", "--retry-after-ms", "1000"});
  MockLlm restarting({"--tokens", "5"});
  MockLlm healthy({"--tokens", "5"});
  const std::string breaker =
      "circuit_breaker: {failure_threshold: 5, window: 5s, cooldown: 200ms}";
  Router router(router_config(
      {{"flaky", flaky.url(), breaker},
       {"hanging", hanging.url(), "timeouts: {first_byte: 200ms}\n    " + breaker},
       {"limited", limited.url(), breaker},
       {"restarting", restarting.url(), breaker},
       {"healthy", healthy.url()}},
      "[flaky, hanging, limited, restarting]", "[healthy]", "  watch_config: false\n"));
  Tally tally;
  run_load(router.port(), 2000, 50, tally, [&] {
    // Meanwhile: a backend dies and comes back, and the config is reloaded twice.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    restarting.kill();
    HttpClient admin(router.port());
    EXPECT_EQ(admin.request("POST", "/admin/reload").status, 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    restarting.restart();
    EXPECT_EQ(admin.request("POST", "/admin/reload").status, 200);
  });
  report("pool with a healthy backup", tally);
  EXPECT_EQ(tally.total(), 2000);
  EXPECT_EQ(tally.broken, 0);
  EXPECT_EQ(tally.clean_error, 0);
  // Only streams already flowing from the backend when it was killed may end early (at most
  // one per client connection); every other request succeeded.
  EXPECT_EQ(tally.ok + tally.interrupted, 2000);
  EXPECT_LE(tally.interrupted, 50);
  // The broken backends were ejected: the hanging one saw far fewer than its share.
  EXPECT_LT(hanging.requests(), 400);
}

TEST(FaultInjection, MidStreamDropsEndCleanlyAndNothingHangs) {
  MockLlm dropping({"--drop-after", "2", "--tokens", "8"});
  MockLlm slow({"--ttft-ms", "20", "--token-delay-ms", "5", "--tokens", "5"});
  Router router(
      router_config({{"dropping", dropping.url()}, {"slow", slow.url()}}, "[dropping, slow]"));
  Tally tally;
  run_load(router.port(), 600, 30, tally);
  report("mid-stream drops", tally);
  EXPECT_EQ(tally.total(), 600);
  EXPECT_EQ(tally.broken, 0);
  EXPECT_EQ(tally.clean_error, 0);
}

TEST(FaultInjection, WithNoHealthyBackendEveryRequestGetsACleanError) {
  MockLlm down({"--status", "500"});
  MockLlm hanging({"--hang"});
  Router router(router_config(
      {{"down", down.url()}, {"hanging", hanging.url(), "timeouts: {first_byte: 100ms}"}},
      "[down, hanging]"));
  Tally tally;
  run_load(router.port(), 400, 40, tally);
  report("no healthy backend", tally);
  EXPECT_EQ(tally.total(), 400);
  EXPECT_EQ(tally.ok, 0);
  EXPECT_EQ(tally.clean_error, 400);
}

}  // namespace
}  // namespace test_support
