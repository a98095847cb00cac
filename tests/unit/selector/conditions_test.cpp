#include <gtest/gtest.h>

#include <functional>

#include "llm_router/selector/selector.hpp"
#include "test_config.hpp"

namespace llm_router::selector {
namespace {

struct ConditionCase {
  const char* name;
  const char* when;  // YAML flow mapping
  std::function<void(RequestFacts&)> set;
  bool expected;
};

void no_change(RequestFacts&) {}

const ConditionCase kCases[] = {
    {"model matches", "{model: auto}", no_change, true},
    {"model list misses", "{model: [gpt-4, gpt-5]}", no_change, false},
    {"model matches the alias the client sent", "{model: [gpt-4]}",
     [](RequestFacts& f) { f.requested_model = "gpt-4"; }, true},
    {"header value", "{header: {x-tier: gold}}",
     [](RequestFacts& f) {
       f.headers = {{"x-tier", "gold"}};
     },
     true},
    {"header name is case-insensitive in config", "{header: {X-Tier: [silver, gold]}}",
     [](RequestFacts& f) {
       f.headers = {{"x-tier", "gold"}};
     },
     true},
    {"header value differs", "{header: {x-tier: gold}}",
     [](RequestFacts& f) {
       f.headers = {{"x-tier", "bronze"}};
     },
     false},
    {"a repeated header matches on any of its lines", "{header: {x-data-class: confidential}}",
     [](RequestFacts& f) {
       f.headers = {{"x-data-class", "public"}, {"x-data-class", "confidential"}};
     },
     true},
    {"a header's list matches on any element", "{header: {x-data-class: confidential}}",
     [](RequestFacts& f) {
       f.headers = {{"x-data-class", "public,  confidential "}};
     },
     true},
    {"a value with a comma still matches whole", "{header: {x-team: 'a, b'}}",
     [](RequestFacts& f) {
       f.headers = {{"x-team", "a, b"}};
     },
     true},
    {"an element is not a substring", "{header: {x-data-class: confidential}}",
     [](RequestFacts& f) {
       f.headers = {{"x-data-class", "public, not-confidential"}};
     },
     false},
    {"header present", "{header: {x-debug: {present: true}}}",
     [](RequestFacts& f) {
       f.headers = {{"x-debug", ""}};
     },
     true},
    {"header absent", "{header: {x-debug: {present: false}}}", no_change, true},
    {"header missing", "{header: {x-tier: gold}}", no_change, false},
    {"user", "{user: [alice, bob]}", [](RequestFacts& f) { f.user = "bob"; }, true},
    {"user differs", "{user: alice}", [](RequestFacts& f) { f.user = "carol"; }, false},
    {"metadata string", "{metadata: {team: search}}",
     [](RequestFacts& f) {
       f.metadata = {{"team", "search"}};
     },
     true},
    {"metadata number as text", "{metadata: {tier: 3}}",
     [](RequestFacts& f) {
       f.metadata = {{"tier", 3}};
     },
     true},
    {"metadata bool", "{metadata: {beta: true}}",
     [](RequestFacts& f) {
       f.metadata = {{"beta", true}};
     },
     true},
    {"metadata missing key", "{metadata: {team: search}}",
     [](RequestFacts& f) {
       f.metadata = {{"other", "x"}};
     },
     false},
    {"keywords hit", "{keywords: [refund, chargeback]}",
     [](RequestFacts& f) { f.keyword_hits = {"auto/r/keywords"}; }, true},
    {"keywords miss", "{keywords: [refund]}",
     [](RequestFacts& f) { f.keyword_hits = {"auto/other/keywords"}; }, false},
    {"regex hit", "{regex: 'def \\w+\\('}",
     [](RequestFacts& f) { f.keyword_hits = {"auto/r/regex"}; }, true},
    {"semantic above threshold", "{semantic: {examples: [cancel my plan], threshold: 0.6}}",
     [](RequestFacts& f) { f.semantic_scores["auto/r/semantic"] = 0.61; }, true},
    {"semantic below threshold", "{semantic: {examples: [cancel my plan], threshold: 0.6}}",
     [](RequestFacts& f) { f.semantic_scores["auto/r/semantic"] = 0.59; }, false},
    {"category list", "{category: [code, math]}", [](RequestFacts& f) { f.category = "math"; },
     true},
    {"category confidence too low", "{category: {in: [code], min_confidence: 0.8}}",
     [](RequestFacts& f) {
       f.category = "code";
       f.category_confidence = 0.7;
     },
     false},
    {"category confident", "{category: {in: code, min_confidence: 0.8}}",
     [](RequestFacts& f) {
       f.category = "code";
       f.category_confidence = 0.9;
     },
     true},
    {"complexity in range", "{complexity: {min: 0.6}}", [](RequestFacts& f) { f.complexity = 0.6; },
     true},
    {"complexity below", "{complexity: {min: 0.6, max: 1}}",
     [](RequestFacts& f) { f.complexity = 0.59; }, false},
    {"tokens in range", "{tokens: {min: 1000, max: 5000}}",
     [](RequestFacts& f) { f.estimated_tokens = 4000; }, true},
    {"tokens above", "{tokens: {max: 5000}}", [](RequestFacts& f) { f.estimated_tokens = 5001; },
     false},
    {"sentiment negative", "{sentiment: {max: -0.4}}", [](RequestFacts& f) { f.sentiment = -0.7; },
     true},
    {"sentiment neutral", "{sentiment: {max: -0.4}}", [](RequestFacts& f) { f.sentiment = 0; },
     false},
    {"pii any", "{pii: true}", [](RequestFacts& f) { f.pii = {"email"}; }, true},
    {"pii none", "{pii: false}", no_change, true},
    {"pii any but clean", "{pii: true}", no_change, false},
    {"pii kinds", "{pii: [api_key, credit_card]}", [](RequestFacts& f) { f.pii = {"api_key"}; },
     true},
    {"pii other kind", "{pii: [api_key]}", [](RequestFacts& f) { f.pii = {"email"}; }, false},
    {"stream", "{stream: true}", [](RequestFacts& f) { f.stream = true; }, true},
    {"stream false", "{stream: false}", [](RequestFacts& f) { f.stream = true; }, false},
    {"tools", "{tools: true}", [](RequestFacts& f) { f.has_tools = true; }, true},
    {"images", "{images: true}", no_change, false},
    {"audio", "{audio: true}", [](RequestFacts& f) { f.has_audio = true; }, true},
    {"no audio", "{audio: false}", no_change, true},
    {"json_mode", "{json_mode: true}", [](RequestFacts& f) { f.json_mode = true; }, true},
    {"implicit all: both hold", "{stream: true, user: alice}",
     [](RequestFacts& f) {
       f.stream = true;
       f.user = "alice";
     },
     true},
    {"implicit all: one fails", "{stream: true, user: alice}",
     [](RequestFacts& f) { f.user = "alice"; }, false},
    {"all", "{all: [{user: alice}, {tools: true}]}",
     [](RequestFacts& f) {
       f.user = "alice";
       f.has_tools = true;
     },
     true},
    {"any", "{any: [{user: alice}, {tools: true}]}", [](RequestFacts& f) { f.has_tools = true; },
     true},
    {"any none", "{any: [{user: alice}, {tools: true}]}", no_change, false},
    {"not", "{not: {user: alice}}", [](RequestFacts& f) { f.user = "bob"; }, true},
    {"nested",
     "{any: [{not: {category: chat}}, {all: [{stream: true}, {complexity: {max: 0.2}}]}]}",
     [](RequestFacts& f) {
       f.category = "chat";
       f.stream = true;
       f.complexity = 0.1;
     },
     true},
};

// A selector over route "auto" with one rule testing `when` (YAML).
Selector one_rule(const std::string& when) {
  return Selector(testing::shared(R"(
routes:
  - name: auto
    strategy: ordered
    use: [small]
    rules:
      - name: r
        when: )" + when + R"(
        use: [big]
)"));
}

class ConditionTest : public ::testing::TestWithParam<ConditionCase> {};

TEST_P(ConditionTest, MatchesAsExpected) {
  const ConditionCase& c = GetParam();
  const Selector selector = one_rule(c.when);
  RequestFacts facts;
  facts.model = "auto";
  c.set(facts);
  InMemoryLiveStats live(4);
  const RoutePlan plan = selector.plan(facts, live);
  ASSERT_TRUE(plan.ok()) << plan.message;
  EXPECT_EQ(plan.rule, c.expected ? "r" : "default") << c.name;
}

INSTANTIATE_TEST_SUITE_P(Table, ConditionTest, ::testing::ValuesIn(kCases), [](const auto& info) {
  std::string name = info.param.name;
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
});

// A dry run says what satisfied the rule: the branch of an `any` that fired, with its value.
TEST(WhyMatched, DryRunNamesTheBranchAndItsValue) {
  const Selector selector = one_rule(
      "{any: [{complexity: {min: 0.25}, not: {category: [chit_chat]}}, {category: [code, math]}, "
      "{pii: [us_ssn]}]}");
  InMemoryLiveStats live(4);
  RequestFacts facts;
  facts.model = "auto";
  facts.category = "math";
  facts.category_confidence = 0.93;
  facts.complexity = 0.1;
  RoutePlan plan = selector.preview(facts, live);
  EXPECT_EQ(plan.matched, "category math (0.93) in [code, math]");
  EXPECT_EQ(plan.to_json()["matched"], plan.matched);

  facts.category = "open_qa";
  facts.complexity = 0.31;
  plan = selector.preview(facts, live);
  EXPECT_EQ(plan.matched,
            "complexity 0.31 >= 0.25 and not (category open_qa (0.93) in [chit_chat])");

  facts.complexity = 0.1;
  facts.pii = {"email", "us_ssn"};
  EXPECT_EQ(selector.preview(facts, live).matched, "pii email, us_ssn (rule: us_ssn)");
  EXPECT_TRUE(selector.plan(facts, live).matched.empty());  // real requests skip the text
}

// A dry run also says why each rule tested before the match failed: the bound a score missed,
// the failing part of an `all`, every branch of an `any`; real requests skip the text.
TEST(WhyMatched, DryRunSaysWhyEarlierRulesFailed) {
  const Selector selector = one_rule(
      "{any: [{complexity: {min: 0.25}, not: {category: [chit_chat]}}, {category: {in: [code, "
      "math], "
      "min_confidence: 0.5}}, {header: {x-tier: [gold]}}]}");
  InMemoryLiveStats live(4);
  RequestFacts facts;
  facts.model = "auto";
  facts.category = "chit_chat";
  facts.category_confidence = 0.8;
  facts.complexity = 0.4;
  RoutePlan plan = selector.preview(facts, live);
  ASSERT_EQ(plan.rule, "default");
  ASSERT_EQ(plan.not_matched_why.size(), 1u);
  EXPECT_EQ(plan.not_matched_why[0],
            "category chit_chat (0.8) in [chit_chat] and category chit_chat (0.8) not in "
            "[code, math] and header x-tier absent");
  EXPECT_EQ(plan.to_json()["not_matched"],
            nlohmann::json::parse(R"([{"rule":"r","why":")" + plan.not_matched_why[0] + R"("}])"));

  facts.category = "math";
  facts.category_confidence = 0.3;
  facts.complexity = 0.1;
  plan = selector.preview(facts, live);
  EXPECT_EQ(plan.not_matched_why.at(0),
            "complexity 0.1 < 0.25 and category math (0.3) < 0.5 and header x-tier absent");
  EXPECT_TRUE(selector.plan(facts, live).not_matched_why.empty());
  EXPECT_FALSE(selector.plan(facts, live).to_json().contains("not_matched"));
}

TEST(WhyMatched, HeadersMetadataAndFlagsShowTheirValues) {
  const Selector selector = one_rule(
      "{all: [{header: {x-plan: [pro, enterprise]}}, {metadata: {role: planner}}, {tools: true}, "
      "{not: {stream: true}}]}");
  InMemoryLiveStats live(4);
  RequestFacts facts;
  facts.model = "auto";
  facts.headers = {{"x-plan", "pro"}};
  facts.metadata = {{"role", "planner"}};
  facts.has_tools = true;
  EXPECT_EQ(selector.preview(facts, live).matched,
            "header x-plan pro in [pro, enterprise] and metadata role planner in [planner] and "
            "tools true (rule: true) and not (stream false (rule: true))");
}

}  // namespace
}  // namespace llm_router::selector
