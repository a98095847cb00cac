#include <algorithm>

#include "llm_router/tokenizer/tokenizer.hpp"
#include "llm_router/tokenizer/unicode_classes.hpp"

// Hand-written equivalents of the two pre-tokenization regexes (as js-tiktoken spells them):
//
// cl100k_base:
//   ('s|'S|'t|'T|'re|...|'d|'D)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*
//   |\s*[\r\n]+|\s+(?!\S)|\s+
// o200k_base:
//   [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+('s|...)?
//   |[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*('s|...)?
//   |\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// Each alternative is a function returning the end of its match at a position (or no match),
// reproducing the backtracking the regex engine would do; the first alternative that matches
// wins, exactly like the regex's leftmost-first alternation.
namespace llm_router::tokenizer {

namespace {

struct Char {
  char32_t cp;
  CharClass cls;
};

// Decodes UTF-8; an invalid byte becomes one U+FFFD character of one byte.
void decode(std::string_view text, std::vector<Char>& chars, std::vector<std::size_t>& offsets) {
  chars.reserve(text.size());
  offsets.reserve(text.size() + 1);
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    offsets.push_back(i);
    const unsigned char b = s[i];
    std::size_t len = 1;
    char32_t cp = 0xFFFD;
    if (b < 0x80) {
      cp = b;
    } else {
      const std::size_t want = b >= 0xF0 && b < 0xF5 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 ? 2 : 0;
      if (want != 0 && i + want <= n && b < 0xF5) {
        char32_t value = b & (0x7F >> want);
        bool ok = true;
        for (std::size_t k = 1; k < want && ok; ++k) {
          ok = (s[i + k] & 0xC0) == 0x80;
          value = (value << 6) | (s[i + k] & 0x3F);
        }
        const char32_t minimum = want == 2 ? 0x80 : want == 3 ? 0x800 : 0x10000;
        if (ok && value >= minimum && value <= 0x10FFFF && !(value >= 0xD800 && value <= 0xDFFF)) {
          cp = value;
          len = want;
        }
      }
    }
    chars.push_back({cp, char_class(cp)});
    i += len;
  }
  offsets.push_back(n);
}

class Splitter {
 public:
  explicit Splitter(const std::vector<Char>& chars) : c_(chars), n_(chars.size()) {}

  std::size_t next_cl100k(std::size_t i) const {
    if (auto end = contraction(i)) return end;
    if (auto end = letters_cl100k(i)) return end;
    if (auto end = numbers(i)) return end;
    if (auto end = punctuation(i, false)) return end;
    if (auto end = whitespace(i)) return end;
    return i + 1;
  }

  std::size_t next_o200k(std::size_t i) const {
    if (auto end = with_prefix(i, &Splitter::cased_lower_tail)) return end;
    if (auto end = with_prefix(i, &Splitter::cased_upper_head)) return end;
    if (auto end = numbers(i)) return end;
    if (auto end = punctuation(i, true)) return end;
    if (auto end = whitespace(i)) return end;
    return i + 1;
  }

 private:
  using Alternative = std::size_t (Splitter::*)(std::size_t) const;

  bool at(std::size_t i, char32_t cp) const { return i < n_ && c_[i].cp == cp; }
  bool is(std::size_t i, CharClass cls) const { return i < n_ && c_[i].cls == cls; }
  bool letter(std::size_t i) const {
    return is(i, CharClass::upper) || is(i, CharClass::lower) || is(i, CharClass::letter_other);
  }
  bool number(std::size_t i) const { return is(i, CharClass::number); }
  bool space(std::size_t i) const { return is(i, CharClass::space); }
  bool crlf(std::size_t i) const { return at(i, '\r') || at(i, '\n'); }
  // [^\r\n\p{L}\p{N}]
  bool prefix(std::size_t i) const { return i < n_ && !crlf(i) && !letter(i) && !number(i); }
  // [^\s\p{L}\p{N}]
  bool punct(std::size_t i) const { return i < n_ && !space(i) && !letter(i) && !number(i); }
  // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
  bool upper_set(std::size_t i) const {
    return is(i, CharClass::upper) || is(i, CharClass::letter_other) || is(i, CharClass::mark);
  }
  // [\p{Ll}\p{Lm}\p{Lo}\p{M}]
  bool lower_set(std::size_t i) const {
    return is(i, CharClass::lower) || is(i, CharClass::letter_other) || is(i, CharClass::mark);
  }

  template <typename Pred>
  std::size_t run(std::size_t i, Pred pred) const {
    while (i < n_ && (this->*pred)(i)) ++i;
    return i;
  }

  bool ascii_ci(std::size_t i, char lower) const {
    return at(i, static_cast<char32_t>(lower)) || at(i, static_cast<char32_t>(lower - 32));
  }

  // '(s|t|re|ve|m|ll|d), ASCII letters in either case; 0 when none starts at i.
  std::size_t contraction(std::size_t i) const {
    if (!at(i, '\'')) return 0;
    if (ascii_ci(i + 1, 's') || ascii_ci(i + 1, 't') || ascii_ci(i + 1, 'm') ||
        ascii_ci(i + 1, 'd')) {
      return i + 2;
    }
    if ((ascii_ci(i + 1, 'r') || ascii_ci(i + 1, 'v')) && ascii_ci(i + 2, 'e')) return i + 3;
    if (ascii_ci(i + 1, 'l') && ascii_ci(i + 2, 'l')) return i + 3;
    return 0;
  }

  // [^\r\n\p{L}\p{N}]?\p{L}+
  std::size_t letters_cl100k(std::size_t i) const {
    if (prefix(i) && letter(i + 1)) return run(i + 1, &Splitter::letter);
    if (letter(i)) return run(i, &Splitter::letter);
    return 0;
  }

  // Tries `alternative` after an optional [^\r\n\p{L}\p{N}] prefix: with the prefix first, as
  // the greedy `?` does, then without it.
  std::size_t with_prefix(std::size_t i, Alternative alternative) const {
    if (prefix(i)) {
      if (auto end = (this->*alternative)(i + 1)) return end;
    }
    return (this->*alternative)(i);
  }

  std::size_t with_contraction(std::size_t end) const {
    const auto after = contraction(end);
    return after ? after : end;
  }

  // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+('s|...)?
  std::size_t cased_lower_tail(std::size_t p) const {
    if (p >= n_) return 0;
    const std::size_t q = run(p, &Splitter::upper_set);
    if (lower_set(q)) return with_contraction(run(q, &Splitter::lower_set));
    // Backtrack the upper run until the lower set can start: only a character of both sets
    // (Lm, Lo, M) can be that start, and the lower run then ends right after it.
    for (std::size_t k = q; k > p; --k) {
      if (lower_set(k - 1)) return with_contraction(k);
    }
    return 0;
  }

  // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*('s|...)?
  std::size_t cased_upper_head(std::size_t p) const {
    if (!upper_set(p)) return 0;
    const std::size_t q = run(p, &Splitter::upper_set);
    return with_contraction(run(q, &Splitter::lower_set));
  }

  // \p{N}{1,3}
  std::size_t numbers(std::size_t i) const {
    std::size_t end = i;
    while (end < i + 3 && number(end)) ++end;
    return end == i ? 0 : end;
  }

  bool crlf_or_slash(std::size_t i) const { return crlf(i) || at(i, '/'); }

  // ' ?[^\s\p{L}\p{N}]+[\r\n]*' (o200k: [\r\n/]*)
  std::size_t punctuation(std::size_t i, bool slash) const {
    std::size_t start = i;
    if (at(i, ' ') && punct(i + 1)) {
      start = i + 1;
    } else if (!punct(i)) {
      return 0;
    }
    const std::size_t end = run(start, &Splitter::punct);
    return slash ? run(end, &Splitter::crlf_or_slash) : run(end, &Splitter::crlf);
  }

  // \s*[\r\n]+ | \s+(?!\S) | \s+
  std::size_t whitespace(std::size_t i) const {
    if (!space(i)) return 0;
    const std::size_t end = run(i, &Splitter::space);
    // \s*[\r\n]+: backtracking stops at the last line break of the run.
    for (std::size_t k = end; k > i; --k) {
      if (crlf(k - 1)) return k;
    }
    // \s+(?!\S): the whole run at the end of the text, else all but its last character.
    if (end == n_) return end;
    if (end - i > 1) return end - 1;
    return end;  // \s+
  }

  const std::vector<Char>& c_;
  std::size_t n_;
};

}  // namespace

CharClass char_class(char32_t code_point) noexcept {
  using detail::kClassRunCount;
  using detail::kClassRuns;
  const auto* end = kClassRuns + kClassRunCount;
  const auto* it =
      std::upper_bound(kClassRuns, end, code_point,
                       [](char32_t cp, const detail::ClassRun& run) { return cp < run.first; });
  return (it - 1)->cls;
}

std::vector<std::string_view> split(Encoding encoding, std::string_view text) {
  std::vector<Char> chars;
  std::vector<std::size_t> offsets;
  decode(text, chars, offsets);
  const Splitter splitter(chars);
  std::vector<std::string_view> pieces;
  for (std::size_t i = 0; i < chars.size();) {
    const std::size_t end =
        encoding == Encoding::cl100k_base ? splitter.next_cl100k(i) : splitter.next_o200k(i);
    pieces.push_back(text.substr(offsets[i], offsets[end] - offsets[i]));
    i = end;
  }
  return pieces;
}

}  // namespace llm_router::tokenizer
