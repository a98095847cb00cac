#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llm_router/classifier/featurizer.hpp"

namespace llm_router::analyzer {

// A named list of words/phrases (case-insensitive, whole word) and RE2 patterns from config.
struct KeywordSet {
  std::string name;
  std::vector<std::string> words;
  std::vector<std::string> patterns;
};

// All keyword sets compiled once: single words go into one hash map (word -> sets), phrases and
// patterns into one RE2::Set, so matching is one tokenising pass plus one RE2 pass.
class KeywordMatcher {
 public:
  // Throws std::invalid_argument naming the set and pattern when a regex does not compile.
  explicit KeywordMatcher(std::vector<KeywordSet> sets);
  ~KeywordMatcher();
  KeywordMatcher(KeywordMatcher&&) noexcept;
  KeywordMatcher& operator=(KeywordMatcher&&) noexcept;

  // Names of the sets with at least one match, in configuration order. With `matched`, also
  // the first word or phrase of text that matched each (as written), "" for a set that only
  // a pattern matched.
  std::vector<std::string> match(std::string_view text,
                                 std::vector<std::string>* matched = nullptr) const;
  // The same, with the words of text already found: `words` must be every maximal run of word
  // bytes (ASCII letters, digits, '_', non-ASCII) of text, in order, as featurize() leaves
  // them in FeatureScratch::word_spans when it read all of text.
  std::vector<std::string> match(std::string_view text, std::span<const classifier::WordSpan> words,
                                 std::vector<std::string>* matched = nullptr) const;
  bool empty() const { return names_.empty(); }

 private:
  // The matching, with for_each_word(on_word) calling on_word(start, length) for each word.
  template <typename ForEachWord>
  std::vector<std::string> match_words(std::string_view text, ForEachWord&& for_each_word,
                                       std::vector<std::string>* matched) const;

  struct WordIndex;  // lowercase word -> sets, defined in keywords.cpp
  std::vector<std::string> names_;
  std::unique_ptr<WordIndex> words_;
  struct RegexSet;  // wraps RE2::Set, kept out of this header
  std::unique_ptr<RegexSet> regex_set_;
  std::vector<std::size_t> regex_owner_;  // RE2::Set index -> keyword set
};

}  // namespace llm_router::analyzer
