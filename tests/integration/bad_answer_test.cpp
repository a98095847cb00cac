// A backend that answers 200 with something that is not an answer (an HTML page, a body or a
// compressed body cut short) has failed: the fallback answers instead.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <tuple>

#include "integration/router_config.hpp"
#include "support/canned_backend.hpp"
#include "support/compress.hpp"
#include "support/fixtures.hpp"

namespace test_support {
namespace {

using nlohmann::json;

std::string gzip(const std::string& input) {
  return compress(input, true);
}

const std::string kAnswer =
    R"({"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,)"
    R"("message":{"role":"assistant","content":"a long enough answer to compress"},)"
    R"("finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":6,"total_tokens":9}})";

// The client's view when `broken` answers with `response` and a healthy backup exists.
HttpResponse through_broken_then_backup(const std::string& response) {
  CannedBackend broken([&](const std::string&) { return response; });
  Router router(router_config({{"broken", broken.url()}, {"backup", ""}}, "[broken]", "[backup]"));
  HttpClient client(router.port());
  return client.post_json("/v1/chat/completions", chat_body("auto"));
}

// RFC 8259 lets a JSON reader ignore a leading byte order mark; JavaScript's JSON.parse does
// not, so the answer reaches the client without it.
TEST(BadAnswers, AByteOrderMarkBeforeTheAnswerIsDropped) {
  CannedBackend marked([](const std::string&) {
    return http_response(200, "application/json", "\xEF\xBB\xBF" + kAnswer);
  });
  Router router(router_config({{"marked", marked.url()}}, "[marked]"));
  const auto response =
      HttpClient(router.port()).post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.body.rfind("{", 0), 0u) << response.body;
  EXPECT_EQ(json::parse(response.body)["choices"][0]["message"]["content"],
            "a long enough answer to compress");
}

TEST(BadAnswers, AnHtmlPageOrACutBodyFallsBack) {
  const std::string cut_gzip = gzip(kAnswer).substr(0, 40);
  for (const std::string& response :
       {http_response(200, "text/html", "<html><body>Welcome to nginx!</body></html>"),
        http_response(200, "application/json", kAnswer.substr(0, kAnswer.size() / 2)),
        http_response(200, "application/json", "{\"id\":\"x\"} trailing"),
        http_response(200, "application/json",
                      R"({"error":{"message":"model overloaded","type":"server_error"}})"),
        http_response(200, "application/json", R"({"detail":"Not Found"})"),
        http_response(200, "application/json", R"({"id":"x","choices": [ ]})"),
        // Choices that are no completion choices.
        http_response(200, "application/json", R"({"choices":[null]})"),
        http_response(200, "application/json", R"({"choices":[1,2]})"),
        http_response(200, "application/json", R"({"choices":["x"]})"),
        http_response(200, "application/json", R"({"choices":[{}]})"),
        http_response(200, "application/json", R"({"choices":[{"message":null}]})"),
        http_response(200, "application/json", cut_gzip, "content-encoding: gzip\r\n"),
        // Cut short without a length (the end of the body is the end of the connection).
        "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" +
            kAnswer.substr(0, kAnswer.find(",\"usage\"")),
        // Brackets that do not close in order, and two objects glued together.
        http_response(200, "application/json",
                      R"({"choices": [ {"message": {"content": "x"} ], bogus })"),
        http_response(200, "application/json", kAnswer + " {\"x\":1}"),
        // An outline that closes around what no JSON parser reads: a bare word, a bad escape,
        // a missing comma.
        http_response(200, "application/json",
                      kAnswer.substr(0, kAnswer.size() - 1) + ",\"bad\":nul}"),
        http_response(200, "application/json", R"({"choices":[{"message":{"content":"h\qi"}}]})"),
        http_response(200, "application/json",
                      R"({"choices":[{"message":{"content":"x"}}] "usage":{}})"),
        http_response(200, "application/json", "{\"choices\":[{\"message\":\xff}]}")}) {
    const HttpResponse answer = through_broken_then_backup(response);
    EXPECT_EQ(answer.status, 200) << response;
    EXPECT_EQ(answer.header("x-llm-router-backend"), "backup") << response;
    EXPECT_NE(answer.header("x-llm-router-attempts").find("broken=upstream_bad_response"),
              std::string::npos)
        << answer.header("x-llm-router-attempts");
    EXPECT_TRUE(json::parse(answer.body).contains("choices"));
  }
}

// An upstream that always has bytes ready (keep-alive comments without a pause) still meets
// its deadlines: the first event's, and the attempt's total.
TEST(BadAnswers, ABackendFloodingCommentsMeetsItsDeadlines) {
  std::string comments;
  for (int i = 0; i < 200; ++i) comments += ": ping\n\n";
  std::ostringstream chunk;
  chunk << std::hex << comments.size() << "\r\n" << comments << "\r\n";
  for (const std::string timeouts : {"{first_byte: 300ms, idle: 10s, total: 30s}",
                                     "{first_byte: 10s, idle: 10s, total: 400ms}"}) {
    CannedBackend flooding(
        [](const std::string&) {
          return std::string(
              "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
              "transfer-encoding: chunked\r\n\r\n");
        },
        {}, chunk.str());
    Router router(
        router_config({{"flooding", flooding.url(), "timeouts: " + timeouts}, {"backup", ""}},
                      "[flooding]", "[backup]"));
    HttpClient client(router.port());
    const auto response =
        client.post_json("/v1/chat/completions", chat_body("auto", "hi", ",\"stream\":true"));
    EXPECT_EQ(response.status, 200) << timeouts;
    EXPECT_EQ(response.header("x-llm-router-backend"), "backup") << timeouts;
    const std::string expected = timeouts.starts_with("{first_byte: 300ms")
                                     ? "flooding=first_byte_timeout"
                                     : "flooding=total_timeout";
    EXPECT_NE(response.header("x-llm-router-attempts").find(expected), std::string::npos)
        << response.header("x-llm-router-attempts");
    EXPECT_NE(response.body.find("[DONE]"), std::string::npos);
  }
}

// Bytes that are no HTTP are the backend's failure, not a dropped connection: not retried there.
TEST(BadAnswers, ABackendSpeakingNoHttpIsNotRetried) {
  std::atomic<int> calls{0};
  CannedBackend garbage([&](const std::string&) {
    ++calls;
    return std::string("HELLO THERE\r\n\r\n");
  });
  Router router(router_config({{"garbage", garbage.url(), "retry: {attempts: 2}"}, {"backup", ""}},
                              "[garbage]", "[backup]"));
  HttpClient client(router.port());
  const auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("x-llm-router-backend"), "backup");
  EXPECT_NE(response.header("x-llm-router-attempts").find("garbage=upstream_bad_response"),
            std::string::npos)
      << response.header("x-llm-router-attempts");
  EXPECT_EQ(calls.load(), 1);
}

// An answer longer than server.max_response_bytes is the backend's failure, whether its head
// says so (refused before a byte of its body is read) or its chunks show it.
TEST(BadAnswers, AnAnswerOverMaxResponseBytesIsRefused) {
  const std::string declared =
      "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5000000000\r\n\r\n"
      "{\"id\":";
  const std::string piece = "{\"id\":\"" + std::string(3000, 'x') + "\"}";
  std::ostringstream chunked;
  chunked << "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked"
          << "\r\n\r\n"
          << std::hex << piece.size() << "\r\n"
          << piece << "\r\n0\r\n\r\n";
  for (const std::string& answer : {declared, chunked.str()}) {
    CannedBackend huge([&](const std::string&) { return answer; });
    Router router(router_config({{"huge", huge.url(), "retry: {attempts: 0}"}}, "[huge]", "[]",
                                "  max_response_bytes: 2048\n"));
    HttpClient client(router.port());
    const auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
    EXPECT_EQ(response.status, 502) << response.body;
    EXPECT_NE(response.body.find("max_response_bytes"), std::string::npos) << response.body;
  }
}

// A long stream from a backend that reports no usage: the text kept for counting is capped
// (64 KiB), and the count grows with the events past the cap (it stopped at the cap's count).
TEST(BadAnswers, ALongStreamWithoutUsageIsCountedWhole) {
  CannedBackend silent([](const std::string& request) {
    const std::size_t events = request.find("1500 events") != std::string::npos ? 1500 : 1000;
    std::string stream =
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
    std::string words;
    for (int k = 0; k < 100; ++k) words += "lorem ipsum";
    for (std::size_t i = 0; i < events; ++i) {
      stream += R"(data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m",)"
                R"("choices":[{"index":0,"delta":{"content":")" +
                words + R"("},"finish_reason":null}]})" + "\n\n";
    }
    return stream + "data: [DONE]\n\n";
  });
  Router router(router_config({{"silent", silent.url()}}, "[silent]"));
  HttpClient client(router.port());
  const std::string asks_usage = R"(,"stream":true,"stream_options":{"include_usage":true})";
  const auto completion_tokens = [&](const std::string& prompt) {
    const auto response =
        client.post_json("/v1/chat/completions", chat_body("auto", prompt, asks_usage));
    const auto events = sse_data(response.body);
    if (events.size() < 2) return 0LL;
    return json::parse(events[events.size() - 2])["usage"]["completion_tokens"].get<long long>();
  };
  completion_tokens("1000 events");  // the backend is seen to omit usage: text is kept next
  const long long thousand = completion_tokens("1000 events");  // 1.1 MB, past the cap
  const long long more = completion_tokens("1500 events");
  ASSERT_GT(thousand, 0);
  EXPECT_NEAR(static_cast<double>(more) / static_cast<double>(thousand), 1.5, 0.05)
      << thousand << " then " << more;
}

// A backend that gives `answer` to every request is relayed, the second time over the pooled
// connection.
void expect_relayed_twice(const std::string& answer) {
  CannedBackend backend([&](const std::string&) { return answer; });
  Router router(router_config({{"only", backend.url()}}, "[only]"));
  HttpClient client(router.port());
  for (int i = 0; i < 2; ++i) {
    const auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(json::parse(response.body)["id"], "c1");
  }
}

TEST(BadAnswers, InterimResponsesBeforeTheAnswerAreSkipped) {
  // Clients must ignore 1xx responses (RFC 9110 section 15.2); intermediaries send them.
  expect_relayed_twice(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\n" +
      http_response(200, "application/json", kAnswer));
}

// Small servers end lines with a bare LF and leave the reason phrase out; RFC 9112 lets a
// client read that (section 2.2), as curl and browsers do.
TEST(BadAnswers, AnAnswerWithBareLineFeedsIsRelayed) {
  expect_relayed_twice("HTTP/1.1 200\nContent-Type: application/json\nContent-Length: " +
                       std::to_string(kAnswer.size()) + "\n\n" + kAnswer);
}

// A stray byte where a token split a character is all that is wrong: the answer is relayed with
// it read as U+FFFD (as Python clients decode it), whole or streamed.
TEST(BadAnswers, InvalidUtf8InAnAnswersTextReadsAsReplacementCharacters) {
  const std::string text = "caf\xe9 ok";
  const HttpResponse whole = through_broken_then_backup(http_response(
      200, "application/json",
      "{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":"
      "{\"role\":\"assistant\",\"content\":\"" +
          text + "\"},\"finish_reason\":\"stop\"}]}"));
  EXPECT_EQ(whole.header("x-llm-router-backend"), "broken") << whole.body;
  EXPECT_EQ(json::parse(whole.body)["choices"][0]["message"]["content"], "caf\uFFFD ok");
  CannedBackend streaming([&](const std::string&) {
    return "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
           "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" +
           text +
           "\"},\"finish_reason\":null}]}\n\n"
           "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":"
           "\"stop\"}]}\n\ndata: [DONE]\n\n";
  });
  Router router(router_config({{"streaming", streaming.url()}}, "[streaming]"));
  const auto streamed =
      HttpClient(router.port())
          .post_json("/v1/chat/completions", chat_body("auto", "hi", R"(,"stream":true)"));
  const auto events = sse_data(streamed.body);
  ASSERT_EQ(events.size(), 3u) << streamed.body;
  EXPECT_EQ(json::parse(events[0])["choices"][0]["delta"]["content"], "caf\uFFFD ok");
  EXPECT_EQ(events.back(), "[DONE]");
}

TEST(BadAnswers, AWholeCompressedAnswerIsRelayed) {
  const HttpResponse answer = through_broken_then_backup(
      http_response(200, "application/json", gzip(kAnswer), "content-encoding: gzip\r\n"));
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.header("x-llm-router-backend"), "broken");
  EXPECT_EQ(json::parse(answer.body)["id"], "c1");
}

// A backend that quotes the credentials it was sent ("Incorrect API key provided: ...") in an
// error the router relays must not hand them to the client, whatever their shape.
TEST(BadAnswers, ARelayedRejectionNeverCarriesTheBackendsCredentials) {
  CannedBackend backend([](const std::string&) {
    return http_response(
        400, "application/json",
        R"({"error":{"message":"Incorrect API key provided: sk-backend-only; header )"
        R"(HDRSECRET-3f9a2c, SIGVALUE-77aa and QSIG-88bbcc were sent","type":)"
        R"("invalid_request_error","param":null,"code":null}})");
  });
  // A header that is no credential (a version, a title) is not masked: its value may be any
  // word of the answer ("invalid_request_error"). A signature is a credential (an Azure SAS
  // `sig`).
  Router router(router_config({{"only", backend.url() + "?sig=QSIG-88bbcc",
                                "headers: {x-custom-secret: HDRSECRET-3f9a2c, "
                                "x-signature: SIGVALUE-77aa, x-title: invalid_request_error}"}},
                              "[only]"));
  HttpClient client(router.port());
  const auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.body.find("sk-backend-only"), std::string::npos) << response.body;
  EXPECT_EQ(response.body.find("HDRSECRET"), std::string::npos) << response.body;
  EXPECT_EQ(response.body.find("SIGVALUE"), std::string::npos) << response.body;
  EXPECT_EQ(response.body.find("QSIG"), std::string::npos) << response.body;
  EXPECT_NE(response.body.find("Incorrect API key provided: ***"), std::string::npos)
      << response.body;
  EXPECT_NE(response.body.find("\"type\":\"invalid_request_error\""), std::string::npos)
      << response.body;
}

TEST(BadAnswers, ABackendsOwnRejectionReachesTheClientInOpenAIsShape) {
  const std::string openai_shaped =
      R"({"error":{"message":"max_tokens is too large","type":"invalid_request_error",)"
      R"("param":"max_tokens","code":null}})";
  const std::string validation =
      R"({"detail":[{"loc":["body","temperature"],"msg":"Input should be less than 2",)"
      R"("type":"less_than"}]})";
  for (const std::string& body :
       {std::string(R"({"detail":"field 'x' is not allowed","internal_trace":"s3cr3t-host:9000"})"),
        std::string("<html>400 Bad Request</html>"), openai_shaped, validation,
        std::string("bad request: temperature out of range")}) {
    CannedBackend rejecting(
        [&](const std::string&) { return http_response(400, "application/json", body); });
    Router router(
        router_config({{"rejecting", rejecting.url()}, {"backup", ""}}, "[rejecting]", "[backup]"));
    HttpClient client(router.port());
    const auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
    EXPECT_EQ(response.status, 400) << body;
    const json error = json::parse(response.body)["error"];
    ASSERT_TRUE(error.is_object()) << response.body;
    if (body == openai_shaped) {
      EXPECT_EQ(response.body, openai_shaped);
      continue;
    }
    EXPECT_EQ(error["code"], "upstream_rejected");
    EXPECT_EQ(response.body.find("s3cr3t"), std::string::npos) << response.body;
    const std::string message = error["message"];
    if (body == validation) {
      EXPECT_NE(message.find("body.temperature: Input should be less than 2"), std::string::npos)
          << message;
    } else if (body.starts_with("{")) {
      EXPECT_NE(message.find("field 'x' is not allowed"), std::string::npos) << message;
    } else if (body.starts_with("bad")) {
      EXPECT_NE(message.find(body), std::string::npos) << message;
    }
  }
}

// Gemini's OpenAI endpoint wraps its error in a list; Mistral nests FastAPI's validation list
// under "message": either way the client reads the backend's reason.
TEST(BadAnswers, ListWrappedAndNestedRejectionsKeepTheBackendsReason) {
  const std::string gemini =
      R"([{"error":{"code":400,"message":"Invalid JSON payload received. Unknown name )"
      R"(\"logit_bias\"","status":"INVALID_ARGUMENT"}}])";
  const std::string mistral =
      R"({"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body",)"
      R"("logprobs"],"msg":"Extra inputs are not permitted"}]},"type":"invalid_request_error"})";
  for (const auto& [status, body, reason] :
       {std::tuple{400, gemini, std::string("Unknown name \\\"logit_bias\\\"")},
        std::tuple{422, mistral, std::string("body.logprobs: Extra inputs are not permitted")}}) {
    CannedBackend rejecting(
        [&](const std::string&) { return http_response(status, "application/json", body); });
    Router router(
        router_config({{"rejecting", rejecting.url()}, {"backup", ""}}, "[rejecting]", "[backup]"));
    const auto response =
        HttpClient(router.port()).post_json("/v1/chat/completions", chat_body("auto"));
    EXPECT_EQ(response.status, status) << response.body;
    EXPECT_NE(response.body.find(reason), std::string::npos) << response.body;
    EXPECT_TRUE(json::parse(response.body)["error"].is_object()) << response.body;
  }
}

// A refused key (Gemini's 400 API_KEY_INVALID) or a retired model (Groq's 400
// model_decommissioned) is the router's setup, not the client's request: the next backend
// answers.
TEST(BadAnswers, AKeyOrModelRefusedWithA400FallsBack) {
  for (const std::string& body :
       {std::string(
            R"([{"error":{"code":400,"message":"API key not valid. Please pass a valid )"
            R"(API key.","status":"INVALID_ARGUMENT","details":[{"@type":)"
            R"("type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}}])"),
        std::string(R"({"error":{"message":"The model `llama3-70b-8192` has been decommissioned",)"
                    R"("type":"invalid_request_error","code":"model_decommissioned"}})")}) {
    CannedBackend misconfigured(
        [&](const std::string&) { return http_response(400, "application/json", body); });
    Router router(router_config({{"misconfigured", misconfigured.url()}, {"backup", ""}},
                                "[misconfigured]", "[backup]"));
    const auto response =
        HttpClient(router.port()).post_json("/v1/chat/completions", chat_body("auto"));
    EXPECT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(response.header("x-llm-router-backend"), "backup") << body;
    EXPECT_NE(response.header("x-llm-router-attempts").find("misconfigured=upstream_bad_response"),
              std::string::npos)
        << response.header("x-llm-router-attempts");
  }
}

// OpenRouter answers a provider's rate limit with a 200 holding an error object: with nothing
// else to try, the client gets a rate limit with the backend's words, not a bare 502.
TEST(BadAnswers, AnErrorObjectSentWith200KeepsItsWordsAndKind) {
  CannedBackend limited([](const std::string&) {
    return http_response(
        200, "application/json",
        R"({"error":{"message":"Rate limit exceeded: free-models-per-min.","code":429}})");
  });
  Router router(router_config({{"limited", limited.url()}}, "[limited]"));
  const auto response =
      HttpClient(router.port()).post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(response.status, 429) << response.body;
  EXPECT_NE(response.body.find("Rate limit exceeded: free-models-per-min."), std::string::npos)
      << response.body;
}

// A backend's 413 is about the request's size: relayed, and its circuit is not touched.
TEST(BadAnswers, ABackendsRequestTooLargeIsRelayedAndNotHeldAgainstIt) {
  CannedBackend small([](const std::string&) {
    return http_response(
        413, "application/json",
        R"({"error":{"message":"request too large","type":"invalid_request_error",)"
        R"("param":null,"code":"too_large"}})");
  });
  Router router(router_config(
      {{"small", small.url(), "circuit_breaker: {failure_threshold: 1, cooldown: 1m}"}},
      "[small]"));
  HttpClient client(router.port());
  for (int i = 0; i < 2; ++i) {
    const auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
    EXPECT_EQ(response.status, 413) << response.body;
    EXPECT_EQ(json::parse(response.body)["error"]["code"], "too_large") << response.body;
  }
  const auto ready = json::parse(client.request("GET", "/readyz").body);
  EXPECT_EQ(ready["backends"]["small"]["circuit"], "closed");
}

TEST(BadAnswers, KeysABackendEchoesInItsErrorNeverReachTheClient) {
  // Gateways and misconfigured servers quote the Authorization header they received.
  const std::string echoed = "bad key Bearer sk-proj-ECHOEDsecret0123456789abcdefXYZ";
  for (const int status : {400, 500, 503}) {
    CannedBackend echoing([&](const std::string&) {
      return http_response(status, "application/json",
                           json{{"error", {{"message", echoed}, {"type", "x"}}}}.dump());
    });
    Router router(router_config({{"echoing", echoing.url()}}, "[echoing]", "[]"));
    HttpClient client(router.port());
    const auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
    // A 500 is a bad gateway's; every backend unavailable (503) is passed on as such.
    EXPECT_EQ(response.status, status == 500 ? 502 : status) << response.body;
    EXPECT_EQ(response.body.find("ECHOEDsecret"), std::string::npos) << response.body;
    EXPECT_NE(response.body.find("[REDACTED:"), std::string::npos) << response.body;
  }
}

std::string sse_response(const std::string& events) {
  return "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n" + events;
}

// OpenRouter reports a provider that failed with a chunk holding both `error` and `choices`
// (finish_reason "error"), possibly after nothing but keep-alive comments: an error event,
// so the next backend answers before anything was committed.
TEST(BadAnswers, AnErrorChunkBesideChoicesIsAnErrorEvent) {
  const std::string error_chunk =
      R"(data: {"id":"gen-1","object":"chat.completion.chunk","created":1,"model":"m",)"
      R"("error":{"code":502,"message":"Provider returned error"},"choices":[{"index":0,)"
      R"("delta":{"content":""},"finish_reason":"error"}]})"
      "\n\n";
  CannedBackend failing([&](const std::string&) {
    return sse_response(": OPENROUTER PROCESSING\n\n" + error_chunk + "data: [DONE]\n\n");
  });
  Router router(
      router_config({{"failing", failing.url()}, {"backup", ""}}, "[failing]", "[backup]"));
  const auto response =
      HttpClient(router.port())
          .post_json("/v1/chat/completions", chat_body("auto", "x", R"(,"stream":true)"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("x-llm-router-backend"), "backup") << response.body;
  EXPECT_EQ(response.body.find("Provider returned error"), std::string::npos) << response.body;
  EXPECT_EQ(sse_data(response.body).back(), "[DONE]");
}

const std::string kChunk =
    R"(data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"m",)"
    R"("choices":[{"index":0,"delta":{"content":"hello"},"finish_reason":null}]})"
    "\n\n";

// The same for the key in a stream's error event (relayed as it came), for a client's own key
// passed on by pass_client_auth (not shaped like any known key), and for a key in the backend's
// base_url query, whole or cut short.
TEST(BadAnswers, KeysInStreamErrorsClientKeysAndQueryKeysNeverReachTheClient) {
  const std::string error_event =
      R"(data: {"error":{"message":"Incorrect API key provided: sk-backend-echoing"}})"
      "\n\n";
  // An {"error"} event, then a typed one (`event: error`) whose data has no "error" member.
  const std::string typed_error =
      "event: error\ndata: {\"message\":\"key sk-backend-echoing rejected\"}\n\n";
  CannedBackend streaming(
      [&](const std::string&) { return sse_response(kChunk + typed_error + error_event); });
  CannedBackend rejecting([&](const std::string&) {
    return http_response(400, "application/json",
                         R"({"error":{"message":"bad key mysecretpassword123 and QUERYSECRET42)"
                         R"(; shortened: mysecretpasswo, k=secretpassword123, QUERYSECRET4",)"
                         R"("type":"invalid_request_error"}})");
  });
  Router router(
      router_config({{"echoing", streaming.url()},
                     {"passing", rejecting.url() + "?key=QUERYSECRET42", "pass_client_auth: true"}},
                    "[echoing]"));
  HttpClient client(router.port());
  const auto streamed =
      client.post_json("/v1/chat/completions", chat_body("auto", "x", R"(,"stream":true)"));
  EXPECT_EQ(streamed.body.find("sk-backend-echoing"), std::string::npos) << streamed.body;
  EXPECT_NE(streamed.body.find("[masked key]"), std::string::npos) << streamed.body;
  const auto rejected = client.post_json("/v1/chat/completions", chat_body("passing"),
                                         {{"authorization", "Bearer mysecretpassword123"}});
  EXPECT_EQ(rejected.status, 400) << rejected.body;
  EXPECT_EQ(rejected.body.find("mysecretpassword123"), std::string::npos) << rejected.body;
  EXPECT_EQ(rejected.body.find("QUERYSECRET"), std::string::npos) << rejected.body;
  // Nor do pieces of them: twelve characters of a key in a row give it away.
  EXPECT_EQ(rejected.body.find("secretpasswo"), std::string::npos) << rejected.body;
  EXPECT_NE(rejected.body.find("shortened"), std::string::npos) << rejected.body;
}

// Keys in disguise: a redirect's Location carrying the base_url's query key, a key spelled in
// JSON escapes as an error's code, a key upper-cased in the message, an escaped error event in
// the middle of a stream. None reaches the client.
TEST(BadAnswers, KeysInLocationsEscapesAndCapitalsNeverReachTheClient) {
  const std::string query_key = "AIzaSyQueryKey0123456789abcdefghij";
  const auto escaped = [](const std::string& text) {
    std::string out;
    for (const char c : text) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(c));
      out += buffer;
    }
    return out;
  };
  // router_config gives each backend the key sk-backend-<name>.
  const std::string quoting_key = "sk-backend-quoting-backend";
  const std::string streaming_key = "sk-backend-streaming-backend";
  CannedBackend redirecting([&](const std::string&) {
    return http_response(
        301, "text/plain", "moved",
        "location: https://127.0.0.1/v1/chat/completions?key=" + query_key + "\r\n");
  });
  CannedBackend quoting([&](const std::string&) {
    return http_response(500, "application/json",
                         R"({"error":{"message":"bad KEY SK-BACKEND-QUOTING-BACKEND","code":")" +
                             escaped(quoting_key) + R"("}})");
  });
  CannedBackend streaming([&](const std::string&) {
    return sse_response(kChunk + R"(data: {"\u0065rror":{"message":")" + escaped(streaming_key) +
                        R"("}})" + "\n\n");
  });
  Router router(router_config({{"redirecting", redirecting.url() + "?key=" + query_key},
                               {"quoting-backend", quoting.url()},
                               {"streaming-backend", streaming.url()}},
                              "[redirecting]"));
  HttpClient client(router.port());
  const auto redirected = client.post_json("/v1/chat/completions", chat_body("redirecting"));
  EXPECT_EQ(redirected.status, 502);
  EXPECT_EQ(redirected.body.find("QueryKey"), std::string::npos) << redirected.body;
  const auto quoted = client.post_json("/v1/chat/completions", chat_body("quoting-backend"));
  EXPECT_EQ(quoted.status, 502);
  for (const std::string& piece :
       {std::string("quoting-backend\""), std::string("QUOTING-BACKEND"), escaped(quoting_key)}) {
    EXPECT_EQ(quoted.body.find(piece), std::string::npos) << quoted.body;
  }
  const auto streamed = client.post_json("/v1/chat/completions",
                                         chat_body("streaming-backend", "x", R"(,"stream":true)"));
  EXPECT_EQ(streamed.body.find(streaming_key), std::string::npos) << streamed.body;
  EXPECT_EQ(streamed.body.find(escaped(streaming_key)), std::string::npos) << streamed.body;
}

// A backend's code about a key, on an answer the router turns into its own 502, is about the
// router's key: the client, whose SDK reads the code, does not get it.
TEST(BadAnswers, AKeyCodeOnABackendFailureIsNotTheClients) {
  CannedBackend teapot([](const std::string&) {
    return http_response(418, "application/json",
                         R"({"error":{"message":"no tea","code":"invalid_api_key"}})");
  });
  Router router(router_config({{"teapot", teapot.url()}}, "[teapot]"));
  const auto response =
      HttpClient(router.port()).post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(response.status, 502) << response.body;
  EXPECT_NE(json::parse(response.body)["error"]["code"], "invalid_api_key") << response.body;
  EXPECT_NE(response.body.find("no tea"), std::string::npos) << response.body;
}

// A backend that closes its stream right after its last chunk, without the blank line that
// ends an event (or any line break): the chunk still arrives and the stream ends whole.
TEST(BadAnswers, AStreamWhoseLastEventLacksItsBlankLineEndsWhole) {
  const std::string last =
      R"(data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"m",)"
      R"("choices":[{"index":0,"delta":{"content":" world"},"finish_reason":"stop"}]})";
  for (const std::string ending : {"", "\n"}) {
    CannedBackend abrupt([&](const std::string&) { return sse_response(kChunk + last + ending); });
    Router router(router_config({{"abrupt", abrupt.url()}}, "[abrupt]"));
    const auto response =
        HttpClient(router.port())
            .post_json("/v1/chat/completions", chat_body("auto", "x", R"(,"stream":true)"));
    EXPECT_EQ(response.status, 200);
    EXPECT_NE(response.body.find(" world"), std::string::npos) << response.body;
    EXPECT_EQ(response.body.find("error"), std::string::npos) << response.body;
    EXPECT_NE(response.body.find("data: [DONE]"), std::string::npos) << response.body;
  }
}

TEST(BadAnswers, AStreamThatBeginsGarbledFallsBackOneThatTurnsGarbledEndsWithAnError) {
  const std::string stream_body = chat_body("auto", "x", R"(,"stream":true)");
  {
    CannedBackend broken([](const std::string&) {
      return sse_response("data: <html>oops</html>\n\n" + kChunk + "data: [DONE]\n\n");
    });
    Router router(
        router_config({{"broken", broken.url()}, {"backup", ""}}, "[broken]", "[backup]"));
    HttpClient client(router.port());
    const auto response = client.post_json("/v1/chat/completions", stream_body);
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.header("x-llm-router-backend"), "backup");
    EXPECT_EQ(sse_data(response.body).back(), "[DONE]");
  }
  // An event cut short, and one whose outline closes around a bare word.
  for (const std::string& garbled : {std::string("data: {\"choices\": [tru\n\n"),
                                     kChunk.substr(0, kChunk.rfind('}')) + ",\"x\":nul}\n\n"}) {
    CannedBackend first(
        [&](const std::string&) { return sse_response(garbled + kChunk + "data: [DONE]\n\n"); });
    Router fallback(router_config({{"first", first.url()}, {"backup", ""}}, "[first]", "[backup]"));
    HttpClient fallback_client(fallback.port());
    const auto fallen = fallback_client.post_json("/v1/chat/completions", stream_body);
    EXPECT_EQ(fallen.header("x-llm-router-backend"), "backup") << garbled;
    CannedBackend turns([&](const std::string&) {
      return sse_response(kChunk + garbled + kChunk + "data: [DONE]\n\n");
    });
    Router router(router_config({{"turns", turns.url()}, {"backup", ""}}, "[turns]", "[backup]"));
    HttpClient client(router.port());
    const auto response = client.post_json("/v1/chat/completions", stream_body);
    EXPECT_EQ(response.status, 200);
    const auto events = sse_data(response.body);
    ASSERT_EQ(events.size(), 2u) << response.body;  // the good chunk, then the error event
    EXPECT_TRUE(json::parse(events[0]).contains("choices"));
    EXPECT_EQ(json::parse(events[1])["error"]["code"], "bad_upstream_response");
  }
}

const std::string kFinish =
    R"(data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"m",)"
    R"("choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})"
    "\n\n";

// The client's events when the only backend streams `events`.
std::vector<std::string> streamed_events(const std::string& events) {
  CannedBackend backend([&](const std::string&) { return sse_response(events); });
  Router router(router_config({{"only", backend.url()}}, "[only]"));
  HttpClient client(router.port());
  const auto response =
      client.post_json("/v1/chat/completions", chat_body("auto", "x", R"(,"stream":true)"));
  EXPECT_EQ(response.status, 200);
  return sse_data(response.body);
}

// Gemini's OpenAI-compatible endpoint streams tool calls without their `index`: each call
// gets the next one as it arrives, so SDKs keep the calls apart, and a Response has two items.
TEST(BadAnswers, ToolCallsStreamedWithoutTheirIndexAreNumberedInTurn) {
  const auto call_chunk = [](const std::string& id, const std::string& city) {
    return R"(data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"m",)"
           R"("choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"id":")" +
           id + R"(","type":"function","function":{"name":"weather","arguments":"{\"city\":\")" +
           city + R"(\"}"}}]},"finish_reason":null}]})" + "\n\n";
  };
  const std::string events =
      call_chunk("function-call-1", "Paris") + call_chunk("function-call-2", "Rome") +
      R"(data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"m",)"
      R"("choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})" +
      "\n\ndata: [DONE]\n\n";
  const auto chat = streamed_events(events);
  ASSERT_GE(chat.size(), 3u);
  for (int i = 0; i < 2; ++i) {
    const json call =
        json::parse(chat[static_cast<std::size_t>(i)])["choices"][0]["delta"]["tool_calls"][0];
    EXPECT_EQ(call["index"], i) << chat[static_cast<std::size_t>(i)];
  }

  CannedBackend backend([&](const std::string&) { return sse_response(events); });
  Router router(router_config({{"only", backend.url()}}, "[only]"));
  HttpClient client(router.port());
  const auto response = client.post_json(
      "/v1/responses", R"({"model":"auto","stream":true,"input":"weather in Paris and Rome?"})");
  ASSERT_EQ(response.status, 200) << response.body;
  const json completed = json::parse(sse_data(response.body).back())["response"];
  ASSERT_EQ(completed["output"].size(), 2u) << completed;
  EXPECT_EQ(completed["output"][0]["call_id"], "function-call-1");
  EXPECT_EQ(completed["output"][0]["arguments"], R"({"city":"Paris"})");
  EXPECT_EQ(completed["output"][1]["call_id"], "function-call-2");
  EXPECT_EQ(completed["output"][1]["arguments"], R"({"city":"Rome"})");
}

TEST(BadAnswers, AStreamThatEndsBeforeItsLastEventEndsWithAnError) {
  const auto cut = streamed_events(kChunk + kChunk);  // no finish_reason, no [DONE]
  ASSERT_EQ(cut.size(), 3u);
  EXPECT_EQ(json::parse(cut[2])["error"]["code"], "upstream_closed");
  // A finish_reason without [DONE] is a complete answer; the [DONE] some clients wait for is
  // added.
  const auto finished = streamed_events(kChunk + kFinish);
  ASSERT_EQ(finished.size(), 3u);
  EXPECT_FALSE(json::parse(finished[1]).contains("error"));
  EXPECT_EQ(finished[2], "[DONE]");
  // A backend's own error event is the one error the client sees, however the stream ends.
  const std::string error_event =
      R"(data: {"error":{"message":"overloaded","type":"server_error"}})"
      "\n\n";
  const auto failed = streamed_events(kChunk + error_event);
  ASSERT_EQ(failed.size(), 2u);
  const auto kept = json::parse(failed[1])["error"];
  EXPECT_EQ(kept["message"], "overloaded");
  EXPECT_EQ(kept["type"], "server_error");
  // The fields it lacked, as OpenAI's errors and the router's own error events have them.
  EXPECT_TRUE(kept.contains("code") && kept["code"].is_null()) << kept;
  EXPECT_TRUE(kept.contains("param") && kept["param"].is_null()) << kept;
  // vLLM's {"object": "error"} and an `event: error` line reach the client in OpenAI's shape,
  // the only one its SDK raises, and end the stream.
  for (const std::string& other :
       {std::string(R"(data: {"object":"error","message":"vllm broke","code":500})") + "\n\n",
        std::string("event: error\ndata: {\"message\":\"vllm broke\"}\n\n")}) {
    const auto rewritten = streamed_events(kChunk + other + kChunk + kFinish);
    ASSERT_EQ(rewritten.size(), 2u) << other;
    const auto error = json::parse(rewritten[1])["error"];
    EXPECT_NE(error["message"].get<std::string>().find("vllm broke"), std::string::npos) << error;
    EXPECT_TRUE(error.contains("type") && error.contains("code")) << error;
  }
}

// The client's view of a chunked stream (a content chunk, then a finish_reason) whose
// connection closed before its last, empty chunk; `extra`: more request members.
HttpResponse through_a_cut_chunked_stream(const std::string& extra) {
  const auto chunk = [](const std::string& data) {
    std::ostringstream size;
    size << std::hex << data.size();
    return size.str() + "\r\n" + data + "\r\n";
  };
  CannedBackend backend([&](const std::string&) {
    return "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
           "transfer-encoding: chunked\r\n\r\n" +
           chunk(kChunk) + chunk(kFinish);
  });
  Router router(router_config({{"only", backend.url()}}, "[only]"));
  HttpClient client(router.port());
  return client.post_json("/v1/chat/completions", chat_body("auto", "x", extra));
}

// With n = 1 the answer is whole after its finish_reason.
TEST(BadAnswers, AChunkedStreamCutAfterItsFinishReasonEndsCleanly) {
  const auto response = through_a_cut_chunked_stream(R"(,"stream":true)");
  const auto events = sse_data(response.body);
  ASSERT_EQ(events.size(), 3u) << response.body;
  EXPECT_FALSE(json::parse(events[1]).contains("error"));
  EXPECT_EQ(events[2], "[DONE]");
  EXPECT_EQ(response.header("x-llm-router-attempts"), "only=ok");
}

void expect_stream_options_dropped_after_a_refusal(const std::string& route_extra);

// A backend that refuses any request carrying stream_options (Azure OpenAI before
// api-version 2024-09-01) and streams an answer to the others; counts both.
std::function<std::string(const std::string&)> refusing_stream_options(
    std::atomic<int>& calls, std::atomic<int>& with_options) {
  return [&](const std::string& body) {
    ++calls;
    if (body.find("stream_options") != std::string::npos) {
      ++with_options;
      return http_response(400, "application/json",
                           R"({"error":{"message":"Unrecognized request argument supplied: )"
                           R"(stream_options","type":"invalid_request_error"}})");
    }
    return sse_response(kChunk + kFinish + "data: [DONE]\n\n");
  };
}

// A backend that refuses the stream_options the router adds (Azure OpenAI before api-version
// 2024-09-01) is asked again without them, and never sent any after that, hedged or not: not
// the client's own either, and a client that asked for usage still gets its usage chunk (the
// router's count).
TEST(BadAnswers, ABackendRefusingStreamOptionsIsAskedWithoutThem) {
  for (const std::string hedge : {"", "    hedge: {after: 2s}\n"}) {
    expect_stream_options_dropped_after_a_refusal(hedge);
  }
}

void expect_stream_options_dropped_after_a_refusal(const std::string& route_extra) {
  std::atomic<int> calls{0};
  std::atomic<int> with_options{0};
  CannedBackend strict(refusing_stream_options(calls, with_options));
  Router router(router_config({{"strict", strict.url()}, {"spare", ""}}, "[strict, spare]") +
                route_extra);
  HttpClient client(router.port());
  const std::string asks_usage = R"(,"stream":true,"stream_options":{"include_usage":true})";
  for (const std::string& client_extra :
       {std::string(R"(,"stream":true)"), std::string(R"(,"stream":true)"), asks_usage}) {
    const auto response =
        client.post_json("/v1/chat/completions", chat_body("auto", "x", client_extra));
    EXPECT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(response.header("x-llm-router-backend"), "strict") << route_extra;
    const auto events = sse_data(response.body);
    ASSERT_GE(events.size(), 2u) << response.body;
    EXPECT_EQ(events.back(), "[DONE]") << response.body;
    const auto last_chunk = json::parse(events[events.size() - 2]);
    EXPECT_EQ(last_chunk.contains("usage") && !last_chunk["usage"].is_null(),
              client_extra == asks_usage)
        << response.body;
  }
  EXPECT_EQ(with_options.load(), 1) << route_extra;
  EXPECT_EQ(calls.load(), 4) << route_extra;
}

// A reasoning model refuses max_tokens for max_completion_tokens; the client could not know
// which model its route would pick. Asked again with the newer name, and sent it from then on,
// hedged or not; a request with max_completion_tokens of its own, or neither, is sent as is.
TEST(BadAnswers, ABackendRefusingMaxTokensGetsMaxCompletionTokens) {
  for (const std::string hedge : {"", "    hedge: {after: 2s}\n"}) {
    std::mutex mutex;
    std::vector<std::string> bodies;
    CannedBackend reasoner([&](const std::string& body) {
      std::lock_guard lock(mutex);
      bodies.push_back(body);
      if (json::parse(body).contains("max_tokens")) {
        return http_response(400, "application/json",
                             R"({"error":{"message":"Unsupported parameter: 'max_tokens' is not )"
                             R"(supported with this model. Use 'max_completion_tokens' instead.",)"
                             R"("type":"invalid_request_error","param":"max_tokens",)"
                             R"("code":"unsupported_parameter"}})");
      }
      return http_response(200, "application/json", kAnswer);
    });
    Router router(
        router_config({{"reasoner", reasoner.url()}, {"spare", ""}}, "[reasoner, spare]") + hedge);
    HttpClient client(router.port());
    for (const std::string extra :
         {R"(,"max_tokens":300)", R"(,"max_tokens":300)", R"(,"max_completion_tokens":200)", ""}) {
      const auto response = client.post_json("/v1/chat/completions", chat_body("auto", "x", extra));
      EXPECT_EQ(response.status, 200) << response.body << hedge;
      EXPECT_EQ(response.header("x-llm-router-backend"), "reasoner") << hedge;
    }
    std::lock_guard lock(mutex);
    ASSERT_EQ(bodies.size(), 5u) << hedge;
    EXPECT_EQ(json::parse(bodies[1])["max_completion_tokens"], 300) << bodies[1];
    EXPECT_FALSE(json::parse(bodies[1]).contains("max_tokens")) << bodies[1];
    EXPECT_EQ(json::parse(bodies[2])["max_completion_tokens"], 300) << bodies[2];
    EXPECT_EQ(json::parse(bodies[3])["max_completion_tokens"], 200) << bodies[3];
    EXPECT_FALSE(json::parse(bodies[4]).contains("max_completion_tokens")) << bodies[4];
  }
}

// A 400 that names both fields for another reason teaches nothing: relayed, asked once.
TEST(BadAnswers, AnotherRefusalNamingBothTokenFieldsIsRelayed) {
  std::atomic<int> calls{0};
  CannedBackend strict([&](const std::string&) {
    ++calls;
    return http_response(
        400, "application/json",
        R"({"error":{"message":"max_tokens (900) plus the prompt exceed the )"
        R"(context; so would max_completion_tokens","type":"invalid_request_error"}})");
  });
  Router router(router_config({{"strict", strict.url()}}, "[strict]"));
  const auto response =
      HttpClient(router.port())
          .post_json("/v1/chat/completions", chat_body("auto", "x", R"(,"max_tokens":900)"));
  EXPECT_EQ(response.status, 400) << response.body;
  EXPECT_EQ(calls.load(), 1);
}

// The same when the first stream to it carries the client's own stream_options: identical
// requests get the same answer, whichever came first.
TEST(BadAnswers, AClientsOwnStreamOptionsRefusedAreDroppedToo) {
  std::atomic<int> calls{0};
  std::atomic<int> with_options{0};
  CannedBackend strict(refusing_stream_options(calls, with_options));
  Router router(router_config({{"strict", strict.url()}}, "[strict]"));
  HttpClient client(router.port());
  const std::string asks_usage = R"(,"stream":true,"stream_options":{"include_usage":true})";
  for (int round = 0; round < 2; ++round) {
    const auto response =
        client.post_json("/v1/chat/completions", chat_body("auto", "x", asks_usage));
    ASSERT_EQ(response.status, 200) << response.body;
    const auto events = sse_data(response.body);
    ASSERT_GE(events.size(), 2u) << response.body;
    EXPECT_TRUE(json::parse(events[events.size() - 2]).contains("usage")) << response.body;
  }
  EXPECT_EQ(with_options.load(), 1);
}

// A backend refusing something odd the client wrote in its stream_options refuses the client's
// request, not the field: relayed, and the backend still gets stream_options afterwards.
TEST(BadAnswers, AClientsMalformedStreamOptionsTeachNothingAboutTheBackend) {
  std::atomic<int> with_options{0};
  CannedBackend strict([&](const std::string& body) {
    if (body.find("bogus") != std::string::npos) {
      return http_response(400, "application/json",
                           R"({"error":{"message":"Unrecognized request argument supplied: )"
                           R"(stream_options.bogus","type":"invalid_request_error"}})");
    }
    if (body.find("stream_options") != std::string::npos) ++with_options;
    return sse_response(kChunk + kFinish + "data: [DONE]\n\n");
  });
  Router router(router_config({{"strict", strict.url()}}, "[strict]"));
  HttpClient client(router.port());
  const auto odd = client.post_json(
      "/v1/chat/completions",
      chat_body("auto", "x",
                R"(,"stream":true,"stream_options":{"include_usage":true,"bogus":1})"));
  EXPECT_EQ(odd.status, 400) << odd.body;
  const auto plain =
      client.post_json("/v1/chat/completions", chat_body("auto", "x", R"(,"stream":true)"));
  EXPECT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(with_options.load(), 1);  // the router still asks it for usage
}

// With n > 1 one choice's finish_reason does not make a cut stream whole.
TEST(BadAnswers, AChunkedStreamOfSeveralChoicesCutAfterOneFinishEndsWithAnError) {
  const auto response = through_a_cut_chunked_stream(R"(,"stream":true,"n":2)");
  const auto events = sse_data(response.body);
  ASSERT_FALSE(events.empty()) << response.body;
  EXPECT_EQ(json::parse(events.back())["error"]["code"], "upstream_closed") << response.body;
}

// Before its first content a stream may carry events that are no answer (Azure's first chunk,
// {"choices": [], "prompt_filter_results": ...}): held, not committed, so an error after them
// still falls back; errors come as {"error"}, {"object": "error"} (vLLM) or `event: error`.
TEST(BadAnswers, EventsWithoutContentDoNotCommitAStream) {
  const std::string azure_first =
      R"(data: {"id":"","object":"","created":0,"model":"","choices":[],)"
      R"("prompt_filter_results":[{"prompt_index":0}]})"
      "\n\n";
  for (const std::string& failing :
       {azure_first + R"(data: {"error":{"message":"overloaded","type":"server_error"}})" + "\n\n",
        azure_first + R"(data: {"object":"error","message":"overloaded","code":500})" + "\n\n",
        std::string("event: error\ndata: {\"message\":\"overloaded\"}\n\n"),
        azure_first}) {  // and then the connection closes
    CannedBackend broken([&](const std::string&) { return sse_response(failing); });
    Router router(
        router_config({{"broken", broken.url()}, {"backup", ""}}, "[broken]", "[backup]"));
    HttpClient client(router.port());
    const auto response =
        client.post_json("/v1/chat/completions", chat_body("auto", "x", R"(,"stream":true)"));
    EXPECT_EQ(response.header("x-llm-router-backend"), "backup") << failing;
    EXPECT_EQ(sse_data(response.body).back(), "[DONE]") << response.body;
  }
  // Nor does a flood of role-only chunks: after a MiB of them, the backup answers.
  const std::string role_only =
      R"(data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"m",)"
      R"("choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]})"
      "\n\n";
  std::string flood;
  for (int i = 0; i < 100; ++i) flood += role_only;
  {
    CannedBackend flooding([](const std::string&) { return sse_response(""); }, {}, flood);
    Router router(
        router_config({{"flooding", flooding.url()}, {"backup", ""}}, "[flooding]", "[backup]"));
    HttpClient client(router.port());
    const auto response =
        client.post_json("/v1/chat/completions", chat_body("auto", "x", R"(,"stream":true)"));
    EXPECT_EQ(response.header("x-llm-router-backend"), "backup");
    EXPECT_NE(response.header("x-llm-router-attempts").find("flooding=upstream_bad_response"),
              std::string::npos)
        << response.header("x-llm-router-attempts");
  }
  // With content after it, the held chunk is relayed first, as the backend sent it.
  CannedBackend azure([&](const std::string&) {
    return sse_response(azure_first + kChunk + kFinish + "data: [DONE]\n\n");
  });
  Router router(router_config({{"azure", azure.url()}}, "[azure]"));
  HttpClient client(router.port());
  const auto events = sse_data(
      client.post_json("/v1/chat/completions", chat_body("auto", "x", R"(,"stream":true)")).body);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_TRUE(json::parse(events[0]).contains("prompt_filter_results"));
  EXPECT_EQ(json::parse(events[1])["choices"][0]["delta"]["content"], "hello");
}

// A 200 answer cut short (the connection closed before its Content-Length) was generated, and
// billed: it goes to the fallback rather than being asked of the same backend again.
TEST(BadAnswers, AnAnswerCutShortIsNotAskedAgainOfTheSameBackend) {
  std::atomic<int> calls{0};
  CannedBackend cut([&](const std::string&) {
    ++calls;
    std::string response = http_response(200, "application/json", kAnswer);
    const auto length = response.find("content-length: ");
    response.replace(length, response.find("\r\n", length) - length,
                     "content-length: " + std::to_string(kAnswer.size() + 50));
    return response;  // and the connection closes
  });
  Router router(
      router_config({{"cut", cut.url(), "retry: {attempts: 2, backoff: 1ms}"}, {"backup", ""}},
                    "[cut]", "[backup]"));
  HttpClient client(router.port());
  const auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("x-llm-router-backend"), "backup");
  EXPECT_EQ(calls.load(), 1);
}

TEST(BadAnswers, AStreamOfOnlyDoneFallsBack) {
  CannedBackend broken([](const std::string&) { return sse_response("data: [DONE]\n\n"); });
  Router router(router_config({{"broken", broken.url()}, {"backup", ""}}, "[broken]", "[backup]"));
  HttpClient client(router.port());
  const auto response =
      client.post_json("/v1/chat/completions", chat_body("auto", "x", R"(,"stream":true)"));
  EXPECT_EQ(response.header("x-llm-router-backend"), "backup");
  EXPECT_NE(response.header("x-llm-router-attempts").find("broken=upstream_bad_response"),
            std::string::npos);
  EXPECT_GT(sse_data(response.body).size(), 1u);
}

// The client's view of a stream whose backend writes `events` and then holds its response
// open for `hold` (past its idle timeout `idle`), and the router's /metrics afterwards.
struct HeldStream {
  HttpResponse response;
  std::vector<std::string> events;
  std::string metrics;
};
HeldStream through_a_held_stream(const std::string& events, std::chrono::milliseconds hold,
                                 const std::string& idle) {
  CannedBackend backend([&](const std::string&) { return sse_response(events); }, hold);
  Router router(
      router_config({{"only", backend.url(), "timeouts: {idle: " + idle + "}"}}, "[only]"));
  HttpClient client(router.port());
  HeldStream out;
  out.response =
      client.post_json("/v1/chat/completions", chat_body("auto", "x", R"(,"stream":true)"));
  out.events = sse_data(out.response.body);
  out.metrics = client.request("GET", "/metrics").body;
  return out;
}

// [DONE] ends the client's stream: a backend slow to end its response afterwards (past its
// idle timeout here) neither holds the client nor turns the answer into an error.
TEST(BadAnswers, DoneEndsTheStreamWhileTheBackendHoldsItsResponseOpen) {
  const auto held = through_a_held_stream(kChunk + kFinish + "data: [DONE]\n\n",
                                          std::chrono::milliseconds(1500), "300ms");
  ASSERT_EQ(held.events.size(), 3u) << held.response.body;
  EXPECT_EQ(held.events.back(), "[DONE]");
  EXPECT_NE(held.metrics.find(R"(backend="only",status="200"} 1)"), std::string::npos)
      << held.metrics;
}

// A backend that sends its finish_reason and then leaves its response open (no [DONE], no end)
// past its idle timeout: the answer is whole, so the client's stream ends with [DONE], and the
// backend is not counted as failed.
TEST(BadAnswers, AStreamLeftOpenAfterItsFinishReasonEndsCleanly) {
  const auto held = through_a_held_stream(kChunk + kFinish, std::chrono::milliseconds(4000), "2s");
  ASSERT_EQ(held.events.size(), 3u) << held.response.body;
  EXPECT_FALSE(json::parse(held.events[1]).contains("error"));
  EXPECT_EQ(held.events.back(), "[DONE]");
  EXPECT_EQ(held.response.header("x-llm-router-attempts"), "only=ok");
}

TEST(BadAnswers, TheUsageChunkTheRouterAskedForIsNotRelayedHoweverItIsSpaced) {
  const std::string usage =
      R"(data: {"id": "s", "object": "chat.completion.chunk", "choices": [], )"
      R"("usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}})"
      "\n\n";
  const auto events = streamed_events(kChunk + kFinish + usage + "data: [DONE]\n\n");
  ASSERT_EQ(events.size(), 3u);
  for (const auto& event : events) {
    if (event == "[DONE]") continue;
    EXPECT_FALSE(json::parse(event)["choices"].empty()) << event;
  }
}

// A stream that breaks after its first content cannot fall back, but it is the backend's
// failure: it counts for the circuit breaker (and the access log says 502, not 200).
TEST(BadAnswers, StreamsThatBreakAfterContentOpenTheCircuit) {
  const std::string error_event =
      R"(data: {"error":{"message":"overloaded","type":"server_error"}})"
      "\n\n";
  for (const std::string& events : {kChunk, kChunk + error_event + "data: [DONE]\n\n"}) {
    CannedBackend broken([&](const std::string&) { return sse_response(events); });
    Router router(router_config(
        {{"broken", broken.url(), "circuit_breaker: {failure_threshold: 2, cooldown: 1m}"},
         {"backup", ""}},
        "[broken]", "[backup]"));
    HttpClient client(router.port());
    const std::string body = chat_body("auto", "x", R"(,"stream":true)");
    for (int i = 0; i < 2; ++i) {
      const auto response = client.post_json("/v1/chat/completions", body);
      EXPECT_EQ(response.header("x-llm-router-backend"), "broken");
      EXPECT_TRUE(json::parse(sse_data(response.body).at(1)).contains("error")) << response.body;
    }
    const auto after = client.post_json("/v1/chat/completions", body);
    EXPECT_EQ(after.header("x-llm-router-backend"), "backup") << events;
    const auto metrics = client.request("GET", "/metrics");
    EXPECT_NE(metrics.body.find(R"(backend="broken",status="502"} 2)"), std::string::npos)
        << metrics.body;
  }
}

// A backend that ignores "stream": true answers with JSON: the client still gets events.
TEST(BadAnswers, AWholeAnswerToAStreamRequestIsSentAsEvents) {
  const std::string with_tools =
      R"({"id":"c2","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,)"
      R"("message":{"role":"assistant","content":null,"tool_calls":[{"id":"t1","type":"function",)"
      R"("function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}],)"
      R"("usage":{"prompt_tokens":3,"completion_tokens":6,"total_tokens":9}})";
  for (const bool usage : {false, true}) {
    CannedBackend plain(
        [&](const std::string&) { return http_response(200, "application/json", with_tools); });
    Router router(router_config({{"plain", plain.url()}}, "[plain]"));
    HttpClient client(router.port());
    const std::string extra =
        usage ? R"(,"stream":true,"stream_options":{"include_usage":true})" : R"(,"stream":true)";
    const auto response = client.post_json("/v1/chat/completions", chat_body("auto", "x", extra));
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.header("content-type"), "text/event-stream");
    const auto events = sse_data(response.body);
    ASSERT_EQ(events.size(), usage ? 4u : 3u) << response.body;
    const json first = json::parse(events[0]);
    EXPECT_EQ(first["object"], "chat.completion.chunk");
    EXPECT_EQ(first["id"], "c2");
    const json call = first["choices"][0]["delta"]["tool_calls"][0];
    EXPECT_EQ(call["index"], 0);
    EXPECT_EQ(call["function"]["name"], "f");
    EXPECT_EQ(json::parse(events[1])["choices"][0]["finish_reason"], "tool_calls");
    if (usage) {
      EXPECT_EQ(json::parse(events[2])["usage"]["total_tokens"], 9);
    }
    EXPECT_EQ(events.back(), "[DONE]");
  }
}

// When every backend failed, the error names what each said (its short message), except what a
// 401 about the router's own key says: backends quote the key they refused, masked or not.
TEST(BadAnswers, ABackendsErrorMessageReachesTheClientButNotItsWordsOnTheRoutersKey) {
  CannedBackend overloaded([](const std::string&) {
    return http_response(500, "application/json",
                         R"({"error":{"message":"model overloaded, try later","type":"x"}})");
  });
  for (const std::string refusal :
       {"Incorrect API key provided: sk-ab****1234", "Invalid API key sk-abc...1234, check it"}) {
    CannedBackend unauthorized([&](const std::string&) {
      return http_response(
          401, "application/json",
          R"({"error":{"message":")" + refusal + R"(","code":"invalid_api_key"}})");
    });
    Router router(
        router_config({{"overloaded", overloaded.url()}, {"unauthorized", unauthorized.url()}},
                      "[overloaded]", "[unauthorized]"));
    HttpClient client(router.port());
    const auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
    EXPECT_EQ(response.status, 502);
    EXPECT_NE(response.body.find("model overloaded, try later"), std::string::npos)
        << response.body;
    EXPECT_EQ(response.body.find("1234"), std::string::npos) << response.body;
    EXPECT_EQ(response.body.find("invalid_api_key"), std::string::npos) << response.body;
    EXPECT_NE(response.body.find("HTTP 401 (the backend refused the router's credentials"),
              std::string::npos)
        << response.body;
  }
}

// A 403 is not always about the key: the backend's reason is kept. A 404 is the router's
// misconfiguration: a 502 whose type does not say the client's request was invalid.
TEST(BadAnswers, ForbiddenAndNotFoundKeepTheBackendsReasonUnderTheRoutersStatus) {
  CannedBackend forbidden([](const std::string&) {
    return http_response(403, "application/json",
                         R"({"error":{"message":"Country, region, or territory not supported",)"
                         R"("code":"unsupported_country_region_territory"}})");
  });
  CannedBackend missing([](const std::string&) {
    return http_response(
        404, "application/json",
        R"({"error":{"message":"The model `gpt-9` does not exist",)"
        R"("type":"invalid_request_error","param":"model","code":"model_not_found"}})");
  });
  for (const auto* backend : {&forbidden, &missing}) {
    Router router(router_config({{"only", backend->url()}}, "[only]"));
    HttpClient client(router.port());
    const auto response = client.post_json("/v1/chat/completions", chat_body("auto"));
    EXPECT_EQ(response.status, 502) << response.body;
    const json error = json::parse(response.body)["error"];
    EXPECT_NE(error["type"], "invalid_request_error") << response.body;
    EXPECT_TRUE(error["param"].is_null()) << response.body;
    const std::string message = error["message"];
    if (backend == &forbidden) {
      EXPECT_NE(message.find("Country, region, or territory not supported"), std::string::npos);
      EXPECT_EQ(error["code"], "unsupported_country_region_territory");
    } else {
      EXPECT_NE(message.find("does not exist"), std::string::npos) << message;
      EXPECT_EQ(error["code"], "model_not_found");
    }
  }
}

}  // namespace
}  // namespace test_support
