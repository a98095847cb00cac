#include "llm_router/metrics/stats.hpp"

#include <algorithm>
#include <charconv>
#include <type_traits>

#include "llm_router/config/yaml_reader.hpp"

namespace llm_router::metrics {

namespace {

constexpr std::string_view kNoBackend = "(none)";
constexpr std::string_view kNoRoute = "(no route)";
constexpr std::string_view kNoCategory = "(none)";
const std::string kOtherClientKeys = "(other)";
// A shard's share of the keys per slot, however many io threads split the bound: the keys of a
// gateway's few connections land on one of them.
constexpr std::size_t kMinClientKeysPerShard = 250;

std::string_view key_or(const std::string& value, std::string_view fallback) {
  return value.empty() ? fallback : std::string_view(value);
}

// map[key] without building a std::string when the key is already there.
template <typename Map>
typename Map::mapped_type& entry(Map& map, std::string_view key) {
  if (auto it = map.find(key); it != map.end()) return it->second;
  return map.emplace(std::string(key), typename Map::mapped_type{}).first->second;
}

std::int64_t slot_number(WallClock::time_point time, std::chrono::seconds slot) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(time.time_since_epoch()).count();
  const auto width = slot.count();
  return seconds >= 0 ? seconds / width : -((-seconds + width - 1) / width);
}

std::size_t attempts_of(const RequestSummary& s) {
  if (s.attempts > 0) return s.attempts;
  return s.failed_backends.size() + (s.backend.empty() ? 0 : 1);
}

void add_counts(KeyCounts& stats, const RequestSummary& s) {
  ++stats.requests;
  if (is_error_status(s.status) && !s.client_limited) ++stats.errors;
  // Moved on after a failure (not after a lost hedge or a cancelled attempt).
  if (s.fell_back || (!s.failed_backends.empty() && attempts_of(s) > 1)) ++stats.fallbacks;
  stats.input_tokens += s.input_tokens;
  stats.output_tokens += s.output_tokens;
  stats.cost_usd += s.cost_usd;
}

void add_request(KeyStats& stats, const RequestSummary& s) {
  add_counts(stats, s);
  stats.latency.record(s.latency_seconds);
  if (s.ttft_seconds) stats.ttft.record(*s.ttft_seconds);
}

}  // namespace

bool is_error_status(int status) {
  return status >= 500 || status == 429 || status == 0;
}

void KeyCounts::merge(const KeyCounts& other) {
  requests += other.requests;
  errors += other.errors;
  fallbacks += other.fallbacks;
  failed_attempts += other.failed_attempts;
  input_tokens += other.input_tokens;
  output_tokens += other.output_tokens;
  cost_usd += other.cost_usd;
}

void KeyStats::merge(const KeyStats& other) {
  KeyCounts::merge(other);
  latency.merge(other.latency);
  ttft.merge(other.ttft);
}

namespace {

// Adds `slot`, one of [first_slot, last_slot], to a window.
void merge_slot(WindowStats& out, const Slot& slot, std::int64_t first_slot,
                std::int64_t last_slot) {
  const auto offset = static_cast<std::size_t>(slot.number - first_slot);
  out.total.merge(slot.total);
  for (const auto& [name, stats] : slot.backends) {
    out.backends[name].merge(stats);
    auto& series = out.backend_series[name];
    series.resize(static_cast<std::size_t>(last_slot - first_slot + 1));
    series[offset].first += stats.requests;
    series[offset].second += stats.errors;
  }
  for (const auto& [name, stats] : slot.routes) out.routes[name].merge(stats);
  for (const auto& [name, count] : slot.categories) out.categories[name] += count;
  for (const auto& [name, stats] : slot.rules) out.rules[name].merge(stats);
  for (const auto& [name, stats] : slot.client_keys) out.client_keys[name].merge(stats);
  for (const auto& [name, cost] : slot.category_cost_usd) out.category_cost_usd[name] += cost;
}

template <typename Value>
void merge_map(NamedMap<Value>& into, const NamedMap<Value>& from) {
  for (const auto& [name, value] : from) {
    if constexpr (std::is_arithmetic_v<Value>) {
      entry(into, name) += value;
    } else {
      entry(into, name).merge(value);
    }
  }
}

// Adds `from` to `into`, keeping at most `client_keys` client keys (the rest: "(other)").
void merge_slot(Slot& into, const Slot& from, std::size_t client_keys) {
  into.total.merge(from.total);
  merge_map(into.backends, from.backends);
  merge_map(into.routes, from.routes);
  merge_map(into.rules, from.rules);
  merge_map(into.categories, from.categories);
  merge_map(into.category_cost_usd, from.category_cost_usd);
  for (const auto& [name, counts] : from.client_keys) {
    const bool known = into.client_keys.contains(name);
    entry(into.client_keys,
          known || into.client_keys.size() < client_keys ? name : kOtherClientKeys)
        .merge(counts);
  }
}

bool in_window(const Slot& slot, std::int64_t first_slot, std::int64_t last_slot) {
  return slot.number >= first_slot && slot.number <= last_slot;
}

}  // namespace

StatsHistory::StatsHistory(const StatsOptions& options, std::size_t shard_count)
    : options_(options),
      ring_(static_cast<std::size_t>(
          std::max<std::int64_t>(1, options.longest_window.count() / options.slot.count()))),
      published_(shard_count, 0) {}

void StatsHistory::publish(std::size_t shard, std::uint64_t sequence, const Slot& finished) {
  std::lock_guard lock(mutex_);
  published_[shard] = sequence;
  const auto size = static_cast<std::int64_t>(ring_.size());
  auto& slot = ring_[static_cast<std::size_t>(((finished.number % size) + size) % size)];
  if (slot.number > finished.number) return;  // older than the ring: out of every window
  if (slot.number < finished.number) {
    slot = Slot{};
    slot.number = finished.number;
  }
  merge_slot(slot, finished, options_.client_keys_per_slot);
}

std::vector<std::uint64_t> StatsHistory::merge_into(WindowStats& out, std::int64_t first_slot,
                                                    std::int64_t last_slot) const {
  std::lock_guard lock(mutex_);
  for (const auto& slot : ring_) {
    if (in_window(slot, first_slot, last_slot)) merge_slot(out, slot, first_slot, last_slot);
  }
  return published_;
}

StatsShard::StatsShard(const StatsOptions& options, NowFunction now, StatsHistory& history,
                       std::size_t index)
    : options_(options), now_(std::move(now)), history_(history), index_(index) {}

// Called with mutex_ held: the slot's end and its publication are one step for a reader.
void StatsShard::roll(std::int64_t number) {
  if (current_.number >= 0) {
    history_.publish(index_, ++published_, current_);
    previous_ = std::move(current_);
  }
  current_ = Slot{};
  current_.number = number;
}

void StatsShard::record(const RequestSummary& summary) {
  const auto now = now_();
  const auto number = slot_number(now, options_.slot);
  std::lock_guard lock(mutex_);
  if (current_.number != number) roll(number);
  Slot& slot = current_;
  add_request(slot.total, summary);
  KeyStats& answering = entry(slot.backends, key_or(summary.backend, kNoBackend));
  add_request(answering, summary);
  for (const auto& spend : summary.set_aside) {  // the answering backend did not spend these
    KeyStats& spender = entry(slot.backends, spend.backend);
    answering.input_tokens -= spend.input_tokens;
    answering.output_tokens -= spend.output_tokens;
    answering.cost_usd -= spend.cost_usd;
    spender.input_tokens += spend.input_tokens;
    spender.output_tokens += spend.output_tokens;
    spender.cost_usd += spend.cost_usd;
  }
  add_request(entry(slot.routes, key_or(summary.route, kNoRoute)), summary);
  if (!summary.rule.empty()) {
    rule_key_.assign(key_or(summary.route, kNoRoute)).append("/").append(summary.rule);
    add_request(entry(slot.rules, rule_key_), summary);
  }
  if (!summary.client_key_id.empty()) {
    // Keys are client-chosen: past a bound they share one entry so memory stays bounded.
    const bool known = slot.client_keys.contains(summary.client_key_id);
    const std::string& key = known || slot.client_keys.size() < options_.client_keys_per_slot
                                 ? summary.client_key_id
                                 : kOtherClientKeys;
    add_counts(entry(slot.client_keys, key), summary);
  }
  const std::string_view category = key_or(summary.category, kNoCategory);
  entry(slot.category_cost_usd, category) += summary.cost_usd;
  for (const auto& failed : summary.failed_backends) ++entry(slot.backends, failed).failed_attempts;
  ++entry(slot.categories, category);

  if (options_.recent_decisions == 0) return;
  // A ring: once full, the oldest entry is written over, its strings' buffers reused.
  if (recent_.size() < options_.recent_decisions) recent_.emplace_back();
  Decision& d = recent_[recent_next_];
  recent_next_ = (recent_next_ + 1) % options_.recent_decisions;
  d.id.assign(summary.id);
  d.time = now;
  d.route.assign(summary.route);
  d.rule.assign(summary.rule);
  d.backend.assign(summary.backend);
  d.category.assign(summary.category);
  d.status = summary.status;
  d.latency_seconds = summary.latency_seconds;
  d.attempts = attempts_of(summary);
}

void StatsShard::merge_into(WindowStats& out, std::int64_t first_slot, std::int64_t last_slot,
                            std::uint64_t published) const {
  std::lock_guard lock(mutex_);
  if (published < published_ && in_window(previous_, first_slot, last_slot)) {
    merge_slot(out, previous_, first_slot, last_slot);
  }
  if (in_window(current_, first_slot, last_slot)) merge_slot(out, current_, first_slot, last_slot);
  for (std::size_t i = 0; i < recent_.size(); ++i) {  // newest first
    out.recent.push_back(recent_[(recent_next_ + recent_.size() - 1 - i) % recent_.size()]);
  }
}

namespace {

// Every slot keeps a bounded number of keys, but a window merges hundreds of slots: the window
// keeps as many, the busiest, and counts the rest under "(other)".
void keep_busiest_client_keys(std::map<std::string, KeyCounts>& keys, std::size_t kept) {
  if (keys.size() - keys.count(kOtherClientKeys) <= kept) return;
  std::vector<std::pair<std::uint64_t, std::string>> by_requests;
  by_requests.reserve(keys.size());
  for (const auto& [name, stats] : keys) {
    if (name != kOtherClientKeys) by_requests.emplace_back(stats.requests, name);
  }
  std::sort(by_requests.begin(), by_requests.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  KeyCounts other = keys[kOtherClientKeys];
  for (std::size_t i = kept; i < by_requests.size(); ++i) {
    auto found = keys.find(by_requests[i].second);
    other.merge(found->second);
    keys.erase(found);
  }
  keys[kOtherClientKeys] = other;
}

}  // namespace

StatsHub::StatsHub(std::size_t shard_count, StatsOptions options, NowFunction now)
    : options_(options), now_(std::move(now)), started_(now_()) {
  if (options_.slot.count() <= 0) options_.slot = std::chrono::seconds(10);
  shard_count = std::max<std::size_t>(1, shard_count);
  StatsOptions per_shard = options_;
  per_shard.client_keys_per_slot =
      std::min(options_.client_keys_per_slot,
               std::max(kMinClientKeysPerShard, options_.client_keys_per_slot / shard_count));
  history_ = std::make_unique<StatsHistory>(options_, shard_count);
  for (std::size_t i = 0; i < shard_count; ++i) {
    shards_.push_back(std::make_unique<StatsShard>(per_shard, now_, *history_, i));
  }
}

WindowStats StatsHub::window(std::chrono::seconds window) const {
  const auto ring_span =
      options_.slot * std::max<std::int64_t>(1, options_.longest_window / options_.slot);
  window = std::clamp(window, options_.slot, ring_span);
  const auto slots = (window.count() + options_.slot.count() - 1) / options_.slot.count();
  WindowStats out;
  out.slot = options_.slot;
  out.window = options_.slot * slots;
  out.now = now_();
  out.measured = std::clamp(std::chrono::ceil<std::chrono::seconds>(out.now - started_),
                            std::chrono::seconds(1), out.window);
  const auto last_slot = slot_number(out.now, options_.slot);
  out.first_slot = last_slot - slots + 1;
  const auto published = history_->merge_into(out, out.first_slot, last_slot);
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    shards_[i]->merge_into(out, out.first_slot, last_slot, published[i]);
  }
  // Stable: a shard's own decisions are already newest first, ties keep that order.
  std::stable_sort(out.recent.begin(), out.recent.end(),
                   [](const Decision& a, const Decision& b) { return a.time > b.time; });
  if (out.recent.size() > options_.recent_decisions) out.recent.resize(options_.recent_decisions);
  keep_busiest_client_keys(out.client_keys, options_.client_keys_per_slot);
  return out;
}

nlohmann::json StatsHub::to_json(std::chrono::seconds window) const {
  return metrics::to_json(this->window(window));
}

std::optional<std::chrono::seconds> parse_window(std::string_view text) {
  // A bare whole number means seconds (`?window=300`).
  if (!text.empty() &&
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::int64_t seconds = 0;
    const auto [next, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec != std::errc{} || seconds <= 0) return std::nullopt;
    return std::chrono::seconds(seconds);
  }
  const auto duration = config::parse_duration(text);
  if (!duration || duration->count() <= 0) return std::nullopt;
  return std::chrono::ceil<std::chrono::seconds>(*duration);
}

namespace {

// Whole milliseconds, written as a JSON integer (a client reading an int64 refuses 1.0).
std::int64_t to_epoch_ms(WallClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

nlohmann::json percentiles_ms(const LatencyHistogram& h) {
  if (h.count() == 0) return {{"p50", nullptr}, {"p95", nullptr}, {"p99", nullptr}};
  return {{"p50", h.quantile(0.50) * 1000},
          {"p95", h.quantile(0.95) * 1000},
          {"p99", h.quantile(0.99) * 1000}};
}

nlohmann::json key_json(const KeyCounts& s, std::chrono::seconds measured) {
  return {{"requests", s.requests},
          {"errors", s.errors},
          {"error_rate",
           s.requests == 0 ? 0.0 : static_cast<double>(s.errors) / static_cast<double>(s.requests)},
          {"requests_per_second",
           static_cast<double>(s.requests) / static_cast<double>(measured.count())},
          {"fallbacks", s.fallbacks},
          {"failed_attempts", s.failed_attempts},
          {"input_tokens", s.input_tokens},
          {"output_tokens", s.output_tokens},
          {"cost_usd", s.cost_usd}};
}

nlohmann::json key_json(const KeyStats& s, std::chrono::seconds measured) {
  auto out = key_json(static_cast<const KeyCounts&>(s), measured);
  out["latency_ms"] = percentiles_ms(s.latency);
  out["ttft_ms"] = percentiles_ms(s.ttft);
  return out;
}

nlohmann::json decision_json(const Decision& d) {
  return {{"id", d.id},
          {"time_ms", to_epoch_ms(d.time)},
          {"route", d.route},
          {"rule", d.rule},
          {"backend", d.backend},
          {"category", d.category},
          {"status", d.status},
          {"latency_ms", d.latency_seconds * 1000},
          {"attempts", d.attempts}};
}

}  // namespace

nlohmann::json to_json(const WindowStats& stats) {
  nlohmann::json out;
  out["window_seconds"] = stats.window.count();
  out["measured_seconds"] = stats.measured.count();
  out["slot_seconds"] = stats.slot.count();
  out["now_ms"] = to_epoch_ms(stats.now);
  out["total"] = key_json(stats.total, stats.measured);
  out["backends"] = nlohmann::json::object();
  for (const auto& [name, s] : stats.backends) {
    auto entry = key_json(s, stats.measured);
    auto& series = entry["series"] = nlohmann::json::array();
    const auto it = stats.backend_series.find(name);
    const std::size_t slots = static_cast<std::size_t>(stats.window / stats.slot);
    for (std::size_t i = 0; i < slots; ++i) {
      std::pair<std::uint64_t, std::uint64_t> point{0, 0};
      if (it != stats.backend_series.end() && i < it->second.size()) point = it->second[i];
      series.push_back({point.first, point.second});
    }
    out["backends"][name] = std::move(entry);
  }
  out["routes"] = nlohmann::json::object();
  for (const auto& [name, s] : stats.routes) out["routes"][name] = key_json(s, stats.measured);
  out["categories"] = nlohmann::json::object();
  for (const auto& [name, count] : stats.categories) out["categories"][name] = count;
  out["category_cost_usd"] = nlohmann::json::object();
  for (const auto& [name, cost] : stats.category_cost_usd) out["category_cost_usd"][name] = cost;
  out["rules"] = nlohmann::json::object();
  for (const auto& [name, s] : stats.rules) out["rules"][name] = key_json(s, stats.measured);
  out["client_keys"] = nlohmann::json::object();
  for (const auto& [name, s] : stats.client_keys)
    out["client_keys"][name] = key_json(s, stats.measured);
  out["series_start_ms"] = static_cast<std::int64_t>(stats.first_slot) *
                           static_cast<std::int64_t>(stats.slot.count()) * 1000;
  out["recent"] = nlohmann::json::array();
  for (const auto& d : stats.recent) out["recent"].push_back(decision_json(d));
  return out;
}

}  // namespace llm_router::metrics
