// Non-stream and stream relay through a real llm-router and real mock-llm processes.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "integration/router_config.hpp"
#include "support/fixtures.hpp"

namespace test_support {
namespace {

using nlohmann::json;

class RelayTest : public ::testing::Test {
 protected:
  MockLlm mock_;
  Router router_{router_config({{"primary", mock_.url()}}, "[primary]")};
};

TEST_F(RelayTest, NonStreamAnswerIsRelayedWithModelRewrittenAndDecisionHeaders) {
  HttpClient client(router_.port());
  auto response =
      client.post_json("/v1/chat/completions", chat_body("auto"), {{"x-request-id", "test-123"}});
  ASSERT_EQ(response.status, 200) << response.body;
  auto body = json::parse(response.body);
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["model"], "upstream-primary");  // the mock echoes the model it was sent
  EXPECT_FALSE(body["choices"][0]["message"]["content"].get<std::string>().empty());
  EXPECT_EQ(response.header("x-llm-router-backend"), "primary");
  EXPECT_EQ(response.header("x-llm-router-route"), "auto");
  EXPECT_EQ(response.header("x-request-id"), "test-123");
}

TEST_F(RelayTest, GeneratesARequestIdWhenTheClientSendsNone) {
  HttpClient client(router_.port());
  auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  ASSERT_EQ(response.status, 200);
  EXPECT_FALSE(response.header("x-request-id").empty());
}

TEST_F(RelayTest, UnknownBodyFieldsReachTheBackendUnchanged) {
  HttpClient client(router_.port());
  const std::string extra =
      R"(,"top_k":40,"min_p":0.05,"chat_template_kwargs":{"enable_thinking":false},"temperature":0.2)";
  auto response = client.post_json(
      "/v1/chat/completions", chat_body("auto", "hi", extra),
      {{"authorization", "Bearer client-secret"},
       {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}});
  ASSERT_EQ(response.status, 200);
  HttpClient mock_client(mock_.port());
  auto seen = json::parse(mock_client.request("GET", "/mock/last_request").body);
  EXPECT_EQ(seen["body"]["top_k"], 40);
  EXPECT_EQ(seen["body"]["min_p"], 0.05);
  EXPECT_EQ(seen["body"]["chat_template_kwargs"]["enable_thinking"], false);
  EXPECT_EQ(seen["body"]["temperature"], 0.2);
  EXPECT_EQ(seen["body"]["model"], "upstream-primary");
  // The backend's own key is sent, never the client's.
  EXPECT_EQ(seen["headers"]["authorization"], "Bearer sk-backend-primary");
  EXPECT_EQ(seen["headers"]["traceparent"],
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
}

// Client headers reach a backend only as its forward_headers list them (names or prefixes);
// a configured header of the same name wins; the W3C trace context always travels whole.
TEST(RelayHeaders, ForwardHeadersPassTheListedClientHeadersOn) {
  MockLlm mock;
  Router router(router_config(
      {{"primary", mock.url(),
        "forward_headers: [OpenAI-Organization, x-tenant-*, x-org]\n    headers: {X-Org: acme}"}},
      "[primary]"));
  HttpClient client(router.port());
  ASSERT_EQ(
      client
          .post_json("/v1/chat/completions", chat_body("auto"),
                     {{"openai-organization", "org-1"},
                      {"x-tenant-id", "t-7"},
                      {"x-org", "client-org"},
                      {"x-other", "not listed"},
                      {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
                      {"tracestate", "vendor=1"},
                      {"baggage", "user=alice"}})
          .status,
      200);
  HttpClient mock_client(mock.port());
  auto seen = json::parse(mock_client.request("GET", "/mock/last_request").body);
  EXPECT_EQ(seen["headers"]["openai-organization"], "org-1");
  EXPECT_EQ(seen["headers"]["x-tenant-id"], "t-7");
  EXPECT_EQ(seen["headers"]["x-org"], "acme");
  EXPECT_FALSE(seen["headers"].contains("x-other"));
  EXPECT_EQ(seen["headers"]["tracestate"], "vendor=1");
  // Baggage often carries who the user is: it goes only where forward_headers lists it.
  EXPECT_FALSE(seen["headers"].contains("baggage"));
}

// What the client marks hop-by-hop (its Connection header) is for the router alone; a
// malformed or repeated traceparent is no trace context (its tracestate goes with it); the
// client's key goes on only from the header it was read from.
TEST(RelayHeaders, HopByHopMalformedTraceAndSpareKeysStayBehind) {
  MockLlm mock;
  Router router(
      router_config({{"primary", mock.url(),
                      "forward_headers: [x-tenant-*, baggage]\n    pass_client_auth: true"}},
                    "[primary]"));
  HttpClient client(router.port());
  HttpClient mock_client(mock.port());
  // Header lines as written, repeated names included.
  const auto seen_after = [&](const std::string& header_lines) {
    const std::string body = chat_body("auto");
    const auto answer = client.raw(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n" + header_lines + "\r\n" + body);
    EXPECT_EQ(answer.status, 200) << answer.body;
    return json::parse(mock_client.request("GET", "/mock/last_request").body)["headers"];
  };
  const std::string trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  auto seen = seen_after(
      "Connection: keep-alive, X-Tenant-Hop\r\nX-Tenant-Hop: h\r\nX-Tenant-Id: t-1\r\n"
      "Baggage: a=1\r\ntraceparent: " +
      trace +
      "\r\ntracestate: one=1\r\ntracestate: two=2\r\n"
      "Authorization: Bearer client-key-123\r\napi-key: spare-junk-456\r\n");
  EXPECT_FALSE(seen.contains("x-tenant-hop")) << seen.dump();
  EXPECT_EQ(seen["x-tenant-id"], "t-1");
  EXPECT_EQ(seen["baggage"], "a=1");
  EXPECT_EQ(seen["traceparent"], trace);
  EXPECT_EQ(seen["tracestate"], "one=1,two=2");
  EXPECT_EQ(seen["authorization"], "Bearer client-key-123");
  EXPECT_FALSE(seen.contains("api-key")) << seen.dump();
  // Naming the key's header in Connection does not swap the router's key in for the client's.
  seen = seen_after("Connection: authorization\r\nAuthorization: Bearer client-key-123\r\n");
  EXPECT_EQ(seen["authorization"], "Bearer client-key-123");
  for (const std::string& bad : std::vector<std::string>{
           "not-a-trace", "00-00000000000000000000000000000000-b7ad6b7169203331-01",
           "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
           "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", trace + "-extra"}) {
    seen = seen_after("traceparent: " + bad + "\r\ntracestate: one=1\r\n");
    EXPECT_FALSE(seen.contains("traceparent")) << bad;
    EXPECT_FALSE(seen.contains("tracestate")) << bad;
  }
  seen = seen_after("traceparent: " + trace + "\r\ntraceparent: " + trace + "\r\n");
  EXPECT_FALSE(seen.contains("traceparent")) << "two parents are none";
  seen = seen_after("traceparent: 01" + trace.substr(2) + "-later-field\r\n");
  EXPECT_TRUE(seen.contains("traceparent")) << "a later version may append fields";
}

// A wildcard backend takes every model its name prefixes and sends the rest upstream, as
// LiteLLM's "openai/*": labelled by its own name, never by the model a client made up.
TEST(RelayWildcard, AWildcardBackendPassesTheMatchedModelOn) {
  MockLlm mock;
  Router router(router_config({{"primary", mock.url()}, {"mock/*", mock.url()}}, "[primary]"));
  HttpClient client(router.port());
  const auto answer = client.post_json("/v1/chat/completions", chat_body("mock/gpt-x"));
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(json::parse(answer.body)["model"], "upstream-mock/gpt-x");  // the mock echoes it
  EXPECT_EQ(answer.header("x-llm-router-backend"), "mock/*");
  EXPECT_EQ(answer.header("x-llm-router-route"), "mock/*");
  EXPECT_EQ(client.post_json("/v1/chat/completions", chat_body("mock/")).status, 404);
  // The wildcard itself names no model: not callable, not listed.
  EXPECT_EQ(client.post_json("/v1/chat/completions", chat_body("mock/*")).status, 404);
  EXPECT_EQ(client.request("GET", "/v1/models/mock%2F%2A").status, 404);
  EXPECT_EQ(client.request("GET", "/v1/models").body.find("mock/*"), std::string::npos);
  EXPECT_EQ(client.request("GET", "/v1/models/mock%2Fgpt-y").status, 200);
  const std::string metrics = client.request("GET", "/metrics").body;
  EXPECT_EQ(metrics.find("gpt-x"), std::string::npos) << "a client's model is no label";
}

TEST(RelayHeaders, ConfiguredHeadersReplaceDefaultsAndStreamsAcceptEvents) {
  MockLlm mock;
  Router router(router_config(
      {{"primary", mock.url(), "headers: {User-Agent: acme-agent/2, X-Org: acme}"}}, "[primary]"));
  HttpClient client(router.port());
  HttpClient mock_client(mock.port());
  ASSERT_EQ(client.post_json("/v1/chat/completions", chat_body("auto")).status, 200);
  auto seen = json::parse(mock_client.request("GET", "/mock/last_request").body);
  EXPECT_EQ(seen["headers"]["user-agent"], "acme-agent/2");
  EXPECT_EQ(seen["headers"]["x-org"], "acme");
  EXPECT_EQ(seen["headers"]["accept"], "application/json");
  EXPECT_EQ(seen["headers"]["content-type"], "application/json");
  EXPECT_EQ(seen["headers"]["authorization"], "Bearer sk-backend-primary");
  EXPECT_FALSE(seen["headers"]["x-request-id"].get<std::string>().empty());

  auto streamed = client.stream("/v1/chat/completions", chat_body("auto", "x", R"(,"stream":true)"),
                                [](const std::string&) { return true; });
  ASSERT_EQ(streamed.status, 200);
  seen = json::parse(mock_client.request("GET", "/mock/last_request").body);
  EXPECT_EQ(seen["headers"]["accept"], "text/event-stream");
  EXPECT_EQ(seen["headers"]["user-agent"], "acme-agent/2");
}

TEST_F(RelayTest, StreamIsRelayedEventByEventAndEndsWithDone) {
  HttpClient client(router_.port());
  int pieces = 0;
  auto response =
      client.stream("/v1/chat/completions",
                    chat_body("auto", "stream please", R"(,"stream":true,"mock":{"tokens":8})"),
                    [&](const std::string&) {
                      ++pieces;
                      return true;
                    });
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.header("content-type"), "text/event-stream");
  const auto events = sse_data(response.body);
  ASSERT_GE(events.size(), 10u);  // 8 tokens + finish chunk + [DONE]
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    auto chunk = json::parse(events[i]);
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
    EXPECT_EQ(chunk["model"], "upstream-primary");
    text += chunk["choices"][0]["delta"].value("content", "");
  }
  EXPECT_FALSE(text.empty());
  EXPECT_GT(pieces, 1);
}

TEST(StreamRelay, ABurstArrivesWholeAndInOrderAndPacedEventsAreNotHeldBack) {
  MockLlm burst({"--tokens", "60", "--ttft-ms", "0", "--token-delay-ms", "0"});
  MockLlm paced({"--tokens", "3", "--ttft-ms", "0", "--token-delay-ms", "150"});
  Router router(router_config({{"burst", burst.url()}, {"paced", paced.url()}}, "[burst]"));
  HttpClient client(router.port());
  auto response =
      client.stream("/v1/chat/completions", chat_body("burst", "x", R"(,"stream":true)"),
                    [](const std::string&) { return true; });
  ASSERT_EQ(response.status, 200);
  auto events = sse_data(response.body);
  ASSERT_EQ(events.back(), "[DONE]");
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    text += json::parse(events[i])["choices"][0]["delta"].value("content", "");
  }
  HttpClient direct(burst.port());
  auto expected =
      direct.stream("/v1/chat/completions", chat_body("upstream-burst", "x", R"(,"stream":true)"),
                    [](const std::string&) { return true; });
  std::string expected_text;
  for (const auto& data : sse_data(expected.body)) {
    if (data != "[DONE]") {
      expected_text += json::parse(data)["choices"][0]["delta"].value("content", "");
    }
  }
  EXPECT_EQ(text, expected_text);

  // Events sent apart reach the client apart: each token is its own piece.
  int pieces_with_content = 0;
  client.stream("/v1/chat/completions", chat_body("paced", "x", R"(,"stream":true)"),
                [&](const std::string& piece) {
                  if (piece.find("\"content\"") != std::string::npos) ++pieces_with_content;
                  return true;
                });
  EXPECT_GE(pieces_with_content, 3);
}

TEST_F(RelayTest, KeepAliveConnectionsToTheBackendAreReused) {
  HttpClient client(router_.port());
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(client.post_json("/v1/chat/completions", chat_body("auto")).status, 200);
  }
  // Requests on one client connection run on one io thread: one upstream connection serves all.
  HttpClient stats_client(mock_.port());
  auto stats = json::parse(stats_client.request("GET", "/mock/stats").body);
  EXPECT_EQ(stats["requests"], 10);
  EXPECT_EQ(stats["connections"].get<int>() - 1, 1);  // minus the stats request's own
}

TEST(RelayPool, ConnectionsClosedByARestartedBackendAreReplacedWithoutAnError) {
  MockLlm backend;
  Router router(router_config({{"primary", backend.url()}}, "[primary]"));
  // Several pooled connections, then the backend restarts: every one of them is dead.
  {
    std::vector<std::unique_ptr<HttpClient>> clients;
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) clients.push_back(std::make_unique<HttpClient>(router.port()));
    for (auto& c : clients) {
      threads.emplace_back([&c] { c->post_json("/v1/chat/completions", chat_body("auto")); });
    }
    for (auto& t : threads) t.join();
  }
  backend.kill();
  backend.restart();
  HttpClient client(router.port());
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(client.post_json("/v1/chat/completions", chat_body("auto")).status, 200) << i;
  }
}

TEST_F(RelayTest, CompletionsAndEmbeddingsAreRelayedToo) {
  HttpClient client(router_.port());
  auto completion =
      client.post_json("/v1/completions", R"({"model":"auto","prompt":"Say hi","max_tokens":5})");
  ASSERT_EQ(completion.status, 200) << completion.body;
  EXPECT_EQ(json::parse(completion.body)["object"], "text_completion");
  auto embedding = client.post_json("/v1/embeddings", R"({"model":"auto","input":["one","two"]})");
  ASSERT_EQ(embedding.status, 200) << embedding.body;
  EXPECT_EQ(json::parse(embedding.body)["data"].size(), 2u);
}

// A lone surrogate escape is read as U+FFFD, as for chat: the built-in mock's embeddings and
// the standalone mock-llm answer it (it was a 500 from the built-in one).
TEST(BuiltInMock, EmbeddingsOfALoneSurrogateAreAnswered) {
  MockLlm standalone;
  Router router(router_config({{"builtin", ""}, {"standalone", standalone.url()}}, "[builtin]"));
  HttpClient client(router.port());
  for (const char* model : {"builtin", "standalone"}) {
    const auto response =
        client.post_json("/v1/embeddings", std::string(R"({"model":")") + model +
                                               R"(","input":"\ud800","x":"\udc00"})");
    EXPECT_EQ(response.status, 200) << model << ": " << response.body;
  }
}

TEST_F(RelayTest, ModelsListsRoutesAndBackends) {
  HttpClient client(router_.port());
  auto response = client.request("GET", "/v1/models");
  ASSERT_EQ(response.status, 200);
  auto body = json::parse(response.body);
  std::vector<std::string> ids;
  for (const auto& m : body["data"]) ids.push_back(m["id"]);
  EXPECT_EQ(ids, (std::vector<std::string>{"auto", "primary"}));
}

TEST_F(RelayTest, ModelsRetrieveNamesOneOrSays404) {
  HttpClient client(router_.port());
  for (const std::string id : {"auto", "primary"}) {
    auto response = client.request("GET", "/v1/models/" + id);
    ASSERT_EQ(response.status, 200) << id;
    auto body = json::parse(response.body);
    EXPECT_EQ(body["id"], id);
    EXPECT_EQ(body["object"], "model");
  }
  // The SDKs percent-encode ids; names may hold '/'.
  EXPECT_EQ(json::parse(client.request("GET", "/v1/models/au%74o").body)["id"], "auto");
  EXPECT_EQ(client.request("GET", "/v1/models/auto%2").status, 404);
  auto missing = client.request("GET", "/v1/models/no-such-model");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(missing.body)["error"]["code"], "model_not_found");
  EXPECT_EQ(json::parse(missing.body)["error"]["param"], "model");  // as OpenAI says
  EXPECT_EQ(client.request("POST", "/v1/models/auto").status, 405);
}

// A backend with `direct: false` is reachable through its route only: a client naming it would
// skip the route's rules (a compliance rule among them).
TEST(DirectAccess, ABackendMarkedNotDirectIsOnlyReachableThroughRoutes) {
  Router router(router_config({{"public", "", "direct: false"}, {"open", ""}}, "[public]"));
  HttpClient client(router.port());
  const auto named = client.post_json("/v1/chat/completions", chat_body("public"));
  EXPECT_EQ(named.status, 404) << named.body;
  EXPECT_EQ(json::parse(named.body)["error"]["code"], "model_not_found");
  EXPECT_EQ(client.post_json("/v1/chat/completions", chat_body("open")).status, 200);
  const auto routed = client.post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(routed.status, 200) << routed.body;
  EXPECT_EQ(routed.header("x-llm-router-backend"), "public");
  const json models = json::parse(client.request("GET", "/v1/models").body);
  std::vector<std::string> ids;
  for (const auto& m : models["data"]) ids.push_back(m["id"]);
  EXPECT_EQ(ids, (std::vector<std::string>{"auto", "open"}));
  EXPECT_EQ(client.request("GET", "/v1/models/public").status, 404);
}

TEST_F(RelayTest, HealthAndReadiness) {
  HttpClient client(router_.port());
  EXPECT_EQ(client.request("GET", "/healthz").status, 200);
  EXPECT_EQ(client.request("GET", "/readyz").status, 200);
}

TEST(MockProvider, BuiltInMockAnswersWithoutAnyOtherProcess) {
  Router router(router_config({{"builtin", ""}}, "[builtin]"));
  HttpClient client(router.port());
  auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  ASSERT_EQ(response.status, 200) << response.body;
  auto body = json::parse(response.body);
  EXPECT_GT(body["usage"]["completion_tokens"].get<int>(), 0);
  EXPECT_GT(body["usage"]["prompt_tokens"].get<int>(), 0);
  auto streamed =
      client.stream("/v1/chat/completions", chat_body("builtin", "hi", R"(,"stream":true)"),
                    [](const std::string&) { return true; });
  EXPECT_EQ(streamed.status, 200);
  EXPECT_EQ(sse_data(streamed.body).back(), "[DONE]");
}

}  // namespace
}  // namespace test_support

namespace test_support {
namespace {

TEST(StreamUsage, RouterAsksForUsageAndHidesItFromClientsThatDidNot) {
  MockLlm mock;
  Router router(router_config({{"primary", mock.url()}}, "[primary]"));
  HttpClient client(router.port());
  auto plain = client.stream("/v1/chat/completions", chat_body("auto", "hi", R"(,"stream":true)"),
                             [](const std::string&) { return true; });
  ASSERT_EQ(plain.status, 200);
  for (const auto& event : sse_data(plain.body)) {
    EXPECT_EQ(event.find(R"("choices":[])"), std::string::npos) << event;
  }
  HttpClient mock_client(mock.port());
  auto seen = nlohmann::json::parse(mock_client.request("GET", "/mock/last_request").body);
  EXPECT_EQ(seen["body"]["stream_options"]["include_usage"], true);

  auto asked = client.stream(
      "/v1/chat/completions",
      chat_body("auto", "hi", R"(,"stream":true,"stream_options":{"include_usage":true})"),
      [](const std::string&) { return true; });
  const auto events = sse_data(asked.body);
  ASSERT_GE(events.size(), 2u);
  EXPECT_NE(events[events.size() - 2].find(R"("usage")"), std::string::npos);
}

}  // namespace
}  // namespace test_support
