#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "llm_router/analyzer/sentiment.hpp"
#include "llm_router/analyzer/sentiment_train.hpp"

namespace llm_router::analyzer {
namespace {

const std::string kLexicon =
    std::string(LLM_ROUTER_SOURCE_DIR) + "/data/sentiment/vader_lexicon.txt";
const std::string kWeights = std::string(LLM_ROUTER_SOURCE_DIR) + "/config/models/sentiment.json";

const VaderLexicon& lexicon() {
  static const VaderLexicon loaded = VaderLexicon::load(kLexicon);
  return loaded;
}

struct VaderCase {
  const char* rule;
  const char* text;
  double compound;  // vaderSentiment's published output (README examples)
};

class VaderReference : public ::testing::TestWithParam<VaderCase> {};

TEST_P(VaderReference, MatchesPythonVader) {
  const auto& c = GetParam();
  EXPECT_NEAR(vader_scores(c.text, lexicon()).compound, c.compound, 5e-5) << c.rule;
}

INSTANTIATE_TEST_SUITE_P(
    Rules, VaderReference,
    ::testing::Values(
        VaderCase{"plain", "VADER is smart, handsome, and funny.", 0.8316},
        VaderCase{"exclamation", "VADER is smart, handsome, and funny!", 0.8439},
        VaderCase{"booster", "VADER is very smart, handsome, and funny.", 0.8545},
        VaderCase{"caps", "VADER is VERY SMART, handsome, and FUNNY.", 0.9227},
        VaderCase{"caps and !!!", "VADER is VERY SMART, handsome, and FUNNY!!!", 0.9342},
        VaderCase{"slang boosters", "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
                  0.9469},
        VaderCase{"negation, nor", "VADER is not smart, handsome, nor funny.", -0.7424},
        VaderCase{"simple", "The book was good.", 0.4404},
        VaderCase{"least, n't", "At least it isn't a horrible book.", 0.431},
        VaderCase{"kind of", "The book was only kind of good.", 0.3832},
        VaderCase{"but",
                  "The plot was good, but the characters are uncompelling and the "
                  "dialog is not great.",
                  -0.7042},
        VaderCase{"caps slang", "Today SUX!", -0.5461},
        VaderCase{"emoticons", "Make sure you :) or :D today!", 0.8633},
        VaderCase{"negated negative", "Not bad at all", 0.431},
        VaderCase{"booster on negative", "A really bad, horrible book.", -0.8211},
        VaderCase{"slang", "Today sux", -0.3612}, VaderCase{"slang!", "Today sux!", -0.4199},
        VaderCase{"empty", "", 0.0}, VaderCase{"emoticons only", ":) and :D", 0.7925}));

TEST(Vader, ProportionsSumToOne) {
  const auto s = vader_scores("The plot was good, but the acting was awful.", lexicon());
  EXPECT_NEAR(s.pos + s.neg + s.neu, 1.0, 1e-9);
  EXPECT_GT(s.neg, 0);
  EXPECT_GT(s.pos, 0);
}

TEST(Vader, NeverWindowAndQuestionMarks) {
  EXPECT_LT(vader_scores("I never really liked it", lexicon()).compound, 0);
  const double plain = vader_scores("Is this good", lexicon()).compound;
  EXPECT_GT(vader_scores("Is this good???", lexicon()).compound, plain);
}

// A negation or booster reaches back three words within its sentence only: the "no" of one
// sentence does not turn the next one's "worst" into praise.
TEST(Vader, NegationsAndBoostersStopAtTheEndOfASentence) {
  EXPECT_LT(vader_scores("Still no response. Worst company ever.", lexicon()).compound, -0.5);
  EXPECT_GT(vader_scores("Still no response worst company ever", lexicon()).compound, 0);
  EXPECT_EQ(vader_scores("It was not. Bad at all.", lexicon()).compound,
            vader_scores("Bad at all.", lexicon()).compound);
  EXPECT_EQ(vader_scores("It was really. Good.", lexicon()).compound,
            vader_scores("Good.", lexicon()).compound);
  EXPECT_GT(vader_scores("Don't do it. Great job.", lexicon()).compound, 0.5);
}

// Technical terms made of negative words carry no tone; the same words in a complaint do.
TEST(Vader, TechnicalTermsAreNeutral) {
  for (const char* calm :
       {"What is the worst case for binary search?", "What is the worst case of binary search?",
        "How do I kill the process?", "How do I kill a zombie process in Linux?",
        "kill this process", "kill all processes", "kill -9 1234", "Remove the dead code",
        "What does this error message mean?", "My hard drive is full"}) {
    EXPECT_EQ(vader_scores(calm, lexicon()).compound, 0.0) << calm;
  }
  for (const char* angry : {"This is the worst customer service I have ever seen",
                            "I will kill the messenger", "The worst support ever"}) {
    EXPECT_LT(vader_scores(angry, lexicon()).compound, -0.3) << angry;
  }
}

TEST(Vader, CommonEmojiReadAsWordsOfTheirFeeling) {
  std::string buffer;
  EXPECT_EQ(with_emoji_words("fix it \U0001F621\U0001F621 now", buffer),
            "fix it  angry  angry  now");
  // A skin tone or variation selector goes with its emoji; other emoji and text stay.
  EXPECT_EQ(with_emoji_words("ok \U0001F44D\U0001F3FD \u2764\uFE0F \U0001F680", buffer),
            "ok  good   love  \U0001F680");
  const std::string plain = "no emoji here";
  EXPECT_EQ(with_emoji_words(plain, buffer).data(), plain.data());  // not copied
  EXPECT_EQ(emoji_words("\U0001F92C app \U0001F60A"), "furious smiling");
  EXPECT_LT(vader_scores("\U0001F92C\U0001F92C your app deleted my photos", lexicon()).compound,
            -0.5);
  EXPECT_GT(vader_scores("support was fast \U0001F60A", lexicon()).compound, 0.3);
}

TEST(VaderLexicon, RejectsMalformedLines) {
  EXPECT_THROW(VaderLexicon::parse("good\tnot-a-number\n", "x.txt"), std::runtime_error);
  EXPECT_THROW(VaderLexicon::parse("no-tab-here\n", "x.txt"), std::runtime_error);
  EXPECT_EQ(VaderLexicon::parse("good\t1.9\t0.9\t[1]\n\n", "x.txt").size(), 1u);
  EXPECT_THROW(VaderLexicon::load("/nonexistent/lexicon.txt"), std::runtime_error);
  // A directory or an empty file would score every prompt neutral: sentiment rules never fire.
  EXPECT_THROW(VaderLexicon::load("/tmp"), std::runtime_error);
  EXPECT_THROW(VaderLexicon::load("/dev/null"), std::runtime_error);
}

TEST(SentimentWeights, RoundTripsThroughJson) {
  SentimentWeights w;
  w.bias = 0.25;
  w.dense.assign(kSentimentDenseFeatures, 0.5);
  w.dense_mean.assign(kSentimentDenseFeatures, 0.0);
  w.dense_scale.assign(kSentimentDenseFeatures, 1.0);
  w.hashed.assign(SentimentWeights::kHashBuckets, 0.0f);
  w.hashed[7] = 0.125f;
  w.hashed[SentimentWeights::kHashBuckets - 1] = -0.5f;
  const auto back = SentimentWeights::from_json(w.to_json(), "mem");
  EXPECT_DOUBLE_EQ(back.bias, 0.25);
  EXPECT_NEAR(back.hashed[7], 0.125f, 1e-4);
  EXPECT_NEAR(back.hashed[SentimentWeights::kHashBuckets - 1], -0.5f, 1e-6);
  EXPECT_THROW(SentimentWeights::from_json(nlohmann::json{{"format", "x"}}, "mem"),
               std::runtime_error);
}

std::vector<SentimentExample> validation_rows(std::size_t per_source) {
  std::ifstream in(std::string(LLM_ROUTER_SOURCE_DIR) + "/data/sentiment/train.jsonl");
  std::map<std::string, std::size_t> taken;
  std::vector<SentimentExample> out;
  std::string line;
  while (std::getline(in, line)) {
    const auto row = nlohmann::json::parse(line);
    SentimentExample e{row["prompt"], row["sentiment"], row["source"], row["id"]};
    if (!is_validation_example(e) || taken[e.source] >= per_source) continue;
    ++taken[e.source];
    out.push_back(std::move(e));
  }
  return out;
}

// The shipped weights beat plain VADER on held-out rows (never used for fitting).
TEST(TrainedSentiment, BeatsVaderOnHeldOutRows) {
  const auto rows = validation_rows(60);
  ASSERT_EQ(rows.size(), 240u);
  const auto trained = load_sentiment_model(kLexicon, kWeights);
  const SentimentModel vader_only(lexicon(), std::nullopt);
  const auto r = evaluate_sentiment(rows, vader_only, *trained);
  EXPECT_GT(r.model.at("all"), r.vader.at("all"));
  EXPECT_GE(r.model.at("all"), 0.6);
}

TEST(TrainedSentiment, ScoresStayInRangeAndKeepDirection) {
  const auto model = load_sentiment_model(kLexicon, kWeights);
  EXPECT_GT(model->score("What a wonderful, moving film. I loved it!"), 0.2);
  EXPECT_LT(model->score("A dull, lifeless mess. Terrible acting and a boring plot."), -0.2);
  for (const char* text : {"", "!!!!!!!!", "NOT NOT NOT NOT", "\xff\xfe broken utf8"}) {
    const double s = model->score(text);
    EXPECT_GE(s, -1.0);
    EXPECT_LE(s, 1.0);
  }
}

// --repeat SOURCE=N is an integer weight: the same fit as N adjacent copies of each row.
TEST(SentimentTraining, RepeatedSourceFitsLikeCopies) {
  const char* texts[] = {"great service, thanks",     "this is awful",
                         "why does the export fail?", "I love it",
                         "worst support ever",        "how do I reset my password",
                         "thank you so much!",        "still broken after three days"};
  std::vector<SentimentExample> weighted;
  std::vector<SentimentExample> copied;
  for (int round = 0; round < 8; ++round) {
    for (int i = 0; i < 8; ++i) {
      const double rating = (i % 3 == 0) ? 2.0 : (i % 3 == 1 ? -2.0 : 0.0);
      const std::string source = i < 4 ? "a" : "b";
      const SentimentExample e{texts[i], rating, source, std::to_string(round * 8 + i)};
      weighted.push_back(e);
      copied.insert(copied.end(), source == "b" ? 3 : 1, e);
    }
  }
  SentimentTrainOptions options;
  options.hashed_l2_grid = {5.0};
  options.iterations = 50;
  const auto plain = train_sentiment(copied, lexicon(), options);
  options.source_repeats = {{"b", 3}};
  const auto repeated = train_sentiment(weighted, lexicon(), options);
  EXPECT_EQ(repeated.weights.dense, plain.weights.dense);
  EXPECT_EQ(repeated.weights.hashed, plain.weights.hashed);
  EXPECT_EQ(repeated.weights.bias, plain.weights.bias);
}

TEST(Pearson, KnownValues) {
  EXPECT_NEAR(pearson({1, 2, 3}, {2, 4, 6}), 1.0, 1e-12);
  EXPECT_NEAR(pearson({1, 2, 3}, {3, 2, 1}), -1.0, 1e-12);
  EXPECT_EQ(pearson({1, 1, 1}, {1, 2, 3}), 0.0);
}

}  // namespace
}  // namespace llm_router::analyzer
