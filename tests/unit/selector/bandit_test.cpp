#include <gtest/gtest.h>

#include "llm_router/selector/selector.hpp"
#include "test_config.hpp"

namespace llm_router::selector {
namespace {

// Success probability of each backend in the simulated world: big is best.
const std::map<std::string, double> kTrueRate = {{"small", 0.55}, {"mid", 0.7}, {"big", 0.85}};
constexpr double kBestRate = 0.85;
constexpr int kRounds = 3000;

constexpr const char* kRoutes = R"(
routes:
  - name: learn
    strategy: bandit
    use: [small, mid, big]
  - name: learn-gaussian
    strategy: bandit
    bandit: {prior: gaussian}
    use: [small, mid, big]
  - name: spread
    strategy: weighted
    use: [small, mid, big]
)";

struct SimulationResult {
  double regret = 0;
  int best_picks_last_500 = 0;
};

// Plays kRounds requests; reward is a seeded Bernoulli draw of the chosen backend's rate.
SimulationResult simulate(const std::string& route, std::uint64_t seed) {
  Selector selector(testing::shared(kRoutes));
  InMemoryLiveStats live(4);
  Rng world(seed);
  SimulationResult result;
  RequestFacts facts;
  facts.model = route;
  facts.category = "chat";
  for (int round = 0; round < kRounds; ++round) {
    const RoutePlan plan = selector.plan(facts, live, seed * 1'000'003 + round);
    const std::string& chosen = plan.candidates.front().backend->name;
    const double rate = kTrueRate.at(chosen);
    result.regret += kBestRate - rate;
    if (round >= kRounds - 500 && chosen == "big") ++result.best_picks_last_500;
    const bool success = world.uniform() < rate;
    live.bandit().record(bandit_key(route, facts.category), chosen,
                         bandit_reward(Outcome{success, 0, 0, std::nullopt}, {}));
  }
  return result;
}

TEST(Bandit, ThompsonConvergesOnTheBestBackendWithLessRegretThanWeighted) {
  for (std::uint64_t seed : {1, 2, 3}) {
    const SimulationResult weighted = simulate("spread", seed);
    for (const char* route : {"learn", "learn-gaussian"}) {
      const SimulationResult bandit = simulate(route, seed);
      EXPECT_LT(bandit.regret, 0.1 * weighted.regret) << route << " seed " << seed;
      EXPECT_GE(bandit.best_picks_last_500, 425) << route << " seed " << seed;
    }
    // Equal weights pick at random: regret grows linearly at about (0.3 + 0.15) / 3 per round.
    EXPECT_NEAR(weighted.regret / kRounds, 0.15, 0.02);
  }
}

TEST(Bandit, ArmsAreKeptPerRouteAndCategory) {
  Selector selector(testing::shared(kRoutes));
  InMemoryLiveStats live(4);
  for (int i = 0; i < 200; ++i) {
    live.bandit().record(bandit_key("learn", "code"), "small", 1.0);
    live.bandit().record(bandit_key("learn", "code"), "big", 0.0);
    live.bandit().record(bandit_key("learn", "chat"), "small", 0.0);
    live.bandit().record(bandit_key("learn", "chat"), "big", 1.0);
  }
  RequestFacts facts;
  facts.model = "learn";
  facts.category = "code";
  EXPECT_EQ(selector.plan(facts, live, 5).candidates.front().backend->name, "small");
  facts.category = "chat";
  EXPECT_EQ(selector.plan(facts, live, 5).candidates.front().backend->name, "big");
}

TEST(Bandit, ARevisedObservationReplacesTheOldOne) {
  BanditState state;
  state.record("r|x", "a", 0.2);
  state.record("r|x", "a", 1.0);
  const ArmPosterior before = state.arm("r|x", "a");
  state.revise("r|x", "a", 0.2, 0.9);
  const ArmPosterior after = state.arm("r|x", "a");
  EXPECT_EQ(after.count, before.count);  // still two requests
  EXPECT_NEAR(after.alpha - before.alpha, 0.7, 1e-12);
  EXPECT_NEAR(after.beta - before.beta, -0.7, 1e-12);
  EXPECT_NEAR(after.reward_sum, 1.9, 1e-12);
  state.revise("r|x", "unknown", 0.2, 0.9);  // nothing to revise: no arm appears
  EXPECT_EQ(state.arm("r|x", "unknown").count, 0);
}

TEST(Bandit, StateRoundTripsThroughJson) {
  BanditState state;
  state.record("learn|chat", "big", 1.0);
  state.record("learn|chat", "big", 0.25);
  state.record("learn|code", "small", 0.0);
  BanditState restored;
  ASSERT_TRUE(restored.from_json(nlohmann::json::parse(state.to_json().dump())));
  EXPECT_EQ(restored.to_json(), state.to_json());
  const ArmPosterior arm = restored.arm("learn|chat", "big");
  EXPECT_DOUBLE_EQ(arm.alpha, 2.25);
  EXPECT_DOUBLE_EQ(arm.beta, 1.75);
  EXPECT_DOUBLE_EQ(arm.count, 2);
  EXPECT_DOUBLE_EQ(restored.arm("learn|none", "big").alpha, 1);  // unseen arm: uniform prior
}

TEST(Bandit, MalformedStateIsRejectedAndKeepsTheOld) {
  BanditState state;
  state.record("r|c", "b", 1.0);
  const auto before = state.to_json();
  for (const char* text : {R"({"version": 2, "arms": {}})", R"({"version": 1})",
                           R"({"version": 1, "arms": {"r|c": {"b": {"alpha": 1}}}})",
                           R"({"version": 1, "arms": {"r|c": {"b": {"alpha": -1, "beta": 1,
                              "count": 0, "reward_sum": 0, "reward_sq_sum": 0}}}})",
                           "[]"}) {
    EXPECT_FALSE(state.from_json(nlohmann::json::parse(text))) << text;
    EXPECT_EQ(state.to_json(), before);
  }
}

TEST(Bandit, RewardWeighsSuccessLatencyCostAndFeedback) {
  const config::BanditSettings s;  // latency 0.2 @ 10 s, cost 0.2 @ $0.01, feedback 0.5
  struct Case {
    Outcome outcome;
    double reward;
  };
  const Case cases[] = {
      {{true, 0, 0, std::nullopt}, 1.0},
      {{false, 0, 0, std::nullopt}, 0.0},
      {{true, 5'000, 0, std::nullopt}, 0.9},
      {{true, 60'000, 0.05, std::nullopt}, 0.6},  // penalties saturate
      {{true, 0, 0, 0.0}, 0.5},
      {{false, 0, 0, 1.0}, 0.5},
      {{true, 0, 0, std::numeric_limits<double>::quiet_NaN()}, 1.0},  // NaN feedback ignored
  };
  for (const auto& c : cases) EXPECT_DOUBLE_EQ(bandit_reward(c.outcome, s), c.reward);
}

}  // namespace
}  // namespace llm_router::selector
