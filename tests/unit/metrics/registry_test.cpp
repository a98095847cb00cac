#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>
#include <vector>

#include "llm_router/metrics/exposition.hpp"
#include "llm_router/metrics/registry.hpp"
#include "llm_router/metrics/router_metrics.hpp"

namespace llm_router::metrics {
namespace {

TEST(Exposition, FormatsValues) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(0.005), "0.005");
  EXPECT_EQ(format_value(2.5), "2.5");
  EXPECT_EQ(format_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(format_value(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(format_value(0.0 / 0.0), "NaN");
}

TEST(Exposition, EscapesLabelValuesAndHelp) {
  std::string out;
  append_escaped_label_value(out, "a\\b\"c\nd");
  EXPECT_EQ(out, R"(a\\b\"c\nd)");
  out.clear();
  append_escaped_help(out, "x\\y\"z\n");
  EXPECT_EQ(out, R"(x\\y"z\n)");
}

TEST(Exposition, ValidatesNames) {
  EXPECT_TRUE(valid_metric_name("llm_router_requests_total"));
  EXPECT_TRUE(valid_metric_name("a:b"));
  EXPECT_FALSE(valid_metric_name("1abc"));
  EXPECT_FALSE(valid_metric_name("a-b"));
  EXPECT_FALSE(valid_metric_name(""));
  EXPECT_TRUE(valid_label_name("route"));
  EXPECT_FALSE(valid_label_name("__name__"));
  EXPECT_FALSE(valid_label_name("a:b"));
}

TEST(Registry, WritesGoldenTextFormat) {
  Registry registry(4);
  auto& requests = registry.counter("demo_requests_total", "Requests.\nSecond line \\ here.",
                                    {"route", "status"});
  requests.with({"auto", "200"}).inc();
  requests.with({"auto", "200"}).add(2);
  requests.with({"a\"b", "500"}).inc();
  auto& open = registry.gauge("demo_open", "Open things.");
  open.with({}).set(7);
  auto& latency = registry.histogram("demo_latency_seconds", "Latency.", {"backend"}, {0.1, 1});
  auto& h = latency.with({"x"});
  h.observe(0.05);
  h.observe(0.1);  // le is inclusive
  h.observe(0.5);
  h.observe(3);

  const std::string expected =
      "# HELP demo_requests_total Requests.\\nSecond line \\\\ here.\n"
      "# TYPE demo_requests_total counter\n"
      "demo_requests_total{route=\"a\\\"b\",status=\"500\"} 1\n"
      "demo_requests_total{route=\"auto\",status=\"200\"} 3\n"
      "# HELP demo_open Open things.\n"
      "# TYPE demo_open gauge\n"
      "demo_open 7\n"
      "# HELP demo_latency_seconds Latency.\n"
      "# TYPE demo_latency_seconds histogram\n"
      "demo_latency_seconds_bucket{backend=\"x\",le=\"0.1\"} 2\n"
      "demo_latency_seconds_bucket{backend=\"x\",le=\"1\"} 3\n"
      "demo_latency_seconds_bucket{backend=\"x\",le=\"+Inf\"} 4\n"
      "demo_latency_seconds_sum{backend=\"x\"} 3.65\n"
      "demo_latency_seconds_count{backend=\"x\"} 4\n";
  EXPECT_EQ(registry.to_prometheus(), expected);
}

TEST(Registry, UnlabelledHistogramHasOnlyLe) {
  Registry registry(1);
  registry.histogram("h", "H.", {}, {1}).with({}).observe(2);
  EXPECT_EQ(registry.to_prometheus(),
            "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 1\n"
            "h_sum 2\nh_count 1\n");
}

TEST(Registry, RejectsBadRegistrations) {
  Registry registry(1);
  registry.counter("x_total", "X.");
  EXPECT_THROW(registry.counter("x_total", "again"), std::invalid_argument);
  EXPECT_THROW(registry.gauge("bad-name", "B."), std::invalid_argument);
  EXPECT_THROW(registry.gauge("g", "G.", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("h", "H.", {"le"}, {1}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("h2", "H.", {}, {2, 1}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("h3", "H.", {}, {1, 1}), std::invalid_argument);
}

TEST(Counter, IgnoresNegativeAndNan) {
  Counter c(2);
  c.add(2.5);
  c.add(-1);
  c.add(0.0 / 0.0);
  EXPECT_DOUBLE_EQ(c.value(), 2.5);
}

// Gauges computed at scrape time are replaced whole: a label set not given again goes away.
TEST(Family, SetAllReplacesAGaugeFamilysSeries) {
  Registry registry(1);
  auto& in_flight = registry.gauge("in_flight", "Requests in flight.", {"backend"});
  in_flight.set_all({{{"a"}, 2}, {{"b"}, 3}});
  in_flight.set_all({{{"b"}, 1}});
  const std::string text = registry.to_prometheus();
  EXPECT_EQ(text.find(R"(in_flight{backend="a"})"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(in_flight{backend="b"} 1)"), std::string::npos) << text;
  auto& requests = registry.counter("requests_total", "Requests.", {"backend"});
  EXPECT_THROW(requests.set_all({{{"a"}, 1}}), std::logic_error);
}

TEST(Gauge, SetOverridesEarlierAdds) {
  Gauge g(4);
  g.inc();
  g.inc();
  g.dec();
  EXPECT_DOUBLE_EQ(g.value(), 1);
  g.set(5);
  EXPECT_DOUBLE_EQ(g.value(), 5);
  g.add(-2);
  EXPECT_DOUBLE_EQ(g.value(), 3);
}

TEST(Histogram, BucketMath) {
  const std::vector<double> bounds{1, 2, 5};
  Histogram h(bounds, 2);
  for (const double v : {0.0, 1.0, 1.5, 2.0, 2.0001, 5.0, 6.0, -3.0}) h.observe(v);
  h.observe(0.0 / 0.0);
  const auto s = h.snapshot();
  EXPECT_EQ(s.counts, (std::vector<std::uint64_t>{3, 2, 2, 1}));
  EXPECT_EQ(s.count(), 8u);
  EXPECT_DOUBLE_EQ(s.sum, 0 + 1 + 1.5 + 2 + 2.0001 + 5 + 6 - 3);
}

TEST(Histogram, ManyBucketsSpanSeveralCacheLines) {
  const auto bounds = exponential_buckets(1, 2, 20);
  ASSERT_EQ(bounds.size(), 20u);
  EXPECT_DOUBLE_EQ(bounds.back(), 524288);
  Histogram h(bounds, 4);
  h.observe(1e9);
  h.observe(3);
  const auto s = h.snapshot();
  EXPECT_EQ(s.counts.back(), 1u);
  EXPECT_EQ(s.counts[2], 1u);
  EXPECT_DOUBLE_EQ(s.sum, 1e9 + 3);
}

TEST(Shards, PinnedThreadsUseTheirIndex) {
  std::size_t seen[2] = {99, 99};
  std::thread a([&] {
    pin_this_thread_to_shard(0);
    seen[0] = shard_of_this_thread(4);
  });
  std::thread b([&] {
    pin_this_thread_to_shard(5);
    seen[1] = shard_of_this_thread(4);
  });
  a.join();
  b.join();
  EXPECT_EQ(seen[0], 0u);
  EXPECT_EQ(seen[1], 1u);
  EXPECT_LT(shard_of_this_thread(8), 8u);
}

TEST(Registry, ConcurrentIncrementsSumExactly) {
  Registry registry(4);
  auto& counter = registry.counter("c_total", "C.", {"k"}).with({"v"});
  auto& gauge = registry.gauge("g", "G.").with({});
  auto& histogram = registry.histogram("h_seconds", "H.", {}, {0.5}).with({});
  constexpr int kThreads = 6;
  constexpr int kPerThread = 100'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      if (t % 2 == 0) pin_this_thread_to_shard(static_cast<std::size_t>(t));  // some pinned
      for (int i = 0; i < kPerThread; ++i) {
        counter.inc();
        gauge.inc();
        histogram.observe(i % 2 == 0 ? 0.25 : 1.0);
      }
      for (int i = 0; i < kPerThread / 2; ++i) gauge.dec();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter.value(), kThreads * kPerThread);
  EXPECT_EQ(gauge.value(), kThreads * kPerThread / 2);
  const auto s = histogram.snapshot();
  EXPECT_EQ(s.count(), static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(s.counts[0], static_cast<std::uint64_t>(kThreads * kPerThread / 2));
  EXPECT_DOUBLE_EQ(s.sum, kThreads * (kPerThread / 2) * 1.25);
}

TEST(Registry, ConcurrentChildCreationYieldsOneChild) {
  Registry registry(2);
  auto& family = registry.counter("c_total", "C.", {"backend"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      ChildCache<Counter> cache(family);
      for (int i = 0; i < 1000; ++i) cache.with({i % 2 == 0 ? "a" : "b"}).inc();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(family.size(), 2u);
  EXPECT_EQ(family.with({"a"}).value(), 2000);
  EXPECT_EQ(family.with({"b"}).value(), 2000);
}

TEST(RouterMetrics, DeclaresEveryFamily) {
  Registry registry(1);
  RouterMetrics m(registry);
  m.requests.with({"auto", "gpt", "200"}).inc();
  set_breaker_state(m.breaker_state.with({"gpt"}), BreakerState::half_open);
  m.time_to_first_token.with({"auto", "gpt"}).observe(0.3);
  const auto text = registry.to_prometheus();
  for (const char* name :
       {"llm_router_requests_total{route=\"auto\",backend=\"gpt\",status=\"200\"} 1",
        "llm_router_backend_breaker_state{backend=\"gpt\"} 2",
        "llm_router_time_to_first_token_seconds_bucket{route=\"auto\",backend=\"gpt\",le=\"0.5\"} "
        "1",
        "# TYPE llm_router_request_duration_seconds histogram",
        "# TYPE llm_router_cost_usd_total counter", "# TYPE llm_router_upstream_in_flight gauge",
        "# TYPE llm_router_fallbacks_total counter", "# TYPE llm_router_retries_total counter",
        "# TYPE llm_router_upstream_attempts_total counter",
        "# TYPE llm_router_input_tokens_total counter",
        "# TYPE llm_router_output_tokens_total counter",
        "# TYPE llm_router_analyzer_category_total counter",
        "# TYPE llm_router_config_reloads_total counter", "llm_router_connections_open 0"}) {
    EXPECT_NE(text.find(name), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace llm_router::metrics
