// A backend behind HTTPS: its certificate is verified against the system's trust store plus
// the backend's ca_file; one not trusted is a failed connection (nothing is sent to it).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "integration/router_config.hpp"
#include "support/fixtures.hpp"
#include "support/tls_backend.hpp"

namespace test_support {
namespace {

using nlohmann::json;

const std::string kAnswer =
    R"({"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,)"
    R"("message":{"role":"assistant","content":"over TLS"},"finish_reason":"stop"}],)"
    R"("usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}})";

const std::string kStream =
    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
    R"(data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"m",)"
    R"("choices":[{"index":0,"delta":{"content":"streamed over TLS"},"finish_reason":"stop"}]})"
    "\n\ndata: [DONE]\n\n";

std::string respond(const std::string& body) {
  return json::parse(body).value("stream", false) ? kStream
                                                  : http_response(200, "application/json", kAnswer);
}

TEST(TlsBackend, AnswersAndStreamsOverHttpsTrustedThroughItsCaFile) {
  TlsBackend backend(respond);
  // By address and by name: the certificate names both.
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    Router router(router_config(
        {{"secure", backend.url(host), "ca_file: " + TlsBackend::certificate()}}, "[secure]"));
    HttpClient client(router.port());
    const auto answer = client.post_json("/v1/chat/completions", chat_body("auto"));
    ASSERT_EQ(answer.status, 200) << answer.body;
    EXPECT_EQ(answer.header("x-llm-router-backend"), "secure");
    EXPECT_EQ(json::parse(answer.body)["choices"][0]["message"]["content"], "over TLS");
    const auto stream =
        client.post_json("/v1/chat/completions", chat_body("auto", "hi", R"(,"stream":true)"));
    ASSERT_EQ(stream.status, 200) << stream.body;
    const auto events = sse_data(stream.body);
    ASSERT_GE(events.size(), 2u) << stream.body;
    EXPECT_EQ(json::parse(events[0])["choices"][0]["delta"]["content"], "streamed over TLS");
    EXPECT_EQ(events.back(), "[DONE]");
  }
}

TEST(TlsBackend, AnUntrustedCertificateFailsTheConnectionAndTheFallbackAnswers) {
  TlsBackend backend(respond);
  Router router(router_config({{"secure", backend.url()}, {"backup", ""}}, "[secure]", "[backup]"));
  HttpClient client(router.port());
  const auto answer = client.post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(answer.header("x-llm-router-backend"), "backup");
  // Tried once: a certificate not trusted stays so.
  EXPECT_EQ(answer.header("x-llm-router-attempts"), "secure=connect_failed, backup=ok");
  EXPECT_EQ(backend.handshakes(), 0);
  // Alone, the client hears why, and that asking again will not help.
  Router alone(router_config({{"secure", backend.url()}}, "[secure]"));
  HttpClient alone_client(alone.port());
  const auto refused = alone_client.post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(refused.status, 502);
  EXPECT_NE(refused.body.find("the backend's TLS certificate is not trusted"), std::string::npos)
      << refused.body;
  EXPECT_NE(refused.body.find("ca_file"), std::string::npos) << refused.body;
  EXPECT_EQ(refused.body.find("127.0.0.1"), std::string::npos) << "no host in a client's error";
  EXPECT_EQ(refused.header("x-should-retry"), "false");
}

// A trusted certificate that names another host is refused as such (not as an unknown CA).
TEST(TlsBackend, ACertificateForAnotherHostIsRefused) {
  TlsBackend elsewhere(respond, "127.0.0.2");
  Router router(router_config(
      {{"secure", elsewhere.url("127.0.0.2"), "ca_file: " + TlsBackend::certificate()}},
      "[secure]"));
  HttpClient client(router.port());
  const auto refused = client.post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(refused.status, 502);
  EXPECT_NE(refused.body.find("does not name the host of the backend's base_url"),
            std::string::npos)
      << refused.body;
  EXPECT_EQ(elsewhere.handshakes(), 0);
}

TEST(TlsBackend, ACaFileThatCannotBeUsedIsAConfigError) {
  TempFile not_pem("not.pem", "no certificate here\n");
  for (const auto& [extra, message] : std::vector<std::pair<std::string, std::string>>{
           {"ca_file: /no/such/ca.pem", "ca_file /no/such/ca.pem"},
           {"ca_file: " + not_pem.path(), "ca_file " + not_pem.path()}}) {
    TempFile config("tls.yaml",
                    router_config({{"secure", "https://127.0.0.1:9/v1", extra}}, "[secure]"));
    ChildProcess check(
        {"/bin/bash", "-c",
         std::string(LLM_ROUTER_BIN) + " check --config " + config.path() + " 2>&1"});
    EXPECT_TRUE(check.wait_for_line(message, std::chrono::seconds(20))) << extra;
    EXPECT_EQ(check.wait(std::chrono::seconds(10)), 1) << extra;
  }
  TempFile plain(
      "plain.yaml",
      router_config({{"plain", "http://127.0.0.1:9/v1", "ca_file: " + TlsBackend::certificate()}},
                    "[plain]"));
  ChildProcess check({"/bin/bash", "-c",
                      std::string(LLM_ROUTER_BIN) + " check --config " + plain.path() + " 2>&1"});
  EXPECT_TRUE(check.wait_for_line("ca_file: is for a backend whose base_url is https://",
                                  std::chrono::seconds(20)));
  EXPECT_EQ(check.wait(std::chrono::seconds(10)), 1);
}

}  // namespace
}  // namespace test_support
