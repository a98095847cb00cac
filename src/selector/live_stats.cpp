#include "llm_router/selector/live_stats.hpp"

#include <algorithm>
#include <cmath>

namespace llm_router::selector {

double bandit_reward(const Outcome& outcome, const config::BanditSettings& s) {
  double reward = 0;
  if (outcome.success) {
    const double latency = std::min(1.0, std::max(0.0, outcome.latency_ms) / s.latency_ref_ms);
    const double cost = std::min(1.0, std::max(0.0, outcome.cost_usd) / s.cost_ref_usd);
    reward = 1.0 - s.latency_weight * latency - s.cost_weight * cost;
  }
  if (outcome.feedback && std::isfinite(*outcome.feedback)) {
    const double score = std::clamp(*outcome.feedback, 0.0, 1.0);
    reward = (1.0 - s.feedback_weight) * reward + s.feedback_weight * score;
  }
  return std::clamp(reward, 0.0, 1.0);
}

std::string bandit_key(std::string_view route, std::string_view category) {
  std::string key(route);
  key += '|';
  key += category.empty() ? std::string_view("default") : category;
  return key;
}

void BanditState::record(std::string_view key, std::string_view backend, double reward) {
  if (!std::isfinite(reward)) return;
  reward = std::clamp(reward, 0.0, 1.0);
  std::lock_guard lock(mutex_);
  auto& arms = arms_[std::string(key)];
  auto it = arms.find(backend);
  if (it == arms.end()) it = arms.emplace(std::string(backend), ArmPosterior{}).first;
  ArmPosterior& arm = it->second;
  // Fractional Bernoulli update: a reward r counts as r successes and 1 - r failures.
  arm.alpha += reward;
  arm.beta += 1.0 - reward;
  arm.count += 1;
  arm.reward_sum += reward;
  arm.reward_sq_sum += reward * reward;
}

void BanditState::revise(std::string_view key, std::string_view backend, double was, double now) {
  if (!std::isfinite(was) || !std::isfinite(now)) return;
  was = std::clamp(was, 0.0, 1.0);
  now = std::clamp(now, 0.0, 1.0);
  std::lock_guard lock(mutex_);
  const auto arms = arms_.find(key);
  if (arms == arms_.end()) return;
  const auto it = arms->second.find(backend);
  if (it == arms->second.end()) return;
  ArmPosterior& arm = it->second;
  arm.alpha = std::max(arm.alpha + now - was, 1e-6);
  arm.beta = std::max(arm.beta + was - now, 1e-6);
  arm.reward_sum += now - was;
  arm.reward_sq_sum += now * now - was * was;
}

ArmPosterior BanditState::arm(std::string_view key, std::string_view backend) const {
  std::lock_guard lock(mutex_);
  const auto arms = arms_.find(key);
  if (arms == arms_.end()) return {};
  const auto it = arms->second.find(backend);
  return it == arms->second.end() ? ArmPosterior{} : it->second;
}

nlohmann::json BanditState::to_json() const {
  std::lock_guard lock(mutex_);
  nlohmann::json arms = nlohmann::json::object();
  for (const auto& [key, backends] : arms_) {
    nlohmann::json entry = nlohmann::json::object();
    for (const auto& [backend, a] : backends) {
      entry[backend] = {{"alpha", a.alpha},
                        {"beta", a.beta},
                        {"count", a.count},
                        {"reward_sum", a.reward_sum},
                        {"reward_sq_sum", a.reward_sq_sum}};
    }
    arms[key] = std::move(entry);
  }
  return {{"version", 1}, {"arms", std::move(arms)}};
}

bool BanditState::from_json(const nlohmann::json& doc) {
  if (!doc.is_object() || doc.value("version", 0) != 1) return false;
  const auto arms_it = doc.find("arms");
  if (arms_it == doc.end() || !arms_it->is_object()) return false;
  decltype(arms_) loaded;
  for (const auto& [key, backends] : arms_it->items()) {
    if (!backends.is_object()) return false;
    for (const auto& [backend, a] : backends.items()) {
      ArmPosterior arm;
      for (auto [field, target] : {std::pair{"alpha", &arm.alpha},
                                   {"beta", &arm.beta},
                                   {"count", &arm.count},
                                   {"reward_sum", &arm.reward_sum},
                                   {"reward_sq_sum", &arm.reward_sq_sum}}) {
        const auto f = a.find(field);
        if (f == a.end() || !f->is_number()) return false;
        *target = f->get<double>();
      }
      if (!(arm.alpha > 0) || !(arm.beta > 0) || !(arm.count >= 0)) return false;
      loaded[key][backend] = arm;
    }
  }
  std::lock_guard lock(mutex_);
  arms_ = std::move(loaded);
  return true;
}

BackendLive InMemoryLiveStats::get(std::size_t backend_index) const {
  return backend_index < backends_.size() ? backends_[backend_index] : BackendLive{};
}

ArmPosterior InMemoryLiveStats::arm(std::string_view key, std::string_view backend) const {
  return bandit_.arm(key, backend);
}

BackendLive& InMemoryLiveStats::at(std::size_t backend_index) {
  if (backend_index >= backends_.size()) backends_.resize(backend_index + 1);
  return backends_[backend_index];
}

}  // namespace llm_router::selector
