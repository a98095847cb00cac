#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>

#include "llm_router/core/swar.hpp"
#include "llm_router/core/utf8.hpp"
#include "llm_router/tokenizer/tokenizer.hpp"

// A model of how byte-pair tokenizers of the cl100k_base / o200k_base kind cut text, without
// their tables: a linear function of features counted eight bytes at a time (words, letters,
// capitals after small letters, digits, numbers, symbols) and of the characters of other
// scripts. The weights were fit by least squares to the geometric mean of both encodings' exact
// counts over English prose, code, math, chat, JSON, CSV, URLs, UUIDs, hex digests, base64,
// emoji and prose in 20 other languages, with the digit weights set to what the encodings do
// (groups of up to 3 digits); docs/analyzer-signals.md has the figures.
namespace llm_router::tokenizer {
namespace {

constexpr double kWordStart = 0.9;  // a run of letters begins (its leading space is free)
constexpr double kLetter = 0.073;   // each ASCII letter
// Each letter of 8 in a row that continue a run of letters (a long word, a hash, a blob
// without spaces): tokenizers cut those every few letters.
constexpr double kDeepLetter = 0.3;
constexpr double kCaseBreak = 1.587;  // a capital after a small letter ("getUser", base64)
constexpr double kDigit = 0.4;
constexpr double kNumberStart = 0.6;
constexpr double kSymbol = 0.457;  // each printable ASCII character not a letter or digit

// Characters beyond ASCII, costed one by one.
enum CharKind {
  kLatinLetter,
  kCyrillic,
  kGreek,
  kRtl,
  kIndic,
  kThai,
  kCjk,
  kCjkMark,
  kEmoji,
  kJoiner,
  kOtherChar,
  kCharKinds
};
constexpr std::array<double, kCharKinds> kCharCost = {0.589, 0.284, 0.5,   0.406, 0.451, 0.649,
                                                      0.757, 1.0,   1.567, 1.0,   0.5};

CharKind kind_of(char32_t cp) {
  if ((cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7) || (cp >= 0x1E00 && cp <= 0x1EFF))
    return kLatinLetter;
  if (cp >= 0x370 && cp <= 0x3FF) return kGreek;
  if (cp >= 0x400 && cp <= 0x52F) return kCyrillic;
  if ((cp >= 0x590 && cp <= 0x6FF) || (cp >= 0x750 && cp <= 0x77F) ||
      (cp >= 0xFB1D && cp <= 0xFDFF) || (cp >= 0xFE70 && cp <= 0xFEFF))
    return kRtl;
  if (cp >= 0x900 && cp <= 0xDFF) return kIndic;
  if (cp >= 0xE00 && cp <= 0xE7F) return kThai;
  if ((cp >= 0x1100 && cp <= 0x11FF) || (cp >= 0x3040 && cp <= 0x30FF) ||
      (cp >= 0x3400 && cp <= 0x9FFF) || (cp >= 0xAC00 && cp <= 0xD7AF) ||
      (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x2FFFF))
    return kCjk;
  if ((cp >= 0x3000 && cp <= 0x303F) || (cp >= 0xFF00 && cp <= 0xFFEF)) return kCjkMark;
  if (cp == 0x200D || (cp >= 0xFE00 && cp <= 0xFE0F) || cp >= 0xE0000) return kJoiner;
  if (cp >= 0x1F000 || (cp >= 0x2600 && cp <= 0x27BF) || (cp >= 0x2B00 && cp <= 0x2BFF))
    return kEmoji;
  return kOtherChar;
}

namespace swar = core::swar;

constexpr std::uint64_t kTopBit = 0x80ULL << 56;
constexpr std::uint64_t top(bool set) {
  return set ? kTopBit : 0;
}

// Masks of the byte before the one being read, in the top byte (where a block's last byte is).
struct Carry {
  std::uint64_t lower = 0;
  std::uint64_t word = 0;  // an ASCII letter or any non-ASCII character
  std::uint64_t digit = 0;
  bool block_of_letters = false;  // the last 8 bytes read as a block were all letters
};

// The mask of the byte before each byte of `mask`.
constexpr std::uint64_t before(std::uint64_t mask, std::uint64_t carried) {
  return (mask << 8) | (carried >> 56);
}

struct Counts {
  std::uint64_t word_starts = 0;
  std::uint64_t letters = 0;
  std::uint64_t deep_letters = 0;
  std::uint64_t case_breaks = 0;
  std::uint64_t digits = 0;
  std::uint64_t numbers = 0;
  std::uint64_t symbols = 0;
  std::array<std::uint64_t, kCharKinds> chars{};

  double tokens() const {
    double sum =
        kWordStart * static_cast<double>(word_starts) + kLetter * static_cast<double>(letters) +
        kDeepLetter * static_cast<double>(deep_letters) +
        kCaseBreak * static_cast<double>(case_breaks) + kDigit * static_cast<double>(digits) +
        kNumberStart * static_cast<double>(numbers) + kSymbol * static_cast<double>(symbols);
    for (int k = 0; k < kCharKinds; ++k) sum += kCharCost[k] * static_cast<double>(chars[k]);
    return sum;
  }
};

// The sum of a word's 8 bytes, when it is below 256.
constexpr std::uint64_t sum_of_bytes(std::uint64_t lanes) {
  return (lanes * swar::kOnes) >> 56;
}

// Per-byte tallies of masks (one bit per byte), added up every 31 blocks so no byte overflows.
struct Lanes {
  std::uint64_t word_starts = 0, letters = 0, case_breaks = 0, digits = 0, numbers = 0, symbols = 0;
  void drain_into(Counts& counts) {
    counts.word_starts += sum_of_bytes(word_starts);
    counts.letters += sum_of_bytes(letters);
    counts.case_breaks += sum_of_bytes(case_breaks);
    counts.digits += sum_of_bytes(digits);
    counts.numbers += sum_of_bytes(numbers);
    counts.symbols += sum_of_bytes(symbols);
    *this = {};
  }
};

// Reads all-ASCII blocks of 8 bytes from `at` on (at least one is there); returns where it
// stopped (the end, a block with a byte >= 0x80, or fewer than 8 bytes left).
std::size_t ascii_blocks(std::string_view text, std::size_t at, Carry& carry, Counts& counts) {
  Lanes lanes;
  int blocks = 0;
  while (at + 8 <= text.size()) {
    const std::uint64_t x = swar::load(text.data() + at);
    if ((x & swar::kHighs) != 0) break;
    const std::uint64_t letter = swar::letters(x);
    const std::uint64_t lower = letter & (x << 2);  // 0x20 set: a small letter
    const std::uint64_t digit = swar::in_range(x, '0', '9');
    const std::uint64_t printable = swar::in_range(x, '!', '~');
    // Bytes, not counts: each mask has one bit per byte, shifted down to the byte's low bit.
    lanes.word_starts += (letter & ~before(letter, carry.word)) >> 7;
    lanes.letters += letter >> 7;
    // Eight letters after eight more: deep in a run of letters, counted a block at a time.
    const bool all_letters = letter == swar::kHighs;
    if (all_letters && carry.block_of_letters) counts.deep_letters += 8;
    lanes.case_breaks += (letter & ~lower & before(lower, carry.lower)) >> 7;
    lanes.digits += digit >> 7;
    lanes.numbers += (digit & ~before(digit, carry.digit)) >> 7;
    lanes.symbols += (printable & ~(letter | digit)) >> 7;
    carry = {lower, letter, digit, all_letters};
    at += 8;
    if (++blocks == 31) {
      lanes.drain_into(counts);
      blocks = 0;
    }
  }
  lanes.drain_into(counts);
  // Only the last byte's marks carry over to the byte-at-a-time path.
  carry.lower &= kTopBit;
  carry.word &= kTopBit;
  carry.digit &= kTopBit;
  return at;
}

void ascii_byte(char c, Carry& carry, Counts& counts) {
  const bool lower = c >= 'a' && c <= 'z';
  const bool upper = c >= 'A' && c <= 'Z';
  const bool letter = lower || upper;
  const bool digit = c >= '0' && c <= '9';
  counts.word_starts += letter && carry.word == 0;
  counts.letters += letter;
  counts.case_breaks += upper && carry.lower != 0;
  counts.digits += digit;
  counts.numbers += digit && carry.digit == 0;
  counts.symbols += c >= '!' && c <= '~' && !letter && !digit;
  carry = {top(lower), top(letter), top(digit)};
}

void other_char(CharKind kind, Carry& carry, Counts& counts) {
  ++counts.chars[kind];
  counts.word_starts += carry.word == 0;
  carry = {0, kTopBit, 0};
}

}  // namespace

double estimate_tokens(std::string_view text) {
  Carry carry;
  Counts counts;
  std::size_t at = 0;
  while (at < text.size()) {
    if (at + 8 <= text.size() && (swar::load(text.data() + at) & swar::kHighs) == 0) {
      at = ascii_blocks(text, at, carry, counts);
      continue;
    }
    if (static_cast<unsigned char>(text[at]) < 0x80) {
      ascii_byte(text[at++], carry, counts);
    } else {
      other_char(kind_of(core::next_code_point(text, at)), carry, counts);
    }
  }
  return counts.tokens();
}

}  // namespace llm_router::tokenizer
