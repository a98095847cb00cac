// Parsing and validation of the resilience knobs: health checks, the throughput guard and the
// per-route phase timeouts.
#include <gtest/gtest.h>

#include "llm_router/config/config.hpp"

namespace llm_router::config {
namespace {

using std::chrono::milliseconds;

Config load(const std::string& yaml) {
  return load_config_text(yaml, "test.yaml", [](const std::string&) { return std::nullopt; });
}

Diagnostics errors_of(const std::string& yaml) {
  try {
    load(yaml);
  } catch (const ConfigError& e) {
    return e.diagnostics();
  }
  return {};
}

bool has_error(const Diagnostics& diagnostics, const std::string& path,
               const std::string& fragment) {
  for (const auto& d : diagnostics) {
    if (d.path == path && d.message.find(fragment) != std::string::npos && d.line > 0) return true;
  }
  return false;
}

const std::string kBackends =
    "backends:\n"
    "  - name: a\n"
    "    provider: openai\n"
    "    base_url: http://127.0.0.1:9/v1\n"
    "    timeouts: {connect: 1s, first_byte: 20s, idle: 5s, total: 2m}\n";

TEST(ResilienceKnobs, DefaultsAreOff) {
  const auto config = load(kBackends + "routes:\n  - name: auto\n    use: [a]\n");
  const auto& b = config.backends[0];
  EXPECT_FALSE(b.health_check.enabled);
  EXPECT_EQ(b.health_check.path, "/models");
  EXPECT_EQ(b.throughput.tokens_per_second, 0);
  const auto t = effective_timeouts(b, config.find_route("auto"));
  EXPECT_EQ(t.first_byte, std::chrono::seconds(20));
  EXPECT_EQ(t.total, std::chrono::minutes(2));
}

TEST(ResilienceKnobs, HealthCheckIsReadWithItsDefaults) {
  const auto config = load(kBackends +
                           "    health_check: {interval: 3s, unhealthy_after: 4}\n"
                           "  - name: b\n    provider: mock\n    health_check: {path: /health}\n"
                           "routes:\n  - name: auto\n    use: [a, b]\n");
  const auto& a = config.backends[0].health_check;
  EXPECT_TRUE(a.enabled);
  EXPECT_EQ(a.path, "/models");
  EXPECT_EQ(a.interval, std::chrono::seconds(3));
  EXPECT_EQ(a.timeout, std::chrono::seconds(2));
  EXPECT_EQ(a.unhealthy_after, 4);
  EXPECT_EQ(a.healthy_after, 1);
  EXPECT_EQ(config.backends[1].health_check.path, "/health");
}

TEST(ResilienceKnobs, HealthCheckCanBeDisabledExplicitly) {
  const auto config = load(kBackends + "    health_check: {enabled: false}\n" +
                           "routes:\n  - name: auto\n    use: [a]\n");
  EXPECT_FALSE(config.backends[0].health_check.enabled);
}

TEST(ResilienceKnobs, ThroughputGuardIsRead) {
  const auto config =
      load(kBackends + "    min_tokens_per_second: 5\n" + "    throughput_window: 2s\n" +
           "routes:\n  - name: auto\n    use: [a]\n");
  EXPECT_EQ(config.backends[0].throughput.tokens_per_second, 5);
  EXPECT_EQ(config.backends[0].throughput.window, std::chrono::seconds(2));
}

TEST(ResilienceKnobs, RouteTimeoutsOverrideTheBackendsOnlyWhereSet) {
  const auto config = load(kBackends +
                           "routes:\n  - name: auto\n    use: [a]\n"
                           "    timeouts: {first_byte: 300ms, total: 30s}\n"
                           "  - name: plain\n    use: [a]\n");
  const auto& backend = config.backends[0];
  const auto t = effective_timeouts(backend, config.find_route("auto"));
  EXPECT_EQ(t.first_byte, milliseconds(300));
  EXPECT_EQ(t.total, std::chrono::seconds(30));
  EXPECT_EQ(t.connect, std::chrono::seconds(1));  // the backend's own
  EXPECT_EQ(t.idle, std::chrono::seconds(5));
  EXPECT_EQ(effective_timeouts(backend, config.find_route("plain")).first_byte,
            std::chrono::seconds(20));
  EXPECT_EQ(effective_timeouts(backend, nullptr).first_byte, std::chrono::seconds(20));
}

struct BadCase {
  const char* name;
  std::string yaml;
  std::string path;
  std::string fragment;
};

const std::string kRoute = "routes:\n  - name: auto\n    use: [a]\n";

class ResilienceKnobErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(ResilienceKnobErrors, AreReportedWithTheirPath) {
  const auto& c = GetParam();
  const auto errors = errors_of(c.yaml);
  std::string all;
  for (const auto& d : errors) all += d.format() + "\n";
  EXPECT_TRUE(has_error(errors, c.path, c.fragment))
      << "expected " << c.path << ": " << c.fragment << "\ngot:\n"
      << all;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ResilienceKnobErrors,
    ::testing::Values(
        BadCase{"unknown_health_key", kBackends + "    health_check: {every: 1s}\n" + kRoute,
                "backends[0].health_check.every", "unknown key"},
        BadCase{"relative_health_path", kBackends + "    health_check: {path: models}\n" + kRoute,
                "backends[0].health_check.path", "below the base URL"},
        BadCase{"tiny_interval", kBackends + "    health_check: {interval: 5ms}\n" + kRoute,
                "backends[0].health_check.interval", "at least 100ms"},
        BadCase{"zero_probe_timeout", kBackends + "    health_check: {timeout: 0s}\n" + kRoute,
                "backends[0].health_check.timeout", "at least"},
        BadCase{"zero_unhealthy_after",
                kBackends + "    health_check: {unhealthy_after: 0}\n" + kRoute,
                "backends[0].health_check.unhealthy_after", "between"},
        BadCase{"negative_throughput", kBackends + "    min_tokens_per_second: -1\n" + kRoute,
                "backends[0].min_tokens_per_second", "between"},
        BadCase{"tiny_throughput_window", kBackends + "    throughput_window: 10ms\n" + kRoute,
                "backends[0].throughput_window", "at least 100ms"},
        BadCase{"zero_route_first_byte", kBackends + kRoute + "    timeouts: {first_byte: 0s}\n",
                "routes[0].timeouts.first_byte", "greater than 0"},
        BadCase{"zero_route_timeout", kBackends + kRoute + "    timeout: 0s\n", "routes[0].timeout",
                "greater than 0"},
        BadCase{"zero_backend_first_byte",
                "backends:\n  - {name: a, provider: mock, timeouts: {first_byte: 0s}}\n" + kRoute,
                "backends[0].timeouts.first_byte", "at least 1ms"},
        BadCase{"zero_backend_total",
                "backends:\n  - {name: a, provider: mock, timeouts: {total: 0ms}}\n" + kRoute,
                "backends[0].timeouts.total", "at least 1ms"},
        BadCase{"bad_route_timeout", kBackends + kRoute + "    timeouts: {idle: later}\n",
                "routes[0].timeouts.idle", "duration"},
        BadCase{"unknown_route_timeout", kBackends + kRoute + "    timeouts: {ttft: 1s}\n",
                "routes[0].timeouts.ttft", "unknown key"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ResilienceKnobs, HedgeIsOffUnlessConfigured) {
  const auto config = load(kBackends + "routes:\n  - name: auto\n    use: [a]\n");
  EXPECT_FALSE(config.find_route("auto")->hedge.enabled);
}

TEST(ResilienceKnobs, HedgeIsRead) {
  const auto config = load(
      kBackends + "routes:\n  - name: auto\n    use: [a]\n    hedge: {after: 300ms, max: 1}\n");
  const auto& hedge = config.find_route("auto")->hedge;
  EXPECT_TRUE(hedge.enabled);
  EXPECT_EQ(hedge.after, milliseconds(300));
  EXPECT_EQ(hedge.max, 1);
  const auto off = load(kBackends +
                        "routes:\n  - name: auto\n    use: [a]\n"
                        "    hedge: {after: 1s, enabled: false}\n");
  EXPECT_FALSE(off.find_route("auto")->hedge.enabled);
}

TEST(ResilienceKnobs, HedgeAfterP95) {
  const auto config = load(kBackends +
                           "routes:\n  - name: auto\n    use: [a]\n"
                           "    hedge: {after: p95, initial_after: 250ms}\n");
  const auto& hedge = config.find_route("auto")->hedge;
  EXPECT_TRUE(hedge.enabled);
  EXPECT_TRUE(hedge.after_p95);
  EXPECT_EQ(hedge.after, milliseconds(250));
  const auto defaults =
      load(kBackends + "routes:\n  - name: auto\n    use: [a]\n    hedge: {after: p95}\n");
  EXPECT_EQ(defaults.find_route("auto")->hedge.after, milliseconds(1000));
}

TEST(ResilienceKnobs, HedgeErrorsAreLocated) {
  const std::string route = kBackends + "routes:\n  - name: auto\n    use: [a]\n    hedge: ";
  EXPECT_TRUE(has_error(errors_of(route + "{after: 1s, initial_after: 2s}\n"),
                        "routes[0].hedge.initial_after", "only applies with after: p95"));
  EXPECT_TRUE(has_error(errors_of(route + "{after: p95, initial_after: 0ms}\n"),
                        "routes[0].hedge.initial_after", "greater than 0"));
  EXPECT_TRUE(has_error(errors_of(route + "{after: soon}\n"), "routes[0].hedge.after",
                        "must be a duration"));
  EXPECT_TRUE(
      has_error(errors_of(route + "{after: 0ms}\n"), "routes[0].hedge.after", "greater than 0"));
  EXPECT_TRUE(has_error(errors_of(route + "{max: 1}\n"), "routes[0].hedge.after", "required"));
  EXPECT_TRUE(has_error(errors_of(route + "{after: 1s, max: 2}\n"), "routes[0].hedge.max", ""));
  EXPECT_TRUE(has_error(errors_of(route + "{after: 1s, delay: 2s}\n"), "routes[0].hedge.delay",
                        "unknown key"));
}

TEST(ResilienceKnobs, RetryOnStatusListsRetryableStatuses) {
  const auto config = load(kBackends + "    retry: {on_status: [500, 429]}\n" + kRoute);
  EXPECT_EQ(config.backends[0].retry.on_status, (std::vector<int>{500, 429}));
  EXPECT_EQ(load(kBackends + kRoute).backends[0].retry.on_status,
            (std::vector<int>{429, 502, 503, 504}));
  EXPECT_TRUE(has_error(errors_of(kBackends + "    retry: {on_status: [400]}\n" + kRoute),
                        "backends[0].retry.on_status", "408, 409, 425, 429 or 5xx"));
  EXPECT_TRUE(has_error(errors_of(kBackends + "    retry: {on_status: [5xx]}\n" + kRoute),
                        "backends[0].retry.on_status", "got '5xx'"));
}

// A LiteLLM config says `timeout: 600` for ten minutes: a number without a unit is refused
// with the two readings spelled out, never taken as milliseconds.
TEST(ResilienceKnobs, ADurationWithoutUnitIsRefused) {
  const std::string route = kBackends + "routes:\n  - name: auto\n    use: [a]\n    timeout: ";
  EXPECT_TRUE(has_error(errors_of(route + "600\n"), "routes[0].timeout",
                        "needs a unit: write 600s for seconds or 600ms for milliseconds"));
  EXPECT_TRUE(errors_of(route + "600s\n").empty());
}

}  // namespace
}  // namespace llm_router::config
