#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "llm_router/analyzer/keywords.hpp"
#include "llm_router/analyzer/semantic.hpp"

namespace llm_router::analyzer {
namespace {

KeywordMatcher billing_and_legal() {
  return KeywordMatcher({
      {"billing", {"invoice", "Refund", "credit card"}, {R"(order #\d+)"}},
      {"legal", {"lawsuit", "gdpr"}, {}},
      {"empty", {}, {}},
  });
}

struct KeywordCase {
  const char* text;
  std::vector<std::string> hits;
};

class KeywordMatching : public ::testing::TestWithParam<KeywordCase> {};

TEST_P(KeywordMatching, NamesOfMatchedSets) {
  static const KeywordMatcher matcher = billing_and_legal();
  EXPECT_EQ(matcher.match(GetParam().text), GetParam().hits) << GetParam().text;
  // The same with the words the featurizer found (the analyzer's path).
  classifier::FeatureScratch scratch;
  classifier::featurize(classifier::FeaturizerConfig{}, GetParam().text, scratch);
  EXPECT_EQ(matcher.match(GetParam().text, scratch.word_spans), GetParam().hits) << GetParam().text;
}

// The featurizer's words are the matcher's own: same hits on texts with every kind of byte.
TEST(KeywordMatcher, FeaturizerWordsGiveTheSameHits) {
  const KeywordMatcher matcher({
      {"single", {"crash", "x", "data_set", "caf\xc3\xa9", "42"}, {}},
      {"phrase", {"stack trace", "what is the", "credit card"}, {}},
      {"regex", {"c++", "node.js"}, {}},
  });
  std::string long_text;
  while (long_text.size() < 3000)
    long_text += "why does the stack trace crash? x=42; C++ data_set ";
  const std::vector<std::string> texts = {
      "",
      "x",
      "  crash  ",
      "What is the stack\ntrace of caf\xc3\xa9 data_set_2 and DATA_SET?",
      "credit-card credit  card CRASHED crash_ 42 4242 _x_ x_",
      "node.js and c++ at the end: x",
      "\xff\xfe crash\xe2\x80\x99s stack trace",
      long_text};
  classifier::FeatureScratch scratch;
  for (const auto& text : texts) {
    classifier::featurize(classifier::FeaturizerConfig{}, text, scratch);
    EXPECT_EQ(matcher.match(text, scratch.word_spans), matcher.match(text)) << text;
  }
}

// Chinese and Japanese put no spaces between words: each of their characters is a word, so an
// English keyword inside such text matches, and a Chinese keyword is a phrase of characters.
TEST(KeywordMatcher, ScriptsWithoutSpaces) {
  const KeywordMatcher matcher({
      {"code", {"python", "sql query"}, {}},
      {"refund", {"\u9000\u6b3e"}, {}},                           // 退款
      {"process", {"\u9000\u6b3e\u7533\u8bf7\u6d41\u7a0b"}, {}},  // 退款申请流程, a literal
  });
  const std::string python_zh =
      "\u8bf7\u7528Python\u5199\u4e00\u4e2a\u51fd\u6570";  // 请用Python写一个函数
  const std::string python_ja = "Python\u3067\u4e8c\u5206\u63a2\u7d22";  // Pythonで二分探索
  const std::string sql_zh = "\u5199\u4e00\u4e2aSQL query\u5427";        // 写一个SQL query吧
  const std::string refund_zh = "\u6211\u8981\u9000\u6b3e";              // 我要退款
  const std::string process_zh = "\u9000\u6b3e\u7533\u8bf7\u6d41\u7a0b\u662f\u4ec0\u4e48";
  const std::string no_refund = "\u9000\u8d27";  // 退货: another word
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {python_zh, {"code"}},
      {python_ja, {"code"}},
      {sql_zh, {"code"}},
      {refund_zh, {"refund"}},
      {process_zh, {"refund", "process"}},
      {no_refund, {}},
      {"pythonic", {}},
  };
  classifier::FeatureScratch scratch;
  for (const auto& [text, hits] : cases) {
    EXPECT_EQ(matcher.match(text), hits) << text;
    classifier::featurize(classifier::FeaturizerConfig{}, text, scratch);
    EXPECT_EQ(matcher.match(text, scratch.word_spans), hits) << text;
  }
}

// Capitals of other alphabets match as ASCII capitals do, whichever case the keyword is in.
TEST(KeywordMatcher, CaseIsIgnoredInOtherAlphabetsToo) {
  const KeywordMatcher matcher({
      {"transfer", {"\u00fcberweisung", "\u0421\u0447\u0451\u0442"}, {}},  // überweisung, Счёт
      {"phrase", {"\u00e9tat civil", "\u03c0\u03bf\u03bb\u03cd \u03ba\u03b1\u03bb\u03ac"}, {}},
      {"sigma", {"\u03c3\u03bf\u03c6\u03bf\u03c2"}, {}},  // σοφος, with the final sigma
  });
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"Eine \u00dcberweisung bitte", {"transfer"}},  // Überweisung
      {"\u00dcBERWEISUNG", {"transfer"}},             // ÜBERWEISUNG
      {"\u0421\u0427\u0401\u0422 \u043d\u0430 \u043e\u043f\u043b\u0430\u0442\u0443",
       {"transfer"}},                              // СЧЁТ на оплату
      {"\u0441\u0447\u0451\u0442", {"transfer"}},  // счёт
      {"\u00c9tat Civil", {"phrase"}},             // État Civil
      {"\u03a0\u039f\u039b\u038e \u039a\u0391\u039b\u0386", {"phrase"}},  // ΠΟΛΎ ΚΑΛΆ
      {"\u0441\u0447\u0435\u0442\u0430", {}},                // счета: another word
      {"\u039f \u03a3\u039f\u03a6\u039f\u03a3", {"sigma"}},  // Ο ΣΟΦΟΣ
      {"\u03c3\u03bf\u03c6\u03bf\u03c3", {"sigma"}},         // σοφοσ, as a capital's lowercase
  };
  classifier::FeatureScratch scratch;
  for (const auto& [text, hits] : cases) {
    EXPECT_EQ(matcher.match(text), hits) << text;
    classifier::featurize(classifier::FeaturizerConfig{}, text, scratch);
    EXPECT_EQ(matcher.match(text, scratch.word_spans), hits) << text;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, KeywordMatching,
    ::testing::Values(
        KeywordCase{"I need a REFUND please", {"billing"}},
        // Whole words and their regular inflections.
        KeywordCase{"refunded twice", {"billing"}}, KeywordCase{"Refunds, refunding", {"billing"}},
        KeywordCase{"refundable", {}}, KeywordCase{"invoices and invoiced", {"billing"}},
        KeywordCase{"where is order #1234?", {"billing"}},
        KeywordCase{"my Credit\n Card", {"billing"}},  // phrases: words in sequence
        KeywordCase{"two credit cards", {"billing"}}, KeywordCase{"credited cards", {"billing"}},
        KeywordCase{"a credit scorecard", {}},
        KeywordCase{"my Credit Card was charged", {"billing"}},
        KeywordCase{"GDPR lawsuit about an invoice", {"billing", "legal"}}, KeywordCase{"", {}},
        // Non-ASCII punctuation and spaces end a word: an ellipsis, curly and angle quotes, a
        // dash, a no-break space, an inverted question mark, a full-width comma, direction marks.
        KeywordCase{"I want a refund\u2026", {"billing"}},
        KeywordCase{"a \u201cRefund\u201d now", {"billing"}},
        KeywordCase{"l\u2019invoice", {"billing"}}, KeywordCase{"\u00abgdpr\u00bb", {"legal"}},
        KeywordCase{"lawsuit\u2014now", {"legal"}}, KeywordCase{"credit\u00a0card", {"billing"}},
        KeywordCase{"\u00bfrefund?", {"billing"}},
        KeywordCase{"refund\uff0c\u597d\u5417", {"billing"}},
        KeywordCase{"\u200einvoice\u200f", {"billing"}},
        // ... but not letters: a keyword is still a whole word.
        KeywordCase{"refund\u00e9", {}}));

TEST(KeywordMatcher, InvalidRegexIsRejectedAtConstruction) {
  try {
    KeywordMatcher matcher({{"broken", {}, {"(unclosed"}}});
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("broken"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("(unclosed"), std::string::npos);
  }
}

TEST(KeywordMatcher, RegularInflectionsWithoutMakingOtherWords) {
  const KeywordMatcher matcher({
      {"a", {"reply"}, {}},
      {"b", {"stop"}, {}},
      {"c", {"charge"}, {}},
      {"d", {"cancel"}, {}},
      {"e", {"fix"}, {}},
      {"f", {"go"}, {}},
      {"g", {"untie"}, {}},
      {"h", {"fee", "rat", "star", "cod"}, {}},
  });
  EXPECT_EQ(matcher.match("replies replied replying"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(matcher.match("stopped stopping stops"), (std::vector<std::string>{"b"}));
  EXPECT_EQ(matcher.match("charged"), (std::vector<std::string>{"c"}));
  EXPECT_EQ(matcher.match("charging"), (std::vector<std::string>{"c"}));
  EXPECT_EQ(matcher.match("cancelled"), (std::vector<std::string>{"d"}));
  EXPECT_EQ(matcher.match("canceling"), (std::vector<std::string>{"d"}));
  EXPECT_EQ(matcher.match("fixes"), (std::vector<std::string>{"e"}));
  EXPECT_EQ(matcher.match("untying"), (std::vector<std::string>{"g"}));
  // Two-letter words match as written only: "going" is not the language.
  EXPECT_TRUE(matcher.match("going goes").empty());
  EXPECT_EQ(matcher.match("Go"), (std::vector<std::string>{"f"}));
  // Short words take plurals only, and a doubled consonant where English doubles it: no
  // "feed", "rating", "stared", "coding", "stoped".
  EXPECT_TRUE(matcher.match("RSS feed rating stared coding stoped").empty());
  EXPECT_EQ(matcher.match("fees"), (std::vector<std::string>{"h"}));
  EXPECT_EQ(matcher.match("starred"), (std::vector<std::string>{"h"}));
}

TEST(KeywordMatcher, NoSetsMatchesNothing) {
  const KeywordMatcher matcher({});
  EXPECT_TRUE(matcher.empty());
  EXPECT_TRUE(matcher.match("anything").empty());
}

SemanticIndex example_index() {
  return SemanticIndex({
      {"weather", {"what's the weather like today", "will it rain tomorrow"}, 0.3},
      {"coding", {"write a python function", "fix this bug in my code"}, std::nullopt},
      {"travel", {"book a flight to paris", "find a cheap hotel"}, std::nullopt},
  });
}

double score_of(const std::vector<SemanticScore>& scores, std::string_view name) {
  for (const auto& s : scores) {
    if (s.name == name) return s.score;
  }
  return -1;
}

struct SemanticCase {
  const char* text;
  const char* best;
};

class SemanticOrdering : public ::testing::TestWithParam<SemanticCase> {};

TEST_P(SemanticOrdering, ClosestSetScoresHighest) {
  static const SemanticIndex index = example_index();
  const auto scores = index.score(GetParam().text);
  ASSERT_EQ(scores.size(), 3u);
  const double best = score_of(scores, GetParam().best);
  for (const auto& s : scores) {
    EXPECT_GE(s.score, 0.0);
    EXPECT_LE(s.score, 1.0);
    if (s.name != GetParam().best) {
      EXPECT_GT(best, s.score) << GetParam().text << " vs " << s.name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, SemanticOrdering,
    ::testing::Values(SemanticCase{"is it going to rain this weekend?", "weather"},
                      SemanticCase{"please write a function in python that sorts a list", "coding"},
                      SemanticCase{"there's a bug in my code, can you fix it", "coding"},
                      SemanticCase{"cheapest flights to Paris in May", "travel"}));

TEST(SemanticIndex, IdenticalTextScoresOne) {
  const SemanticIndex index = example_index();
  EXPECT_NEAR(score_of(index.score("will it rain tomorrow"), "weather"), 1.0, 1e-5);
  EXPECT_EQ(score_of(index.score(""), "weather"), 0.0);
}

// Only the sets asked for are scored (a request scores its route's), in the sets' order.
TEST(SemanticIndex, OnlyTheWantedSetsAreScored) {
  const SemanticIndex index = example_index();
  const std::vector<bool> wanted{true, false, true};
  const auto scores = index.score("will it rain tomorrow", &wanted);
  ASSERT_EQ(scores.size(), 2u);
  EXPECT_EQ(scores[0].name, "weather");
  EXPECT_NEAR(scores[0].score, 1.0, 1e-5);
  EXPECT_EQ(scores[1].name, "travel");
  const std::vector<bool> none(3, false);
  EXPECT_TRUE(index.score("will it rain tomorrow", &none).empty());
}

// What a long prompt asks sits in its first or last sentence; the pasted text around it does
// not dilute the match. A greeting of under three words opening a long text is no greeting.
TEST(SemanticIndex, TheFirstAndLastSentenceOfALongTextAreScoredToo) {
  const SemanticIndex index({{"summarize", {"tl;dr of this article"}, std::nullopt},
                             {"greeting", {"hello"}, std::nullopt}});
  std::string article;
  for (int i = 0; i < 8; ++i) {
    article += "The council met on Tuesday to discuss the budget for roads and parks. ";
  }
  const double asked_first =
      score_of(index.score("tl;dr of this article please: " + article), "summarize");
  const double asked_last =
      score_of(index.score(article + "\ntl;dr of this article?"), "summarize");
  EXPECT_GT(asked_first, 0.7);
  EXPECT_GT(asked_last, 0.7);
  // A short label before the task, closing marks after it.
  EXPECT_GT(score_of(index.score("  Task: tl;dr of this article. " + article), "summarize"), 0.7);
  EXPECT_GT(score_of(index.score(article + "tl;dr of this article?!)"), "summarize"), 0.7);
  EXPECT_LT(score_of(index.score(article), "summarize"), 0.3);
  EXPECT_LT(score_of(index.score("Hello! " + article), "greeting"), 0.3);
}

TEST(SemanticIndex, CapitalsOfOtherAlphabetsScoreAsTheirLowercase) {
  const SemanticIndex index(
      {{"refund",
        {"\u0432\u0435\u0440\u043d\u0438\u0442\u0435 \u0434\u0435\u043d\u044c\u0433\u0438"},
        std::nullopt}});
  // "ВЕРНИТЕ ДЕНЬГИ" is "верните деньги" in capitals.
  EXPECT_NEAR(
      score_of(
          index.score(
              "\u0412\u0415\u0420\u041d\u0418\u0422\u0415 \u0414\u0415\u041d\u042c\u0413\u0418"),
          "refund"),
      1.0, 1e-5);
}

class FixedEmbedder : public TextEmbedder {
 public:
  SparseVector embed(std::string_view text) const override {
    return {{static_cast<std::uint32_t>(text.size() % 2), 1.0f}};
  }
};

TEST(SemanticIndex, AcceptsAnotherEmbedder) {
  const SemanticIndex index({{"even", {"ab"}, std::nullopt}}, std::make_shared<FixedEmbedder>());
  EXPECT_EQ(index.score("cdef")[0].score, 1.0);
  EXPECT_EQ(index.score("cde")[0].score, 0.0);
}

}  // namespace
}  // namespace llm_router::analyzer
