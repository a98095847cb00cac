#include <gtest/gtest.h>

#include <map>

#include "llm_router/selector/selector.hpp"
#include "test_config.hpp"

namespace llm_router::selector {
namespace {

std::vector<std::string> names(const RoutePlan& plan) {
  std::vector<std::string> out;
  for (const auto& p : plan.candidates) out.push_back(p.backend->name);
  return out;
}

RequestFacts facts_for(std::string route) {
  RequestFacts f;
  f.model = std::move(route);
  return f;
}

constexpr const char* kRoutes = R"(
routes:
  - name: weighted
    strategy: weighted
    use: [small, big, mid]
    weights: {small: 3, big: 1, mid: 0}
  - name: rr
    strategy: round_robin
    use: [small, big, mid]
  - name: sticky-user
    strategy: consistent_hash
    hash_key: user
    use: [small, big, mid, local]
  - name: sticky-header
    strategy: consistent_hash
    hash_key: header x-session-id
    use: [small, big, mid, local]
  - name: sticky-tenant
    strategy: consistent_hash
    hash_key: metadata tenant
    use: [small, big, mid, local]
  - name: busy
    strategy: least_busy
    use: [small, big, mid]
  - name: fast
    strategy: lowest_latency
    exploration: 0
    expected_output_tokens: 100
    use: [small, big, mid, local]
  - name: explore
    strategy: lowest_latency
    exploration: 1
    use: [small, big, mid]
  - name: cheap
    strategy: cost
    use: [big, mid, small]
  - name: best
    strategy: quality
    use: [small, mid, big]
  - name: hybrid-cost
    optimize: cost
    use: [big, mid]
    rules:
      - name: tools
        when: {tools: true}
        use: [big, small, local]
)";

class StrategyTest : public ::testing::Test {
 protected:
  Selector selector_{testing::shared(kRoutes)};
  InMemoryLiveStats live_{4};
};

TEST_F(StrategyTest, WeightedFollowsTheWeights) {
  std::map<std::string, int> first;
  for (std::uint64_t seed = 0; seed < 4000; ++seed) {
    const RoutePlan p = selector_.plan(facts_for("weighted"), live_, seed);
    ASSERT_EQ(p.candidates.size(), 3u);
    ++first[p.candidates.front().backend->name];
    EXPECT_EQ(p.candidates.back().backend->name, "mid");  // weight 0: never ahead
  }
  EXPECT_NEAR(first["small"] / 4000.0, 0.75, 0.03);
  EXPECT_NEAR(first["big"] / 4000.0, 0.25, 0.03);
  EXPECT_EQ(first["mid"], 0);
}

TEST_F(StrategyTest, AWeightedDryRunShowsTheMostLikelyOrderNotOneDraw) {
  for (int i = 0; i < 20; ++i) {
    const RoutePlan p = selector_.preview(facts_for("weighted"), live_);
    ASSERT_EQ(p.candidates.size(), 3u);
    EXPECT_EQ(p.candidates[0].backend->name, "small");  // weight 3 of 4
    EXPECT_EQ(p.candidates[1].backend->name, "big");
    (void)selector_.plan(facts_for("weighted"), live_);  // real traffic moves on meanwhile
  }
}

TEST_F(StrategyTest, RoundRobinRotates) {
  const std::vector<std::vector<std::string>> expected = {{"small", "big", "mid"},
                                                          {"big", "mid", "small"},
                                                          {"mid", "small", "big"},
                                                          {"small", "big", "mid"}};
  for (const auto& order : expected) {
    EXPECT_EQ(names(selector_.plan(facts_for("rr"), live_)), order);
  }
}

TEST_F(StrategyTest, ConsistentHashIsStickyPerKey) {
  struct Case {
    const char* route;
    void (*set)(RequestFacts&, int);
  };
  const Case cases[] = {
      {"sticky-user", [](RequestFacts& f, int i) { f.user = "user-" + std::to_string(i); }},
      {"sticky-header",
       [](RequestFacts& f, int i) {
         // The facts hold views: the value must outlive them (as the request does).
         static std::map<int, std::string> values;
         const std::string& value = values.try_emplace(i, "s" + std::to_string(i)).first->second;
         f.headers = {{"x-session-id", value}};
       }},
      {"sticky-tenant",
       [](RequestFacts& f, int i) {
         f.metadata = {{"tenant", i}};
       }},
  };
  for (const auto& c : cases) {
    std::map<std::string, int> owners;
    for (int i = 0; i < 200; ++i) {
      RequestFacts f = facts_for(c.route);
      c.set(f, i);
      const auto first = names(selector_.plan(f, live_, 1));
      EXPECT_EQ(names(selector_.plan(f, live_, 99)), first) << c.route;  // seed-independent
      EXPECT_EQ(first.size(), 4u);
      ++owners[first.front()];
    }
    EXPECT_EQ(owners.size(), 4u) << c.route << ": keys spread over every member";
  }
}

TEST_F(StrategyTest, ConsistentHashSkipsAnEjectedOwnerToTheNextOnTheRing) {
  RequestFacts f = facts_for("sticky-user");
  f.user = "alice";
  const auto order = names(selector_.plan(f, live_, 1));
  live_
      .at(static_cast<std::size_t>(selector_.config().find_backend(order.front()) -
                                   selector_.config().backends.data()))
      .ejected = true;
  const auto next = names(selector_.plan(f, live_, 1));
  EXPECT_EQ(next, std::vector<std::string>(order.begin() + 1, order.end()));
}

TEST_F(StrategyTest, LeastBusyOrdersByLoadShare) {
  live_.at(0).in_flight = 1;   // small: 1/2 = 0.5
  live_.at(1).in_flight = 30;  // big: unlimited, 30/100 = 0.3
  live_.at(2).in_flight = 10;  // mid: 10/100 = 0.1
  const RoutePlan p = selector_.plan(facts_for("busy"), live_);
  EXPECT_EQ(names(p), (std::vector<std::string>{"mid", "big", "small"}));
  EXPECT_EQ(p.candidates.back().reason, "in flight 1/2");
}

// With rpm or tpm set, the load is the most used of slots and budgets.
TEST(LeastBusy, CountsTheShareOfRpmAndTpmSpent) {
  Selector selector(std::make_shared<const config::Config>(config::load_config_text(R"(
backends:
  - {name: quota, provider: mock, rpm: 100, tpm: 10000}
  - {name: slots, provider: mock, max_concurrency: 10}
routes:
  - name: busy
    strategy: least_busy
    use: [quota, slots]
)",
                                                                                    "test.yaml")));
  InMemoryLiveStats live(2);
  live.at(0).requests_available = 80;  // 20% of its rpm spent
  live.at(0).tokens_available = 4000;  // 60% of its tpm spent
  live.at(1).in_flight = 5;            // half its slots
  RoutePlan p = selector.plan(facts_for("busy"), live);
  EXPECT_EQ(names(p), (std::vector<std::string>{"slots", "quota"}));
  EXPECT_EQ(p.candidates.back().reason, "in flight 0/unlimited, rpm 20% used, tpm 60% used");
  live.at(0).tokens_available = 9000;
  p = selector.plan(facts_for("busy"), live);
  EXPECT_EQ(names(p), (std::vector<std::string>{"quota", "slots"}));
}

TEST_F(StrategyTest, LowestLatencyUsesTtftPlusTokens) {
  live_.at(0) = {0, false, 500, 10};  // 500 + 100 x 10 = 1500 ms
  live_.at(1) = {0, false, 200, 20};  // 2200 ms
  live_.at(2) = {0, false, 900, 2};   // 1100 ms
  live_.at(3).in_flight = 1;          // local: unmeasured, its first sample under way
  const RoutePlan p = selector_.plan(facts_for("fast"), live_);
  EXPECT_EQ(names(p), (std::vector<std::string>{"mid", "small", "big", "local"}));
  EXPECT_EQ(p.candidates.back().reason, "no latency samples yet (a first one is under way)");

  RequestFacts shorter = facts_for("fast");
  shorter.max_output_tokens = 10;  // 600, 400, 920: time to first token dominates
  EXPECT_EQ(names(selector_.plan(shorter, live_)),
            (std::vector<std::string>{"big", "small", "mid", "local"}));
}

TEST_F(StrategyTest, LowestLatencyMeasuresAnUnmeasuredBackendWithOneRequest) {
  live_.at(0) = {0, false, 500, 10};
  live_.at(1) = {0, false, 200, 20};
  live_.at(2) = {0, false, 900, 2};
  const RoutePlan p = selector_.plan(facts_for("fast"), live_);  // local: never measured, idle
  EXPECT_EQ(names(p).front(), "local");
  EXPECT_EQ(p.candidates.front().reason, "no latency samples yet: this request measures it");
}

TEST_F(StrategyTest, LowestLatencyExploresAtTheConfiguredRate) {
  std::map<std::string, int> first;
  for (std::uint64_t seed = 0; seed < 300; ++seed) {
    const RoutePlan p = selector_.plan(facts_for("explore"), live_, seed);
    EXPECT_TRUE(p.candidates.front().reason.starts_with("exploration"));
    ++first[p.candidates.front().backend->name];
  }
  EXPECT_EQ(first.size(), 3u);
}

TEST_F(StrategyTest, CostPicksTheCheapestExpectedBill) {
  RequestFacts f = facts_for("cheap");
  f.estimated_tokens = 1000;
  const RoutePlan p = selector_.plan(f, live_);
  EXPECT_EQ(names(p), (std::vector<std::string>{"small", "mid", "big"}));
  // big: (1000 x 5 + 300 x 15) / 1e6
  EXPECT_DOUBLE_EQ(p.candidates.back().score, 0.0095);
}

TEST_F(StrategyTest, QualityPicksTheBest) {
  EXPECT_EQ(names(selector_.plan(facts_for("best"), live_)),
            (std::vector<std::string>{"big", "mid", "small"}));
}

TEST_F(StrategyTest, HybridRulesPickThePoolOptimizeOrdersIt) {
  RequestFacts f = facts_for("hybrid-cost");
  f.has_tools = true;
  const RoutePlan p = selector_.plan(f, live_);
  EXPECT_EQ(p.rule, "tools");
  EXPECT_EQ(p.strategy, "hybrid");
  EXPECT_EQ(names(p), (std::vector<std::string>{"small", "big"}));  // local lacks 'tools'
  EXPECT_TRUE(p.candidates.front().reason.starts_with("cost: expected $"));
  EXPECT_EQ(names(selector_.plan(facts_for("hybrid-cost"), live_)),
            (std::vector<std::string>{"mid", "big"}));
}

TEST(StrategyFactory, EveryConfigNameHasAnImplementation) {
  const auto config = testing::load("routes: [{name: r, use: [small]}]\n");
  for (auto name : config::kStrategyNames) {
    const auto strategy = make_strategy(name, config, config.routes[0], config.routes[0]);
    ASSERT_NE(strategy, nullptr);
    EXPECT_EQ(strategy->name(), name);
  }
  EXPECT_THROW(make_strategy("nope", config, config.routes[0], config.routes[0]),
               std::invalid_argument);
}

}  // namespace
}  // namespace llm_router::selector
