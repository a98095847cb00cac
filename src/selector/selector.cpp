#include "llm_router/selector/selector.hpp"

#include <algorithm>
#include <charconv>
#include <map>

#include "llm_router/selector/conditions.hpp"
#include "strategies/strategies.hpp"

namespace llm_router::selector {

struct Selector::CompiledPool {
  std::string rule;  // rule name or "default"
  double quality_floor = 0;
  std::vector<std::size_t> use;
  std::vector<std::size_t> fallback;
  std::unique_ptr<Strategy> strategy;
};

struct Selector::CompiledRoute {
  const config::Route* route = nullptr;
  std::vector<const config::Condition*> conditions;  // one per rule, same order as rules
  std::vector<CompiledPool> rules;
  CompiledPool fallthrough;
};

std::int64_t answer_room(const config::Backend& b, std::int64_t client_room) {
  const auto room_in = [](const auto& params) {
    std::int64_t room = 0;
    for (const auto& [name, text] : params) {
      if (name != "max_tokens" && name != "max_completion_tokens") continue;
      std::int64_t value = 0;
      const auto read = std::from_chars(text.data(), text.data() + text.size(), value);
      if (read.ec == std::errc{}) room = std::max(room, value);
    }
    return room;
  };
  if (const std::int64_t forced = room_in(b.override_params); forced > 0) return forced;
  if (client_room > 0) return client_room;
  return room_in(b.default_params);
}

namespace {

std::vector<std::size_t> resolve(const config::Config& config,
                                 const std::vector<std::string>& names) {
  std::vector<std::size_t> out;
  for (const auto& name : names) {
    if (const auto* b = config.find_backend(name)) {
      out.push_back(static_cast<std::size_t>(b - config.backends.data()));
    }
  }
  return out;
}

bool capable(const config::Backend& b, std::string_view tag) {
  return b.tags.empty() || b.has_tag(tag);
}

// Which of the backend's per-minute budgets cannot take this request now, or nullopt.
std::optional<std::string> rate_limit_spent(const config::Backend& b, const BackendLive& live,
                                            const RequestFacts& facts) {
  std::string spent;
  if (live.requests_available < 1) spent = "rpm " + std::to_string(b.rpm) + " reached";
  // A request above the whole tpm runs when the budget is full (and leaves it owing).
  const std::int64_t reserved = facts.reserved_tokens();
  const auto needed = static_cast<double>(std::min(reserved, b.tpm));
  if (b.tpm > 0 && live.tokens_available < needed) {
    if (!spent.empty()) spent += ", ";
    spent +=
        "tpm " + std::to_string(b.tpm) + ": " +
        std::to_string(static_cast<std::int64_t>(live.tokens_available)) + " tokens left, " +
        std::to_string(reserved) +
        (facts.max_output_tokens > 0 ? " needed (prompt and max_completion_tokens or max_tokens)"
                                     : " estimated");
  }
  if (spent.empty()) return std::nullopt;
  return spent;
}

// Why a backend cannot take this request at all; nullopt when it can.
std::optional<Exclusion> exclusion(const config::Backend& b, const BackendLive& live,
                                   const RequestFacts& facts) {
  using enum ExclusionCause;
  if (facts.has_images && !capable(b, kTagVision)) return Exclusion{"no 'vision' tag", no_vision};
  if (facts.has_audio && !capable(b, kTagAudio)) return Exclusion{"no 'audio' tag", no_audio};
  if (facts.has_tools && !capable(b, kTagTools)) return Exclusion{"no 'tools' tag", no_tools};
  if (facts.json_mode && !capable(b, kTagJson)) return Exclusion{"no 'json' tag", no_json};
  // The window holds the prompt and the answer the client asked room for (max_tokens): servers
  // refuse a request whose sum exceeds it (OpenAI, vLLM), or cut the answer short.
  const std::int64_t room = answer_room(b, facts.max_output_tokens);
  const std::int64_t needed = facts.estimated_tokens + room;
  if (b.context_window > 0 && needed > b.context_window) {
    std::string reason = "context window " + std::to_string(b.context_window) + " < " +
                         std::to_string(facts.estimated_tokens) + " estimated tokens";
    if (room > 0) reason += " + " + std::to_string(room) + " max_tokens";
    return Exclusion{std::move(reason), context_window};
  }
  // Before the breaker and the slots: no wait and no panic sends past the provider's quota.
  if (auto spent = rate_limit_spent(b, live, facts)) return Exclusion{*spent, rate_limited};
  if (live.ejected) return Exclusion{"ejected by the circuit breaker", ejected};
  if (b.max_concurrency > 0 && live.in_flight >= b.max_concurrency) {
    return Exclusion{"full: " + std::to_string(live.in_flight) + "/" +
                         std::to_string(b.max_concurrency) + " in flight",
                     full};
  }
  return std::nullopt;
}

}  // namespace

std::optional<Exclusion> cannot_take(const config::Backend& backend, const BackendLive& live,
                                     const RequestFacts& facts) {
  return exclusion(backend, live, facts);
}

namespace {

void exclude(RoutePlan& plan, const config::Config& config, std::size_t index, Exclusion why) {
  for (const auto& e : plan.excluded) {
    if (e.index == index) return;
  }
  plan.excluded.push_back(
      ExcludedBackend{index, &config.backends[index], std::move(why.reason), why.cause});
}

bool listed(const RoutePlan& plan, std::size_t index) {
  return std::any_of(plan.candidates.begin(), plan.candidates.end(),
                     [&](const PlannedBackend& p) { return p.index == index; });
}

}  // namespace

Selector::Selector(std::shared_ptr<const config::Config> config, SelectorOptions options)
    : config_(std::move(config)), options_(options) {
  for (const auto& route : config_->routes) {
    auto compiled = std::make_unique<CompiledRoute>();
    compiled->route = &route;
    for (const auto& rule : route.rules) {
      compiled->conditions.push_back(&rule.when);
      const std::string& name = rule.pool.strategy.empty() ? route.strategy : rule.pool.strategy;
      compiled->rules.push_back(
          CompiledPool{rule.name, rule.pool.quality_floor.value_or(route.quality_floor.value_or(0)),
                       resolve(*config_, rule.pool.use), resolve(*config_, rule.pool.fallback),
                       make_strategy(name, *config_, route, rule.pool)});
    }
    compiled->fallthrough = CompiledPool{
        "default", route.quality_floor.value_or(0), resolve(*config_, route.use),
        resolve(*config_, route.fallback), make_strategy(route.strategy, *config_, route, route)};
    const bool sticky_sessions =
        route.sticky.enabled && route.sticky.key.source == config::HashKey::Source::session;
    hashes_sessions_ =
        hashes_sessions_ || sticky_sessions || compiled->fallthrough.strategy->hashes_sessions() ||
        std::any_of(compiled->rules.begin(), compiled->rules.end(),
                    [](const CompiledPool& p) { return p.strategy->hashes_sessions(); });
    routes_.push_back(std::move(compiled));
  }
}

Selector::~Selector() = default;

RoutePlan Selector::plan(const RequestFacts& facts, const LiveStats& live) const {
  const std::uint64_t call = calls_.fetch_add(1, std::memory_order_relaxed);
  return plan(facts, live, mix64(options_.seed + call));
}

RoutePlan Selector::preview(const RequestFacts& facts, const LiveStats& live) const {
  const std::uint64_t call = calls_.load(std::memory_order_relaxed);
  return plan_with(facts, live, mix64(options_.seed + call), /*preview=*/true);
}

RoutePlan Selector::plan(const RequestFacts& facts, const LiveStats& live,
                         std::uint64_t seed) const {
  return plan_with(facts, live, seed, /*preview=*/false);
}

RoutePlan Selector::plan_with(const RequestFacts& facts, const LiveStats& live, std::uint64_t seed,
                              bool preview) const {
  for (const auto& compiled : routes_) {
    if (compiled->route->name != facts.model) continue;
    RoutePlan plan;
    plan.route = compiled->route->name;
    const CompiledPool* pool = &compiled->fallthrough;
    for (std::size_t i = 0; i < compiled->rules.size(); ++i) {
      if (matches(*compiled->conditions[i], facts)) {
        pool = &compiled->rules[i];
        if (preview) plan.matched = why_matched(*compiled->conditions[i], facts);
        break;
      }
      plan.rules_not_matched.push_back(compiled->rules[i].rule);
      if (preview) plan.not_matched_why.push_back(why_not_matched(*compiled->conditions[i], facts));
    }
    fill_pool(*compiled, *pool, facts, live, seed, preview, plan);
    return plan;
  }
  const auto* backend = config_->find_backend(facts.model);
  // A wildcard backend is named by the models it matches, not by its own name ("oa/*").
  if (backend == nullptr || backend->wildcard()) {
    backend = config_->find_wildcard_backend(facts.model);
  }
  if (backend != nullptr && backend->direct) {
    return plan_direct(static_cast<std::size_t>(backend - config_->backends.data()), facts, live);
  }
  RoutePlan plan;
  plan.status = PlanStatus::unknown_model;
  plan.route = facts.model;
  plan.message = "model '" + facts.model + "' is neither a route nor a backend";
  // (One backend serving it upstream is named by it: Config::canonical_model.)
  if (const auto serving = config_->backends_serving(facts.model); serving.size() > 1) {
    plan.serving_backends.reserve(serving.size());
    for (const auto* b : serving) plan.serving_backends.push_back(b->name);
  }
  return plan;
}

RoutePlan Selector::plan_direct(std::size_t index, const RequestFacts& facts,
                                const LiveStats& live) const {
  RoutePlan plan;
  plan.direct = true;
  const auto& backend = config_->backends[index];
  // The backend's name, not the model asked: a wildcard backend's clients name models of
  // their choosing, which labels and logs must not carry one by one.
  plan.route = backend.name;
  plan.rule = "direct";
  plan.strategy = "direct";
  if (auto why = exclusion(backend, live.get(index), facts)) {
    plan.status = why->full()                                  ? PlanStatus::all_busy
                  : why->cause == ExclusionCause::rate_limited ? PlanStatus::rate_limited
                                                               : PlanStatus::no_candidates;
    plan.message = "backend '" + backend.name + "' cannot take this request: " + why->reason;
    exclude(plan, *config_, index, std::move(*why));
    return plan;
  }
  plan.candidates.push_back(PlannedBackend{index, &backend, 1, "named by the request's model"});
  return plan;
}

void Selector::fill_pool(const CompiledRoute& compiled, const CompiledPool& pool,
                         const RequestFacts& facts, const LiveStats& live, std::uint64_t seed,
                         bool preview, RoutePlan& plan) const {
  const config::Route& route = *compiled.route;
  plan.rule = pool.rule;
  plan.strategy = std::string(pool.strategy->name());
  bool any_full = false;
  bool any_rate_limited = false;
  // Embeddings: the model of the route's default pool's first backend as configured (not as
  // a strategy orders them), so every request's vectors share one space, whatever rule its text
  // matched; a rule (a PII one, say) whose backends serve another model refuses the request
  // rather than mix spaces or skip the rule.
  const auto& default_use = compiled.fallthrough.use;
  const std::string* vector_model = facts.embeddings && !default_use.empty()
                                        ? &config_->backends[default_use.front()].model
                                        : nullptr;
  const auto left_out = [&](std::size_t index) {
    auto why = exclusion(config_->backends[index], live.get(index), facts);
    if (!why && vector_model && config_->backends[index].model != *vector_model) {
      why = Exclusion{"serves embeddings of '" + config_->backends[index].model +
                          "', not the route's '" + *vector_model +
                          "' (vectors of different models do not compare)",
                      ExclusionCause::other_vector_space};
    }
    if (why) {
      any_full = any_full || why->full();
      any_rate_limited = any_rate_limited || why->cause == ExclusionCause::rate_limited;
      exclude(plan, *config_, index, std::move(*why));
    }
    return why.has_value();
  };
  std::vector<std::size_t> eligible;
  for (std::size_t index : pool.use) {
    if (!left_out(index) && std::find(eligible.begin(), eligible.end(), index) == eligible.end()) {
      eligible.push_back(index);
    }
  }
  // Quality floor: skip weaker backends, unless none reaches it (then the best we have runs).
  const double floor = pool.quality_floor;
  const bool any_good = std::any_of(eligible.begin(), eligible.end(), [&](std::size_t i) {
    return config_->backends[i].quality >= floor;
  });
  if (floor > 0 && any_good) {
    std::erase_if(eligible, [&](std::size_t i) {
      const double quality = config_->backends[i].quality;
      if (quality >= floor) return false;
      exclude(plan, *config_, i,
              Exclusion{"quality " + strategies::format_number(quality, 2) + " below the floor " +
                            strategies::format_number(floor, 2),
                        ExclusionCause::below_quality_floor});
      return true;
    });
  }
  Rng rng(seed);
  const StrategyContext context{*config_, route, facts, live, rng, preview};
  plan.candidates = pool.strategy->order(context, eligible);
  for (std::size_t k = 0; k < pool.fallback.size(); ++k) {
    const std::size_t index = pool.fallback[k];
    if (listed(plan, index) ||
        std::any_of(plan.fallbacks.begin(), plan.fallbacks.end(),
                    [&](const PlannedBackend& p) { return p.index == index; })) {
      continue;
    }
    if (left_out(index)) continue;
    plan.fallbacks.push_back(PlannedBackend{index, &config_->backends[index],
                                            static_cast<double>(pool.fallback.size() - k),
                                            "fallback #" + std::to_string(k + 1)});
  }
  if (!plan.candidates.empty() || !plan.fallbacks.empty()) return;
  // Waiting for a slot beats refusing: a full backend frees one within a request's time.
  if (any_full) {
    plan.status = PlanStatus::all_busy;
    plan.message = "every eligible backend is at max_concurrency";
  } else if (any_rate_limited) {
    plan.status = PlanStatus::rate_limited;
    plan.message = "every eligible backend is at its rpm or tpm limit";
  } else {
    plan.status = PlanStatus::no_candidates;
    plan.message = "no backend of the pool can take this request";
  }
}

}  // namespace llm_router::selector
