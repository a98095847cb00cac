#pragma once

#include <algorithm>
#include <atomic>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "llm_router/analyzer/analyzer.hpp"
#include "llm_router/config/config.hpp"
#include "llm_router/health/capacity_gate.hpp"
#include "llm_router/health/circuit_breaker.hpp"
#include "llm_router/health/rate_budget.hpp"
#include "llm_router/selector/live_stats.hpp"
#include "llm_router/selector/selector.hpp"
#include "llm_router/tokenizer/tokenizer.hpp"

namespace boost::asio::ssl {
class context;
}

namespace llm_router::proxy {

// The analyzer the router builds for `config`: its `analyzer:` section, with the keyword,
// regex and semantic sets its routes' rules test (null when nothing needs one). Throws on
// model load errors.
std::shared_ptr<const analyzer::Analyzer> analyzer_for(const config::Config& config,
                                                       const std::string& config_path);

// Live state of one backend, shared by every io thread and kept across config reloads (keyed
// by backend name). Updated with relaxed atomics: no lock on the request path.
struct BackendHealth {
  // What the last active health check said (none: the backend has no health_check).
  enum class Probe { none, passing, failing };

  explicit BackendHealth(health::BreakerSettings settings) : breaker(settings) {}
  // An attempt's verdict for the breaker; the circuit opening or closing is logged.
  // `latency_ms`: how long ago the attempt began (see CircuitBreaker::record_success).
  void record_success(std::string_view backend, double latency_ms = 0);
  void record_failure(std::string_view backend, double latency_ms = 0);
  // A stream of the attempt begun `latency_ms` ago reached its first content (see
  // CircuitBreaker::record_commit).
  void record_commit(std::string_view backend, double latency_ms);
  health::CircuitBreaker breaker;
  std::string base_url;  // what the breaker's state was seen on (HealthRegistry's lock)
  std::atomic<Probe> probe{Probe::none};
  health::CapacityGate capacity;  // in-flight requests against max_concurrency, and waiters
  health::RateBudget requests;    // against the backend's rpm
  health::RateBudget tokens;      // against its tpm: the reservation, then the usage
  std::int64_t rpm = 0, tpm = 0;  // the limits the budgets were last configured with
  std::atomic<double> ttft_ms{-1};
  std::atomic<double> per_token_ms{-1};
  std::atomic<double> ttft_p95_ms{-1};  // streaming estimate (hedging's `after: p95`)
  std::atomic<int> ttft_samples{0};
  // Its last stream ended without a usage chunk: collect the next streams' text to count it.
  std::atomic<bool> omits_stream_usage{true};
  // It refused a stream_options the router added (Azure OpenAI before api-version 2024-09-01,
  // some self-hosted servers): its streams are no longer asked for usage.
  std::atomic<bool> rejects_stream_options{false};
  // It refused max_tokens and asked for max_completion_tokens (OpenAI's reasoning models): a
  // request's max_tokens is sent to it under that name.
  std::atomic<bool> rejects_max_tokens{false};

  void observe_latency(double ttft, double per_token);
  // An attempt cancelled `after_ms` into it without a first byte (a lost hedge): its time to
  // first byte is more than that. Past the p95 estimate, that says the estimate is low, as a
  // slower sample would; otherwise it says nothing. (Recorded as nothing at all, a primary
  // that slowed down and always lost its hedge would keep the old, low estimate for good.)
  void observe_unanswered(double after_ms);
  // Time-to-first-byte samples after which the p95 estimate is trusted.
  static constexpr int kMeasuredAfter = 20;
  // The hedge delay for `after: p95`: the estimate once measured, else `initial`.
  std::chrono::milliseconds hedge_delay(std::chrono::milliseconds initial) const;
};

// A client key's rpm and tpm budgets, kept across reloads by the key's name.
struct ClientBudgets {
  health::RateBudget requests;
  health::RateBudget tokens;
  std::int64_t rpm = 0, tpm = 0;  // the limits last configured (the registry's lock)
};

// A client key as a request finds it (by the SHA-256 of what it presents). Copied into the
// request, so it holds values: a reload may free the config it came from while the request runs.
struct ClientEntry {
  std::string name;
  std::int64_t rpm = 0;
  std::int64_t tpm = 0;
  ClientBudgets* budgets = nullptr;  // the registry's: lives as long as the process
  std::vector<std::string> models;   // the routes and backends it may name; empty: all
  bool may_use(std::string_view model) const {
    return models.empty() || std::any_of(models.begin(), models.end(), [&](std::string_view m) {
             return m == model || (m.ends_with('*') && model.size() >= m.size() &&
                                   model.starts_with(m.substr(0, m.size() - 1)));
           });
  }
};

class ClientBudgetRegistry {
 public:
  // The budgets of a key name, created on first use (config load, not the request path);
  // what they spent is rescaled to the key's limits when a reload changed them.
  ClientBudgets& get(const std::string& name, std::int64_t rpm, std::int64_t tpm);

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::unique_ptr<ClientBudgets>> entries_;
};

class HealthRegistry {
 public:
  // The entry for a backend name, created on first use (config load, not the request path).
  BackendHealth& get(const config::Backend& backend);
  // Every backend configured since start, removed ones too (their requests may still run).
  void for_each(const std::function<void(const std::string&, const BackendHealth&)>& visit) const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::unique_ptr<BackendHealth>> entries_;
};

// BPE encoders shared by every snapshot: each table is loaded once, on the first config that
// needs it (startup or reload, never on an io thread).
class EncoderCache {
 public:
  // The encoder counting this backend's tokens, or null for the cheap estimate. Throws
  // std::runtime_error when a table the backend names explicitly cannot be loaded.
  const tokenizer::Encoder* for_backend(const config::Backend& backend,
                                        const std::filesystem::path& directory);

 private:
  std::mutex mutex_;
  std::map<tokenizer::Encoding, std::unique_ptr<tokenizer::Encoder>> loaded_;
};

// Token count by the backend's tokenizer, or the estimate when it has none.
std::size_t count_tokens(const tokenizer::Encoder* encoder, std::string_view text);

class SemanticEmbeddings;

// Everything derived from one config file, immutable: in-flight requests keep the snapshot they
// started with; a reload builds a new one.
struct Snapshot {
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<const selector::Selector> selector;
  std::shared_ptr<const analyzer::Analyzer> analyzer;  // null: no analysis configured or needed
  // By route index: which of the analyzer's semantic sets a request to that route scores (its
  // own rules' and the analyzer's; not the other routes').
  std::vector<std::vector<bool>> semantic_sets_by_route;
  // The embeddings backend's vectors for semantic scores (null: local scores only). Fills in
  // as requests fetch them; shared by every io thread.
  std::shared_ptr<SemanticEmbeddings> embeddings;
  // The least room any backend's context_window leaves for a prompt (0: none has a window), and
  // by route index whether the route's rules test `tokens`: when a request no analyzer reads is
  // read for its estimate.
  std::int64_t smallest_prompt_room = 0;
  std::vector<bool> route_tests_tokens;
  std::vector<BackendHealth*> health;               // by backend index
  std::vector<const tokenizer::Encoder*> encoders;  // by backend index; null = estimate
  // By backend index: the TLS settings trusting its ca_file; null: the shared ones.
  std::vector<std::shared_ptr<boost::asio::ssl::context>> tls;
  // The config's client keys by key_sha256; empty: the API answers any client.
  std::unordered_map<std::string, ClientEntry> clients;
  std::uint64_t generation = 0;
};

// The selector's view of live backend state for one snapshot.
class SnapshotLiveStats final : public selector::LiveStats {
 public:
  SnapshotLiveStats(const Snapshot& snapshot, const selector::BanditState& bandit,
                    bool ignore_ejection = false)
      : snapshot_(snapshot), bandit_(bandit), ignore_ejection_(ignore_ejection) {}
  selector::BackendLive get(std::size_t backend_index) const override;
  selector::ArmPosterior arm(std::string_view key, std::string_view backend) const override;

 private:
  const Snapshot& snapshot_;
  const selector::BanditState& bandit_;
  bool ignore_ejection_;
};

// Recent bandit decisions by request id, so POST /v1/feedback can reward the right arm.
// Bounded; only requests routed by a bandit are recorded.
class FeedbackLog {
 public:
  struct Entry {
    std::string bandit_key;
    std::string backend;
    double reward = 0;           // what the request earned when it finished
    double feedback_weight = 0;  // the route's bandit.feedback_weight
    std::string client;          // who sent the request (client key name or key id)
  };
  // A later request with the same id (ids may be the client's) replaces the earlier one.
  void remember(const std::string& request_id, Entry entry);
  // The request's entry, removed, when `client` sent it: a request takes one feedback, from
  // the client that made it (another one neither scores it nor learns its backend).
  std::optional<Entry> take(const std::string& request_id, const std::string& client);

 private:
  static constexpr std::size_t kCapacity = 10'000;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::deque<std::string> order_;
};

}  // namespace llm_router::proxy
