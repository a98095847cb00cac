#include <gtest/gtest.h>

#include "llm_router/config/config.hpp"
#include "test_config.hpp"

namespace llm_router::selector {
namespace {

// Lines count from the top of the file, which starts with testing::kBackends.
int backends_lines() {
  const std::string text = testing::kBackends;
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

struct ErrorCase {
  const char* name;
  const char* routes;
  int line;  // relative to the first routes line (1 = "routes:")
  int column;
  const char* path;
  const char* message_part;
};

const ErrorCase kErrors[] = {
    {"bad regex", R"(routes:
  - name: auto
    use: [small]
    rules:
      - name: code
        when: {regex: "def (\\w+"}
        use: [big]
)",
     6, 23, "routes[0].rules[0].when.regex", "invalid regex 'def (\\w+'"},
    {"bad regex in a list", R"(routes:
  - name: auto
    use: [small]
    rules:
      - name: code
        when:
          regex: ["ok", "[unclosed"]
        use: [big]
)",
     7, 25, "routes[0].rules[0].when.regex[1]", "invalid regex"},
    {"unknown backend in a rule", R"(routes:
  - name: auto
    use: [small]
    rules:
      - name: code
        when: {category: code}
        use: [big, giant]
)",
     7, 20, "routes[0].rules[0].use[1]", "unknown backend 'giant'"},
    {"unknown backend in a rule fallback", R"(routes:
  - name: auto
    use: [small]
    rules:
      - name: code
        when: {category: code}
        use: [big]
        fallback: [tiny]
)",
     8, 20, "routes[0].rules[0].fallback[0]", "unknown backend 'tiny'"},
    {"unknown backend in weights", R"(routes:
  - name: auto
    strategy: weighted
    use: [small]
    weights: {small: 2, ghost: 1}
)",
     5, 32, "routes[0].weights.ghost", "unknown backend 'ghost'"},
    {"unknown strategy", R"(routes:
  - name: auto
    use: [small]
    strategy: fastest
)",
     4, 15, "routes[0].strategy", "unknown strategy 'fastest'"},
    {"unknown key in a route", R"(routes:
  - name: auto
    use: [small]
    strategyy: ordered
)",
     4, 5, "routes[0].strategyy", "unknown key 'strategyy'"},
    {"unknown condition", R"(routes:
  - name: auto
    use: [small]
    rules:
      - name: r
        when:
          categroy: [code]
        use: [big]
)",
     7, 11, "routes[0].rules[0].when.categroy", "unknown key 'categroy'"},
    {"unknown key in a nested condition", R"(routes:
  - name: auto
    use: [small]
    rules:
      - name: r
        when:
          any:
            - complexity: {min: 0.5, maxx: 1}
        use: [big]
)",
     8, 38, "routes[0].rules[0].when.any[0].complexity.maxx", "unknown key 'maxx'"},
    {"out of range", R"(routes:
  - name: auto
    use: [small]
    rules:
      - name: r
        when: {semantic: {examples: [hi], threshold: 1.5}}
        use: [big]
)",
     6, 54, "routes[0].rules[0].when.semantic.threshold", "must be between"},
    {"rule without when", R"(routes:
  - name: auto
    use: [small]
    rules:
      - name: r
        use: [big]
)",
     5, 9, "routes[0].rules[0].when", "is required"},
    {"duplicate rule", R"(routes:
  - name: auto
    use: [small]
    rules:
      - {name: r, when: {stream: true}, use: [big]}
      - {name: r, when: {stream: false}, use: [mid]}
)",
     6, 16, "routes[0].rules[1].name", "duplicate rule name 'r'"},
    {"bad hash key", R"(routes:
  - name: auto
    strategy: consistent_hash
    hash_key: cookie
    use: [small]
)",
     4, 15, "routes[0].hash_key", "must be session, user"},
    {"bad optimize", R"(routes:
  - name: auto
    optimize: speed
    use: [small]
)",
     3, 15, "routes[0].optimize", "must be cost, latency or quality"},
    {"backend listed twice", R"(routes:
  - name: auto
    use: [small, big, small]
)",
     3, 23, "routes[0].use[2]", "lists 'small' twice"},
    {"weights nothing reads", R"(routes:
  - name: auto
    strategy: ordered
    weights: {small: 3, big: 1}
    use: [small, big]
)",
     4, 14, "routes[0].weights", "read only by strategy: weighted"},
    {"hash key nothing reads", R"(routes:
  - name: auto
    strategy: round_robin
    hash_key: user
    use: [small, big]
)",
     4, 15, "routes[0].hash_key", "read only by strategy: consistent_hash"},
    {"exploration nothing reads", R"(routes:
  - name: auto
    strategy: ordered
    exploration: 0.1
    use: [small, big]
)",
     4, 18, "routes[0].exploration", "read only by strategy: lowest_latency"},
    {"bandit settings nothing reads", R"(routes:
  - name: auto
    strategy: weighted
    bandit: {prior: beta}
    use: [small, big]
)",
     4, 13, "routes[0].bandit", "read only by strategy: bandit"},
    {"rule exploration nothing reads", R"(routes:
  - name: auto
    use: [small]
    rules:
      - {name: r, when: {model: [x]}, use: [big], exploration: 0.2}
)",
     5, 64, "routes[0].rules[0].exploration", "this rule uses hybrid"},
    {"no keywords", R"(routes:
  - name: auto
    use: [small]
    rules:
      - {name: r, when: {keywords: []}, use: [big]}
)",
     5, 36, "routes[0].rules[0].when.keywords", "at least one"},
    {"optimize beside a strategy", R"(routes:
  - name: auto
    strategy: least_busy
    optimize: cost
    use: [small, big]
)",
     4, 15, "routes[0].optimize", "give one of the two"},
};

TEST(RouteConfigErrors, AreLocated) {
  for (const auto& c : kErrors) {
    try {
      testing::load(c.routes);
      ADD_FAILURE() << c.name << ": loaded without error";
    } catch (const config::ConfigError& e) {
      ASSERT_FALSE(e.diagnostics().empty()) << c.name;
      const auto& d = e.diagnostics().front();
      EXPECT_EQ(d.file, "test.yaml") << c.name;
      EXPECT_EQ(d.line, backends_lines() + c.line) << c.name << ": " << e.what();
      EXPECT_EQ(d.column, c.column) << c.name << ": " << e.what();
      EXPECT_EQ(d.path, c.path) << c.name << ": " << e.what();
      EXPECT_NE(d.message.find(c.message_part), std::string::npos) << c.name << ": " << e.what();
    }
  }
}

// A misspelt strategy is the one error: not also "weights is read only by strategy: weighted,
// which no pool of this route uses (ordered)".
TEST(RouteConfigErrors, AMisspeltStrategyIsTheOnlyError) {
  try {
    testing::load(R"(routes:
  - name: auto
    strategy: wieghted
    weights: {small: 3, big: 1}
    use: [small, big]
)");
    ADD_FAILURE() << "loaded without error";
  } catch (const config::ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u) << e.what();
    EXPECT_NE(e.diagnostics()[0].message.find("unknown strategy 'wieghted'"), std::string::npos)
        << e.what();
  }
}

TEST(RouteConfig, DeclaresSignalsForTheAnalyzer) {
  const auto config = testing::load(R"(routes:
  - name: auto
    use: [small]
    rules:
      - name: code
        when:
          any:
            - keywords: [traceback, segfault]
            - regex: ["def \\w+\\(", "#include"]
            - keywords: compile
        use: [big]
      - name: cancel
        when: {semantic: {examples: [cancel my subscription, close my account], threshold: 0.7}}
        use: [mid]
)");
  const auto specs = config::signal_specs(config);
  ASSERT_EQ(specs.keywords.size(), 3u);
  EXPECT_EQ(specs.keywords[0].name, "auto/code/keywords");
  EXPECT_EQ(specs.keywords[0].words, (std::vector<std::string>{"traceback", "segfault"}));
  EXPECT_EQ(specs.keywords[1].name, "auto/code/regex");
  EXPECT_EQ(specs.keywords[1].patterns, (std::vector<std::string>{"def \\w+\\(", "#include"}));
  EXPECT_EQ(specs.keywords[2].name, "auto/code/keywords#2");
  ASSERT_EQ(specs.semantic.size(), 1u);
  EXPECT_EQ(specs.semantic[0].name, "auto/cancel/semantic");
  EXPECT_DOUBLE_EQ(specs.semantic[0].threshold, 0.7);
  EXPECT_EQ(specs.semantic[0].utterances.size(), 2u);
}

TEST(RouteConfig, ReadsStrategySettings) {
  const auto config = testing::load(R"(routes:
  - name: auto
    strategy: consistent_hash
    hash_key: header X-Session-Id
    quality_floor: 0.6
    expected_output_tokens: 120
    exploration: 0.1
    bandit: {prior: gaussian, latency_weight: 0.3}
    use: [small, big]
    fallback: [mid]
    rules:   # pools whose strategies read exploration and bandit
      - {name: fast, when: {model: [x]}, use: [small, big], strategy: lowest_latency}
      - {name: learn, when: {model: [y]}, use: [small, big], strategy: bandit}
)");
  const auto& r = config.routes.at(0);
  EXPECT_EQ(r.strategy, "consistent_hash");
  ASSERT_TRUE(r.hash_key);
  EXPECT_EQ(r.hash_key->source, config::HashKey::Source::header);
  EXPECT_EQ(r.hash_key->name, "x-session-id");
  EXPECT_DOUBLE_EQ(r.quality_floor.value_or(0), 0.6);
  EXPECT_EQ(r.expected_output_tokens, 120);
  EXPECT_DOUBLE_EQ(r.exploration.value_or(0), 0.1);
  EXPECT_EQ(r.bandit.prior, config::BanditSettings::Prior::gaussian);
  EXPECT_DOUBLE_EQ(r.bandit.latency_weight, 0.3);
  EXPECT_EQ(r.fallback, std::vector<std::string>{"mid"});
}

}  // namespace
}  // namespace llm_router::selector

namespace llm_router::selector {
namespace {

// Regression: an absent section (no `server:`) used to throw YAML::InvalidNode from NodeReader.
TEST(RouteConfig, AbsentSectionsReadAsDefaults) {
  EXPECT_NO_THROW(testing::load("routes: [{name: r, use: [small]}]\n"));
}

}  // namespace
}  // namespace llm_router::selector
