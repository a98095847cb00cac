#include "llm_router/health/streaming_quantile.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace llm_router::health {
namespace {

TEST(StreamingQuantile, SettlesNearTheP95OfASteadyDistribution) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> ttft(std::log(200.0), 0.5);  // ms
  std::vector<double> samples;
  double estimate = -1;
  for (int i = 0; i < 20000; ++i) {
    const double x = ttft(rng);
    samples.push_back(x);
    estimate = update_quantile(estimate, x, 0.95);
  }
  std::sort(samples.begin(), samples.end());
  const double exact = samples[samples.size() * 95 / 100];
  EXPECT_NEAR(estimate, exact, exact * 0.15);
}

TEST(StreamingQuantile, FollowsAShiftInScale) {
  double estimate = -1;
  for (int i = 0; i < 2000; ++i) estimate = update_quantile(estimate, 10.0, 0.95);
  EXPECT_NEAR(estimate, 10.0, 1.0);
  for (int i = 0; i < 2000; ++i) estimate = update_quantile(estimate, 1000.0, 0.95);
  EXPECT_GT(estimate, 900.0);
}

TEST(StreamingQuantile, FirstSampleIsTakenAsIs) {
  EXPECT_EQ(update_quantile(-1, 42.0, 0.95), 42.0);
}

}  // namespace
}  // namespace llm_router::health
