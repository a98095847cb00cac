#include "llm_router/analyzer/keywords.hpp"

#include <re2/re2.h>
#include <re2/set.h>

#include <stdexcept>

#include "text_util.hpp"

namespace llm_router::analyzer {

struct KeywordMatcher::RegexSet {
  explicit RegexSet(const RE2::Options& options) : set(options, RE2::UNANCHORED) {}
  RE2::Set set;
};

namespace {

bool is_keyword_char(char c) {
  return is_ascii_alnum(c) || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

bool is_single_word(std::string_view word) {
  return !word.empty() && std::all_of(word.begin(), word.end(), is_keyword_char);
}

}  // namespace

KeywordMatcher::KeywordMatcher(std::vector<KeywordSet> sets) {
  RE2::Options options;
  options.set_log_errors(false);
  regex_set_ = std::make_unique<RegexSet>(options);
  for (std::size_t s = 0; s < sets.size(); ++s) {
    names_.push_back(sets[s].name);
    for (const auto& word : sets[s].words) {
      const std::string lower = lower_ascii(word);
      if (is_single_word(lower)) {
        auto& owners = word_sets_[lower];
        if (owners.empty() || owners.back() != s) owners.push_back(s);
        continue;
      }
      // Phrases ("machine learning", "c++") become a case-insensitive literal with word edges.
      std::string pattern = "(?i)";
      if (!lower.empty() && is_keyword_char(lower.front())) pattern += "\\b";
      pattern += RE2::QuoteMeta(lower);
      if (!lower.empty() && is_keyword_char(lower.back())) pattern += "\\b";
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

std::vector<std::string> KeywordMatcher::match(std::string_view text) const {
  std::vector<std::string> out;
  if (names_.empty()) return out;
  std::vector<bool> hit(names_.size(), false);
  if (!word_sets_.empty()) {
    char buffer[64];
    std::size_t i = 0;
    while (i < text.size()) {
      while (i < text.size() && !is_keyword_char(text[i])) ++i;
      std::size_t length = 0;
      while (i < text.size() && is_keyword_char(text[i])) {
        if (length < sizeof buffer) buffer[length] = ascii_lower(text[i]);
        ++length;
        ++i;
      }
      if (length == 0 || length > sizeof buffer) continue;
      const auto it = word_sets_.find(std::string_view(buffer, length));
      if (it == word_sets_.end()) continue;
      for (std::size_t s : it->second) hit[s] = true;
    }
  }
  if (regex_set_) {
    std::vector<int> matched;
    // A DFA out of memory reports no match rather than failing the request.
    regex_set_->set.Match(re2::StringPiece(text.data(), text.size()), &matched);
    for (int m : matched) hit[regex_owner_[static_cast<std::size_t>(m)]] = true;
  }
  for (std::size_t s = 0; s < names_.size(); ++s) {
    if (hit[s]) out.push_back(names_[s]);
  }
  return out;
}

}  // namespace llm_router::analyzer
