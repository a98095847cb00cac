#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace llm_router::metrics {

// Fixed-bucket log-linear histogram of durations: 100 us units, each power of two split into
// 8 linear sub-buckets, so a reported quantile (bucket midpoint) is within 6.25% of the truth
// from 1 ms up to ~3.5 min; longer values fall in the last bucket. Cheap to record, merge and
// copy, which is what per-slot stats windows need. Only the range of buckets in use is held: a
// slot's latencies span a few octaves, ~20 counts instead of 152, and the stats of an hour hold
// hundreds of thousands of histograms.
class LatencyHistogram {
 public:
  static constexpr std::size_t kSubBuckets = 8;
  static constexpr std::size_t kBuckets = 8 + 18 * kSubBuckets;  // up to 2^21 units
  static constexpr double kUnitSeconds = 1e-4;

  void record(double seconds);
  void merge(const LatencyHistogram& other);
  std::uint64_t count() const noexcept { return count_; }
  // The q-quantile (0 < q <= 1) in seconds: the midpoint of the bucket holding the
  // ceil(q * count)-th smallest value; 0 when empty.
  double quantile(double q) const noexcept;

  static std::size_t bucket_of(double seconds) noexcept;
  static double lower_bound_seconds(std::size_t bucket) noexcept;
  static double upper_bound_seconds(std::size_t bucket) noexcept;

 private:
  void cover(std::size_t low, std::size_t high);  // buckets [low, high] join the range held

  std::vector<std::uint32_t> counts_;  // buckets [first_, first_ + counts_.size())
  std::size_t first_ = 0;
  std::uint64_t count_ = 0;
};

}  // namespace llm_router::metrics
