#pragma once

// The built-in strategies, one file each; make_strategy() in factory.cpp names them.

#include <atomic>
#include <map>
#include <memory>
#include <optional>

#include "llm_router/selector/hash_ring.hpp"
#include "llm_router/selector/strategy.hpp"

namespace llm_router::selector::strategies {

PlannedBackend planned(const StrategyContext& context, std::size_t index, double score,
                       std::string reason);
std::string format_number(double value, int precision = 3);

class Ordered final : public Strategy {
 public:
  std::string_view name() const override { return "ordered"; }
  std::vector<PlannedBackend> order(const StrategyContext& context,
                                    std::span<const std::size_t> eligible) const override;
};

class Weighted final : public Strategy {
 public:
  Weighted(const config::Config& config, const std::map<std::string, double>& weights);
  std::string_view name() const override { return "weighted"; }
  std::vector<PlannedBackend> order(const StrategyContext& context,
                                    std::span<const std::size_t> eligible) const override;

 private:
  std::vector<double> weight_by_backend_;  // indexed by Config::backends
};

class RoundRobin final : public Strategy {
 public:
  std::string_view name() const override { return "round_robin"; }
  std::vector<PlannedBackend> order(const StrategyContext& context,
                                    std::span<const std::size_t> eligible) const override;

 private:
  mutable std::atomic<std::uint64_t> next_{0};
};

class ConsistentHash final : public Strategy {
 public:
  ConsistentHash(const config::Config& config, const std::vector<std::string>& members,
                 config::HashKey key);
  std::string_view name() const override { return "consistent_hash"; }
  bool hashes_sessions() const override { return key_.source == config::HashKey::Source::session; }
  std::vector<PlannedBackend> order(const StrategyContext& context,
                                    std::span<const std::size_t> eligible) const override;

 private:
  std::vector<std::size_t> member_backend_;  // ring member -> Config::backends index
  HashRing ring_;
  config::HashKey key_;
};

class LeastBusy final : public Strategy {
 public:
  // A backend without max_concurrency counts as this many slots.
  static constexpr double kUnlimitedSlots = 100;
  std::string_view name() const override { return "least_busy"; }
  std::vector<PlannedBackend> order(const StrategyContext& context,
                                    std::span<const std::size_t> eligible) const override;
};

class LowestLatency final : public Strategy {
 public:
  static constexpr double kDefaultExploration = 0.05;
  explicit LowestLatency(double exploration) : exploration_(exploration) {}
  std::string_view name() const override { return "lowest_latency"; }
  std::vector<PlannedBackend> order(const StrategyContext& context,
                                    std::span<const std::size_t> eligible) const override;

 private:
  double exploration_;
};

class Cost final : public Strategy {
 public:
  std::string_view name() const override { return "cost"; }
  std::vector<PlannedBackend> order(const StrategyContext& context,
                                    std::span<const std::size_t> eligible) const override;
};

class Quality final : public Strategy {
 public:
  std::string_view name() const override { return "quality"; }
  std::vector<PlannedBackend> order(const StrategyContext& context,
                                    std::span<const std::size_t> eligible) const override;
};

class Hybrid final : public Strategy {
 public:
  explicit Hybrid(std::unique_ptr<Strategy> inner) : inner_(std::move(inner)) {}
  std::string_view name() const override { return "hybrid"; }
  std::vector<PlannedBackend> order(const StrategyContext& context,
                                    std::span<const std::size_t> eligible) const override;

 private:
  std::unique_ptr<Strategy> inner_;
};

class Bandit final : public Strategy {
 public:
  std::string_view name() const override { return "bandit"; }
  std::vector<PlannedBackend> order(const StrategyContext& context,
                                    std::span<const std::size_t> eligible) const override;
};

}  // namespace llm_router::selector::strategies
