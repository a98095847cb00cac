// Active health checks, the minimum-throughput guard and per-route phase timeouts, against real
// processes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <thread>

#include "integration/router_config.hpp"
#include "support/fixtures.hpp"

namespace test_support {
namespace {

using nlohmann::json;

json backend_state(HttpClient& client, const std::string& backend) {
  const auto ready = json::parse(client.request("GET", "/readyz").body, nullptr, false);
  if (ready.is_discarded() || !ready.contains("backends")) return json::object();
  return ready["backends"].value(backend, json::object());
}

std::string circuit_of(HttpClient& client, const std::string& backend) {
  return backend_state(client, backend).value("circuit", "");
}

std::string stream_body() {
  return chat_body("auto", "Tell me a story", R"(,"stream":true)");
}

int count_of(const std::vector<std::string>& items, const std::string& value) {
  return static_cast<int>(std::count(items.begin(), items.end(), value));
}

TEST(HealthCheck, AKilledBackendIsEjectedWithoutTrafficAndReadmittedWhenItReturns) {
  MockLlm backend;
  Router router(
      router_config({{"probed", backend.url(),
                      "health_check: {interval: 100ms, timeout: 1s, unhealthy_after: 2}"}},
                    "[probed]"));
  HttpClient client(router.port());
  ASSERT_TRUE(eventually(
      [&] { return backend_state(client, "probed").value("health_check", "") == "passing"; }));
  EXPECT_EQ(circuit_of(client, "probed"), "closed");
  EXPECT_EQ(backend.requests(), 0);  // probes are not API requests

  backend.kill();
  EXPECT_TRUE(eventually([&] { return circuit_of(client, "probed") == "open"; }));
  EXPECT_EQ(backend_state(client, "probed").value("health_check", ""), "failing");

  backend.restart();
  EXPECT_TRUE(eventually([&] { return circuit_of(client, "probed") == "closed"; }));
  EXPECT_EQ(backend_state(client, "probed").value("health_check", ""), "passing");

  // Probes never hold up a graceful stop.
  router.process().signal(SIGTERM);
  EXPECT_EQ(router.process().wait(std::chrono::seconds(15)), 0);
}

TEST(HealthCheck, ABackendFailingItsHealthPathIsSkippedUntilItPassesAgain) {
  MockLlm sick({"--models-status", "503"});
  MockLlm backup;
  Router router(
      router_config({{"sick", sick.url(), "health_check: {interval: 100ms, unhealthy_after: 2}"},
                     {"backup", backup.url()}},
                    "[sick, backup]"));
  HttpClient client(router.port());
  ASSERT_TRUE(eventually([&] { return circuit_of(client, "sick") == "open"; }));
  auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("x-llm-router-backend"), "backup") << response.body;
  EXPECT_EQ(sick.requests(), 0);
  EXPECT_NE(client.request("GET", "/metrics")
                .body.find(R"(llm_router_health_checks_total{backend="sick",result="fail"})"),
            std::string::npos);

  HttpClient control(sick.port());
  ASSERT_EQ(control.post_json("/mock/models_status", R"({"status":200})").status, 200);
  ASSERT_TRUE(eventually([&] { return circuit_of(client, "sick") == "closed"; }));
  EXPECT_EQ(
      client.post_json("/v1/chat/completions", chat_body("auto")).header("x-llm-router-backend"),
      "sick");
}

TEST(HealthCheck, AReloadStartsTheProbesTheNewConfigAsksFor) {
  MockLlm backend({"--models-status", "500"});
  const std::string server = "  watch_config: false\n";
  Router router(router_config({{"b", backend.url()}}, "[b]", "[]", server));
  HttpClient client(router.port());
  EXPECT_FALSE(backend_state(client, "b").contains("health_check"));
  EXPECT_EQ(circuit_of(client, "b"), "closed");

  std::ofstream(router.config_path()) << router_config(
      {{"b", backend.url(), "health_check: {interval: 100ms, unhealthy_after: 1}"}}, "[b]", "[]",
      server);
  ASSERT_EQ(client.request("POST", "/admin/reload").status, 200);
  EXPECT_TRUE(eventually([&] { return circuit_of(client, "b") == "open"; }));
  EXPECT_EQ(backend_state(client, "b").value("health_check", ""), "failing");
}

TEST(Throughput, AStreamTooSlowAfterItsCommitPointEndsWithAnErrorEvent) {
  MockLlm slow({"--tokens", "30", "--token-delay-ms", "400"});
  Router router(router_config(
      {{"slow", slow.url(), "min_tokens_per_second: 5\n    throughput_window: 1s"}}, "[slow]"));
  HttpClient client(router.port());
  auto response =
      client.stream("/v1/chat/completions", stream_body(), [](const std::string&) { return true; });
  EXPECT_EQ(response.status, 200);
  EXPECT_FALSE(response.closed_early);  // ended properly, not cut
  const auto data = sse_data(response.body);
  ASSERT_FALSE(data.empty());
  EXPECT_NE(data.back().find("slow_stream"), std::string::npos) << data.back();
  EXPECT_EQ(count_of(data, "[DONE]"), 0);
  EXPECT_LT(data.size(), 30u);  // cut short: the whole answer has 30 tokens
}

TEST(Throughput, AStreamStallingBeforeItsFirstContentFallsBack) {
  MockLlm stalling({"--role-chunk-ms", "10000"});
  MockLlm backup;
  Router router(router_config(
      {{"stalling", stalling.url(), "min_tokens_per_second: 5\n    throughput_window: 500ms"},
       {"backup", backup.url()}},
      "[stalling, backup]"));
  HttpClient client(router.port());
  auto response =
      client.stream("/v1/chat/completions", stream_body(), [](const std::string&) { return true; });
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("x-llm-router-backend"), "backup") << response.body;
  EXPECT_NE(response.header("x-llm-router-attempts").find("stalling=slow_stream"),
            std::string::npos)
      << response.header("x-llm-router-attempts");
  const auto data = sse_data(response.body);
  ASSERT_FALSE(data.empty());
  EXPECT_EQ(data.back(), "[DONE]");
}

TEST(Throughput, AFastStreamPassesTheGuardOverManyWindows) {
  MockLlm fast({"--tokens", "60", "--token-delay-ms", "20"});
  Router router(router_config(
      {{"fast", fast.url(), "min_tokens_per_second: 5\n    throughput_window: 300ms"}}, "[fast]"));
  HttpClient client(router.port());
  auto response =
      client.stream("/v1/chat/completions", stream_body(), [](const std::string&) { return true; });
  ASSERT_EQ(response.status, 200);
  const auto data = sse_data(response.body);
  ASSERT_FALSE(data.empty());
  EXPECT_EQ(data.back(), "[DONE]");
  EXPECT_EQ(response.body.find("slow_stream"), std::string::npos);
}

TEST(RouteTimeouts, TheRoutesFirstByteTimeoutWinsOverTheBackends) {
  MockLlm hanging({"--hang"});
  MockLlm backup;
  std::string config = router_config(
      {{"hanging", hanging.url(), "timeouts: {first_byte: 1m}"}, {"backup", backup.url()}},
      "[hanging, backup]");
  // With the backend's own first_byte the route's whole-request timeout would end it first.
  config += "    timeout: 20s\n    timeouts: {first_byte: 300ms}\n";
  Router router(config);
  HttpClient client(router.port());
  auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("x-llm-router-backend"), "backup") << response.body;
  EXPECT_NE(response.header("x-llm-router-attempts").find("hanging=first_byte_timeout"),
            std::string::npos)
      << response.header("x-llm-router-attempts");
}

}  // namespace
}  // namespace test_support
