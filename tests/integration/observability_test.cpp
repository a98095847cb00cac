// /metrics, /admin/stats and /ui move with traffic.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "integration/router_config.hpp"
#include "support/fixtures.hpp"

namespace test_support {
namespace {

using nlohmann::json;

TEST(Metrics, FamiliesAppearAndMoveWithTraffic) {
  MockLlm failing({"--status", "500"});
  MockLlm healthy({"--tokens", "7"});
  Router router(router_config({{"failing", failing.url()}, {"healthy", healthy.url()}},
                              "[failing, healthy]"));
  HttpClient client(router.port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(client.post_json("/v1/chat/completions", chat_body("auto")).status, 200);
  }
  auto metrics = client.request("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.header("content-type").find("text/plain"), std::string::npos);
  const std::string& text = metrics.body;
  for (const char* family :
       {"llm_router_requests_total", "llm_router_request_duration_seconds_bucket",
        "llm_router_time_to_first_token_seconds", "llm_router_input_tokens_total",
        "llm_router_output_tokens_total", "llm_router_cost_usd_total", "llm_router_upstream_attempts_total",
        "llm_router_fallbacks_total", "llm_router_backend_breaker_state",
        "llm_router_upstream_in_flight"}) {
    EXPECT_NE(text.find(family), std::string::npos) << family;
  }
  EXPECT_NE(text.find(R"(llm_router_requests_total{route="auto",backend="healthy",status="200"} 3)"),
            std::string::npos)
      << text.substr(0, 3000);
  EXPECT_NE(text.find(R"(from_backend="failing")"), std::string::npos);
}

TEST(Stats, WindowedStatsAndDashboard) {
  MockLlm backend;
  Router router(router_config({{"only", backend.url()}}, "[only]"));
  HttpClient client(router.port());
  for (int i = 0; i < 4; ++i) client.post_json("/v1/chat/completions", chat_body("auto"));
  auto stats = client.request("GET", "/admin/stats?window=5m");
  ASSERT_EQ(stats.status, 200) << stats.body;
  auto body = json::parse(stats.body);
  EXPECT_EQ(body["breakers"]["only"], "closed");
  EXPECT_NE(stats.body.find("\"only\""), std::string::npos);
  EXPECT_EQ(client.request("GET", "/admin/stats?window=forever").status, 400);
  auto page = client.request("GET", "/ui");
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("<html"), std::string::npos);
  // Self-contained: no script or stylesheet from elsewhere.
  EXPECT_EQ(page.body.find("<script src"), std::string::npos);
  EXPECT_EQ(page.body.find("<link"), std::string::npos);
}

TEST(AdminKey, AdminEndpointsNeedTheKeyWhenOneIsSet) {
  MockLlm backend;
  Router router(router_config({{"only", backend.url()}}, "[only]", "[]",
                              "  admin_key: s3cret\n"));
  HttpClient client(router.port());
  EXPECT_EQ(client.request("GET", "/metrics").status, 401);
  EXPECT_EQ(client.request("POST", "/admin/reload").status, 401);
  EXPECT_EQ(client.request("GET", "/metrics", "", {{"authorization", "Bearer s3cret"}}).status,
            200);
  // The OpenAI API itself stays open.
  EXPECT_EQ(client.post_json("/v1/chat/completions", chat_body("auto")).status, 200);
}

}  // namespace
}  // namespace test_support
