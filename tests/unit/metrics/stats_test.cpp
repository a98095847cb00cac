#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "llm_router/metrics/cost.hpp"
#include "llm_router/metrics/latency_histogram.hpp"
#include "llm_router/metrics/stats.hpp"

namespace llm_router::metrics {
namespace {

using std::chrono::seconds;

// A wall clock the test moves by hand.
struct FakeClock {
  WallClock::time_point now{seconds(1'700'000'000)};  // a multiple of 10 s
  NowFunction function() {
    return [this] { return now; };
  }
};

RequestSummary summary(std::string backend, int status, double latency,
                       std::string route = "auto") {
  RequestSummary s;
  s.id = "req-" + std::to_string(status);
  s.route = std::move(route);
  s.backend = std::move(backend);
  s.category = "chat";
  s.status = status;
  s.latency_seconds = latency;
  s.ttft_seconds = latency / 2;
  s.input_tokens = 100;
  s.output_tokens = 10;
  s.cost_usd = 0.5;
  return s;
}

TEST(LatencyHistogram, BucketsAreContiguousAndOrdered) {
  for (std::size_t b = 0; b + 1 < LatencyHistogram::kBuckets; ++b) {
    EXPECT_DOUBLE_EQ(LatencyHistogram::upper_bound_seconds(b),
                     LatencyHistogram::lower_bound_seconds(b + 1))
        << b;
  }
  for (const double v : {0.0001, 0.00123, 0.05, 0.7, 3.0, 42.0, 119.0}) {
    const auto b = LatencyHistogram::bucket_of(v);
    EXPECT_LE(LatencyHistogram::lower_bound_seconds(b), v * (1 + 1e-9)) << v;
    EXPECT_GT(LatencyHistogram::upper_bound_seconds(b), v) << v;
  }
  EXPECT_EQ(LatencyHistogram::bucket_of(1e6), LatencyHistogram::kBuckets - 1);
  EXPECT_EQ(LatencyHistogram::bucket_of(-1), 0u);
}

TEST(LatencyHistogram, PercentilesOfKnownDataWithinBucketError) {
  LatencyHistogram h;
  for (int ms = 1; ms <= 1000; ++ms) h.record(ms / 1000.0);
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_NEAR(h.quantile(0.50), 0.500, 0.500 * 0.0625);
  EXPECT_NEAR(h.quantile(0.95), 0.950, 0.950 * 0.0625);
  EXPECT_NEAR(h.quantile(0.99), 0.990, 0.990 * 0.0625);
  EXPECT_NEAR(h.quantile(1.0), 1.000, 1.000 * 0.0625);
  EXPECT_EQ(LatencyHistogram{}.quantile(0.5), 0);
}

TEST(LatencyHistogram, MergeAddsCounts) {
  LatencyHistogram a, b;
  for (int i = 0; i < 90; ++i) a.record(0.010);
  for (int i = 0; i < 10; ++i) b.record(2.0);
  a.merge(b);
  EXPECT_EQ(a.count(), 100u);
  EXPECT_NEAR(a.quantile(0.5), 0.010, 0.010 * 0.0625);
  EXPECT_NEAR(a.quantile(0.95), 2.0, 2.0 * 0.0625);
}

TEST(LatencyHistogram, RangesGrowEitherWayInRecordAndMerge) {
  LatencyHistogram low_first, high_first, reference;
  for (const double v : {0.002, 40.0, 0.0001, 1e6, 0.3}) {
    low_first.record(v);
    reference.record(v);
  }
  for (const double v : {1e6, 0.3, 0.0001}) high_first.record(v);
  LatencyHistogram merged_down = high_first, merged_up;
  merged_down.merge(low_first);
  merged_up.merge(low_first);
  merged_up.merge(high_first);
  for (const auto* h : {&merged_down, &merged_up}) {
    EXPECT_EQ(h->count(), 8u);
    for (const double q : {0.1, 0.3, 0.5, 0.7, 0.9, 1.0}) {
      LatencyHistogram both = reference;
      both.merge(high_first);
      EXPECT_DOUBLE_EQ(h->quantile(q), both.quantile(q)) << q;
    }
  }
  const std::size_t lowest = LatencyHistogram::bucket_of(0.0001);
  EXPECT_DOUBLE_EQ(reference.quantile(0.2), (LatencyHistogram::lower_bound_seconds(lowest) +
                                             LatencyHistogram::upper_bound_seconds(lowest)) /
                                                2);
  EXPECT_DOUBLE_EQ(reference.quantile(1.0),
                   (LatencyHistogram::lower_bound_seconds(LatencyHistogram::kBuckets - 1) +
                    LatencyHistogram::upper_bound_seconds(LatencyHistogram::kBuckets - 1)) /
                       2);
}

TEST(Stats, AggregatesPerBackendAndRoute) {
  FakeClock clock;
  StatsHub hub(2, {}, clock.function());
  hub.shard(0).record(summary("gpt", 200, 0.1));
  hub.shard(1).record(summary("gpt", 502, 0.3));
  clock.now += seconds(1);
  auto failover = summary("claude", 200, 0.2, "cheap");
  failover.failed_backends = {"gpt"};
  failover.category = "code";
  hub.shard(1).record(failover);

  const auto w = hub.window(seconds(300));
  EXPECT_EQ(w.window, seconds(300));
  EXPECT_EQ(w.total.requests, 3u);
  EXPECT_EQ(w.total.errors, 1u);
  EXPECT_EQ(w.total.fallbacks, 1u);
  EXPECT_EQ(w.total.input_tokens, 300);
  EXPECT_DOUBLE_EQ(w.total.cost_usd, 1.5);
  EXPECT_EQ(w.backends.at("gpt").requests, 2u);
  EXPECT_EQ(w.backends.at("gpt").errors, 1u);
  EXPECT_EQ(w.backends.at("gpt").failed_attempts, 1u);
  EXPECT_EQ(w.backends.at("claude").requests, 1u);
  EXPECT_EQ(w.routes.at("auto").requests, 2u);
  EXPECT_EQ(w.routes.at("cheap").fallbacks, 1u);
  EXPECT_EQ(w.categories.at("chat"), 2u);
  EXPECT_EQ(w.categories.at("code"), 1u);
  ASSERT_EQ(w.recent.size(), 3u);
  EXPECT_EQ(w.recent[0].attempts, 2u);
}

// Rates are per second the router was up: a window longer than that is not diluted.
TEST(Stats, RatesCountOnlyTheSecondsSinceStart) {
  FakeClock clock;
  StatsHub hub(1, {}, clock.function());
  for (int i = 0; i < 20; ++i) hub.shard(0).record(summary("gpt", 200, 0.1));
  clock.now += seconds(10);
  const auto young = to_json(hub.window(seconds(300)));
  EXPECT_EQ(young["measured_seconds"], 10);
  EXPECT_DOUBLE_EQ(young["total"]["requests_per_second"].get<double>(), 2.0);
  clock.now += seconds(590);
  const auto older = to_json(hub.window(seconds(300)));
  EXPECT_EQ(older["measured_seconds"], 300);
}

// A cascade's set-aside answer is the request's spend, credited to the backend that made it.
TEST(Stats, SetAsideSpendIsCreditedToTheBackendThatMadeIt) {
  FakeClock clock;
  StatsHub hub(1, {}, clock.function());
  auto cascaded = summary("strong", 200, 0.1);  // 100 + 10 tokens, $0.5 in all
  cascaded.set_aside.push_back({"weak", 40, 4, 0.125});
  hub.shard(0).record(cascaded);
  const auto w = hub.window(seconds(60));
  EXPECT_DOUBLE_EQ(w.total.cost_usd, 0.5);
  EXPECT_DOUBLE_EQ(w.backends.at("strong").cost_usd, 0.375);
  EXPECT_EQ(w.backends.at("strong").input_tokens, 60);
  EXPECT_EQ(w.backends.at("strong").requests, 1u);
  EXPECT_DOUBLE_EQ(w.backends.at("weak").cost_usd, 0.125);
  EXPECT_EQ(w.backends.at("weak").output_tokens, 4);
  EXPECT_EQ(w.backends.at("weak").requests, 0u);
}

TEST(Stats, CostTotalsPerRuleCategoryAndClientKey) {
  FakeClock clock;
  StatsHub hub(1, {}, clock.function());
  auto hard = summary("big", 200, 0.1);
  hard.rule = "hard-prompt";
  hard.client_key_id = "key-aaaaaaaaaaaa";
  hard.category = "math";
  hard.cost_usd = 0.25;
  hub.shard(0).record(hard);
  hub.shard(0).record(hard);
  auto plain = summary("small", 200, 0.1);
  plain.rule = "default";
  plain.client_key_id = "key-bbbbbbbbbbbb";
  plain.cost_usd = 0.125;
  hub.shard(0).record(plain);
  hub.shard(0).record(summary("small", 200, 0.1));  // no key, no rule

  const auto w = hub.window(seconds(60));
  EXPECT_DOUBLE_EQ(w.rules.at("auto/hard-prompt").cost_usd, 0.5);
  EXPECT_EQ(w.rules.at("auto/default").requests, 1u);
  EXPECT_EQ(w.rules.size(), 2u);
  EXPECT_DOUBLE_EQ(w.client_keys.at("key-aaaaaaaaaaaa").cost_usd, 0.5);
  EXPECT_EQ(w.client_keys.at("key-bbbbbbbbbbbb").output_tokens, 10);
  EXPECT_EQ(w.client_keys.size(), 2u);
  EXPECT_DOUBLE_EQ(w.category_cost_usd.at("math"), 0.5);
  EXPECT_DOUBLE_EQ(w.category_cost_usd.at("chat"), 0.625);
  const auto doc = to_json(w);
  EXPECT_DOUBLE_EQ(doc["client_keys"]["key-aaaaaaaaaaaa"]["cost_usd"].get<double>(), 0.5);
  EXPECT_EQ(doc["rules"]["auto/hard-prompt"]["requests"], 2);
}

TEST(Stats, ClientKeysPerSlotAreBounded) {
  FakeClock clock;
  StatsHub hub(1, {}, clock.function());
  for (int i = 0; i < 1500; ++i) {
    auto s = summary("a", 200, 0.1);
    s.client_key_id = "key-" + std::to_string(i);
    hub.shard(0).record(s);
  }
  const auto w = hub.window(seconds(60));
  EXPECT_EQ(w.client_keys.size(), 1001u);
  EXPECT_EQ(w.client_keys.at("(other)").requests, 500u);
  // Another slot, other keys: the window keeps the 1,000 busiest, not 1,000 per slot.
  clock.now += seconds(10);
  for (int i = 0; i < 1500; ++i) {
    auto s = summary("a", 200, 0.1);
    s.client_key_id = "key-" + std::to_string(i < 10 ? i : 2000 + i);
    hub.shard(0).record(s);
  }
  const auto merged = hub.window(seconds(60));
  EXPECT_EQ(merged.client_keys.size(), 1001u);
  EXPECT_EQ(merged.client_keys.at("key-3").requests, 2u);  // in both slots: among the busiest
  std::uint64_t total = 0;
  for (const auto& [name, stats] : merged.client_keys) total += stats.requests;
  EXPECT_EQ(total, 3000u);
}

TEST(Stats, ClientKeysShareTheBoundBetweenShardsAndCarryNoLatencies) {
  FakeClock clock;
  StatsHub hub(2, {}, clock.function());
  for (int i = 0; i < 700; ++i) {
    auto s = summary("a", 200, 0.1);
    s.client_key_id = "key-" + std::to_string(i);
    hub.shard(0).record(s);
  }
  const auto w = hub.window(seconds(60));
  EXPECT_EQ(w.client_keys.size(), 501u);
  EXPECT_EQ(w.client_keys.at("(other)").requests, 200u);
  const auto doc = to_json(w);
  EXPECT_EQ(doc["client_keys"]["key-1"]["requests"], 1);
  EXPECT_FALSE(doc["client_keys"]["key-1"].contains("latency_ms"));
  EXPECT_TRUE(doc["backends"]["a"].contains("latency_ms"));
}

TEST(Stats, WindowsSelectSlotsAndOldSlotsExpire) {
  FakeClock clock;
  StatsHub hub(1, {}, clock.function());
  hub.shard(0).record(summary("a", 200, 0.1));  // t = 0
  clock.now += seconds(120);
  hub.shard(0).record(summary("a", 200, 0.1));  // t = 2 min
  clock.now += seconds(170);                    // t = 4 min 50 s

  EXPECT_EQ(hub.window(seconds(60)).total.requests, 0u);
  EXPECT_EQ(hub.window(seconds(180)).total.requests, 1u);
  EXPECT_EQ(hub.window(seconds(300)).total.requests, 2u);

  clock.now += seconds(10);  // t = 5 min: the first slot falls out of a 5 min window
  EXPECT_EQ(hub.window(seconds(300)).total.requests, 1u);
  EXPECT_EQ(hub.window(seconds(3600)).total.requests, 2u);

  clock.now += seconds(3600);  // everything is older than the ring
  EXPECT_EQ(hub.window(seconds(3600)).total.requests, 0u);
}

TEST(Stats, RingSlotIsReusedAfterAWrap) {
  FakeClock clock;
  StatsHub hub(1, {.slot = seconds(10), .longest_window = seconds(60)}, clock.function());
  hub.shard(0).record(summary("a", 200, 0.1));
  clock.now += seconds(60);  // same ring position, next lap
  hub.shard(0).record(summary("a", 500, 0.1));
  const auto w = hub.window(seconds(60));
  EXPECT_EQ(w.total.requests, 1u);
  EXPECT_EQ(w.total.errors, 1u);
}

// Each shard hands a finished slot to the one history when its next slot starts; a read
// counts every request once, whether its slot is still a shard's or already the history's.
TEST(Stats, FinishedSlotsOfEveryShardAreCountedOnce) {
  FakeClock clock;
  StatsHub hub(3, {}, clock.function());
  hub.shard(0).record(summary("a", 200, 0.1));
  hub.shard(1).record(summary("a", 502, 0.1));
  hub.shard(2).record(summary("b", 200, 0.1));
  clock.now += seconds(10);
  hub.shard(0).record(summary("a", 200, 0.1));  // shard 0's first slot goes to the history
  EXPECT_EQ(hub.window(seconds(60)).total.requests, 4u);
  clock.now += seconds(10);
  hub.shard(1).record(summary("a", 200, 0.1));
  hub.shard(0).record(summary("a", 200, 0.1));
  const auto w = hub.window(seconds(30));
  EXPECT_EQ(w.total.requests, 6u);
  EXPECT_EQ(w.total.errors, 1u);
  EXPECT_EQ(w.backends.at("a").requests, 5u);
  ASSERT_EQ(w.backend_series.at("a").size(), 3u);
  EXPECT_EQ(w.backend_series.at("a")[0], (std::pair<std::uint64_t, std::uint64_t>{2, 1}));
  EXPECT_EQ(w.backend_series.at("a")[1], (std::pair<std::uint64_t, std::uint64_t>{1, 0}));
  EXPECT_EQ(w.backend_series.at("a")[2], (std::pair<std::uint64_t, std::uint64_t>{2, 0}));
  EXPECT_NEAR(w.backends.at("a").latency.quantile(1.0), 0.1, 0.1 * 0.0625);
  clock.now += seconds(3600);  // the history's slots age out like the shards' own
  hub.shard(2).record(summary("b", 200, 0.1));
  EXPECT_EQ(hub.window(seconds(3600)).total.requests, 1u);
}

TEST(Stats, ClientKeysOfShardsShareTheHistorysBound) {
  FakeClock clock;
  StatsHub hub(2, {.client_keys_per_slot = 600}, clock.function());
  for (int i = 0; i < 800; ++i) {
    auto s = summary("a", 200, 0.1);
    s.client_key_id = "key-" + std::to_string(i);
    hub.shard(i % 2).record(s);  // 400 each: a shard keeps 300 and "(other)"
  }
  clock.now += seconds(10);
  hub.shard(0).record(summary("a", 200, 0.1));
  hub.shard(1).record(summary("a", 200, 0.1));
  const auto w = hub.window(seconds(60));
  std::uint64_t keyed = 0;
  for (const auto& [name, counts] : w.client_keys) keyed += counts.requests;
  EXPECT_EQ(keyed, 800u);
  EXPECT_EQ(w.client_keys.size(), 600u);  // the slot's bound, "(other)" included
  EXPECT_EQ(w.client_keys.at("(other)").requests, 201u);
}

TEST(Stats, WindowIsClampedAndRoundedToSlots) {
  FakeClock clock;
  StatsHub hub(1, {}, clock.function());
  EXPECT_EQ(hub.window(seconds(0)).window, seconds(10));
  EXPECT_EQ(hub.window(seconds(15)).window, seconds(20));
  EXPECT_EQ(hub.window(seconds(86400)).window, seconds(3600));
}

TEST(Stats, RecentDecisionsAreBoundedAndNewestFirst) {
  FakeClock clock;
  StatsHub hub(2, {.recent_decisions = 3}, clock.function());
  for (int i = 0; i < 5; ++i) {
    auto s = summary("a", 200, 0.1);
    s.id = "r" + std::to_string(i);
    hub.shard(i % 2).record(s);
    clock.now += seconds(1);
  }
  const auto w = hub.window(seconds(60));
  ASSERT_EQ(w.recent.size(), 3u);
  EXPECT_EQ(w.recent[0].id, "r4");
  EXPECT_EQ(w.recent[1].id, "r3");
  EXPECT_EQ(w.recent[2].id, "r2");
}

// A shard keeps its last decisions in a ring: after it wraps around (more than once), still
// the newest, newest first.
TEST(Stats, RecentDecisionsOfOneShardWrapAround) {
  FakeClock clock;
  StatsHub hub(1, {.recent_decisions = 3}, clock.function());
  for (int i = 0; i < 8; ++i) {
    auto s = summary(i % 2 ? "a" : "b", 200, 0.1);
    s.id = "r" + std::to_string(i);
    hub.shard(0).record(s);
    clock.now += seconds(1);
  }
  const auto w = hub.window(seconds(60));
  ASSERT_EQ(w.recent.size(), 3u);
  EXPECT_EQ(w.recent[0].id, "r7");
  EXPECT_EQ(w.recent[0].backend, "a");
  EXPECT_EQ(w.recent[1].id, "r6");
  EXPECT_EQ(w.recent[1].backend, "b");
  EXPECT_EQ(w.recent[2].id, "r5");
}

TEST(Stats, JsonCarriesPercentilesSeriesAndDecisions) {
  FakeClock clock;
  StatsHub hub(1, {}, clock.function());
  for (int ms = 1; ms <= 100; ++ms) hub.shard(0).record(summary("gpt", 200, ms / 1000.0));
  clock.now += seconds(10);
  hub.shard(0).record(summary("gpt", 503, 0.05));
  const auto j = hub.to_json(seconds(300));
  EXPECT_EQ(j["window_seconds"], 300);
  EXPECT_EQ(j["total"]["requests"], 101);
  EXPECT_NEAR(j["total"]["error_rate"].get<double>(), 1.0 / 101, 1e-12);
  EXPECT_NEAR(j["backends"]["gpt"]["latency_ms"]["p50"].get<double>(), 50, 50 * 0.0625);
  EXPECT_NEAR(j["backends"]["gpt"]["latency_ms"]["p99"].get<double>(), 99, 99 * 0.0625);
  const auto& series = j["backends"]["gpt"]["series"];
  ASSERT_EQ(series.size(), 30u);
  EXPECT_EQ(series[28], nlohmann::json({100, 0}));
  EXPECT_EQ(series[29], nlohmann::json({1, 1}));
  EXPECT_EQ(j["categories"]["chat"], 101);
  EXPECT_EQ(j["recent"].size(), 100u);
  EXPECT_EQ(j["recent"][0]["status"], 503);
  EXPECT_TRUE(j["routes"]["auto"]["ttft_ms"]["p95"].is_number());
}

TEST(Stats, EmptyWindowHasNullPercentiles) {
  FakeClock clock;
  StatsHub hub(1, {}, clock.function());
  const auto j = hub.to_json(seconds(300));
  EXPECT_TRUE(j["total"]["latency_ms"]["p50"].is_null());
  EXPECT_EQ(j["total"]["error_rate"], 0.0);
  EXPECT_TRUE(j["backends"].empty());
}

TEST(Stats, ConcurrentRecordAndRead) {
  StatsHub hub(2);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) hub.shard(t).record(summary("a", 200, 0.01));
    });
  }
  for (int i = 0; i < 20; ++i) (void)hub.to_json(seconds(60));
  for (auto& t : threads) t.join();
  EXPECT_EQ(hub.window(seconds(60)).total.requests, 10000u);
}

TEST(ParseWindow, AcceptsUnits) {
  EXPECT_EQ(parse_window("5m"), seconds(300));
  EXPECT_EQ(parse_window("1h"), seconds(3600));
  EXPECT_EQ(parse_window("30s"), seconds(30));
  EXPECT_EQ(parse_window("90"), seconds(90));
  EXPECT_EQ(parse_window("1500ms"), seconds(2));
  EXPECT_FALSE(parse_window("0"));
  EXPECT_FALSE(parse_window("soon"));
  EXPECT_FALSE(parse_window(""));
}

TEST(ErrorStatus, CountsServerErrorsAndRateLimits) {
  EXPECT_FALSE(is_error_status(200));
  EXPECT_FALSE(is_error_status(400));
  EXPECT_FALSE(is_error_status(499));
  EXPECT_TRUE(is_error_status(429));
  EXPECT_TRUE(is_error_status(500));
  EXPECT_TRUE(is_error_status(504));
}

TEST(Cost, ExactSmallCases) {
  EXPECT_EQ(cost_usd(0, 0, 2.5, 10), 0.0);
  EXPECT_EQ(cost_usd(1'000'000, 0, 2.5, 10), 2.5);
  EXPECT_EQ(cost_usd(0, 1'000'000, 2.5, 10), 10.0);
  EXPECT_EQ(cost_usd(1000, 0, 2.5, 10), 0.0025);
  EXPECT_EQ(cost_usd(1000, 500, 3, 15), 0.0105);
  EXPECT_EQ(cost_usd(1, 1, 0.15, 0.6), 0.00000075);
  EXPECT_EQ(cost_usd(-5, 2000, 1, 2), 0.004);
  EXPECT_EQ(cost_usd(1000, 500, config::Cost{3, 15}), 0.0105);
}

// Cached prompt tokens at the cached input price (unset: the input price); never more cached
// tokens than the prompt has.
TEST(Cost, CachedPromptTokensAtTheirOwnPrice) {
  const config::Cost price{2.5, 10, 1.25};
  EXPECT_EQ(cost_usd(1'000'000, 0, 800'000, price), 0.2 * 2.5 + 0.8 * 1.25);
  EXPECT_EQ(cost_usd(1'000'000, 0, 800'000, config::Cost{2.5, 10}), 2.5);
  EXPECT_EQ(cost_usd(1000, 0, 5000, price), 0.00125);
  EXPECT_EQ(cost_usd(1000, 1000, -3, price), cost_usd(1000, 1000, price));
}

}  // namespace
}  // namespace llm_router::metrics
