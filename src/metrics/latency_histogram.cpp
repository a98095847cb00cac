#include "llm_router/metrics/latency_histogram.hpp"

#include <bit>
#include <cmath>

namespace llm_router::metrics {

namespace {

constexpr std::uint64_t kMaxUnits = std::uint64_t{1} << 21;

// Index of a value in units: 0..7 exactly, then 8 sub-buckets per power of two.
std::size_t index_of_units(std::uint64_t units) noexcept {
  if (units < LatencyHistogram::kSubBuckets) return static_cast<std::size_t>(units);
  const int exponent = std::bit_width(units) - 1;  // >= 3
  const std::uint64_t sub = (units >> (exponent - 3)) & 7;
  return LatencyHistogram::kSubBuckets + static_cast<std::size_t>(exponent - 3) * 8 + sub;
}

std::uint64_t lower_units(std::size_t bucket) noexcept {
  if (bucket < LatencyHistogram::kSubBuckets) return bucket;
  const std::size_t octave = (bucket - LatencyHistogram::kSubBuckets) / 8;  // exponent - 3
  const std::uint64_t sub = (bucket - LatencyHistogram::kSubBuckets) % 8;
  return (8 + sub) << octave;
}

std::uint64_t width_units(std::size_t bucket) noexcept {
  if (bucket < LatencyHistogram::kSubBuckets) return 1;
  return std::uint64_t{1} << ((bucket - LatencyHistogram::kSubBuckets) / 8);
}

}  // namespace

std::size_t LatencyHistogram::bucket_of(double seconds) noexcept {
  if (!(seconds > 0)) return 0;
  const double units = seconds / kUnitSeconds;
  if (units >= static_cast<double>(kMaxUnits)) return kBuckets - 1;
  return index_of_units(static_cast<std::uint64_t>(units));
}

double LatencyHistogram::lower_bound_seconds(std::size_t bucket) noexcept {
  return static_cast<double>(lower_units(bucket)) * kUnitSeconds;
}

double LatencyHistogram::upper_bound_seconds(std::size_t bucket) noexcept {
  return static_cast<double>(lower_units(bucket) + width_units(bucket)) * kUnitSeconds;
}

void LatencyHistogram::cover(std::size_t low, std::size_t high) {
  if (counts_.empty()) {
    first_ = low;
    counts_.assign(high - low + 1, 0);
    return;
  }
  if (low < first_) {
    counts_.insert(counts_.begin(), first_ - low, 0);
    first_ = low;
  }
  if (high >= first_ + counts_.size()) counts_.resize(high - first_ + 1, 0);
}

void LatencyHistogram::record(double seconds) {
  if (std::isnan(seconds)) return;
  const std::size_t bucket = bucket_of(seconds);
  if (bucket < first_ || bucket >= first_ + counts_.size()) cover(bucket, bucket);
  ++counts_[bucket - first_];
  ++count_;
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  if (other.counts_.empty()) return;
  cover(other.first_, other.first_ + other.counts_.size() - 1);
  for (std::size_t i = 0; i < other.counts_.size(); ++i) {
    counts_[other.first_ - first_ + i] += other.counts_[i];
  }
  count_ += other.count_;
}

double LatencyHistogram::quantile(double q) const noexcept {
  if (count_ == 0) return 0;
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  if (rank < 1) rank = 1;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      return (lower_bound_seconds(first_ + i) + upper_bound_seconds(first_ + i)) / 2;
    }
  }
  return upper_bound_seconds(kBuckets - 1);
}

}  // namespace llm_router::metrics
