#include "llm_router/classifier/featurizer.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>

namespace llm_router::classifier {
namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
// Seeds keep the feature families apart: the word "ab" and the n-gram "ab" are different rows.
constexpr uint64_t kWordSeed = 0x1;
constexpr uint64_t kBigramSeed = 0x2;
constexpr uint64_t kCharSeed = 0x3;
constexpr uint64_t kDenseSeed = 0x4;
constexpr uint64_t kPunctSeed = 0x5;
constexpr uint64_t kNumberSeed = 0x6;
constexpr size_t kMaxWordCharsForNgrams = 32;
constexpr size_t kDenseSlots = 64;

template <typename T>
void grow(std::vector<T>& buffer, size_t size) {
  if (buffer.size() < size) buffer.resize(size);
}

constexpr uint64_t fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

constexpr uint64_t fnv_step(uint64_t h, unsigned char c) {
  return (h ^ c) * kFnvPrime;
}

enum ByteClass : uint8_t {
  kWordByte = 1,  // letters, digits, '_', and every UTF-8 byte, so non-English words stay whole
  kDigit = 2,
  kAsciiLetter = 4,
  kUpper = 8,
  kSpace = 16,
};

constexpr std::array<uint8_t, 256> make_classes() {
  std::array<uint8_t, 256> classes{};
  for (int c = 0; c < 256; ++c) {
    uint8_t k = 0;
    if (c >= '0' && c <= '9') k |= kWordByte | kDigit;
    if (c >= 'a' && c <= 'z') k |= kWordByte | kAsciiLetter;
    if (c >= 'A' && c <= 'Z') k |= kWordByte | kAsciiLetter | kUpper;
    if (c == '_' || c >= 0x80) k |= kWordByte;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') k |= kSpace;
    classes[static_cast<size_t>(c)] = k;
  }
  return classes;
}
constexpr auto kClasses = make_classes();

constexpr uint8_t byte_class(char c) {
  return kClasses[static_cast<unsigned char>(c)];
}
constexpr unsigned char lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c + ('a' - 'A')) : c;
}
constexpr bool is_space(unsigned char c) {
  return (kClasses[c] & kSpace) != 0;
}
constexpr bool is_code_symbol(unsigned char c) {
  return c == '{' || c == '}' || c == '(' || c == ')' || c == ';' || c == '=' || c == '[' ||
         c == ']' || c == '<' || c == '>' || c == '_' || c == '#';
}
constexpr bool is_math_operator(unsigned char c) {
  return c == '+' || c == '-' || c == '*' || c == '/' || c == '^' || c == '%' || c == '=';
}

// Words are hashed 8 lowercased bytes at a time and n-grams (at most 7 bytes) are packed into
// one integer, so hashing costs a multiply per 8 bytes or per n-gram, not one per byte.
constexpr uint64_t kChunkMultiplier = 0x9e3779b97f4a7c15ULL;
constexpr uint64_t absorb(uint64_t h, uint64_t chunk) {
  return std::rotl((h ^ chunk) * kChunkMultiplier, 29);
}

// Multiplicative hashing: the top bits of the product depend on every bit of `hash`. One
// multiply per feature; the callers' hashes are already mixed or are distinct packed bytes.
uint32_t to_bucket(uint64_t hash, uint32_t bits) {
  return static_cast<uint32_t>((hash * 0xd6e8feb86659fd93ULL) >> (64 - bits));
}

uint32_t capped_log2(uint64_t n, uint32_t cap) {
  return std::min<uint32_t>(static_cast<uint32_t>(std::bit_width(n)), cap);
}

// A word of at most 7 bytes read from one 8-byte load (SWAR), as add_word would see it.
struct ShortWord {
  size_t length;   // 8 means "8 bytes or more": not a short word
  uint64_t chunk;  // the bytes lowercased, packed little-endian, zero above `length`
  uint32_t digits;
  uint32_t letters;
  uint32_t uppers;
};

constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kHighs = 0x8080808080808080ULL;

// High bit of each byte set where the 7-bit value `t` is in [lo, hi].
constexpr uint64_t in_range(uint64_t t, uint8_t lo, uint8_t hi) {
  const uint64_t at_least_lo = t + kOnes * (0x80U - lo);
  const uint64_t above_hi = t + kOnes * (0x7FU - hi);
  return at_least_lo & ~above_hi & kHighs;
}

// Number of bytes whose high bit is set in a mask of high bits (no popcnt instruction in the
// baseline x86-64 target, and std::popcount becomes a library call).
constexpr uint32_t count_highs(uint64_t highs) {
  return static_cast<uint32_t>(((highs >> 7) * kOnes) >> 56);
}

// Reads 8 bytes at p (the caller guarantees them); bytes at or beyond `available` end the word.
ShortWord scan_short_word(const char* p, size_t available) {
  uint64_t x;
  std::memcpy(&x, p, 8);
  if constexpr (std::endian::native == std::endian::big) x = __builtin_bswap64(x);
  const uint64_t non_ascii = x & kHighs;
  const uint64_t t = x & ~kHighs;
  const uint64_t upper = in_range(t, 'A', 'Z') & ~non_ascii;
  const uint64_t letter = in_range(t | (kOnes * 0x20), 'a', 'z') & ~non_ascii;
  const uint64_t digit = in_range(t, '0', '9') & ~non_ascii;
  const uint64_t v = t ^ (kOnes * '_');
  const uint64_t underscore = ~(((v & ~kHighs) + ~kHighs) | v) & kHighs & ~non_ascii;
  uint64_t word = non_ascii | letter | digit | underscore;
  if (available < 8) word &= (uint64_t{1} << (8 * available)) - 1;
  const uint64_t non_word = ~word & kHighs;
  if (non_word == 0) return {8, 0, 0, 0, 0};
  const auto length = static_cast<size_t>(std::countr_zero(non_word) / 8);
  const uint64_t keep = length == 0 ? 0 : (~uint64_t{0} >> (64 - 8 * length));
  const uint64_t kept_highs = keep & kHighs;
  return {length, (x | (upper >> 2)) & keep, count_highs(digit & kept_highs),
          count_highs(letter & kept_highs), count_highs(upper & kept_highs)};
}

// Counts gathered in the one pass over the text; they become the dense indicator features.
struct TextStats {
  uint32_t words = 0;
  uint32_t numbers = 0;
  uint32_t max_number_digits = 0;
  uint32_t digits = 0;
  uint32_t letters = 0;
  uint32_t uppers = 0;
  uint32_t latex = 0;
  uint32_t code_symbols = 0;
  uint32_t math_operators = 0;
  uint32_t question_marks = 0;
  uint32_t newlines = 0;
  uint32_t sentences = 0;
  bool paragraph_break = false;
  uint32_t number_separators = 0;
  uint32_t money_or_percent = 0;
  uint32_t choice_letters = 0;  // bit i set: a line starts with the i-th letter + "." or ")"
  uint64_t first_word = 0;
  unsigned char last_char = 0;
};

class Featurizer {
 public:
  Featurizer(const FeaturizerConfig& config, FeatureScratch& scratch, size_t chars, bool scaled)
      : config_(config), scratch_(scratch), features_(scratch.features), scaled_(scaled) {
    // Upper bounds, so the hot loops write through raw pointers without capacity checks:
    // a token per char, a bigram per token, and per n-gram length at most L + 2 <= 3 L
    // n-grams for a word of L chars (markers counted; only words starting in the window).
    const size_t lengths =
        config.char_ngram_min == 0 ? 0 : config.char_ngram_max - config.char_ngram_min + 1;
    const size_t ngram_chars = std::min<size_t>(chars, size_t{config.char_ngram_chars} + 64);
    const size_t max_ngrams = 3 * lengths * ngram_chars;
    grow(features_, 2 * chars + max_ngrams + kDenseSlots);  // n-grams are copied in at the end
    grow(scratch.char_features, max_ngrams);
    grow(scratch.word_hashes, chars);
    grow(scratch.word_spans, chars);
    out_ = features_.data();
    char_out_ = scratch.char_features.data();
    words_ = scratch.word_hashes.data();
    spans_ = scratch.word_spans.data();
  }

  void run(std::string_view text) {
    const size_t end = std::min<size_t>(text.size(), config_.max_chars);
    size_t i = 0;
    bool line_start = true;
    while (i < end) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (byte_class(text[i]) & kWordByte) {
        // Most words are shorter than 8 bytes: find the end, lowercase, pack and count them
        // from one 8-byte load, without a branch per byte. Longer words take a second pass
        // (add_word), which needs the length before hashing the first 8 bytes.
        size_t j = i;
        uint64_t chunk = 0;
        uint32_t digits = 0;
        uint32_t letters = 0;
        uint32_t uppers = 0;
        bool longer = false;
        if (i + 8 <= text.size()) {
          const ShortWord word = scan_short_word(text.data() + i, end - i);
          longer = word.length >= 8;
          j = i + (longer ? 8 : word.length);
          chunk = word.chunk;
          digits = word.digits;
          letters = word.letters;
          uppers = word.uppers;
        } else {
          unsigned shift = 0;
          while (j < end && j < i + 8) {
            const auto b = static_cast<unsigned char>(text[j]);
            const uint8_t k = kClasses[b];
            if (!(k & kWordByte)) break;
            digits += (k & kDigit) ? 1 : 0;
            letters += (k & kAsciiLetter) ? 1 : 0;
            uppers += (k & kUpper) ? 1 : 0;
            chunk |= uint64_t{lower(b)} << shift;
            shift += 8;
            ++j;
          }
          longer = j == i + 8;
        }
        if (longer) {
          while (j < end && (byte_class(text[j]) & kWordByte)) ++j;
        }
        spans_[span_count_++] = WordSpan(static_cast<uint32_t>(i), static_cast<uint32_t>(j));
        if (line_start) note_choice(text, i, j, end);
        if (longer) {
          add_word(text.substr(i, j - i), i);
        } else {
          add_short_word(text.substr(i, j - i), i, chunk, digits, letters, uppers);
        }
        i = j;
        line_start = false;
        continue;
      }
      if (is_space(c)) {
        if (c == '\n') {
          ++stats_.newlines;
          if (i + 1 < end && text[i + 1] == '\n') stats_.paragraph_break = true;
          line_start = true;
        }
      } else {
        add_punctuation(c, i + 1 == end || is_space(static_cast<unsigned char>(text[i + 1])));
        if ((c == '.' || c == ',') && i > 0 && i + 1 < end && (byte_class(text[i - 1]) & kDigit) &&
            (byte_class(text[i + 1]) & kDigit)) {
          ++stats_.number_separators;  // 3.5 or 1,200
        }
        line_start = false;
      }
      ++i;
    }
    for (size_t k = end; k > 0; --k) {
      const auto c = static_cast<unsigned char>(text[k - 1]);
      if (!is_space(c)) {
        stats_.last_char = c;
        break;
      }
    }
    scratch_.word_tokens = count_;
    add_bigrams();
    scratch_.bigrams = count_ - scratch_.word_tokens;
    scale_text_features();
    scratch_.char_ngrams = char_count_;
    const size_t dense_begin = count_;
    if (config_.use_dense) add_dense(text.size());
    scratch_.dense = count_ - dense_begin;
    features_.resize(count_);  // shrinking: no reallocation, no writes
    scratch_.word_spans.resize(span_count_);
  }

 private:
  void note_choice(std::string_view text, size_t begin, size_t end_of_word, size_t end) {
    const auto c = static_cast<unsigned char>(text[begin]);
    if (end_of_word != begin + 1 || end_of_word >= end) return;
    const char next = text[end_of_word];
    if ((next == '.' || next == ')') && c >= 'A' && c <= 'H')
      stats_.choice_letters |= 1U << (c - 'A');
  }

  void add_word(std::string_view word, size_t position) {
    ++stats_.words;
    uint64_t h = kFnvOffset ^ kWordSeed ^ word.size();
    uint64_t chunk = 0;
    unsigned shift = 0;
    uint32_t digits = 0;
    for (const char ch : word) {
      const uint8_t k = byte_class(ch);
      digits += (k & kDigit) ? 1 : 0;
      stats_.letters += (k & kAsciiLetter) ? 1 : 0;
      stats_.uppers += (k & kUpper) ? 1 : 0;
      chunk |= uint64_t{lower(static_cast<unsigned char>(ch))} << shift;
      shift += 8;
      if (shift == 64) {
        h = absorb(h, chunk);
        chunk = 0;
        shift = 0;
      }
    }
    h = absorb(h, chunk);
    stats_.digits += digits;
    finish_word(word, position, digits, h);
  }

  // add_word for a word of at most 7 bytes, already lowercased and packed into `chunk`.
  void add_short_word(std::string_view word, size_t position, uint64_t chunk, uint32_t digits,
                      uint32_t letters, uint32_t uppers) {
    ++stats_.words;
    stats_.letters += letters;
    stats_.uppers += uppers;
    stats_.digits += digits;
    uint64_t h = absorb(kFnvOffset ^ kWordSeed ^ word.size(), chunk);
    finish_word(word, position, digits, h);
  }

  // The end of add_word and add_short_word: numbers by shape, char n-grams, the token itself.
  void finish_word(std::string_view word, size_t position, uint32_t digits, uint64_t h) {
    if (digits == word.size()) {
      // Numbers by shape: "16" and "17" say the same about a prompt.
      ++stats_.numbers;
      stats_.max_number_digits = std::max(stats_.max_number_digits, digits);
      h = mix_hash(kNumberSeed, std::min<uint32_t>(digits, 8));
    } else if (config_.char_ngram_min > 0 && position < config_.char_ngram_chars) {
      add_char_ngrams(word);
    }
    if (stats_.words == 1) stats_.first_word = h;
    push_token(h);
  }

  void add_punctuation(unsigned char c, bool before_space) {
    if (c == '?') ++stats_.question_marks;
    if ((c == '.' || c == '?' || c == '!') && before_space) ++stats_.sentences;
    if (c == '\\' || c == '$') ++stats_.latex;
    if (c == '%' || c == '$') ++stats_.money_or_percent;
    if (is_code_symbol(c)) ++stats_.code_symbols;
    if (is_math_operator(c)) ++stats_.math_operators;
    push_token(fnv_step(kFnvOffset ^ kPunctSeed, c));
  }

  void push_token(uint64_t hash) {
    words_[word_count_++] = hash;
    out_[count_++] = Feature(to_bucket(hash, config_.bucket_bits), 1.0F);
  }

  // N-grams of "<word>" (markers included), each packed into the low bytes of an integer.
  void add_char_ngrams(std::string_view word) {
    const size_t length = std::min(word.size(), kMaxWordCharsForNgrams);
    const uint32_t minn = config_.char_ngram_min;
    const uint32_t maxn = config_.char_ngram_max;
    if (minn == 3 && maxn == 5) return add_char_ngrams_3_to_5(word, length);
    uint64_t window = '<';
    uint32_t seen = 1;
    for (size_t k = 0; k <= length; ++k) {
      const auto c = k < length ? lower(static_cast<unsigned char>(word[k])) : '>';
      window = (window << 8) | c;
      ++seen;
      const uint32_t top = std::min(maxn, seen);
      for (uint32_t n = minn; n <= top; ++n) {
        const uint64_t gram = window & (~uint64_t{0} >> (64 - 8 * n));
        char_out_[char_count_++] =
            Feature(to_bucket(gram ^ (uint64_t{n} << 56) ^ kCharSeed, config_.bucket_bits), 1.0F);
      }
    }
  }

  // add_char_ngrams for the shipped lengths (3 to 5), unrolled: the same n-grams in the same
  // order, without a loop over lengths per byte (the n-grams are most of the features).
  void add_char_ngrams_3_to_5(std::string_view word, size_t length) {
    const uint32_t bits = config_.bucket_bits;
    Feature* out = char_out_ + char_count_;
    const auto emit = [&](uint64_t gram, uint64_t n) {
      *out++ = Feature(to_bucket(gram ^ (n << 56) ^ kCharSeed, bits), 1.0F);
    };
    uint64_t window = '<';
    // "<" plus the first two bytes: the first 3-gram ends at k = 1.
    for (size_t k = 0; k <= length; ++k) {
      const auto c = k < length ? lower(static_cast<unsigned char>(word[k])) : '>';
      window = (window << 8) | c;
      if (k >= 1) emit(window & 0xFFFFFFULL, 3);
      if (k >= 2) emit(window & 0xFFFFFFFFULL, 4);
      if (k >= 3) emit(window & 0xFFFFFFFFFFULL, 5);
    }
    char_count_ = static_cast<size_t>(out - char_out_);
  }

  void add_bigrams() {
    if (!config_.use_bigrams) return;
    for (size_t k = 1; k < word_count_; ++k) {
      out_[count_++] = Feature(
          to_bucket(mix_hash(kBigramSeed ^ words_[k - 1], words_[k]), config_.bucket_bits), 1.0F);
    }
  }

  void scale_text_features() {
    if (scaled_) scale(out_, 0, count_, 1.0F);
    const size_t words_end = count_;
    std::copy(char_out_, char_out_ + char_count_, out_ + count_);
    count_ += char_count_;
    if (scaled_) {
      scale(out_, words_end, count_, static_cast<float>(config_.char_ngram_weight_pct) / 100.0F);
    }
  }

  static void scale(Feature* features, size_t begin, size_t end, float weight) {
    if (end <= begin) return;
    const float value = family_value(weight, end - begin);
    for (size_t i = begin; i < end; ++i) features[i].value = value;
  }

  // Each dense property twice: alone, and crossed with the prompt's shape, so "long" can mean
  // something different for a multiple-choice question than for a word problem.
  void add_indicator(uint64_t kind, uint64_t bucket) {
    const uint64_t plain = mix_hash(kDenseSeed ^ kind, bucket);
    out_[count_++] = Feature(to_bucket(plain, config_.bucket_bits), 1.0F);
    out_[count_++] = Feature(to_bucket(mix_hash(plain, prompt_shape_), config_.bucket_bits), 1.0F);
  }

  uint64_t prompt_shape() const {
    if (std::popcount(stats_.choice_letters) >= 2) return 1;
    if (stats_.code_symbols * 20 > stats_.words && stats_.words > 0) return 2;
    if (stats_.latex > 0) return 3;
    if (stats_.numbers >= 2) return 4;
    return 5;
  }

  void add_dense(size_t total_chars) {
    prompt_shape_ = prompt_shape();
    const uint32_t chars = std::max<uint32_t>(
        1, static_cast<uint32_t>(std::min<size_t>(total_chars, config_.max_chars)));
    add_indicator(1, capped_log2(total_chars, 16));
    add_indicator(2, capped_log2(stats_.words, 12));
    add_indicator(3, capped_log2(stats_.numbers, 6));
    add_indicator(4, std::min<uint32_t>(stats_.max_number_digits, 8));
    add_indicator(5, std::min<uint32_t>(20 * stats_.digits / chars, 6));
    add_indicator(6, capped_log2(stats_.latex, 6));
    add_indicator(7, std::min<uint32_t>(40 * stats_.code_symbols / chars, 8));
    add_indicator(8, capped_log2(stats_.math_operators, 6));
    add_indicator(9, std::min<uint32_t>(stats_.question_marks, 4));
    add_indicator(10, capped_log2(stats_.newlines, 6));
    add_indicator(11, capped_log2(stats_.sentences, 6));
    add_indicator(12, stats_.paragraph_break ? 1 : 0);
    add_indicator(13, std::popcount(stats_.choice_letters) >= 2 ? 1 : 0);
    add_indicator(14, stats_.letters == 0 ? 11 : 10 * stats_.uppers / stats_.letters);
    add_indicator(15, stats_.first_word);
    add_indicator(16, stats_.last_char);
    // Finer scales for the difficulty signals of word problems (quarter octaves, exact counts).
    add_indicator(17, quarter_log2(total_chars, 64));
    add_indicator(18, quarter_log2(stats_.words, 48));
    add_indicator(19, std::min<uint32_t>(stats_.numbers, 15));
    add_indicator(20, std::min<uint32_t>(stats_.sentences, 12));
    add_indicator(21, std::min<uint32_t>(stats_.number_separators, 4));
    add_indicator(22, std::min<uint32_t>(stats_.money_or_percent, 4));
  }

  static uint32_t quarter_log2(uint64_t n, uint32_t cap) {
    return n == 0 ? 0
                  : std::min<uint32_t>(
                        static_cast<uint32_t>(4.0 * std::log2(static_cast<double>(n))) + 1, cap);
  }

  const FeaturizerConfig& config_;
  FeatureScratch& scratch_;
  std::vector<Feature>& features_;
  Feature* out_;
  size_t count_ = 0;
  Feature* char_out_;
  size_t char_count_ = 0;
  uint64_t* words_;
  size_t word_count_ = 0;
  WordSpan* spans_;
  size_t span_count_ = 0;
  TextStats stats_;
  uint64_t prompt_shape_ = 0;
  bool scaled_;
};

}  // namespace

float family_value(float weight, size_t count) {
  return weight / std::sqrt(static_cast<float>(count));
}

uint64_t hash_bytes(std::string_view bytes, uint64_t seed) {
  uint64_t h = kFnvOffset ^ seed;
  for (const char c : bytes) h = fnv_step(h, static_cast<unsigned char>(c));
  return fmix64(h);
}

uint64_t mix_hash(uint64_t a, uint64_t b) {
  return fmix64(a * 0x9e3779b97f4a7c15ULL + b);
}

namespace {

// The one place a Featurizer runs, so run() is inlined once and its counters stay in
// registers (out of line, every count_++ went through memory).
[[gnu::noinline]] void featurize_with(const FeaturizerConfig& config, std::string_view text,
                                      FeatureScratch& scratch, bool scaled) {
  Featurizer featurizer(config, scratch, std::min<size_t>(text.size(), config.max_chars), scaled);
  featurizer.run(text);
}

}  // namespace

void featurize(const FeaturizerConfig& config, std::string_view text, FeatureScratch& scratch) {
  featurize_with(config, text, scratch, true);
}

void featurize_unscaled(const FeaturizerConfig& config, std::string_view text,
                        FeatureScratch& scratch) {
  featurize_with(config, text, scratch, false);
}

}  // namespace llm_router::classifier
