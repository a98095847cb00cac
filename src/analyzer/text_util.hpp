#pragma once

// Small byte-level helpers shared by the analyzer's scanners (private to src/analyzer).
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "llm_router/core/utf8.hpp"

namespace llm_router::analyzer {

inline bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
inline bool is_ascii_digit(char c) {
  return c >= '0' && c <= '9';
}
inline bool is_ascii_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
inline bool is_ascii_lower(char c) {
  return c >= 'a' && c <= 'z';
}
inline bool is_ascii_upper(char c) {
  return c >= 'A' && c <= 'Z';
}
inline bool is_ascii_alnum(char c) {
  return is_ascii_alpha(c) || is_ascii_digit(c);
}
inline char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}
inline char ascii_upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
}

// Byte classes in one table lookup for the scanners' inner loops.
enum CharClass : std::uint8_t {
  kWordChar = 1,       // ASCII letter or digit, '_', or any non-ASCII byte
  kLowerable = 2,      // 'A'..'Z'
  kSpaceChar = 4,      // ASCII whitespace
  kSecretChar = 8,     // letters, digits, - _ + / =  (API-key alphabets)
  kTokenChar = 16,     // ASCII letter or digit, or any non-ASCII byte
  kAlphaChar = 32,     // ASCII letter
  kCodeWordChar = 64,  // ASCII letter or digit, '+' or '#' ("c++", "c#")
  kLetterByte = 128,   // ASCII letter or any non-ASCII byte
};

struct CharTables {
  std::uint8_t klass[256] = {};
  char lower[256] = {};
  constexpr CharTables() {
    for (int c = 0; c < 256; ++c) {
      const char ch = static_cast<char>(c);
      lower[c] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : ch;
      std::uint8_t k = 0;
      const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (alnum || c == '_' || c >= 0x80) k |= kWordChar;
      if (c >= 'A' && c <= 'Z') k |= kLowerable;
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
        k |= kSpaceChar;
      if (alnum || c == '-' || c == '_' || c == '+' || c == '/' || c == '=') k |= kSecretChar;
      if (alnum || c >= 0x80) k |= kTokenChar;
      const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      if (alpha) k |= kAlphaChar;
      if (alnum || c == '+' || c == '#') k |= kCodeWordChar;
      if (alpha || c >= 0x80) k |= kLetterByte;
      klass[c] = k;
    }
  }
};
inline constexpr CharTables kChars{};

inline bool has_class(char c, CharClass k) {
  return (kChars.klass[static_cast<unsigned char>(c)] & k) != 0;
}
inline char table_lower(char c) {
  return kChars.lower[static_cast<unsigned char>(c)];
}

inline std::uint64_t fnv1a(std::string_view text, std::uint64_t hash = 0xcbf29ce484222325ULL) {
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

inline std::uint64_t mix_hash(std::uint64_t a, std::uint64_t b) {
  std::uint64_t x = a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

// Eight bytes at a time (SWAR) for the scanners' ASCII runs. A "mask" has the high bit of each
// byte set where the byte qualifies.
namespace swar {
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
}  // namespace swar

// Decodes one UTF-8 code point at text[i], advancing i; invalid bytes give U+FFFD.
inline char32_t next_code_point(std::string_view text, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(text[i++]);
  if (b0 < 0x80) return b0;
  int extra = 0;
  char32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    extra = 1;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    extra = 2;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    extra = 3;
    cp = b0 & 0x07;
  } else {
    return 0xFFFD;
  }
  for (int k = 0; k < extra; ++k) {
    if (i >= text.size()) return 0xFFFD;
    const auto b = static_cast<unsigned char>(text[i]);
    if ((b & 0xC0) != 0x80) return 0xFFFD;
    cp = (cp << 6) | (b & 0x3F);
    ++i;
  }
  return cp;
}

inline std::size_t utf8_length(std::string_view text) {
  std::size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

using core::utf8_prefix;

}  // namespace llm_router::analyzer
