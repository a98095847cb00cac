#pragma once

// Eight bytes at a time (SWAR) for scanners of ASCII runs. A "mask" has the high bit of each
// byte set where the byte qualifies; the text's first byte is in the low bits.
#include <bit>
#include <cstdint>
#include <cstring>

namespace llm_router::core::swar {

inline constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
inline constexpr std::uint64_t kHighs = 0x8080808080808080ULL;

// The 8 bytes at p, first byte in the low bits.
inline std::uint64_t load(const char* p) {
  std::uint64_t x;
  std::memcpy(&x, p, sizeof x);
  if constexpr (std::endian::native == std::endian::big) x = __builtin_bswap64(x);
  return x;
}
// Bytes of `x` (all ASCII) in [lo, hi].
inline constexpr std::uint64_t in_range(std::uint64_t x, std::uint8_t lo, std::uint8_t hi) {
  return (x + kOnes * (0x80U - lo)) & ~(x + kOnes * (0x7FU - hi)) & kHighs;
}
inline constexpr std::uint64_t letters(std::uint64_t x) {
  return in_range(x | (kOnes * 0x20), 'a', 'z');
}
inline constexpr std::uint64_t alnums(std::uint64_t x) {
  return letters(x) | in_range(x, '0', '9');
}
// Bytes of any `x` equal to c.
inline constexpr std::uint64_t equal(std::uint64_t x, std::uint8_t c) {
  const std::uint64_t v = x ^ (kOnes * c);
  return ~(((v & ~kHighs) + ~kHighs) | v) & kHighs;
}
// ASCII digits among any 8 bytes.
inline constexpr std::uint64_t digits(std::uint64_t x) {
  return in_range(x & ~kHighs, '0', '9') & ~x;
}
// Set bytes of a mask (std::popcount is a library call on the baseline x86-64 target).
inline constexpr std::uint32_t count(std::uint64_t mask) {
  return static_cast<std::uint32_t>(((mask >> 7) * kOnes) >> 56);
}
}  // namespace llm_router::core::swar
