#pragma once

namespace llm_router::health {

// One step of a streaming quantile estimate in constant space: the estimate moves up by
// `rate * quantile` of itself when a sample lies above it and down by `rate * (1 - quantile)`
// when not, so it settles where a share `quantile` of the samples lies below (multiplicative
// steps: it follows scale changes, from microseconds to seconds, at the same speed). The first
// sample (estimate <= 0) is taken as is.
inline double update_quantile(double estimate, double sample, double quantile, double rate = 0.05) {
  if (estimate <= 0) return sample;
  return sample > estimate ? estimate * (1 + rate * quantile)
                           : estimate * (1 - rate * (1 - quantile));
}

}  // namespace llm_router::health
