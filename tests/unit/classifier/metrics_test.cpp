#include "llm_router/classifier/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace llm_router::classifier {
namespace {

TEST(Quantile, MatchesNumpyLinear) {
  struct Case {
    std::vector<double> values;
    double q;
    double expected;
  };
  const std::vector<Case> cases = {
      {{1, 2, 3, 4}, 0.0, 1},     {{1, 2, 3, 4}, 1.0, 4}, {{1, 2, 3, 4}, 0.5, 2.5},
      {{4, 1, 3, 2}, 0.25, 1.75}, {{5}, 0.3, 5},          {{0, 10}, 0.1, 1},
  };
  for (const auto& c : cases) EXPECT_DOUBLE_EQ(quantile(c.values, c.q), c.expected);
  EXPECT_TRUE(std::isnan(quantile({}, 0.5)));
}

TEST(Interp, MatchesNumpyOnIncreasingPoints) {
  const std::vector<double> xp = {25, 75, 75};
  const std::vector<double> fp = {0, 50, 100};
  struct Case {
    double x;
    double expected;
  };
  const Case cases[] = {{10, 0}, {25, 0}, {50, 25}, {65, 40}, {80, 100}};
  for (const auto& c : cases) EXPECT_DOUBLE_EQ(interp(c.x, xp, fp), c.expected) << c.x;
}

// By hand: thresholds (bins = 2) are 0.1, 0.25, 0.4.
//   >= 0.1: all strong -> 100% strong, quality 3/4;  >= 0.25: rows 3 and 4 strong -> 50%, 3/4;
//   > 0.4: none -> 0%, 1/4.  Curve (0, 25) (0.5, 75) (1, 75): area 62.5, weak 25, strong 75,
//   APGR (62.5 - 25) / 50 = 0.75; CPT(p) interpolates on 25 -> 0%, 75 -> 50%.
TEST(RoutingMetrics, HandComputedExample) {
  const std::vector<RoutingRow> rows = {{0.1, 1, 1}, {0.2, 0, 0}, {0.3, 1, 0}, {0.4, 1, 0}};
  const auto m = evaluate_routing(rows, 2);
  EXPECT_DOUBLE_EQ(m.strong, 75);
  EXPECT_DOUBLE_EQ(m.weak, 25);
  ASSERT_EQ(m.curve.size(), 3U);
  EXPECT_DOUBLE_EQ(m.curve[1].threshold, 0.25);
  EXPECT_DOUBLE_EQ(m.curve[1].strong_percent, 50);
  EXPECT_DOUBLE_EQ(m.apgr, 0.75);
  EXPECT_DOUBLE_EQ(m.cpt20, 10);
  EXPECT_DOUBLE_EQ(m.cpt50, 25);
  EXPECT_DOUBLE_EQ(m.cpt80, 40);
}

TEST(RoutingMetrics, PerfectAndInvertedRouters) {
  // Score = 1 exactly where the strong model helps.
  std::vector<RoutingRow> rows;
  for (int i = 0; i < 100; ++i) {
    const bool helps = i % 5 == 0;
    rows.push_back({helps ? 1.0 + i * 1e-3 : i * 1e-3, 1, helps ? 0.0 : 1.0});
  }
  EXPECT_GT(evaluate_routing(rows).apgr, 0.85);
  for (auto& r : rows) r.score = -r.score;
  EXPECT_LT(evaluate_routing(rows).apgr, 0.2);
}

TEST(RoutingMetrics, RandomRouterIsAboutOneHalf) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> uniform(0, 1);
  std::vector<RoutingRow> rows;
  for (int i = 0; i < 20000; ++i) {
    rows.push_back({uniform(rng), uniform(rng) < 0.8 ? 1.0 : 0.0, uniform(rng) < 0.6 ? 1.0 : 0.0});
  }
  const auto m = evaluate_routing(rows);
  EXPECT_NEAR(m.apgr, 0.5, 0.03);
  EXPECT_NEAR(m.cpt50, 50, 5);
  EXPECT_NEAR(m.cpt80, 80, 5);
}

TEST(RoutingMetrics, DegenerateInputs) {
  EXPECT_TRUE(std::isnan(evaluate_routing({}).apgr));
  const std::vector<RoutingRow> same = {{0.1, 1, 1}, {0.9, 0, 0}};
  EXPECT_TRUE(std::isnan(evaluate_routing(same).apgr));  // strong == weak
}

TEST(Calibration, ThresholdSendsTheShare) {
  std::vector<double> scores;
  for (int i = 0; i < 1000; ++i) scores.push_back((i * 7919) % 1000 / 1000.0);
  for (const double share : {0.0, 0.1, 0.3, 0.5, 1.0}) {
    const double t = threshold_for_strong_share(scores, share);
    const auto strong =
        std::count_if(scores.begin(), scores.end(), [&](double s) { return s >= t; });
    EXPECT_NEAR(static_cast<double>(strong) / 1000.0, std::max(share, 0.001), 0.002) << share;
  }
}

TEST(ClassificationMetrics, HandComputed) {
  // label 0: tp 2, fn 0, fp 1 -> F1 4/5; label 1: tp 1, fn 1 -> 2/3; label 2 absent everywhere.
  const std::vector<int> truth = {0, 0, 1, 1};
  const std::vector<int> predicted = {0, 0, 1, 0};
  const auto m = evaluate_classification(truth, predicted, 3);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.75);
  EXPECT_DOUBLE_EQ(m.f1[0], 0.8);
  EXPECT_DOUBLE_EQ(m.f1[1], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.macro_f1, (0.8 + 2.0 / 3.0) / 2);
}

}  // namespace
}  // namespace llm_router::classifier
