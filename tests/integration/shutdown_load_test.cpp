// Graceful shutdown under load: SIGTERM while many streams are flowing loses none of them.
#include <gtest/gtest.h>

#include <algorithm>

#include <csignal>
#include <fstream>
#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "integration/router_config.hpp"
#include "support/fixtures.hpp"

namespace test_support {
namespace {

// What a connection opened after SIGTERM gets: refused, closed, or a 503 (draining) / 429
// (refused by a draining worker). Never "ready".
bool refused_or_draining(int port) {
  try {
    HttpClient late(port, std::chrono::seconds(10));
    auto response = late.request("GET", "/readyz");
    return response.closed_early || response.status == 503 || response.status == 429 ||
           response.status == 0;
  } catch (const std::exception&) {
    return true;  // connection refused or reset
  }
}

TEST(Shutdown, SigtermUnderTwentyConcurrentStreamsLosesNone) {
  constexpr int kStreams = 20;
  constexpr int kTokens = 40;
  MockLlm slow({"--tokens", std::to_string(kTokens), "--token-delay-ms", "60", "--threads", "2"});
  Router router(router_config({{"slow", slow.url()}}, "[slow]", "[]", "  drain_timeout: 60s\n"));
  std::vector<std::promise<void>> begun(kStreams);
  std::vector<std::future<HttpResponse>> streams;
  for (int i = 0; i < kStreams; ++i) {
    streams.push_back(std::async(std::launch::async, [&, i] {
      HttpClient client(router.port(), std::chrono::seconds(60));
      bool first = true;
      return client.stream("/v1/chat/completions",
                           chat_body("auto", "stream " + std::to_string(i), R"(,"stream":true)"),
                           [&](const std::string&) {
                             if (first) begun[i].set_value();
                             first = false;
                             return true;
                           });
    }));
  }
  for (auto& b : begun) {
    ASSERT_EQ(b.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
  }
  router.process().signal(SIGTERM);

  // While the streams drain, new work is turned away (bounded polling: a safety timeout).
  bool turned_away = false;
  for (int i = 0; i < 100 && !turned_away; ++i) {
    turned_away = refused_or_draining(router.port());
    if (!turned_away) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(turned_away);

  for (int i = 0; i < kStreams; ++i) {
    auto response = streams[i].get();
    EXPECT_EQ(response.status, 200) << "stream " << i;
    EXPECT_FALSE(response.closed_early) << "stream " << i;
    const auto data = sse_data(response.body);
    ASSERT_FALSE(data.empty()) << "stream " << i;
    EXPECT_EQ(data.back(), "[DONE]") << "stream " << i;
    EXPECT_EQ(response.body.find("\"error\""), std::string::npos) << "stream " << i;
    // Every token arrived: the content chunks, the finish chunk and [DONE].
    EXPECT_GE(data.size(), static_cast<std::size_t>(kTokens + 2)) << "stream " << i;
  }
  EXPECT_EQ(router.process().wait(std::chrono::seconds(60)), 0);
}

// A stream and a request still waiting for its backend when the drain ends (drain_timeout runs
// out, or a second stop signal): both end with an error the client can read (an error event, a
// 503), not a connection cut mid-answer, and the process exits 0.
void expect_cut_off_requests_end_with_an_error(const std::string& drain_timeout, int stop_signals) {
  MockLlm slow({"--tokens", "200", "--token-delay-ms", "50", "--threads", "2"});
  MockLlm silent({"--ttft-ms", "20000", "--threads", "2"});
  std::string config = router_config({{"slow", slow.url()}, {"silent", silent.url()}}, "[slow]",
                                     "[]", "  drain_timeout: " + drain_timeout + "\n");
  config += "  - name: quiet\n    use: [silent]\n";
  TempFile request_log("requests.jsonl", "");
  config += "request_log: {path: " + request_log.path() + "}\n";
  Router router(config);
  std::promise<void> begun;
  auto stream = std::async(std::launch::async, [&] {
    HttpClient client(router.port(), std::chrono::seconds(30));
    bool first = true;
    return client.stream("/v1/chat/completions", chat_body("auto", "long", R"(,"stream":true)"),
                         [&](const std::string&) {
                           if (first) begun.set_value();
                           first = false;
                           return true;
                         });
  });
  auto waiting = std::async(std::launch::async, [&] {
    HttpClient client(router.port(), std::chrono::seconds(30));
    return client.post_json("/v1/chat/completions", chat_body("quiet"));
  });
  ASSERT_EQ(begun.get_future().wait_for(std::chrono::seconds(20)), std::future_status::ready);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the second one is waiting too
  for (int i = 0; i < stop_signals; ++i) {
    router.process().signal(SIGTERM);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  const auto streamed = stream.get();
  EXPECT_FALSE(streamed.closed_early);
  const auto events = sse_data(streamed.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(nlohmann::json::parse(events.back())["error"]["code"], "server_shutting_down")
      << streamed.body;
  const auto answered = waiting.get();
  EXPECT_EQ(answered.status, 503) << answered.body;
  EXPECT_EQ(nlohmann::json::parse(answered.body)["error"]["code"], "server_shutting_down");
  EXPECT_EQ(answered.header("retry-after"), "1");  // retryable, as the docs say
  EXPECT_FALSE(answered.header("x-request-id").empty());
  EXPECT_EQ(router.process().wait(std::chrono::seconds(30)), 0);
  // Both are logged with the status they got (503), not as clients that left (499), and the
  // waiting one with the id its answer carried.
  std::ifstream lines(request_log.path());
  std::vector<int> statuses;
  std::vector<std::string> ids;
  for (std::string line; std::getline(lines, line);) {
    const auto entry = nlohmann::json::parse(line);
    statuses.push_back(entry["status"].get<int>());
    ids.push_back(entry.value("id", ""));
  }
  EXPECT_EQ(statuses, (std::vector<int>{503, 503}));
  EXPECT_NE(std::find(ids.begin(), ids.end(), answered.header("x-request-id")), ids.end());
}

// A client still sending its request when the stop signal comes gets a moment to finish, then
// a 503: it does not hold the exit for its header or body timeout (here 60 s, drain 30 s).
TEST(Shutdown, AStalledRequestStillArrivingDoesNotHoldTheExit) {
  Router router(
      router_config({{"m", ""}}, "[m]", "[]",
                    "  drain_timeout: 30s\n  header_timeout: 60s\n  body_timeout: 60s\n"));
  HttpClient stalled(router.port(), std::chrono::seconds(20));
  auto reply = std::async(std::launch::async, [&] {
    return stalled.raw(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 100\r\n\r\n{\"model\":");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto signalled = std::chrono::steady_clock::now();
  router.process().signal(SIGTERM);
  const auto exit_code = router.process().wait(std::chrono::seconds(15));
  EXPECT_EQ(exit_code, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, std::chrono::seconds(10));
  const HttpResponse response = reply.get();
  EXPECT_EQ(response.status, 503) << response.body;
}

TEST(Shutdown, RequestsStillInFlightAtTheDrainTimeoutEndWithAnError) {
  expect_cut_off_requests_end_with_an_error("300ms", 1);
}

// A process manager that signals twice does not cut answers off either.
TEST(Shutdown, ASecondStopSignalEndsTheDrainTheSameWay) {
  expect_cut_off_requests_end_with_an_error("60s", 2);
}

}  // namespace
}  // namespace test_support
