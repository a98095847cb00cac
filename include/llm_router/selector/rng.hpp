#pragma once

#include <cstdint>

namespace llm_router::selector {

// Small deterministic generator (splitmix64) with the few distributions strategies need.
// Implemented by hand so a seed gives the same sequence on every standard library.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next();
  double uniform();  // [0, 1)
  double normal();   // N(0, 1)
  double gamma(double shape);
  double beta(double a, double b);

 private:
  std::uint64_t state_;
};

// Stateless 64-bit mixer (splitmix64 finaliser) and a string hash built on it.
std::uint64_t mix64(std::uint64_t x);
std::uint64_t hash64(const void* data, std::size_t size, std::uint64_t seed = 0);
// The same quality of final mix, 8 bytes per step: for long texts (whole prompts) on the
// request path, where hash64's byte-at-a-time loop shows in profiles.
std::uint64_t text_hash64(const void* data, std::size_t size, std::uint64_t seed = 0);

}  // namespace llm_router::selector
