// client_keys: the API answers only the config's keys, each with its own rpm and tpm.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <fstream>
#include <thread>
#include <vector>

#include "integration/router_config.hpp"
#include "support/canned_backend.hpp"
#include "support/fixtures.hpp"

namespace test_support {
namespace {

using nlohmann::json;

const std::string kKeys =
    "client_keys:\n"
    "  - {name: team-a, key: sk-team-a-secret, rpm: 2}\n"
    // sha256 of "sk-team-b-secret"
    "  - {name: team-b, key_sha256: "
    "2bdc7365a94e6334f5bb9e337d946d9b7ff12ab097e76094dfd73ba5036253e1}\n"
    "  - {name: team-c, key: sk-team-c-secret, tpm: 300}\n";

std::string config_with_keys(const std::string& backend_url, const std::string& keys = kKeys) {
  return router_config({{"only", backend_url}}, "[only]", "[]", "  watch_config: false\n") + keys;
}

HttpResponse chat(HttpClient& client, const std::string& key_header, const std::string& key,
                  const std::string& content = "Hello there") {
  std::map<std::string, std::string> headers;
  if (!key.empty()) headers[key_header] = key_header == "authorization" ? "Bearer " + key : key;
  return client.request("POST", "/v1/chat/completions", chat_body("auto", content), headers);
}

TEST(ClientKeys, OnlyListedKeysReachTheApi) {
  MockLlm backend;
  Router router(config_with_keys(backend.url()));
  HttpClient client(router.port());

  const auto none = chat(client, "authorization", "");
  EXPECT_EQ(none.status, 401) << none.body;
  EXPECT_EQ(json::parse(none.body)["error"]["code"], "invalid_api_key");
  const auto wrong = chat(client, "authorization", "sk-guessing-1234");
  EXPECT_EQ(wrong.status, 401) << wrong.body;
  EXPECT_EQ(wrong.body.find("sk-guessing-1234"), std::string::npos) << "never echoed";
  EXPECT_EQ(backend.requests(), 0);

  EXPECT_EQ(chat(client, "authorization", "sk-team-a-secret").status, 200);
  EXPECT_EQ(chat(client, "authorization", "sk-team-b-secret").status, 200);  // by its digest
  EXPECT_EQ(client
                .request("POST", "/v1/chat/completions", chat_body("auto"),
                         {{"authorization", "bearer sk-team-b-secret"}})
                .status,
            200);  // the scheme's case does not matter
  EXPECT_EQ(chat(client, "x-api-key", "sk-team-c-secret").status, 200);
  EXPECT_EQ(chat(client, "api-key", "sk-team-c-secret").status, 200);  // Azure clients
  EXPECT_EQ(client.request("GET", "/v1/models").status, 401);
  EXPECT_EQ(client.request("GET", "/v1/models", "", {{"authorization", "Bearer sk-team-a-secret"}})
                .status,
            200);
  // Probes and the admin endpoints have their own rules.
  EXPECT_EQ(client.request("GET", "/healthz").status, 200);
  EXPECT_EQ(client.request("GET", "/readyz").status, 200);
  // Per-key totals go by the key's name.
  const auto stats = json::parse(client.request("GET", "/admin/stats?window=5m").body);
  EXPECT_EQ(stats["client_keys"]["team-a"]["requests"], 1) << stats["client_keys"];
  EXPECT_EQ(stats["client_keys"]["team-c"]["requests"], 2) << stats["client_keys"];
  // Refused keys share one entry: a client guessing keys cannot crowd the teams out.
  EXPECT_GE(stats["client_keys"]["(unknown key)"]["requests"], 2) << stats["client_keys"];
  for (const auto& [name, counts] : stats["client_keys"].items()) {
    EXPECT_TRUE(name.rfind("team-", 0) == 0 || name == "(unknown key)") << name;
  }
}

TEST(ClientKeys, AnUploadWithoutAKeyIsRefusedBeforeItsBodyIsSent) {
  MockLlm backend;
  Router router(config_with_keys(backend.url()));
  HttpClient client(router.port());
  const auto response = client.raw(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
      "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n");
  EXPECT_EQ(response.status, 401) << "not 100 Continue";
  EXPECT_EQ(json::parse(response.body)["error"]["code"], "invalid_api_key");
  const auto keyed = client.raw(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
      "Authorization: Bearer sk-team-a-secret\r\nContent-Length: 10\r\n\r\n");
  EXPECT_EQ(keyed.status, 100) << "a known key is asked for its body";
}

TEST(ClientKeys, EachKeyHasItsOwnRpm) {
  MockLlm backend;
  Router router(config_with_keys(backend.url()));
  HttpClient client(router.port());
  EXPECT_EQ(chat(client, "authorization", "sk-team-a-secret").status, 200);
  EXPECT_EQ(chat(client, "authorization", "sk-team-a-secret").status, 200);
  const auto limited = chat(client, "authorization", "sk-team-a-secret");
  EXPECT_EQ(limited.status, 429) << limited.body;
  const auto error = json::parse(limited.body)["error"];
  EXPECT_EQ(error["code"], "rate_limit_exceeded");
  EXPECT_NE(error["message"].get<std::string>().find("client key 'team-a'"), std::string::npos)
      << error;
  const int retry_after = std::stoi(limited.header("retry-after"));
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 60);
  EXPECT_EQ(backend.requests(), 2);
  // Another key is not held back by team-a's limit.
  EXPECT_EQ(chat(client, "authorization", "sk-team-c-secret").status, 200);
  // The refusal counts under the route it named, where its operators look.
  const auto stats = json::parse(client.request("GET", "/admin/stats?window=5m").body);
  EXPECT_EQ(stats["routes"]["auto"]["requests"], 4) << stats["routes"];
  // The key's own quota at work, not an error of the router or its backends.
  EXPECT_EQ(stats["routes"]["auto"]["errors"], 0) << stats["routes"];
  EXPECT_EQ(stats["total"]["errors"], 0);
  EXPECT_FALSE(stats["routes"].contains("(no route)")) << stats["routes"];
}

// A key with limits reads them in OpenAI's headers, instead of the limits of the router's
// account that the backend sends; a key without limits still gets the backend's.
TEST(ClientKeys, AKeyWithLimitsReadsThemInTheRateLimitHeaders) {
  CannedBackend backend([](const std::string&) {
    return http_response(200, "application/json",
                         R"({"id":"c","object":"chat.completion","created":1,"model":"m",)"
                         R"("choices":[{"index":0,"message":{"role":"assistant","content":"hi"},)"
                         R"("finish_reason":"stop"}],)"
                         R"("usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}})",
                         "x-ratelimit-limit-requests: 10000\r\nx-ratelimit-remaining-requests: "
                         "9999\r\nx-ratelimit-limit-tokens: 2000000\r\n");
  });
  Router router(config_with_keys(backend.url(),
                                 "client_keys:\n"
                                 "  - {name: both, key: sk-both-limits, rpm: 3, tpm: 1000}\n"
                                 "  - {name: free, key: sk-no-limits}\n"));
  HttpClient client(router.port());
  const auto first = chat(client, "authorization", "sk-both-limits");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.header("x-ratelimit-limit-requests"), "3");
  EXPECT_EQ(first.header("x-ratelimit-remaining-requests"), "2");
  EXPECT_EQ(first.header("x-ratelimit-limit-tokens"), "1000");
  const int tokens_left = std::stoi(first.header("x-ratelimit-remaining-tokens"));
  EXPECT_GT(tokens_left, 900);
  EXPECT_LT(tokens_left, 1000);  // the prompt's estimate is spent
  // Until the budget is whole again: one request is a third of a minute, "20s" or just under.
  const std::string reset = first.header("x-ratelimit-reset-requests");
  EXPECT_TRUE(reset.ends_with("s") && (reset.starts_with("19.") || reset == "20s")) << reset;
  EXPECT_EQ(
      chat(client, "authorization", "sk-both-limits").header("x-ratelimit-remaining-requests"),
      "1");
  EXPECT_EQ(chat(client, "authorization", "sk-both-limits").status, 200);
  const auto limited = chat(client, "authorization", "sk-both-limits");
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_EQ(limited.header("x-ratelimit-remaining-requests"), "0");
  EXPECT_EQ(limited.header("x-ratelimit-limit-requests"), "3");

  const auto free = chat(client, "authorization", "sk-no-limits");
  EXPECT_EQ(free.status, 200);
  EXPECT_EQ(free.header("x-ratelimit-limit-requests"), "10000");  // the backend's, once
  EXPECT_EQ(free.header("x-ratelimit-remaining-requests"), "9999");
}

// A key's `models` are all it may name: another is refused (403, as OpenAI's permission
// errors) before any limit is charged, and /v1/models lists those alone.
TEST(ClientKeys, AKeyMayNameOnlyItsModels) {
  MockLlm backend;
  Router router(config_with_keys(
      backend.url(), "client_keys:\n  - {name: k, key: sk-route-only, rpm: 5, models: [auto]}\n"));
  HttpClient client(router.port());
  const std::map<std::string, std::string> key{{"authorization", "Bearer sk-route-only"}};
  EXPECT_EQ(client.request("POST", "/v1/chat/completions", chat_body("auto"), key).status, 200);
  const auto refused = client.request("POST", "/v1/chat/completions", chat_body("only"), key);
  EXPECT_EQ(refused.status, 403) << refused.body;
  const auto error = json::parse(refused.body)["error"];
  EXPECT_EQ(error["code"], "model_not_allowed");
  EXPECT_EQ(error["type"], "permission_error");
  EXPECT_EQ(error["param"], "model");
  EXPECT_EQ(refused.header("x-ratelimit-remaining-requests"), "4");  // only the first counted
  const auto models = json::parse(client.request("GET", "/v1/models", "", key).body);
  ASSERT_EQ(models["data"].size(), 1u) << models;
  EXPECT_EQ(models["data"][0]["id"], "auto");
  EXPECT_EQ(client.request("GET", "/v1/models/only", "", key).status, 404);
  EXPECT_EQ(backend.requests(), 1);
  // Each key's requests, tokens and spend are series of their own, by the key's name.
  const std::string metrics = client.request("GET", "/metrics").body;
  EXPECT_NE(metrics.find(R"(llm_router_client_requests_total{client_key="k",status="200"} 1)"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find(R"(llm_router_client_requests_total{client_key="k",status="403"} 1)"),
            std::string::npos);
  EXPECT_NE(metrics.find(R"(llm_router_client_tokens_total{client_key="k",type="input"})"),
            std::string::npos);
  EXPECT_NE(metrics.find(R"(llm_router_client_cost_usd_total{client_key="k"})"), std::string::npos);
}

// An alias is its route's other name: answered, counted and shown as the route, listed by
// /v1/models, and allowed to a key that may use the route.
TEST(ClientKeys, AnAliasNamesItsRoute) {
  MockLlm backend;
  Router router(
      router_config({{"only", backend.url()}}, "[only]", "[]", "  watch_config: false\n") +
      "    aliases: [gpt-4o]\n"
      "client_keys:\n  - {name: k, key: sk-alias-key, models: [gpt-4o]}\n");
  HttpClient client(router.port());
  const std::map<std::string, std::string> key{{"authorization", "Bearer sk-alias-key"}};
  const auto answer = client.request("POST", "/v1/chat/completions", chat_body("gpt-4o"), key);
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(answer.header("x-llm-router-route"), "auto");
  EXPECT_EQ(client.request("POST", "/v1/chat/completions", chat_body("auto"), key).status, 200);
  const auto models = json::parse(client.request("GET", "/v1/models", "", key).body);
  ASSERT_EQ(models["data"].size(), 2u) << models;
  EXPECT_EQ(models["data"][1]["id"], "gpt-4o");
  EXPECT_EQ(client.request("GET", "/v1/models/gpt-4o", "", key).status, 200);
  // A model it may not use: the 403 names it as sent, and a dry run is refused the same way.
  const auto backend_named = client.request("POST", "/v1/route", chat_body("only"), key);
  EXPECT_EQ(backend_named.status, 403) << backend_named.body;
  EXPECT_NE(backend_named.body.find("'only'"), std::string::npos) << backend_named.body;
  EXPECT_EQ(client.request("POST", "/v1/route", chat_body("gpt-4o"), key).status, 200);
}

// The `model` an answer carries (the backend's upstream model), sent back by a client as the
// next request's model, names that backend when it is the only one serving it; a key may use
// it as it may use the backend.
TEST(ClientKeys, AnUpstreamModelNamesTheOneBackendServingIt) {
  MockLlm first, second;
  Router router(router_config({{"one", first.url()}, {"two", second.url()}}, "[one]", "[]",
                              "  watch_config: false\n") +
                "client_keys:\n  - {name: k, key: sk-upstream-key, models: [one]}\n");
  HttpClient client(router.port());
  const std::map<std::string, std::string> key{{"authorization", "Bearer sk-upstream-key"}};
  const auto first_answer = client.request("POST", "/v1/chat/completions", chat_body("one"), key);
  ASSERT_EQ(first_answer.status, 200) << first_answer.body;
  const std::string upstream = json::parse(first_answer.body)["model"];
  EXPECT_EQ(upstream, "upstream-one");
  const auto again = client.request("POST", "/v1/chat/completions", chat_body(upstream), key);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.header("x-llm-router-backend"), "one");
  EXPECT_EQ(client.request("POST", "/v1/chat/completions", chat_body("upstream-two"), key).status,
            403);  // "two" is not the key's
}

// A request the router refuses before any backend runs it is given back, and its headers say
// so: the key's remaining requests are as many as before it.
TEST(ClientKeys, ARefusedRequestsHeadersCountItAsGivenBack) {
  MockLlm backend;
  Router router(
      config_with_keys(backend.url(), "client_keys:\n  - {name: k, key: sk-three-rpm, rpm: 3}\n"));
  HttpClient client(router.port());
  const auto unknown = client.request("POST", "/v1/chat/completions", chat_body("no-such-model"),
                                      {{"authorization", "Bearer sk-three-rpm"}});
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(unknown.header("x-ratelimit-remaining-requests"), "3");
  const auto answered = chat(client, "authorization", "sk-three-rpm");
  EXPECT_EQ(answered.status, 200) << answered.body;
  EXPECT_EQ(answered.header("x-ratelimit-remaining-requests"), "2");
}

// Every backend rate limited: the key still reads its own limits, once, not the backend's too.
TEST(ClientKeys, AKeysLimitsAreNotRepeatedWhenEveryBackendIsRateLimited) {
  CannedBackend backend([](const std::string&) {
    return http_response(429, "application/json",
                         R"({"error":{"message":"slow down","type":"requests"}})",
                         "retry-after: 30\r\nx-ratelimit-remaining-requests: 0\r\n"
                         "x-ratelimit-limit-requests: 10000\r\n");
  });
  Router router(config_with_keys(backend.url(),
                                 "client_keys:\n  - {name: k, key: sk-limited-key, rpm: 5}\n"));
  HttpClient client(router.port());
  const auto limited = chat(client, "authorization", "sk-limited-key");
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_EQ(limited.header("x-ratelimit-limit-requests"), "5");
  EXPECT_EQ(limited.header("x-ratelimit-remaining-requests"), "4");
}

TEST(ClientKeys, TpmCountsTheAnswersToo) {
  MockLlm backend({"--tokens", "400"});
  Router router(config_with_keys(backend.url()));
  HttpClient client(router.port());
  // A short prompt fits the 300 tokens a minute; its 400-token answer spends the rest.
  EXPECT_EQ(chat(client, "authorization", "sk-team-c-secret").status, 200);
  const auto limited = chat(client, "authorization", "sk-team-c-secret");
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_EQ(backend.requests(), 1);
}

// Each request naming max_tokens takes it from the key's tpm before it runs, so requests in
// flight together cannot overdraw the budget by all they are about to write.
// n answers may each write max_tokens: a key's tpm counts them all, as OpenAI's limiter does.
TEST(ClientKeys, MaxTokensCountsForEachOfNAnswers) {
  MockLlm backend;
  Router router(config_with_keys(backend.url()));  // team-c: tpm 300
  HttpClient client(router.port());
  const std::map<std::string, std::string> key{{"authorization", "Bearer sk-team-c-secret"}};
  const auto four = client.request("POST", "/v1/chat/completions",
                                   chat_body("auto", "hi", R"(,"max_tokens":100,"n":4)"), key);
  EXPECT_EQ(four.status, 429) << four.body;
  EXPECT_EQ(four.header("x-should-retry"), "false");
  EXPECT_EQ(backend.requests(), 0);
}

TEST(ClientKeys, RequestsInFlightReserveTheirMaxTokens) {
  MockLlm slow({"--ttft-ms", "1500", "--tokens", "5"});
  Router router(config_with_keys(slow.url(),
                                 "client_keys:\n  - {name: small, key: sk-small-tpm, tpm: 600}\n"));
  std::vector<std::thread> clients;
  std::atomic<int> answered{0}, limited{0};
  for (int i = 0; i < 6; ++i) {
    clients.emplace_back([&] {
      HttpClient client(router.port());
      const auto response = client.request("POST", "/v1/chat/completions",
                                           chat_body("auto", "hi", R"(,"max_tokens":250)"),
                                           {{"authorization", "Bearer sk-small-tpm"}});
      (response.status == 200 ? answered : limited)++;
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(answered.load(), 2);  // 2 x (1 + 250) fit in 600, a third does not
  EXPECT_EQ(limited.load(), 4);
  EXPECT_EQ(slow.requests(), 2);
}

// A request that can never fit the key's tpm is refused at once, as OpenAI answers "Request too
// large": waiting would not help, so the SDKs are told not to retry.
TEST(ClientKeys, ARequestLargerThanTheKeysTpmIsRefusedAtOnce) {
  MockLlm backend;
  Router router(config_with_keys(backend.url()));
  HttpClient client(router.port());
  const auto refused = client.request("POST", "/v1/chat/completions",
                                      chat_body("auto", "hi", R"(,"max_tokens":1000)"),
                                      {{"authorization", "Bearer sk-team-c-secret"}});
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_EQ(refused.header("x-should-retry"), "false");
  EXPECT_NE(refused.body.find("request too large for client key 'team-c'"), std::string::npos)
      << refused.body;
  EXPECT_EQ(backend.requests(), 0);
  EXPECT_EQ(chat(client, "authorization", "sk-team-c-secret").status, 200);  // nothing spent
}

// The client pays for answers, not for the router's own refusals: a request no backend was
// sent gives its rpm back.
TEST(ClientKeys, ARequestNoBackendWasSentGivesItsRpmBack) {
  MockLlm backend;
  Router router(config_with_keys(backend.url()));
  HttpClient client(router.port());
  for (int i = 0; i < 3; ++i) {
    const auto unknown = client.request("POST", "/v1/chat/completions", chat_body("no-such-model"),
                                        {{"authorization", "Bearer sk-team-a-secret"}});
    EXPECT_EQ(unknown.status, 404) << unknown.body;
  }
  EXPECT_EQ(chat(client, "authorization", "sk-team-a-secret").status, 200);
  EXPECT_EQ(chat(client, "authorization", "sk-team-a-secret").status, 200);
  EXPECT_EQ(chat(client, "authorization", "sk-team-a-secret").status, 429);  // rpm 2
}

// A reload that changes a key's limits keeps what it spent as a count: raised from 2 to 10
// after 2 requests, it has 8 left.
TEST(ClientKeys, AReloadKeepsWhatAKeySpentAsACount) {
  MockLlm backend;
  Router router(config_with_keys(backend.url()));
  HttpClient client(router.port());
  EXPECT_EQ(chat(client, "authorization", "sk-team-a-secret").status, 200);
  EXPECT_EQ(chat(client, "authorization", "sk-team-a-secret").status, 200);
  EXPECT_EQ(chat(client, "authorization", "sk-team-a-secret").status, 429);
  std::ofstream(router.config_path()) << config_with_keys(
      backend.url(), "client_keys:\n  - {name: team-a, key: sk-team-a-secret, rpm: 10}\n");
  ASSERT_EQ(client.request("POST", "/admin/reload").status, 200);
  const auto raised = chat(client, "authorization", "sk-team-a-secret");
  EXPECT_EQ(raised.status, 200) << raised.body;
  EXPECT_EQ(raised.header("x-ratelimit-remaining-requests"), "7");
}

TEST(ClientKeys, AReloadAddsAndRemovesKeys) {
  MockLlm backend;
  Router router(config_with_keys(backend.url()));
  HttpClient client(router.port());
  EXPECT_EQ(chat(client, "authorization", "sk-new-key-1").status, 401);
  std::ofstream(router.config_path())
      << config_with_keys(backend.url(), "client_keys:\n  - {name: newcomer, key: sk-new-key-1}\n");
  ASSERT_EQ(client.request("POST", "/admin/reload").status, 200);
  EXPECT_EQ(chat(client, "authorization", "sk-new-key-1").status, 200);
  EXPECT_EQ(chat(client, "authorization", "sk-team-a-secret").status, 401);
  // An empty list is refused (the keys stay); so is no client_keys at all: a reload never
  // opens the API (a file caught half written would, for a moment).
  std::ofstream(router.config_path()) << config_with_keys(backend.url(), "client_keys: []\n");
  EXPECT_EQ(client.request("POST", "/admin/reload").status, 400);
  EXPECT_EQ(chat(client, "authorization", "").status, 401);
  std::ofstream(router.config_path()) << config_with_keys(backend.url(), "");
  const auto opened = client.request("POST", "/admin/reload");
  EXPECT_EQ(opened.status, 400) << opened.body;
  EXPECT_NE(opened.body.find("restart"), std::string::npos) << opened.body;
  EXPECT_EQ(chat(client, "authorization", "").status, 401);
  EXPECT_EQ(chat(client, "authorization", "sk-new-key-1").status, 200);
}

}  // namespace
}  // namespace test_support
