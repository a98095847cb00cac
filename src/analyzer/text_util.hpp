#pragma once

// Small byte-level helpers shared by the analyzer's scanners (private to src/analyzer).
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "llm_router/core/swar.hpp"
#include "llm_router/core/utf8.hpp"
#include "llm_router/tokenizer/unicode_classes.hpp"

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

namespace swar = core::swar;
using core::next_code_point;

inline std::size_t utf8_length(std::string_view text) {
  std::size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

using core::utf8_prefix;

// Whether the text holds a letter or a digit of any script (not only punctuation, symbols and
// spaces: "?", "…", "？", "。", "👍").
inline bool has_words(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      if (is_ascii_alnum(static_cast<char>(byte))) return true;
      ++i;
      continue;
    }
    const auto kind = tokenizer::char_class(next_code_point(text, i));
    if (kind != tokenizer::CharClass::other && kind != tokenizer::CharClass::space &&
        kind != tokenizer::CharClass::mark) {
      return true;
    }
  }
  return false;
}

}  // namespace llm_router::analyzer
