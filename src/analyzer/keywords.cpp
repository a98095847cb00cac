#include "llm_router/analyzer/keywords.hpp"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <array>
#include <stdexcept>
#include <tuple>

#include "llm_router/core/case_fold.hpp"
#include "text_util.hpp"
#include "word_table.hpp"

namespace llm_router::analyzer {

// Phrases of 2..4 plain words are matched by a hash of their words' hashes, so the token pass
// finds them too; only phrases with other characters ("c++", "node.js") need RE2.
struct KeywordMatcher::WordIndex {
  static constexpr std::size_t kMaxPhraseWords = 4;
  struct Entry {
    std::vector<std::size_t> sets;  // sets listing this word alone
    bool ends_phrase = false;       // last word of some phrase: worth checking phrases
  };
  WordTable<Entry> sets_of;
  WordTable<std::vector<std::size_t>> phrase_sets_of;  // key: 8 bytes of the phrase hash
  // Bit (last byte & 31) of row (first byte & 31): some key of sets_of starts and ends so. Most
  // words of a text fail this test, which is cheaper than hashing them.
  std::array<std::uint32_t, 32> first_last{};

  static std::size_t slot(char c) { return static_cast<unsigned char>(c) & 31U; }
  void note_key(std::string_view key) {
    if (!key.empty()) first_last[slot(key.front())] |= 1U << slot(key.back());
  }
  bool may_contain(char first, char last) const {
    return (first_last[slot(first)] >> slot(last) & 1U) != 0;
  }

  static std::uint64_t combine(std::uint64_t phrase, std::uint64_t word) {
    return mix_hash(phrase, word);
  }
  static std::string_view key_of(const std::uint64_t& hash) {
    return std::string_view(reinterpret_cast<const char*>(&hash), sizeof hash);
  }
};

struct KeywordMatcher::RegexSet {
  explicit RegexSet(const RE2::Options& options) : set(options, RE2::UNANCHORED) {}
  RE2::Set set;
};

namespace {

bool is_keyword_char(char c) {
  return has_class(c, kWordChar);
}

std::string lowered(std::string_view text) {
  std::string out(text);
  core::lower_utf8_in_place(out.data(), out.size());
  return out;
}

bool is_ascii(char c) {
  return static_cast<unsigned char>(c) < 0x80;
}

// The size bytes of text at start, lowered into out (as lowered() lowers them).
std::string_view lower_into(std::string_view text, std::size_t start, std::size_t size, char* out) {
  bool ascii = true;
  for (std::size_t k = 0; k < size; ++k) {
    out[k] = table_lower(text[start + k]);
    ascii = ascii && is_ascii(out[k]);
  }
  if (!ascii) core::lower_utf8_in_place(out, size);
  return std::string_view(out, size);
}

// The first and last bytes of word once lowered, without lowering the rest of it.
std::pair<char, char> lowered_edges(std::string_view word) {
  char first = table_lower(word.front());
  char last = table_lower(word.back());
  char character[4];
  if (!is_ascii(first)) {
    first = lower_into(word, 0, std::min<std::size_t>(word.size(), 4), character).front();
  }
  if (!is_ascii(last)) {
    std::size_t at = word.size() - 1;
    while (at > 0 && word.size() - at < 4 &&
           (static_cast<unsigned char>(word[at]) & 0xC0) == 0x80) {
      --at;
    }
    last = lower_into(word, at, word.size() - at, character).back();
  }
  return {first, last};
}

// The end of the run of keyword characters starting at i.
std::size_t word_end(std::string_view text, std::size_t i) {
  while (i < text.size() && is_keyword_char(text[i])) ++i;
  return i;
}

// The byte length of a character of a script written without spaces between words (CJK
// punctuation, kana, ideographs, Yi, Hangul: U+3000..U+D7FF, three UTF-8 bytes led by
// 0xE3..0xED) starting at i, or 0.
std::size_t unspaced_char_length(std::string_view text, std::size_t i, std::size_t end) {
  const auto lead = static_cast<unsigned char>(text[i]);
  return lead >= 0xE3 && lead <= 0xED && i + 3 <= end ? 3 : 0;
}

// The byte length of a non-ASCII space or punctuation mark that ends a word (a no-break space,
// «», ¿¡, the General Punctuation block's spaces, dashes, curly quotes, ellipsis and direction
// marks, a byte-order mark, full-width punctuation) starting at i, or 0. The zero-width
// (non-)joiners are inside words (Persian, emoji sequences).
std::size_t separator_length(std::string_view text, std::size_t i, std::size_t end) {
  const auto byte = [&](std::size_t k) {
    return i + k < end ? static_cast<unsigned char>(text[i + k]) : 0u;
  };
  const unsigned a = byte(0), b = byte(1), c = byte(2);
  if (a == 0xC2) {
    return b == 0xA0 || b == 0xA1 || b == 0xAB || b == 0xBB || b == 0xBF ? 2 : 0;
  }
  if (a == 0xE2 && b == 0x80) return c != 0x8C && c != 0x8D && c >= 0x80 ? 3 : 0;
  if (a == 0xE2 && b == 0x81) return c >= 0x80 && c <= 0xAF ? 3 : 0;
  if (a == 0xEF && b == 0xBB && c == 0xBF) return 3;
  if (a == 0xEF && b == 0xBC) {  // U+FF00..FF3F: full-width ASCII punctuation, not letters
    const unsigned code = c - 0x80;
    return c >= 0x80 && c <= 0xBF && (code <= 0x0F || (code >= 0x1A && code <= 0x20)) ? 3 : 0;
  }
  return 0;
}

// Calls on_word(start, length) for the words of the run [start, end): each character of an
// unspaced script is a word of its own, so "请用Python写" holds "python" and a Chinese keyword
// is a phrase of its characters; a non-ASCII space or punctuation mark ends a word ("refund…",
// "“golang”").
template <typename OnWord>
void split_run(std::string_view text, std::size_t start, std::size_t end, OnWord&& on_word) {
  std::size_t word_start = start;
  for (std::size_t i = start; i < end;) {
    if (static_cast<unsigned char>(text[i]) < 0xC2) {
      ++i;
      continue;
    }
    if (const std::size_t gap = separator_length(text, i, end); gap != 0) {
      if (i > word_start) on_word(word_start, i - word_start);
      i += gap;
      word_start = i;
      continue;
    }
    const std::size_t n = unspaced_char_length(text, i, end);
    if (n == 0) {
      ++i;
      continue;
    }
    if (i > word_start) on_word(word_start, i - word_start);
    on_word(i, n);
    i += n;
    word_start = i;
  }
  if (end > word_start) on_word(word_start, end - word_start);
}

// The words of a keyword: runs of word characters between single spaces, split as split_run
// splits the text; empty when it holds any other character ("c++", "node.js").
std::vector<std::string_view> plain_words(std::string_view phrase) {
  std::vector<std::string_view> words;
  std::size_t start = 0;
  while (start <= phrase.size()) {
    const std::size_t space = std::min(phrase.find(' ', start), phrase.size());
    if (space == start || word_end(phrase, start) != space) return {};
    split_run(phrase, start, space, [&](std::size_t at, std::size_t length) {
      words.push_back(phrase.substr(at, length));
    });
    start = space + 1;
  }
  return words;
}

bool is_vowel(char c) {
  return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

// Ends consonant-vowel-consonant, the final doubled before -ed/-ing ("stop" -> "stopped";
// "cancel" -> "cancelled" beside "canceled": both forms are kept, stress is not known here).
bool doubles_final(std::string_view word) {
  const std::size_t n = word.size();
  const char last = word[n - 1];
  return !is_vowel(last) && last != 'w' && last != 'x' && last != 'y' && is_vowel(word[n - 2]) &&
         !is_vowel(word[n - 3]);
}

// The word and its regular English inflections (-s/-es/-ies, -ed, -ing), so `refund` also
// matches "refunds", "refunded" and "refunding". Plurals for plain ASCII words of 3+ letters,
// -ed/-ing for 4+ (shorter ones make other words: "fee" -> "feed", "rat" -> "rating"); a short
// word ending consonant-vowel-consonant doubles its last letter ("stop" -> "stopped", never
// "stoped"; "star" -> "starred", not "stared"), a longer one keeps both ("cancelled",
// "canceled": stress is not known here).
std::vector<std::string> word_forms(std::string_view word) {
  std::vector<std::string> forms{std::string(word)};
  const bool letters =
      std::all_of(word.begin(), word.end(), [](char c) { return c >= 'a' && c <= 'z'; });
  if (word.size() < 3 || !letters) return forms;
  const std::string w(word);
  const char last = w.back();
  const bool consonant_y = last == 'y' && !is_vowel(w[w.size() - 2]);
  const std::string stem_y = w.substr(0, w.size() - 1);
  if (last == 's' || last == 'x' || last == 'z' || w.ends_with("ch") || w.ends_with("sh")) {
    forms.push_back(w + "es");
  } else if (consonant_y) {
    forms.push_back(stem_y + "ies");
  } else {
    forms.push_back(w + "s");
  }
  if (w.size() < 4) return forms;
  const bool doubles = doubles_final(w);
  if (doubles) {
    forms.push_back(w + last + "ed");
    forms.push_back(w + last + "ing");
    if (w.size() <= 4) return forms;
  }
  if (last == 'e') {
    forms.push_back(w + "d");
  } else if (consonant_y) {
    forms.push_back(stem_y + "ied");
  } else {
    forms.push_back(w + "ed");
  }
  if (w.ends_with("ie")) {
    forms.push_back(w.substr(0, w.size() - 2) + "ying");
  } else if (last == 'e' && !w.ends_with("ee") && !w.ends_with("ye") && !w.ends_with("oe")) {
    forms.push_back(stem_y + "ing");
  } else {
    forms.push_back(w + "ing");
  }
  return forms;
}

// Every phrase its words' forms make, each word inflected while the count stays small; past
// that only the last word is ("cancel subscription" -> "cancel subscriptions").
std::vector<std::vector<std::string>> phrase_forms(const std::vector<std::string_view>& words) {
  constexpr std::size_t kMaxPhraseForms = 64;
  std::vector<std::vector<std::string>> per_word;
  std::size_t count = 1;
  for (const auto word : words) {
    per_word.push_back(word_forms(word));
    count *= per_word.back().size();
  }
  if (count > kMaxPhraseForms) {
    for (std::size_t i = 0; i + 1 < per_word.size(); ++i) per_word[i].resize(1);
  }
  std::vector<std::vector<std::string>> phrases{{}};
  for (const auto& forms : per_word) {
    std::vector<std::vector<std::string>> longer;
    for (const auto& phrase : phrases) {
      for (const auto& form : forms) {
        longer.push_back(phrase);
        longer.back().push_back(form);
      }
    }
    phrases = std::move(longer);
  }
  return phrases;
}

// Word edges for a literal keyword: \b only beside an ASCII letter, digit or '_', the only
// characters RE2's \b knows.
bool needs_edge(char c) {
  return static_cast<unsigned char>(c) < 0x80 && is_keyword_char(c);
}

}  // namespace

KeywordMatcher::KeywordMatcher(std::vector<KeywordSet> sets) {
  RE2::Options options;
  options.set_log_errors(false);
  regex_set_ = std::make_unique<RegexSet>(options);
  words_ = std::make_unique<WordIndex>();
  for (std::size_t s = 0; s < sets.size(); ++s) {
    names_.push_back(sets[s].name);
    for (const auto& word : sets[s].words) {
      const std::string lower = lowered(word);
      const auto parts = plain_words(lower);
      if (parts.size() == 1) {
        for (const auto& form : word_forms(parts.front())) {
          words_->note_key(form);
          auto& owners = words_->sets_of[form].sets;
          if (owners.empty() || owners.back() != s) owners.push_back(s);
        }
        continue;
      }
      if (parts.size() >= 2 && parts.size() <= WordIndex::kMaxPhraseWords) {
        for (const auto& phrase : phrase_forms(parts)) {
          std::uint64_t hash = 0;
          for (const auto& part : phrase) hash = WordIndex::combine(hash, word_hash(part));
          words_->note_key(phrase.back());
          words_->sets_of[phrase.back()].ends_phrase = true;
          auto& owners = words_->phrase_sets_of[WordIndex::key_of(hash)];
          if (owners.empty() || owners.back() != s) owners.push_back(s);
        }
        continue;
      }
      // Other phrases ("c++", "node.js") become a case-insensitive literal with word edges.
      std::string pattern = "(?i)";
      if (!lower.empty() && needs_edge(lower.front())) pattern += "\\b";
      pattern += RE2::QuoteMeta(lower);
      if (!lower.empty() && needs_edge(lower.back())) pattern += "\\b";
      std::string error;
      if (regex_set_->set.Add(pattern, &error) < 0) {
        throw std::invalid_argument("keyword set '" + sets[s].name + "': bad word '" + word +
                                    "': " + error);
      }
      regex_owner_.push_back(s);
    }
    for (const auto& pattern : sets[s].patterns) {
      std::string error;
      if (regex_set_->set.Add(pattern, &error) < 0) {
        throw std::invalid_argument("keyword set '" + sets[s].name + "': invalid pattern '" +
                                    pattern + "': " + error);
      }
      regex_owner_.push_back(s);
    }
  }
  if (!regex_owner_.empty() && !regex_set_->set.Compile()) {
    throw std::invalid_argument("keyword patterns are too large to compile");
  }
  if (regex_owner_.empty()) regex_set_.reset();
}

KeywordMatcher::~KeywordMatcher() = default;
KeywordMatcher::KeywordMatcher(KeywordMatcher&&) noexcept = default;
KeywordMatcher& KeywordMatcher::operator=(KeywordMatcher&&) noexcept = default;

template <typename ForEachWord>
std::vector<std::string> KeywordMatcher::match_words(std::string_view text,
                                                     ForEachWord&& for_each_word,
                                                     std::vector<std::string>* matched) const {
  std::vector<std::string> out;
  if (names_.empty()) return out;
  std::vector<bool> hit(names_.size(), false);
  std::vector<std::string_view> first(matched != nullptr ? names_.size() : 0);
  const auto mark = [&](std::size_t s, std::size_t start, std::size_t end) {
    if (matched != nullptr && !hit[s]) first[s] = text.substr(start, end - start);
    hit[s] = true;
  };
  const bool phrases = words_->phrase_sets_of.size() > 0;
  if (words_->sets_of.size() > 0 || phrases) {
    char buffer[64];
    // The last words as (start, length) in text; hashed only when a phrase may end here.
    struct Span {
      std::size_t start = 0;
      std::size_t length = 0;
    };
    std::array<Span, WordIndex::kMaxPhraseWords> recent{};
    std::size_t seen = 0;
    auto hash_of = [&](const Span& span) {
      char lowered_word[64];
      return word_hash(
          lower_into(text, span.start, std::min(span.length, sizeof lowered_word), lowered_word));
    };
    for_each_word([&](std::size_t start, std::size_t length) {
      if (phrases) {
        recent[seen % recent.size()] = Span{start, length};
        ++seen;
      }
      // The word as lowered into at most 64 bytes; lowered only if its first and last bytes
      // pass the filter.
      const std::size_t kept = std::min(length, sizeof buffer);
      char first = table_lower(text[start]);
      char last = table_lower(text[start + kept - 1]);
      if (!is_ascii(first) || !is_ascii(last)) {
        std::tie(first, last) = lowered_edges(text.substr(start, kept));
      }
      if (!words_->may_contain(first, last)) return;
      const std::string_view word = lower_into(text, start, kept, buffer);
      const std::uint64_t hash_of_word = word_hash(word);
      const auto* entry = words_->sets_of.find(word, hash_of_word);
      if (entry != nullptr) {
        for (std::size_t s : entry->sets) mark(s, start, start + length);
      }
      if (!phrases || entry == nullptr || !entry->ends_phrase) return;
      // Phrases ending at this word, 2..4 words long.
      for (std::size_t n = 2; n <= std::min(seen, recent.size()); ++n) {
        std::uint64_t hash = 0;
        for (std::size_t k = n; k > 0; --k) {
          const std::uint64_t word_hash_k =
              k == 1 ? hash_of_word : hash_of(recent[(seen - k) % recent.size()]);
          hash = WordIndex::combine(hash, word_hash_k);
        }
        if (const auto* sets = words_->phrase_sets_of.find(WordIndex::key_of(hash))) {
          const std::size_t phrase_start = recent[(seen - n) % recent.size()].start;
          for (std::size_t s : *sets) mark(s, phrase_start, start + length);
        }
      }
    });
  }
  if (regex_set_) {
    std::vector<int> patterns;
    // A DFA out of memory reports no match rather than failing the request.
    regex_set_->set.Match(re2::StringPiece(text.data(), text.size()), &patterns);
    for (int m : patterns) hit[regex_owner_[static_cast<std::size_t>(m)]] = true;
  }
  for (std::size_t s = 0; s < names_.size(); ++s) {
    if (!hit[s]) continue;
    out.push_back(names_[s]);
    if (matched != nullptr) matched->emplace_back(first[s]);
  }
  return out;
}

std::vector<std::string> KeywordMatcher::match(std::string_view text,
                                               std::vector<std::string>* matched) const {
  return match_words(
      text,
      [&](auto&& on_word) {
        std::size_t i = 0;
        while (i < text.size()) {
          while (i < text.size() && !is_keyword_char(text[i])) ++i;
          const std::size_t start = i;
          i = word_end(text, i);
          if (i > start) split_run(text, start, i, on_word);
        }
      },
      matched);
}

std::vector<std::string> KeywordMatcher::match(std::string_view text,
                                               std::span<const classifier::WordSpan> words,
                                               std::vector<std::string>* matched) const {
  return match_words(
      text,
      [&](auto&& on_word) {
        for (const classifier::WordSpan& word : words)
          split_run(text, word.begin, word.end, on_word);
      },
      matched);
}

}  // namespace llm_router::analyzer
