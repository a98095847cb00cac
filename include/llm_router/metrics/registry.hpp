#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

// Counters, gauges and histograms with label sets, exposed in the Prometheus text format.
//
// The increment path takes no lock: a child (one label set) holds one cache line per shard and
// a thread adds to the shard its id hashes to, with a relaxed atomic. Scrapes sum the shards.
// Children are created under the family's mutex and never destroyed, so references returned
// by `with()` stay valid for the registry's lifetime; resolve them once and keep them, or use a
// per-thread `ChildCache` when label values are only known per request.
namespace llm_router::metrics {

inline constexpr std::size_t kCacheLine = 64;

// Index of the calling thread's shard among `shard_count` (a power of two): the pinned index
// modulo the count, else a hash of the thread id.
std::size_t shard_of_this_thread(std::size_t shard_count) noexcept;
// Pins the calling thread to a shard, e.g. its io thread index, so that io threads never share
// a cache line by hash collision. Per-thread setting; call it when the thread starts.
void pin_this_thread_to_shard(std::size_t index) noexcept;

class Counter {
 public:
  explicit Counter(std::size_t shard_count);
  void inc() noexcept { add(1.0); }
  // Negative and NaN amounts are ignored: a counter only goes up.
  void add(double amount) noexcept;
  double value() const noexcept;

 private:
  struct alignas(kCacheLine) Shard {
    std::atomic<double> value{0};
  };
  std::size_t shard_count_;
  std::unique_ptr<Shard[]> shards_;
};

// A gauge is either set by one owner (`set`) or moved by many (`add`/`inc`/`dec`); mixing the
// two from different threads at once is not meaningful.
class Gauge {
 public:
  explicit Gauge(std::size_t shard_count);
  void set(double value) noexcept;
  void add(double delta) noexcept;
  void inc() noexcept { add(1.0); }
  void dec() noexcept { add(-1.0); }
  double value() const noexcept;

 private:
  struct alignas(kCacheLine) Shard {
    std::atomic<double> value{0};
  };
  std::size_t shard_count_;
  std::unique_ptr<Shard[]> shards_;
};

struct HistogramSnapshot {
  std::vector<double> upper_bounds;   // without +Inf
  std::vector<std::uint64_t> counts;  // per bucket, not cumulative; last one is +Inf
  double sum = 0;
  std::uint64_t count() const;
};

class Histogram {
 public:
  // `upper_bounds` must be sorted ascending and finite; +Inf is implicit.
  Histogram(std::span<const double> upper_bounds, std::size_t shard_count);
  // NaN is dropped; an observation equal to a bound falls in that bound's bucket (le).
  void observe(double value) noexcept;
  HistogramSnapshot snapshot() const;
  std::span<const double> upper_bounds() const { return upper_bounds_; }

 private:
  struct alignas(kCacheLine) Line {
    std::atomic<std::uint64_t> cell[kCacheLine / sizeof(std::uint64_t)];
  };
  static constexpr std::size_t kCellsPerLine = kCacheLine / sizeof(std::uint64_t);
  std::atomic<std::uint64_t>& cell(std::size_t shard, std::size_t index) const noexcept;

  std::vector<double> upper_bounds_;
  std::size_t shard_count_;
  std::size_t lines_per_shard_;
  std::unique_ptr<Line[]> lines_;  // per shard: bucket counts then the sum's bits
};

// Bucket helpers, like the Prometheus clients'.
std::vector<double> exponential_buckets(double start, double factor, std::size_t count);
// 1 ms .. 120 s, for request durations and time to first token.
std::vector<double> latency_buckets_seconds();

enum class MetricType { counter, gauge, histogram };

class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, std::vector<std::string> label_names,
             std::size_t shard_count);
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  virtual MetricType type() const = 0;
  virtual void write(std::string& out) const = 0;

 protected:
  // Label values in label-name order; missing values are "", extra ones dropped.
  std::vector<std::string> normalize(std::span<const std::string_view> values) const;

  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::size_t shard_count_;
};

template <typename Metric>
class Family final : public FamilyBase {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::size_t shard_count, std::vector<double> buckets = {});

  // The child for these label values, created on first use. Takes the family's mutex: call it
  // once per label set and keep the reference on hot paths.
  Metric& with(std::initializer_list<std::string_view> values) {
    return with(std::span<const std::string_view>(values.begin(), values.size()));
  }
  Metric& with(std::span<const std::string_view> values);
  Metric& with(const std::vector<std::string>& values);

  // Gauges computed at scrape time (one per backend): the children become exactly `samples`,
  // so the series of a backend a reload removed goes away. Only for a family whose children
  // nobody keeps a reference to (it takes no `with`); gauges only.
  void set_all(const std::vector<std::pair<std::vector<std::string>, double>>& samples);

  MetricType type() const override;
  void write(std::string& out) const override;
  std::size_t size() const;

 private:
  Metric make_child() const;

  std::vector<double> buckets_;  // histograms only
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class Registry {
 public:
  // `shard_count` 0 picks one per hardware thread (rounded up to a power of two, at most 64).
  explicit Registry(std::size_t shard_count = 0);

  // Registration happens at startup: an invalid or duplicate name throws std::invalid_argument.
  CounterFamily& counter(std::string name, std::string help,
                         std::vector<std::string> label_names = {});
  GaugeFamily& gauge(std::string name, std::string help, std::vector<std::string> label_names = {});
  HistogramFamily& histogram(std::string name, std::string help,
                             std::vector<std::string> label_names, std::vector<double> buckets);

  // The whole registry in the text exposition format 0.0.4, families in registration order.
  std::string to_prometheus() const;
  std::size_t shard_count() const { return shard_count_; }

 private:
  template <typename F>
  F& add(std::unique_ptr<F> family);

  std::size_t shard_count_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<FamilyBase>> families_;
};

// Per-thread memo of label set -> child, so the request path resolves dynamic label values
// (status, reason) without touching the family's mutex after the first time. Not thread-safe:
// one per io thread (e.g. one per request handler).
template <typename Metric>
class ChildCache {
 public:
  explicit ChildCache(Family<Metric>& family) : family_(&family) {}
  Metric& with(std::initializer_list<std::string_view> values);

 private:
  Family<Metric>* family_;
  std::unordered_map<std::string, Metric*> children_;
  std::string key_;  // reused, so building a key does not allocate
};

template <typename Metric>
Metric& ChildCache<Metric>::with(std::initializer_list<std::string_view> values) {
  key_.clear();
  for (const auto v : values) {
    key_.append(v);
    key_.push_back('\xff');  // not valid UTF-8, so it cannot appear inside a value
  }
  if (auto it = children_.find(key_); it != children_.end()) return *it->second;
  Metric& child = family_->with(values);
  children_.emplace(key_, &child);
  return child;
}

}  // namespace llm_router::metrics
