#include "llm_router/analyzer/sentiment.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "llm_router/core/base64.hpp"
#include "llm_router/core/file.hpp"
#include "text_util.hpp"
#include "word_table.hpp"

namespace llm_router::analyzer {
namespace {

constexpr double kBoosterIncrease = 0.293;
constexpr double kBoosterDecrease = -0.293;
constexpr double kCapsIncrease = 0.733;
constexpr double kNegationScalar = -0.74;
// Per-thread word buffers larger than this (text bytes) are released after use.
constexpr std::size_t kKeptBufferBytes = 64 * 1024;

constexpr std::string_view kNegations[] = {
    "aint",   "arent",    "cannot",  "cant",     "couldnt",  "darent",   "didnt",   "doesnt",
    "ain't",  "aren't",   "can't",   "couldn't", "daren't",  "didn't",   "doesn't", "dont",
    "hadnt",  "hasnt",    "havent",  "isnt",     "mightnt",  "mustnt",   "neither", "don't",
    "hadn't", "hasn't",   "haven't", "isn't",    "mightn't", "mustn't",  "neednt",  "needn't",
    "never",  "none",     "nope",    "nor",      "not",      "nothing",  "nowhere", "oughtnt",
    "shant",  "shouldnt", "uhuh",    "wasnt",    "werent",   "oughtn't", "shan't",  "shouldn't",
    "uh-uh",  "wasn't",   "weren't", "without",  "wont",     "wouldnt",  "won't",   "wouldn't",
    "rarely", "seldom",   "despite", "nobody",   "noone"};

struct Booster {
  std::string_view word;
  double value;
};

constexpr Booster kBoosters[] = {
    {"absolutely", kBoosterIncrease},    {"amazingly", kBoosterIncrease},
    {"awfully", kBoosterIncrease},       {"completely", kBoosterIncrease},
    {"considerable", kBoosterIncrease},  {"considerably", kBoosterIncrease},
    {"decidedly", kBoosterIncrease},     {"deeply", kBoosterIncrease},
    {"effing", kBoosterIncrease},        {"enormous", kBoosterIncrease},
    {"enormously", kBoosterIncrease},    {"entirely", kBoosterIncrease},
    {"especially", kBoosterIncrease},    {"exceptional", kBoosterIncrease},
    {"exceptionally", kBoosterIncrease}, {"extreme", kBoosterIncrease},
    {"extremely", kBoosterIncrease},     {"fabulously", kBoosterIncrease},
    {"flipping", kBoosterIncrease},      {"flippin", kBoosterIncrease},
    {"frackin", kBoosterIncrease},       {"fracking", kBoosterIncrease},
    {"fricking", kBoosterIncrease},      {"frickin", kBoosterIncrease},
    {"frigging", kBoosterIncrease},      {"friggin", kBoosterIncrease},
    {"fully", kBoosterIncrease},         {"fuckin", kBoosterIncrease},
    {"fucking", kBoosterIncrease},       {"fuggin", kBoosterIncrease},
    {"fugging", kBoosterIncrease},       {"greatly", kBoosterIncrease},
    {"hella", kBoosterIncrease},         {"highly", kBoosterIncrease},
    {"hugely", kBoosterIncrease},        {"incredible", kBoosterIncrease},
    {"incredibly", kBoosterIncrease},    {"intensely", kBoosterIncrease},
    {"major", kBoosterIncrease},         {"majorly", kBoosterIncrease},
    {"more", kBoosterIncrease},          {"most", kBoosterIncrease},
    {"particularly", kBoosterIncrease},  {"purely", kBoosterIncrease},
    {"quite", kBoosterIncrease},         {"really", kBoosterIncrease},
    {"remarkably", kBoosterIncrease},    {"so", kBoosterIncrease},
    {"substantially", kBoosterIncrease}, {"thoroughly", kBoosterIncrease},
    {"total", kBoosterIncrease},         {"totally", kBoosterIncrease},
    {"tremendous", kBoosterIncrease},    {"tremendously", kBoosterIncrease},
    {"uber", kBoosterIncrease},          {"unbelievably", kBoosterIncrease},
    {"unusually", kBoosterIncrease},     {"utter", kBoosterIncrease},
    {"utterly", kBoosterIncrease},       {"very", kBoosterIncrease},
    {"almost", kBoosterDecrease},        {"barely", kBoosterDecrease},
    {"hardly", kBoosterDecrease},        {"just enough", kBoosterDecrease},
    {"kind of", kBoosterDecrease},       {"kinda", kBoosterDecrease},
    {"kindof", kBoosterDecrease},        {"kind-of", kBoosterDecrease},
    {"less", kBoosterDecrease},          {"little", kBoosterDecrease},
    {"marginal", kBoosterDecrease},      {"marginally", kBoosterDecrease},
    {"occasional", kBoosterDecrease},    {"occasionally", kBoosterDecrease},
    {"partly", kBoosterDecrease},        {"scarce", kBoosterDecrease},
    {"scarcely", kBoosterDecrease},      {"slight", kBoosterDecrease},
    {"slightly", kBoosterDecrease},      {"somewhat", kBoosterDecrease},
    {"sort of", kBoosterDecrease},       {"sorta", kBoosterDecrease},
    {"sortof", kBoosterDecrease},        {"sort-of", kBoosterDecrease}};

constexpr Booster kSpecialCases[] = {
    {"the shit", 3},        {"the bomb", 3},       {"bad ass", 1.5},        {"badass", 1.5},
    {"bus stop", 0.0},      {"yeah right", -2},    {"kiss of death", -1.5}, {"to die for", 3},
    {"beating heart", 3.1}, {"broken heart", -2.9}};

}  // namespace

struct VaderWordInfo {
  float valence = 0;
  float booster = 0;
  bool in_lexicon = false;
  bool is_booster = false;
  bool negation = false;
  std::uint8_t idiom = 0;  // id of a word that appears in a multi-word idiom or booster phrase
};

namespace {

// A multi-word special case or booster phrase as idiom ids.
struct Phrase {
  std::array<std::uint8_t, 3> ids{};
  std::size_t length = 0;
  double value = 0;
};

}  // namespace

struct VaderLexicon::Table {
  WordTable<VaderWordInfo> words;
  std::vector<Phrase> special_cases;
  std::vector<Phrase> booster_phrases;
};

namespace {

std::vector<std::string_view> split_spaces(std::string_view phrase) {
  std::vector<std::string_view> out;
  while (!phrase.empty()) {
    const std::size_t space = phrase.find(' ');
    out.push_back(phrase.substr(0, space));
    phrase = space == std::string_view::npos ? std::string_view{} : phrase.substr(space + 1);
  }
  return out;
}

std::optional<Phrase> to_phrase(WordTable<VaderWordInfo>& words, std::string_view text,
                                double value, std::uint8_t& next_id) {
  const auto parts = split_spaces(text);
  if (parts.size() < 2 || parts.size() > 3) return std::nullopt;  // one-word keys never match
  Phrase phrase;
  phrase.length = parts.size();
  phrase.value = value;
  for (std::size_t k = 0; k < parts.size(); ++k) {
    auto& info = words[parts[k]];
    if (info.idiom == 0) info.idiom = next_id++;
    phrase.ids[k] = info.idiom;
  }
  return phrase;
}

std::shared_ptr<VaderLexicon::Table> built_in_table() {
  auto table = std::make_shared<VaderLexicon::Table>();
  for (auto word : kNegations) table->words[word].negation = true;
  std::uint8_t next_id = 1;
  for (const auto& booster : kBoosters) {
    if (booster.word.find(' ') == std::string_view::npos) {
      auto& info = table->words[booster.word];
      info.is_booster = true;
      info.booster = static_cast<float>(booster.value);
    } else if (auto phrase = to_phrase(table->words, booster.word, booster.value, next_id)) {
      table->booster_phrases.push_back(*phrase);
    }
  }
  for (const auto& special : kSpecialCases) {
    if (auto phrase = to_phrase(table->words, special.word, special.value, next_id)) {
      table->special_cases.push_back(*phrase);
    }
  }
  return table;
}

bool is_python_punctuation(char c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
         (c >= '{' && c <= '~');
}

// Python's str.isupper() restricted to ASCII: some cased letter and no lowercase one.
bool is_upper_word(std::string_view word) {
  bool upper = false;
  for (char c : word) {
    if (c >= 'a' && c <= 'z') return false;
    if (c >= 'A' && c <= 'Z') upper = true;
  }
  return upper;
}

// word contains "n't" (an inline scan: most words are short and a find() call costs more).
bool has_nt(std::string_view word) {
  for (std::size_t k = 0; k + 3 <= word.size(); ++k) {
    if (word[k] == 'n' && word[k + 1] == '\'' && word[k + 2] == 't') return true;
  }
  return false;
}

struct Word {
  std::string_view lower;  // lowercased, punctuation stripped as VADER does
  const float* valence = nullptr;
  float booster = 0;
  bool is_booster = false;
  bool upper = false;
  bool negation = false;
  bool technical = false;  // part of a technical term: no tone, no feature
  // Followed by '.', '!' or '?': negations and boosters do not reach past it (VADER's reach
  // over three words does: "still no response. Worst company ever." read "worst" as negated).
  bool ends_sentence = false;
  std::uint8_t idiom = 0;
};

// Technical terms whose words read as negative in everyday English ("the worst case of binary
// search", "a fatal error"): a calm question about them is not an angry customer. Each pair
// (first word, second word) sets both words aside.
constexpr std::pair<std::string_view, std::string_view> kTechnicalTerms[] = {
    {"worst", "case"},      {"best", "case"},          {"dead", "code"},
    {"dead", "letter"},     {"dead", "lock"},          {"fatal", "error"},
    {"fatal", "exception"}, {"garbage", "collection"}, {"garbage", "collector"},
    {"zombie", "process"},  {"zombie", "processes"},   {"bad", "request"},
    {"bad", "gateway"},     {"error", "message"},      {"error", "messages"},
    {"error", "code"},      {"error", "codes"},        {"error", "handling"},
    {"hard", "drive"},      {"hard", "disk"},          {"hard", "reset"},
};

// The things a program kills: "kill this process", "kill all pods", "kill -9 1234".
bool is_killable(std::string_view word) {
  for (const std::string_view thing : {"process", "thread", "job", "task", "pod", "container",
                                       "session", "server", "program", "app", "query", "pid"}) {
    const std::string_view plural = word.substr(std::min(word.size(), thing.size()));
    if (word.starts_with(thing) && (plural.empty() || plural == "s" || plural == "es")) {
      return true;
    }
  }
  return word.starts_with('-') || word == "signal";
}

// "kill" (kills, killed, killing) with a program thing within the next three words.
bool kills_a_program(const std::vector<Word>& words, std::size_t i) {
  const std::string_view verb = words[i].lower;
  if (verb != "kill" && verb != "kills" && verb != "killed" && verb != "killing") return false;
  for (std::size_t k = i + 1; k < std::min(words.size(), i + 4); ++k) {
    if (is_killable(words[k].lower)) return true;
  }
  return false;
}

// Whether a word could start a technical term: its first letter and length match one's (most
// words fail this, so the list is not walked for them).
bool may_start_term(std::string_view word) {
  static const auto kStarts = [] {
    std::array<std::uint32_t, 256> lengths{};  // bit n: some first word of length n starts so
    for (const auto& term : kTechnicalTerms) {
      lengths[static_cast<unsigned char>(term.first.front())] |= 1U << term.first.size();
    }
    return lengths;
  }();
  return !word.empty() && word.size() < 32 &&
         (kStarts[static_cast<unsigned char>(word.front())] >> word.size() & 1U) != 0;
}

void set_aside(Word& word) {
  word.technical = true;
  word.valence = nullptr;
  word.is_booster = false;
}

void mark_technical_terms(std::vector<Word>& words) {
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (words[i].lower.starts_with('k') && kills_a_program(words, i)) set_aside(words[i]);
    if (i + 1 == words.size() || !may_start_term(words[i].lower)) continue;
    for (const auto& [first, second] : kTechnicalTerms) {
      if (words[i].lower != first || words[i + 1].lower != second) continue;
      set_aside(words[i]);
      set_aside(words[i + 1]);
      break;
    }
  }
}

// utf8_length(word) <= 2, counting no further than three.
bool at_most_two_code_points(std::string_view word) {
  int starts = 0;
  for (unsigned char c : word) {
    starts += (c & 0xC0) != 0x80;
    if (starts > 2) return false;
  }
  return true;
}

// VADER's words_and_emoticons: whitespace split, then strip leading/trailing punctuation
// unless that leaves two characters or fewer (emoticons such as ":)" survive).
void split_words(std::string_view text, std::string_view lower, const VaderLexicon& lexicon,
                 std::vector<Word>& out) {
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && has_class(text[i], kSpaceChar)) ++i;
    std::size_t end = i;
    while (end < text.size() && !has_class(text[end], kSpaceChar)) ++end;
    if (end == i) break;
    std::size_t b = i;
    std::size_t e = end;
    while (b < e && is_python_punctuation(text[b])) ++b;
    while (e > b && is_python_punctuation(text[e - 1])) --e;
    // Filled in place: a Word built on the stack and copied in stalled on its byte-wide stores
    // (store forwarding), a third of this loop's time.
    Word& word = out.emplace_back();
    // Read before a short word keeps its punctuation ("so." stays "so.", as VADER has it).
    word.ends_sentence = text.substr(e, end - e).find_first_of(".!?") != std::string_view::npos;
    if (at_most_two_code_points(text.substr(b, e - b))) {
      b = i;
      e = end;
    }
    word.lower = lower.substr(b, e - b);
    if (const VaderWordInfo* info = lexicon.info(word.lower)) {
      if (info->in_lexicon) word.valence = &info->valence;
      word.is_booster = info->is_booster;
      word.booster = info->booster;
      word.negation = info->negation;
      word.idiom = info->idiom;
    }
    word.negation |= has_nt(word.lower);
    word.upper = is_upper_word(text.substr(b, e - b));
    i = end;
  }
}

double scalar_inc_dec(const Word& word, double valence, bool caps_differ) {
  if (!word.is_booster) return 0.0;
  double scalar = word.booster;
  if (valence < 0) scalar = -scalar;
  if (word.upper && caps_differ) scalar += valence > 0 ? kCapsIncrease : -kCapsIncrease;
  return scalar;
}

double negation_check(double valence, const std::vector<Word>& words, int start, std::size_t i) {
  auto w = [&](std::size_t back) { return words[i - back].lower; };
  if (start == 0) {
    if (words[i - 1].negation) valence *= kNegationScalar;
  } else if (start == 1) {
    if (w(2) == "never" && (w(1) == "so" || w(1) == "this")) {
      valence *= 1.25;
    } else if (w(2) == "without" && w(1) == "doubt") {
    } else if (words[i - 2].negation) {
      valence *= kNegationScalar;
    }
  } else {
    if ((w(3) == "never" && (w(2) == "so" || w(2) == "this")) || w(1) == "so" || w(1) == "this") {
      valence *= 1.25;
    } else if (w(3) == "without" && (w(2) == "doubt" || w(1) == "doubt")) {
    } else if (words[i - 3].negation) {
      valence *= kNegationScalar;
    }
  }
  return valence;
}

// Value of the phrase made of words[first..first+length) in `phrases`, if any.
std::optional<double> phrase_value(const std::vector<Phrase>& phrases,
                                   const std::vector<Word>& words, std::size_t first,
                                   std::size_t length) {
  for (const auto& phrase : phrases) {
    if (phrase.length != length) continue;
    bool same = true;
    for (std::size_t k = 0; k < length && same; ++k) {
      same = words[first + k].idiom != 0 && words[first + k].idiom == phrase.ids[k];
    }
    if (same) return phrase.value;
  }
  return std::nullopt;
}

double special_idioms_check(double valence, const std::vector<Word>& words, std::size_t i,
                            const VaderLexicon::Table& table) {
  const auto& special = table.special_cases;
  // (first index, length) in VADER's order: onezero, twoonezero, twoone, threetwoone, threetwo.
  const std::pair<std::size_t, std::size_t> before[] = {
      {i - 1, 2}, {i - 2, 3}, {i - 2, 2}, {i - 3, 3}, {i - 3, 2}};
  for (const auto& [first, length] : before) {
    if (auto found = phrase_value(special, words, first, length)) {
      valence = *found;
      break;
    }
  }
  if (words.size() - 1 > i) {
    if (auto found = phrase_value(special, words, i, 2)) valence = *found;
  }
  if (words.size() - 1 > i + 1) {
    if (auto found = phrase_value(special, words, i, 3)) valence = *found;
  }
  for (const auto& [first, length] :
       {std::pair<std::size_t, std::size_t>{i - 3, 3}, {i - 3, 2}, {i - 2, 2}}) {
    if (auto found = phrase_value(table.booster_phrases, words, first, length)) valence += *found;
  }
  return valence;
}

// `reach`: how many of the words before words[i] are in its sentence (at most 3).
double least_check(double valence, const std::vector<Word>& words, std::size_t i,
                   std::size_t reach) {
  if (reach > 1 && !words[i - 1].valence && words[i - 1].lower == "least") {
    if (words[i - 2].lower != "at" && words[i - 2].lower != "very") valence *= kNegationScalar;
  } else if (reach > 0 && !words[i - 1].valence && words[i - 1].lower == "least") {
    valence *= kNegationScalar;
  }
  return valence;
}

double word_valence(const std::vector<Word>& words, std::size_t i, bool caps_differ,
                    const VaderLexicon::Table& table) {
  const Word& item = words[i];
  if (!item.valence) return 0.0;
  const double base = *item.valence;
  double valence = base;
  std::size_t reach = 0;
  while (reach < 3 && reach < i && !words[i - reach - 1].ends_sentence) ++reach;
  if (item.lower == "no" && !item.ends_sentence && i + 1 != words.size() && words[i + 1].valence) {
    valence = 0.0;
  }
  if ((reach > 0 && words[i - 1].lower == "no") || (reach > 1 && words[i - 2].lower == "no") ||
      (reach > 2 && words[i - 3].lower == "no" &&
       (words[i - 1].lower == "or" || words[i - 1].lower == "nor"))) {
    valence = base * kNegationScalar;
  }
  if (item.upper && caps_differ) valence += valence > 0 ? kCapsIncrease : -kCapsIncrease;
  for (int start = 0; start < 3; ++start) {
    const auto back = static_cast<std::size_t>(start + 1);
    if (static_cast<std::size_t>(start) < reach && !words[i - back].valence) {
      double s = scalar_inc_dec(words[i - back], valence, caps_differ);
      if (start == 1 && s != 0) s *= 0.95;
      if (start == 2 && s != 0) s *= 0.9;
      valence += s;
      valence = negation_check(valence, words, start, i);
      if (start == 2) valence = special_idioms_check(valence, words, i, table);
    }
  }
  return least_check(valence, words, i, reach);
}

double normalize_score(double score, double alpha = 15) {
  return std::clamp(score / std::sqrt(score * score + alpha), -1.0, 1.0);
}

double punctuation_emphasis(int exclamations, int questions) {
  double amplifier = std::min(exclamations, 4) * 0.292;
  if (questions > 1) amplifier += questions <= 3 ? questions * 0.18 : 0.96;
  return amplifier;
}

void for_each_word(std::string_view text, const VaderLexicon& lexicon, std::vector<Word>& words,
                   std::string& lower) {
  lower.assign(text);
  // ASCII 'A'..'Z' lowered 8 bytes at a time (SWAR); other bytes unchanged, as table_lower.
  char* p = lower.data();
  const std::size_t n = lower.size();
  std::size_t k = 0;
  for (; k + 8 <= n; k += 8) {
    std::uint64_t x = swar::load(p + k);
    x |= (swar::in_range(x & ~swar::kHighs, 'A', 'Z') & ~x) >> 2;
    if constexpr (std::endian::native == std::endian::big) x = __builtin_bswap64(x);
    std::memcpy(p + k, &x, sizeof x);
  }
  for (; k < n; ++k) p[k] = table_lower(p[k]);
  words.clear();
  words.reserve(text.size() / 5 + 8);
  split_words(text, lower, lexicon, words);
  mark_technical_terms(words);
}

}  // namespace

VaderLexicon::VaderLexicon() {
  static const std::shared_ptr<const Table> kBuiltIn = built_in_table();
  table_ = kBuiltIn;
}

VaderLexicon VaderLexicon::parse(std::string_view text, const std::string& source_name) {
  auto table = built_in_table();
  VaderLexicon lexicon;
  std::size_t line_number = 0;
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    ++line_number;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) continue;
    const std::size_t tab = line.find('\t');
    if (tab == std::string_view::npos || tab == 0) {
      throw std::runtime_error(source_name + ":" + std::to_string(line_number) +
                               ": expected 'token<TAB>valence'");
    }
    std::string_view number = line.substr(tab + 1);
    number = number.substr(0, number.find('\t'));
    float valence = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), valence);
    if (ec != std::errc{}) {
      throw std::runtime_error(source_name + ":" + std::to_string(line_number) + ": bad valence '" +
                               std::string(number) + "'");
    }
    auto& info = table->words[line.substr(0, tab)];
    if (!info.in_lexicon) ++lexicon.entries_;
    info.in_lexicon = true;
    info.valence = valence;
  }
  lexicon.table_ = std::move(table);
  return lexicon;
}

VaderLexicon VaderLexicon::load(const std::string& path) {
  VaderLexicon lexicon = parse(core::read_file_or_throw(path, "sentiment lexicon"), path);
  // An empty file would silently score every prompt as neutral, and sentiment rules never fire.
  if (lexicon.size() == 0)
    throw std::runtime_error(path + ": the sentiment lexicon has no entries");
  return lexicon;
}

const VaderWordInfo* VaderLexicon::info(std::string_view lower_token) const {
  return table_->words.find(lower_token);
}

const float* VaderLexicon::find(std::string_view lower_token) const {
  const VaderWordInfo* found = info(lower_token);
  return found && found->in_lexicon ? &found->valence : nullptr;
}

namespace {

VaderScores score_words(std::string_view text, std::vector<Word>& words,
                        const VaderLexicon::Table& table) {
  VaderScores scores;
  scores.words = static_cast<int>(words.size());
  for (const auto& word : words) scores.caps_words += word.upper ? 1 : 0;
  for (char c : text) {
    scores.exclamations += c == '!';
    scores.questions += c == '?';
  }
  const bool caps_differ = scores.caps_words > 0 && scores.caps_words < scores.words;
  thread_local std::vector<double> sentiments;
  sentiments.assign(words.size(), 0.0);
  std::optional<std::size_t> but_index;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (!but_index && words[i].lower == "but") but_index = i;
    if (words[i].is_booster) continue;
    if (i + 1 < words.size() && words[i].lower == "kind" && words[i + 1].lower == "of") continue;
    sentiments[i] = word_valence(words, i, caps_differ, table);
  }
  // VADER's _but_check meant positionally (the original looks values up with list.index()).
  if (but_index) {
    for (std::size_t i = 0; i < sentiments.size(); ++i) {
      if (i < *but_index) sentiments[i] *= 0.5;
      if (i > *but_index) sentiments[i] *= 1.5;
    }
  }
  if (sentiments.empty()) return scores;
  double sum = 0;
  for (double s : sentiments) {
    sum += s;
    if (s > 0) scores.pos_sum += s + 1;
    if (s < 0) scores.neg_sum += s - 1;
    if (s == 0) ++scores.neu_count;
  }
  scores.sum = sum;
  const double emphasis = punctuation_emphasis(scores.exclamations, scores.questions);
  if (sum > 0) sum += emphasis;
  if (sum < 0) sum -= emphasis;
  scores.compound = normalize_score(sum);
  double pos_sum = scores.pos_sum;
  double neg_sum = scores.neg_sum;
  if (pos_sum > std::fabs(neg_sum)) {
    pos_sum += emphasis;
  } else if (pos_sum < std::fabs(neg_sum)) {
    neg_sum -= emphasis;
  }
  const double total = pos_sum + std::fabs(neg_sum) + scores.neu_count;
  scores.pos = std::fabs(pos_sum / total);
  scores.neg = std::fabs(neg_sum / total);
  scores.neu = std::fabs(scores.neu_count / total);
  if (sentiments.capacity() * sizeof(double) > kKeptBufferBytes) {
    std::vector<double>().swap(sentiments);
  }
  return scores;
}

std::uint32_t ngram_bucket(std::uint64_t hash) {
  return static_cast<std::uint32_t>(hash >> (64 - SentimentWeights::kHashBits));
}

// Strips what VADER kept (e.g. "good," -> "good") so n-grams generalise; emoticons stay whole.
std::string_view ngram_token(std::string_view lower) {
  std::size_t b = 0;
  std::size_t e = lower.size();
  while (b < e && is_python_punctuation(lower[b])) ++b;
  while (e > b && is_python_punctuation(lower[e - 1])) --e;
  return b == e ? lower : lower.substr(b, e - b);
}

template <typename Visit>
void visit_features(const std::vector<Word>& words, const VaderScores& s, Visit&& visit) {
  const double c = s.compound;
  const double softer = s.sum / std::sqrt(s.sum * s.sum + 4.0);
  // Markers of social-media text, where VADER's own calibration is already good.
  int social = 0;
  for (const auto& word : words) {
    const char first = word.lower.empty() ? ' ' : word.lower.front();
    social += first == '@' || first == '#' || word.lower.starts_with("http") ||
              (word.valence && !word.lower.empty() && !is_ascii_alpha(word.lower.front()));
  }
  const double feature[kSentimentDenseFeatures] = {
      c,
      std::clamp(s.sum, -12.0, 12.0),
      s.pos,
      s.neg,
      s.neu,
      std::min(s.pos_sum, 20.0),
      std::max(s.neg_sum, -20.0),
      std::log1p(s.words),
      static_cast<double>(std::min(s.exclamations, 4)),
      static_cast<double>(std::min(s.questions, 4)),
      s.words > 0 ? static_cast<double>(s.caps_words) / s.words : 0.0,
      c * c * c,
      softer,
      (c >= 0 ? 1.0 : -1.0) * std::sqrt(std::fabs(c)),
      c * std::log1p(s.words),
      c * std::min(s.exclamations, 4),
      c * (s.words > 0 ? static_cast<double>(s.caps_words) / s.words : 0.0),
      static_cast<double>(std::min(social, 4)),
      c * std::min(social, 4),
      softer * std::log1p(s.words),
  };
  for (std::size_t i = 0; i < kSentimentDenseFeatures; ++i) visit(i, feature[i]);
  if (words.empty()) return;
  const double weight = 1.0 / std::sqrt(static_cast<double>(words.size()));
  std::uint64_t previous = 0;
  int negated_for = 0;
  for (const auto& word : words) {
    if (word.technical) {
      previous = 0;
      continue;
    }
    const std::uint64_t token_hash = fnv1a(ngram_token(word.lower));
    std::uint64_t hash = token_hash;
    // Words within three of a negation are different features ("not good" vs "good").
    if (negated_for > 0) {
      hash = mix_hash(hash, 0x6e6f74ULL);
      --negated_for;
    }
    visit(kSentimentDenseFeatures + ngram_bucket(hash), weight);
    if (previous != 0) {
      visit(kSentimentDenseFeatures + ngram_bucket(mix_hash(previous, token_hash)), weight);
    }
    previous = token_hash;
    if (word.negation) negated_for = 3;
    if (word.ends_sentence) {
      previous = 0;
      negated_for = 0;
    }
  }
}

double predict(const SentimentWeights& w, const std::vector<Word>& words, const VaderScores& s) {
  double total = w.bias;
  visit_features(words, s, [&](std::size_t index, double value) {
    if (index < kSentimentDenseFeatures) {
      total += w.dense[index] * (value - w.dense_mean[index]) / w.dense_scale[index];
    } else {
      total += w.hashed[index - kSentimentDenseFeatures] * value;
    }
  });
  return total;
}

}  // namespace

namespace {

// The common emoji of chat messages, read as an English word of the same feeling from VADER's
// lexicon (VADER's own emoji step does the same with its emoji table, which is not shipped):
// "🤬🤬 your app deleted all my photos 😡😡" is furious, not neutral.
struct EmojiWord {
  std::string_view emoji;
  std::string_view word;
};
constexpr EmojiWord kEmojiWords[] = {
    {"\U0001F621", "angry"},     {"\U0001F92C", "furious"},      {"\U0001F620", "angry"},
    {"\U0001F44E", "bad"},       {"\U0001F4A9", "crap"},         {"\U0001F612", "annoyed"},
    {"\U0001F644", "annoyed"},   {"\U0001F61E", "disappointed"}, {"\U0001F614", "sad"},
    {"\U0001F61F", "worried"},   {"\U0001F615", "confused"},     {"\u2639", "frowning"},
    {"\U0001F641", "frowning"},  {"\U0001F623", "frustrated"},   {"\U0001F616", "frustrated"},
    {"\U0001F62B", "tired"},     {"\U0001F629", "meh"},          {"\U0001F622", "sad"},
    {"\U0001F62D", "sobbing"},   {"\U0001F630", "anxious"},      {"\U0001F628", "scared"},
    {"\U0001F631", "scared"},    {"\U0001F926", "ugh"},          {"\U0001F92E", "disgusted"},
    {"\U0001F922", "disgusted"}, {"\U0001F494", "heartbroken"},  {"\U0001F62C", "awkward"},
    {"\U0001F595", "fuck"},      {"\U0001F611", "meh"},          {"\U0001F610", "meh"},
    {"\U0001F62A", "tired"},     {"\U0001F613", "worried"},      {"\U0001F600", "happy"},
    {"\U0001F603", "happy"},     {"\U0001F604", "happy"},        {"\U0001F601", "happy"},
    {"\U0001F606", "laughing"},  {"\U0001F602", "laughing"},     {"\U0001F923", "laughing"},
    {"\U0001F60A", "smiling"},   {"\U0001F642", "smile"},        {"\U0001F609", "smile"},
    {"\U0001F60D", "love"},      {"\U0001F970", "love"},         {"\U0001F618", "kiss"},
    {"\U0001F60E", "cool"},      {"\U0001F929", "awesome"},      {"\U0001F973", "celebrate"},
    {"\U0001F44D", "good"},      {"\U0001F44F", "applause"},     {"\U0001F64F", "thanks"},
    {"\u2764", "love"},          {"\U0001F495", "love"},         {"\U0001F496", "love"},
    {"\U0001F497", "love"},      {"\U0001F389", "celebrate"},    {"\U0001F64C", "yay"},
    {"\U0001F4AF", "perfect"},   {"\U0001F44C", "ok"},           {"\U0001F605", "relieved"},
    {"\U0001F607", "smile"},     {"\U0001F917", "hug"},          {"\U0001F60B", "yummy"},
    {"\U0001F4AA", "strong"},    {"\u2728", "sparkling"},
};

// Which emoji of the table `text` starts with, or null.
const EmojiWord* emoji_at(std::string_view text) {
  for (const EmojiWord& entry : kEmojiWords) {
    if (text.starts_with(entry.emoji)) return &entry;
  }
  return nullptr;
}

// The bytes that only modify the emoji before them: a variation selector, a skin tone.
std::size_t modifier_bytes(std::string_view text) {
  std::size_t n = 0;
  while (true) {
    const std::string_view rest = text.substr(n);
    if (rest.starts_with("\uFE0F")) {
      n += 3;
    } else if (rest.size() >= 4 && rest.substr(0, 3) == "\xF0\x9F\x8F" &&
               static_cast<unsigned char>(rest[3]) >= 0xBB &&
               static_cast<unsigned char>(rest[3]) <= 0xBF) {
      n += 4;
    } else {
      return n;
    }
  }
}

// Calls on_emoji(entry, begin, end) for each emoji of the table in text.
template <typename OnEmoji>
void for_each_emoji(std::string_view text, OnEmoji&& on_emoji) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    // Eight ASCII bytes at a time: most prompts hold no emoji at all.
    while (i + 8 <= text.size() && (swar::load(text.data() + i) & swar::kHighs) == 0) i += 8;
    if (i >= text.size()) break;
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte != 0xE2 && byte != 0xF0) continue;  // every emoji of the table starts so
    if (const EmojiWord* entry = emoji_at(text.substr(i))) {
      const std::size_t end = i + entry->emoji.size();
      const std::size_t after = end + modifier_bytes(text.substr(end));
      on_emoji(*entry, i, after);
      i = after - 1;
    }
  }
}

}  // namespace

std::string_view with_emoji_words(std::string_view text, std::string& buffer) {
  std::size_t copied = 0;
  bool any = false;
  for_each_emoji(text, [&](const EmojiWord& entry, std::size_t begin, std::size_t end) {
    if (!any) buffer.clear();
    any = true;
    buffer.append(text.substr(copied, begin - copied)).append(" ").append(entry.word).append(" ");
    copied = end;
  });
  if (!any) return text;
  buffer.append(text.substr(copied));
  return buffer;
}

std::string emoji_words(std::string_view text) {
  std::string words;
  for_each_emoji(text, [&](const EmojiWord& entry, std::size_t, std::size_t) {
    if (!words.empty()) words += ' ';
    words.append(entry.word);
  });
  return words;
}

VaderScores vader_scores(std::string_view original, const VaderLexicon& lexicon) {
  std::string described;
  const std::string_view text = with_emoji_words(original, described);
  std::vector<Word> words;
  std::string lower;
  for_each_word(text, lexicon, words, lower);
  return score_words(text, words, lexicon.table());
}

void sentiment_features(std::string_view original, const VaderScores& scores,
                        const std::function<void(std::size_t, double)>& visit) {
  std::string described;
  const std::string_view text = with_emoji_words(original, described);
  // Only the n-grams need the words; the lexicon does not affect them.
  static const VaderLexicon kEmpty;
  std::vector<Word> words;
  std::string lower;
  for_each_word(text, kEmpty, words, lower);
  visit_features(words, scores, visit);
}

double SentimentWeights::hashed_step(const std::vector<float>& hashed) {
  float largest = 0;
  for (float w : hashed) largest = std::max(largest, std::fabs(w));
  return largest > 0 ? largest / 32767.0 : 1.0;
}

void SentimentWeights::quantize() {
  const double step = hashed_step(hashed);
  for (float& w : hashed) w = static_cast<float>(std::round(w / step) * step);
}

// The n-gram weights travel as little-endian int16 steps of `hashed_step`, base64-encoded,
// which keeps the file near 175 KB instead of a megabyte of JSON numbers.
nlohmann::json SentimentWeights::to_json() const {
  const double step = hashed_step(hashed);
  std::vector<unsigned char> bytes;
  bytes.reserve(hashed.size() * 2);
  for (float w : hashed) {
    const auto q = static_cast<std::int16_t>(std::clamp(std::round(w / step), -32767.0, 32767.0));
    const auto u = static_cast<std::uint16_t>(q);
    bytes.push_back(static_cast<unsigned char>(u & 0xFF));
    bytes.push_back(static_cast<unsigned char>(u >> 8));
  }
  return {{"format", "llm-router-sentiment-v1"},
          {"hash_bits", kHashBits},
          {"bias", bias},
          {"dense_mean", dense_mean},
          {"dense_scale", dense_scale},
          {"dense", dense},
          {"hashed_step", step},
          {"hashed_int16_base64", core::base64_encode(bytes)}};
}

SentimentWeights SentimentWeights::from_json(const nlohmann::json& json,
                                             const std::string& source) {
  auto fail = [&](const std::string& what) { throw std::runtime_error(source + ": " + what); };
  if (!json.is_object() || json.value("format", "") != "llm-router-sentiment-v1") {
    fail("not an llm-router-sentiment-v1 file");
  }
  if (json.value("hash_bits", 0) != kHashBits) {
    fail("hash_bits must be " + std::to_string(kHashBits));
  }
  SentimentWeights w;
  std::optional<std::vector<unsigned char>> bytes;
  double step = 0;
  try {
    w.bias = json.at("bias").get<double>();
    w.dense_mean = json.at("dense_mean").get<std::vector<double>>();
    w.dense_scale = json.at("dense_scale").get<std::vector<double>>();
    w.dense = json.at("dense").get<std::vector<double>>();
    step = json.at("hashed_step").get<double>();
    bytes = core::base64_decode(json.at("hashed_int16_base64").get<std::string>());
  } catch (const nlohmann::json::exception& e) {
    fail(e.what());
  }
  if (w.dense.size() != kSentimentDenseFeatures || w.dense_mean.size() != kSentimentDenseFeatures ||
      w.dense_scale.size() != kSentimentDenseFeatures) {
    fail("expected " + std::to_string(kSentimentDenseFeatures) + " dense weights");
  }
  if (!bytes || bytes->size() != kHashBuckets * 2) {
    fail("hashed_int16_base64 must hold " + std::to_string(kHashBuckets) + " int16 weights");
  }
  w.hashed.resize(kHashBuckets);
  for (std::size_t i = 0; i < kHashBuckets; ++i) {
    const auto u = static_cast<std::uint16_t>((*bytes)[2 * i] | ((*bytes)[2 * i + 1] << 8));
    w.hashed[i] = static_cast<float>(static_cast<std::int16_t>(u) * step);
  }
  for (double& scale : w.dense_scale) {
    if (!(scale > 0)) scale = 1;
  }
  return w;
}

SentimentModel::SentimentModel(VaderLexicon lexicon, std::optional<SentimentWeights> weights)
    : lexicon_(std::move(lexicon)), weights_(std::move(weights)) {}

std::pair<double, double> SentimentModel::score_with_vader(std::string_view original) const {
  // Reused per thread: no allocation per request once warm.
  thread_local std::vector<Word> words;
  thread_local std::string lower;
  thread_local std::string described;
  const std::string_view text = with_emoji_words(original, described);
  for_each_word(text, lexicon_, words, lower);
  const VaderScores scores = score_words(text, words, lexicon_.table());
  const double rating = weights_ ? predict(*weights_, words, scores) : scores.compound;
  // A huge text.model_chars must not leave megabytes held per thread.
  if (lower.capacity() > kKeptBufferBytes) {
    std::string().swap(lower);
    std::string().swap(described);
    std::vector<Word>().swap(words);
  }
  if (!weights_) return {scores.compound, scores.compound};
  if (!std::isfinite(rating)) return {0.0, scores.compound};
  return {std::clamp(rating / 4.0, -1.0, 1.0), scores.compound};
}

double SentimentModel::score_symbols(std::string_view text) const {
  thread_local std::vector<Word> words;
  thread_local std::string lower;
  for_each_word(text, lexicon_, words, lower);
  std::erase_if(words, [](const Word& word) {
    return std::any_of(word.lower.begin(), word.lower.end(),
                       [](char c) { return c >= 'a' && c <= 'z'; });
  });
  const double compound = score_words(text, words, lexicon_.table()).compound;
  if (lower.capacity() > kKeptBufferBytes) {
    std::string().swap(lower);
    std::vector<Word>().swap(words);
  }
  return compound;
}

double SentimentModel::score_glossed(std::string_view glosses, std::string_view text) const {
  thread_local std::vector<Word> words;
  thread_local std::string lower;
  // Three neutral words after the glosses: a negation among the last of them must not reach
  // the text's emoticons, which come after (":(" after "not ... nobody" stays sad).
  std::string separated;
  separated.reserve(glosses.size() + 16);
  separated.append(glosses).append(" the the the");
  for_each_word(separated, lexicon_, words, lower);
  const std::size_t gloss_words = words.size();
  std::string combined;
  combined.reserve(separated.size() + 1 + text.size());
  combined.append(separated).append(" ").append(text);
  for_each_word(combined, lexicon_, words, lower);
  // The text's own words with ASCII letters are another language's ("no", "die"), not
  // English: only its symbols (":(", "!!!") stay beside the glosses.
  const auto text_words =
      words.begin() + static_cast<std::ptrdiff_t>(std::min(gloss_words, words.size()));
  words.erase(std::remove_if(text_words, words.end(),
                             [](const Word& word) {
                               return std::any_of(word.lower.begin(), word.lower.end(),
                                                  [](char c) { return c >= 'a' && c <= 'z'; });
                             }),
              words.end());
  const double compound = score_words(combined, words, lexicon_.table()).compound;
  if (lower.capacity() > kKeptBufferBytes) {
    std::string().swap(lower);
    std::vector<Word>().swap(words);
  }
  return compound;
}

std::shared_ptr<const SentimentModel> load_sentiment_model(const std::string& lexicon_path,
                                                           const std::string& weights_path) {
  VaderLexicon lexicon = VaderLexicon::load(lexicon_path);
  std::optional<SentimentWeights> weights;
  if (!weights_path.empty()) {
    const std::string text = core::read_file_or_throw(weights_path, "sentiment model");
    nlohmann::json json;
    try {
      json = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error(weights_path + ": " + e.what());
    }
    weights = SentimentWeights::from_json(json, weights_path);
  }
  return std::make_shared<const SentimentModel>(std::move(lexicon), std::move(weights));
}

}  // namespace llm_router::analyzer
