#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "llm_router/metrics/latency_histogram.hpp"

// Rolling-window request statistics behind GET /admin/stats?window=5m and the dashboard.
//
// Time is cut into slots (10 s by default). Each io thread records into the current slot of its
// own StatsShard (its mutex is only contended while a read merges it); when a shard's slot ends,
// the shard merges it into the StatsHistory, one ring of slots covering the longest window (1 h)
// for all the shards together, so the hour costs the same with 2 io threads or 64. Reads merge
// the history's slots that fall in the asked window and the shards' slots not in it yet.
namespace llm_router::metrics {

using WallClock = std::chrono::system_clock;
using NowFunction = std::function<WallClock::time_point()>;

// What one finished request contributes. Filled by the proxy from its RequestRecord.
struct RequestSummary {
  std::string id;
  std::string route;          // empty when the client named a backend directly
  std::string rule;           // the routing rule that decided, empty when none
  std::string backend;        // backend that gave the final answer; empty when none did
  std::string category;       // analyzer category, empty when not analyzed
  std::string client_key_id;  // id of the client's API key (never the key), empty when none
  int status = 0;             // HTTP status sent to the client (499: client went away)
  // Refused for its client key's own rpm/tpm: a 429, but the client's quota at work, not an
  // error of the router or a backend (one client's throttling would fire error alerts).
  bool client_limited = false;
  double latency_seconds = 0;
  std::optional<double> ttft_seconds;  // first byte / first event relayed
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  double cost_usd = 0;
  // Answers generated and set aside (cascade), by the backend that was paid for them; part of
  // the totals above, which per-backend stats credit to these backends.
  struct Spend {
    std::string backend;
    std::int64_t input_tokens = 0;
    std::int64_t output_tokens = 0;
    double cost_usd = 0;
  };
  std::vector<Spend> set_aside;
  std::vector<std::string> failed_backends;  // backends of the attempts that failed, in order
  // Attempts made, failed or not (a hedge that lost, one the client's leaving cancelled); 0:
  // counted as the failed ones plus the answer.
  std::size_t attempts = 0;
  // Moved to another backend after a failure or past a skipped one (open circuit, full), as
  // llm_router_fallbacks_total counts.
  bool fell_back = false;
};

// Errors are what an operator should look at: router or upstream failures and rate limits.
// Client errors (4xx other than 429) and client disconnects (499) are not errors.
bool is_error_status(int status);

struct StatsOptions {
  std::chrono::seconds slot{10};
  std::chrono::seconds longest_window{3600};
  std::size_t recent_decisions = 100;  // per shard; reads return at most this many overall
  // Distinct client keys kept per slot, all shards together (StatsHub splits it between them;
  // a window keeps as many, the busiest); the rest count under "(other)".
  std::size_t client_keys_per_slot = 1000;
};

// Counts for one key within one slot or a merged window.
struct KeyCounts {
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
  std::uint64_t fallbacks = 0;        // requests that needed more than one attempt
  std::uint64_t failed_attempts = 0;  // backends only: attempts of this backend that failed
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  double cost_usd = 0;

  void merge(const KeyCounts& other);
};

// Counts and latencies for a key the config bounds (a backend, a route, a rule, or
// everything). Client keys get counts only: they are client-chosen, up to a thousand per slot,
// and two histograms (1.2 KB) each would let them hold hundreds of megabytes over the hour.
struct KeyStats : KeyCounts {
  LatencyHistogram latency;
  LatencyHistogram ttft;

  void merge(const KeyStats& other);
};

struct Decision {
  std::string id;
  WallClock::time_point time;
  std::string route;
  std::string rule;
  std::string backend;
  std::string category;
  int status = 0;
  double latency_seconds = 0;
  std::size_t attempts = 1;
};

// One slot of the ring: everything recorded during [start, start + slot).
// Hashes std::string and std::string_view alike, so a slot's maps are searched by a view
// without building a string per lookup.
struct NameHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view name) const {
    return std::hash<std::string_view>{}(name);
  }
};
template <typename Value>
using NamedMap = std::unordered_map<std::string, Value, NameHash, std::equal_to<>>;

struct Slot {
  std::int64_t number = -1;  // start / slot since the epoch; -1 when never used
  KeyStats total;
  NamedMap<KeyStats> backends;
  NamedMap<KeyStats> routes;
  NamedMap<KeyStats> rules;         // "route/rule"
  NamedMap<KeyCounts> client_keys;  // bounded: StatsOptions::client_keys_per_slot
  NamedMap<std::uint64_t> categories;
  NamedMap<double> category_cost_usd;
};

// The merged view of a window.
struct WindowStats {
  std::chrono::seconds window{0};
  // The part of the window the router has been up for: rates are per measured second.
  std::chrono::seconds measured{0};
  std::chrono::seconds slot{0};
  WallClock::time_point now;
  std::int64_t first_slot = 0;  // slot numbers covered: [first_slot, first_slot + series size)
  KeyStats total;
  std::map<std::string, KeyStats> backends;
  std::map<std::string, KeyStats> routes;
  std::map<std::string, KeyStats> rules;
  std::map<std::string, KeyCounts> client_keys;
  std::map<std::string, std::uint64_t> categories;
  std::map<std::string, double> category_cost_usd;
  // Per backend, per slot of the window (oldest first): requests and errors, for sparklines.
  std::map<std::string, std::vector<std::pair<std::uint64_t, std::uint64_t>>> backend_series;
  std::vector<Decision> recent;  // the last decisions whatever the window, newest first
};

// The slots every shard has finished, merged into one ring covering the longest window.
class StatsHistory {
 public:
  StatsHistory(const StatsOptions& options, std::size_t shard_count);
  // Merges a slot shard `shard` finished (its `sequence`-th) into the ring.
  void publish(std::size_t shard, std::uint64_t sequence, const Slot& finished);
  // Adds the slots in [first_slot, last_slot] to `out`; returns, per shard, the sequence number
  // of the last slot published (StatsShard::merge_into adds the ones after it).
  std::vector<std::uint64_t> merge_into(WindowStats& out, std::int64_t first_slot,
                                        std::int64_t last_slot) const;

 private:
  StatsOptions options_;
  mutable std::mutex mutex_;
  std::vector<Slot> ring_;
  std::vector<std::uint64_t> published_;  // per shard
};

class StatsShard {
 public:
  StatsShard(const StatsOptions& options, NowFunction now, StatsHistory& history,
             std::size_t index);
  void record(const RequestSummary& summary);
  // Adds this shard's slots in [first_slot, last_slot] that the history did not hold when it
  // answered `published` (StatsHistory::merge_into), and its recent decisions, to `out`.
  void merge_into(WindowStats& out, std::int64_t first_slot, std::int64_t last_slot,
                  std::uint64_t published) const;

 private:
  void roll(std::int64_t number);

  StatsOptions options_;
  NowFunction now_;
  StatsHistory& history_;
  std::size_t index_;
  mutable std::mutex mutex_;
  Slot current_;
  // The slot published last (the `published_`-th), kept for a read that merged the history
  // just before it was published.
  Slot previous_;
  std::uint64_t published_ = 0;
  std::vector<Decision> recent_;  // a ring of the last recent_decisions
  std::size_t recent_next_ = 0;   // the slot the next decision takes (the oldest when full)
  std::string rule_key_;          // "route/rule", reused (guarded by mutex_)
};

class StatsHub {
 public:
  // One shard per io thread; `now` is the wall clock (tests pass a hand-driven one).
  StatsHub(
      std::size_t shard_count, StatsOptions options = {},
      NowFunction now = [] { return WallClock::now(); });

  StatsShard& shard(std::size_t index) { return *shards_.at(index); }
  std::size_t shard_count() const { return shards_.size(); }

  // The window is clamped to [one slot, longest_window] and rounded up to whole slots; the
  // current (partial) slot is included.
  WindowStats window(std::chrono::seconds window) const;
  nlohmann::json to_json(std::chrono::seconds window) const;

 private:
  StatsOptions options_;
  NowFunction now_;
  WallClock::time_point started_;
  std::unique_ptr<StatsHistory> history_;  // the shards hold a reference: its address is fixed
  std::vector<std::unique_ptr<StatsShard>> shards_;
};

// "5m", "300s", "1h", "90" (seconds); nullopt when malformed, zero or negative.
std::optional<std::chrono::seconds> parse_window(std::string_view text);

nlohmann::json to_json(const WindowStats& stats);

}  // namespace llm_router::metrics
