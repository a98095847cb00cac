// Fallback before the first byte: dead, failing, rate-limited and hanging backends.
#include <gtest/gtest.h>

#include <future>

#include <nlohmann/json.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <csignal>
#include <thread>

#include "integration/router_config.hpp"
#include "support/canned_backend.hpp"
#include "support/fixtures.hpp"

namespace test_support {
namespace {

using nlohmann::json;
namespace asio = boost::asio;

// Embeddings through a route stay in one vector space: a rule still decides where a text may
// go (a PII rule keeps it from a public backend), but only among backends of the route's model,
// and a failing backend falls back only to one serving that model.
TEST(Fallback, EmbeddingsStayWithTheRoutesModel) {
  MockLlm failing({"--status", "503"});
  MockLlm same_model;
  MockLlm private_same_model;
  MockLlm other_model;
  const auto backend = [](const std::string& name, const MockLlm& mock, const std::string& model) {
    return "  - {name: " + name + ", provider: openai, base_url: \"" + mock.url() +
           "\", model: " + model + ", api_key: sk-" + name + ", retry: {attempts: 1}}\n";
  };
  const std::string config =
      "server: {threads: 2, drain_timeout: 10s}\nlogging: {level: warn}\nbackends:\n" +
      backend("primary", failing, "embed-a") + backend("standby", same_model, "embed-a") +
      backend("private", private_same_model, "embed-a") + backend("other", other_model, "embed-b") +
      "routes:\n"
      "  - name: vectors\n"
      "    use: [primary]\n"
      "    fallback: [other, standby]\n"
      "    rules:\n"
      "      - {name: secrets, when: {keywords: [confidential]}, use: [private]}\n"
      "      - {name: refunds, when: {keywords: [refund]}, use: [other]}\n";
  Router router(config);
  HttpClient client(router.port());
  const auto embedded =
      client.post_json("/v1/embeddings", R"({"model":"vectors","input":"hello"})");
  ASSERT_EQ(embedded.status, 200) << embedded.body;
  EXPECT_EQ(embedded.header("x-llm-router-backend"), "standby");
  EXPECT_EQ(other_model.requests(), 0);
  // A rule still applies, within the route's model.
  const auto kept =
      client.post_json("/v1/embeddings", R"({"model":"vectors","input":"a confidential memo"})");
  ASSERT_EQ(kept.status, 200) << kept.body;
  EXPECT_EQ(kept.header("x-llm-router-backend"), "private");
  // A rule whose backends serve another model refuses rather than mix the spaces.
  const auto refused =
      client.post_json("/v1/embeddings", R"({"model":"vectors","input":"a refund please"})");
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_NE(refused.body.find("vectors of different models do not compare"), std::string::npos)
      << refused.body;
  EXPECT_EQ(json::parse(refused.body)["error"]["param"], "input");
  EXPECT_EQ(other_model.requests(), 0);
  // Chat through the same route still follows its rules to any model.
  const auto chat =
      client.post_json("/v1/chat/completions", chat_body("vectors", "a refund please"));
  ASSERT_EQ(chat.status, 200) << chat.body;
  EXPECT_EQ(chat.header("x-llm-router-backend"), "other");
}

TEST(Fallback, KilledBackendFallsBackToTheNextCandidate) {
  MockLlm dead;
  MockLlm healthy;
  const std::string dead_url = dead.url();
  dead.kill();
  Router router(router_config({{"dead", dead_url}, {"healthy", healthy.url()}}, "[dead, healthy]"));
  HttpClient client(router.port());
  auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("x-llm-router-backend"), "healthy");
  EXPECT_NE(response.header("x-llm-router-attempts").find("dead=connect_failed"),
            std::string::npos);
}

// The client learns which backends failed and how, never where they live.
TEST(Fallback, AnUnreachableBackendsAddressStaysOutOfTheClientsError) {
  MockLlm dead;
  const std::string dead_url = dead.url();
  dead.kill();
  Router router(router_config({{"dead", dead_url}}, "[dead]"));
  HttpClient client(router.port());
  const auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(response.status, 502) << response.body;
  const std::string message = json::parse(response.body)["error"]["message"];
  EXPECT_NE(message.find("dead: connect_failed"), std::string::npos) << message;
  EXPECT_EQ(message.find("127.0.0.1"), std::string::npos) << message;
}

TEST(Fallback, ServerErrorFallsBackToTheFallbackList) {
  MockLlm failing({"--status", "500"});
  MockLlm backup;
  Router router(router_config({{"failing", failing.url()}, {"backup", backup.url()}}, "[failing]",
                              "[backup]"));
  HttpClient client(router.port());
  auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("x-llm-router-backend"), "backup");
  EXPECT_EQ(failing.requests(), 1);
}

// Each provider words "the prompt does not fit" its own way; every one of them goes to the
// route's context_window_fallback rather than its ordinary fallback.
TEST(Fallback, EachProvidersContextWindowErrorGoesToTheContextWindowFallback) {
  const std::string openai =
      R"({"error":{"message":"This model's maximum context length is 8192 tokens",)"
      R"("type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}})";
  const std::string vllm =
      R"({"object":"error","message":"This model's maximum context length is 4096 tokens. )"
      R"(However, you requested 5000 tokens","type":"BadRequestError","code":400})";
  const std::string llama_cpp =
      R"({"error":{"code":400,"message":"request (4476 tokens) exceeds the available context )"
      R"(size (4096 tokens), try increasing it","type":"exceed_context_size_error"}})";
  const std::string anthropic =
      R"({"type":"error","error":{"type":"invalid_request_error",)"
      R"("message":"prompt is too long: 210000 tokens > 200000 maximum"}})";
  for (const std::string& error : {openai, vllm, llama_cpp, anthropic}) {
    CannedBackend small(
        [&](const std::string&) { return http_response(400, "application/json", error); });
    Router router(router_config({{"small", small.url()}, {"other", ""}, {"large", ""}}, "[small]",
                                "[other]") +
                  "    context_window_fallback: [large]\n");
    HttpClient client(router.port());
    const auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
    EXPECT_EQ(response.status, 200) << error << response.body;
    EXPECT_EQ(response.header("x-llm-router-backend"), "large") << error;
    EXPECT_NE(response.header("x-llm-router-attempts").find("small=context_window_exceeded"),
              std::string::npos)
        << response.header("x-llm-router-attempts");
  }
}

// An error-class fallback is checked as every candidate is: a request with tools never goes to
// a context_window_fallback without the `tools` tag, however the first backend failed.
TEST(Fallback, ErrorClassFallbacksAreCheckedForWhatTheRequestNeeds) {
  const std::string too_long =
      R"({"error":{"message":"This model's maximum context length is 8192 tokens",)"
      R"("type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}})";
  CannedBackend small(
      [&](const std::string&) { return http_response(400, "application/json", too_long); });
  Router router(router_config({{"small", small.url()},
                               {"texty", "", "tags: [chat]"},
                               {"tooled", "", "tags: [chat, tools]"}},
                              "[small]") +
                "    context_window_fallback: [texty, tooled]\n");
  const std::string with_tools = chat_body(
      "auto", "call it",
      R"(,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}])");
  const auto response = HttpClient(router.port()).post_json("/v1/chat/completions", with_tools);
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("x-llm-router-backend"), "tooled") << response.body;
  EXPECT_EQ(response.header("x-llm-router-attempts").find("texty"), std::string::npos)
      << response.header("x-llm-router-attempts");
}

// A refusal of the request's content that no other backend overturns reaches the client as the
// backend wrote it: Azure's content filter results, the blamed field, its own message.
TEST(Fallback, AContentRefusalNoOtherBackendAnswersIsRelayedAsWritten) {
  const std::string azure =
      R"({"error":{"message":"The response was filtered","type":null,"param":"prompt",)"
      R"("code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation",)"
      R"("content_filter_result":{"hate":{"filtered":true,"severity":"high"}}}}})";
  CannedBackend filtering(
      [&](const std::string&) { return http_response(400, "application/json", azure); });
  CannedBackend down([&](const std::string&) { return http_response(500, "text/plain", "x"); });
  for (const bool with_fallback : {false, true}) {
    Router router(with_fallback ? router_config({{"down", down.url()}, {"azure", filtering.url()}},
                                                "[down]", "[azure]")
                                : router_config({{"azure", filtering.url()}}, "[azure]"));
    HttpClient client(router.port());
    const auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
    EXPECT_EQ(response.status, 400) << response.body;
    EXPECT_EQ(json::parse(response.body), json::parse(azure)) << response.body;
    EXPECT_NE(response.header("x-llm-router-attempts").find("azure=content_policy"),
              std::string::npos)
        << response.header("x-llm-router-attempts");
  }
}

// Azure answers 200 with finish_reason "content_filter" and no content when its filter withholds
// the completion: with a content_policy_fallback the route asks that backend instead, and gives
// the filtered answer only if nothing else answers; without one the answer is relayed as it is.
TEST(Fallback, AnAnswerWithheldByTheContentFilterGoesToTheContentPolicyFallback) {
  const std::string filtered =
      R"({"id":"c","object":"chat.completion","created":1,"model":"gpt-4o","choices":[)"
      R"({"index":0,"finish_reason":"content_filter","message":{"role":"assistant","content":null},)"
      R"("content_filter_results":{"violence":{"filtered":true,"severity":"medium"}}}],)"
      R"("usage":{"prompt_tokens":5,"completion_tokens":0,"total_tokens":5}})";
  CannedBackend azure(
      [&](const std::string&) { return http_response(200, "application/json", filtered); });
  MockLlm dead;
  const std::string dead_url = dead.url();
  dead.kill();
  const auto ask = [](const std::string& config) {
    Router router(config);
    HttpClient client(router.port());
    return client.post_json("/v1/chat/completions", chat_body("auto"));
  };
  const auto backends = std::vector<TestBackend>{{"azure", azure.url()}, {"safe", ""}};
  for (const std::string hedge : {"", "    hedge: {after: 2s}\n"}) {  // hedged or not
    const auto moved =
        ask(router_config(backends, "[azure]") + "    content_policy_fallback: [safe]\n" + hedge);
    EXPECT_EQ(moved.status, 200) << moved.body;
    EXPECT_EQ(moved.header("x-llm-router-backend"), "safe") << hedge;
    EXPECT_EQ(moved.header("x-llm-router-attempts"), "azure=content_policy(200), safe=ok");
  }

  const auto kept = ask(router_config({{"azure", azure.url()}, {"gone", dead_url}}, "[azure]") +
                        "    content_policy_fallback: [gone]\n");
  EXPECT_EQ(kept.status, 200) << kept.body;
  EXPECT_EQ(json::parse(kept.body)["choices"][0]["finish_reason"], "content_filter");
  EXPECT_EQ(kept.header("x-llm-router-backend"), "azure");

  const auto relayed = ask(router_config(backends, "[azure]", "[safe]"));
  EXPECT_EQ(json::parse(relayed.body)["choices"][0]["finish_reason"], "content_filter");
  EXPECT_EQ(relayed.header("x-llm-router-attempts"), "azure=ok");
}

// Azure's stream when its filter withholds the completion: the prompt-filter chunk, then a chunk
// that ends with "content_filter" and says nothing. Nothing has been sent yet, so a route with a
// content_policy_fallback asks that backend, as for a whole answer (but when that fails too, the
// client hears of both failures: a stream is not kept aside); without one it is relayed.
TEST(Fallback, AStreamWithheldByTheContentFilterGoesToTheContentPolicyFallback) {
  CannedBackend azure([](const std::string&) {
    return std::string(
               "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
               "connection: close\r\n\r\n") +
           R"(data: {"id":"","object":"","created":0,"model":"","choices":[],)"
           R"("prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]})" +
           "\n\n" +
           R"(data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o",)"
           R"("choices":[{"index":0,"delta":{},"finish_reason":"content_filter",)"
           R"("content_filter_results":{"violence":{"filtered":true,"severity":"medium"}}}]})" +
           "\n\ndata: [DONE]\n\n";
  });
  const auto backends = std::vector<TestBackend>{{"azure", azure.url()}, {"safe", ""}};
  const std::string stream = chat_body("auto", "hello", R"(,"stream":true)");
  for (const std::string hedge : {"", "    hedge: {after: 2s}\n"}) {  // hedged or not
    Router router(router_config(backends, "[azure]") + "    content_policy_fallback: [safe]\n" +
                  hedge);
    const auto moved = HttpClient(router.port()).post_json("/v1/chat/completions", stream);
    EXPECT_EQ(moved.status, 200) << moved.body;
    EXPECT_EQ(moved.header("x-llm-router-attempts"), "azure=content_policy(200), safe=ok") << hedge;
    EXPECT_EQ(moved.body.find("content_filter"), std::string::npos) << moved.body;
  }
  {
    MockLlm dead;
    const std::string dead_url = dead.url();
    dead.kill();
    Router router(router_config({{"azure", azure.url()}, {"gone", dead_url}}, "[azure]") +
                  "    content_policy_fallback: [gone]\n");
    const auto refused = HttpClient(router.port()).post_json("/v1/chat/completions", stream);
    EXPECT_EQ(refused.status, 502) << refused.body;  // the fallback's failure is the last
    EXPECT_NE(refused.body.find("content filter withheld the answer"), std::string::npos)
        << refused.body;
  }
  Router router(router_config(backends, "[azure]", "[safe]"));
  const auto relayed = HttpClient(router.port()).post_json("/v1/chat/completions", stream);
  EXPECT_EQ(relayed.header("x-llm-router-attempts"), "azure=ok");
  EXPECT_NE(relayed.body.find(R"("finish_reason":"content_filter")"), std::string::npos)
      << relayed.body;
}

TEST(Fallback, RateLimitedBackendFallsBack) {
  MockLlm limited({"--status", "429", "--retry-after-ms", "2000"});
  MockLlm backup;
  Router router(
      router_config({{"limited", limited.url()}, {"backup", backup.url()}}, "[limited, backup]"));
  HttpClient client(router.port());
  auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.header("x-llm-router-backend"), "backup");
}

// A backend's own 408 is its error, answered at once: no timeout of the router's, so neither
// logged nor answered as one (a 504 timeout_error would raise false timeout alerts).
TEST(Fallback, ABackendsOwn408IsAServerErrorNotATimeout) {
  MockLlm timing_out({"--status", "408"});
  Router router(router_config({{"slow", timing_out.url()}}, "[slow]"));
  const auto response =
      HttpClient(router.port()).post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(response.status, 502) << response.body;
  EXPECT_EQ(response.header("x-llm-router-attempts"), "slow=upstream_server_error(408)");
}

TEST(Fallback, RateLimitWithNoBackupReachesTheClientWithRetryAfter) {
  MockLlm limited({"--status", "429", "--retry-after-ms", "2000"});
  Router router(router_config({{"limited", limited.url()}}, "[limited]"));
  HttpClient client(router.port());
  auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(response.status, 429);
  EXPECT_EQ(response.header("retry-after"), "2");
  EXPECT_EQ(response.header("x-ratelimit-remaining-requests"), "0");
  auto error = json::parse(response.body)["error"];
  EXPECT_EQ(error["type"], "rate_limit_error");
}

TEST(Fallback, HangingBackendTimesOutAndFallsBack) {
  MockLlm hanging({"--hang"});
  MockLlm backup;
  Router router(router_config(
      {{"hanging", hanging.url(), "timeouts: {first_byte: 300ms}"}, {"backup", backup.url()}},
      "[hanging, backup]"));
  HttpClient client(router.port());
  auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.header("x-llm-router-backend"), "backup");
  EXPECT_NE(response.header("x-llm-router-attempts").find("hanging=first_byte_timeout"),
            std::string::npos);
}

// A stream that opens with a role-only chunk and then thinks is still waiting for its first
// token: first_byte bounds that silence, not idle.
TEST(Timeouts, ASilenceBeforeTheFirstContentIsTheFirstByteWait) {
  MockLlm thinking({"--role-chunk-ms", "900"});
  Router router(router_config(
      {{"thinking", thinking.url(), "timeouts: {first_byte: 5s, idle: 300ms}"}}, "[thinking]"));
  HttpClient client(router.port());
  auto response =
      client.stream("/v1/chat/completions", chat_body("auto", "hi", R"(,"stream":true)"),
                    [](const std::string&) { return true; });
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("x-llm-router-attempts"), "thinking=ok");
  EXPECT_EQ(sse_data(response.body).back(), "[DONE]");
  // Past first_byte it is a first_byte_timeout.
  MockLlm stalled({"--role-chunk-ms", "5000"});
  Router strict(router_config(
      {{"stalled", stalled.url(), "timeouts: {first_byte: 600ms, idle: 300ms}"}}, "[stalled]"));
  HttpClient strict_client(strict.port());
  auto timed_out =
      strict_client.post_json("/v1/chat/completions", chat_body("auto", "hi", R"(,"stream":true)"));
  EXPECT_EQ(timed_out.status, 504) << timed_out.body;
  EXPECT_NE(timed_out.header("x-llm-router-attempts").find("stalled=first_byte_timeout"),
            std::string::npos)
      << timed_out.header("x-llm-router-attempts");
  // A first_byte shorter than idle fires too, after the role-only chunk every OpenAI-style
  // backend sends first, and the next backend answers.
  MockLlm backup;
  Router short_first_byte(
      router_config({{"stalled", stalled.url(), "timeouts: {first_byte: 600ms, idle: 30s}"},
                     {"backup", backup.url()}},
                    "[stalled]", "[backup]"));
  HttpClient short_client(short_first_byte.port());
  auto fell_back =
      short_client.stream("/v1/chat/completions", chat_body("auto", "hi", R"(,"stream":true)"),
                          [](const std::string&) { return true; });
  ASSERT_EQ(fell_back.status, 200) << fell_back.body;
  EXPECT_EQ(fell_back.header("x-llm-router-attempts"),
            "stalled=first_byte_timeout(200), backup=ok");
}

// A first_byte written in the config bounds a non-stream request's wait for its answer too.
TEST(Timeouts, AWrittenFirstByteBoundsANonStreamAnswer) {
  MockLlm slow({"--ttft-ms", "2000"});
  Router router(router_config({{"slow", slow.url(), "timeouts: {first_byte: 300ms}"}}, "[slow]"));
  HttpClient client(router.port());
  const auto timed_out = client.post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(timed_out.status, 504) << timed_out.body;
}

TEST(Fallback, StreamFallsBackWhenTheFirstBackendFailsBeforeAnyContent) {
  MockLlm failing({"--status", "503"});
  MockLlm backup;
  Router router(
      router_config({{"failing", failing.url()}, {"backup", backup.url()}}, "[failing, backup]"));
  HttpClient client(router.port());
  auto response = client.stream("/v1/chat/completions", chat_body("auto", "x", R"(,"stream":true)"),
                                [](const std::string&) { return true; });
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.header("x-llm-router-backend"), "backup");
  EXPECT_EQ(sse_data(response.body).back(), "[DONE]");
}

TEST(Fallback, StreamErrorEventBeforeContentFallsBack) {
  MockLlm erroring({"--error-event"});
  MockLlm backup;
  Router router(router_config({{"erroring", erroring.url()}, {"backup", backup.url()}},
                              "[erroring]", "[backup]"));
  HttpClient client(router.port());
  auto response = client.stream("/v1/chat/completions", chat_body("auto", "x", R"(,"stream":true)"),
                                [](const std::string&) { return true; });
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.header("x-llm-router-backend"), "backup");
  EXPECT_NE(response.header("x-llm-router-attempts").find("erroring=upstream_server_error"),
            std::string::npos);
  EXPECT_EQ(sse_data(response.body).back(), "[DONE]");
}

// The backend's own words in a stream's opening error event reach the client's error (and the
// log), as they do for an error status: "stream began with an error" alone hid the cause.
TEST(Fallback, AStreamThatBeganWithAnErrorKeepsTheBackendsMessage) {
  MockLlm erroring({"--error-event"});
  Router router(router_config({{"erroring", erroring.url()}}, "[erroring]"));
  HttpClient client(router.port());
  auto response =
      client.post_json("/v1/chat/completions", chat_body("auto", "x", R"(,"stream":true)"));
  EXPECT_EQ(response.status, 502) << response.body;
  const auto error = json::parse(response.body, nullptr, false);
  ASSERT_TRUE(error.contains("error")) << response.body;
  const std::string message = error["error"]["message"];
  EXPECT_NE(message.find("stream began with an error: The server had an error while processing "
                         "your request (mock status 500)"),
            std::string::npos)
      << message;
}

TEST(Fallback, WhenEveryBackendFailsTheClientGetsOneErrorNamingEachAttempt) {
  MockLlm first({"--status", "500"});
  MockLlm second({"--status", "502"});
  Router router(
      router_config({{"first", first.url()}, {"second", second.url()}}, "[first, second]"));
  HttpClient client(router.port());
  auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(response.status, 502);
  auto error = json::parse(response.body)["error"];
  const std::string message = error["message"];
  EXPECT_NE(message.find("first"), std::string::npos);
  EXPECT_NE(message.find("second"), std::string::npos);
  EXPECT_NE(message.find("HTTP 500"), std::string::npos);
  EXPECT_NE(message.find("HTTP 502"), std::string::npos);
  EXPECT_TRUE(error.contains("type"));
  EXPECT_TRUE(error.contains("param"));
  EXPECT_TRUE(error.contains("code"));
  // A failed backend's rate-limit headers do not describe this answer.
  EXPECT_EQ(response.header("x-ratelimit-remaining-requests"), "");
}

TEST(Fallback, ClientErrorsFromTheBackendAreRelayedNotRetried) {
  MockLlm rejecting({"--status", "400"});
  MockLlm backup;
  Router router(router_config({{"rejecting", rejecting.url()}, {"backup", backup.url()}},
                              "[rejecting, backup]"));
  HttpClient client(router.port());
  auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(backup.requests(), 0);
}

// With pass_client_auth the backend judges the client's own key: its 401 is the client's
// answer (the SDK raises AuthenticationError), not a backend failure to retry elsewhere.
TEST(Fallback, ARejectedClientKeyIsRelayedNotRetried) {
  MockLlm rejecting({"--status", "401"});
  MockLlm backup;
  Router router(router_config(
      {{"rejecting", rejecting.url(), "pass_client_auth: true"}, {"backup", backup.url()}},
      "[rejecting]", "[backup]"));
  HttpClient client(router.port());
  auto response = client.post_json("/v1/chat/completions", chat_body("auto"),
                                   {{"authorization", "Bearer sk-client-bad"}});
  EXPECT_EQ(response.status, 401) << response.body;
  EXPECT_TRUE(json::parse(response.body)["error"].is_object()) << response.body;
  EXPECT_EQ(backup.requests(), 0);
  // Without a client key the 401 is about the router's own key: the backup answers.
  EXPECT_EQ(client.post_json("/v1/chat/completions", chat_body("auto")).status, 200);
  EXPECT_EQ(backup.requests(), 1);
}

// pass_client_auth forwards the client's key in the header it came in (an Azure client's
// api-key, an Anthropic-style x-api-key, OpenAI's Authorization), in place of the backend's.
TEST(Fallback, PassClientAuthForwardsTheKeyAsItCame) {
  CannedBackend backend([](const std::string&) {
    return http_response(
        200, "application/json",
        R"({"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,)"
        R"("message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]})");
  });
  Router router(router_config(
      {{"azure", backend.url(), "pass_client_auth: true\n    headers: {api-key: router-key-1}"}},
      "[azure]"));
  HttpClient client(router.port());
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"api-key", "client-azure-key"},
           {"x-api-key", "client-x-key"},
           {"authorization", "bearer client-bearer-key"}}) {
    const auto response =
        client.post_json("/v1/chat/completions", chat_body("auto"), {{name, value}});
    EXPECT_EQ(response.status, 200) << response.body;
    const std::string head = backend.heads().back();
    EXPECT_NE(head.find(name + ": " + value), std::string::npos) << head;
    if (name == "api-key") {
      EXPECT_EQ(head.find("router-key-1"), std::string::npos) << head;
    }
  }
}

TEST(Streaming, MidStreamDropEndsWithAnErrorEventNotAHang) {
  MockLlm dropping({"--drop-after", "3", "--tokens", "20", "--token-delay-ms", "5"});
  Router router(router_config({{"dropping", dropping.url()}}, "[dropping]"));
  HttpClient client(router.port());
  auto response = client.stream("/v1/chat/completions", chat_body("auto", "x", R"(,"stream":true)"),
                                [](const std::string&) { return true; });
  ASSERT_EQ(response.status, 200);
  EXPECT_FALSE(response.closed_early);  // the router finished the chunked response cleanly
  const auto events = sse_data(response.body);
  ASSERT_FALSE(events.empty());
  auto last = json::parse(events.back());
  ASSERT_TRUE(last.contains("error")) << events.back();
  EXPECT_EQ(last["error"]["code"], "upstream_closed");
}

// The mock's open connections, its stats connection included, polled until only that one is
// left (for up to 5 s).
long long open_connections_once_settled(MockLlm& mock) {
  HttpClient stats(mock.port());
  long long open = -1;
  for (int i = 0; i < 100; ++i) {
    open = json::parse(stats.request("GET", "/mock/stats").body)["open_connections"];
    if (open == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return open;
}

// A client that stops reading a stream (it did not leave) is let go after server.write_timeout:
// the request ends and the upstream call with it.
TEST(Streaming, AClientThatStopsReadingIsLetGoAfterTheWriteTimeout) {
  MockLlm endless({"--tokens", "200000", "--token-delay-ms", "0"});
  Router router(
      router_config({{"endless", endless.url()}}, "[endless]", "[]", "  write_timeout: 300ms\n"));
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket reader(io);
  reader.open(boost::asio::ip::tcp::v4());
  reader.set_option(boost::asio::socket_base::receive_buffer_size(4096));
  reader.connect(
      {boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(router.port())});
  const std::string body = chat_body("auto", "x", R"(,"stream":true)");
  boost::asio::write(reader,
                     boost::asio::buffer("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                                         "Content-Type: application/json\r\nContent-Length: " +
                                         std::to_string(body.size()) + "\r\n\r\n" + body));
  // Never read: the router's writes stall, and the write timeout ends the request.
  HttpClient metrics(router.port());
  std::string text;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (text.find(R"(status="499"} 1)") == std::string::npos &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    text = metrics.request("GET", "/metrics").body;
  }
  EXPECT_NE(
      text.find(R"(llm_router_requests_total{route="auto",backend="endless",status="499"} 1)"),
      std::string::npos)
      << text.substr(0, 2000);
  EXPECT_EQ(open_connections_once_settled(endless), 1);  // the upstream call ended too
}

// Pooled keep-alive connections idle past idle_connection_timeout are closed even when no
// request comes to take them.
TEST(Pool, IdleConnectionsAreClosedWithoutTraffic) {
  MockLlm slow({"--ttft-ms", "100"});
  Router router(router_config({{"slow", slow.url(), "idle_connection_timeout: 300ms"}}, "[slow]",
                              "[]", "  threads: 1\n"));
  std::vector<std::future<int>> answers;
  for (int i = 0; i < 4; ++i) {
    answers.push_back(std::async(std::launch::async, [&] {
      HttpClient client(router.port());
      return client.post_json("/v1/chat/completions", chat_body("auto")).status;
    }));
  }
  for (auto& answer : answers) EXPECT_EQ(answer.get(), 200);
  EXPECT_EQ(open_connections_once_settled(slow), 1);  // only the stats connection is left
}

// A keep-alive backend that, after its first answer, writes one more (stray) response on the
// idle connection: the router must not hand it to the next client as its answer.
TEST(Pool, AConnectionTheBackendWroteToWhileIdleIsNotReused) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  std::atomic<bool> stopping{false};
  std::thread upstream([&] {
    int answered = 0;
    while (!stopping) {
      boost::asio::ip::tcp::socket socket(io);
      boost::system::error_code ec;
      acceptor.accept(socket, ec);
      if (ec || stopping) return;
      while (!stopping) {
        if (read_request_body(socket).empty()) break;
        const std::string body = R"({"choices":[{"index":0,"message":{"role":"assistant",)"
                                 R"("content":"answer )" +
                                 std::to_string(++answered) + R"("},"finish_reason":"stop"}]})";
        std::string response =
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            "content-length: " +
            std::to_string(body.size()) + "\r\n\r\n" + body;
        boost::asio::write(socket, boost::asio::buffer(response), ec);
        if (answered == 1) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          const std::string stray = R"({"choices":[{"index":0,"message":{"role":"assistant",)"
                                    R"("content":"stray"},"finish_reason":"stop"}]})";
          boost::asio::write(socket,
                             boost::asio::buffer("HTTP/1.1 200 OK\r\ncontent-length: " +
                                                 std::to_string(stray.size()) + "\r\n\r\n" + stray),
                             ec);
        }
        if (ec) break;
      }
    }
  });
  const std::string url =
      "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/v1";
  {
    Router router(router_config({{"keepalive", url}}, "[keepalive]", "[]", "  threads: 1\n"));
    HttpClient client(router.port());
    const auto first = client.post_json("/v1/chat/completions", chat_body("auto", "one"));
    EXPECT_NE(first.body.find("answer 1"), std::string::npos) << first.body;
    std::this_thread::sleep_for(std::chrono::milliseconds(400));  // the stray bytes arrive
    const auto second = client.post_json("/v1/chat/completions", chat_body("auto", "two"));
    EXPECT_EQ(second.status, 200);
    EXPECT_EQ(second.body.find("stray"), std::string::npos) << second.body;
    EXPECT_NE(second.body.find("answer 2"), std::string::npos) << second.body;
  }
  stopping = true;
  boost::asio::ip::tcp::socket wake(io);
  boost::system::error_code ec;
  wake.connect(acceptor.local_endpoint(), ec);
  upstream.join();
}

TEST(Streaming, ClientDisconnectCancelsTheUpstreamRequest) {
  MockLlm slow({"--tokens", "2000", "--token-delay-ms", "20"});
  Router router(router_config({{"slow", slow.url()}}, "[slow]"));
  {
    HttpClient client(router.port());
    int pieces = 0;
    client.stream("/v1/chat/completions", chat_body("auto", "x", R"(,"stream":true)"),
                  [&](const std::string&) { return ++pieces < 3; });
  }
  // The mock sees its connection from the router close well before the 40 s stream would end.
  EXPECT_EQ(open_connections_once_settled(slow), 1);  // only the stats connection itself
  // Counted as the client's doing (499), not as the backend failing (502).
  HttpClient metrics(router.port());
  std::string body;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (body.find("status=\"499\"") == std::string::npos &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    body = metrics.request("GET", "/metrics").body;
  }
  EXPECT_NE(
      body.find("llm_router_requests_total{route=\"auto\",backend=\"slow\",status=\"499\"} 1"),
      std::string::npos)
      << body.substr(0, 2000);
  EXPECT_EQ(body.find("status=\"502\""), std::string::npos);
  EXPECT_EQ(body.find("llm_router_fallbacks_total{"), std::string::npos);
}

// Sends a whole chat request for route "auto" on a raw connection of `socket` to the router.
void send_chat_request(asio::ip::tcp::socket& socket, int router_port) {
  socket.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(router_port)});
  const std::string body = chat_body("auto", "x");
  const std::string request =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  asio::write(socket, asio::buffer(request));
}

TEST(Requests, ClientDisconnectCancelsANonStreamingRequest) {
  MockLlm slow({"--ttft-ms", "20000"});
  Router router(router_config({{"slow", slow.url()}}, "[slow]"));
  {
    // The client gives up long before the backend would answer, and closes its connection.
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    send_chat_request(socket, router.port());
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  EXPECT_EQ(open_connections_once_settled(slow), 1);  // only the stats connection itself
  // The router keeps serving.
  HttpClient client(router.port());
  EXPECT_EQ(client.request("GET", "/healthz").status, 200);
}

TEST(Requests, AClientThatClosesItsSideGetsNoMadeUpAnswer) {
  // Half-closing after the request (`nc -N`) reads as leaving, as in nginx (499): the upstream
  // request is cancelled and nothing is written, rather than a 500 "internal error".
  MockLlm slow({"--ttft-ms", "20000"});
  Router router(router_config({{"slow", slow.url()}}, "[slow]"));
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  send_chat_request(socket, router.port());
  socket.shutdown(asio::ip::tcp::socket::shutdown_send);
  std::string answer;
  boost::system::error_code ec;
  asio::read(socket, asio::dynamic_buffer(answer), ec);  // until the router closes
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_EQ(answer, "");
  EXPECT_EQ(open_connections_once_settled(slow), 1);  // the upstream request was cancelled
}

}  // namespace
// A redirect says the backend's base_url is not where it answers: not followed (the request's
// key would go wherever it points), not retried, and the client learns where it pointed.
TEST(Fallback, ARedirectIsAMisconfiguredBaseUrlNotAServerError) {
  std::atomic<int> asked{0};
  CannedBackend moved([&](const std::string&) {
    ++asked;
    return http_response(308, "text/html", "<a href=\"https://api.example.com/\">moved</a>",
                         "location: https://api.example.com/v1/chat/completions\r\n");
  });
  {
    Router router(router_config({{"moved", moved.url()}, {"good", ""}}, "[moved]", "[good]"));
    const auto response =
        HttpClient(router.port()).post_json("/v1/chat/completions", chat_body("auto"));
    EXPECT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(response.header("x-llm-router-attempts"),
              "moved=upstream_bad_response(308), good=ok");
  }
  asked = 0;
  Router router(router_config({{"moved", moved.url()}}, "[moved]"));
  const auto response =
      HttpClient(router.port()).post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(response.status, 502) << response.body;
  EXPECT_NE(response.body.find("redirected to 'https://api.example.com/v1/chat/completions'"),
            std::string::npos)
      << response.body;
  EXPECT_EQ(response.header("x-should-retry"), "false");
  EXPECT_EQ(asked.load(), 1);
}

// OpenAI's SDKs do not ask again a backend that answered x-should-retry: false; nor does the
// router, whatever the status (a 503 for an exhausted quota).
TEST(Fallback, ABackendThatSaysDoNotRetryIsNotAskedAgain) {
  std::atomic<int> asked{0};
  CannedBackend backend([&](const std::string&) {
    ++asked;
    return http_response(503, "application/json",
                         R"({"error":{"message":"quota","type":"insufficient_quota"}})",
                         "x-should-retry: false\r\n");
  });
  Router router(router_config({{"only", backend.url()}}, "[only]"));
  const auto response =
      HttpClient(router.port()).post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(response.status, 503) << response.body;
  EXPECT_EQ(response.header("x-llm-router-attempts"), "only=upstream_server_error(503)");
  EXPECT_EQ(asked.load(), 1);
}

// The backend's own x-should-retry reaches the client with the failure it describes, so the
// SDK skips (or makes) its automatic retries as the backend asked.
TEST(Fallback, TheLastBackendsShouldRetryVerdictReachesTheClient) {
  for (const std::string verdict : {"false", "true"}) {
    CannedBackend backend([&](const std::string&) {
      return http_response(500, "application/json",
                           R"({"error":{"message":"boom","type":"server_error"}})",
                           "x-should-retry: " + verdict + "\r\n");
    });
    Router router(router_config({{"only", backend.url()}}, "[only]", "[]"));
    const auto response =
        HttpClient(router.port()).post_json("/v1/chat/completions", chat_body("auto"));
    EXPECT_GE(response.status, 500) << response.body;
    EXPECT_EQ(response.header("x-should-retry"), verdict);
  }
}

}  // namespace test_support
