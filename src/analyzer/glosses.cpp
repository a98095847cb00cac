#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "llm_router/analyzer/detectors.hpp"
#include "llm_router/core/case_fold.hpp"
#include "text_util.hpp"
#include "word_table.hpp"

namespace llm_router::analyzer {
namespace {

struct GlossEntry {
  std::string_view form;  // lowercase; a trailing '*' makes it a stem (a prefix of words)
  std::string_view english;
};

constexpr GlossEntry kTaskGlosses[] = {
#include "gloss_table.inc"
};

constexpr GlossEntry kSentimentGlosses[] = {
#include "sentiment_gloss_table.inc"
};

constexpr std::size_t kWordBytes = 64;        // longer words are read cut
constexpr std::size_t kMaxStemTail = 6;       // characters a stem's word may add to it
constexpr std::size_t kMaxUnspacedChars = 6;  // longest Chinese or Japanese form, in characters
constexpr std::size_t kMaxGlosses = 64;

bool is_han_or_kana(char32_t cp) {
  return (cp >= 0x3040 && cp <= 0x30FF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xF900 && cp <= 0xFAFF);
}

// Letters and digits of any script; not the punctuation and symbols of the Latin-1, general,
// CJK and fullwidth punctuation blocks ("¿", "«", "—", "，", "。").
bool is_word_code_point(char32_t cp) {
  if (cp < 0x80) return (cp >= '0' && cp <= '9') || ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z');
  if (cp < 0xC0) return false;
  if (cp == 0xD7 || cp == 0xF7) return false;
  if (cp >= 0x2000 && cp <= 0x2BFF) return false;
  if (cp >= 0x3000 && cp <= 0x303F) return false;
  if (cp >= 0xFF00 && cp <= 0xFF20) return false;
  if (cp >= 0xFF3B && cp <= 0xFF40) return false;
  if (cp >= 0xFF5B && cp <= 0xFF65) return false;
  return cp != 0xFFFD;
}

std::size_t code_points(std::string_view text) {
  return utf8_length(text);
}

bool is_hangul(char32_t cp) {
  return cp >= 0xAC00 && cp <= 0xD7AF;
}

// The first three characters of a word (two of Korean, whose stems have two syllables; others
// have four letters or more): most words start as no stem does.
std::string_view head_of(std::string_view word) {
  std::size_t end = 0;
  const int chars = is_hangul(next_code_point(word, end)) ? 2 : 3;
  for (int k = 1; k < chars && end < word.size(); ++k) next_code_point(word, end);
  return word.substr(0, end);
}

std::string_view first_character(std::string_view text) {
  std::size_t end = 0;
  next_code_point(text, end);
  return text.substr(0, end);
}

class GlossIndex {
 public:
  explicit GlossIndex(std::span<const GlossEntry> table) {
    for (const auto& entry : table) {
      std::string_view form = entry.form;
      const bool stem = form.ends_with('*');
      if (stem) form.remove_suffix(1);
      if (form.empty()) continue;
      std::size_t at = 0;
      const bool unspaced = !form.empty() && is_han_or_kana(next_code_point(form, at));
      auto& table = stem ? stems_ : unspaced ? unspaced_ : exact_;
      table[form] = entry.english;
      if (unspaced) unspaced_starts_[first_character(form)] = true;
      // Two words ("por qué"): their first is worth remembering.
      if (const auto space = form.find(' '); !stem && space != std::string_view::npos) {
        pair_starts_[form.substr(0, space)] = true;
      }
      if (stem) {
        min_stem_chars_ = std::min(min_stem_chars_, code_points(form));
        stem_heads_[head_of(form)] = true;
      }
    }
  }

  // Whether a listed pair of words starts with this one.
  bool starts_pair(std::string_view lowered) const {
    return pair_starts_.size() > 0 && pair_starts_.find(lowered) != nullptr;
  }

  // The gloss of a listed lowercased word or pair of words, or "".
  std::string_view exact(std::string_view lowered) const {
    const auto* english = exact_.find(lowered);
    return english != nullptr ? *english : std::string_view();
  }

  // The gloss of a lowercased word of a spaced script, or "".
  std::string_view word(std::string_view lowered) const {
    if (const auto* english = exact_.find(lowered)) return *english;
    if (stems_.size() == 0 || stem_heads_.find(head_of(lowered)) == nullptr) return {};
    // Its prefixes, longest first, down to the shortest stem, leaving at most kMaxStemTail.
    std::array<std::size_t, kWordBytes> ends;
    std::size_t chars = 0;
    for (std::size_t i = 0; i < lowered.size() && chars < ends.size();) {
      next_code_point(lowered, i);
      ends[chars++] = i;
    }
    for (std::size_t n = chars; n >= min_stem_chars_ && chars - n <= kMaxStemTail; --n) {
      if (const auto* english = stems_.find(lowered.substr(0, ends[n - 1]))) return *english;
    }
    return {};
  }

  // Calls on_gloss for the forms found in a run of Chinese or Japanese characters, longest
  // first at each position, and with "" for each character no form starts at.
  template <typename OnGloss>
  void unspaced(std::string_view run, OnGloss&& on_gloss) const {
    if (unspaced_.size() == 0) return;
    for (std::size_t at = 0; at < run.size();) {
      // The ends of the next kMaxUnspacedChars characters, read when one of the forms starts
      // with the first.
      std::array<std::size_t, kMaxUnspacedChars> ends;
      std::size_t i = at;
      next_code_point(run, i);
      ends[0] = i;
      std::size_t chars = unspaced_starts_.find(run.substr(at, i - at)) != nullptr ? 1 : 0;
      while (chars > 0 && i < run.size() && chars < ends.size()) {
        next_code_point(run, i);
        ends[chars++] = i;
      }
      std::size_t next = ends[0];
      bool matched = false;
      for (std::size_t n = chars; n > 0 && !matched; --n) {
        if (const auto* english = unspaced_.find(run.substr(at, ends[n - 1] - at))) {
          on_gloss(*english);
          next = ends[n - 1];
          matched = true;
        }
      }
      if (!matched) on_gloss(std::string_view());  // a character without a form: a gap
      at = next;
    }
  }

 private:
  WordTable<std::string_view> exact_;
  WordTable<std::string_view> stems_;
  WordTable<std::string_view> unspaced_;
  WordTable<bool> pair_starts_;
  WordTable<bool> unspaced_starts_;  // the first character of every Chinese or Japanese form
  WordTable<bool> stem_heads_;       // the first three characters of every stem
  std::size_t min_stem_chars_ = SIZE_MAX;
};

const GlossIndex& task_index() {
  static const GlossIndex index(kTaskGlosses);
  return index;
}

const GlossIndex& sentiment_index() {
  static const GlossIndex index(kSentimentGlosses);
  return index;
}

// The glosses of one text, in order, without a gloss repeated at once. With a gap word, the
// words without a gloss between two glosses are kept as that many of it (up to 3): VADER's
// negation reaches three words back, and "no funciona, es una estafa" must not read "not scam".
struct Glosses {
  std::string text;
  std::string_view last;
  std::size_t count = 0;
  std::string_view gap_word;
  std::size_t gap = 0;

  void add(std::string_view english) {
    if (english.empty()) {
      ++gap;
      return;
    }
    if ((english == last && gap == 0) || count == kMaxGlosses) return;
    if (!gap_word.empty() && !text.empty()) {
      for (std::size_t k = 0; k < std::min<std::size_t>(gap, 3); ++k) {
        text.push_back(' ');
        text.append(gap_word);
      }
    }
    gap = 0;
    if (!text.empty()) text.push_back(' ');
    text.append(english);
    last = english;
    ++count;
  }
};

void gloss_into(const GlossIndex& index, std::string_view text, Glosses& out) {
  const auto add = [&](std::string_view english) { out.add(english); };
  // The word before, lowered, when a listed pair starts with it ("por" of "por qué").
  char lowered[2 * kWordBytes + 1];
  std::size_t pair_start = 0;
  // Runs of word characters, split where Chinese or Japanese characters start or stop.
  std::size_t i = 0;
  while (i < text.size() && out.count < kMaxGlosses) {
    std::size_t start = i;
    char32_t cp = next_code_point(text, i);
    if (!is_word_code_point(cp)) continue;
    const bool unspaced = is_han_or_kana(cp);
    std::size_t end = i;
    while (end < text.size()) {
      std::size_t next = end;
      cp = next_code_point(text, next);
      if (!is_word_code_point(cp) || is_han_or_kana(cp) != unspaced) break;
      end = next;
    }
    i = end;
    const std::string_view run = text.substr(start, end - start);
    if (unspaced) {
      index.unspaced(run, add);
      pair_start = 0;
      continue;
    }
    const std::string_view word = core::utf8_prefix(run, kWordBytes);
    char* const at = lowered + pair_start;
    std::copy(word.begin(), word.end(), at);
    core::lower_utf8_in_place(at, word.size());
    const std::string_view lowered_word(at, word.size());
    const std::string_view pair =
        pair_start > 0 ? index.exact(std::string_view(lowered, pair_start + word.size()))
                       : std::string_view();
    add(pair.empty() ? index.word(lowered_word) : pair);
    pair_start = 0;
    if (index.starts_pair(lowered_word)) {
      std::memmove(lowered, at, word.size());
      lowered[word.size()] = ' ';
      pair_start = word.size() + 1;
    }
  }
}

// The glosses of the words of text the index lists, from its head and tail when it is long.
std::string glosses_of(const GlossIndex& index, std::string_view text,
                       std::string_view gap_word = {}) {
  Glosses glosses;
  glosses.gap_word = gap_word;
  if (text.size() <= kGlossedHeadBytes + kGlossedTailBytes) {
    gloss_into(index, text, glosses);
    return std::move(glosses.text);
  }
  // The instruction opens or closes a long prompt ("Summarize: ...", "... Summarize it").
  gloss_into(index, utf8_prefix(text, kGlossedHeadBytes), glosses);
  std::size_t tail = text.size() - kGlossedTailBytes;
  while (tail < text.size() && (static_cast<unsigned char>(text[tail]) & 0xC0) == 0x80) ++tail;
  gloss_into(index, text.substr(tail), glosses);
  return std::move(glosses.text);
}

}  // namespace

std::string english_glosses(std::string_view text) {
  return glosses_of(task_index(), text);
}

std::string english_sentiment_glosses(std::string_view text) {
  return glosses_of(sentiment_index(), text, "the");  // a word VADER gives no tone
}

}  // namespace llm_router::analyzer
