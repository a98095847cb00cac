#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "llm_router/config/routes.hpp"

namespace llm_router::selector {

// What the I/O layer knows about one backend right now.
struct BackendLive {
  int in_flight = 0;
  bool ejected = false;      // circuit breaker open / outlier ejected
  double ttft_ms = -1;       // EWMA of time to first token; < 0 = no sample yet
  double per_token_ms = -1;  // EWMA of per-output-token latency; < 0 = no sample yet
  // What is left of its rpm and tpm budgets now (unlimited: the largest double).
  double requests_available = std::numeric_limits<double>::max();
  double tokens_available = std::numeric_limits<double>::max();
};

// Posterior of one bandit arm: Beta(alpha, beta) and the running moments of the reward
// (the Gaussian posterior uses mean, variance and count).
struct ArmPosterior {
  double alpha = 1;
  double beta = 1;
  double count = 0;
  double reward_sum = 0;
  double reward_sq_sum = 0;
};

// Live inputs of the dynamic strategies. The I/O layer implements it with atomics; reads must
// be cheap and never block (they run on the hot path, once per candidate).
class LiveStats {
 public:
  virtual ~LiveStats() = default;
  virtual BackendLive get(std::size_t backend_index) const = 0;
  // bandit_key is "<route>|<category>"; backends are named so state survives config reloads.
  virtual ArmPosterior arm(std::string_view bandit_key, std::string_view backend) const = 0;
};

// What happened to one attempt, as the bandit learns it.
struct Outcome {
  bool success = false;
  double latency_ms = 0;
  double cost_usd = 0;
  std::optional<double> feedback;  // user score 0..1, when given
};

// Reward in 0..1: success, minus latency and cost penalties, blended with user feedback.
double bandit_reward(const Outcome& outcome, const config::BanditSettings& settings);

// Bandit posteriors per (route|category, backend). Updates take a mutex (they happen after a
// response, off the selection path); serialisable so learning survives restarts.
class BanditState {
 public:
  void record(std::string_view bandit_key, std::string_view backend, double reward);
  // Replaces an observation recorded earlier (`was`) with `now`: a user's feedback on a
  // request changes what that request earned, it is not one more request.
  void revise(std::string_view bandit_key, std::string_view backend, double was, double now);
  ArmPosterior arm(std::string_view bandit_key, std::string_view backend) const;

  nlohmann::json to_json() const;
  // Replaces the state; false (state untouched) when the document is malformed.
  bool from_json(const nlohmann::json& doc);

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::map<std::string, ArmPosterior, std::less<>>, std::less<>> arms_;
};

std::string bandit_key(std::string_view route, std::string_view category);

// Plain in-memory LiveStats for tests and tools (not synchronised).
class InMemoryLiveStats : public LiveStats {
 public:
  explicit InMemoryLiveStats(std::size_t backend_count = 0) : backends_(backend_count) {}
  BackendLive get(std::size_t backend_index) const override;
  ArmPosterior arm(std::string_view key, std::string_view backend) const override;

  BackendLive& at(std::size_t backend_index);
  BanditState& bandit() { return bandit_; }

 private:
  std::vector<BackendLive> backends_;
  BanditState bandit_;
};

}  // namespace llm_router::selector
