// /metrics, /admin/stats and /ui move with traffic.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <thread>

#include "integration/router_config.hpp"
#include "llm_router/tokenizer/tokenizer.hpp"
#include "support/canned_backend.hpp"
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
  HttpClient idle(router.port());
  ASSERT_EQ(idle.request("GET", "/healthz").status, 200);  // a second keep-alive connection
  auto metrics = client.request("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("\nllm_router_connections_open 2\n"), std::string::npos);
  EXPECT_NE(metrics.header("content-type").find("text/plain"), std::string::npos);
  const std::string& text = metrics.body;
  for (const char* family :
       {"llm_router_requests_total", "llm_router_request_duration_seconds_bucket",
        "llm_router_time_to_first_token_seconds", "llm_router_input_tokens_total",
        "llm_router_output_tokens_total", "llm_router_cost_usd_total",
        "llm_router_upstream_attempts_total", "llm_router_fallbacks_total",
        "llm_router_backend_breaker_state", "llm_router_upstream_in_flight",
        "llm_router_build_info{version=", "\nprocess_cpu_seconds_total ",
        "\nprocess_resident_memory_bytes ", "\nprocess_open_fds ", "\nprocess_max_fds ",
        "\nprocess_start_time_seconds "}) {
    EXPECT_NE(text.find(family), std::string::npos) << family;
  }
  EXPECT_NE(
      text.find(R"(llm_router_requests_total{route="auto",backend="healthy",status="200"} 3)"),
      std::string::npos)
      << text.substr(0, 3000);
  EXPECT_NE(text.find(R"(from_backend="failing")"), std::string::npos);
}

// Every answer carries the request's id, not only completions: the openai SDKs report it as
// `_request_id` / `err.requestID`.
TEST(RequestId, EveryAnswerCarriesOne) {
  Router router(router_config({{"builtin", ""}}, "[builtin]"));
  HttpClient client(router.port());
  EXPECT_FALSE(client.request("GET", "/v1/models").header("x-request-id").empty());
  const auto missing = client.request("GET", "/v1/files", "", {{"x-request-id", "req-mine-1"}});
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.header("x-request-id"), "req-mine-1");
  EXPECT_FALSE(client.request("DELETE", "/v1/models").header("x-request-id").empty());
}

TEST(Metrics, TokensAreEstimatedWhenTheBackendReportsNoUsage) {
  MockLlm silent({"--no-usage"});
  Router router(router_config({{"silent", silent.url()}}, "[silent]"));
  HttpClient client(router.port());
  const auto answer =
      client.post_json("/v1/chat/completions", chat_body("auto", "count my tokens"));
  ASSERT_EQ(answer.status, 200);
  // The client gets the counted usage too.
  const auto usage = json::parse(answer.body)["usage"];
  EXPECT_GT(usage["prompt_tokens"].get<int>(), 0) << answer.body;
  EXPECT_GT(usage["completion_tokens"].get<int>(), 0) << answer.body;
  EXPECT_EQ(usage["total_tokens"].get<int>(),
            usage["prompt_tokens"].get<int>() + usage["completion_tokens"].get<int>());
  EXPECT_EQ(answer.header("x-llm-router-usage"), "estimated");  // billing can tell
  const std::string text = client.request("GET", "/metrics").body;
  const std::string prefix = R"(llm_router_output_tokens_total{route="auto",backend="silent"} )";
  const auto at = text.find(prefix);
  ASSERT_NE(at, std::string::npos);
  EXPECT_GT(std::stod(text.substr(at + prefix.size())), 0);
}

TEST(Metrics, ANullUsageIsFilledInWithTheCountedOne) {
  CannedBackend null_usage([](const std::string&) {
    return http_response(200, "application/json",
                         R"({"id":"c","object":"chat.completion","choices":[{"index":0,)"
                         R"("message":{"role":"assistant","content":"four words of answer"},)"
                         R"("finish_reason":"stop"}],"usage": null})");
  });
  Router router(router_config({{"nulls", null_usage.url()}}, "[nulls]"));
  HttpClient client(router.port());
  const auto answer = client.post_json("/v1/chat/completions", chat_body("auto", "count me"));
  ASSERT_EQ(answer.status, 200);
  const auto usage = json::parse(answer.body)["usage"];
  ASSERT_TRUE(usage.is_object()) << answer.body;
  EXPECT_GT(usage["prompt_tokens"].get<int>(), 0) << answer.body;
  EXPECT_GT(usage["completion_tokens"].get<int>(), 0) << answer.body;
}

// A client that leaves before the built-in mock's answer: no backend answered, nothing failed.
TEST(Metrics, AClientLeavingBeforeTheMocksAnswerCountsNoBackendAndNoFailure) {
  Router router(
      "server: {threads: 1}\nlogging: {level: warn}\nbackends:\n  - name: slow\n"
      "    provider: mock\n    mock: {time_to_first_token: 3s}\nroutes:\n  - name: auto\n"
      "    use: [slow]\n");
  post_and_leave(router.port(), "/v1/chat/completions", chat_body("auto"),
                 std::chrono::milliseconds(300));
  HttpClient client(router.port());
  const std::string counted =
      R"(llm_router_requests_total{route="auto",backend="-",status="499"} 1)";
  std::string text;
  for (int i = 0; i < 100 && text.find(counted) == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    text = client.request("GET", "/metrics").body;
  }
  EXPECT_NE(text.find(counted), std::string::npos) << text.substr(0, 2000);
  const json stats = json::parse(client.request("GET", "/admin/stats").body);
  EXPECT_EQ(stats["total"]["fallbacks"], 0) << stats.dump();
  EXPECT_EQ(stats["recent"][0]["attempts"], 1) << stats.dump();
  // Epoch milliseconds are integers: a client decoding an int64 refuses 1700000000000.0.
  EXPECT_TRUE(stats["now_ms"].is_number_integer()) << stats["now_ms"];
  EXPECT_TRUE(stats["series_start_ms"].is_number_integer()) << stats["series_start_ms"];
  EXPECT_TRUE(stats["recent"][0]["time_ms"].is_number_integer()) << stats["recent"][0];
}

// A client that asked for stream usage gets a usage chunk even from a backend that sends none.
TEST(Metrics, AStreamWithoutUsageGetsTheCountedUsageChunk) {
  MockLlm silent({"--no-usage"});
  Router router(router_config({{"silent", silent.url()}}, "[silent]"));
  HttpClient client(router.port());
  auto stream =
      client.stream("/v1/chat/completions",
                    chat_body("auto", "count my tokens",
                              R"(,"stream":true,"stream_options":{"include_usage":true})"),
                    [](const std::string&) { return true; });
  ASSERT_EQ(stream.status, 200);
  const auto events = sse_data(stream.body);
  ASSERT_GE(events.size(), 3u);
  ASSERT_EQ(events.back(), "[DONE]");
  const auto usage_chunk = json::parse(events[events.size() - 2]);
  EXPECT_TRUE(usage_chunk["choices"].empty()) << stream.body;
  EXPECT_GT(usage_chunk["usage"]["completion_tokens"].get<int>(), 0) << stream.body;
  EXPECT_EQ(usage_chunk["id"], json::parse(events.front())["id"]);
  // Not asked for: relayed as the backend sent it.
  auto plain = client.stream("/v1/chat/completions",
                             chat_body("auto", "count my tokens", R"(,"stream":true)"),
                             [](const std::string&) { return true; });
  EXPECT_EQ(plain.body.find("\"usage\""), std::string::npos) << plain.body;
}

double metric_value(const std::string& text, const std::string& series) {
  const auto at = text.find(series + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 1));
}

TEST(Metrics, MissingUsageIsCountedWithTheBackendsTokenizer) {
  const std::string answer = "Tokenizers differ: naïve café costs 12345 tokens, doesn't it? 🎉";
  MockLlm silent({"--no-usage", "--content", answer});
  const auto tables = std::string(LLM_ROUTER_SOURCE_DIR) + "/config/tokenizers";
  Router router(router_config({{"silent", silent.url(), "tokenizer: cl100k_base"}}, "[silent]",
                              "[]", "  tokenizers_dir: " + tables + "\n"));
  HttpClient client(router.port());
  ASSERT_EQ(client.post_json("/v1/chat/completions", chat_body("auto", "hi")).status, 200);
  auto stream = client.stream("/v1/chat/completions", chat_body("auto", "hi", R"(,"stream":true)"),
                              [](const std::string&) { return true; });
  ASSERT_EQ(stream.status, 200);
  ASSERT_EQ(sse_data(stream.body).back(), "[DONE]");
  const auto encoder = llm_router::tokenizer::Encoder::load_from_directory(
      llm_router::tokenizer::Encoding::cl100k_base, tables);
  const std::string text = client.request("GET", "/metrics").body;
  EXPECT_EQ(metric_value(text, R"(llm_router_output_tokens_total{route="auto",backend="silent"})"),
            2.0 * static_cast<double>(encoder.count(answer)));
}

TEST(Config, AnUnloadableTokenizerNamedByABackendIsAStartupError) {
  TempFile config("llm-router.yaml",
                  router_config({{"b", "", "tokenizer: o200k_base"}}, "[b]", "[]",
                                "  tokenizers_dir: /nonexistent/tokenizers\n"));
  ChildProcess serve({LLM_ROUTER_BIN, "serve", "--config", config.path()});
  const auto code = serve.wait(std::chrono::seconds(20));
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
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
  EXPECT_EQ(page.body.find("src=\"http"), std::string::npos);
  EXPECT_EQ(page.body.find("href=\"http"), std::string::npos);
  // Not to be framed by another site's page.
  EXPECT_EQ(page.header("x-frame-options"), "DENY");
  EXPECT_EQ(page.header("content-security-policy"), "frame-ancestors 'none'");
}

TEST(AdminKey, AdminEndpointsNeedTheKeyWhenOneIsSet) {
  MockLlm backend;
  Router router(router_config({{"only", backend.url()}}, "[only]", "[]", "  admin_key: s3cret\n"));
  HttpClient client(router.port());
  const auto refused = client.request("GET", "/metrics");
  EXPECT_EQ(refused.status, 401);
  EXPECT_TRUE(refused.header("www-authenticate").starts_with("Bearer")) << "no challenge";
  EXPECT_EQ(client.request("POST", "/admin/reload").status, 401);
  for (const char* right : {"Bearer s3cret", "bearer s3cret", "BEARER s3cret"}) {
    EXPECT_EQ(client.request("GET", "/metrics", "", {{"authorization", right}}).status, 200)
        << right;
  }
  for (const char* wrong : {"Bearer s3cre", "Bearer s3creT", "Bearer s3cret2", "s3cret",
                            "Basic s3cret", "Bearer  s3cret"}) {
    EXPECT_EQ(client.request("GET", "/metrics", "", {{"authorization", wrong}}).status, 401)
        << wrong;
  }
  // The OpenAI API itself stays open.
  EXPECT_EQ(client.post_json("/v1/chat/completions", chat_body("auto")).status, 200);
}

}  // namespace
}  // namespace test_support

namespace test_support {
namespace {

// The request log's line for request `id`, once the writer has written it ("" after 5 s).
std::string log_line_of(const std::string& log_path, const std::string& id) {
  for (int i = 0; i < 100; ++i) {
    std::ifstream in(log_path);
    std::string candidate;
    while (std::getline(in, candidate)) {
      if (candidate.find(id) != std::string::npos) return candidate;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return "";
}

TEST(RequestLog, OneJsonLinePerRequestWithRedactedPrompt) {
  MockLlm backend;
  TempFile placeholder("requests.jsonl", "");
  const std::string log_path = placeholder.path();
  Router router(router_config({{"only", backend.url()}}, "[only]", "[]", "") +
                "request_log: {path: " + log_path + ", log_prompts: true}\n");
  HttpClient client(router.port());
  auto response = client.post_json(
      "/v1/chat/completions", chat_body("auto", "mail me at jane.doe@example.com please"),
      {{"x-request-id", "log-test-1"}, {"authorization", "Bearer sk-client-secret-123"}});
  ASSERT_EQ(response.status, 200);
  const std::string line = log_line_of(log_path, "log-test-1");
  ASSERT_FALSE(line.empty());
  auto entry = nlohmann::json::parse(line);
  EXPECT_EQ(entry["route"], "auto");
  EXPECT_EQ(entry["status"], 200);
  EXPECT_EQ(entry["attempts"][0]["backend"], "only");
  EXPECT_EQ(line.find("jane.doe@example.com"), std::string::npos);
  EXPECT_NE(line.find("[REDACTED:email]"), std::string::npos);
  // The prompt's text, not the request's JSON.
  EXPECT_EQ(entry["prompt"], "user\nmail me at [REDACTED:email] please");
  const std::string key_id = entry["client_key_id"];
  EXPECT_EQ(key_id.rfind("key-", 0), 0u);
  EXPECT_EQ(key_id.size(), 16u);
  EXPECT_EQ(line.find("sk-client-secret-123"), std::string::npos);
  auto stats = json::parse(client.request("GET", "/admin/stats?window=5m").body);
  EXPECT_EQ(stats["client_keys"][key_id]["requests"], 1);
}

// A client that leaves mid-stream is a 499 for the request, but the backend's attempt answered
// (200) and was cut by the client's leaving (cancelled, as an abandoned non-stream one), not
// counted as a whole answer nor as the backend's failure.
TEST(RequestLog, AClientLeavingMidStreamLeavesTheAttemptAnswered) {
  MockLlm backend({"--ttft-ms", "0", "--tokens", "40", "--token-delay-ms", "30"});
  TempFile placeholder("requests.jsonl", "");
  Router router(router_config({{"only", backend.url()}}, "[only]") +
                "request_log: {path: " + placeholder.path() + "}\n");
  HttpClient client(router.port());
  client.stream("/v1/chat/completions", chat_body("auto", "x", R"(,"stream":true)"),
                [](const std::string&) { return false; });  // leaves at the first bytes
  const std::string line = log_line_of(placeholder.path(), "\"status\":499");
  ASSERT_FALSE(line.empty());
  const auto entry = json::parse(line);
  EXPECT_EQ(entry["attempts"][0]["status"], 200) << line;
  EXPECT_EQ(entry["attempts"][0]["reason"], "cancelled") << line;
  const std::string metrics = client.request("GET", "/metrics").body;
  EXPECT_NE(
      metrics.find(R"(llm_router_upstream_attempts_total{backend="only",outcome="cancelled"} 1)"),
      std::string::npos)
      << metrics;
  EXPECT_EQ(metrics.find(R"(llm_router_upstream_attempts_total{backend="only",outcome="ok"})"),
            std::string::npos);
}

// A stream the backend cut after its 200 head: the attempt answered (status 200) and then broke.
TEST(RequestLog, AStreamCutByTheBackendKeepsTheAttemptsStatus) {
  MockLlm backend({"--drop-after", "3"});
  TempFile placeholder("requests.jsonl", "");
  Router router(router_config({{"only", backend.url()}}, "[only]") +
                "request_log: {path: " + placeholder.path() + "}\n");
  HttpClient client(router.port());
  const auto response =
      client.post_json("/v1/chat/completions", chat_body("auto", "x", R"(,"stream":true)"),
                       {{"x-request-id", "cut-stream"}});
  EXPECT_EQ(response.status, 200);
  const std::string line = log_line_of(placeholder.path(), "cut-stream");
  ASSERT_FALSE(line.empty());
  const auto entry = json::parse(line);
  EXPECT_EQ(entry["attempts"][0]["status"], 200) << line;
  EXPECT_EQ(entry["attempts"][0]["reason"], "upstream_closed") << line;
  // Written lines are counted for /metrics (dropped and failed ones too), once flushed.
  const std::string written = "llm_router_request_log_lines_total{outcome=\"written\"} 1";
  std::string metrics;
  for (int i = 0; i < 100 && metrics.find(written) == std::string::npos; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    metrics = client.request("GET", "/metrics").body;
  }
  EXPECT_NE(metrics.find(written), std::string::npos) << metrics;
}

// A weak answer set aside by the cascade was still an answer: its attempt says 200.
TEST(RequestLog, AnAnswerSetAsideKeepsTheAttemptsStatus) {
  MockLlm cheap({"--content", "I'm sorry, but I can't help with that."});
  MockLlm strong;
  TempFile placeholder("requests.jsonl", "");
  Router router(
      router_config({{"cheap", cheap.url()}, {"strong", strong.url()}}, "[cheap, strong]") +
      "    strategy: ordered\n    cascade: {enabled: true}\n" +
      "request_log: {path: " + placeholder.path() + "}\n");
  HttpClient client(router.port());
  const auto response =
      client.post_json("/v1/chat/completions", chat_body("auto"), {{"x-request-id", "set-aside"}});
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("x-llm-router-attempts"), "cheap=low_confidence(200), strong=ok");
  const std::string line = log_line_of(placeholder.path(), "set-aside");
  ASSERT_FALSE(line.empty());
  const auto entry = json::parse(line);
  EXPECT_EQ(entry["attempts"][0]["status"], 200) << line;
  EXPECT_EQ(entry["attempts"][0]["reason"], "low_confidence") << line;
}

// Redaction switched on by a reload applies to the next request; what a reload cannot change
// (the file) is reported as needing a restart, not silently ignored.
TEST(RequestLog, AReloadAppliesPromptSettingsAndReportsTheFileAsFixed) {
  MockLlm backend;
  TempFile placeholder("requests.jsonl", "");
  const std::string log_path = placeholder.path();
  const std::string base =
      router_config({{"only", backend.url()}}, "[only]", "[]", "  watch_config: false\n");
  Router router(base + "request_log: {path: " + log_path + ", log_prompts: true, redact: false}\n");
  HttpClient client(router.port());
  const std::string prompt = chat_body("auto", "mail me at jane.doe@example.com please");
  ASSERT_EQ(client.post_json("/v1/chat/completions", prompt, {{"x-request-id", "before"}}).status,
            200);
  EXPECT_NE(log_line_of(log_path, "before").find("jane.doe@example.com"), std::string::npos);

  std::ofstream(router.config_path(), std::ios::trunc)
      << base << "request_log: {path: " << log_path << ".new, log_prompts: true}\n";
  const auto reload = client.request("POST", "/admin/reload");
  ASSERT_EQ(reload.status, 200) << reload.body;
  EXPECT_EQ(json::parse(reload.body)["restart_required"], json::array({"request_log.path"}));
  ASSERT_EQ(client.post_json("/v1/chat/completions", prompt, {{"x-request-id", "after"}}).status,
            200);
  const std::string after = log_line_of(log_path, "after");  // still the file it opened
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(after.find("jane.doe@example.com"), std::string::npos) << after;
  EXPECT_NE(after.find("[REDACTED:email]"), std::string::npos) << after;
}

}  // namespace
}  // namespace test_support

namespace test_support {
namespace {

// A router on the built-in mock whose log (stderr) is read through a shell that joins it to
// stdout; `logging`: the config's logging line.
struct LoggingRouter {
  explicit LoggingRouter(const std::string& logging)
      : file("router.yaml", with_logging(logging)),
        process({"/bin/sh", "-c",
                 std::string("exec ") + LLM_ROUTER_BIN + " serve --config " + file.path() +
                     " --listen 127.0.0.1:0 2>&1"}) {
    if (const auto listening = process.wait_for_line("listening on", std::chrono::seconds(10))) {
      port = parse_listening_port(*listening);
    }
  }
  static std::string with_logging(const std::string& logging) {
    std::string config = router_config({{"builtin", ""}}, "[builtin]");
    return config.replace(config.find("logging: {level: warn}"), 22, logging);
  }
  TempFile file;
  ChildProcess process;
  int port = 0;
};

// For log collectors: `logging.format: json` writes every line as one JSON object, and the
// access line's values parse as logfmt (the attempts list quoted; a client's request id that
// would need quoting is replaced by the router's own).
TEST(AccessLog, JsonLinesCarryLogfmtSafeAccessLines) {
  LoggingRouter logging("logging: {level: info, format: json}");
  ChildProcess& router = logging.process;
  ASSERT_NE(logging.port, 0);
  HttpClient client(logging.port);
  const auto answer =
      client.post_json("/v1/chat/completions", chat_body("auto"), {{"x-request-id", "q\"uote=1"}});
  ASSERT_EQ(answer.status, 200);
  EXPECT_NE(answer.header("x-request-id"), "q\"uote=1");
  const auto line = router.wait_for_line("attempts=", std::chrono::seconds(10));
  ASSERT_TRUE(line);
  const json parsed = json::parse(*line, nullptr, false);
  ASSERT_TRUE(parsed.is_object()) << *line;
  EXPECT_EQ(parsed["level"], "info");
  const std::string message = parsed["message"];
  EXPECT_NE(message.find(R"(attempts="[builtin=ok]")"), std::string::npos) << message;
  EXPECT_NE(message.find("request_id=" + answer.header("x-request-id") + " "), std::string::npos)
      << message;
}

TEST(AccessLog, EveryRequestThatIsNotACompletionGetsALineToo) {
  LoggingRouter logging("logging: {level: info}");
  ChildProcess& router = logging.process;
  ASSERT_NE(logging.port, 0);
  HttpClient client(logging.port);
  EXPECT_EQ(client
                .request("GET", "/v1/no-such-path?key=sk-in-query-123", "",
                         {{"x-request-id", "trace-404"}})
                .status,
            404);
  const auto line = router.wait_for_line("status=404", std::chrono::seconds(10));
  ASSERT_TRUE(line);
  EXPECT_NE(line->find("request_id=trace-404 method=GET path=/v1/no-such-path status=404"),
            std::string::npos)
      << *line;
  EXPECT_EQ(line->find("sk-in-query"), std::string::npos) << *line;  // the query is not logged
  EXPECT_EQ(client.request("DELETE", "/v1/models").status, 405);
  EXPECT_TRUE(
      router.wait_for_line("method=DELETE path=/v1/models status=405", std::chrono::seconds(10)));
  // A path with a quote, a backslash or `=` is quoted: the line still parses as logfmt.
  EXPECT_EQ(client.request("GET", "/a\"b\\c=d").status, 404);
  EXPECT_TRUE(router.wait_for_line(R"(path="/a\"b\\c=d" status=404)", std::chrono::seconds(10)));
  // The caller's key by its id, never the key itself.
  EXPECT_EQ(client
                .request("POST", "/v1/route", chat_body("auto"),
                         {{"authorization", "Bearer sk-caller-secret-42"}})
                .status,
            200);
  const auto routed = router.wait_for_line("path=/v1/route status=200", std::chrono::seconds(10));
  ASSERT_TRUE(routed);
  EXPECT_NE(routed->find(" key=key-"), std::string::npos) << *routed;
  EXPECT_EQ(routed->find("sk-caller"), std::string::npos) << *routed;
  // A completion refused before anything was sent has no time to first byte, not a made-up one.
  EXPECT_EQ(client.post_json("/v1/chat/completions", chat_body("no-such-model")).status, 404);
  const auto refused = router.wait_for_line("status=404 stream=", std::chrono::seconds(10));
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->find(" ttfb_ms=- "), std::string::npos) << *refused;
}

}  // namespace
}  // namespace test_support
