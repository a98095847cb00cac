#include "throughput_guard.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cmath>
#include <cstdio>

namespace llm_router::proxy {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using upstream::Clock;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

class GuardedExchange final : public upstream::Exchange {
 public:
  GuardedExchange(std::unique_ptr<upstream::Exchange> inner, const config::ThroughputGuard& guard)
      : inner_(std::move(inner)),
        window_(std::chrono::duration_cast<Clock::duration>(guard.window)),
        required_(std::max<long long>(
            1, static_cast<long long>(std::ceil(
                   guard.tokens_per_second * std::chrono::duration<double>(guard.window).count() -
                   1e-9)))),
        rate_(guard.tokens_per_second) {}

  const upstream::ResponseHead& head() const override { return inner_->head(); }

  asio::awaitable<Expected<std::string>> read_body(std::size_t limit) override {
    co_return co_await inner_->read_body(limit);
  }

  void content_arrived() override { inner_->content_arrived(); }
  void answer_finished(std::chrono::milliseconds grace) override { inner_->answer_finished(grace); }

  asio::awaitable<upstream::EventResult> next_event() override {
    if (!started_) {
      auto first = co_await inner_->next_event();
      if (first.event) {
        started_ = true;
        window_start_ = Clock::now();
        count(*first.event);
      }
      co_return first;
    }
    if (!roll(Clock::now())) co_return too_slow();
    // When nothing more arrives, this is when the current window (or, when it is already met,
    // the next one) fails.
    const auto deadline = window_start_ + (seen_ >= required_ ? 2 * window_ : window_);
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_at(deadline);
    auto outcome = co_await (inner_->next_event() || timer.async_wait(use_nothrow));
    if (outcome.index() == 1) co_return too_slow();
    auto result = std::get<0>(std::move(outcome));
    if (!roll(Clock::now())) co_return too_slow();
    if (result.event) count(*result.event);
    co_return result;
  }

 private:
  void count(const api::SseEvent& event) {
    if (!event.is_done()) ++seen_;
  }

  // Moves to the window holding `now`; false when a window that ended fell short.
  bool roll(Clock::time_point now) {
    while (now >= window_start_ + window_) {
      if (seen_ < required_) return false;
      window_start_ += window_;
      seen_ = 0;
    }
    return true;
  }

  upstream::EventResult too_slow() const {
    char rate[32];
    std::snprintf(rate, sizeof rate, "%g", rate_);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(window_).count();
    return upstream::EventResult{
        std::nullopt,
        Failure{ErrorKind::slow_stream, "stream slower than " + std::string(rate) +
                                            " tokens/s over " + std::to_string(ms) + " ms"}};
  }

  std::unique_ptr<upstream::Exchange> inner_;
  Clock::duration window_;
  long long required_;
  double rate_;
  bool started_ = false;
  Clock::time_point window_start_;
  long long seen_ = 0;
};

}  // namespace

std::unique_ptr<upstream::Exchange> guard_throughput(std::unique_ptr<upstream::Exchange> inner,
                                                     const config::ThroughputGuard& guard) {
  return std::make_unique<GuardedExchange>(std::move(inner), guard);
}

}  // namespace llm_router::proxy
