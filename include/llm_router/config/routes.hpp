#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "llm_router/config/yaml_reader.hpp"

namespace llm_router::config {

struct Config;

// Strategy names a route or rule may use (the selector provides one implementation each).
inline constexpr std::string_view kStrategyNames[] = {
    "ordered",        "weighted", "round_robin", "consistent_hash", "least_busy",
    "lowest_latency", "cost",     "quality",     "hybrid",          "bandit"};
bool is_known_strategy(std::string_view name);

// What a prompt-level signal the analyzer computes looks like. The route config declares them
// (keywords/regex/semantic conditions); the analyzer reports hits by `name`.
struct KeywordSpec {
  std::string name;                   // generated: "<route>/<rule>/keywords[#n]"
  std::vector<std::string> words;     // case-insensitive whole words or phrases
  std::vector<std::string> patterns;  // RE2 syntax, validated at load
};

struct SemanticSpec {
  std::string name;  // generated: "<route>/<rule>/semantic[#n]"
  std::vector<std::string> utterances;
  double threshold = 0.5;
};

// A `when` condition tree. Leaves test one request fact; all/any/not combine them. A mapping
// with several keys is an implicit `all`.
struct Condition {
  enum class Kind {
    always,
    model,
    header,
    user,
    metadata,
    keywords,  // also `regex`: both test keyword_hits by `signal`
    semantic,
    category,
    complexity,
    tokens,
    sentiment,
    pii,
    stream,
    tools,
    images,
    audio,
    json_mode,
    all,
    any,
    negate,
  };
  Kind kind = Kind::always;
  std::string key;                  // header name (lowercase) or metadata key
  std::vector<std::string> values;  // accepted values (model, header, user, metadata, category,
                                    // pii kinds); empty header values + present = presence test
  bool present = false;             // header: true when only presence is tested
  bool flag = true;                 // pii (any), stream, tools, images, audio, json_mode
  std::optional<double> min;        // complexity, tokens, sentiment; category min_confidence
  std::optional<double> max;
  std::string signal;               // keywords/regex/semantic: generated spec name
  double threshold = 0.5;           // semantic
  std::vector<Condition> children;  // all, any, negate (one child)
};

// Parameters of how a pool is ordered.
struct HashKey {
  enum class Source { session, user, header, metadata };
  Source source = Source::session;
  std::string name;  // header name (lowercase) or metadata key
};

struct BanditSettings {
  enum class Prior { beta, gaussian };
  Prior prior = Prior::beta;
  double latency_weight = 0.2;  // share of the reward lost at latency_ref_ms
  double latency_ref_ms = 10'000;
  double cost_weight = 0.2;  // share of the reward lost at cost_ref_usd
  double cost_ref_usd = 0.01;
  double feedback_weight = 0.5;  // blend of user feedback score into the reward
};

// A candidate pool: the backends to order, the fallbacks after them, and how to order them.
struct Pool {
  std::vector<std::string> use;           // candidates, ordered by the strategy
  std::vector<std::string> fallback;      // tried in the listed order after every candidate
  bool fallback_written = false;          // `fallback:` is in the config (`[]` included)
  std::string strategy;                   // empty on a rule: the route's strategy
  std::map<std::string, double> weights;  // weighted: backend -> weight (default 1)
  std::optional<HashKey> hash_key;        // consistent_hash (default: session)
  std::optional<double> exploration;      // lowest_latency: share of random picks
  std::optional<double> quality_floor;    // skip backends below, unless none reaches it
};

struct Rule {
  std::string name;
  Condition when;
  Pool pool;
  // Where `when` was written, for problems found once the models are loaded.
  std::string when_path;  // "routes[0].rules[1].when"
  int line = 0;
  int column = 0;
};

enum class Optimize { none, cost, latency, quality };

// Low-confidence escalation (non-stream requests): when the answer looks weak, the next
// candidate is tried and the client gets the stronger answer.
struct CascadeSettings {
  bool enabled = false;
  bool on_empty = true;         // no content and no tool calls
  bool on_length = true;        // finish_reason "length" while the client set no token cap
  bool on_refusal = true;       // "I can't help with that" and the like
  bool on_invalid_json = true;  // response_format asked for JSON and the answer is not JSON
  std::optional<double> min_mean_logprob;  // when the backend returns logprobs
};

// Hedged requests (`hedge: {after: 300ms, max: 1}`): when the first attempt has not reached its
// commit point `after` the start, a duplicate goes to the next candidate; the first to commit
// answers, the other is cancelled. Off unless configured.
struct HedgeSettings {
  bool enabled = false;
  std::chrono::milliseconds after{0};  // with after_p95: the delay until the backend is measured
  bool after_p95 = false;              // after the first backend's p95 time to first byte
  int max = 1;                         // duplicates per request (only 1 is supported)
};

// Conversation affinity (`sticky: {key: session, ttl: 1h}`): the backend that answered a
// conversation (requests with the same key) is asked first for its later turns, whatever the
// rules say of them, while it can take them; off unless configured.
struct StickySettings {
  bool enabled = false;
  HashKey key;                               // session (the opening messages) by default
  std::chrono::milliseconds ttl{3'600'000};  // since the conversation's last answer
};

// Per-route overrides of the backends' phase timeouts (`timeouts:` under a route); unset keys
// keep each backend's own value.
struct TimeoutOverrides {
  std::optional<std::chrono::milliseconds> connect;
  std::optional<std::chrono::milliseconds> first_byte;
  std::optional<std::chrono::milliseconds> idle;
  std::optional<std::chrono::milliseconds> total;
};

// `name` is what clients put in `model`. Rules are tried in order; the first match gives the
// pool, otherwise the route's own pool (the default) is used.
struct Route : Pool {
  std::string name;
  // Other names clients may send in `model` for this route ("gpt-4o" for a route "auto"):
  // requests naming one are this route's, in every header, log and metric.
  std::vector<std::string> aliases;
  std::vector<Rule> rules;
  Optimize optimize = Optimize::none;
  std::int64_t expected_output_tokens = 300;  // cost/latency estimate when max_tokens is unset
  BanditSettings bandit;
  // Per error class, tried after the failing backend instead of the generic order.
  std::vector<std::string> context_window_fallback;  // prompt too large for the backend
  std::vector<std::string> content_policy_fallback;  // the backend refused on policy grounds
  CascadeSettings cascade;
  HedgeSettings hedge;
  StickySettings sticky;
  std::chrono::milliseconds timeout{600'000};  // whole request, every attempt and retry included
  TimeoutOverrides timeouts;                   // per attempt; win over the backends' timeouts
  std::vector<KeywordSpec> keyword_specs;      // declared by this route's conditions
  std::vector<SemanticSpec> semantic_specs;
};

Route read_route(NodeReader reader);

// The names of backends and routes seen so far, each with the line it is first given on.
using NameLines = std::map<std::string, int>;

// Cross-field checks for routes: names unique (with backends), backend references resolve.
void validate_routes(NodeReader& root, const YAML::Node& yaml, const Config& config,
                     NameLines& names);

// Every keyword/regex and semantic signal the analyzer must compute for the configured routes.
struct SignalSpecs {
  std::vector<KeywordSpec> keywords;
  std::vector<SemanticSpec> semantic;
  bool pii = false;  // some rule tests `pii`: the analyzer must scan the whole request
};
SignalSpecs signal_specs(const Config& config);

std::string_view to_string(Optimize optimize);

}  // namespace llm_router::config
