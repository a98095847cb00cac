#include <gtest/gtest.h>

#include <random>

#include "llm_router/analyzer/analyzer.hpp"
#include "llm_router/analyzer/detectors.hpp"

namespace llm_router::analyzer {
namespace {

// Random bytes (invalid UTF-8, NULs, digit runs, punctuation) through every scanner: no crash,
// results in range. Deterministic seed, so a failure reproduces.
TEST(Robustness, RandomBytesThroughEverySignal) {
  const std::string root = LLM_ROUTER_SOURCE_DIR;
  auto sentiment = load_sentiment_model(root + "/data/sentiment/vader_lexicon.txt",
                                        root + "/config/models/sentiment.json");
  AnalyzerSettings settings;
  settings.text.max_chars = 700;
  settings.text.model_chars = 300;
  const Analyzer analyzer(settings, {nullptr, nullptr, sentiment},
                          {{"k", {"refund", "credit card"}, {"(?i)order #\\d+", "c\\+\\+"}}},
                          {{"s", {"fix this bug", "summarize this"}, 0.3}});
  std::mt19937 rng(7);
  const std::string alphabet =
      "aZ09 +-()./:@#_=!?'\n\t```\xc3\xa9\xe6\xb3\x95\xff\xfe" + std::string(1, '\0');
  for (int round = 0; round < 300; ++round) {
    std::string text;
    const int length = static_cast<int>(rng() % 900);
    for (int k = 0; k < length; ++k) text += alphabet[rng() % alphabet.size()];
    const nlohmann::json body = {{"messages", {{{"role", "user"}, {"content", text}}}}};
    Analysis a;
    ASSERT_NO_THROW(a = analyzer.analyze(body, {})) << round;
    EXPECT_GE(a.sentiment, -1.0);
    EXPECT_LE(a.sentiment, 1.0);
    EXPECT_LE(a.analyzed_chars, 700);
    for (const auto& [name, score] : a.semantic_scores) {
      EXPECT_GE(score, 0.0);
      EXPECT_LE(score, 1.0);
    }
    EXPECT_NO_THROW(a.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
}

TEST(Robustness, EdgeLengthsAroundTheScannersWindows) {
  for (const char* text :
       {"", "+", "(", "4", "@", "a@", "@b.co", "DE89", "sk-", "```", "-----BEGIN ",
        "-----BEGIN RSA PRIVATE KEY", "1.2.3.", "(415) ", "GB82 WEST 1234 5698 7654 32"}) {
    EXPECT_NO_THROW(detect_pii(text)) << text;
    EXPECT_NO_THROW(detect_code(text)) << text;
    EXPECT_NO_THROW(detect_script_and_language(text)) << text;
  }
  EXPECT_EQ(detect_pii("GB82 WEST 1234 5698 7654 32")[static_cast<std::size_t>(PiiKind::iban)], 1);
}

}  // namespace
}  // namespace llm_router::analyzer
