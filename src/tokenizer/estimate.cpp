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

// Features of ASCII text, each with its weight in tokens.
enum AsciiFeature {
  kWordStarts,       // a run of letters begins (its leading space is free)
  kLetters,          // each ASCII letter
  kDeepLetters,      // each letter of 8 in a row that continue a run of letters (a long word, a
                     // hash, a blob without spaces): tokenizers cut those every few letters
  kCaseBreaks,       // a capital after a small letter ("getUser", base64)
  kDigits,           // each digit
  kNumbers,          // a run of digits begins
  kSymbols,          // each character not a letter, digit, space or control character, and
                     // not the same as the one before
  kLineBreaks,       // a run of line breaks (\n, \r) begins
  kIndents,          // a second space or tab in a row: a run of them is a token of its own
  kSpacedNumbers,    // a number after a space (the space does not join the digits)
  kRepeatedSymbols,  // a symbol the same as the one before ("=====", "-----"): runs of one
                     // symbol are tokens of up to 16 or more
  kControls,         // a control character (not a tab or line break): a token each
  kLongLineBreaks,   // a line break after another: long runs of them are cut every few
  kAsciiFeatures
};
static_assert(kAsciiFeatures == detail::kEstimateAsciiFeatures);
constexpr std::array<double, kAsciiFeatures> kAsciiWeight = {
    0.478, 0.143, 0.3, 1.416, 0.333, 1.111, 0.319, 0.837, 1.468, 0.463, 0.034, 1.0, 0.529};

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
  kPunctuation,  // Latin-1 signs and general punctuation (« » ° “ ” — …), common in prose
  kCombining,    // combining marks: a token each
  kOtherChar,    // other characters of two or three bytes (symbols, arrows, Braille, boxes)
  kAstralChar,   // other characters of four bytes (math letters, private use): their bytes
                 // are rarely merged
  kRareIdeograph,  // CJK ideographs beyond the basic plane (U+20000 on): about 4 tokens each
  kCharKinds
};
constexpr std::array<double, kCharKinds> kCharCost = {
    0.589, 0.284, 0.5, 0.406, 0.451, 0.649, 0.757, 1.0, 1.567, 1.0, 0.5, 1.0, 1.2, 2.5, 3.9};

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
      (cp >= 0xF900 && cp <= 0xFAFF))
    return kCjk;
  if (cp >= 0x20000 && cp <= 0x3FFFF) return kRareIdeograph;
  if ((cp >= 0x3000 && cp <= 0x303F) || (cp >= 0xFF00 && cp <= 0xFFEF)) return kCjkMark;
  if (cp == 0x200D || (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xE0000 && cp <= 0xE01EF))
    return kJoiner;
  if ((cp >= 0x1F000 && cp <= 0x1FAFF) || (cp >= 0x2600 && cp <= 0x27BF) ||
      (cp >= 0x2B00 && cp <= 0x2BFF))
    return kEmoji;
  if (cp < 0xC0 || (cp >= 0x2000 && cp <= 0x206F)) return kPunctuation;
  if ((cp >= 0x300 && cp <= 0x36F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
      (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
      (cp >= 0xFE20 && cp <= 0xFE2F))
    return kCombining;
  return cp >= 0x10000 ? kAstralChar : kOtherChar;
}

namespace swar = core::swar;

constexpr std::uint64_t kTopBit = 0x80ULL << 56;
constexpr std::uint64_t top(bool set) {
  return set ? kTopBit : 0;
}

// Masks of the bytes before the one being read, in the top bytes (where a block's last bytes
// are).
struct Carry {
  std::uint64_t lower = 0;
  std::uint64_t word = 0;  // an ASCII letter or any non-ASCII character
  std::uint64_t digit = 0;
  std::uint64_t line_break = 0;
  std::uint64_t space = 0;        // the last two bytes: a space or a tab
  std::uint64_t bytes = 0;        // the last byte itself, in the top byte
  bool block_of_letters = false;  // the last 8 bytes read as a block were all letters
};

// The mask of the byte before each byte of `mask`.
constexpr std::uint64_t before(std::uint64_t mask, std::uint64_t carried) {
  return (mask << 8) | (carried >> 56);
}
// The mask of the byte two before each byte of `mask`.
constexpr std::uint64_t two_before(std::uint64_t mask, std::uint64_t carried) {
  return (mask << 16) | (carried >> 48);
}
constexpr std::uint64_t kLastTwo = kTopBit | (kTopBit >> 8);

struct Counts {
  std::array<std::uint64_t, kAsciiFeatures> ascii{};
  std::array<std::uint64_t, kCharKinds> chars{};

  double tokens() const {
    double sum = 0;
    for (int f = 0; f < kAsciiFeatures; ++f) sum += kAsciiWeight[f] * static_cast<double>(ascii[f]);
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
  std::array<std::uint64_t, kAsciiFeatures> tally{};
  void add(AsciiFeature feature, std::uint64_t mask) { tally[feature] += mask >> 7; }
  void drain_into(Counts& counts) {
    for (int f = 0; f < kAsciiFeatures; ++f) counts.ascii[f] += sum_of_bytes(tally[f]);
    tally = {};
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
    const std::uint64_t blank = swar::in_range(x, 0, ' ');  // a space or a control character
    // Line breaks and control characters: most blocks of prose and code hold none.
    std::uint64_t line_break = 0;
    std::uint64_t control = 0;
    if (const std::uint64_t low = swar::in_range(x, 0, 0x1F); low != 0) {
      line_break = swar::equal(x, '\n') | swar::equal(x, '\r');
      control = low & ~line_break & ~swar::equal(x, '\t');
      lanes.add(kControls, control);
      const std::uint64_t after_line_break = before(line_break, carry.line_break);
      lanes.add(kLineBreaks, line_break & ~after_line_break);
      lanes.add(kLongLineBreaks, line_break & after_line_break);
    }
    const std::uint64_t space = blank & ~(line_break | control);
    const std::uint64_t symbol = ~(blank | letter | digit) & swar::kHighs;
    if (symbol != 0) {
      const std::uint64_t repeated = symbol & swar::equal(x ^ before(x, carry.bytes), 0);
      lanes.add(kSymbols, symbol & ~repeated);
      lanes.add(kRepeatedSymbols, repeated);
    }
    const std::uint64_t after_space = before(space, carry.space);
    lanes.add(kWordStarts, letter & ~before(letter, carry.word));
    lanes.add(kLetters, letter);
    // Eight letters after eight more: deep in a run of letters, counted a block at a time.
    const bool all_letters = letter == swar::kHighs;
    if (all_letters && carry.block_of_letters) counts.ascii[kDeepLetters] += 8;
    lanes.add(kCaseBreaks, letter & ~lower & before(lower, carry.lower));
    lanes.add(kDigits, digit);
    const std::uint64_t number_start = digit & ~before(digit, carry.digit);
    lanes.add(kNumbers, number_start);
    lanes.add(kSpacedNumbers, number_start & after_space);
    lanes.add(kIndents, space & after_space & ~two_before(space, carry.space));
    carry = {lower, letter, digit, line_break, space, x, all_letters};
    at += 8;
    if (++blocks == 31) {
      lanes.drain_into(counts);
      blocks = 0;
    }
  }
  lanes.drain_into(counts);
  // Only the last bytes' marks carry over to the byte-at-a-time path.
  carry.lower &= kTopBit;
  carry.word &= kTopBit;
  carry.digit &= kTopBit;
  carry.line_break &= kTopBit;
  carry.space &= kLastTwo;
  carry.bytes &= 0xFFULL << 56;
  return at;
}

void ascii_byte(char c, Carry& carry, Counts& counts) {
  const bool lower = c >= 'a' && c <= 'z';
  const bool upper = c >= 'A' && c <= 'Z';
  const bool letter = lower || upper;
  const bool digit = c >= '0' && c <= '9';
  const bool blank = c <= ' ';
  const bool line_break = c == '\n' || c == '\r';
  const bool control = c < ' ' && !line_break && c != '\t';
  const bool space = blank && !line_break && !control;
  const bool symbol = !blank && !letter && !digit;
  const bool repeated = symbol && static_cast<char>(carry.bytes >> 56) == c;
  const bool after_space = (carry.space & kTopBit) != 0;
  auto& ascii = counts.ascii;
  ascii[kWordStarts] += letter && carry.word == 0;
  ascii[kLetters] += letter;
  ascii[kCaseBreaks] += upper && carry.lower != 0;
  ascii[kDigits] += digit;
  ascii[kNumbers] += digit && carry.digit == 0;
  ascii[kSpacedNumbers] += digit && carry.digit == 0 && after_space;
  ascii[kSymbols] += symbol && !repeated;
  ascii[kRepeatedSymbols] += repeated;
  ascii[kControls] += control;
  ascii[kLineBreaks] += line_break && carry.line_break == 0;
  ascii[kLongLineBreaks] += line_break && carry.line_break != 0;
  ascii[kIndents] += space && after_space && (carry.space & (kTopBit >> 8)) == 0;
  carry = {top(lower),
           top(letter),
           top(digit),
           top(line_break),
           ((carry.space >> 8) & (kTopBit >> 8)) | top(space),
           static_cast<std::uint64_t>(static_cast<unsigned char>(c)) << 56};
}

void other_char(CharKind kind, Carry& carry, Counts& counts) {
  ++counts.chars[kind];
  counts.ascii[kWordStarts] += carry.word == 0;
  carry = {0, kTopBit};
}

Counts counts_of(std::string_view text) {
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
  return counts;
}

}  // namespace

double estimate_tokens(std::string_view text) {
  return counts_of(text).tokens();
}

namespace detail {

std::vector<double> estimate_features(std::string_view text) {
  const Counts counts = counts_of(text);
  std::vector<double> features(counts.ascii.begin(), counts.ascii.end());
  features.insert(features.end(), counts.chars.begin(), counts.chars.end());
  return features;
}

std::vector<double> estimate_weights() {
  std::vector<double> weights(kAsciiWeight.begin(), kAsciiWeight.end());
  weights.insert(weights.end(), kCharCost.begin(), kCharCost.end());
  return weights;
}

}  // namespace detail
}  // namespace llm_router::tokenizer
