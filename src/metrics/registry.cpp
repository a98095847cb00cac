#include "llm_router/metrics/registry.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <functional>
#include <stdexcept>
#include <thread>

#include "llm_router/metrics/exposition.hpp"

namespace llm_router::metrics {

namespace {

std::size_t hashed_shard() noexcept {
  // pthread ids are aligned addresses: mix the bits before masking.
  const auto id =
      static_cast<std::uint64_t>(std::hash<std::thread::id>{}(std::this_thread::get_id()));
  return static_cast<std::size_t>((id * 0x9E3779B97F4A7C15ULL) >> 32);
}

std::size_t& this_thread_shard() noexcept {
  thread_local std::size_t shard = hashed_shard();
  return shard;
}

}  // namespace

std::size_t shard_of_this_thread(std::size_t shard_count) noexcept {
  return this_thread_shard() & (shard_count - 1);
}

void pin_this_thread_to_shard(std::size_t index) noexcept {
  this_thread_shard() = index;
}

namespace {

std::size_t default_shard_count() {
  const std::size_t threads = std::max(1u, std::thread::hardware_concurrency());
  return std::min<std::size_t>(std::bit_ceil(threads), 64);
}

void add_relaxed(std::atomic<double>& target, double amount) noexcept {
  target.fetch_add(amount, std::memory_order_relaxed);
}

}  // namespace

Counter::Counter(std::size_t shard_count)
    : shard_count_(shard_count), shards_(std::make_unique<Shard[]>(shard_count)) {}

void Counter::add(double amount) noexcept {
  if (!(amount >= 0)) return;
  add_relaxed(shards_[shard_of_this_thread(shard_count_)].value, amount);
}

double Counter::value() const noexcept {
  double total = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    total += shards_[i].value.load(std::memory_order_relaxed);
  }
  return total;
}

Gauge::Gauge(std::size_t shard_count)
    : shard_count_(shard_count), shards_(std::make_unique<Shard[]>(shard_count)) {}

void Gauge::set(double value) noexcept {
  shards_[0].value.store(value, std::memory_order_relaxed);
  for (std::size_t i = 1; i < shard_count_; ++i) {
    shards_[i].value.store(0, std::memory_order_relaxed);
  }
}

void Gauge::add(double delta) noexcept {
  add_relaxed(shards_[shard_of_this_thread(shard_count_)].value, delta);
}

double Gauge::value() const noexcept {
  double total = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    total += shards_[i].value.load(std::memory_order_relaxed);
  }
  return total;
}

std::uint64_t HistogramSnapshot::count() const {
  std::uint64_t total = 0;
  for (const auto c : counts) total += c;
  return total;
}

Histogram::Histogram(std::span<const double> upper_bounds, std::size_t shard_count)
    : upper_bounds_(upper_bounds.begin(), upper_bounds.end()),
      shard_count_(shard_count),
      // +1 for the +Inf bucket, +1 for the sum.
      lines_per_shard_((upper_bounds_.size() + 2 + kCellsPerLine - 1) / kCellsPerLine),
      lines_(std::make_unique<Line[]>(shard_count * lines_per_shard_)) {
  assert(std::is_sorted(upper_bounds_.begin(), upper_bounds_.end()));
  for (std::size_t i = 0; i < shard_count_ * lines_per_shard_; ++i) {
    for (auto& c : lines_[i].cell) c.store(0, std::memory_order_relaxed);
  }
}

std::atomic<std::uint64_t>& Histogram::cell(std::size_t shard, std::size_t index) const noexcept {
  return lines_[shard * lines_per_shard_ + index / kCellsPerLine].cell[index % kCellsPerLine];
}

void Histogram::observe(double value) noexcept {
  if (std::isnan(value)) return;
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin());
  const std::size_t shard = shard_of_this_thread(shard_count_);
  cell(shard, bucket).fetch_add(1, std::memory_order_relaxed);
  auto& sum = cell(shard, upper_bounds_.size() + 1);
  std::uint64_t old_bits = sum.load(std::memory_order_relaxed);
  while (!sum.compare_exchange_weak(
      old_bits, std::bit_cast<std::uint64_t>(std::bit_cast<double>(old_bits) + value),
      std::memory_order_relaxed)) {
  }
}

HistogramSnapshot Histogram::snapshot() const {
  HistogramSnapshot out;
  out.upper_bounds = upper_bounds_;
  out.counts.assign(upper_bounds_.size() + 1, 0);
  for (std::size_t shard = 0; shard < shard_count_; ++shard) {
    for (std::size_t b = 0; b < out.counts.size(); ++b) {
      out.counts[b] += cell(shard, b).load(std::memory_order_relaxed);
    }
    out.sum += std::bit_cast<double>(
        cell(shard, upper_bounds_.size() + 1).load(std::memory_order_relaxed));
  }
  return out;
}

std::vector<double> exponential_buckets(double start, double factor, std::size_t count) {
  std::vector<double> out;
  out.reserve(count);
  for (double bound = start; out.size() < count; bound *= factor) out.push_back(bound);
  return out;
}

std::vector<double> latency_buckets_seconds() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120};
}

FamilyBase::FamilyBase(std::string name, std::string help, std::vector<std::string> label_names,
                       std::size_t shard_count)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      shard_count_(shard_count) {}

std::vector<std::string> FamilyBase::normalize(std::span<const std::string_view> values) const {
  assert(values.size() == label_names_.size());
  std::vector<std::string> out(label_names_.size());
  for (std::size_t i = 0; i < out.size() && i < values.size(); ++i) out[i] = values[i];
  return out;
}

namespace {

// `{a="x",b="y"}`, with an optional extra label (the histogram's le) at the end.
void append_labels(std::string& out, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out.push_back('{');
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += names[i];
    out += "=\"";
    append_escaped_label_value(out, values[i]);
    out.push_back('"');
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out.push_back(',');
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out.push_back('"');
  }
  out.push_back('}');
}

void append_sample(std::string& out, std::string_view name, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, double value) {
  out += name;
  append_labels(out, names, values);
  out.push_back(' ');
  out += format_value(value);
  out.push_back('\n');
}

void append_histogram(std::string& out, const std::string& name,
                      const std::vector<std::string>& names, const std::vector<std::string>& values,
                      const HistogramSnapshot& h) {
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < h.counts.size(); ++b) {
    cumulative += h.counts[b];
    const std::string le =
        b < h.upper_bounds.size() ? format_value(h.upper_bounds[b]) : std::string("+Inf");
    out += name;
    out += "_bucket";
    append_labels(out, names, values, "le", le);
    out.push_back(' ');
    out += std::to_string(cumulative);
    out.push_back('\n');
  }
  append_sample(out, name + "_sum", names, values, h.sum);
  append_sample(out, name + "_count", names, values, static_cast<double>(cumulative));
}

const char* type_name(MetricType type) {
  switch (type) {
    case MetricType::counter:
      return "counter";
    case MetricType::gauge:
      return "gauge";
    case MetricType::histogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

template <typename Metric>
Family<Metric>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                       std::size_t shard_count, std::vector<double> buckets)
    : FamilyBase(std::move(name), std::move(help), std::move(label_names), shard_count),
      buckets_(std::move(buckets)) {
  // A family without labels has exactly one child: show it (at zero) from the start.
  if (label_names_.empty()) with({});
}

template <typename Metric>
Metric Family<Metric>::make_child() const {
  if constexpr (std::is_same_v<Metric, Histogram>) {
    return Histogram(buckets_, shard_count_);
  } else {
    return Metric(shard_count_);
  }
}

template <typename Metric>
Metric& Family<Metric>::with(std::span<const std::string_view> values) {
  auto key = normalize(values);
  std::lock_guard lock(mutex_);
  auto& slot = children_[std::move(key)];
  if (!slot) slot = std::make_unique<Metric>(make_child());
  return *slot;
}

template <typename Metric>
Metric& Family<Metric>::with(const std::vector<std::string>& values) {
  std::vector<std::string_view> views(values.begin(), values.end());
  return with(std::span<const std::string_view>(views));
}

template <typename Metric>
void Family<Metric>::set_all(
    const std::vector<std::pair<std::vector<std::string>, double>>& samples) {
  if constexpr (std::is_same_v<Metric, Gauge>) {
    std::map<std::vector<std::string>, std::unique_ptr<Metric>> children;
    for (const auto& [values, value] : samples) {
      std::vector<std::string_view> views(values.begin(), values.end());
      auto& slot = children[normalize(views)];
      if (!slot) slot = std::make_unique<Metric>(make_child());
      slot->set(value);
    }
    std::lock_guard lock(mutex_);
    children_.swap(children);
  } else {
    throw std::logic_error("set_all is for gauges");
  }
}

template <typename Metric>
MetricType Family<Metric>::type() const {
  if constexpr (std::is_same_v<Metric, Counter>) return MetricType::counter;
  if constexpr (std::is_same_v<Metric, Gauge>) return MetricType::gauge;
  return MetricType::histogram;
}

template <typename Metric>
std::size_t Family<Metric>::size() const {
  std::lock_guard lock(mutex_);
  return children_.size();
}

template <typename Metric>
void Family<Metric>::write(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out.push_back(' ');
  append_escaped_help(out, help_);
  out += "\n# TYPE ";
  out += name_;
  out.push_back(' ');
  out += type_name(type());
  out.push_back('\n');
  std::lock_guard lock(mutex_);
  for (const auto& [values, child] : children_) {
    if constexpr (std::is_same_v<Metric, Histogram>) {
      append_histogram(out, name_, label_names_, values, child->snapshot());
    } else {
      append_sample(out, name_, label_names_, values, child->value());
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Registry::Registry(std::size_t shard_count)
    : shard_count_(shard_count == 0 ? default_shard_count()
                                    : std::min<std::size_t>(std::bit_ceil(shard_count), 64)) {}

namespace {

void check_names(const std::string& name, const std::vector<std::string>& label_names,
                 bool histogram) {
  if (!valid_metric_name(name)) throw std::invalid_argument("invalid metric name: " + name);
  for (const auto& label : label_names) {
    if (!valid_label_name(label) || (histogram && label == "le")) {
      throw std::invalid_argument("invalid label name for " + name + ": " + label);
    }
  }
}

}  // namespace

template <typename F>
F& Registry::add(std::unique_ptr<F> family) {
  std::lock_guard lock(mutex_);
  for (const auto& existing : families_) {
    if (existing->name() == family->name()) {
      throw std::invalid_argument("metric registered twice: " + family->name());
    }
  }
  F& ref = *family;
  families_.push_back(std::move(family));
  return ref;
}

CounterFamily& Registry::counter(std::string name, std::string help,
                                 std::vector<std::string> label_names) {
  check_names(name, label_names, false);
  return add(std::make_unique<CounterFamily>(std::move(name), std::move(help),
                                             std::move(label_names), shard_count_));
}

GaugeFamily& Registry::gauge(std::string name, std::string help,
                             std::vector<std::string> label_names) {
  check_names(name, label_names, false);
  return add(std::make_unique<GaugeFamily>(std::move(name), std::move(help), std::move(label_names),
                                           shard_count_));
}

HistogramFamily& Registry::histogram(std::string name, std::string help,
                                     std::vector<std::string> label_names,
                                     std::vector<double> buckets) {
  check_names(name, label_names, true);
  if (!std::is_sorted(buckets.begin(), buckets.end()) ||
      std::adjacent_find(buckets.begin(), buckets.end()) != buckets.end() ||
      std::any_of(buckets.begin(), buckets.end(), [](double b) { return !std::isfinite(b); })) {
    throw std::invalid_argument("histogram buckets must be finite and strictly increasing: " +
                                name);
  }
  return add(std::make_unique<HistogramFamily>(
      std::move(name), std::move(help), std::move(label_names), shard_count_, std::move(buckets)));
}

std::string Registry::to_prometheus() const {
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& family : families_) family->write(out);
  return out;
}

}  // namespace llm_router::metrics
