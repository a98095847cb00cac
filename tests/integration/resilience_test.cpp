// Retries, circuit breaking, cascade and hot reload against real processes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include "integration/router_config.hpp"
#include "proxy/router_handler.hpp"
#include "support/canned_backend.hpp"
#include "support/fixtures.hpp"

namespace test_support {
namespace {

using nlohmann::json;

int count_of(const std::string& text, const std::string& needle) {
  int count = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++count;
  }
  return count;
}

TEST(Retry, RetryableFailuresAreRetriedOnTheSameBackendThenFallBack) {
  MockLlm unavailable({"--status", "503"});
  MockLlm backup;
  Router router(
      router_config({{"unavailable", unavailable.url(), "retry: {attempts: 2, backoff: 10ms}"},
                     {"backup", backup.url()}},
                    "[unavailable, backup]"));
  HttpClient client(router.port());
  auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.header("x-llm-router-backend"), "backup");
  EXPECT_EQ(unavailable.requests(), 3);  // first try + 2 retries
  EXPECT_EQ(count_of(response.header("x-llm-router-attempts"), "unavailable="), 3);
}

// A retry is counted under the failure that caused it, also when it then succeeds; which
// statuses are retried is the backend's retry.on_status (a 500 too, when listed).
TEST(Retry, ARetryThatSucceedsIsCounted) {
  std::atomic<int> calls{0};
  CannedBackend flaky([&](const std::string&) {
    if (calls++ % 2 == 0) {
      return http_response(500, "application/json", R"({"error":{"message":"busy"}})");
    }
    return http_response(200, "application/json",
                         R"({"id":"c","object":"chat.completion","created":1,"model":"m",)"
                         R"("choices":[{"index":0,"message":{"role":"assistant","content":"hi"},)"
                         R"("finish_reason":"stop"}]})");
  });
  Router router(router_config(
      {{"flaky", flaky.url(), "retry: {attempts: 2, backoff: 1ms, on_status: [500, 503]}"}},
      "[flaky]"));
  HttpClient client(router.port());
  const auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("x-llm-router-attempts"), "flaky=upstream_server_error(500), flaky=ok");
  const auto metrics = client.request("GET", "/metrics").body;
  EXPECT_NE(
      metrics.find(R"(llm_router_retries_total{backend="flaky",reason="upstream_server_error"} 1)"),
      std::string::npos)
      << metrics;
}

TEST(Retry, RetryAfterLongerThanTheCapMovesOnAtOnce) {
  MockLlm limited({"--status", "429", "--retry-after-ms", "60000"});
  MockLlm backup;
  Router router(
      router_config({{"limited", limited.url(), "retry: {attempts: 3, max_retry_after: 1s}"},
                     {"backup", backup.url()}},
                    "[limited, backup]"));
  HttpClient client(router.port());
  auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(limited.requests(), 1);
}

// The backend's own error code, type and blamed field reach the client (SDK users test
// err.code and err.type).
TEST(Retry, TheLastBackendsErrorCodeAndParamAreKept) {
  CannedBackend limited([](const std::string&) {
    return http_response(
        429, "application/json",
        R"({"error":{"message":"Rate limit reached","type":"requests","param":null,)"
        R"("code":"rate_limit_exceeded"}})");
  });
  CannedBackend too_long([](const std::string&) {
    return http_response(
        400, "application/json",
        R"({"error":{"message":"This model's maximum context length is 8192 tokens",)"
        R"("type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}})");
  });
  for (const auto& [backend, status, code, param, type] :
       {std::tuple{&limited, 429, "rate_limit_exceeded", json(nullptr), "requests"},
        std::tuple{&too_long, 400, "context_length_exceeded", json("messages"),
                   "invalid_request_error"}}) {
    Router router(router_config({{"only", backend->url(), "retry: {attempts: 0}"}}, "[only]"));
    HttpClient client(router.port());
    const auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
    EXPECT_EQ(response.status, status) << response.body;
    const json error = json::parse(response.body)["error"];
    EXPECT_EQ(error["code"], code) << response.body;
    EXPECT_EQ(error["param"], param) << response.body;
    EXPECT_EQ(error["type"], type) << response.body;
  }
}

TEST(Retry, RetryAfterAsAnHttpDateAndOnA503IsHonouredToo) {
  // A minute from now, as "Sun, 06 Nov 1994 08:49:37 GMT": over the 1 s cap, so no retry.
  const std::time_t later = std::time(nullptr) + 60;
  std::tm date{};
  gmtime_r(&later, &date);
  char text[64];
  std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &date);
  // Counts too large for any clock are a long wait too, not none.
  for (const std::string& retry_after :
       {std::string(text), std::string("60"), std::string("9223372036854775807"),
        std::string("99999999999999999999999")}) {
    for (const int status : {429, 503}) {
      std::atomic<int> requests{0};
      CannedBackend limited([&](const std::string&) {
        ++requests;
        return http_response(status, "application/json", R"({"error":{"message":"later"}})",
                             "retry-after: " + retry_after + "\r\n");
      });
      MockLlm backup;
      Router router(
          router_config({{"limited", limited.url(), "retry: {attempts: 3, max_retry_after: 1s}"},
                         {"backup", backup.url()}},
                        "[limited, backup]"));
      HttpClient client(router.port());
      auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
      ASSERT_EQ(response.status, 200);
      EXPECT_EQ(response.header("x-llm-router-backend"), "backup");
      EXPECT_EQ(requests.load(), 1) << status << " " << retry_after;
    }
  }
}

// Every backend rate limited: the client waits the longest any of them asked for, even when the
// last one named no wait (an SDK would retry at once).
TEST(RetryAfter, TheLongestWaitAnyBackendAskedForReachesTheClient) {
  CannedBackend patient([](const std::string&) {
    return http_response(429, "application/json", R"({"error":{"message":"slow down"}})",
                         "retry-after: 2\r\n");
  });
  CannedBackend terse([](const std::string&) {
    return http_response(429, "application/json", R"({"error":{"message":"slow down"}})");
  });
  Router router(router_config({{"patient", patient.url(), "retry: {attempts: 0}"},
                               {"terse", terse.url(), "retry: {attempts: 0}"}},
                              "[patient, terse]", "[]", "  threads: 1\n") +
                "    strategy: ordered\n");
  HttpClient client(router.port());
  const auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(response.status, 429) << response.body;
  EXPECT_EQ(response.header("retry-after"), "2");
  EXPECT_EQ(response.header("retry-after-ms"), "2000");
}

TEST(CircuitBreaker, EjectsAFailingBackendAndReadmitsItAfterRecovery) {
  MockLlm flaky({"--status", "500"});
  MockLlm backup;
  Router router(
      router_config({{"flaky", flaky.url(),
                      "circuit_breaker: {failure_threshold: 3, window: 10s, cooldown: 300ms}"},
                     {"backup", backup.url()}},
                    "[flaky, backup]"));
  HttpClient client(router.port());
  for (int i = 0; i < 10; ++i) {
    auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
    ASSERT_EQ(response.status, 200);
  }
  EXPECT_EQ(flaky.requests(), 3);  // ejected after the third failure
  auto ready = json::parse(client.request("GET", "/readyz").body);
  EXPECT_EQ(ready["backends"]["flaky"]["circuit"], "open");
  // The 7 requests that skipped it sent it nothing: 3 attempts, not 10.
  const std::string metrics = client.request("GET", "/metrics").body;
  EXPECT_NE(metrics.find("llm_router_upstream_attempts_total{backend=\"flaky\",outcome="
                         "\"upstream_server_error\"} 3\n"),
            std::string::npos)
      << metrics;
  EXPECT_EQ(metrics.find("outcome=\"circuit_open\""), std::string::npos) << metrics;

  // The backend recovers: after the cooldown a trial request reaches it and closes the circuit.
  flaky.kill();
  MockLlm recovered({}, flaky.port());
  EXPECT_TRUE(eventually([&] {
    auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
    return response.status == 200 && response.header("x-llm-router-backend") == "flaky";
  }));
  auto after = json::parse(client.request("GET", "/readyz").body);
  EXPECT_EQ(after["backends"]["flaky"]["circuit"], "closed");
}

// The trial after a recovery is a long stream: its first content closes the circuit, so the
// requests that come while it streams reach the backend instead of its fallback.
TEST(CircuitBreaker, AStreamingTrialClosesTheCircuitWithItsFirstContent) {
  MockLlm flaky({"--status", "500"});
  MockLlm backup;
  Router router(router_config(
      {{"flaky", flaky.url(), "circuit_breaker: {failure_threshold: 1, cooldown: 200ms}"},
       {"backup", backup.url()}},
      "[flaky, backup]"));
  HttpClient client(router.port());
  ASSERT_EQ(client.post_json("/v1/chat/completions", chat_body("auto")).status, 200);
  flaky.kill();
  MockLlm recovered({"--token-delay-ms", "60", "--tokens", "50"}, flaky.port());
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // past the cooldown
  std::atomic<bool> stream_ended{false};
  std::string trial_backend;
  std::thread trial([&] {
    HttpClient streaming(router.port());
    const auto response = streaming.post_json("/v1/chat/completions",
                                              chat_body("auto", "tell me", R"(,"stream":true)"));
    trial_backend = response.header("x-llm-router-backend");
    stream_ended = true;
  });
  const auto circuit = [&] {
    return json::parse(client.request("GET", "/readyz").body)["backends"]["flaky"]["circuit"];
  };
  EXPECT_TRUE(eventually([&] { return circuit() == "closed" || stream_ended; }));
  const bool closed_while_streaming = !stream_ended && circuit() == "closed";
  const auto during = client.post_json("/v1/chat/completions", chat_body("auto"));
  trial.join();
  EXPECT_EQ(trial_backend, "flaky");
  EXPECT_TRUE(closed_while_streaming);
  EXPECT_EQ(during.header("x-llm-router-backend"), "flaky")
      << during.header("x-llm-router-attempts");
}

// A backend whose first answer is a 500, its second a 400 with `refusal`, then 200s.
std::function<std::string(const std::string&)> fails_then_answers_400_then_recovers(
    std::atomic<int>& calls, std::string refusal) {
  return [&calls, refusal = std::move(refusal)](const std::string&) {
    const int call = calls++;
    if (call == 0) return http_response(500, "application/json", R"({"error":{"message":"x"}})");
    if (call == 1) return http_response(400, "application/json", refusal);
    return http_response(200, "application/json",
                         R"({"id":"c","object":"chat.completion","created":1,"model":"m",)"
                         R"("choices":[{"index":0,"message":{"role":"assistant","content":"hi"},)"
                         R"("finish_reason":"stop"}]})");
  };
}

// `recovering` ejected by its first failure for 100 ms, in front of a mock `backup`.
std::string ejecting_at_once(const CannedBackend& recovering) {
  return router_config(
      {{"recovering", recovering.url(),
        "circuit_breaker: {failure_threshold: 1, cooldown: 100ms, max_cooldown: 10m}"},
       {"backup", ""}},
      "[recovering]", "[backup]");
}

// A half-open trial that ends without a verdict on the backend (here the prompt did not fit;
// as well the client leaving or a hedge winning) lets the next request try: it must not leave
// the backend ejected for good.
TEST(CircuitBreaker, ATrialWithoutAVerdictLetsTheNextRequestTry) {
  std::atomic<int> calls{0};
  CannedBackend recovering(fails_then_answers_400_then_recovers(
      calls, R"({"error":{"message":"This model's maximum context length is 10",)"
             R"("code":"context_length_exceeded"}})"));
  Router router(ejecting_at_once(recovering));
  HttpClient client(router.port());
  const auto ask = [&] { return client.post_json("/v1/chat/completions", chat_body("auto")); };
  EXPECT_EQ(ask().header("x-llm-router-backend"), "backup");    // 500: ejected
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // past the cooldown
  const auto trial = ask();
  EXPECT_EQ(trial.header("x-llm-router-attempts"),
            "recovering=context_window_exceeded(400), backup=ok");
  const auto next = ask();
  EXPECT_EQ(next.header("x-llm-router-backend"), "recovering")
      << next.header("x-llm-router-attempts");
  EXPECT_EQ(calls.load(), 3);
}

// A backend refusing the request itself (a relayed 400) during its half-open trial says
// nothing of its health: the circuit does not close on it; the next request's trial decides.
TEST(CircuitBreaker, AClientErrorDuringTheTrialDoesNotCloseTheCircuit) {
  std::atomic<int> calls{0};
  CannedBackend recovering(fails_then_answers_400_then_recovers(
      calls, R"({"error":{"message":"Invalid value for 'temperature'",)"
             R"("type":"invalid_request_error","param":"temperature"}})"));
  Router router(ejecting_at_once(recovering));
  HttpClient client(router.port());
  const auto ask = [&] { return client.post_json("/v1/chat/completions", chat_body("auto")); };
  const auto circuit = [&] {
    return json::parse(client.request("GET", "/readyz").body)["backends"]["recovering"]["circuit"];
  };
  EXPECT_EQ(ask().header("x-llm-router-backend"), "backup");  // 500: ejected
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(ask().status, 400);  // the trial: relayed, the request's fault
  EXPECT_NE(circuit(), "closed");
  EXPECT_EQ(ask().header("x-llm-router-backend"), "recovering");  // the next trial succeeds
  EXPECT_EQ(circuit(), "closed");
}

TEST(CircuitBreaker, AFailureThatOpensTheCircuitIsNotRetried) {
  MockLlm unavailable({"--status", "503"});
  MockLlm backup;
  Router router(router_config(
      {{"unavailable", unavailable.url(),
        "circuit_breaker: {failure_threshold: 1, cooldown: 1m}\n    retry: {attempts: 2, "
        "backoff: 10ms}"},
       {"backup", backup.url()}},
      "[unavailable, backup]"));
  HttpClient client(router.port());
  const auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("x-llm-router-attempts"),
            "unavailable=upstream_server_error(503), backup=ok");
  EXPECT_EQ(unavailable.requests(), 1);
}

// A backend that never answered (a timeout) says nothing about availability: when the others
// all said 503, the client hears 503 with their Retry-After, not 502.
TEST(Fallback, ATimeoutAndThen503sIsA503) {
  MockLlm silent({"--hang"});
  MockLlm unavailable({"--status", "503", "--retry-after-ms", "1000"});
  Router router(router_config({{"silent", silent.url(), "timeouts: {first_byte: 300ms}"},
                               {"unavailable", unavailable.url()}},
                              "[silent]", "[unavailable]"));
  HttpClient client(router.port());
  const auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(response.status, 503) << response.body;
  EXPECT_TRUE(response.header("x-llm-router-attempts")
                  .starts_with("silent=first_byte_timeout, unavailable=upstream_server_error(503)"))
      << response.header("x-llm-router-attempts");
  EXPECT_FALSE(response.header("retry-after").empty());
}

TEST(CircuitBreaker, PanicModeStillTriesWhenEveryCandidateIsEjected) {
  MockLlm down({"--status", "500"});
  Router router(router_config(
      {{"down", down.url(), "circuit_breaker: {failure_threshold: 1, cooldown: 1m}"}}, "[down]"));
  HttpClient client(router.port());
  EXPECT_EQ(client.post_json("/v1/chat/completions", chat_body("auto")).status, 502);
  auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(response.status, 502);  // still attempted, not refused
  EXPECT_EQ(down.requests(), 2);
  // Tried once in panic mode, whatever its retries: they would multiply an outage's load.
  MockLlm unavailable({"--status", "503"});
  Router retrying(router_config({{"unavailable", unavailable.url(),
                                  "circuit_breaker: {failure_threshold: 1, cooldown: 1m}\n"
                                  "    retry: {attempts: 2}"}},
                                "[unavailable]"));
  HttpClient retrying_client(retrying.port());
  EXPECT_EQ(retrying_client.post_json("/v1/chat/completions", chat_body("auto")).status, 503);
  const int first = unavailable.requests();  // opened by its first failure: not retried
  EXPECT_EQ(retrying_client.post_json("/v1/chat/completions", chat_body("auto")).status, 503);
  EXPECT_EQ(unavailable.requests(), first + 1);
}

// Ejected and full at once: the requests queue for the panic slot as they would for a closed
// circuit, and each is tried (none refused at once as circuit_open).
TEST(CircuitBreaker, PanicModeQueuesForAFullBackend) {
  MockLlm hanging({"--hang"});
  Router router(router_config({{"hanging", hanging.url(),
                                "max_concurrency: 1\n    timeouts: {first_byte: 300ms}\n"
                                "    circuit_breaker: {failure_threshold: 1, cooldown: 1m}"}},
                              "[hanging]"));
  HttpClient opener(router.port());
  ASSERT_EQ(opener.post_json("/v1/chat/completions", chat_body("auto")).status, 504);
  std::vector<std::future<int>> answers;
  for (int i = 0; i < 3; ++i) {
    answers.push_back(std::async(std::launch::async, [&] {
      return HttpClient(router.port()).post_json("/v1/chat/completions", chat_body("auto")).status;
    }));
  }
  for (auto& answer : answers) EXPECT_EQ(answer.get(), 504);  // tried: first_byte_timeout
  EXPECT_EQ(hanging.requests(), 4);
}

// A legacy completion without max_tokens is capped at 16 tokens by the API itself: its
// "length" ending is the expected one, not a weak answer worth a second generation.
TEST(Cascade, ALegacyCompletionCutAtTheApisDefaultCapIsNotWeak) {
  CannedBackend capped([](const std::string&) {
    return http_response(200, "application/json",
                         R"({"id":"c","object":"text_completion","created":1,"model":"m",)"
                         R"("choices":[{"index":0,"text":" sixteen tokens of a story",)"
                         R"("finish_reason":"length"}]})");
  });
  MockLlm strong;
  std::string config =
      router_config({{"capped", capped.url()}, {"strong", strong.url()}}, "[capped, strong]");
  config += "    strategy: ordered\n    cascade: {enabled: true}\n";
  Router router(config);
  HttpClient client(router.port());
  const auto response =
      client.post_json("/v1/completions", R"({"model":"auto","prompt":"Once upon a time"})");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("x-llm-router-attempts"), "capped=ok");
}

TEST(Cascade, AWeakAnswerEscalatesToTheNextCandidate) {
  MockLlm cheap({"--content", "I'm sorry, but I can't help with that."});
  MockLlm strong;
  std::string config =
      router_config({{"cheap", cheap.url()}, {"strong", strong.url()}}, "[cheap, strong]");
  config += "    strategy: ordered\n    cascade: {enabled: true}\n";
  Router router(config);
  HttpClient client(router.port());
  auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("x-llm-router-backend"), "strong");
  EXPECT_NE(response.header("x-llm-router-attempts").find("cheap=low_confidence"),
            std::string::npos);
  EXPECT_EQ(json::parse(response.body)["model"], "upstream-strong");
  // The weak answer was generated (and billed): its tokens count for its backend too.
  const auto metrics = client.request("GET", "/metrics").body;
  const auto tokens_of = [&](const std::string& backend) {
    const std::string key =
        R"(llm_router_output_tokens_total{route="auto",backend=")" + backend + R"("} )";
    const auto at = metrics.find(key);
    return at == std::string::npos ? -1.0 : std::stod(metrics.substr(at + key.size()));
  };
  EXPECT_GT(tokens_of("cheap"), 0) << metrics;
  EXPECT_GT(tokens_of("strong"), 0) << metrics;
}

// Refusals in their usual phrasings escalate; an answer that only sounds like one stays.
TEST(Cascade, RefusalsAreReadInTheirUsualPhrasings) {
  MockLlm strong;
  const std::vector<std::pair<std::string, bool>> answers = {
      {"I apologize, but I cannot fulfill this request.", true},
      {"Unfortunately I am not able to help with this.", true},
      {"I’m sorry, but I can’t assist with that.", true},
      {"Lo siento, pero no puedo ayudar con eso.", true},
      {"Je ne peux pas répondre à cette demande.", true},
      {"I can help with that: the answer is 42.", false},
      {"I can't believe how simple this is: 2 + 2 = 4.", false},
      {"If your WiFi cannot connect, help is in the manual: restart the router.", false},
      {"I can't wait to help you with this: here is the plan.", false},
  };
  for (const auto& [content, refusal] : answers) {
    MockLlm cheap({"--content", content});
    std::string config =
        router_config({{"cheap", cheap.url()}, {"strong", strong.url()}}, "[cheap, strong]");
    config += "    strategy: ordered\n    cascade: {enabled: true}\n";
    Router router(config);
    HttpClient client(router.port());
    const auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
    EXPECT_EQ(response.header("x-llm-router-backend"), refusal ? "strong" : "cheap") << content;
  }
}

// An answer without text is not empty when it carries what was asked for: tool calls, a
// legacy function call, spoken audio.
TEST(Cascade, AnswersWithoutTextButWithCallsOrAudioAreNotWeak) {
  const llm_router::config::CascadeSettings cascade;  // on_empty by default
  const nlohmann::json request = {{"messages", nlohmann::json::array()}};
  for (const std::string message :
       {R"({"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function",)"
        R"("function":{"name":"f","arguments":"{}"}}]})",
        R"({"role":"assistant","content":null,"function_call":{"name":"f","arguments":"{}"}})",
        R"({"role":"assistant","content":null,"audio":{"id":"a","data":"UklGRg==",)"
        R"("transcript":"hi"}})"}) {
    const std::string body =
        R"({"choices":[{"index":0,"message":)" + message + R"(,"finish_reason":"stop"}]})";
    EXPECT_FALSE(llm_router::proxy::weak_answer_reason(body, cascade, request)) << message;
  }
  EXPECT_EQ(
      llm_router::proxy::weak_answer_reason(
          R"({"choices":[{"message":{"role":"assistant","content":" "}}]})", cascade, request),
      "empty answer");
}

// An unsure answer (mean token logprob under the route's floor) escalates; a sure one stays.
TEST(Cascade, ALowMeanLogprobEscalates) {
  MockLlm cheap;
  MockLlm strong;
  std::string config =
      router_config({{"cheap", cheap.url()}, {"strong", strong.url()}}, "[cheap, strong]");
  config += "    strategy: ordered\n    cascade: {enabled: true, min_mean_logprob: -1.0}\n";
  Router router(config);
  HttpClient client(router.port());
  const auto unsure = client.post_json(
      "/v1/chat/completions", chat_body("auto", "x", R"(,"logprobs":true,"mock":{"logprob":-3})"));
  EXPECT_EQ(unsure.header("x-llm-router-backend"), "strong") << unsure.body;
  const auto sure =
      client.post_json("/v1/chat/completions", chat_body("auto", "x", R"(,"logprobs":true)"));
  EXPECT_EQ(sure.header("x-llm-router-backend"), "cheap") << sure.body;
}

TEST(Cascade, TheWeakAnswerIsKeptWhenNothingBetterComes) {
  MockLlm cheap({"--content", "I'm sorry, but I can't help with that."});
  MockLlm broken({"--status", "500"});
  std::string config =
      router_config({{"cheap", cheap.url()}, {"broken", broken.url()}}, "[cheap, broken]");
  config += "    strategy: ordered\n    cascade: {enabled: true}\n";
  Router router(config);
  HttpClient client(router.port());
  auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(json::parse(response.body)["model"], "upstream-cheap");
  // The headers tell the whole story: the weak answer, then the escalation that failed.
  EXPECT_EQ(response.header("x-llm-router-backend"), "cheap");
  const std::string attempts = response.header("x-llm-router-attempts");
  EXPECT_NE(attempts.find("cheap=low_confidence"), std::string::npos) << attempts;
  EXPECT_NE(attempts.find("broken=upstream_server_error"), std::string::npos) << attempts;
}

TEST(Capabilities, ARequestNoCandidateIsTaggedForIsTheClientsToFix) {
  MockLlm chat_only;
  Router router(router_config({{"chat-only", chat_only.url(), "tags: [chat]"}}, "[chat-only]"));
  HttpClient client(router.port());
  const std::string tools =
      R"(,"tools":[{"type":"function","function":{"name":"f","parameters":{}}}])";
  auto response = client.post_json("/v1/chat/completions", chat_body("auto", "hi", tools));
  // Not a 503: nothing is down, and a retry (the SDKs retry 503s) cannot change the answer.
  EXPECT_EQ(response.status, 400) << response.body;
  const json error = json::parse(response.body)["error"];
  EXPECT_EQ(error["code"], "unsupported_by_backends");
  EXPECT_EQ(error["param"], "tools");
  EXPECT_NE(error["message"].get<std::string>().find("'tools'"), std::string::npos);
  EXPECT_EQ(chat_only.requests(), 0);
}

TEST(ContextWindow, OversizedPromptsGoToTheContextWindowFallback) {
  MockLlm small;
  MockLlm large;
  std::string config = router_config({{"small", small.url(), "context_window: 100"},
                                      {"large", large.url(), "context_window: 100000"}},
                                     "[small]");
  config += "    context_window_fallback: [large]\n";
  Router router(config);
  HttpClient client(router.port());
  auto response =
      client.post_json("/v1/chat/completions", chat_body("auto", std::string(4000, 'x')));
  // The small backend cannot hold the prompt: it is never sent there.
  EXPECT_EQ(small.requests(), 0);
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("x-llm-router-backend"), "large");

  // A plain fallback does not take its place: it comes after the context-window fallback.
  MockLlm backup;
  std::string with_backup = router_config({{"small", small.url(), "context_window: 100"},
                                           {"large", large.url(), "context_window: 100000"},
                                           {"backup", backup.url()}},
                                          "[small]", "[backup]");
  with_backup += "    context_window_fallback: [large]\n";
  Router backed_up(with_backup);
  HttpClient backed_up_client(backed_up.port());
  const auto long_prompt = chat_body("auto", std::string(4000, 'x'));
  const auto routed = backed_up_client.post_json("/v1/chat/completions", long_prompt);
  EXPECT_EQ(routed.header("x-llm-router-backend"), "large") << routed.body;
  const json dry_run = json::parse(backed_up_client.post_json("/v1/route", long_prompt).body);
  EXPECT_EQ(dry_run["attempt_order"], json::parse(R"(["large","backup"])")) << dry_run.dump();
  EXPECT_EQ(backup.requests(), 0);

  // Too long for the fallback too: a 400 the client can act on, and no backend called.
  auto too_long =
      client.post_json("/v1/chat/completions", chat_body("auto", std::string(800'000, 'x')));
  EXPECT_EQ(too_long.status, 400) << too_long.body;
  EXPECT_EQ(json::parse(too_long.body)["error"]["code"], "context_length_exceeded");
  EXPECT_EQ(large.requests(), 2);
}

// Only when no backend of the pool can hold the prompt: one that can but is busy is waited for,
// as it would be without the list. A backend listed as fallback and context-window fallback
// is tried once.
TEST(ContextWindow, ABusyBackendThatHoldsThePromptIsWaitedFor) {
  MockLlm big({"--ttft-ms", "1000"});
  MockLlm huge;
  std::string config = router_config({{"small", "", "context_window: 100"},
                                      {"big", big.url(),
                                       "context_window: 100000\n"
                                       "    max_concurrency: 1"},
                                      {"huge", huge.url(), "context_window: 1000000"}},
                                     "[small, big]");
  config += "    context_window_fallback: [huge]\n";
  Router router(config);
  const std::string long_prompt = chat_body("auto", std::string(4000, 'x'));
  auto first = std::async(std::launch::async, [&] {
    HttpClient client(router.port());
    return client.post_json("/v1/chat/completions", long_prompt);
  });
  ASSERT_TRUE(eventually([&] { return big.requests() == 1; }));
  HttpClient client(router.port());
  const auto second = client.post_json("/v1/chat/completions", long_prompt);
  EXPECT_EQ(second.header("x-llm-router-backend"), "big") << second.body;
  EXPECT_EQ(first.get().header("x-llm-router-backend"), "big");
  EXPECT_EQ(huge.requests(), 0);

  std::string too_small = router_config(
      {{"small", "", "context_window: 100"}, {"huge", huge.url(), "context_window: 1000000"}},
      "[small]", "[huge]");
  too_small += "    context_window_fallback: [huge]\n";
  Router once(too_small);
  HttpClient once_client(once.port());
  const json dry_run = json::parse(once_client.post_json("/v1/route", long_prompt).body);
  EXPECT_EQ(dry_run["attempt_order"], json::parse(R"(["huge"])")) << dry_run.dump();
}

// The context-window fallback is for prompts too long for the candidates: not for a request
// they cannot serve for what it asks (JSON mode here), not for a rule's pool (a PII rule keeps
// its requests where it says), and the room the client asked for its answer counts.
TEST(ContextWindow, TheFallbackServesOnlyPromptsTooLongForTheDefaultPool) {
  MockLlm small;
  MockLlm large;
  std::string config =
      router_config({{"small", small.url(), "context_window: 1000\n    tags: [chat]"},
                     {"large", large.url(), "context_window: 100000"}},
                    "[small]");
  config += "    context_window_fallback: [large]\n";
  config += "    rules:\n      - {name: pii, when: {pii: true}, use: [small]}\n";
  Router router(config);
  HttpClient client(router.port());
  const auto json_mode =
      client.post_json("/v1/chat/completions",
                       chat_body("auto", "hi", R"(,"response_format":{"type":"json_object"})"));
  EXPECT_EQ(json_mode.status, 400) << json_mode.body;
  EXPECT_EQ(json::parse(json_mode.body)["error"]["code"], "unsupported_by_backends");

  const auto private_and_long = client.post_json(
      "/v1/chat/completions", chat_body("auto", "mail bob@acme.com " + std::string(8000, 'x')));
  EXPECT_EQ(private_and_long.status, 400) << private_and_long.body;
  EXPECT_EQ(json::parse(private_and_long.body)["error"]["code"], "context_length_exceeded");
  EXPECT_EQ(large.requests(), 0);

  // 10 words fit in 1,000 tokens, but not with 2,000 more for the answer.
  const auto room = client.post_json("/v1/chat/completions",
                                     chat_body("auto", "say hello", R"(,"max_tokens":2000)"));
  EXPECT_EQ(room.status, 200) << room.body;
  EXPECT_EQ(room.header("x-llm-router-backend"), "large");
  EXPECT_EQ(small.requests(), 0);
}

// A request costs what its backend's prices were when it started: a reload that reprices or
// removes the backend while it runs changes nothing in its cost.
TEST(Reload, ARequestInFlightIsCostedAtThePricesItStartedWith) {
  MockLlm slow({"--ttft-ms", "800"});
  const auto config_with = [&](const std::string& backends) {
    return router_config({{"slow", slow.url(), backends}}, "[slow]", "[]",
                         "  watch_config: false\n");
  };
  Router router(config_with("cost: {input_per_mtok: 100000, output_per_mtok: 100000}"));
  const auto seen = slow.requests();
  auto pending = std::async(std::launch::async, [&] {
    HttpClient client(router.port());
    return client.post_json("/v1/chat/completions", chat_body("auto"));
  });
  ASSERT_TRUE(eventually([&] { return slow.requests() > seen; }));
  std::ofstream(router.config_path())
      << config_with("cost: {input_per_mtok: 500000, output_per_mtok: 500000}");
  HttpClient client(router.port());
  const auto reloaded = client.request("POST", "/admin/reload");
  ASSERT_EQ(reloaded.status, 200) << reloaded.body;
  const auto response = pending.get();
  ASSERT_EQ(response.status, 200) << response.body;
  const int tokens = json::parse(response.body)["usage"]["total_tokens"];
  // The request is counted just after its answer is written, and on another connection.
  const std::string key = R"(llm_router_cost_usd_total{route="auto",backend="slow"} )";
  std::string metrics;
  ASSERT_TRUE(eventually([&] {
    metrics = client.request("GET", "/metrics").body;
    return metrics.find(key) != std::string::npos;
  })) << metrics;
  const auto at = metrics.find(key);
  EXPECT_NEAR(std::stod(metrics.substr(at + key.size())), tokens * 0.1, 1e-9);  // $0.1 a token
}

TEST(Reload, AdminReloadAppliesANewConfigAndRejectsABadOne) {
  MockLlm first;
  MockLlm second;
  const std::string before =
      router_config({{"first", first.url()}}, "[first]", "[]", "  watch_config: false\n");
  Router router(before);
  HttpClient client(router.port());
  ASSERT_EQ(client.post_json("/v1/chat/completions", chat_body("auto")).status, 200);
  const auto last_reload = [&] {
    return json::parse(client.request("GET", "/readyz").body)["last_reload"];
  };
  EXPECT_EQ(last_reload(), "none");

  std::ofstream(router.config_path())
      << router_config({{"first", first.url()}, {"second", second.url()}}, "[second]", "[]",
                       "  watch_config: false\n");
  auto reloaded = client.request("POST", "/admin/reload");
  ASSERT_EQ(reloaded.status, 200) << reloaded.body;
  auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(response.header("x-llm-router-backend"), "second");
  EXPECT_EQ(last_reload(), "ok");

  std::ofstream(router.config_path()) << "backends: [oops";
  auto rejected = client.request("POST", "/admin/reload");
  EXPECT_EQ(rejected.status, 400);
  EXPECT_EQ(client.post_json("/v1/chat/completions", chat_body("auto")).status, 200);
  EXPECT_EQ(last_reload(), "failed");  // the old config serves: an operator can tell
}

// The per-backend gauges follow the configured backends: a removed one's series goes away
// rather than showing its last value forever.
TEST(Reload, ARemovedBackendsGaugesGoAway) {
  MockLlm first;
  MockLlm second;
  Router router(router_config({{"first", first.url()}, {"second", second.url()}}, "[first]", "[]",
                              "  watch_config: false\n  threads: 1\n"));
  HttpClient client(router.port());
  const std::string first_in_flight = R"(llm_router_upstream_in_flight{backend="first"})";
  EXPECT_NE(client.request("GET", "/metrics").body.find(first_in_flight), std::string::npos);
  std::ofstream(router.config_path()) << router_config({{"second", second.url()}}, "[second]", "[]",
                                                       "  watch_config: false\n  threads: 1\n");
  ASSERT_EQ(client.request("POST", "/admin/reload").status, 200);
  const std::string text = client.request("GET", "/metrics").body;
  EXPECT_EQ(text.find(first_in_flight), std::string::npos) << text;
  EXPECT_EQ(text.find(R"(llm_router_backend_breaker_state{backend="first"})"), std::string::npos);
  EXPECT_NE(text.find(R"(llm_router_upstream_in_flight{backend="second"} 0)"), std::string::npos);
}

// A reload applies the server keys read per request (admin_key, cors_origins) and says which
// ones wait for a restart; the generation counts configs from 1.
TEST(Reload, ServerKeysApplyOrAreReportedAsNeedingARestart) {
  MockLlm backend;
  const auto config = [&](const std::string& key, const std::string& body_limit,
                          const std::string& more = "") {
    return router_config({{"b", backend.url()}}, "[b]", "[]",
                         "  watch_config: false\n  admin_key: " + key +
                             "\n  max_body_bytes: " + body_limit + "\n" + more);
  };
  Router router(config("old-key", "100000"));
  HttpClient client(router.port());
  const std::map<std::string, std::string> old_key{{"authorization", "Bearer old-key"}};
  const std::map<std::string, std::string> new_key{{"authorization", "Bearer new-key"}};
  EXPECT_EQ(json::parse(client.request("GET", "/readyz").body)["config_generation"], 1);

  // The process listens where --listen said; a new address in the file needs a restart too.
  std::ofstream(router.config_path())
      << config("new-key", "2000", "  listen: \"127.0.0.1:1\"\n  threads: 3\n");
  const auto reloaded = client.request("POST", "/admin/reload", "", old_key);
  ASSERT_EQ(reloaded.status, 200) << reloaded.body;
  const json answer = json::parse(reloaded.body);
  EXPECT_EQ(answer["generation"], 2);
  EXPECT_EQ(answer["restart_required"],
            json::array({"server.listen", "server.threads", "server.max_body_bytes"}));
  EXPECT_EQ(client.request("GET", "/admin/stats", "", old_key).status, 401);
  EXPECT_EQ(client.request("GET", "/admin/stats", "", new_key).status, 200);
  EXPECT_EQ(json::parse(client.request("GET", "/readyz").body)["config_generation"], 2);
  // The body limit the server was started with still holds.
  EXPECT_EQ(
      client.post_json("/v1/chat/completions", chat_body("auto", std::string(5000, 'x'))).status,
      200);
}

// The file watcher reloads a changed file once, whoever read it first: after a POST
// /admin/reload of the new file it has nothing left to do.
TEST(Reload, TheFileWatcherDoesNotRepeatAnAdminReload) {
  MockLlm first;
  MockLlm second;
  Router router(router_config({{"first", first.url()}}, "[first]"));
  HttpClient client(router.port());
  std::ofstream(router.config_path())
      << router_config({{"second", second.url()}}, "[second]", "[]", "  # edited\n");
  const auto reloaded = client.request("POST", "/admin/reload");
  ASSERT_EQ(reloaded.status, 200) << reloaded.body;
  const auto generation = json::parse(reloaded.body)["generation"];
  // The watcher looks once a second; give it three looks.
  std::this_thread::sleep_for(std::chrono::milliseconds(3200));
  EXPECT_EQ(json::parse(client.request("GET", "/readyz").body)["config_generation"], generation);
  // A later edit is still picked up.
  std::ofstream(router.config_path())
      << router_config({{"first", first.url()}}, "[first]", "[]", "  # edited again\n");
  EXPECT_TRUE(eventually([&] {
    return client.post_json("/v1/chat/completions", chat_body("auto"))
               .header("x-llm-router-backend") == "first";
  }));
}

// A Kubernetes secret volume: `key` -> `..data/key`, `..data` -> a timestamped directory; an
// update writes a new directory and swaps `..data` to it in one rename.
class SecretVolume {
 public:
  explicit SecretVolume(const std::string& name)
      : dir_(std::filesystem::temp_directory_path() /
             ("llm-router-secret-" + std::to_string(::getpid()) + "-" + name)) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  ~SecretVolume() { std::filesystem::remove_all(dir_); }

  // Publishes `files` as the volume's new version, each with the modification time `stamp`.
  void publish(const std::map<std::string, std::string>& files,
               std::filesystem::file_time_type stamp) {
    const std::string version = "..v" + std::to_string(++versions_);
    std::filesystem::create_directory(dir_ / version);
    for (const auto& [name, text] : files) {
      std::ofstream(dir_ / version / name) << text;
      std::filesystem::last_write_time(dir_ / version / name, stamp);
      if (!std::filesystem::is_symlink(dir_ / name)) {
        std::filesystem::create_symlink(std::filesystem::path("..data") / name, dir_ / name);
      }
    }
    std::filesystem::create_symlink(version, dir_ / "..data_tmp");
    std::filesystem::rename(dir_ / "..data_tmp", dir_ / "..data");
    if (versions_ > 1) std::filesystem::remove_all(dir_ / ("..v" + std::to_string(versions_ - 1)));
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
  int versions_ = 0;
};

// The key the backend was last sent (heads are kept lowercased: the test's keys are).
class KeyEcho {
 public:
  std::string url() const { return backend_.url(); }
  std::string last() const {
    const auto heads = backend_.heads();
    if (heads.empty()) return "";
    const std::string& head = heads.back();
    const std::size_t at = head.find("authorization: bearer ");
    if (at == std::string::npos) return "";
    const std::size_t start = at + std::string_view("authorization: bearer ").size();
    return head.substr(start, head.find('\r', start) - start);
  }

 private:
  CannedBackend backend_{[](const std::string&) {
    return http_response(200, "application/json",
                         R"({"id":"c","object":"chat.completion","created":1,"model":"m",)"
                         R"("choices":[{"index":0,"message":{"role":"assistant",)"
                         R"("content":"hi"},"finish_reason":"stop"}]})");
  }};
};

// Kubernetes updates a mounted secret by swapping a symlink, and a ConfigMap may name a secret
// key before the secret's update arrives: the watcher reads the rotated key (same size, same
// modification time) and retries the reload that failed once the missing file appears.
TEST(Reload, TheFileWatcherFollowsTheSecretsTheConfigNames) {
  KeyEcho backend;
  SecretVolume secrets("watch");
  const auto stamp = std::filesystem::file_time_type::clock::now() - std::chrono::hours(1);
  secrets.publish({{"key", "sk-first-1111\n"}}, stamp);
  const auto config = [&](const std::string& key_file) {
    return "server: {threads: 1}\nlogging: {level: warn}\nbackends:\n  - name: echo\n"
           "    provider: openai\n    base_url: " +
           backend.url() + "\n    model: m\n    api_key_file: " + secrets.path(key_file) +
           "\nroutes:\n  - {name: auto, use: [echo]}\n";
  };
  Router router(config("key"));
  HttpClient client(router.port());
  const auto key_sent = [&] {
    client.post_json("/v1/chat/completions", chat_body("auto"));
    return backend.last();
  };
  ASSERT_EQ(key_sent(), "sk-first-1111");
  secrets.publish({{"key", "sk-other-2222\n"}}, stamp);
  EXPECT_TRUE(eventually([&] { return key_sent() == "sk-other-2222"; })) << backend.last();

  std::ofstream(router.config_path()) << config("new-key");  // not mounted yet: refused
  EXPECT_TRUE(eventually([&] {
    return json::parse(client.request("GET", "/readyz").body)["last_reload"] == "failed";
  }));
  EXPECT_EQ(key_sent(), "sk-other-2222");
  secrets.publish({{"key", "sk-other-2222\n"}, {"new-key", "sk-third-3333\n"}}, stamp);
  EXPECT_TRUE(eventually([&] { return key_sent() == "sk-third-3333"; })) << backend.last();
}

TEST(Reload, SighupReloadsTheConfigFile) {
  MockLlm first;
  MockLlm second;
  Router router(
      router_config({{"first", first.url()}}, "[first]", "[]", "  watch_config: false\n"));
  std::ofstream(router.config_path())
      << router_config({{"second", second.url()}}, "[second]", "[]", "  watch_config: false\n");
  router.process().signal(SIGHUP);
  HttpClient client(router.port());
  EXPECT_TRUE(eventually([&] {
    return client.post_json("/v1/chat/completions", chat_body("auto"))
               .header("x-llm-router-backend") == "second";
  }));
}

TEST(Rules, APiiRuleSeesTheWholeConversationNotOnlyTheLastMessage) {
  MockLlm public_api;
  MockLlm in_house;
  std::string config =
      router_config({{"public", public_api.url()}, {"private", in_house.url()}}, "[public]");
  config += "    rules:\n      - {name: pii, when: {pii: true}, use: [private]}\n";
  Router router(config);
  HttpClient client(router.port());
  const json conversation = {
      {"model", "auto"},
      {"messages",
       {{{"role", "system"}, {"content", "Customer record: SSN 123-45-6789, bob@acme.com"}},
        {{"role", "user"}, {"content", "summarize the customer record"}}}}};
  auto response = client.post_json("/v1/chat/completions", conversation.dump());
  EXPECT_EQ(response.header("x-llm-router-backend"), "private") << response.body;
  auto clean = client.post_json("/v1/chat/completions", chat_body("auto", "hello"));
  EXPECT_EQ(clean.header("x-llm-router-backend"), "public");
}

TEST(Rules, HeadersMetadataAndKeywordsPickThePool) {
  MockLlm general;
  MockLlm coder;
  MockLlm planner;
  std::string config = router_config(
      {{"general", general.url()}, {"coder", coder.url()}, {"planner", planner.url()}},
      "[general]");
  config +=
      "    rules:\n"
      "      - name: planner-role\n"
      "        when: {header: {x-agent-role: planner}}\n"
      "        use: [planner]\n"
      "      - name: tenant-meta\n"
      "        when: {metadata: {tenant: acme}}\n"
      "        use: [coder]\n"
      "      - name: code-words\n"
      "        when: {keywords: [python, segfault]}\n"
      "        use: [coder]\n";
  Router router(config);
  HttpClient client(router.port());
  auto by_header =
      client.post_json("/v1/chat/completions", chat_body("auto"), {{"x-agent-role", "planner"}});
  EXPECT_EQ(by_header.header("x-llm-router-backend"), "planner");
  EXPECT_EQ(by_header.header("x-llm-router-rule"), "planner-role");
  auto by_metadata = client.post_json("/v1/chat/completions",
                                      chat_body("auto", "hi", R"(,"metadata":{"tenant":"acme"})"));
  EXPECT_EQ(by_metadata.header("x-llm-router-rule"), "tenant-meta");
  auto otherwise = client.post_json("/v1/chat/completions", chat_body("auto", "hello"));
  EXPECT_EQ(otherwise.header("x-llm-router-backend"), "general");
  EXPECT_EQ(otherwise.header("x-llm-router-rule"), "default");
}

TEST(DryRun, RouteEndpointReturnsTheDecisionWithoutCallingABackend) {
  MockLlm backend;
  Router router(router_config({{"only", backend.url()}}, "[only]"));
  HttpClient client(router.port());
  auto response = client.post_json("/v1/route", chat_body("auto"));
  ASSERT_EQ(response.status, 200) << response.body;
  auto decision = json::parse(response.body);
  EXPECT_EQ(decision["route"], "auto");
  EXPECT_FALSE(decision["candidates"].empty());
  EXPECT_EQ(backend.requests(), 0);
  EXPECT_FALSE(decision.contains("error"));

  // An unknown model: OpenAI's error beside the decision.
  const auto unknown = client.post_json("/v1/route", chat_body("gpt-17"));
  EXPECT_EQ(unknown.status, 404);
  const auto error = json::parse(unknown.body)["error"];
  EXPECT_EQ(error["code"], "model_not_found");
  EXPECT_EQ(error["param"], "model");
  EXPECT_NE(error["message"].get<std::string>().find("gpt-17"), std::string::npos);

  // Bodies written for /v1/completions and /v1/embeddings are routed as those would be.
  for (const std::string body :
       {R"({"model":"auto","prompt":"Say hi"})", R"({"model":"auto","input":["a","b"]})"}) {
    const auto other = client.post_json("/v1/route", body);
    EXPECT_EQ(other.status, 200) << other.body;
    EXPECT_EQ(json::parse(other.body)["route"], "auto") << other.body;
  }
  EXPECT_EQ(backend.requests(), 0);
}

}  // namespace
}  // namespace test_support

namespace test_support {
namespace {

TEST(Rules, KeywordsAndTheAnalyzersCategoryPickThePool) {
  MockLlm general;
  MockLlm coder;
  std::string config =
      router_config({{"general", general.url()}, {"coder", coder.url()}}, "[general]");
  config +=
      "    rules:\n"
      "      - name: code-words\n"
      "        when: {keywords: [segfault, stack trace]}\n"
      "        use: [coder]\n"
      "      - name: math-category\n"
      "        when: {category: [math]}\n"
      "        use: [coder]\n"
      "analyzer:\n"
      "  category_model: " +
      std::string(LLM_ROUTER_SOURCE_DIR) +
      "/config/models/category.model\n"
      "  sentiment_lexicon: " +
      std::string(LLM_ROUTER_SOURCE_DIR) +
      "/config/models/vader_lexicon.txt\n"
      "  sentiment_model: \"\"\n";
  Router router(config);
  HttpClient client(router.port());
  auto by_keyword = client.post_json(
      "/v1/chat/completions", chat_body("auto", "My program dies with a Segfault at startup"));
  EXPECT_EQ(by_keyword.header("x-llm-router-rule"), "code-words");
  EXPECT_EQ(by_keyword.header("x-llm-router-backend"), "coder");
  auto by_category = client.post_json(
      "/v1/chat/completions",
      chat_body("auto",
                "Natalia sold clips to 48 of her friends in April, and then she sold half "
                "as many clips in May. How many clips did Natalia sell altogether?"));
  EXPECT_EQ(by_category.header("x-llm-router-category"), "math");
  EXPECT_EQ(by_category.header("x-llm-router-rule"), "math-category");
  // The complexity a threshold compares, to six decimals as `calibrate` prints thresholds.
  const std::string complexity = by_category.header("x-llm-router-complexity");
  ASSERT_EQ(complexity.size(), 8u) << complexity;
  EXPECT_GT(std::stod(complexity), 0.0);
  auto plain = client.post_json("/v1/chat/completions", chat_body("auto", "hello there"));
  EXPECT_EQ(plain.header("x-llm-router-backend"), "general");
  EXPECT_EQ(client.post_json("/v1/chat/completions", chat_body("general", "hi"))
                .header("x-llm-router-complexity"),
            "");  // no analysis, no score
  // A Responses API call is analyzed and routed as its chat request, in the dry run too.
  const std::string responses_call =
      R"({"model":"auto","instructions":"Be brief.","input":[{"role":"user","content":)"
      R"("Natalia sold clips to 48 of her friends in April, and then she sold half as many )"
      R"(clips in May. How many clips did Natalia sell altogether?"}]})";
  auto answered = client.post_json("/v1/responses", responses_call);
  EXPECT_EQ(answered.status, 200) << answered.body;
  EXPECT_EQ(answered.header("x-llm-router-rule"), "math-category");
  EXPECT_EQ(json::parse(answered.body)["object"], "response");
  auto decided = client.post_json("/v1/route", responses_call);
  EXPECT_EQ(json::parse(decided.body)["rule"], "math-category") << decided.body;
}

TEST(Bandit, LearningIsSavedToTheStateFileOnShutdown) {
  MockLlm a;
  MockLlm b;
  TempFile placeholder("bandit.json", "");
  const std::string state_path = placeholder.path() + ".state";
  std::string config = router_config({{"a", a.url()}, {"b", b.url()}}, "[a, b]", "[]",
                                     "  state_file: " + state_path + "\n");
  config += "    strategy: bandit\n";
  Router router(config);
  HttpClient client(router.port());
  std::string request_id;
  for (int i = 0; i < 10; ++i) {
    auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
    ASSERT_EQ(response.status, 200);
    EXPECT_EQ(response.header("x-llm-router-strategy"), "bandit");
    request_id = response.header("x-request-id");
  }
  auto feedback =
      client.post_json("/v1/feedback", R"({"request_id":")" + request_id + R"(","score":1.0})");
  EXPECT_EQ(feedback.status, 200) << feedback.body;
  // A request takes one feedback: a second one cannot weigh on the bandit again.
  auto again =
      client.post_json("/v1/feedback", R"({"request_id":")" + request_id + R"(","score":1.0})");
  EXPECT_EQ(again.status, 404) << again.body;
  router.process().signal(SIGTERM);
  ASSERT_EQ(router.process().wait(std::chrono::seconds(15)), 0);
  std::ifstream in(state_path);
  const auto state = json::parse(in, nullptr, false);
  ASSERT_FALSE(state.is_discarded());
  EXPECT_NE(state.dump().find("auto"), std::string::npos) << state.dump();
  std::remove(state_path.c_str());
}

// Feedback scores a request only from the client that sent it; request ids may be the
// client's own, and the latest request with an id is the one scored.
TEST(Bandit, FeedbackComesFromTheRequestsOwnClient) {
  MockLlm a;
  MockLlm b;
  std::string config = router_config({{"a", a.url()}, {"b", b.url()}}, "[a, b]", "[]");
  config += "    strategy: bandit\n";
  Router router(config);
  HttpClient client(router.port());
  const auto send = [&](const std::string& key) {
    return client.request("POST", "/v1/chat/completions", chat_body("auto"),
                          {{"authorization", "Bearer " + key}, {"x-request-id", "order-1001"}});
  };
  const auto feedback = [&](const std::string& key) {
    return client.request("POST", "/v1/feedback", R"({"request_id":"order-1001","score":0})",
                          {{"authorization", "Bearer " + key}});
  };
  ASSERT_EQ(send("sk-team-a").status, 200);
  const auto other = feedback("sk-team-b");
  EXPECT_EQ(other.status, 404) << other.body;
  EXPECT_EQ(other.body.find("\"backend\""), std::string::npos) << other.body;
  EXPECT_EQ(feedback("sk-team-a").status, 200);
  // The same id again, from another client: its request is the one awaiting feedback.
  ASSERT_EQ(send("sk-team-a").status, 200);
  ASSERT_EQ(send("sk-team-b").status, 200);
  EXPECT_EQ(feedback("sk-team-a").status, 404);
  EXPECT_EQ(feedback("sk-team-b").status, 200);
}

TEST(Explain, PrintsTheDecisionForARequestFile) {
  TempFile request("request.json",
                   R"({"model":"auto","messages":[{"role":"user","content":"Explain monads"}]})");
  ChildProcess explain({LLM_ROUTER_BIN, "explain", "--config",
                        std::string(LLM_ROUTER_SOURCE_DIR) + "/config/llm-router.yaml", "--json",
                        request.path()});
  std::string output;
  while (auto line = explain.wait_for_line("", std::chrono::seconds(10))) output += *line;
  EXPECT_EQ(explain.wait(std::chrono::seconds(10)), 0);
  const auto decision = json::parse(output, nullptr, false);
  ASSERT_FALSE(decision.is_discarded()) << output;
  EXPECT_EQ(decision["route"], "auto");
  EXPECT_TRUE(decision.contains("analysis"));
  EXPECT_FALSE(decision["candidates"].empty());
}

// A dry run shows what the next request would get and leaves the rotation where it was: with
// threads: 1 (one io thread, so requests take turns in order), each dry run names the backend
// of the real request after it.
TEST(DryRun, ADryRunDoesNotMoveARoundRobin) {
  std::string config =
      router_config({{"a", ""}, {"b", ""}, {"c", ""}}, "[a, b, c]", "[]", "  threads: 1\n");
  config += "    strategy: round_robin\n";
  Router router(config);
  HttpClient client(router.port());
  for (int i = 0; i < 6; ++i) {
    const auto dry_run = client.post_json("/v1/route", chat_body("auto"));
    ASSERT_EQ(dry_run.status, 200) << dry_run.body;
    const std::string predicted = json::parse(dry_run.body)["candidates"][0]["backend"];
    const auto real = client.post_json("/v1/chat/completions", chat_body("auto"));
    EXPECT_EQ(real.header("x-llm-router-backend"), predicted) << "turn " << i;
  }
}

}  // namespace
}  // namespace test_support
