#include "health_prober.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "llm_router/upstream/providers.hpp"

namespace llm_router::proxy {
namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxProbeBody = 1024 * 1024;
// How often the supervisor looks for a new config generation and for draining.
constexpr auto kSupervisorTick = std::chrono::milliseconds(500);

health::Nanos to_nanos(std::chrono::milliseconds ms) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(ms).count();
}

}  // namespace

struct HealthProber::Target {
  explicit Target(asio::io_context& io) : timer(io) {}
  config::Backend backend;
  std::unique_ptr<upstream::Provider> provider;  // its own pool: probes never queue behind work
  BackendHealth* health = nullptr;
  metrics::Counter* passed = nullptr;  // llm_router_health_checks_total, resolved once
  metrics::Counter* failed = nullptr;
  asio::steady_timer timer;
  bool retired = false;
};

HealthProber::HealthProber(std::shared_ptr<RouterState> state, asio::io_context& io,
                           std::shared_ptr<asio::ssl::context> tls)
    : state_(std::move(state)), io_(io), tls_(std::move(tls)), log_(logging::get("health")) {}

void HealthProber::start() {
  asio::co_spawn(io_, supervise(), asio::detached);
}

void HealthProber::stop() {
  stopped_ = true;
  if (tick_) tick_->cancel();
  retire_all();
}

void HealthProber::retire_all() {
  for (auto& target : targets_) {
    target->retired = true;
    target->timer.cancel();
    target->health->probe.store(BackendHealth::Probe::none, std::memory_order_relaxed);
  }
  targets_.clear();
}

asio::awaitable<void> HealthProber::supervise() {
  // The timer lives in this frame, destroyed with the io context (never after it).
  asio::steady_timer tick(io_);
  tick_ = &tick;
  while (!stopped_) {
    if (state_->draining.load(std::memory_order_relaxed)) {
      stop();
      break;
    }
    const auto generation = state_->generation();
    if (generation != generation_) {
      generation_ = generation;
      retire_all();
      const auto snapshot = state_->snapshot();
      const auto& backends = snapshot->config->backends;
      for (std::size_t i = 0; i < backends.size(); ++i) {
        if (!backends[i].health_check.enabled) continue;
        auto target = std::make_shared<Target>(io_);
        target->backend = backends[i];
        target->provider =
            upstream::make_provider(backends[i], io_, snapshot->tls[i] ? snapshot->tls[i] : tls_);
        target->health = snapshot->health[i];
        const std::string_view name = backends[i].name;
        target->passed = &state_->metrics().health_checks.with({name, "pass"});
        target->failed = &state_->metrics().health_checks.with({name, "fail"});
        targets_.push_back(target);
        asio::co_spawn(io_, probe_loop(std::move(target)), asio::detached);
      }
    }
    tick.expires_after(kSupervisorTick);
    co_await tick.async_wait(use_nothrow);
  }
  tick_ = nullptr;
}

asio::awaitable<void> HealthProber::probe_loop(std::shared_ptr<Target> target) {
  const config::HealthCheck& check = target->backend.health_check;
  const std::string& backend = target->backend.name;
  auto& breaker = target->health->breaker;
  int failures = 0;
  int passes = 0;
  while (!target->retired) {
    const auto started = upstream::Clock::now();
    upstream::Deadlines deadlines{check.timeout, check.timeout, check.timeout,
                                  started + check.timeout};
    auto answer = co_await target->provider->get(check.path, deadlines, kMaxProbeBody);
    if (target->retired) break;
    std::string problem;
    if (!answer) {
      problem = std::string(name(answer.failure().kind)) + ": " + answer.failure().message;
    } else if (answer->head.status < 200 || answer->head.status >= 300) {
      problem = "HTTP " + std::to_string(answer->head.status);
    }
    (problem.empty() ? target->passed : target->failed)->inc();
    if (problem.empty()) {
      failures = 0;
      ++passes;
      target->health->probe.store(BackendHealth::Probe::passing, std::memory_order_relaxed);
      if (passes >= check.healthy_after && breaker.ejected_by_probe()) {
        breaker.probe_passed();
        log_->info("backend={} readmitted: {} health check(s) of {} passed", backend, passes,
                   check.path);
      }
    } else {
      passes = 0;
      ++failures;
      target->health->probe.store(BackendHealth::Probe::failing, std::memory_order_relaxed);
      if (failures >= check.unhealthy_after) {
        // Held until the next probe has had time to decide again.
        const auto now = health::steady_now();
        const bool already = breaker.ejected_by_probe();
        breaker.hold_open(now, now + to_nanos(2 * check.interval + check.timeout));
        if (!already) {
          log_->warn("backend={} ejected: {} health checks of {} failed in a row (last: {})",
                     backend, failures, check.path, problem);
        }
      } else {
        log_->debug("backend={} health check failed ({} of {}): {}", backend, failures,
                    check.unhealthy_after, problem);
      }
    }
    target->timer.expires_at(started + check.interval);
    co_await target->timer.async_wait(use_nothrow);
  }
}

}  // namespace llm_router::proxy
