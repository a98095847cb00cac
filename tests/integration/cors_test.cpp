// Cross-origin calls from browser pages (server.cors_origins) against a real llm-router.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/router_config.hpp"
#include "support/fixtures.hpp"

namespace test_support {
namespace {

using nlohmann::json;

const std::string kApp = "https://app.example.com";

std::string config_allowing(const std::string& origins) {
  return router_config({{"small", ""}}, "[small]", "[]", "  cors_origins: " + origins + "\n");
}

std::map<std::string, std::string> preflight_from(const std::string& origin) {
  return {{"origin", origin},
          {"access-control-request-method", "POST"},
          {"access-control-request-headers", "authorization,content-type,x-stainless-os"}};
}

class Cors : public ::testing::Test {
 protected:
  Router router_{config_allowing("[\"" + kApp + "\"]")};
  HttpClient client_{router_.port()};
};

TEST_F(Cors, AnAllowedOriginsPreflightIsAnswered) {
  const auto response =
      client_.request("OPTIONS", "/v1/chat/completions", "", preflight_from(kApp));
  EXPECT_EQ(response.status, 204) << response.body;
  EXPECT_EQ(response.header("access-control-allow-origin"), kApp);
  EXPECT_NE(response.header("access-control-allow-methods").find("POST"), std::string::npos);
  // Authorization is granted by name: "*" would not cover it.
  EXPECT_EQ(response.header("access-control-allow-headers"),
            "authorization,content-type,x-stainless-os");
  EXPECT_EQ(response.header("access-control-max-age"), "600");
  EXPECT_NE(response.header("vary").find("origin"), std::string::npos);
}

TEST_F(Cors, AnswersToAnAllowedOriginCarryTheHeadersErrorsAndStreamsToo) {
  const std::map<std::string, std::string> from_app{{"origin", kApp}};
  const auto ok = client_.post_json("/v1/chat/completions", chat_body("auto"), from_app);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.header("access-control-allow-origin"), kApp);
  EXPECT_EQ(ok.header("access-control-expose-headers"), "*");
  EXPECT_EQ(ok.header("vary"), "origin");
  EXPECT_EQ(ok.header("x-llm-router-backend"), "small");

  const auto bad = client_.post_json("/v1/chat/completions", "{not json", from_app);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.header("access-control-allow-origin"), kApp);
  EXPECT_TRUE(json::parse(bad.body).contains("error"));

  const auto streamed = client_.post_json("/v1/chat/completions",
                                          chat_body("auto", "hi", R"(,"stream":true)"), from_app);
  ASSERT_EQ(streamed.status, 200);
  EXPECT_EQ(streamed.header("content-type"), "text/event-stream");
  EXPECT_EQ(streamed.header("access-control-allow-origin"), kApp);
  EXPECT_EQ(sse_data(streamed.body).back(), "[DONE]");

  const auto models = client_.request("GET", "/v1/models", "", from_app);
  EXPECT_EQ(models.status, 200);
  EXPECT_EQ(models.header("access-control-allow-origin"), kApp);
}

TEST_F(Cors, OtherOriginsGetNoGrant) {
  const auto preflight = client_.request("OPTIONS", "/v1/chat/completions", "",
                                         preflight_from("https://evil.example.net"));
  EXPECT_EQ(preflight.status, 403);
  const auto error = json::parse(preflight.body)["error"];
  EXPECT_EQ(error["code"], "cors_origin_not_allowed");
  EXPECT_NE(error["message"].get<std::string>().find("server.cors_origins"), std::string::npos);
  EXPECT_EQ(preflight.header("access-control-allow-origin"), "");

  // The request itself is served (curl sends an Origin too); the browser keeps the answer from
  // the page because no grant comes with it.
  const auto request = client_.post_json("/v1/chat/completions", chat_body("auto"),
                                         {{"origin", "https://evil.example.net"}});
  EXPECT_EQ(request.status, 200);
  EXPECT_EQ(request.header("access-control-allow-origin"), "");

  // But a post a browser sends without asking (text/plain, a form) is refused: its answer would
  // be hidden from the page, its effect (tokens spent, a reload) would not.
  for (const char* path : {"/v1/chat/completions", "/admin/reload"}) {
    const auto form = client_.request(
        "POST", path, chat_body("auto"),
        {{"origin", "https://evil.example.net"}, {"content-type", "text/plain;charset=UTF-8"}});
    EXPECT_EQ(form.status, 403) << path;
    EXPECT_EQ(json::parse(form.body)["error"]["code"], "cors_origin_not_allowed") << path;
  }
  // Read as browsers read it: up to ';' or ','.
  const auto listed = client_.request(
      "POST", "/v1/chat/completions", chat_body("auto"),
      {{"origin", "https://evil.example.net"}, {"content-type", "text/plain, application/json"}});
  EXPECT_EQ(listed.status, 403) << listed.body;
  // The router's own page (same origin: this client's Host is "127.0.0.1"; ":80" is the
  // scheme's default) may.
  const auto own =
      client_.request("POST", "/v1/chat/completions", chat_body("auto"),
                      {{"origin", "http://127.0.0.1:80"}, {"content-type", "text/plain"}});
  EXPECT_EQ(own.status, 200) << own.body;
}

TEST_F(Cors, AdminPathsNeverAnswerCrossOrigin) {
  for (const char* path : {"/admin/stats", "/metrics", "/ui", "/healthz"}) {
    const auto response = client_.request("GET", path, "", {{"origin", kApp}});
    EXPECT_EQ(response.status, 200) << path;
    EXPECT_EQ(response.header("access-control-allow-origin"), "") << path;
    const auto preflight = client_.request("OPTIONS", path, "", preflight_from(kApp));
    EXPECT_EQ(preflight.status, 405) << path;
    EXPECT_EQ(preflight.header("access-control-allow-origin"), "") << path;
  }
}

TEST(CorsAnyOrigin, AStarGrantsEveryOriginWithoutVary) {
  Router router(config_allowing("[\"*\"]"));
  HttpClient client(router.port());
  const auto preflight =
      client.request("OPTIONS", "/v1/embeddings", "", preflight_from("http://localhost:5173"));
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(preflight.header("access-control-allow-origin"), "*");
  const auto response =
      client.post_json("/v1/chat/completions", chat_body("auto"), {{"origin", "null"}});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("access-control-allow-origin"), "*");
  EXPECT_EQ(response.header("vary"), "");
}

TEST(CorsOff, WithoutOriginsAPreflightIsRefusedClearly) {
  Router router(router_config({{"small", ""}}, "[small]"));
  HttpClient client(router.port());
  const auto preflight =
      client.request("OPTIONS", "/v1/chat/completions", "", preflight_from(kApp));
  EXPECT_EQ(preflight.status, 403);
  EXPECT_EQ(json::parse(preflight.body)["error"]["code"], "cors_origin_not_allowed");
  // An OPTIONS that is not a preflight is what it was: a method this path does not take.
  EXPECT_EQ(client.request("OPTIONS", "/v1/chat/completions").status, 405);
}

// DNS rebinding: a page of another site whose name resolves to the router is the router's own
// origin to the browser. A browser's request by such a name is refused; by an IP address,
// localhost, a name without a dot or a listed name it is served. Other clients use any name.
TEST(AllowedHosts, BrowsersReachTheRouterOnlyByLocalOrListedNames) {
  Router router(router_config({{"small", ""}}, "[small]", "[]",
                              "  allowed_hosts: [router.example.com, \"*.corp.example\"]\n"));
  HttpClient client(router.port());
  const auto as_browser = [&](const std::string& host, const std::string& path) {
    return client.request("GET", path, "", {{"host", host}, {"user-agent", "Mozilla/5.0 (X11)"}});
  };
  const auto rebound = as_browser("attacker.example:8080", "/admin/stats");
  EXPECT_EQ(rebound.status, 403);
  EXPECT_EQ(json::parse(rebound.body)["error"]["code"], "host_not_allowed");
  const auto posted = client.request("POST", "/admin/reload", "x",
                                     {{"host", "attacker.example:8080"},
                                      {"origin", "http://attacker.example:8080"},
                                      {"content-type", "text/plain"}});
  EXPECT_EQ(posted.status, 403);
  EXPECT_EQ(json::parse(posted.body)["error"]["code"], "host_not_allowed");
  for (const char* host : {"127.0.0.1:8080", "[::1]:8080", "localhost:8080", "llm-router:8080",
                           "router.example.com", "ROUTER.example.com:443", "a.corp.example"}) {
    EXPECT_EQ(as_browser(host, "/v1/models").status, 200) << host;
  }
  EXPECT_EQ(as_browser("corp.example", "/v1/models").status, 403);
  EXPECT_EQ(as_browser("router.example.com.", "/v1/models").status, 200);  // a trailing dot
  EXPECT_EQ(as_browser("attacker.example", "/healthz").status, 200);       // probes pass
  // Not a page of that name: curl, Node's fetch (Sec-Fetch-Mode only), a cross-site page
  // (CORS decides) are served whatever the name.
  EXPECT_EQ(client.request("GET", "/v1/models", "", {{"host", "attacker.example"}}).status, 200);
  EXPECT_EQ(client
                .request("GET", "/v1/models", "",
                         {{"host", "llm.ns.svc.cluster.local"},
                          {"user-agent", "node"},
                          {"sec-fetch-mode", "cors"}})
                .status,
            200);
  EXPECT_EQ(client
                .request("GET", "/v1/models", "",
                         {{"host", "router.internal.example"},
                          {"user-agent", "Mozilla/5.0"},
                          {"origin", "https://app.example.com"},
                          {"sec-fetch-site", "cross-site"}})
                .status,
            200);
  EXPECT_EQ(client
                .request("GET", "/v1/models", "",
                         {{"host", "attacker.example"},
                          {"user-agent", "Mozilla/5.0"},
                          {"sec-fetch-site", "same-origin"}})
                .status,
            403);
}

// With no admin key the admin paths answer whoever asks, so by a name a page could be made to
// resolve to nobody reaches them: a page may set its own User-Agent and send no Origin on a
// GET. Local and listed names, and any name once an admin key guards them, still do.
TEST(AllowedHosts, UnguardedAdminPathsAnswerOnlyLocalOrListedNames) {
  Router open(
      router_config({{"small", ""}}, "[small]", "[]", "  allowed_hosts: [router.example.com]\n"));
  HttpClient client(open.port());
  for (const char* path : {"/admin/stats", "/metrics", "/ui"}) {
    const auto rebound =
        client.request("GET", path, "", {{"host", "attacker.example"}, {"user-agent", "x"}});
    EXPECT_EQ(rebound.status, 403) << path;
    EXPECT_NE(rebound.body.find("set server.admin_key"), std::string::npos) << rebound.body;
    EXPECT_EQ(client.request("GET", path, "", {{"host", "router.example.com"}}).status, 200)
        << path;
    EXPECT_EQ(client.request("GET", path, "", {{"host", "10.0.0.7:8080"}}).status, 200) << path;
  }
  EXPECT_EQ(client.request("GET", "/v1/models", "", {{"host", "attacker.example"}}).status, 200);

  Router guarded(router_config({{"small", ""}}, "[small]", "[]", "  admin_key: adm-key-123456\n"));
  EXPECT_EQ(HttpClient(guarded.port())
                .request("GET", "/metrics", "",
                         {{"host", "prometheus-target.example"},
                          {"authorization", "Bearer adm-key-123456"}})
                .status,
            200);
}

}  // namespace
}  // namespace test_support
