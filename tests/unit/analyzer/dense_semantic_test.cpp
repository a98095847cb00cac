#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "llm_router/analyzer/analyzer.hpp"
#include "llm_router/analyzer/dense_semantic.hpp"

namespace llm_router::analyzer {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

struct SimilarityCase {
  const char* name;
  DenseVector a;
  DenseVector b;
  std::optional<double> expected;
};

class DenseSimilarity : public ::testing::TestWithParam<SimilarityCase> {};

TEST_P(DenseSimilarity, IsTheCosineClampedIntoZeroToOne) {
  const auto& c = GetParam();
  const auto got = dense_similarity(c.a, c.b);
  ASSERT_EQ(got.has_value(), c.expected.has_value()) << c.name;
  if (got) {
    EXPECT_NEAR(*got, *c.expected, 1e-6) << c.name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, DenseSimilarity,
    ::testing::Values(SimilarityCase{"same_direction", {1, 2, 3}, {2, 4, 6}, 1.0},
                      SimilarityCase{"orthogonal", {1, 0}, {0, 5}, 0.0},
                      SimilarityCase{"opposite_is_zero", {1, 1}, {-1, -1}, 0.0},
                      SimilarityCase{"half", {1, 0}, {0.5f, std::sqrt(3.0f) / 2}, 0.5},
                      SimilarityCase{"other_dimension", {1, 0}, {1, 0, 0}, std::nullopt},
                      SimilarityCase{"empty", {}, {}, std::nullopt},
                      SimilarityCase{"zero_vector", {0, 0}, {1, 0}, std::nullopt},
                      SimilarityCase{"nan", {kNaN, 1}, {1, 0}, std::nullopt},
                      SimilarityCase{"infinite", {1, 0}, {kInf, 0}, std::nullopt}),
    [](const auto& info) { return std::string(info.param.name); });

std::vector<SemanticSet> two_sets() {
  return {{"billing", {"refund please", "invoice"}, 0.9}, {"weather", {"rain"}, std::nullopt}};
}

TEST(DenseSemanticIndex, ScoresTheBestUtterancePerSet) {
  const auto index = DenseSemanticIndex::build(two_sets(), {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}});
  ASSERT_TRUE(index);
  EXPECT_EQ(index->dimensions(), 3u);
  const std::vector<float> query{0, 3, 1};
  const auto scores = index->score(query);
  ASSERT_TRUE(scores);
  ASSERT_EQ(scores->size(), 2u);
  EXPECT_EQ((*scores)[0].name, "billing");
  EXPECT_NEAR((*scores)[0].score, 3 / std::sqrt(10.0), 1e-6);
  EXPECT_EQ((*scores)[0].threshold, 0.9);
  EXPECT_EQ((*scores)[1].name, "weather");
  EXPECT_NEAR((*scores)[1].score, 1 / std::sqrt(10.0), 1e-6);
}

TEST(DenseSemanticIndex, RejectsVectorsThatDoNotFitTheUtterances) {
  EXPECT_FALSE(DenseSemanticIndex::build(two_sets(), {{1, 0}, {0, 1}}));             // too few
  EXPECT_FALSE(DenseSemanticIndex::build(two_sets(), {{1, 0}, {0, 1}, {1, 0, 0}}));  // ragged
  EXPECT_FALSE(DenseSemanticIndex::build(two_sets(), {{1, 0}, {0, 0}, {1, 1}}));     // zero
  EXPECT_FALSE(DenseSemanticIndex::build(two_sets(), {{1, 0}, {kNaN, 0}, {1, 1}}));  // NaN
  EXPECT_FALSE(DenseSemanticIndex::build({}, {}));
}

TEST(DenseSemanticIndex, AQueryThatDoesNotFitHasNoScores) {
  const auto index = DenseSemanticIndex::build(two_sets(), {{1, 0}, {0, 1}, {1, 1}});
  ASSERT_TRUE(index);
  EXPECT_FALSE(index->score(std::vector<float>{1, 0, 0}));
  EXPECT_FALSE(index->score(std::vector<float>{0, 0}));
  EXPECT_FALSE(index->score(std::vector<float>{kInf, 0}));
}

TEST(DenseSemanticIndex, UtterancesAreSentInSetOrder) {
  EXPECT_EQ(utterances_of(two_sets()),
            (std::vector<std::string>{"refund please", "invoice", "rain"}));
}

nlohmann::json user_says(const std::string& text) {
  return {{"messages", {{{"role", "user"}, {"content", text}}}}};
}

Analyzer analyzer_with(std::vector<SemanticSet> sets) {
  AnalyzerSettings settings;
  settings.detectors.sentiment = false;
  return Analyzer(settings, {}, {}, std::move(sets));
}

TEST(AnalyzerDense, ScoresComeFromTheEmbeddingsWhenTheyFit) {
  const Analyzer analyzer = analyzer_with(two_sets());
  const auto index = DenseSemanticIndex::build(two_sets(), {{1, 0}, {1, 0}, {0, 1}});
  ASSERT_TRUE(index);
  const std::vector<float> vector{1, 0};
  const DenseQuery dense{*index, vector};
  // The text shares no word with "billing": only the embeddings can say it is close.
  const Analysis analysis = analyzer.analyze(user_says("money back?"), {}, &dense);
  EXPECT_EQ(analysis.semantic_source, "embeddings");
  EXPECT_DOUBLE_EQ(analysis.semantic_scores.at("billing"), 1.0);
  EXPECT_DOUBLE_EQ(analysis.semantic_scores.at("weather"), 0.0);
  EXPECT_EQ(analysis.semantic_hits, std::vector<std::string>{"billing"});
}

TEST(AnalyzerDense, FallsBackToLocalScoresWhenTheVectorDoesNotFit) {
  const Analyzer analyzer = analyzer_with(two_sets());
  const auto index = DenseSemanticIndex::build(two_sets(), {{1, 0}, {1, 0}, {0, 1}});
  ASSERT_TRUE(index);
  const std::vector<float> wrong{1, 0, 0};
  const DenseQuery dense{*index, wrong};
  const Analysis with_wrong = analyzer.analyze(user_says("refund please"), {}, &dense);
  const Analysis local = analyzer.analyze(user_says("refund please"), {});
  EXPECT_EQ(with_wrong.semantic_source, "local");
  EXPECT_EQ(local.semantic_source, "local");
  EXPECT_EQ(with_wrong.semantic_scores, local.semantic_scores);
  EXPECT_NEAR(local.semantic_scores.at("billing"), 1.0, 1e-5);
}

TEST(AnalyzerDense, SemanticTextIsWhatTheScoresRead) {
  AnalyzerSettings settings;
  settings.detectors.sentiment = false;
  settings.text.model_chars = 16;
  const Analyzer analyzer(settings, {}, {}, two_sets());
  const std::string long_text = std::string(30, 'a') + std::string(10, 'b');
  std::string buffer;
  EXPECT_EQ(analyzer.semantic_text(user_says(long_text), {}), head_and_tail(long_text, 16, buffer));
  EXPECT_EQ(analyzer.semantic_text(user_says("rain today"), {}), "rain today");
  EXPECT_EQ(analyzer_with({}).analyze(user_says("x"), {}).semantic_source, "");
}

}  // namespace
}  // namespace llm_router::analyzer
