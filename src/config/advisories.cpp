#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "llm_router/config/config.hpp"
#include "llm_router/config/yaml_reader.hpp"
#include "llm_router/core/sha256.hpp"

namespace llm_router::config {
namespace {

// Every backend a route's pools may order: its default pool, its rules', their fallbacks.
std::set<std::string> backends_of(const Route& route) {
  std::set<std::string> names(route.use.begin(), route.use.end());
  names.insert(route.fallback.begin(), route.fallback.end());
  for (const auto& rule : route.rules) {
    names.insert(rule.pool.use.begin(), rule.pool.use.end());
    names.insert(rule.pool.fallback.begin(), rule.pool.fallback.end());
  }
  return names;
}

bool orders_by(const Route& route, std::string_view strategy, Optimize optimize) {
  if (route.strategy == strategy || route.optimize == optimize) return true;
  for (const auto& rule : route.rules) {
    if (rule.pool.strategy == strategy) return true;
  }
  return false;
}

// A backend's tags decide what it is sent once it lists any: "vison" leaves it no image
// request, silently.
void check_tags(const Backend& backend, std::vector<std::string>& out) {
  static constexpr std::string_view kCapabilities[] = {"vision", "audio", "tools", "json"};
  for (const auto& tag : backend.tags) {
    const std::string_view meant = nearest_name(tag, kCapabilities);
    if (!meant.empty() && meant != tag && !backend.has_tag(meant)) {
      out.push_back("backend '" + backend.name + "': tag '" + tag +
                    "' is not a capability; did you mean '" + std::string(meant) +
                    "'? A backend that lists tags gets only the requests its tags allow "
                    "(vision, audio, tools, json)");
    }
  }
}

bool is_variable_name(std::string_view name) {
  return !name.empty() && !std::isdigit(static_cast<unsigned char>(name.front())) &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
         });
}

// Settings that each make sense but not together.
void check_contradictions(const Backend& b, std::vector<std::string>& out) {
  const auto say = [&](const std::string& what) {
    out.push_back("backend '" + b.name + "': " + what);
  };
  if (b.breaker.base_cooldown > b.breaker.max_cooldown) {
    say("circuit_breaker.cooldown is longer than max_cooldown, which caps it");
  }
  if (b.retry.attempts > 0 && b.retry.backoff > b.retry.max_backoff) {
    say("retry.backoff is longer than max_backoff, which caps it");
  }
  if (b.health_check.enabled && b.health_check.timeout >= b.health_check.interval) {
    say("health_check.timeout is not shorter than its interval: probes overlap");
  }
  if (b.timeouts.first_byte_written && b.timeouts.total < b.timeouts.first_byte) {
    say("timeouts.total is shorter than first_byte, which then never fires");
  }
  if (b.max_queue_set && b.max_concurrency == 0) {
    say("max_queue has no effect without max_concurrency: only a backend with full slots "
        "queues requests");
  }
  for (const std::string_view endpoint : {"/chat/completions", "/completions", "/embeddings"}) {
    if (b.url.base_path.ends_with(endpoint)) {
      say("base_url ends with " + std::string(endpoint) +
          ": give the API's root (.../v1), the "
          "router adds each endpoint's path");
      break;
    }
  }
  // LiteLLM's and the shell's ways of naming a variable, which are not expanded here (named
  // only when what follows is a variable's name, never a key's characters).
  const std::string_view key = b.api_key;
  const std::string_view variable = key.starts_with("os.environ/") ? key.substr(11)
                                    : key.starts_with("$")         ? key.substr(1)
                                                                   : std::string_view();
  if (is_variable_name(variable)) {
    say("api_key is sent as written; to read the environment variable write ${" +
        std::string(variable) + "}");
  }
}

// A rule's pool replaces the route's, its fallback included: a rule written without one has
// none, which a config ported from a router whose policies share one fallback rarely means.
void check_rule_fallbacks(const Route& route, std::vector<std::string>& out) {
  if (route.fallback.empty()) return;
  std::string listed;
  for (const auto& name : route.fallback) listed.append(listed.empty() ? "" : ", ").append(name);
  for (const auto& rule : route.rules) {
    if (rule.pool.fallback_written || rule.pool.use.empty()) continue;
    const auto among_its_own = [&](const std::string& name) {
      return std::find(rule.pool.use.begin(), rule.pool.use.end(), name) != rule.pool.use.end();
    };
    if (std::all_of(route.fallback.begin(), route.fallback.end(), among_its_own)) continue;
    out.push_back("route '" + route.name + "' rule '" + rule.name +
                  "' has no fallback of its own: the route's fallback [" + listed +
                  "] is not tried when its backends fail (write fallback: [...], or "
                  "fallback: [] when none is wanted)");
  }
}

// The capability a request matching `when` surely needs: a leaf asking for images, audio,
// tools or JSON mode, alone or within an `all` (an `any` or a `not` may match without it).
void needed_capabilities(const Condition& when, std::set<std::string_view>& out) {
  using Kind = Condition::Kind;
  if (when.kind == Kind::all) {
    for (const auto& child : when.children) needed_capabilities(child, out);
    return;
  }
  if (!when.flag) return;
  if (when.kind == Kind::images) out.insert("vision");
  if (when.kind == Kind::audio) out.insert("audio");
  if (when.kind == Kind::tools) out.insert("tools");
  if (when.kind == Kind::json_mode) out.insert("json");
}

// A rule for image (audio, tool, JSON) requests whose backends all list tags without the one
// such a request needs sends every request it matches to no backend at all.
void check_rule_capabilities(const Config& config, const Route& route,
                             std::vector<std::string>& out) {
  for (const auto& rule : route.rules) {
    std::set<std::string_view> needed;
    needed_capabilities(rule.when, needed);
    std::vector<std::string> names(rule.pool.use);
    names.insert(names.end(), rule.pool.fallback.begin(), rule.pool.fallback.end());
    for (const std::string_view tag : needed) {
      const auto lacks_it = [&](const std::string& name) {
        const Backend* backend = config.find_backend(name);
        return backend != nullptr && !backend->tags.empty() && !backend->has_tag(tag);
      };
      if (names.empty() || !std::all_of(names.begin(), names.end(), lacks_it)) continue;
      out.push_back("route '" + route.name + "' rule '" + rule.name +
                    "' matches requests only a backend tagged '" + std::string(tag) +
                    "' may take, but none of its backends lists that tag: those requests find "
                    "no backend (add the tag to a backend that has the capability)");
    }
  }
}

}  // namespace

std::vector<std::string> advisories(const Config& config) {
  std::vector<std::string> out;
  const std::string admin_digest =
      config.server.admin_key.empty() ? "" : core::sha256_hex(config.server.admin_key);
  for (const auto& key : config.client_keys) {
    if (key.key_sha256 == admin_digest) {
      out.push_back("client key '" + key.name +
                    "' is server.admin_key: whoever holds it may reload the config and read "
                    "every client's stats");
    }
  }
  for (const auto& backend : config.backends) {
    check_tags(backend, out);
    check_contradictions(backend, out);
    if (backend.pass_client_auth && !config.client_keys.empty()) {
      out.push_back("backend '" + backend.name +
                    "': pass_client_auth sends it the client's key, which with client_keys is "
                    "a key of this router, not of the backend");
    }
  }
  for (const auto& route : config.routes) {
    if (route.cascade.enabled && route.cascade.min_mean_logprob) {
      out.push_back("route '" + route.name +
                    "': cascade.min_mean_logprob reads only answers to requests that ask for "
                    "logprobs (logprobs: true); the router does not add them");
    }
    if (route.hedge.enabled && backends_of(route).size() < 2) {
      out.push_back("route '" + route.name +
                    "': hedge needs a second backend to send the "
                    "duplicate to; this route has one");
    }
    check_rule_fallbacks(route, out);
    check_rule_capabilities(config, route, out);
    const bool by_cost = orders_by(route, "cost", Optimize::cost);
    const bool by_quality =
        orders_by(route, "quality", Optimize::quality) || route.quality_floor.value_or(0) > 0 ||
        std::any_of(route.rules.begin(), route.rules.end(),
                    [](const Rule& r) { return r.pool.quality_floor.value_or(0) > 0; });
    for (const auto& name : backends_of(route)) {
      const Backend* backend = config.find_backend(name);
      if (backend == nullptr) continue;
      if (by_cost && !backend->cost_set) {
        out.push_back("route '" + route.name + "' orders by cost, but backend '" + name +
                      "' has no cost: it counts as free (set cost: {input_per_mtok, "
                      "output_per_mtok})");
      }
      if (by_quality && !backend->quality_set) {
        out.push_back("route '" + route.name + "' uses quality, but backend '" + name +
                      "' has none: it counts as 0.5 (set quality: 0..1)");
      }
    }
  }
  return out;
}

}  // namespace llm_router::config
