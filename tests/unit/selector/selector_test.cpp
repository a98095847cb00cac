#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <thread>

#include "llm_router/selector/selector.hpp"
#include "test_config.hpp"

namespace llm_router::selector {
namespace {

std::vector<std::string> names(const std::vector<PlannedBackend>& list) {
  std::vector<std::string> out;
  for (const auto& p : list) out.push_back(p.backend->name);
  return out;
}

std::string excluded_reason(const RoutePlan& plan, std::string_view backend) {
  for (const auto& e : plan.excluded) {
    if (e.backend->name == backend) return e.reason;
  }
  return {};
}

std::optional<ExclusionCause> excluded_cause(const RoutePlan& plan, std::string_view backend) {
  for (const auto& e : plan.excluded) {
    if (e.backend->name == backend) return e.cause;
  }
  return std::nullopt;
}

constexpr const char* kRoutes = R"(
routes:
  - name: auto
    strategy: ordered
    use: [small, local]
    fallback: [mid]
    rules:
      - name: code
        when: {category: code}
        use: [mid, big]
      - name: hard
        when: {complexity: {min: 0.7}}
        use: [big]
        fallback: [mid, big]
      - name: also-code
        when: {category: code}
        use: [local]
)";

class SelectorTest : public ::testing::Test {
 protected:
  RoutePlan plan(const RequestFacts& facts) { return selector_.plan(facts, live_, 7); }
  RequestFacts facts(std::string model = "auto") {
    RequestFacts f;
    f.model = std::move(model);
    return f;
  }

  Selector selector_{testing::shared(kRoutes)};
  InMemoryLiveStats live_{4};
};

TEST_F(SelectorTest, FirstMatchingRuleWins) {
  RequestFacts f = facts();
  f.category = "code";
  f.complexity = 0.9;
  const RoutePlan p = plan(f);
  EXPECT_EQ(p.rule, "code");
  EXPECT_EQ(names(p.candidates), (std::vector<std::string>{"mid", "big"}));
  EXPECT_TRUE(p.fallbacks.empty());
}

TEST_F(SelectorTest, SecondRuleAndFallbacksWithoutDuplicates) {
  RequestFacts f = facts();
  f.complexity = 0.9;
  const RoutePlan p = plan(f);
  EXPECT_EQ(p.rule, "hard");
  EXPECT_EQ(p.rules_not_matched, std::vector<std::string>{"code"});
  EXPECT_EQ(p.to_json()["rules_not_matched"], nlohmann::json::array({"code"}));
  EXPECT_EQ(names(p.candidates), (std::vector<std::string>{"big"}));
  EXPECT_EQ(names(p.fallbacks), (std::vector<std::string>{"mid"}));
  EXPECT_EQ(p.attempt_order(), (std::vector<std::size_t>{1, 2}));
}

TEST_F(SelectorTest, DefaultPoolWhenNoRuleMatches) {
  const RoutePlan p = plan(facts());
  EXPECT_EQ(p.rule, "default");
  EXPECT_EQ(p.strategy, "ordered");
  EXPECT_EQ(names(p.candidates), (std::vector<std::string>{"small", "local"}));
  EXPECT_EQ(names(p.fallbacks), (std::vector<std::string>{"mid"}));
}

std::string key_of(std::vector<std::string_view> messages) {
  return session_key_of(messages);
}

TEST(SessionKey, DependsOnTheOpeningMessagesOnly) {
  const std::string a = key_of({"You are helpful.", "Fix my build"});
  EXPECT_EQ(a.size(), 16u);
  EXPECT_EQ(a, key_of({"You are helpful.", "Fix my build"}));
  EXPECT_NE(a, key_of({"You are helpful.", "Fix my test"}));
  EXPECT_NE(key_of({"ab", "c"}), key_of({"a", "bc"}));
  const std::string long_prompt(1000, 'x');
  std::string other = long_prompt;
  other[997] = 'y';  // a difference in the last partial word counts too
  EXPECT_NE(key_of({long_prompt}), key_of({other}));
  EXPECT_NE(key_of({}), key_of({""}));
}

TEST_F(SelectorTest, ModelNamingABackendIsDirect) {
  const RoutePlan p = plan(facts("big"));
  EXPECT_TRUE(p.ok());
  EXPECT_TRUE(p.direct);
  EXPECT_EQ(p.rule, "direct");
  EXPECT_EQ(names(p.candidates), (std::vector<std::string>{"big"}));
}

TEST_F(SelectorTest, UnknownModelIsReportedDistinctly) {
  const RoutePlan p = plan(facts("gpt-17"));
  EXPECT_EQ(p.status, PlanStatus::unknown_model);
  EXPECT_TRUE(p.candidates.empty());
  EXPECT_EQ(p.to_json()["status"], "unknown_model");
}

// A model two backends serve upstream names neither; the plan says which serve it.
TEST(Selector, AnUpstreamModelOfSeveralBackendsNamesThem) {
  const auto config = std::make_shared<const config::Config>(config::load_config_text(
      "backends:\n  - {name: east, provider: mock, model: vendor/large}\n"
      "  - {name: west, provider: mock, model: vendor/large}\nroutes:\n"
      "  - {name: auto, use: [east]}\n",
      "test.yaml", [](const std::string&) -> std::optional<std::string> { return std::nullopt; }));
  Selector selector(config);
  InMemoryLiveStats live(2);
  RequestFacts facts;
  facts.model = "vendor/large";
  const RoutePlan p = selector.plan(facts, live, 7);
  EXPECT_EQ(p.status, PlanStatus::unknown_model);
  EXPECT_EQ(p.serving_backends, (std::vector<std::string>{"east", "west"}));
}

struct CapabilityCase {
  const char* name;
  void (*set)(RequestFacts&);
  std::vector<std::string> expected;  // candidates + fallbacks of the default pool
  const char* excluded;
  const char* reason;
  ExclusionCause cause = ExclusionCause::ejected;
};

const CapabilityCase kCapabilityCases[] = {
    {"images need vision; untagged mid counts as capable",
     [](RequestFacts& f) { f.has_images = true; },
     {"mid"},
     "small",
     "no 'vision' tag",
     ExclusionCause::no_vision},
    {"audio needs the audio tag",
     [](RequestFacts& f) { f.has_audio = true; },
     {"mid"},
     "small",
     "no 'audio' tag",
     ExclusionCause::no_audio},
    {"tools",
     [](RequestFacts& f) { f.has_tools = true; },
     {"small", "mid"},
     "local",
     "no 'tools' tag",
     ExclusionCause::no_tools},
    {"json mode: every tagged backend has json",
     [](RequestFacts& f) { f.json_mode = true; },
     {"small", "local", "mid"},
     "",
     ""},
    {"context window",
     [](RequestFacts& f) { f.estimated_tokens = 9000; },
     {"local", "mid"},
     "small",
     "context window 8000 < 9000 estimated tokens",
     ExclusionCause::context_window},
    {"the answer's room counts",
     [](RequestFacts& f) {
       f.estimated_tokens = 7000;
       f.max_output_tokens = 2000;
     },
     {"local", "mid"},
     "small",
     "context window 8000 < 7000 estimated tokens + 2000 max_tokens",
     ExclusionCause::context_window},
};

TEST_F(SelectorTest, CapabilityFiltering) {
  for (const auto& c : kCapabilityCases) {
    RequestFacts f = facts();
    c.set(f);
    const RoutePlan p = plan(f);
    EXPECT_EQ(p.attempt_order().size(), c.expected.size()) << c.name;
    std::vector<std::string> got = names(p.candidates);
    for (const auto& n : names(p.fallbacks)) got.push_back(n);
    EXPECT_EQ(got, c.expected) << c.name;
    if (*c.excluded != 0) {
      EXPECT_EQ(excluded_reason(p, c.excluded), c.reason) << c.name;
      EXPECT_EQ(excluded_cause(p, c.excluded), c.cause) << c.name;
      EXPECT_TRUE(about_the_request(c.cause)) << c.name;
    }
  }
}

TEST_F(SelectorTest, DirectBackendLackingCapabilityIsNoCandidate) {
  RequestFacts f = facts("small");
  f.has_images = true;
  const RoutePlan p = plan(f);
  EXPECT_EQ(p.status, PlanStatus::no_candidates);
  EXPECT_EQ(excluded_reason(p, "small"), "no 'vision' tag");
}

TEST_F(SelectorTest, EjectedAndFullBackendsAreSkipped) {
  live_.at(0).in_flight = 2;   // small: max_concurrency 2
  live_.at(3).ejected = true;  // local
  const RoutePlan p = plan(facts());
  EXPECT_TRUE(p.candidates.empty());
  EXPECT_EQ(names(p.fallbacks), (std::vector<std::string>{"mid"}));
  EXPECT_EQ(excluded_reason(p, "small"), "full: 2/2 in flight");
  EXPECT_EQ(excluded_reason(p, "local"), "ejected by the circuit breaker");
  EXPECT_EQ(excluded_cause(p, "small"), ExclusionCause::full);
  EXPECT_EQ(excluded_cause(p, "local"), ExclusionCause::ejected);
  EXPECT_FALSE(about_the_request(ExclusionCause::full));
  EXPECT_FALSE(about_the_request(ExclusionCause::ejected));
}

TEST(SelectorStatus, EveryCandidateFullIsAllBusy) {
  Selector selector(testing::shared(R"(
routes:
  - name: auto
    use: [small]
)"));
  InMemoryLiveStats live(4);
  live.at(0).in_flight = 5;
  RequestFacts f;
  f.model = "auto";
  const RoutePlan p = selector.plan(f, live);
  EXPECT_EQ(p.status, PlanStatus::all_busy);
  EXPECT_EQ(p.to_json()["status"], "all_busy");
}

TEST(SelectorStatus, BackendsAtTheirRateLimitsAreSkippedThenRateLimited) {
  auto config = std::make_shared<const config::Config>(config::load_config_text(R"(
backends:
  - {name: quota, provider: mock, rpm: 60, tpm: 1000}
  - {name: other, provider: mock, rpm: 10}
routes:
  - name: auto
    use: [quota, other]
)",
                                                                                "test.yaml"));
  Selector selector(config);
  InMemoryLiveStats live(2);
  RequestFacts f;
  f.model = "auto";
  f.estimated_tokens = 500;
  live.at(0).requests_available = 0.5;
  RoutePlan p = selector.plan(f, live);
  EXPECT_EQ(names(p.candidates), (std::vector<std::string>{"other"}));
  EXPECT_EQ(excluded_reason(p, "quota"), "rpm 60 reached");
  EXPECT_EQ(excluded_cause(p, "quota"), ExclusionCause::rate_limited);

  live.at(0).requests_available = 10;
  live.at(0).tokens_available = 300;
  p = selector.plan(f, live);
  EXPECT_EQ(excluded_reason(p, "quota"), "tpm 1000: 300 tokens left, 500 estimated");

  // A prompt above the whole tpm waits for a whole budget, then runs.
  f.estimated_tokens = 5000;
  live.at(0).tokens_available = 999;
  EXPECT_EQ(excluded_cause(selector.plan(f, live), "quota"), ExclusionCause::rate_limited);
  live.at(0).tokens_available = 1000;
  EXPECT_EQ(names(selector.plan(f, live).candidates), (std::vector<std::string>{"quota", "other"}));

  live.at(0).requests_available = 0;
  live.at(1).requests_available = 0;
  p = selector.plan(f, live);
  EXPECT_EQ(p.status, PlanStatus::rate_limited);
  EXPECT_EQ(p.to_json()["status"], "rate_limited");
  EXPECT_FALSE(about_the_request(ExclusionCause::rate_limited));

  f.model = "quota";  // named directly
  EXPECT_EQ(selector.plan(f, live).status, PlanStatus::rate_limited);

  // Spent and also ejected or full: the budget says it (no panic try, no wait for a slot).
  f.model = "auto";
  f.estimated_tokens = 10;
  live.at(0).ejected = true;
  live.at(0).tokens_available = 0;
  live.at(1).in_flight = 99;
  p = selector.plan(f, live);
  EXPECT_EQ(p.status, PlanStatus::rate_limited);
  EXPECT_EQ(excluded_reason(p, "quota"), "rpm 60 reached, tpm 1000: 0 tokens left, 10 estimated");
}

TEST(SelectorStatus, QualityFloorSkipsWeakBackendsUnlessNoneQualifies) {
  Selector selector(testing::shared(R"(
routes:
  - name: auto
    strategy: cost
    quality_floor: 0.6
    use: [small, local, mid, big]
  - name: weak
    strategy: cost
    quality_floor: 0.95
    use: [small, local]
)"));
  InMemoryLiveStats live(4);
  RequestFacts f;
  f.model = "auto";
  RoutePlan p = selector.plan(f, live);
  EXPECT_EQ(names(p.candidates), (std::vector<std::string>{"mid", "big"}));
  EXPECT_EQ(excluded_reason(p, "small"), "quality 0.4 below the floor 0.6");

  f.model = "weak";  // nobody reaches 0.95: both stay, cheapest (free local) first
  p = selector.plan(f, live);
  EXPECT_EQ(names(p.candidates), (std::vector<std::string>{"local", "small"}));
}

// The session key is computed for a request only when some pool hashes it: consistent_hash
// keyed by session (its default), on a route or on a rule.
TEST(SelectorStatus, KnowsWhetherAPoolHashesSessions) {
  EXPECT_FALSE(Selector(testing::shared(kRoutes)).hashes_sessions());
  EXPECT_FALSE(Selector(testing::shared(R"(
routes:
  - {name: auto, strategy: consistent_hash, hash_key: user, use: [small, mid]}
)"))
                   .hashes_sessions());
  EXPECT_TRUE(Selector(testing::shared(R"(
routes:
  - {name: auto, strategy: consistent_hash, use: [small, mid]}
)"))
                  .hashes_sessions());
  EXPECT_TRUE(Selector(testing::shared(R"(
routes:
  - name: auto
    use: [small]
    rules:
      - {name: sticky, when: {stream: true}, use: [mid, big], strategy: consistent_hash}
)"))
                  .hashes_sessions());
}

TEST(SelectorStatus, RoutesWithRulesDefaultToHybrid) {
  const auto config = testing::load(kRoutes + std::string(R"(
  - name: smart
    use: [small, mid]
    rules:
      - name: x
        when: {stream: true}
        use: [big]
)"));
  EXPECT_EQ(config.find_route("smart")->strategy, "hybrid");
  EXPECT_EQ(config.find_route("auto")->strategy, "ordered");
}

TEST_F(SelectorTest, PlanJsonNamesEverything) {
  RequestFacts f = facts();
  f.has_images = true;
  const nlohmann::json j = plan(f).to_json();
  EXPECT_EQ(j["route"], "auto");
  EXPECT_EQ(j["rule"], "default");
  EXPECT_EQ(j["strategy"], "ordered");
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["attempt_order"], nlohmann::json::array({"mid"}));
  EXPECT_EQ(j["excluded"][0]["backend"], "small");
  EXPECT_EQ(j["excluded"][0]["reason"], "no 'vision' tag");
  EXPECT_EQ(j["fallbacks"][0]["reason"], "fallback #1");
}

}  // namespace
}  // namespace llm_router::selector

namespace llm_router::selector {
namespace {

// Round-robin turns are handed out by an atomic counter: two threads planning at once still
// see every turn exactly once, so the first picks split exactly evenly.
TEST(SelectorThreads, ConcurrentPlansShareTheRoundRobinCounter) {
  const Selector selector(testing::shared(R"(
routes:
  - name: rr
    strategy: round_robin
    use: [small, big, mid]
)"));
  constexpr int kPerThread = 3000;
  std::array<std::array<int, 4>, 2> firsts{};
  auto work = [&](std::array<int, 4>& counts) {
    InMemoryLiveStats live(4);
    RequestFacts f;
    f.model = "rr";
    for (int i = 0; i < kPerThread; ++i) ++counts[selector.plan(f, live).candidates[0].index];
  };
  std::thread a(work, std::ref(firsts[0]));
  std::thread b(work, std::ref(firsts[1]));
  a.join();
  b.join();
  for (std::size_t backend : {0, 1, 2}) {
    EXPECT_EQ(firsts[0][backend] + firsts[1][backend], 2 * kPerThread / 3);
  }
}

}  // namespace
}  // namespace llm_router::selector
