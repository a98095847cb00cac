// mock-llm: an OpenAI-compatible server for tests and benchmarks, answered by the same mock
// engine as the router's `mock` provider. Behaviour comes from flags and, per request, from a
// body field "mock": {"status", "ttft_ms", "token_delay_ms", "tokens", "hang",
// "drop_after_tokens", "error_event", "retry_after_ms", "content", "finish_reason"}.
// GET /models is its health path: `--models-status CODE` or POST /mock/models_status
// {"status": CODE} makes it fail (health-check tests), without touching the API answers.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <iostream>
#include <mutex>
#include <random>

#include "llm_router/api/json_parse.hpp"
#include "llm_router/cli/options.hpp"
#include "llm_router/config/yaml_reader.hpp"
#include "llm_router/core/logging.hpp"
#include "llm_router/mock/mock_engine.hpp"
#include "llm_router/server/http_server.hpp"

namespace {

namespace asio = boost::asio;
using namespace llm_router;
using nlohmann::json;
using server::Header;
using server::Headers;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

struct MockSettings {
  config::MockBehavior behavior;
  std::string model = "mock-model";
  int role_chunk_ms = -1;  // >= 0: streams open with a role-only chunk, then wait this long
};

struct Stats {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<int> models_status{200};  // what GET /models answers
  const server::ServerCounters* counters = nullptr;
  std::mutex last_mutex;
  json last_request = json::object();  // body and headers of the last API request

  void remember(const server::HttpRequest& request) {
    json headers = json::object();
    for (const auto& h : request.headers) headers[h.name] = h.value;
    json body = api::parse_json_value(request.body);
    std::lock_guard lock(last_mutex);
    last_request = {{"path", request.target},
                    {"headers", std::move(headers)},
                    {"body", body.is_discarded() ? json(request.body) : std::move(body)}};
  }
  std::string last() {
    std::lock_guard lock(last_mutex);
    return last_request.dump();
  }
};

class MockHandler final : public server::RequestHandler {
 public:
  MockHandler(asio::io_context& io, const MockSettings& settings, Stats& stats)
      : io_(io), settings_(settings), stats_(stats), random_(std::random_device{}()) {}

  asio::awaitable<void> handle(server::HttpRequest& request,
                               server::ResponseWriter& writer) override {
    std::string_view path = request.path();
    if (path.starts_with("/v1/")) path.remove_prefix(3);
    if (path == "/mock/stats") {
      std::string body = json{{"requests", stats_.requests.load()},
                              {"connections", stats_.counters->connections_accepted.load()},
                              {"open_connections", stats_.counters->connections_open.load()}}
                             .dump();
      co_await send_json(writer, 200, std::move(body));
      co_return;
    }
    if (path == "/mock/last_request") {
      co_await send_json(writer, 200, stats_.last());
      co_return;
    }
    if (path == "/healthz") {
      co_await send_json(writer, 200, std::string(R"({"status":"ok"})"));
      co_return;
    }
    if (path == "/mock/models_status") {
      const json body = json::parse(request.body, nullptr, false);
      if (!body.is_object() || !body.contains("status") || !body["status"].is_number_integer()) {
        co_await send_json(writer, 400, mock::error_body_for(400));
        co_return;
      }
      stats_.models_status.store(body["status"].get<int>());
      co_await send_json(writer, 200, std::string(R"({"status":"ok"})"));
      co_return;
    }
    if (path == "/models") {
      if (const int status = stats_.models_status.load(); status != 200) {
        co_await send_json(writer, status, mock::error_body_for(status));
        co_return;
      }
      std::string body =
          json{{"object", "list"},
               {"data", json::array({{{"id", settings_.model}, {"object", "model"}}})}}
              .dump();
      co_await send_json(writer, 200, std::move(body));
      co_return;
    }
    stats_.requests.fetch_add(1);
    stats_.remember(request);
    mock::Endpoint endpoint = mock::Endpoint::chat;
    if (path == "/completions") {
      endpoint = mock::Endpoint::completions;
    } else if (path == "/embeddings") {
      endpoint = mock::Endpoint::embeddings;
    } else if (path != "/chat/completions") {
      co_await send_json(writer, 404, mock::error_body_for(404));
      co_return;
    }
    // Read as the router reads requests (a lone surrogate escape is U+FFFD, not an error).
    json body = api::parse_json_value(request.body);
    if (!body.is_object()) {
      co_await send_json(writer, 400, mock::error_body_for(400));
      co_return;
    }
    const auto model_it = body.find("model");
    const std::string model = model_it != body.end() && model_it->is_string()
                                  ? model_it->get<std::string>()
                                  : settings_.model;
    auto plan = mock::make_plan(body, endpoint, settings_.behavior, model,
                                std::uniform_real_distribution<double>(0, 1)(random_));
    co_await answer(body, plan, writer);
  }

 private:
  asio::awaitable<void> answer(const json& body, const mock::Plan& plan,
                               server::ResponseWriter& writer) {
    if (plan.hang) {
      co_await sleep(std::chrono::hours(24));  // until the client gives up
      co_return;
    }
    if (plan.status != 200) {
      Headers headers;
      if (plan.retry_after.count() > 0) {
        headers.push_back({"retry-after", std::to_string((plan.retry_after.count() + 999) / 1000)});
      }
      headers.push_back({"x-ratelimit-remaining-requests", "0"});
      co_await send_json(writer, plan.status, mock::error_body_for(plan.status),
                         std::move(headers));
      co_return;
    }
    if (plan.endpoint == mock::Endpoint::embeddings) {
      co_await send_json(writer, 200, mock::embeddings_body(body, plan));
      co_return;
    }
    if (!plan.stream) {
      co_await sleep(plan.time_to_first_token +
                     plan.token_delay * static_cast<int>(plan.tokens.size()));
      co_await send_json(writer, 200, mock::completion_body(plan));
      co_return;
    }
    co_await stream(plan, writer);
  }

  asio::awaitable<void> stream(const mock::Plan& plan, server::ResponseWriter& writer) {
    co_await sleep(plan.time_to_first_token);
    Headers headers{Header{"content-type", "text/event-stream"},
                    Header{"cache-control", "no-cache"}};
    if (co_await writer.start_stream(200, std::move(headers))) co_return;
    if (plan.error_event) {
      co_await writer.write_chunk("data: " + mock::error_body_for(500) + "\n\n");
      co_await writer.finish_stream();
      co_return;
    }
    if (settings_.role_chunk_ms >= 0 && plan.endpoint == mock::Endpoint::chat) {
      // As OpenAI does: a role-only opening chunk, then (here) a pause before any content.
      const json role = {
          {"id", plan.id},
          {"object", "chat.completion.chunk"},
          {"created", 0},
          {"model", plan.model},
          {"choices", json::array({{{"index", 0},
                                    {"delta", {{"role", "assistant"}, {"content", ""}}},
                                    {"finish_reason", nullptr}}})}};
      if (co_await writer.write_chunk("data: " + role.dump() + "\n\n")) co_return;
      co_await sleep(std::chrono::milliseconds(settings_.role_chunk_ms));
    }
    for (std::size_t i = 0; i < plan.tokens.size(); ++i) {
      if (i > 0) co_await sleep(plan.token_delay);
      if (plan.drop_after_tokens >= 0 && i >= static_cast<std::size_t>(plan.drop_after_tokens)) {
        writer.abort();
        co_return;
      }
      if (co_await writer.write_chunk("data: " + mock::chunk_data(plan, i) + "\n\n")) co_return;
    }
    std::string tail = "data: " + mock::final_chunk_data(plan) + "\n\n";
    if (plan.include_usage && !plan.omit_usage)
      tail += "data: " + mock::usage_chunk_data(plan) + "\n\n";
    tail += "data: [DONE]\n\n";
    if (co_await writer.write_chunk(tail)) co_return;
    co_await writer.finish_stream();
  }

  asio::awaitable<void> sleep(std::chrono::milliseconds duration) {
    if (duration.count() <= 0) co_return;
    asio::steady_timer timer(io_, duration);
    co_await timer.async_wait(use_nothrow);
  }

  asio::awaitable<void> send_json(server::ResponseWriter& writer, int status, std::string body,
                                  Headers headers = {}) {
    headers.push_back({"content-type", "application/json"});
    co_await writer.send(status, std::move(headers), std::move(body));
  }

  asio::io_context& io_;
  const MockSettings& settings_;
  Stats& stats_;
  std::mt19937_64 random_;
};

template <typename T>
bool read_number(cli::Options& options, const char* flag, T& target) {
  if (auto text = options.value(flag)) {
    try {
      target = static_cast<T>(std::stod(*text));
    } catch (const std::exception&) {
      std::cerr << flag << " needs a number, got '" << *text << "'\n";
      return false;
    }
  }
  return true;
}

bool read_settings(cli::Options& options, MockSettings& s, std::string& host, int& port,
                   int& threads, int& models_status) {
  long long ttft = s.behavior.time_to_first_token.count();
  long long delay = s.behavior.token_delay.count();
  long long retry_after = 0;
  bool ok = read_number(options, "--port", port) && read_number(options, "--threads", threads) &&
            read_number(options, "--ttft-ms", ttft) &&
            read_number(options, "--token-delay-ms", delay) &&
            read_number(options, "--tokens", s.behavior.completion_tokens) &&
            read_number(options, "--status", s.behavior.status) &&
            read_number(options, "--failure-rate", s.behavior.failure_rate) &&
            read_number(options, "--drop-after", s.behavior.drop_after_tokens) &&
            read_number(options, "--retry-after-ms", retry_after) &&
            read_number(options, "--role-chunk-ms", s.role_chunk_ms) &&
            read_number(options, "--models-status", models_status);
  s.behavior.time_to_first_token = std::chrono::milliseconds(ttft);
  s.behavior.token_delay = std::chrono::milliseconds(delay);
  s.behavior.retry_after = std::chrono::milliseconds(retry_after);
  s.behavior.hang = options.flag("--hang");
  s.behavior.error_event = options.flag("--error-event");
  s.behavior.omit_usage = options.flag("--no-usage");
  if (auto model = options.value("--model")) s.model = *model;
  if (auto content = options.value("--content")) s.behavior.content = *content;
  if (auto h = options.value("--host")) host = *h;
  return ok && options.ok();
}

constexpr const char* kUsage =
    "usage: mock-llm [--host 127.0.0.1] [--port 0] [--threads 1] [--ttft-ms N]\n"
    "                [--token-delay-ms N] [--tokens N] [--status CODE] [--failure-rate P]\n"
    "                [--hang] [--error-event] [--drop-after N] [--retry-after-ms N]\n"
    "                [--model NAME] [--content TEXT] [--no-usage] [--models-status CODE]\n"
    "                [--role-chunk-ms N]\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  cli::Options options(args);
  if (options.flag("--help")) {
    std::cout << kUsage;
    return 0;
  }
  MockSettings settings;
  settings.behavior.time_to_first_token = std::chrono::milliseconds(0);
  settings.behavior.token_delay = std::chrono::milliseconds(0);
  std::string host = "127.0.0.1";
  int port = 0;
  int threads = 1;
  int models_status = 200;
  if (!read_settings(options, settings, host, port, threads, models_status)) {
    std::cerr << options.problems() << kUsage;
    return 2;
  }
  logging::setup("warn");
  std::signal(SIGPIPE, SIG_IGN);
  Stats stats;
  stats.models_status = models_status;
  server::ServerLimits limits;
  limits.max_body_bytes = 64 * 1024 * 1024;
  limits.drain_timeout = std::chrono::seconds(2);
  server::HttpServer server(threads, limits, [&](asio::io_context& io, std::size_t) {
    return std::make_unique<MockHandler>(io, settings, stats);
  });
  stats.counters = &server.counters();
  try {
    port = server.listen(host, static_cast<std::uint16_t>(port));
  } catch (const std::exception& e) {
    std::cerr << "mock-llm: cannot listen: " << e.what() << "\n";
    return 1;
  }
  server.run(true,
             [&] { std::cout << "mock-llm listening on " << host << ":" << port << std::endl; });
  return 0;
}
