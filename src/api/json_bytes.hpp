#pragma once

// Byte-level pieces of JSON shared by the cursor (json_parse.cpp) and the validator
// (json_validate.cpp): the rules are written once so the two agree on every text.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace llm_router::api::json_bytes {

// Bytes a string may hold as they are: printable ASCII except the quote and the backslash.
constexpr std::array<bool, 256> plain_string_bytes() {
  std::array<bool, 256> table{};
  for (int c = 0x20; c < 0x80; ++c) table[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  return table;
}
inline constexpr auto kPlain = plain_string_bytes();

// The first byte at or after p that a string cannot hold as it is (quote, backslash, control
// or non-ASCII byte), 16 bytes per step where SSE2 is there (it is on every x86-64).
inline const char* skip_plain(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  while (end - p >= 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Signed compare: below 0x20 are the controls and, as negative numbers, bytes >= 0x80.
    const __m128i special =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, backslash)),
                     _mm_cmplt_epi8(bytes, space));
    if (const int mask = _mm_movemask_epi8(special); mask != 0) return p + __builtin_ctz(mask);
    p += 16;
  }
#endif
  while (p < end && kPlain[static_cast<unsigned char>(*p)]) ++p;
  return p;
}

inline bool is_space(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

inline bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

inline const char* skip_space(const char* p, const char* end) {
  while (p < end && is_space(*p)) ++p;
  return p;
}

// Length of the well-formed UTF-8 sequence at p (first byte >= 0x80), or 0 (Unicode 15,
// table 3-7: no overlongs, no surrogates, nothing above U+10FFFF).
inline std::size_t utf8_sequence_length(const unsigned char* p, const unsigned char* end) {
  const auto in = [&](std::size_t i, unsigned char lo, unsigned char hi) {
    return p + i < end && p[i] >= lo && p[i] <= hi;
  };
  const unsigned char c = p[0];
  if (c >= 0xC2 && c <= 0xDF) return in(1, 0x80, 0xBF) ? 2 : 0;
  if (c == 0xE0) return in(1, 0xA0, 0xBF) && in(2, 0x80, 0xBF) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
    return in(1, 0x80, 0xBF) && in(2, 0x80, 0xBF) ? 3 : 0;
  }
  if (c == 0xED) return in(1, 0x80, 0x9F) && in(2, 0x80, 0xBF) ? 3 : 0;
  if (c == 0xF0) return in(1, 0x90, 0xBF) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) {
    return in(1, 0x80, 0xBF) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
  }
  if (c == 0xF4) return in(1, 0x80, 0x8F) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
  return 0;
}

// The shape of a number the grammar accepted: whether it has a fraction or an exponent, its
// digits before the point and its exponent (capped: beyond, only its size matters).
struct NumberShape {
  bool integral = true;
  long whole_digits = 0;
  long exponent = 0;
};

// Moves p past the number there (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?) and describes
// it (true), or stops p at the byte that breaks the grammar (false).
inline bool scan_number(const char*& p, const char* end, NumberShape& shape) {
  const char* start = p;
  const bool negative = *p == '-';
  if (negative) ++p;
  if (p == end || !is_digit(*p)) return false;
  if (*p == '0') {
    ++p;
  } else {
    while (p < end && is_digit(*p)) ++p;
  }
  shape.whole_digits = p - start - (negative ? 1 : 0);
  if (p < end && *p == '.') {
    shape.integral = false;
    ++p;
    if (p == end || !is_digit(*p)) return false;
    while (p < end && is_digit(*p)) ++p;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    shape.integral = false;
    ++p;
    const bool negative_exponent = p < end && *p == '-';
    if (p < end && (*p == '+' || *p == '-')) ++p;
    if (p == end || !is_digit(*p)) return false;
    long exponent = 0;
    for (; p < end && is_digit(*p); ++p) exponent = std::min(exponent * 10 + (*p - '0'), 9999L);
    shape.exponent = negative_exponent ? -exponent : exponent;
  }
  return true;
}

// Up to 18 digits fit an int64, and a double anything below 1e308 (tiny magnitudes round to
// zero, which is no error): such a number needs no conversion to be known to fit.
inline bool surely_fits(const NumberShape& shape) {
  return shape.integral ? shape.whole_digits <= 18 : shape.whole_digits + shape.exponent <= 307;
}

// Whether the number text [start, end) is a finite double (as an integer it fits one too).
inline bool fits_a_double(const char* start, const char* end) {
  const std::string copy(start, end);
  return std::isfinite(std::strtod(copy.c_str(), nullptr));
}

}  // namespace llm_router::api::json_bytes
