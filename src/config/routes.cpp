#include "llm_router/config/routes.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "llm_router/analyzer/detectors.hpp"
#include "llm_router/config/config.hpp"

namespace llm_router::config {
namespace {

using Kind = Condition::Kind;

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Where generated signal specs of one route go, with names unique inside the route.
struct SignalSink {
  std::string prefix;  // "<route>/<rule>"
  std::vector<KeywordSpec>& keywords;
  std::vector<SemanticSpec>& semantic;
  std::map<std::string, int> used;

  std::string name_for(const std::string& kind) {
    const std::string base = prefix + "/" + kind;
    const int n = ++used[base];
    return n == 1 ? base : base + "#" + std::to_string(n);
  }
};

std::string item_path(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// A scalar or a list of scalars.
std::optional<std::vector<std::string>> read_strings(NodeReader& reader, std::string_view key) {
  YAML::Node node = reader.raw(key);
  if (!node.IsDefined() || node.IsNull()) return std::nullopt;
  if (node.IsScalar()) {
    auto value = reader.expand_env(node.Scalar(), node, reader.path_of(key));
    if (!value) return std::nullopt;
    return std::vector<std::string>{*value};
  }
  if (node.IsSequence()) return reader.string_list(key);
  reader.error(key, "must be a string or a list of strings");
  return std::nullopt;
}

void read_range(NodeReader reader, Condition& c, double low, double high) {
  c.min = reader.number("min", low, high);
  c.max = reader.number("max", low, high);
  if (!c.min && !c.max && !reader.has("min") && !reader.has("max")) {
    reader.error_at(YAML::Node(YAML::NodeType::Undefined), "", "needs min and/or max");
  }
  if (c.min && c.max && *c.min > *c.max) reader.error("min", "must not exceed max");
  reader.finish();
}

Condition leaf(Kind kind) {
  Condition c;
  c.kind = kind;
  return c;
}

Condition read_when(NodeReader reader, SignalSink& sink);

std::vector<Condition> read_when_list(NodeReader& reader, std::string_view key, SignalSink& sink) {
  std::vector<Condition> out;
  YAML::Node list = reader.raw(key);
  if (!list.IsSequence() || list.size() == 0) {
    reader.error(key, "must be a non-empty list of conditions");
    return out;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    out.push_back(
        read_when(NodeReader(list[i], item_path(reader.path_of(key), i), reader.context()), sink));
  }
  return out;
}

Condition read_header(NodeReader& reader, SignalSink&, Condition all) {
  YAML::Node map = reader.raw("header");
  if (!map.IsMap() || map.size() == 0) {
    reader.error("header", "must map header names to a value, a list of values or {present: bool}");
    return all;
  }
  for (const auto& entry : map) {
    Condition c = leaf(Kind::header);
    c.key = lowercase(entry.first.as<std::string>());
    const std::string path = reader.path_of("header") + "." + c.key;
    const YAML::Node& value = entry.second;
    if (value.IsScalar()) {
      c.values.push_back(value.Scalar());
    } else if (value.IsSequence()) {
      for (const auto& v : value) {
        if (v.IsScalar()) c.values.push_back(v.Scalar());
      }
      if (c.values.empty()) reader.error_at(value, path, "must list at least one value");
    } else if (value.IsMap()) {
      NodeReader sub(value, path, reader.context());
      c.present = true;
      c.flag = sub.boolean("present").value_or(true);
      sub.finish();
    } else {
      reader.error_at(value, path, "must be a value, a list of values or {present: bool}");
    }
    all.children.push_back(std::move(c));
  }
  return all;
}

void read_metadata(NodeReader& reader, Condition& all) {
  YAML::Node map = reader.raw("metadata");
  if (!map.IsMap() || map.size() == 0) {
    reader.error("metadata", "must map metadata keys to a value or a list of values");
    return;
  }
  for (const auto& entry : map) {
    Condition c = leaf(Kind::metadata);
    c.key = entry.first.as<std::string>();
    const YAML::Node& value = entry.second;
    if (value.IsScalar()) {
      c.values.push_back(value.Scalar());
    } else if (value.IsSequence()) {
      for (const auto& v : value) {
        if (v.IsScalar()) c.values.push_back(v.Scalar());
      }
    } else {
      reader.error_at(value, reader.path_of("metadata") + "." + c.key,
                      "must be a value or a list of values");
    }
    all.children.push_back(std::move(c));
  }
}

void read_regex(NodeReader& reader, SignalSink& sink, Condition& all) {
  YAML::Node node = reader.raw("regex");
  auto patterns = read_strings(reader, "regex");
  if (!patterns || patterns->empty()) return;
  for (size_t i = 0; i < patterns->size(); ++i) {
    RE2 re((*patterns)[i], RE2::Quiet);
    if (!re.ok()) {
      const YAML::Node at = node.IsSequence() ? node[i] : node;
      const std::string path =
          node.IsSequence() ? item_path(reader.path_of("regex"), i) : reader.path_of("regex");
      reader.error_at(at, path, "invalid regex '" + (*patterns)[i] + "': " + re.error());
    }
  }
  Condition c = leaf(Kind::keywords);
  c.signal = sink.name_for("regex");
  sink.keywords.push_back(KeywordSpec{c.signal, {}, *patterns});
  all.children.push_back(std::move(c));
}

void read_semantic(NodeReader reader, SignalSink& sink, Condition& all) {
  Condition c = leaf(Kind::semantic);
  auto examples = reader.string_list("examples");
  if (!examples || examples->empty()) reader.error("examples", "must list example utterances");
  c.threshold = reader.number("threshold", 0, 1).value_or(0.5);
  reader.finish();
  c.signal = sink.name_for("semantic");
  sink.semantic.push_back(
      SemanticSpec{c.signal, examples.value_or(std::vector<std::string>{}), c.threshold});
  all.children.push_back(std::move(c));
}

void read_category(NodeReader& reader, Condition& all) {
  Condition c = leaf(Kind::category);
  YAML::Node node = reader.raw("category");
  if (node.IsMap()) {
    NodeReader sub = reader.object("category");
    c.values = read_strings(sub, "in").value_or(std::vector<std::string>{});
    c.min = sub.number("min_confidence", 0, 1);
    sub.finish();
  } else {
    c.values = read_strings(reader, "category").value_or(std::vector<std::string>{});
  }
  if (c.values.empty()) reader.error("category", "must name at least one category");
  all.children.push_back(std::move(c));
}

bool is_pii_kind(std::string_view name) {
  for (std::size_t k = 0; k < analyzer::kPiiKinds; ++k) {
    if (analyzer::pii_kind_name(static_cast<analyzer::PiiKind>(k)) == name) return true;
  }
  return false;
}

void read_pii(NodeReader& reader, Condition& all) {
  Condition c = leaf(Kind::pii);
  YAML::Node node = reader.raw("pii");
  if (node.IsSequence()) {
    c.values = reader.string_list("pii").value_or(std::vector<std::string>{});
    for (const auto& value : c.values) {
      if (!is_pii_kind(value)) {
        std::string known;
        for (std::size_t k = 0; k < analyzer::kPiiKinds; ++k) {
          known += (k > 0 ? ", " : "") +
                   std::string(analyzer::pii_kind_name(static_cast<analyzer::PiiKind>(k)));
        }
        reader.error("pii", "unknown kind '" + value + "' (expected " + known + ")");
      }
    }
  } else if (auto flag = reader.boolean("pii")) {
    c.flag = *flag;
  }
  all.children.push_back(std::move(c));
}

void read_flag(NodeReader& reader, std::string_view key, Kind kind, Condition& all) {
  if (auto flag = reader.boolean(key)) {
    Condition c = leaf(kind);
    c.flag = *flag;
    all.children.push_back(std::move(c));
  }
}

void read_values(NodeReader& reader, std::string_view key, Kind kind, Condition& all) {
  if (auto values = read_strings(reader, key)) {
    Condition c = leaf(kind);
    c.values = std::move(*values);
    all.children.push_back(std::move(c));
  }
}

void read_range_key(NodeReader& reader, std::string_view key, Kind kind, double low, double high,
                    Condition& all) {
  if (!reader.has(key)) {
    reader.raw(key);
    return;
  }
  Condition c = leaf(kind);
  read_range(reader.object(key), c, low, high);
  all.children.push_back(std::move(c));
}

Condition read_when(NodeReader reader, SignalSink& sink) {
  Condition all = leaf(Kind::all);
  read_values(reader, "model", Kind::model, all);
  if (reader.has("header")) all = read_header(reader, sink, std::move(all));
  read_values(reader, "user", Kind::user, all);
  if (reader.has("metadata")) read_metadata(reader, all);
  if (auto words = read_strings(reader, "keywords")) {
    if (words->empty()) reader.error("keywords", "must list at least one word or phrase");
    Condition c = leaf(Kind::keywords);
    c.signal = sink.name_for("keywords");
    sink.keywords.push_back(KeywordSpec{c.signal, *words, {}});
    all.children.push_back(std::move(c));
  }
  if (reader.has("regex")) read_regex(reader, sink, all);
  if (reader.has("semantic")) read_semantic(reader.object("semantic"), sink, all);
  if (reader.has("category")) read_category(reader, all);
  read_range_key(reader, "complexity", Kind::complexity, 0, 1, all);
  read_range_key(reader, "tokens", Kind::tokens, 0, 1e12, all);
  read_range_key(reader, "sentiment", Kind::sentiment, -1, 1, all);
  if (reader.has("pii")) read_pii(reader, all);
  read_flag(reader, "stream", Kind::stream, all);
  read_flag(reader, "tools", Kind::tools, all);
  read_flag(reader, "images", Kind::images, all);
  read_flag(reader, "audio", Kind::audio, all);
  read_flag(reader, "json_mode", Kind::json_mode, all);
  if (reader.has("all")) {
    Condition c = leaf(Kind::all);
    c.children = read_when_list(reader, "all", sink);
    all.children.push_back(std::move(c));
  }
  if (reader.has("any")) {
    Condition c = leaf(Kind::any);
    c.children = read_when_list(reader, "any", sink);
    all.children.push_back(std::move(c));
  }
  if (reader.has("not")) {
    Condition c = leaf(Kind::negate);
    c.children.push_back(read_when(reader.object("not"), sink));
    all.children.push_back(std::move(c));
  }
  reader.finish();
  if (all.children.empty())
    reader.error_at(YAML::Node(YAML::NodeType::Undefined), "", "condition must test something");
  if (all.children.size() == 1) return std::move(all.children.front());
  return all;
}

std::optional<HashKey> read_hash_key(NodeReader& reader, std::string_view field = "hash_key") {
  auto text = reader.string(field);
  if (!text) return std::nullopt;
  HashKey key;
  const size_t space = text->find(' ');
  const std::string source = text->substr(0, space);
  const std::string name = space == std::string::npos ? "" : text->substr(space + 1);
  if (source == "session" && name.empty()) {
    key.source = HashKey::Source::session;
  } else if (source == "user" && name.empty()) {
    key.source = HashKey::Source::user;
  } else if (source == "header" && !name.empty()) {
    key.source = HashKey::Source::header;
    key.name = lowercase(name);
  } else if (source == "metadata" && !name.empty()) {
    key.source = HashKey::Source::metadata;
    key.name = name;
  } else {
    reader.error(field, "must be session, user, 'header NAME' or 'metadata KEY', got '" +
                            reader.written(field, *text) + "'");
    return std::nullopt;
  }
  return key;
}

void read_pool(NodeReader& reader, Pool& pool) {
  pool.use = reader.string_list("use").value_or(std::vector<std::string>{});
  auto fallback = reader.string_list("fallback");
  pool.fallback_written = fallback.has_value();
  pool.fallback = std::move(fallback).value_or(std::vector<std::string>{});
  if (auto strategy = reader.string("strategy")) {
    if (is_known_strategy(*strategy)) {
      pool.strategy = *strategy;
    } else {
      std::string known;
      for (auto name : kStrategyNames) known += (known.empty() ? "" : ", ") + std::string(name);
      reader.error("strategy", "unknown strategy '" + *strategy + "' (expected " + known + ")");
    }
  }
  if (reader.has("weights")) {
    YAML::Node map = reader.raw("weights");
    if (!map.IsMap()) reader.error("weights", "must map backend names to weights");
    NodeReader weights = reader.object("weights");
    if (map.IsMap()) {
      double total = 0;
      for (const auto& entry : map) {
        const std::string name = entry.first.as<std::string>();
        if (auto w = weights.number(name, 0, 1e9)) {
          pool.weights[name] = *w;
          total += *w;
        }
      }
      if (!pool.weights.empty() && total <= 0) {
        reader.error("weights", "are all 0: give at least one backend a positive weight");
      }
    }
  } else {
    reader.raw("weights");
  }
  pool.hash_key = read_hash_key(reader);
  pool.exploration = reader.number("exploration", 0, 1);
  pool.quality_floor = reader.number("quality_floor", 0, 1);
  if (pool.use.empty()) reader.error("use", "must list at least one backend");
}

Rule read_rule(NodeReader reader, const std::string& route_name, std::vector<KeywordSpec>& kw,
               std::vector<SemanticSpec>& sem) {
  Rule rule;
  rule.name = reader.string("name", true).value_or("");
  check_name(reader, rule.name);  // it goes into a response header and the access line
  SignalSink sink{route_name + "/" + rule.name, kw, sem, {}};
  if (reader.has("when")) {
    const auto mark = reader.raw("when").Mark();
    rule.when_path = reader.path_of("when");
    rule.line = mark.line + 1;
    rule.column = mark.column + 1;
    rule.when = read_when(reader.object("when"), sink);
  } else {
    reader.error("when", "is required");
  }
  read_pool(reader, rule.pool);
  reader.finish();
  return rule;
}

Optimize read_optimize(NodeReader& reader) {
  auto text = reader.string("optimize");
  if (!text) return Optimize::none;
  if (*text == "cost") return Optimize::cost;
  if (*text == "latency") return Optimize::latency;
  if (*text == "quality") return Optimize::quality;
  reader.error("optimize",
               "must be cost, latency or quality, got '" + reader.written("optimize", *text) + "'");
  return Optimize::none;
}

void read_bandit(NodeReader reader, BanditSettings& b) {
  if (auto prior = reader.string("prior")) {
    if (*prior == "beta") {
      b.prior = BanditSettings::Prior::beta;
    } else if (*prior == "gaussian") {
      b.prior = BanditSettings::Prior::gaussian;
    } else {
      reader.error("prior", "must be beta or gaussian");
    }
  }
  if (auto v = reader.number("latency_weight", 0, 1)) b.latency_weight = *v;
  if (auto v = reader.number("latency_ref_ms", 1, 1e7)) b.latency_ref_ms = *v;
  if (auto v = reader.number("cost_weight", 0, 1)) b.cost_weight = *v;
  if (auto v = reader.number("cost_ref_usd", 1e-9, 1e6)) b.cost_ref_usd = *v;
  if (auto v = reader.number("feedback_weight", 0, 1)) b.feedback_weight = *v;
  reader.finish();
}

std::string default_strategy(const Route& r) {
  switch (r.optimize) {
    case Optimize::cost:
      if (r.rules.empty()) return "cost";
      break;
    case Optimize::latency:
      if (r.rules.empty()) return "lowest_latency";
      break;
    case Optimize::quality:
      if (r.rules.empty()) return "quality";
      break;
    case Optimize::none:
      break;
  }
  return r.rules.empty() ? "ordered" : "hybrid";
}

// "unknown backend 'gpt4o' (did you mean 'gpt-4o'?)".
std::string unknown_backend(const std::string& name, const Config& config) {
  std::string message = "unknown backend '" + name + "'";
  const std::string_view nearest = nearest_name(name, config.backends, &Backend::name);
  if (!nearest.empty()) message += " (did you mean '" + std::string(nearest) + "'?)";
  return message;
}

// Why a route may not name `name` as a backend, if it may not.
std::optional<std::string> backend_ref_problem(const std::string& name, const Config& config) {
  const Backend* backend = config.find_backend(name);
  if (backend == nullptr) return unknown_backend(name, config);
  if (backend->wildcard()) {
    return "'" + name +
           "' is a wildcard backend: clients name it by a model it matches, and a "
           "route has no such model to send it";
  }
  return std::nullopt;
}

// `weighted_pools`: the pools whose `use` a weight may name (a rule's weights weigh its own
// pool; the route's weigh every pool that takes them).
void check_refs(NodeReader& root, const YAML::Node& pool_node, const std::string& base,
                const Pool& pool, const Config& config,
                const std::vector<const Pool*>& weighted_pools) {
  for (const char* key : {"use", "fallback"}) {
    const auto& refs = std::string_view(key) == "use" ? pool.use : pool.fallback;
    for (size_t j = 0; j < refs.size(); ++j) {
      if (const auto problem = backend_ref_problem(refs[j], config)) {
        root.error_at(pool_node[key][j], item_path(base + "." + key, j), *problem);
      } else if (std::find(refs.begin(), refs.begin() + static_cast<std::ptrdiff_t>(j), refs[j]) !=
                 refs.begin() + static_cast<std::ptrdiff_t>(j)) {
        root.error_at(pool_node[key][j], item_path(base + "." + key, j),
                      "lists '" + refs[j] + "' twice");
      }
    }
  }
  for (const auto& [name, weight] : pool.weights) {
    const auto in_use = [&](const Pool* p) {
      return std::find(p->use.begin(), p->use.end(), name) != p->use.end();
    };
    if (config.find_backend(name) == nullptr) {
      root.error_at(pool_node["weights"][name], base + ".weights." + name,
                    unknown_backend(name, config));
    } else if (std::none_of(weighted_pools.begin(), weighted_pools.end(), in_use)) {
      root.error_at(pool_node["weights"][name], base + ".weights." + name,
                    "weighs '" + name + "', which is not in `use`: its weight would never count");
    }
  }
}

void read_cascade(NodeReader reader, CascadeSettings& c) {
  c.enabled = reader.boolean("enabled").value_or(reader.has("min_mean_logprob"));
  c.on_empty = reader.boolean("on_empty").value_or(c.on_empty);
  c.on_length = reader.boolean("on_length").value_or(c.on_length);
  c.on_refusal = reader.boolean("on_refusal").value_or(c.on_refusal);
  c.on_invalid_json = reader.boolean("on_invalid_json").value_or(c.on_invalid_json);
  c.min_mean_logprob = reader.number("min_mean_logprob", -100, 0);
  reader.finish();
}

void read_sticky(NodeReader reader, StickySettings& s) {
  s.enabled = reader.boolean("enabled").value_or(true);
  if (auto key = read_hash_key(reader, "key")) s.key = std::move(*key);
  if (auto ttl = reader.duration("ttl")) {
    if (ttl->count() > 0) {
      s.ttl = *ttl;
    } else {
      reader.error("ttl", "must be greater than 0");
    }
  }
  reader.finish();
}

void read_hedge(NodeReader reader, HedgeSettings& h) {
  if (!reader.has("after")) {
    if (reader.has("max") || reader.has("enabled")) reader.error("after", "is required");
    reader.finish();
    return;
  }
  h.enabled = reader.boolean("enabled").value_or(true);
  if (auto text = reader.string("after"); text && *text == "p95") {
    h.after_p95 = true;
    h.after = reader.duration("initial_after").value_or(std::chrono::seconds(1));
    if (h.after.count() <= 0) reader.error("initial_after", "must be greater than 0");
  } else if (text) {
    auto after = parse_duration(*text);
    if (!after || *after > kMaxDuration) {
      reader.error("after",
                   "must be a duration such as 300ms or 1s (at most 8760h), or p95, got '" +
                       reader.written("after", *text) + "'");
      h.enabled = false;
    } else if (after->count() <= 0) {
      reader.error("after", "must be greater than 0");
      h.enabled = false;
    } else {
      h.after = *after;
    }
  }
  if (!h.after_p95 && reader.has("initial_after")) {
    reader.error("initial_after", "only applies with after: p95");
  }
  h.max = static_cast<int>(reader.integer("max", 1, 1).value_or(1));
  reader.finish();
}

void read_timeout_overrides(NodeReader reader, TimeoutOverrides& t) {
  auto positive = [&](std::string_view key) -> std::optional<std::chrono::milliseconds> {
    auto value = reader.duration(key);
    if (value && value->count() <= 0) {
      reader.error(key, "must be greater than 0");
      return std::nullopt;
    }
    return value;
  };
  t.connect = positive("connect");
  t.first_byte = positive("first_byte");
  t.idle = positive("idle");
  t.total = positive("total");
  reader.finish();
}

void check_class_fallbacks(NodeReader& root, const YAML::Node& route_node, const std::string& base,
                           const Route& route, const Config& config) {
  for (const char* key : {"context_window_fallback", "content_policy_fallback"}) {
    const auto& refs = std::string_view(key) == "context_window_fallback"
                           ? route.context_window_fallback
                           : route.content_policy_fallback;
    for (size_t j = 0; j < refs.size(); ++j) {
      if (const auto problem = backend_ref_problem(refs[j], config)) {
        root.error_at(route_node[key][j], item_path(base + "." + key, j), *problem);
      }
    }
  }
}

}  // namespace

bool is_known_strategy(std::string_view name) {
  return std::find(std::begin(kStrategyNames), std::end(kStrategyNames), name) !=
         std::end(kStrategyNames);
}

std::string_view to_string(Optimize optimize) {
  switch (optimize) {
    case Optimize::cost:
      return "cost";
    case Optimize::latency:
      return "latency";
    case Optimize::quality:
      return "quality";
    case Optimize::none:
      break;
  }
  return "none";
}

Route read_route(NodeReader reader) {
  Route r;
  r.name = reader.string("name", true).value_or("");
  check_name(reader, r.name);
  r.aliases = reader.string_list("aliases").value_or(std::vector<std::string>{});
  for (const auto& alias : r.aliases) {
    if (!is_clean_name(alias)) {
      reader.error("aliases", "'" + alias +
                                  "' must be 1 to 200 printable ASCII characters without spaces, "
                                  "quotes or backslashes");
    }
  }
  read_pool(reader, r);
  YAML::Node rules = reader.raw("rules");
  if (rules.IsDefined() && !rules.IsNull()) {
    if (!rules.IsSequence()) reader.error("rules", "must be a list");
    for (size_t i = 0; rules.IsSequence() && i < rules.size(); ++i) {
      r.rules.push_back(
          read_rule(NodeReader(rules[i], item_path(reader.path_of("rules"), i), reader.context()),
                    r.name, r.keyword_specs, r.semantic_specs));
    }
  }
  r.optimize = read_optimize(reader);
  r.expected_output_tokens =
      reader.integer("expected_output_tokens", 1, 10'000'000).value_or(r.expected_output_tokens);
  read_bandit(reader.object("bandit"), r.bandit);
  r.context_window_fallback =
      reader.string_list("context_window_fallback").value_or(std::vector<std::string>{});
  r.content_policy_fallback =
      reader.string_list("content_policy_fallback").value_or(std::vector<std::string>{});
  read_cascade(reader.object("cascade"), r.cascade);
  read_hedge(reader.object("hedge"), r.hedge);
  if (reader.has("sticky")) read_sticky(reader.object("sticky"), r.sticky);
  if (auto timeout = reader.duration("timeout")) {
    if (timeout->count() > 0) {
      r.timeout = *timeout;
    } else {
      reader.error("timeout", "must be greater than 0");
    }
  }
  read_timeout_overrides(reader.object("timeouts"), r.timeouts);
  if (r.strategy.empty()) r.strategy = default_strategy(r);
  reader.finish();
  return r;
}

// Settings only one strategy reads, given where no pool of the route uses it: a typo or a
// misunderstanding that would otherwise be silently ignored.
void check_strategy_settings(NodeReader& root, const YAML::Node& route_node,
                             const std::string& base, const Route& r) {
  // A misspelt strategy is reported where it is written; which settings it would read is moot.
  const auto misspelt = [](const YAML::Node& node) {
    if (!node.IsMap()) return false;
    const YAML::Node strategy = node["strategy"];
    return strategy.IsDefined() && strategy.IsScalar() && !is_known_strategy(strategy.Scalar());
  };
  if (misspelt(route_node)) return;
  if (const YAML::Node rules = route_node["rules"]; rules.IsDefined() && rules.IsSequence()) {
    for (const YAML::Node& rule : rules) {
      if (misspelt(rule)) return;
    }
  }
  std::set<std::string> used = {r.strategy};
  for (const auto& rule : r.rules)
    used.insert(rule.pool.strategy.empty() ? r.strategy : rule.pool.strategy);
  std::string listed;
  for (const auto& name : used) listed += (listed.empty() ? "" : ", ") + name;
  const auto unread = [&](const YAML::Node& node, const std::string& path, const char* what,
                          const char* readers) {
    root.error_at(node, path,
                  std::string(what) + " is read only by strategy: " + readers +
                      ", which no pool of this route uses (" + listed + ")");
  };
  const auto reads_exploration = [&](const std::string& strategy) {
    return strategy == "lowest_latency" ||
           (strategy == "hybrid" && r.optimize == Optimize::latency);
  };
  const bool route_reads_exploration = std::any_of(used.begin(), used.end(), reads_exploration);
  constexpr const char* kExplorationReaders = "lowest_latency (or hybrid with optimize: latency)";
  if (!r.weights.empty() && !used.contains("weighted")) {
    unread(route_node["weights"], base + ".weights", "weights", "weighted");
  }
  if (r.hash_key && !used.contains("consistent_hash")) {
    unread(route_node["hash_key"], base + ".hash_key", "hash_key", "consistent_hash");
  }
  if (r.exploration && !route_reads_exploration) {
    unread(route_node["exploration"], base + ".exploration", "exploration", kExplorationReaders);
  }
  if (route_node["bandit"].IsDefined() && !used.contains("bandit")) {
    unread(route_node["bandit"], base + ".bandit", "bandit", "bandit");
  }
  for (size_t k = 0; k < r.rules.size(); ++k) {
    const YAML::Node rule_node = route_node["rules"][k];
    const std::string rule_base = item_path(base + ".rules", k);
    const Pool& pool = r.rules[k].pool;
    const std::string& strategy = pool.strategy.empty() ? r.strategy : pool.strategy;
    const auto unread_by_rule = [&](const char* key, const char* readers) {
      root.error_at(rule_node[key], rule_base + "." + key,
                    std::string(key) + " is read only by strategy: " + readers +
                        " (this rule uses " + strategy + ")");
    };
    if (!pool.weights.empty() && strategy != "weighted") unread_by_rule("weights", "weighted");
    if (pool.hash_key && strategy != "consistent_hash") {
      unread_by_rule("hash_key", "consistent_hash");
    }
    if (pool.exploration && !reads_exploration(strategy)) {
      unread_by_rule("exploration", kExplorationReaders);
    }
  }
  if (r.optimize != Optimize::none && route_node["strategy"].IsDefined() &&
      !used.contains("hybrid")) {
    root.error_at(route_node["optimize"], base + ".optimize",
                  "optimize chooses the strategy (or orders a hybrid one): with strategy: " +
                      r.strategy + " it would be ignored; give one of the two");
  }
}

void validate_routes(NodeReader& root, const YAML::Node& yaml, const Config& config,
                     NameLines& names) {
  const YAML::Node routes = yaml["routes"];
  for (size_t i = 0; i < config.routes.size(); ++i) {
    const auto& r = config.routes[i];
    const std::string base = item_path("routes", i);
    const YAML::Node name = routes[i]["name"];
    const auto [first, added] = names.emplace(r.name, name.IsDefined() ? name.Mark().line + 1 : 0);
    if (!r.name.empty() && !added) {
      root.error_at(name, base + ".name",
                    "route name '" + r.name +
                        "' is already used by a backend, route or alias (first at "
                        "line " +
                        std::to_string(first->second) + ")");
    }
    for (std::size_t k = 0; k < r.aliases.size(); ++k) {
      const YAML::Node alias = routes[i]["aliases"][k];
      const int line = alias.IsDefined() ? alias.Mark().line + 1 : 0;
      if (const auto [taken, fresh] = names.emplace(r.aliases[k], line); !fresh) {
        root.error_at(alias, base + ".aliases[" + std::to_string(k) + "]",
                      "alias '" + r.aliases[k] +
                          "' is already a backend, route or alias (at line " +
                          std::to_string(taken->second) + ")");
      }
    }
    std::vector<const Pool*> every_pool = {&r};
    for (const auto& rule : r.rules) every_pool.push_back(&rule.pool);
    check_refs(root, routes[i], base, r, config, every_pool);
    check_class_fallbacks(root, routes[i], base, r, config);
    check_strategy_settings(root, routes[i], base, r);
    std::set<std::string> rule_names;
    for (size_t k = 0; k < r.rules.size(); ++k) {
      const std::string rule_base = item_path(base + ".rules", k);
      const YAML::Node rule_node = routes[i]["rules"][k];
      const std::string& rule_name = r.rules[k].name;
      if (!rule_name.empty() && !rule_names.insert(rule_name).second) {
        root.error_at(rule_node["name"], rule_base + ".name",
                      "duplicate rule name '" + rule_name + "'");
      }
      // The names a decision gives a pool that is no rule's.
      if (rule_name == "default" || rule_name == "direct" ||
          rule_name == "context_window_fallback") {
        root.error_at(rule_node["name"], rule_base + ".name",
                      "'" + rule_name + "' names the route's own pools in decisions: pick another");
      }
      check_refs(root, rule_node, rule_base, r.rules[k].pool, config, {&r.rules[k].pool});
    }
  }
}

namespace {

bool tests_pii(const Condition& c) {
  return c.kind == Condition::Kind::pii ||
         std::any_of(c.children.begin(), c.children.end(), tests_pii);
}

}  // namespace

SignalSpecs signal_specs(const Config& config) {
  SignalSpecs specs;
  for (const auto& r : config.routes) {
    specs.keywords.insert(specs.keywords.end(), r.keyword_specs.begin(), r.keyword_specs.end());
    specs.semantic.insert(specs.semantic.end(), r.semantic_specs.begin(), r.semantic_specs.end());
    for (const auto& rule : r.rules) specs.pii = specs.pii || tests_pii(rule.when);
  }
  return specs;
}

}  // namespace llm_router::config
