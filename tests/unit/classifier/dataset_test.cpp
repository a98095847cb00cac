#include "llm_router/classifier/dataset.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>
#include <string>

namespace llm_router::classifier {
namespace {

TEST(Dataset, ParsesBothSchemas) {
  std::istringstream in(
      R"({"prompt": "p1", "label": "math", "id": 1, "source": "math", "level": "Level 3"})"
      "\n\n"
      R"({"prompt": "p2", "strong_correct": true, "weak_correct": false, "benchmark": "mmlu", "domain": "anatomy", "routellm_contaminated": true})"
      "\n"
      R"({"prompt": "p3", "strong_score": 9.5, "weak_score": 7.0, "benchmark": "mt_bench", "category": "math"})"
      "\n");
  const auto rows = parse_jsonl(in, "mem");
  ASSERT_EQ(rows.size(), 3U);
  EXPECT_EQ(rows[0].label, "math");
  EXPECT_EQ(rows[0].source, "math");
  EXPECT_EQ(rows[0].level, "Level 3");
  EXPECT_FALSE(has_routing_labels(rows[0]));
  EXPECT_EQ(*rows[1].strong_quality, 1.0);
  EXPECT_EQ(*rows[1].weak_quality, 0.0);
  EXPECT_TRUE(rows[1].contaminated);
  EXPECT_EQ(rows[1].domain, "anatomy");
  EXPECT_TRUE(rows[2].scored);
  EXPECT_EQ(rows[2].domain, "math");
}

TEST(Dataset, MalformedLineNamesFileAndLine) {
  std::istringstream in("{\"prompt\": \"ok\"}\n{not json}\n");
  try {
    parse_jsonl(in, "data.jsonl");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("data.jsonl:2"), std::string::npos) << e.what();
  }
}

TEST(Dataset, WeakFailsRules) {
  struct Case {
    double strong;
    double weak;
    bool scored;
    PositiveRule rule;
    bool expected;
  };
  const Case cases[] = {
      {1, 0, false, PositiveRule::kStrongWins, true},
      {1, 1, false, PositiveRule::kStrongWins, false},
      {0, 0, false, PositiveRule::kStrongWins, false},
      {0, 1, false, PositiveRule::kStrongWins, false},
      {0, 0, false, PositiveRule::kWeakWrong, true},
      {1, 1, false, PositiveRule::kWeakWrong, false},
      {9, 8, true, PositiveRule::kStrongWins, true},
      {9, 8.5, true, PositiveRule::kStrongWins, false},
      {9, 7.5, true, PositiveRule::kWeakWrong, true},
      {9, 9, true, PositiveRule::kWeakWrong, false},
  };
  for (const auto& c : cases) {
    Record r;
    r.strong_quality = c.strong;
    r.weak_quality = c.weak;
    r.scored = c.scored;
    EXPECT_EQ(weak_fails(r, c.rule), c.expected) << c.strong << " " << c.weak;
  }
  EXPECT_FALSE(weak_fails(Record{}));
}

TEST(Dataset, ValidationSplitIsStableAndProportional) {
  size_t in = 0;
  for (int i = 0; i < 10000; ++i) {
    const auto prompt = "prompt " + std::to_string(i);
    EXPECT_EQ(in_validation(prompt, 0.2), in_validation(prompt, 0.2));
    in += in_validation(prompt, 0.2) ? 1 : 0;
  }
  EXPECT_NEAR(static_cast<double>(in) / 10000.0, 0.2, 0.02);
  EXPECT_FALSE(in_validation("anything", 0.0));
  EXPECT_TRUE(in_validation("anything", 1.0));
}

}  // namespace
}  // namespace llm_router::classifier

namespace llm_router::classifier {
namespace {

TEST(Dataset, RestyledSwitchesBetweenTypedAndChatStyle) {
  EXPECT_EQ(restyled("what is your name"), "What is your name?");
  EXPECT_EQ(restyled("tell me a joke  \n"), "Tell me a joke.");
  EXPECT_EQ(restyled("What is your name?"), "what is your name");
  EXPECT_EQ(restyled("Summarize this: The CEO said NO."), "summarize this: the ceo said no");
  EXPECT_EQ(restyled("ok!!!"), "ok");
  EXPECT_EQ(restyled("été à paris"), "été à paris.");  // only ASCII letters change case
  EXPECT_EQ(restyled(""), "");
  EXPECT_EQ(restyled(restyled("how old are you")), "how old are you");
}

}  // namespace
}  // namespace llm_router::classifier
