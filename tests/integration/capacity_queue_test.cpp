// max_concurrency and the bounded wait queue in front of a full backend.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <csignal>
#include <fstream>
#include <future>
#include <thread>

#include "integration/router_config.hpp"
#include "support/fixtures.hpp"

namespace test_support {
namespace {

using nlohmann::json;

// Starts a request in the background and returns once the backend has received it.
std::future<HttpResponse> occupy(int router_port, MockLlm& backend) {
  const auto seen = backend.requests();
  auto pending = std::async(std::launch::async, [router_port] {
    HttpClient client(router_port);
    return client.post_json("/v1/chat/completions", chat_body("auto"));
  });
  for (int i = 0; i < 400 && backend.requests() == seen; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pending;
}

// A request sent in the background (it will wait for a slot).
std::future<HttpResponse> send_in_background(int router_port) {
  return std::async(std::launch::async, [router_port] {
    return HttpClient(router_port).post_json("/v1/chat/completions", chat_body("auto"));
  });
}

// How many requests wait for a slot of `backend`, as /readyz says.
int queued_for(HttpClient& admin, const std::string& backend) {
  return json::parse(admin.request("GET", "/readyz").body)["backends"][backend].value("queued", 0);
}

TEST(CapacityQueue, ARequestForAFullBackendWaitsForTheSlotInsteadOfFailing) {
  MockLlm slow({"--ttft-ms", "400"});
  Router router(router_config(
      {{"slow", slow.url(), "max_concurrency: 1\n    max_queue: 4\n    queue_timeout: 20s"}},
      "[slow]", "[]"));
  auto first = occupy(router.port(), slow);
  HttpClient client(router.port());
  auto second = client.post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(first.get().status, 200);
  EXPECT_EQ(slow.requests(), 2);
}

TEST(CapacityQueue, QueuedRequestsAllCompleteOneAtATime) {
  MockLlm slow({"--ttft-ms", "100"});
  Router router(router_config(
      {{"slow", slow.url(), "max_concurrency: 1\n    max_queue: 16\n    queue_timeout: 30s"}},
      "[slow]", "[]"));
  std::vector<std::future<HttpResponse>> pending;
  for (int i = 0; i < 6; ++i) {
    pending.push_back(std::async(std::launch::async, [&] {
      HttpClient client(router.port());
      return client.post_json("/v1/chat/completions", chat_body("auto"));
    }));
  }
  for (auto& p : pending) EXPECT_EQ(p.get().status, 200);
  EXPECT_EQ(slow.requests(), 6);
}

// A reload that raises max_concurrency lets a request already waiting take the new slot; it
// had kept waiting under the old limit until its queue_timeout and got a 429.
TEST(CapacityQueue, AReloadThatRaisesTheLimitLetsAQueuedRequestIn) {
  MockLlm slow({"--ttft-ms", "6000"});
  const std::string server = "  watch_config: false\n";
  const auto config = [&](int limit) {
    return router_config({{"slow", slow.url(),
                           "max_concurrency: " + std::to_string(limit) +
                               "\n    max_queue: 4\n    queue_timeout: 3s"}},
                         "[slow]", "[]", server);
  };
  Router router(config(1));
  auto first = occupy(router.port(), slow);
  auto queued = send_in_background(router.port());
  HttpClient admin(router.port());
  ASSERT_TRUE(eventually([&] { return queued_for(admin, "slow") == 1; }));
  std::ofstream(router.config_path()) << config(2);
  ASSERT_EQ(admin.request("POST", "/admin/reload").status, 200);
  const auto answer = queued.get();
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(first.get().status, 200);
  EXPECT_EQ(slow.requests(), 2);
}

// Every waiter plans again under the reloaded limits, not only the first one woken on its io
// thread (the others had kept the thread's old snapshot and waited on under the old limit).
TEST(CapacityQueue, AReloadThatRaisesTheLimitLetsEveryQueuedRequestIn) {
  MockLlm slow({"--ttft-ms", "6000"});
  const std::string server = "  watch_config: false\n";
  const auto config = [&](int limit) {
    return router_config({{"slow", slow.url(),
                           "max_concurrency: " + std::to_string(limit) +
                               "\n    max_queue: 8\n    queue_timeout: 3s"}},
                         "[slow]", "[]", server);
  };
  Router router(config(1));
  auto first = occupy(router.port(), slow);
  std::vector<std::future<HttpResponse>> queued;
  for (int i = 0; i < 4; ++i) queued.push_back(send_in_background(router.port()));
  HttpClient admin(router.port());
  ASSERT_TRUE(eventually([&] { return queued_for(admin, "slow") == 4; }));
  std::ofstream(router.config_path()) << config(5);
  ASSERT_EQ(admin.request("POST", "/admin/reload").status, 200);
  for (auto& answer : queued) {
    const auto response = answer.get();
    EXPECT_EQ(response.status, 200) << response.body;
  }
  EXPECT_EQ(first.get().status, 200);
  EXPECT_EQ(slow.requests(), 5);
}

// Requests waiting for a backend that a reload removes plan again at once, with the route's
// new backends, instead of waiting out their queue_timeout for the removed one.
TEST(CapacityQueue, AReloadThatRemovesAFullBackendSendsItsWaitersElsewhere) {
  MockLlm slow({"--ttft-ms", "6000"});
  MockLlm fast;
  const std::string server = "  watch_config: false\n";
  const std::string limits = "max_concurrency: 1\n    max_queue: 8\n    queue_timeout: 4s";
  Router router(
      router_config({{"slow", slow.url(), limits}, {"fast", fast.url()}}, "[slow]", "[]", server));
  auto first = occupy(router.port(), slow);
  std::vector<std::future<HttpResponse>> queued;
  for (int i = 0; i < 3; ++i) {
    queued.push_back(std::async(std::launch::async, [&] {
      return HttpClient(router.port()).post_json("/v1/chat/completions", chat_body("auto"));
    }));
  }
  HttpClient admin(router.port());
  ASSERT_TRUE(eventually([&] {
    return json::parse(admin.request("GET", "/readyz").body)["backends"]["slow"].value("queued",
                                                                                       0) == 3;
  }));
  std::ofstream(router.config_path())
      << router_config({{"fast", fast.url()}}, "[fast]", "[]", server);
  ASSERT_EQ(admin.request("POST", "/admin/reload").status, 200);
  for (auto& answer : queued) {
    const auto response = answer.get();
    EXPECT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(response.header("x-llm-router-backend"), "fast");
  }
  EXPECT_EQ(fast.requests(), 3);
  EXPECT_EQ(first.get().status, 200);
}

// A reload that removes a backend keeps its in-flight series in /metrics while its request runs.
TEST(CapacityQueue, ARemovedBackendsInFlightRequestsStayVisible) {
  MockLlm slow({"--ttft-ms", "1500"});
  const std::string server = "  watch_config: false\n";
  Router router(router_config({{"slow", slow.url()}, {"other", ""}}, "[slow]", "[]", server));
  auto running = occupy(router.port(), slow);
  std::ofstream(router.config_path()) << router_config({{"other", ""}}, "[other]", "[]", server);
  HttpClient admin(router.port());
  ASSERT_EQ(admin.request("POST", "/admin/reload").status, 200);
  const std::string metrics = admin.request("GET", "/metrics").body;
  EXPECT_NE(metrics.find("llm_router_upstream_in_flight{backend=\"slow\"} 1"), std::string::npos)
      << metrics;
  EXPECT_EQ(running.get().status, 200);
  // Gone once it finished (its bookkeeping may end just after the client has the answer).
  EXPECT_TRUE(eventually([&] {
    return admin.request("GET", "/metrics").body.find("in_flight{backend=\"slow\"}") ==
           std::string::npos;
  }));
}

TEST(CapacityQueue, AFullQueueAnswers429AtOnce) {
  MockLlm slow({"--ttft-ms", "2000"});
  Router router(router_config({{"slow", slow.url(), "max_concurrency: 1\n    max_queue: 0"}},
                              "[slow]", "[]"));
  auto first = occupy(router.port(), slow);
  HttpClient client(router.port());
  auto second = client.post_json("/v1/chat/completions", chat_body("auto"));
  ASSERT_EQ(second.status, 429);
  const auto error = json::parse(second.body)["error"];
  EXPECT_EQ(error["type"], "rate_limit_error");
  EXPECT_EQ(error["code"], "router_overloaded");
  // It never waited: the message says the queue was full, not that no slot freed in time.
  EXPECT_NE(error["message"].get<std::string>().find("every queue for a slot is full"),
            std::string::npos)
      << error;
  EXPECT_EQ(first.get().status, 200);
  EXPECT_EQ(slow.requests(), 1);
}

// The route's timeout bounds the whole request, the wait for a free slot included: a long
// queue_timeout does not let a request outlive its route's deadline.
TEST(CapacityQueue, TheRoutesTimeoutEndsAWaitForASlot) {
  MockLlm slow({"--ttft-ms", "2000"});
  Router router(router_config({{"slow", slow.url(),
                                "max_concurrency: 1\n    max_queue: 4\n    queue_timeout: 60s"}},
                              "[slow]", "[]") +
                "    timeout: 300ms\n  - name: patient\n    use: [slow]\n    timeout: 1m\n");
  const auto seen = slow.requests();
  auto holder = std::async(std::launch::async, [&] {
    HttpClient client(router.port());
    return client.post_json("/v1/chat/completions", chat_body("patient"));
  });
  for (int i = 0; i < 400 && slow.requests() == seen; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  HttpClient client(router.port());
  const auto waited = client.post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(waited.status, 429) << waited.body;
  EXPECT_NE(
      json::parse(waited.body)["error"]["message"].get<std::string>().find("no slot freed in time"),
      std::string::npos)
      << waited.body;
  EXPECT_EQ(holder.get().status, 200);
  EXPECT_EQ(slow.requests(), 1);
}

TEST(CapacityQueue, AWaitLongerThanTheQueueTimeoutAnswers429) {
  MockLlm slow({"--ttft-ms", "3000"});
  Router router(router_config(
      {{"slow", slow.url(), "max_concurrency: 1\n    max_queue: 4\n    queue_timeout: 100ms"}},
      "[slow]", "[]"));
  auto first = occupy(router.port(), slow);
  HttpClient client(router.port());
  auto second = client.post_json("/v1/chat/completions", chat_body("auto"));
  ASSERT_EQ(second.status, 429);
  EXPECT_NE(json::parse(second.body)["error"]["message"].get<std::string>().find("no slot"),
            std::string::npos);
  EXPECT_EQ(first.get().status, 200);
}

TEST(CapacityQueue, AFullBackendIsSkippedForAFreeOneBeforeAnyWaiting) {
  // Without a queue and with one: a request the full backend could wait for takes the free
  // backend at once.
  for (const std::string slow_settings :
       {"max_concurrency: 1", "max_concurrency: 1\n    max_queue: 4\n    queue_timeout: 30s"}) {
    MockLlm slow({"--ttft-ms", "3000"});
    MockLlm spare;
    Router router(router_config({{"slow", slow.url(), slow_settings}, {"spare", spare.url()}},
                                "[slow, spare]"));
    auto first = occupy(router.port(), slow);
    HttpClient client(router.port());
    auto second = client.post_json("/v1/chat/completions", chat_body("auto"));
    ASSERT_EQ(second.status, 200) << slow_settings;
    EXPECT_EQ(second.header("x-llm-router-backend"), "spare") << slow_settings;
    // Answered while the slow backend still holds its slot: it did not wait for it.
    EXPECT_EQ(first.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
        << slow_settings;
    EXPECT_EQ(first.get().status, 200) << slow_settings;
  }
}

// SIGTERM while a request waits for a slot: the waiting request is refused at once with a
// 503 (it was never sent, so another replica can take it), and the one in flight finishes.
// Started during the drain instead, it could have run past drain_timeout and been cut.
TEST(CapacityQueue, AQueuedRequestIsRefusedWhenTheRouterStops) {
  MockLlm slow({"--ttft-ms", "1500"});
  Router router(router_config(
      {{"slow", slow.url(), "max_concurrency: 1\n    max_queue: 4\n    queue_timeout: 20s"}},
      "[slow]", "[]", "  drain_timeout: 20s\n"));
  auto first = occupy(router.port(), slow);
  auto queued = send_in_background(router.port());
  HttpClient admin(router.port());
  ASSERT_TRUE(eventually([&] { return queued_for(admin, "slow") == 1; }));
  router.process().signal(SIGTERM);
  const auto refused = queued.get();
  EXPECT_EQ(refused.status, 503) << refused.body;
  const auto error = json::parse(refused.body, nullptr, false);
  ASSERT_TRUE(error.contains("error")) << refused.body;
  EXPECT_EQ(error["error"]["code"], "server_shutting_down") << refused.body;
  EXPECT_NE(error["error"]["message"].get<std::string>().find("not sent"), std::string::npos);
  EXPECT_EQ(first.get().status, 200);
  EXPECT_EQ(slow.requests(), 1);
  EXPECT_EQ(router.process().wait(std::chrono::seconds(15)), 0);
}

}  // namespace
}  // namespace test_support
