// The `mock` provider: answered inside the daemon, with the latency and usage of a real model.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <random>

#include "llm_router/api/json_parse.hpp"
#include "llm_router/mock/mock_engine.hpp"
#include "llm_router/upstream/providers.hpp"

namespace llm_router::upstream {
namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

mock::Endpoint endpoint_of(std::string_view path) {
  if (path.ends_with("/embeddings")) return mock::Endpoint::embeddings;
  if (path.ends_with("/completions") && !path.ends_with("/chat/completions")) {
    return mock::Endpoint::completions;
  }
  return mock::Endpoint::chat;
}

// Values an embeddings request may hold here: OpenAI's 300,000 tokens a request, as token ids.
constexpr std::size_t kMaxEmbeddingsJsonValues = 400'000;

// A request as the router reads it (a lone surrogate escape is U+FFFD, not an error); {} for
// one that is not an object, nullopt for one of more values than a real request holds (its
// tree would cost more than the answer is worth: the mock answers 413).
std::optional<nlohmann::json> request_object(std::string_view text, mock::Endpoint endpoint) {
  const std::size_t limit = endpoint == mock::Endpoint::embeddings ? kMaxEmbeddingsJsonValues
                                                                   : api::kMaxRequestJsonValues;
  nlohmann::json body;
  const auto parsed = api::parse_json(text, body, {.max_values = limit});
  if (parsed.too_many_values) return std::nullopt;
  return parsed.ok && body.is_object() ? body : nlohmann::json::object();
}

class MockExchange final : public Exchange {
 public:
  MockExchange(asio::io_context& io, mock::Plan plan, std::string body, const Deadlines& deadlines)
      : timer_(io), plan_(std::move(plan)), request_body_(std::move(body)), deadlines_(deadlines) {
    head_.status = plan_.status;
    head_.headers.push_back({"content-type", plan_.stream && plan_.status == 200
                                                 ? "text/event-stream"
                                                 : "application/json"});
    if (plan_.retry_after.count() > 0) {
      head_.headers.push_back(
          {"retry-after", std::to_string((plan_.retry_after.count() + 999) / 1000)});
    }
    head_.event_stream = plan_.stream && plan_.status == 200;
    started_ = Clock::now();
  }

  const ResponseHead& head() const override { return head_; }

  // A model's head arrives with its first token (a stream) or its whole answer: waited for
  // here, as an HTTP backend's, so a client that leaves before it left no answered attempt.
  asio::awaitable<std::optional<Failure>> await_head() {
    if (plan_.status != 200 || plan_.endpoint == mock::Endpoint::embeddings) co_return std::nullopt;
    const auto generation = plan_.stream
                                ? Clock::duration{}
                                : plan_.token_delay * static_cast<int>(plan_.tokens.size());
    co_return co_await sleep_until(started_ + plan_.time_to_first_token + generation,
                                   ErrorKind::first_byte_timeout, deadlines_.first_byte);
  }

  asio::awaitable<Expected<std::string>> read_body(std::size_t) override {
    if (plan_.status != 200) co_return mock::error_body_for(plan_.status);
    if (plan_.endpoint == mock::Endpoint::embeddings) {
      co_return mock::embeddings_body(
          request_object(request_body_, plan_.endpoint).value_or(nlohmann::json::object()), plan_);
    }
    co_return mock::completion_body(plan_);  // generated while await_head waited
  }

  asio::awaitable<EventResult> next_event() override {
    const std::size_t count = plan_.tokens.size();
    if (next_ == 0) {
      if (auto failure =
              co_await sleep_until(started_ + plan_.time_to_first_token,
                                   ErrorKind::first_byte_timeout, deadlines_.first_byte)) {
        co_return EventResult{std::nullopt, std::move(*failure)};
      }
      if (plan_.error_event) {
        next_ = count + 3;
        co_return event(mock::error_body_for(500));
      }
    } else if (next_ < count) {
      if (auto failure = co_await sleep_until(Clock::now() + plan_.token_delay,
                                              ErrorKind::idle_timeout, deadlines_.idle)) {
        co_return EventResult{std::nullopt, std::move(*failure)};
      }
    }
    if (plan_.drop_after_tokens >= 0 &&
        next_ >= static_cast<std::size_t>(plan_.drop_after_tokens) && next_ < count) {
      co_return EventResult{std::nullopt,
                            Failure{ErrorKind::upstream_closed, "mock dropped the stream"}};
    }
    const std::size_t index = next_++;
    if (index < count) co_return event(mock::chunk_data(plan_, index));
    if (index == count) co_return event(mock::final_chunk_data(plan_));
    if (index == count + 1 && plan_.include_usage && !plan_.omit_usage)
      co_return event(mock::usage_chunk_data(plan_));
    if (index <= count + 2) {
      next_ = count + 3;
      co_return event("[DONE]");
    }
    co_return EventResult{};
  }

 private:
  static EventResult event(std::string data) {
    return EventResult{api::SseEvent{"", std::move(data), ""}, std::nullopt};
  }

  // Sleeps until `when`, unless a deadline (the phase's or the total) comes first.
  asio::awaitable<std::optional<Failure>> sleep_until(Clock::time_point when, ErrorKind phase_kind,
                                                      std::chrono::milliseconds phase) {
    if (plan_.hang) when = Clock::time_point::max();
    const auto phase_end = Clock::now() + phase;
    const auto deadline = std::min(phase_end, deadlines_.total);
    timer_.expires_at(std::min(when, deadline));
    auto [ec] = co_await timer_.async_wait(use_nothrow);
    if (ec) co_return Failure{ErrorKind::cancelled, "cancelled"};
    if (when > deadline) {
      const ErrorKind kind = phase_end < deadlines_.total ? phase_kind : ErrorKind::total_timeout;
      co_return Failure{kind, std::string(name(kind)) + " (mock)"};
    }
    co_return std::nullopt;
  }

  asio::steady_timer timer_;
  mock::Plan plan_;
  std::string request_body_;
  Deadlines deadlines_;
  ResponseHead head_;
  Clock::time_point started_;
  std::size_t next_ = 0;
};

class MockProvider final : public Provider {
 public:
  MockProvider(const config::Backend& backend, asio::io_context& io)
      : backend_(backend), io_(io), random_(std::random_device{}()) {}

  asio::awaitable<Expected<std::unique_ptr<Exchange>>> open(UpstreamRequest request,
                                                            Deadlines deadlines) override {
    const mock::Endpoint endpoint = endpoint_of(request.path);
    const auto body = request_object(request.body, endpoint);
    auto plan =
        mock::make_plan(body.value_or(nlohmann::json::object()), endpoint, backend_.mock,
                        backend_.model, std::uniform_real_distribution<double>(0, 1)(random_));
    if (!body) plan.status = 413;
    auto exchange =
        std::make_unique<MockExchange>(io_, std::move(plan), std::move(request.body), deadlines);
    if (auto failure = co_await exchange->await_head()) co_return std::move(*failure);
    co_return std::unique_ptr<Exchange>(std::move(exchange));
  }

  // The built-in mock is always healthy.
  asio::awaitable<Expected<Response>> get(std::string, Deadlines, std::size_t) override {
    Response response;
    response.head.status = 200;
    response.head.headers.push_back({"content-type", "application/json"});
    response.body =
        nlohmann::json{
            {"object", "list"},
            {"data", nlohmann::json::array({{{"id", backend_.model}, {"object", "model"}}})}}
            .dump();
    co_return response;
  }

 private:
  const config::Backend backend_;  // a copy: the provider may outlive its config snapshot
  asio::io_context& io_;
  std::mt19937_64 random_;
};

}  // namespace

std::unique_ptr<Provider> make_http_provider(const config::Backend& backend, asio::io_context& io,
                                             std::shared_ptr<asio::ssl::context> tls);

std::unique_ptr<Provider> make_provider(const config::Backend& backend, asio::io_context& io,
                                        std::shared_ptr<asio::ssl::context> tls) {
  if (backend.provider == config::ProviderKind::mock) {
    return std::make_unique<MockProvider>(backend, io);
  }
  return make_http_provider(backend, io, std::move(tls));
}

}  // namespace llm_router::upstream
