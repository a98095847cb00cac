#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "llm_router/config/config.hpp"

namespace llm_router::config {
namespace {

EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

const char* kValid = R"(server:
  listen: "127.0.0.1:9000"
  threads: 3
  header_timeout: 2s
backends:
  - name: small
    provider: mock
    model: mock-small
    cost: {input_per_mtok: 0.15, output_per_mtok: 0.6}
    context_window: 16000
    tags: [chat, tools]
  - name: big
    provider: openai
    base_url: "https://api.example.com:8443/v1/"
    api_key: "${KEY}"
    model: gpt-big
    timeouts: {connect: 1s, first_byte: 20s, idle: 5s, total: 2m}
    headers: {x-org: "${ORG:-acme}"}
    max_concurrency: 4
    max_queue: 10
    queue_timeout: 250ms
    rpm: 500
    tpm: 200000
routes:
  - name: auto
    use: [small, big]
    fallback: [big]
)";

Diagnostics errors_of(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  try {
    load_config_text(yaml, "test.yaml", fake_env(std::move(env)));
  } catch (const ConfigError& e) {
    return e.diagnostics();
  }
  return {};
}

Config load_config_string(const std::string& yaml) {
  return load_config_text(yaml, "test.yaml", fake_env({}));
}

bool has_error(const Diagnostics& diagnostics, const std::string& path,
               const std::string& fragment) {
  for (const auto& d : diagnostics) {
    if (d.path == path && d.message.find(fragment) != std::string::npos) return true;
  }
  return false;
}

std::string dump(const Diagnostics& diagnostics) {
  std::string text;
  for (const auto& d : diagnostics) text += d.format() + "\n";
  return text;
}

TEST(Config, LoadsAValidConfig) {
  const auto config = load_config_text(kValid, "test.yaml", fake_env({{"KEY", "sk-123"}}));
  EXPECT_EQ(config.server.listen_host, "127.0.0.1");
  EXPECT_EQ(config.server.listen_port, 9000);
  EXPECT_EQ(config.server.threads, 3);
  EXPECT_EQ(config.server.header_timeout, std::chrono::seconds(2));
  ASSERT_EQ(config.backends.size(), 2u);
  const auto& big = config.backends[1];
  EXPECT_EQ(big.provider, ProviderKind::openai);
  EXPECT_TRUE(big.url.tls);
  EXPECT_EQ(big.url.host, "api.example.com");
  EXPECT_EQ(big.url.port, 8443);
  EXPECT_EQ(big.url.base_path, "/v1");
  EXPECT_EQ(big.api_key, "sk-123");
  EXPECT_EQ(big.headers.at("x-org"), "acme");
  EXPECT_EQ(big.timeouts.total, std::chrono::minutes(2));
  EXPECT_EQ(config.backends[0].cost.output_per_mtok, 0.6);
  EXPECT_TRUE(config.backends[0].has_tag("tools"));
  EXPECT_EQ(big.max_concurrency, 4);
  EXPECT_EQ(big.max_queue, 10);
  EXPECT_EQ(big.queue_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(config.backends[0].max_queue, 64);
  EXPECT_EQ(config.backends[0].queue_timeout, std::chrono::seconds(10));
  EXPECT_EQ(big.rpm, 500);
  EXPECT_EQ(big.tpm, 200'000);
  EXPECT_EQ(config.backends[0].rpm, 0);  // unlimited
  EXPECT_EQ(config.backends[0].tpm, 0);
  ASSERT_NE(config.find_route("auto"), nullptr);
  EXPECT_EQ(config.find_route("auto")->fallback, std::vector<std::string>{"big"});
}

// Client keys keep only the key's SHA-256 (written as the key, from the environment, or as
// its digest in any case); errors name the entry, never the key.
TEST(Config, ClientKeysKeepOnlyTheKeysDigest) {
  const auto config = load_config_text(R"(
backends: [{name: only, provider: mock, pass_client_auth: true}]
routes: [{name: auto, use: [only]}]
client_keys:
  - {name: team-a, key: "${TEAM_A_KEY}", rpm: 60, tpm: 100000}
  - {name: team-b, key_sha256: 2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824}
)",
                                       "test.yaml", fake_env({{"TEAM_A_KEY", "password"}}));
  ASSERT_EQ(config.client_keys.size(), 2u);
  const std::string digest = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";
  EXPECT_EQ(config.client_keys[0].key_sha256, digest);
  EXPECT_EQ(config.client_keys[0].rpm, 60);
  EXPECT_EQ(config.client_keys[0].tpm, 100'000);
  EXPECT_EQ(config.client_keys[1].key_sha256,  // of "hello", in lower case
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  EXPECT_EQ(config.client_keys[1].rpm, 0);
  const auto advice = advisories(config);
  ASSERT_EQ(advice.size(), 1u);
  EXPECT_NE(advice[0].find("pass_client_auth"), std::string::npos) << advice[0];
}

TEST(Config, ClientKeyErrors) {
  const std::string head = "backends: [{name: a, provider: mock}]\nroutes: [{name: r, use: [a]}]\n";
  const auto both = errors_of(
      head + "client_keys:\n  - {name: x, key: k1, key_sha256: " + std::string(64, 'a') + "}\n");
  EXPECT_TRUE(has_error(both, "client_keys[0].key", "either key")) << dump(both);
  const auto neither = errors_of(head + "client_keys:\n  - {name: x}\n");
  EXPECT_TRUE(has_error(neither, "client_keys[0].key", "either key")) << dump(neither);
  const auto bad_hex = errors_of(head + "client_keys:\n  - {name: x, key_sha256: abc}\n");
  EXPECT_TRUE(has_error(bad_hex, "client_keys[0].key_sha256", "64 hex digits")) << dump(bad_hex);
  const auto twice = errors_of(head +
                               "client_keys:\n  - {name: x, key: secret-one}\n"
                               "  - {name: x, key: secret-one}\n");
  EXPECT_TRUE(has_error(twice, "client_keys[1].name", "duplicate")) << dump(twice);
  EXPECT_TRUE(has_error(twice, "client_keys[1]", "same key")) << dump(twice);
  EXPECT_EQ(dump(twice).find("secret-one"), std::string::npos) << dump(twice);
  const auto unset = errors_of(head + "client_keys:\n  - {name: x, key: \"${NOPE:-}\"}\n");
  EXPECT_TRUE(has_error(unset, "client_keys[0].key", "empty")) << dump(unset);
  const auto padded = errors_of(head + "client_keys:\n  - {name: x, key: \"sk-1 \"}\n");
  EXPECT_TRUE(has_error(padded, "client_keys[0].key", "no HTTP client")) << dump(padded);
  const auto blank =
      errors_of(head +
                "client_keys:\n  - {name: x, key_sha256: "
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855}\n");
  EXPECT_TRUE(has_error(blank, "client_keys[0].key_sha256", "empty key")) << dump(blank);
  const auto reserved = errors_of(head + "client_keys:\n  - {name: key-1234, key: sk-1}\n");
  EXPECT_TRUE(has_error(reserved, "client_keys[0].name", "may not begin")) << dump(reserved);
  // Entries commented out would open the API to anyone.
  for (const char* empty : {"client_keys:\n", "client_keys: []\n"}) {
    const auto open = errors_of(head + empty);
    EXPECT_TRUE(has_error(open, "client_keys", "is empty")) << dump(open);
  }
}

TEST(Config, AClientKeyThatIsTheAdminKeyIsAnAdvisory) {
  const auto config = load_config_text(R"(
server: {admin_key: sk-shared}
backends: [{name: only, provider: mock}]
routes: [{name: auto, use: [only]}]
client_keys: [{name: ops, key: sk-shared}]
)",
                                       "test.yaml", fake_env({}));
  const auto advice = advisories(config);
  ASSERT_EQ(advice.size(), 1u);
  EXPECT_NE(advice[0].find("client key 'ops' is server.admin_key"), std::string::npos) << advice[0];
  EXPECT_EQ(advice[0].find("sk-shared"), std::string::npos);
}

// Valid, but probably not meant: ordering by cost over a backend without a cost (free), a
// quality floor over one without a quality (0.5).
TEST(Config, AdvisoriesNameBackendsThatCountAsFreeOrAverage) {
  const auto config = load_config_text(R"(
backends:
  - {name: priced, provider: mock, cost: {input_per_mtok: 1, output_per_mtok: 2}, quality: 0.9}
  - {name: unpriced, provider: mock}
routes:
  - {name: cheap, use: [priced, unpriced], strategy: cost}
  - {name: good, use: [priced, unpriced], quality_floor: 0.6}
  - {name: plain, use: [priced, unpriced]}
)",
                                       "test.yaml", fake_env({}));
  const auto advice = advisories(config);
  ASSERT_EQ(advice.size(), 2u);
  EXPECT_NE(advice[0].find("route 'cheap' orders by cost, but backend 'unpriced' has no cost"),
            std::string::npos)
      << advice[0];
  EXPECT_NE(advice[1].find("route 'good' uses quality, but backend 'unpriced' has none"),
            std::string::npos)
      << advice[1];
  const auto logprobs = load_config_text(R"(
backends: [{name: only, provider: mock}]
routes: [{name: r, use: [only], cascade: {enabled: true, min_mean_logprob: -1}}]
)",
                                         "test.yaml", fake_env({}));
  ASSERT_EQ(advisories(logprobs).size(), 1u);
  EXPECT_NE(advisories(logprobs)[0].find("min_mean_logprob"), std::string::npos);
}

// A client may send back the `model` an answer carried: the upstream model of the one backend
// serving it names that backend; routes, backends and aliases of that name come first, and a
// model two backends serve names neither.
TEST(Config, CanonicalModelNamesTheOneBackendServingAnUpstreamModel) {
  const auto config = load_config_text(R"(
backends:
  - {name: fast, provider: mock, model: vendor/small-v2}
  - {name: east, provider: mock, model: vendor/large-v1}
  - {name: west, provider: mock, model: vendor/large-v1}
  - {name: auto, provider: mock, model: fast}
routes:
  - {name: main, use: [fast], aliases: [vendor/small-v3]}
)",
                                       "test.yaml", fake_env({}));
  EXPECT_EQ(config.canonical_model("vendor/small-v2"), "fast");
  EXPECT_EQ(config.canonical_model("vendor/large-v1"), "vendor/large-v1");
  EXPECT_EQ(config.backends_serving("vendor/large-v1").size(), 2u);
  EXPECT_EQ(config.canonical_model("fast"), "fast");  // a backend's own name wins
  EXPECT_EQ(config.canonical_model("vendor/small-v3"), "main");
  EXPECT_EQ(config.canonical_model("nothing"), "nothing");
}

// A rule's pool replaces the route's, fallback included: a rule that writes none while its
// route has one is named (`fallback: []` says none is wanted).
TEST(Config, AdvisoriesNameRulesThatDropTheRoutesFallback) {
  const auto config = load_config_text(R"(
backends:
  - {name: general, provider: mock}
  - {name: coder, provider: mock}
routes:
  - name: tasks
    use: [general]
    fallback: [general]
    rules:
      - {name: code, when: {keywords: [python]}, use: [coder]}
      - {name: pinned, when: {keywords: [secret]}, use: [coder], fallback: []}
      - {name: covered, when: {keywords: [java]}, use: [coder], fallback: [general]}
      - {name: holds-it, when: {keywords: [rust]}, use: [coder, general]}
  - name: bare
    use: [general]
    rules: [{name: code, when: {keywords: [python]}, use: [coder]}]
)",
                                       "test.yaml", fake_env({}));
  const auto advice = advisories(config);
  ASSERT_EQ(advice.size(), 1u);
  EXPECT_NE(advice[0].find("route 'tasks' rule 'code' has no fallback of its own: the route's "
                           "fallback [general] is not tried"),
            std::string::npos)
      << advice[0];
}

// A rule for image requests whose backends all list tags, none of them 'vision', matches
// requests no backend of it may take; a backend with no tags takes any request.
TEST(Config, AdvisoriesNameRulesWhoseBackendsLackTheCapabilityTheyNeed) {
  const auto config = load_config_text(R"(
backends:
  - {name: text, provider: mock, tags: [tools]}
  - {name: seer, provider: mock, tags: [vision]}
  - {name: plain, provider: mock}
routes:
  - name: main
    use: [text]
    rules:
      - {name: pictures, when: {images: true}, use: [text], fallback: []}
      - {name: spoken, when: {all: [{audio: true}, {stream: true}]}, use: [text, seer], fallback: []}
      - {name: seen, when: {images: true}, use: [text], fallback: [seer]}
      - {name: untagged, when: {json_mode: true}, use: [plain], fallback: []}
      - {name: either, when: {any: [{images: true}, {tools: true}]}, use: [text], fallback: []}
      - {name: without, when: {images: false}, use: [text], fallback: []}
)",
                                       "test.yaml", fake_env({}));
  const auto advice = advisories(config);
  std::string all;
  for (const auto& line : advice) all += line + "\n";
  ASSERT_EQ(advice.size(), 2u) << all;
  EXPECT_NE(advice[0].find("route 'main' rule 'pictures' matches requests only a backend tagged "
                           "'vision' may take, but none of its backends lists that tag"),
            std::string::npos)
      << all;
  EXPECT_NE(advice[1].find("rule 'spoken' matches requests only a backend tagged 'audio' may take"),
            std::string::npos)
      << all;
}

// Valid, but not what was meant: a tag one typo from a capability, settings that cancel each
// other, a base_url with an endpoint's path, LiteLLM's way of naming a variable.
TEST(Config, AdvisoriesNameTyposAndContradictions) {
  const auto config = load_config_text(R"(
backends:
  - {name: typo, provider: mock, tags: [vison, tools]}
  - name: odd
    provider: openai
    base_url: http://127.0.0.1:9/v1/chat/completions
    api_key: os.environ/OPENAI_API_KEY
    circuit_breaker: {cooldown: 1m, max_cooldown: 2s}
    retry: {attempts: 1, backoff: 10s, max_backoff: 1s}
    health_check: {interval: 1s, timeout: 5s}
    timeouts: {first_byte: 3s, total: 1s}
    max_queue: 10
  - {name: fine, provider: mock, tags: [vision, tools, json, chat], max_concurrency: 4, max_queue: 8}
routes:
  - {name: one, use: [fine], hedge: {after: 1s}}
)",
                                       "test.yaml", fake_env({}));
  const auto advice = advisories(config);
  std::string all;
  for (const auto& line : advice) all += line + "\n";
  for (const char* expected :
       {"backend 'typo': tag 'vison' is not a capability; did you mean 'vision'?",
        "backend 'odd': circuit_breaker.cooldown is longer than max_cooldown",
        "backend 'odd': retry.backoff is longer than max_backoff",
        "backend 'odd': health_check.timeout is not shorter than its interval",
        "backend 'odd': timeouts.total is shorter than first_byte",
        "backend 'odd': base_url ends with /chat/completions", "write ${OPENAI_API_KEY}",
        "route 'one': hedge needs a second backend",
        "backend 'odd': max_queue has no effect without max_concurrency"}) {
    EXPECT_NE(all.find(expected), std::string::npos) << expected << "\n" << all;
  }
  EXPECT_EQ(all.find("'fine'"), std::string::npos) << all;
  EXPECT_EQ(advice.size(), 9u) << all;
}

// A key with a line break would be sent cut or mangled: refused, and the value not echoed.
TEST(Config, ControlBytesInAKeyOrHeaderValueAreErrors) {
  const auto errors = errors_of(R"(
backends:
  - name: b
    provider: openai
    base_url: http://127.0.0.1:9/v1
    api_key: ${KEY}
    headers: {X-Team: "a\r\nX-Injected: yes"}
routes:
  - {name: r, use: [b]}
)",
                                {{"KEY", "sk-test-SECRET123\n"}});
  EXPECT_TRUE(has_error(errors, "backends[0].api_key", "line break")) << dump(errors);
  EXPECT_TRUE(has_error(errors, "backends[0].headers", "'X-Team' contains a line break"))
      << dump(errors);
  EXPECT_EQ(dump(errors).find("SECRET123"), std::string::npos) << dump(errors);
}

// yaml-cpp ends a quote left open at the end of the file: the rest of the file, the next
// backend's key included, became this backend's api_key. Refused where the quote opens.
TEST(Config, AQuoteLeftOpenIsAnError) {
  const auto errors = errors_of(R"(backends:
  - name: thirdparty
    provider: openai
    base_url: http://127.0.0.1:9/v1
    api_key: "sk-thirdparty-key
  - name: openai
    provider: openai
    base_url: https://api.openai.com/v1
    api_key: sk-REALSECRET4242
routes:
  - {name: auto, use: [openai]}
)");
  ASSERT_EQ(errors.size(), 1u) << dump(errors);
  EXPECT_EQ(errors[0].line, 5);
  EXPECT_EQ(errors[0].column, 14);
  EXPECT_NE(errors[0].message.find("never closed"), std::string::npos) << dump(errors);
  EXPECT_EQ(dump(errors).find("REALSECRET"), std::string::npos) << dump(errors);
  // Single quotes too, after a BOM and non-ASCII text on the line.
  const auto single = errors_of(
      "\xEF\xBB\xBF"
      "backends: []\nroutes: []\nx-note:\n  \xC3\xA9t\xC3\xA9: 'open\n");
  ASSERT_EQ(single.size(), 1u) << dump(single);
  EXPECT_NE(single[0].message.find("never closed"), std::string::npos) << dump(single);
}

// Quotes that close, across lines or around escaped quotes, are read as YAML says.
TEST(Config, QuotedValuesThatCloseAreRead) {
  const auto config = load_config_string("\xEF\xBB\xBF" + std::string(R"(backends:
  - name: "a"
    provider: openai
    base_url: 'http://127.0.0.1:9/v1'
    api_key: "sk-\"x\"\\"
    headers: {x-note: 'it''s', x-wrapped: "one
      two"}
routes:
  - {name: auto, use: ["a"]}
)") + "x-note: {\xC3\xA9t\xC3\xA9: \"caf\xC3\xA9\", b: 'x'}\n");
  ASSERT_EQ(config.backends.size(), 1u);
  EXPECT_EQ(config.backends[0].name, "a");
  EXPECT_EQ(config.backends[0].api_key, "sk-\"x\"\\");
  EXPECT_EQ(config.backends[0].headers.at("x-note"), "it's");
  EXPECT_EQ(config.backends[0].headers.at("x-wrapped"), "one two");
  ASSERT_EQ(config.routes.size(), 1u);
}

// A key with a space is a paste mistake ("Bearer sk-...") or a quote run on: refused.
TEST(Config, ASpaceInAKeyIsAnError) {
  const auto errors = errors_of(R"(
backends:
  - {name: b, provider: openai, base_url: "http://127.0.0.1:9/v1", api_key: Bearer sk-SECRET9}
)");
  EXPECT_TRUE(has_error(errors, "backends[0].api_key", "contains a space")) << dump(errors);
  EXPECT_EQ(dump(errors).find("SECRET9"), std::string::npos) << dump(errors);
}

// YAML merge keys (yaml-cpp reads "<<" as a plain key) and Compose-style `x-` keys to hold
// the anchors: shared backend settings written once.
TEST(Config, MergeKeysShareSettingsAndExtensionKeysHoldAnchors) {
  const auto config = load_config_string(R"(
x-provider: &provider {provider: openai, base_url: "https://api.example.com/v1", api_key: k}
x-limits: &limits {rpm: 60, tpm: 1000, context_window: 8000}
backends:
  - <<: *provider
    name: a
  - <<: [*limits, *provider]
    name: b
    rpm: 5
routes:
  - {name: auto, use: [a, b]}
)");
  ASSERT_EQ(config.backends.size(), 2u);
  EXPECT_EQ(config.backends[0].base_url, "https://api.example.com/v1");
  EXPECT_EQ(config.backends[0].rpm, 0);
  EXPECT_EQ(config.backends[1].base_url, "https://api.example.com/v1");
  EXPECT_EQ(config.backends[1].rpm, 5);  // its own key wins
  EXPECT_EQ(config.backends[1].tpm, 1000);
  EXPECT_EQ(config.backends[1].context_window, 8000);
  // A merge of something that is no mapping is an unknown key, as before.
  EXPECT_TRUE(has_error(errors_of("backends:\n  - {name: a, provider: mock, <<: 5}\n"
                                  "routes:\n  - {name: auto, use: [a]}\n"),
                        "backends[0].<<", "unknown key"));
  EXPECT_TRUE(has_error(errors_of("y-extra: 1\nbackends:\n  - {name: a, provider: mock}\n"
                                  "routes:\n  - {name: auto, use: [a]}\n"),
                        "y-extra", "unknown key"));
}

// "$${" writes a literal "${" (a password holding one), as Docker Compose reads it.
TEST(Config, DoubledDollarIsALiteralReference) {
  const auto config = load_config_text(R"(
backends:
  - {name: b, provider: openai, base_url: "http://127.0.0.1:9/v1", api_key: "pa$${ss}-${KEY}"}
routes:
  - {name: r, use: [b]}
)",
                                       "test.yaml", fake_env({{"KEY", "k1"}}));
  EXPECT_EQ(config.backends[0].api_key, "pa${ss}-k1");
}

TEST(Config, UnsetEnvironmentVariableIsALocatedError) {
  const auto errors = errors_of(kValid);
  ASSERT_EQ(errors.size(), 1u) << dump(errors);
  EXPECT_EQ(errors[0].path, "backends[1].api_key");
  EXPECT_EQ(errors[0].line, 15);
  EXPECT_EQ(errors[0].column, 14);
  EXPECT_NE(errors[0].message.find("KEY is not set"), std::string::npos);
  // Set but empty: said so (the fix differs).
  const auto empty = errors_of(kValid, {{"KEY", ""}});
  ASSERT_EQ(empty.size(), 1u) << dump(empty);
  EXPECT_NE(empty[0].message.find("KEY is empty"), std::string::npos) << dump(empty);
  EXPECT_EQ(errors[0].format().rfind("test.yaml:15:14: backends[1].api_key: ", 0), 0u);
}

struct BadCase {
  const char* name;
  std::string yaml;
  std::string path;
  std::string fragment;
};

const std::string kBackendHead = "backends:\n  - name: a\n    provider: mock\n";
const std::string kRoute = "routes:\n  - name: auto\n    use: [a]\n";

// A second YAML document would be ignored; a tab is named when it breaks the file.
TEST(Config, ASecondDocumentAndTabsAreErrorsThatSaySo) {
  const auto two =
      errors_of(kBackendHead + kRoute + "---\nbackends: [{name: z, provider: mock}]\n");
  ASSERT_EQ(two.size(), 1u) << dump(two);
  EXPECT_NE(two[0].message.find("2 YAML documents"), std::string::npos) << dump(two);
  // A trailing "---" (and comments after it) is no second document.
  EXPECT_TRUE(errors_of(kBackendHead + kRoute + "---\n# the end\n").empty());
  const auto tabs = errors_of("backends:\n\t- name: a\n");
  ASSERT_FALSE(tabs.empty());
  EXPECT_NE(tabs[0].message.find("tab characters"), std::string::npos) << dump(tabs);
}

// first_byte bounds a non-stream request's wait for its head only when written: that head
// comes with the whole answer, which may take minutes; by default `total` bounds it.
TEST(Config, FirstByteAppliesToANonStreamAnswerOnlyWhenWritten) {
  const auto unset = load_config_string(kBackendHead + kRoute);
  const auto& defaults = unset.backends[0].timeouts;
  EXPECT_EQ(defaults.head_wait(/*stream=*/true), std::chrono::seconds(60));
  EXPECT_EQ(defaults.head_wait(/*stream=*/false), std::chrono::minutes(10));
  const auto written =
      load_config_string(kBackendHead + "    timeouts: {first_byte: 20s}\n" + kRoute);
  EXPECT_EQ(written.backends[0].timeouts.head_wait(false), std::chrono::seconds(20));
  const auto by_route =
      load_config_string(kBackendHead + kRoute + "    timeouts: {first_byte: 7s}\n");
  const auto route_timeouts = effective_timeouts(by_route.backends[0], by_route.find_route("auto"));
  EXPECT_EQ(route_timeouts.head_wait(false), std::chrono::seconds(7));
}

// A duration past a year is refused: now + a few centuries wraps steady_clock, and every
// deadline would fall in the past.
TEST(Config, DurationsStopAtAYear) {
  for (const std::string value : {"3000000h", "99999999999999h", "18446744073709551617ms"}) {
    const auto errors = errors_of(kBackendHead + "    timeouts: {total: " + value + "}\n" + kRoute);
    EXPECT_TRUE(has_error(errors, "backends[0].timeouts.total", "at most 8760h")) << dump(errors);
  }
  EXPECT_NO_THROW(load_config_string(kBackendHead + "    timeouts: {total: 8760h}\n" + kRoute));
  // from_chars reads "nan": not a duration.
  const auto nan = errors_of(kBackendHead + "    timeouts: {total: nans}\n" + kRoute);
  EXPECT_TRUE(has_error(nan, "backends[0].timeouts.total", "must be a duration")) << dump(nan);
}

TEST(Config, ErrorsShowValuesAsWrittenNotWhatTheEnvironmentHolds) {
  const std::string yaml =
      "server:\n  threads: ${SECRET}\nbackends:\n  - name: a\n"
      "    provider: openai\n    base_url: ftp://user:pa55@host/v1\n"
      "  - name: b\n    provider: ${SECRET}\n"
      "  - name: c\n    provider: openai\n    base_url: 127.0.0.1:9/v1?key=sk-QUERYsecret1&v=2\n"
      "  - name: d\n    provider: openai\n    base_url: me:pw99@127.0.0.1/v1\n" +
      std::string(kRoute);
  const auto errors = errors_of(yaml, {{"SECRET", "sk-envSECRETvalue999"}});
  const std::string all = dump(errors);
  EXPECT_TRUE(has_error(errors, "server.threads", "got '${SECRET}'")) << all;
  EXPECT_TRUE(has_error(errors, "backends[0].base_url", "got 'ftp://***@host/v1'")) << all;
  EXPECT_TRUE(has_error(errors, "backends[1].provider", "unknown provider '${SECRET}'")) << all;
  EXPECT_EQ(all.find("sk-envSECRET"), std::string::npos) << all;
  EXPECT_EQ(all.find("pa55"), std::string::npos) << all;
  // Without the scheme the router needs, the query's values and the password are still masked.
  EXPECT_TRUE(has_error(errors, "backends[2].base_url", "got '127.0.0.1:9/v1?key=***&v=***'"))
      << all;
  EXPECT_TRUE(has_error(errors, "backends[3].base_url", "got '***@127.0.0.1/v1'")) << all;
  EXPECT_EQ(all.find("QUERYsecret"), std::string::npos) << all;
  EXPECT_EQ(all.find("pw99"), std::string::npos) << all;
}

class ConfigErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConfigErrors, AreReportedWithTheirPath) {
  const auto& c = GetParam();
  const auto errors = errors_of(c.yaml);
  EXPECT_TRUE(has_error(errors, c.path, c.fragment))
      << "expected " << c.path << ": " << c.fragment << "\ngot:\n"
      << dump(errors);
  for (const auto& d : errors) {
    EXPECT_GT(d.line, 0) << d.format();
    EXPECT_GT(d.column, 0) << d.format();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ConfigErrors,
    ::testing::Values(
        BadCase{"unknown_top_key", kBackendHead + kRoute + "colour: blue\n", "colour",
                "unknown key"},
        BadCase{"unknown_backend_key", kBackendHead + "    colour: blue\n" + kRoute,
                "backends[0].colour", "unknown key"},
        // LiteLLM's spelling gets a hint; a key like no known one gets none.
        BadCase{"misspelt_key", kBackendHead + kRoute + "    fallbacks: [a]\n",
                "routes[0].fallbacks", "unknown key 'fallbacks' (did you mean 'fallback'?)"},
        BadCase{"swapped_letters", kBackendHead + "    modle: m\n" + kRoute, "backends[0].modle",
                "unknown key 'modle' (did you mean 'model'?)"},
        // Other gateways' keys point at what says the same here.
        BadCase{"portkey_request_timeout", kBackendHead + kRoute + "    request_timeout: 30s\n",
                "routes[0].request_timeout", "did you mean 'timeouts: {total: 30s}' per attempt"},
        BadCase{"litellm_num_retries", kBackendHead + "    num_retries: 2\n" + kRoute,
                "backends[0].num_retries", "did you mean 'retry: {attempts: N}'?"},
        BadCase{"number_bounds_as_written", kBackendHead + kRoute + "    quality_floor: 2\n",
                "routes[0].quality_floor", "must be between 0 and 1"},
        BadCase{"negative_rpm", kBackendHead + "    rpm: -1\n" + kRoute, "backends[0].rpm",
                "must be"},
        BadCase{"rpm_a_list", kBackendHead + "    rpm: []\n" + kRoute, "backends[0].rpm",
                "must be an integer"},
        BadCase{"rpm_past_int64", kBackendHead + "    rpm: 99999999999999999999\n" + kRoute,
                "backends[0].rpm", "must be between 0 and"},
        BadCase{"tpm_not_a_number", kBackendHead + "    tpm: lots\n" + kRoute, "backends[0].tpm",
                "must be"},
        BadCase{"name_with_a_space", "backends:\n  - name: a b\n    provider: mock\n" + kRoute,
                "backends[0].name", "printable ASCII"},
        BadCase{"empty_route_name", kBackendHead + "routes:\n  - name: \"\"\n    use: [a]\n",
                "routes[0].name", "printable ASCII"},
        BadCase{"rule_name_with_a_space",
                kBackendHead +
                    "routes:\n  - name: auto\n    use: [a]\n    rules:\n"
                    "      - {name: hard prompt status=500, when: {pii: true}, use: [a]}\n",
                "routes[0].rules[0].name", "printable ASCII"},
        BadCase{"header_name_with_a_space",
                kBackendHead + "    headers: {\"bad header\": v}\n" + kRoute, "backends[0].headers",
                "not a valid header name"},
        BadCase{"env_reference_in_a_flow_map",
                kBackendHead + "    headers: {api-key: ${KEY}}\n" + kRoute, "",
                "quote a ${VAR} reference"},
        BadCase{"log_prompts_in_logging", kBackendHead + kRoute + "logging: {log_prompts: true}\n",
                "logging.log_prompts", "request_log"},
        BadCase{"framing_header", kBackendHead + "    headers: {Content-Length: \"5\"}\n" + kRoute,
                "backends[0].headers", "set by the router itself"},
        BadCase{"rule_named_default",
                kBackendHead + kRoute +
                    "    rules:\n      - {name: default, when: {stream: true}, use: [a]}\n",
                "routes[0].rules[0].name", "names the route's own pools"},
        BadCase{"weights_outside_the_pool",
                kBackendHead + "  - name: b\n    provider: mock\n" +
                    "routes:\n  - name: auto\n    use: [a]\n    strategy: weighted\n"
                    "    weights: {a: 1, b: 3}\n",
                "routes[0].weights.b", "not in `use`"},
        BadCase{"weights_all_zero",
                kBackendHead + "routes:\n  - name: auto\n    use: [a]\n    weights: {a: 0}\n",
                "routes[0].weights", "all 0"},
        BadCase{"unknown_pii_kind",
                kBackendHead + "routes:\n  - name: auto\n    use: [a]\n    rules:\n"
                               "      - {name: r, when: {pii: [ssn]}, use: [a]}\n",
                "routes[0].rules[0].when.pii", "unknown kind 'ssn'"},
        BadCase{"duplicate_key", kBackendHead + "    provider: openai\n" + kRoute,
                "backends[0].provider", "duplicate key 'provider' (first at line 3)"},
        BadCase{"missing_name", "backends:\n  - provider: mock\n" + kRoute, "backends[0].name",
                "required"},
        BadCase{"missing_provider", "backends:\n  - name: a\n" + kRoute, "backends[0].provider",
                "required"},
        BadCase{"unknown_provider", "backends:\n  - name: a\n    provider: magic\n" + kRoute,
                "backends[0].provider", "unknown provider"},
        BadCase{"openai_needs_url", "backends:\n  - name: a\n    provider: openai\n" + kRoute,
                "backends[0].base_url", "required"},
        BadCase{"bad_url",
                "backends:\n  - name: a\n    provider: openai\n    base_url: ftp://x\n" + kRoute,
                "backends[0].base_url", "http:// or https://"},
        BadCase{
            "bad_port",
            "backends:\n  - name: a\n    provider: openai\n    base_url: http://x:99999\n" + kRoute,
            "backends[0].base_url", "URL"},
        BadCase{"bad_duration", kBackendHead + "    timeouts: {connect: soon}\n" + kRoute,
                "backends[0].timeouts.connect", "duration"},
        BadCase{"out_of_range", kBackendHead + "    quality: 7\n" + kRoute, "backends[0].quality",
                "between"},
        BadCase{"wrong_type", kBackendHead + "    tags: chat\n" + kRoute, "backends[0].tags",
                "list"},
        BadCase{"not_a_number", kBackendHead + "    context_window: big\n" + kRoute,
                "backends[0].context_window", "integer"},
        BadCase{"unknown_backend_in_route",
                kBackendHead + "routes:\n  - name: auto\n    use: [a, b]\n", "routes[0].use[1]",
                "unknown backend 'b'"},
        BadCase{"unknown_backend_names_the_nearest",
                "backends:\n  - {name: gpt-4o, provider: mock}\n  - {name: claude, provider: "
                "mock}\nroutes:\n  - name: auto\n    use: [gpt4o]\n",
                "routes[0].use[0]", "unknown backend 'gpt4o' (did you mean 'gpt-4o'?)"},
        BadCase{"unknown_backend_in_fallback",
                kBackendHead + "routes:\n  - name: auto\n    use: [a]\n    fallback: [zz]\n",
                "routes[0].fallback[0]", "unknown backend 'zz'"},
        BadCase{"route_without_backends", kBackendHead + "routes:\n  - name: auto\n",
                "routes[0].use", "at least one"},
        BadCase{"duplicate_backend", kBackendHead + "  - name: a\n    provider: mock\n" + kRoute,
                "backends[1].name", "duplicate backend name 'a' (first at line 2)"},
        BadCase{"route_shadows_backend", kBackendHead + "routes:\n  - name: a\n    use: [a]\n",
                "routes[0].name", "already used by a backend, route or alias (first at line 2)"},
        BadCase{"bad_listen", "server: {listen: nowhere}\n" + kBackendHead + kRoute,
                "server.listen", "ADDRESS:PORT"},
        BadCase{"bad_log_level", "logging: {level: loud}\n" + kBackendHead + kRoute,
                "logging.level", "one of"},
        BadCase{"no_backends", "backends: []\n", "backends", "at least one"},
        BadCase{"forwarded_key_header",
                kBackendHead + "    forward_headers: [Authorization]\n" + kRoute,
                "backends[0].forward_headers", "pass_client_auth"},
        BadCase{"client_key_unknown_model",
                kBackendHead + kRoute + "client_keys:\n  - {name: k, key: sk-x, models: [nope]}\n",
                "client_keys[0].models[0]", "unknown model 'nope'"},
        BadCase{"route_names_a_wildcard_backend",
                "backends:\n  - name: a\n    provider: mock\n  - name: o/*\n    provider: mock\n"
                "routes:\n  - name: r\n    use: [a, o/*]\n",
                "routes[0].use[1]", "is a wildcard backend"},
        BadCase{"star_inside_a_name", "backends:\n  - name: a*b*\n    provider: mock\n" + kRoute,
                "backends[0].name", "one '*', at its end"},
        BadCase{"forward_everything", kBackendHead + "    forward_headers: ['*']\n" + kRoute,
                "backends[0].forward_headers", "not a header name"},
        BadCase{"malformed_env_reference", kBackendHead + "    api_key: ${BAD-NAME}\n" + kRoute,
                "backends[0].api_key", "malformed"},
        BadCase{"unknown_embeddings_model",
                kBackendHead + kRoute + "analyzer:\n  semantic:\n    embeddings: {model: nope}\n",
                "analyzer.semantic.embeddings.model", "unknown backend 'nope'"},
        BadCase{
            "unknown_embeddings_key",
            kBackendHead + kRoute + "analyzer:\n  semantic:\n    embeddings: {model: a, size: 3}\n",
            "analyzer.semantic.embeddings.size", "unknown key"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Config, ForwardHeadersMatchNamesAndPrefixesButNeverOwnedOrConfiguredOnes) {
  const auto config = load_config_string(
      "backends:\n  - name: a\n    provider: mock\n    headers: {X-Org: acme}\n"
      "    forward_headers: [OpenAI-Organization, x-tenant-*, x-org, x-*]\nroutes: [{name: r, use: "
      "[a]}]\n");
  const Backend& backend = config.backends.at(0);
  EXPECT_TRUE(backend.forwards_header("openai-organization"));
  EXPECT_TRUE(backend.forwards_header("x-tenant-id"));
  EXPECT_TRUE(backend.forwards_header("x-anything"));
  EXPECT_FALSE(backend.forwards_header("x-org"));         // the configured one is sent
  EXPECT_FALSE(backend.forwards_header("x-api-key"));     // a key: pass_client_auth decides
  EXPECT_FALSE(backend.forwards_header("x-request-id"));  // the router's id
  EXPECT_FALSE(backend.forwards_header("openai-project"));
}

TEST(Config, ResponseHeadersMatchNamesAndPrefixesButNeverTheRoutersOwn) {
  const auto config = load_config_string(
      "backends:\n  - name: a\n    provider: mock\n"
      "    response_headers: [APIM-Request-Id, x-ms-*, x-*]\nroutes: [{name: r, use: [a]}]\n");
  const auto& listed = config.backends.at(0).response_headers;
  EXPECT_TRUE(lists_response_header(listed, "apim-request-id"));
  EXPECT_TRUE(lists_response_header(listed, "x-ms-region"));
  EXPECT_TRUE(lists_response_header(listed, "x-groq-region"));
  EXPECT_FALSE(lists_response_header(listed, "x-request-id"));  // the router's id
  EXPECT_FALSE(lists_response_header(listed, "x-llm-router-backend"));
  EXPECT_FALSE(lists_response_header(listed, "set-cookie"));
  try {
    load_config_string(
        "backends:\n  - name: a\n    provider: mock\n    response_headers: [content-length, "
        "access-control-allow-origin]\nroutes: [{name: r, use: [a]}]\n");
    FAIL() << "accepted headers the router writes";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.diagnostics().size(), 2u);
    EXPECT_NE(std::string(e.what()).find("'content-length' is written by the router itself"),
              std::string::npos)
        << e.what();
  }
}

// Body fields per backend: YAML values become JSON (plain scalars typed, quoted ones strings);
// the fields that say what is asked stay the client's and the router's.
TEST(Config, BackendParamsAreJsonValuesButNotTheRequestsOwnFields) {
  const auto config = load_config_string(
      "backends:\n  - name: a\n    provider: mock\n"
      "    default_params: {temperature: 0.2, max_tokens: 64, stop: [END], seed: \"7\"}\n"
      "    override_params: {logprobs: true, extra: {k: null}}\nroutes: [{name: r, use: [a]}]\n");
  const auto& backend = config.backends.at(0);
  using Fields = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(backend.default_params, (Fields{{"temperature", "0.2"},
                                            {"max_tokens", "64"},
                                            {"stop", R"(["END"])"},
                                            {"seed", R"("7")"}}));
  EXPECT_EQ(backend.override_params, (Fields{{"logprobs", "true"}, {"extra", R"({"k":null})"}}));
  try {
    load_config_string(
        "backends:\n  - name: a\n    provider: mock\n"
        "    override_params: {model: x, stream: true}\nroutes: [{name: r, use: [a]}]\n");
    FAIL() << "accepted fields the request owns";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.diagnostics().size(), 2u) << e.what();
    EXPECT_NE(std::string(e.what()).find("'model' is the client's request or the router's"),
              std::string::npos)
        << e.what();
  }
}

// A key in a file (a mounted secret), relative to the config's directory, without its
// trailing line break; never both api_key and api_key_file; an unreadable file says which.
TEST(Config, AnApiKeyFileIsReadRelativeToTheConfig) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("llm-router-key-file-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "secrets");
  std::ofstream(dir / "secrets" / "key") << "sk-from-file-123\n";
  const std::string head =
      "backends:\n  - name: a\n    provider: openai\n    base_url: http://127.0.0.1:9/v1\n";
  const std::string routes = "routes: [{name: r, use: [a]}]\n";
  const auto config = load_config_text(head + "    api_key_file: secrets/key\n" + routes,
                                       (dir / "llm-router.yaml").string(), fake_env({}));
  EXPECT_EQ(config.backends.at(0).api_key, "sk-from-file-123");
  const auto both = errors_of(head + "    api_key: x\n    api_key_file: secrets/key\n" + routes);
  EXPECT_TRUE(has_error(both, "backends[0].api_key_file", "not both")) << dump(both);
  const auto missing = errors_of(head + "    api_key_file: /nonexistent/key\n" + routes);
  EXPECT_TRUE(has_error(missing, "backends[0].api_key_file", "cannot read '/nonexistent/key'"))
      << dump(missing);
  // A key file of two lines: reported at the file's key, where the key came from.
  std::ofstream(dir / "secrets" / "two") << "sk-one\nsk-two\n";
  try {
    load_config_text(head + "    api_key_file: secrets/two\n" + routes,
                     (dir / "llm-router.yaml").string(), fake_env({}));
    ADD_FAILURE() << "a key of two lines was accepted";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(has_error(e.diagnostics(), "backends[0].api_key_file", "line break"))
        << dump(e.diagnostics());
  }
  std::filesystem::remove_all(dir);
}

TEST(Config, EmbeddingsModelNamesABackend) {
  const Config config = load_config_text(
      kBackendHead + kRoute + "analyzer:\n  semantic:\n    embeddings: {model: a}\n", "test.yaml",
      fake_env({}));
  ASSERT_TRUE(config.analyzer && config.analyzer->embeddings);
  EXPECT_EQ(config.analyzer->embeddings->model, "a");
}

TEST(Config, CorsOriginsAreOriginsOrAStar) {
  const Config config = load_config_text(
      "server:\n  cors_origins: [\"https://app.example.com\", \"http://localhost:3000\"]\n" +
          kBackendHead + kRoute,
      "test.yaml", fake_env({}));
  EXPECT_EQ(config.server.cors_origins,
            (std::vector<std::string>{"https://app.example.com", "http://localhost:3000"}));
  EXPECT_TRUE(load_config_text(kBackendHead + kRoute, "test.yaml", fake_env({}))
                  .server.cors_origins.empty());
  for (const char* bad : {"https://app.example.com/", "app.example.com", "https://a.com/path",
                          "ftp://a.com", "https://", "https://*.example.com"}) {
    const auto errors = errors_of(std::string("server:\n  cors_origins: [\"") + bad + "\"]\n" +
                                  kBackendHead + kRoute);
    EXPECT_TRUE(has_error(errors, "server.cors_origins", "is not an origin"))
        << bad << dump(errors);
  }
}

TEST(Config, AllowedHostsAreNamesWildcardsOrAStar) {
  const Config config = load_config_text(
      "server:\n  allowed_hosts: [Router.Example.com, \"*.corp.example\", \"*\"]\n" + kBackendHead +
          kRoute,
      "test.yaml", fake_env({}));
  EXPECT_EQ(config.server.allowed_hosts,
            (std::vector<std::string>{"router.example.com", "*.corp.example", "*"}));
  for (const char* bad : {"https://a.com", "a.com:8080", "a.com/x", "*a.com", "a b", ""}) {
    const auto errors = errors_of(std::string("server:\n  allowed_hosts: [\"") + bad + "\"]\n" +
                                  kBackendHead + kRoute);
    EXPECT_TRUE(has_error(errors, "server.allowed_hosts", "is not a host name"))
        << bad << dump(errors);
  }
}

TEST(Config, YamlSyntaxErrorHasLineAndColumn) {
  const auto errors = errors_of("backends:\n  - name: [unclosed\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].line, 3);
  EXPECT_GT(errors[0].column, 0);
}

TEST(Config, EveryErrorIsReportedNotJustTheFirst) {
  const auto errors = errors_of(
      "server: {listen: nowhere}\nbackends:\n  - name: a\n    provider: magic\n"
      "routes:\n  - name: auto\n    use: [b]\n");
  EXPECT_GE(errors.size(), 3u) << dump(errors);
}

TEST(Config, MissingFileIsAnError) {
  EXPECT_THROW(load_config_file("/nonexistent/llm-router.yaml"), ConfigError);
  try {
    load_config_file("/tmp");
    ADD_FAILURE() << "a directory loaded as a config";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("is a directory"), std::string::npos) << e.what();
  }
}

TEST(Url, ParsesHostsPortsAndPaths) {
  auto v6 = Url::parse("http://[::1]:8000/v1");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 8000);
  EXPECT_EQ(v6->host_header(), "[::1]:8000");
  auto plain = Url::parse("https://api.openai.com");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->port, 443);
  EXPECT_EQ(plain->base_path, "");
  EXPECT_EQ(plain->host_header(), "api.openai.com");
  EXPECT_FALSE(Url::parse("api.openai.com"));
  EXPECT_FALSE(Url::parse("http://"));
  EXPECT_FALSE(Url::parse("http://user@host/"));
  // Azure's classic endpoints need a query on every call.
  auto azure =
      Url::parse("https://r.openai.azure.com/openai/deployments/d/?api-version=2024-10-21");
  ASSERT_TRUE(azure);
  EXPECT_EQ(azure->base_path, "/openai/deployments/d");
  EXPECT_EQ(azure->query, "api-version=2024-10-21");
  EXPECT_FALSE(Url::parse("http://host/v1?a b"));
  auto bare = Url::parse("http://host:8080?api-version=1");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->host, "host");
  EXPECT_EQ(bare->base_path, "");
  EXPECT_EQ(bare->query, "api-version=1");
}

TEST(Listen, ParsesHostAndPort) {
  EXPECT_EQ(parse_listen("0.0.0.0:8080"), std::make_pair(std::string("0.0.0.0"), uint16_t(8080)));
  EXPECT_EQ(parse_listen(":9000"), std::make_pair(std::string("0.0.0.0"), uint16_t(9000)));
  EXPECT_EQ(parse_listen("[::1]:1"), std::make_pair(std::string("::1"), uint16_t(1)));
  EXPECT_FALSE(parse_listen("8080"));
  EXPECT_FALSE(parse_listen("host:port"));
  // `serve` does not resolve names: `check` refuses what it could not listen on.
  EXPECT_EQ(parse_listen("localhost:80"), std::make_pair(std::string("127.0.0.1"), uint16_t(80)));
  EXPECT_FALSE(parse_listen("example.com:80"));
  EXPECT_FALSE(parse_listen("999.1.1.1:80"));
}

}  // namespace
}  // namespace llm_router::config
