#include "llm_router/analyzer/analyzer.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <optional>
#include <span>
#include <stdexcept>

#include "llm_router/analyzer/detectors.hpp"
#include "llm_router/classifier/linear_model.hpp"
#include "text_util.hpp"

namespace llm_router::analyzer {
namespace {

constexpr std::size_t kMaxLabels = Analyzer::kMaxLabels;
constexpr float kCodeEvidenceWeight = 0.6f;
constexpr float kInstructionCueWeight = 0.6f;
constexpr float kMathEvidenceWeight = 0.6f;
constexpr float kUnbackedMathShare = 0.25f;
// A follow-up the category model is unsure of on its own ("and in Rust?", "make it shorter")
// is read again after the previous user turn, and that reading weighs 60%. Chosen on
// hand-labelled follow-ups (bench/followups.sh): a confident reading (a new task, "thanks!")
// keeps its own category.
constexpr float kFollowUpConfidence = 0.8f;
constexpr float kFollowUpContextWeight = 0.6f;
// The question typed after pasted passages ("<documents>\n\nQuestion: ...") is read alone too:
// plainly code or math on its own (>= 0.6), it makes the prompt so (60% of the mass), whatever
// the passages look like.
constexpr float kTrailingRequestConfidence = 0.6f;
constexpr float kTrailingRequestWeight = 0.6f;
constexpr float kSureOfMath = 0.8f;

// Moves `weight` of the probability mass onto label `to`, which then leads (>= weight against
// <= 1 - weight).
void shift_mass(std::array<float, kMaxLabels>& probabilities, std::size_t n, std::size_t to,
                float weight) {
  for (std::size_t i = 0; i < n; ++i) probabilities[i] *= 1.0f - weight;
  probabilities[to] += weight;
}

// Whether an instruction cue for `cued` should overrule the model's `best` label. Some cues are
// weaker than the model's reading: math words in a coding task ("a function for the factorial")
// and sorting or extracting in one ("tag each function with a type hint") keep it code, and a
// question about a passage the model reads as another task over that passage (extraction,
// summary) keeps that task.
bool cue_overrules(std::string_view cued, std::string_view best) {
  if (cued == "math" || cued == "classification" || cued == "information_extraction") {
    return best != "code";
  }
  if (cued == "closed_qa") return best != "information_extraction" && best != "summarization";
  return true;
}

// "Unrelated: ...", "btw, ...", "Thanks! Different question: ...": the user says the topic
// changed, so the previous turn must not colour the new one.
bool announces_new_topic(std::string_view text) {
  static constexpr std::string_view kMarkers[] = {"unrelated",         "different question",
                                                  "new question",      "another question",
                                                  "another topic",     "different topic",
                                                  "new topic",         "off topic",
                                                  "off-topic",         "on another note",
                                                  "switching gears",   "changing the subject",
                                                  "by the way",        "btw",
                                                  "separate question", "random question",
                                                  "new task",          "different task",
                                                  "different thing",   "new thing",
                                                  "something else",    "switching topics",
                                                  "other question",    "another thing"};
  std::string head(text.substr(0, 60));
  std::transform(head.begin(), head.end(), head.begin(), ascii_lower);
  for (const std::string_view marker : kMarkers) {
    if (head.find(marker) != std::string::npos) return true;
  }
  return false;
}

// Whether `word` is one of `list`'s words.
template <std::size_t N>
bool listed(std::string_view word, const std::string_view (&list)[N]) {
  return std::find(std::begin(list), std::end(list), word) != std::end(list);
}

// Calls visit(word) for each run of ASCII letters in `text`, lowercased, until it returns false.
template <typename Visit>
void for_each_lower_word(std::string_view text, Visit&& visit) {
  std::string word;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !is_ascii_alpha(text[i])) ++i;
    std::size_t end = i;
    while (end < text.size() && is_ascii_alpha(text[end])) ++end;
    if (end == i) break;
    word.assign(text.substr(i, end - i));
    std::transform(word.begin(), word.end(), word.begin(), ascii_lower);
    if (!visit(std::string_view(word))) return;
    i = end;
  }
}

// "got it, thanks", "brilliant, thanks a lot", "ty", "wow ok. good night": a reply that only
// acknowledges, which is small talk whatever came before it.
bool only_acknowledges(std::string_view text) {
  static constexpr std::string_view kWords[] = {
      "thanks",  "thank",      "you",       "ty",      "thx",        "ok",          "okay",
      "cool",    "great",      "got",       "it",      "nvm",        "figured",     "out",
      "good",    "night",      "bye",       "a",       "lot",        "much",        "so",
      "wow",     "nice",       "cheers",    "that",    "works",      "worked",      "fixed",
      "perfect", "awesome",    "brilliant", "amazing", "helps",      "helped",      "all",
      "set",     "understood", "makes",     "sense",   "appreciate", "appreciated", "the",
      "help",    "morning",    "have",      "day",     "for"};
  constexpr std::size_t kMaxBytes = 64;
  if (text.size() > kMaxBytes) return false;
  std::size_t words = 0;
  bool only_these = true;
  for_each_lower_word(text, [&](std::string_view word) {
    only_these = listed(word, kWords);
    words += only_these;
    return only_these;
  });
  return only_these && words > 0;
}

// A short request that points back at what came before ("fix it", "shorter please", "do that
// again", "yes, continue"): it continues the earlier task, though the category model reads its
// few words alone as small talk. It opens with a verb of a task or a marker (after "yes", "ok",
// "now", "please", ...), so closers and chat stay small talk ("I'll look at it tomorrow", "lol
// I hate it", "see you tomorrow, same time", "thanks for this", "it works", "that's it"); a
// this/that naming a thing of its own does not point back ("show me this weather").
bool refers_back(std::string_view text) {
  static constexpr std::string_view kLeadIns[] = {
      "yes",   "yeah", "ok",   "okay",    "sure",    "now",   "please", "and",
      "so",    "then", "pls",  "just",    "thanks",  "thank", "you",    "thx",
      "great", "cool", "nice", "perfect", "awesome", "good"};
  static constexpr std::string_view kVerbs[] = {
      "fix",     "do",       "redo",     "make",     "try",       "run",     "add",
      "remove",  "delete",   "change",   "update",   "use",       "apply",   "show",
      "write",   "rewrite",  "explain",  "go",       "keep",      "finish",  "complete",
      "repeat",  "shorten",  "simplify", "expand",   "translate", "convert", "format",
      "test",    "debug",    "optimize", "refactor", "implement", "give",    "handle",
      "clean",   "rename",   "move",     "split",    "merge",     "sort",    "summarize",
      "proceed", "continue", "again",    "shorter",  "longer",    "simpler", "same"};
  static constexpr std::string_view kObjects[] = {"it", "them"};
  static constexpr std::string_view kDemonstratives[] = {"this", "that", "these", "those"};
  // What may follow a demonstrative that stands alone ("do that again", "redo this please").
  static constexpr std::string_view kAfterAlone[] = {"again", "please", "too",  "instead", "now",
                                                     "for",   "in",     "to",   "with",    "and",
                                                     "but",   "so",     "then", "one"};
  static constexpr std::string_view kMarkers[] = {"again",   "instead", "same",   "continue",
                                                  "shorter", "longer",  "simpler"};
  static constexpr std::string_view kRemarks[] = {"s",      "is",    "was",    "works",
                                                  "worked", "helps", "helped", "makes"};
  constexpr std::size_t kMaxBytes = 64;
  if (text.size() > kMaxBytes) return false;
  bool opening = true;    // still among the lead-ins
  bool requests = false;  // the first other word is a verb of a task or a marker
  bool marked = false;
  bool points = false;
  bool after_remark = false;  // "that's it", "this is it": the remark's complement
  enum class Pending { none, object, demonstrative } pending = Pending::none;
  for_each_lower_word(text, [&](std::string_view word) {
    if (opening && !listed(word, kLeadIns)) {
      opening = false;
      requests = listed(word, kVerbs);
      if (!requests) return false;
    }
    const bool remark = listed(word, kRemarks);
    if (pending == Pending::object && !remark) points = true;
    if (pending == Pending::demonstrative && listed(word, kAfterAlone)) points = true;
    marked |= listed(word, kMarkers);
    pending = after_remark                    ? Pending::none
              : listed(word, kObjects)        ? Pending::object
              : listed(word, kDemonstratives) ? Pending::demonstrative
                                              : Pending::none;
    after_remark = remark;
    return !marked;
  });
  return requests && (marked || points || pending != Pending::none);
}

// A fragment that only makes sense after what came before: "descending?", "in postgres", "why?",
// "less cheesy", "more formal", "and with async?". Alone the category model reads such a
// fragment as small talk or creative writing, confidently. At most four words, opening with a
// comparative, a preposition or a conjunction, or one word asked ("why?"; "who wrote Hamlet?"
// is a question of its own); not about the assistant itself ("and you?").
bool short_refinement(std::string_view text) {
  static constexpr std::string_view kOpeners[] = {
      "more",    "less", "shorter", "longer",    "simpler",   "better", "faster", "smaller",
      "bigger",  "in",   "with",    "without",   "for",       "using",  "via",    "on",
      "as",      "into", "from",    "like",      "and",       "but",    "or",     "also",
      "instead", "now",  "same",    "ascending", "descending"};
  static constexpr std::string_view kAboutTheAssistant[] = {"you",      "your",  "u",
                                                            "yourself", "doing", "up"};
  constexpr std::size_t kMaxBytes = 40;
  constexpr std::size_t kMaxWords = 4;
  if (text.size() > kMaxBytes) return false;
  std::size_t words = 0;
  bool opens = false;
  bool personal = false;
  for_each_lower_word(text, [&](std::string_view word) {
    if (words++ == 0) opens = listed(word, kOpeners);
    personal |= listed(word, kAboutTheAssistant);
    return true;
  });
  if (words == 0 || words > kMaxWords || personal) return false;
  const std::size_t last = text.find_last_not_of(" \t\r\n");
  const bool asked = last != std::string_view::npos && text[last] == '?';
  return opens || (words == 1 && asked);
}

// The question on the last line of a long text, after what it is about (retrieved passages, a
// document, a log) and a blank line: "Question: ...", "Task: ...", or a line ending in '?', of
// at most 300 bytes, the whole text at least four times as long and 300 bytes. Without
// its label; "" when there is none (a last line of the passage itself is no question).
std::string_view trailing_request(std::string_view text) {
  constexpr std::size_t kMaxRequestBytes = 300;
  constexpr std::size_t kMinTextBytes = 300;
  static constexpr std::string_view kLabels[] = {
      "question:", "q:", "task:", "query:", "instruction:", "request:"};
  const std::size_t end = text.find_last_not_of(" \t\r\n");
  if (end == std::string_view::npos || end + 1 < kMinTextBytes) return {};
  text = text.substr(0, end + 1);
  const std::size_t cut = text.rfind('\n');
  if (cut == std::string_view::npos || cut == 0) return {};
  const std::size_t before = text.find_last_not_of(" \t\r", cut - 1);
  if (before == std::string_view::npos || text[before] != '\n') return {};  // no blank line
  std::string_view line = text.substr(cut + 1);
  line.remove_prefix(std::min(line.size(), line.find_first_not_of(" \t")));
  if (line.empty() || line.size() > kMaxRequestBytes || line.size() * 4 > text.size()) return {};
  for (const std::string_view label : kLabels) {
    if (line.size() > label.size() &&
        std::equal(label.begin(), label.end(), line.begin(),
                   [](char a, char b) { return a == ascii_lower(b); })) {
      line.remove_prefix(label.size());
      line.remove_prefix(std::min(line.size(), line.find_first_not_of(" \t")));
      return line;
    }
  }
  return line.back() == '?' ? line : std::string_view();
}

// "Translate to Spanish: <a spec sheet>", "Proofread this: <an invoice>": the task is the text's
// wording, whatever figures and "price" or "total" it holds.
bool reworks_a_text(std::string_view text) {
  static constexpr std::string_view kVerbs[] = {"translate",  "proofread", "rewrite", "rephrase",
                                                "paraphrase", "reword",    "polish"};
  bool found = false;
  for_each_lower_word(text, [&](std::string_view word) {
    found = listed(word, kVerbs);
    return false;  // the first word only
  });
  return found;
}

// Whether a text asks for a number the way word problems do ("how many", "how much", "what is
// the total", "calculate"), names an operation on numbers or asks for a proof.
bool asks_for_a_quantity(std::string_view text) {
  static constexpr std::string_view kQuantityWords[] = {
      "total",   "altogether", "sum",      "average",  "percent",   "percentage", "calculate",
      "compute", "solve",      "evaluate", "simplify", "remainder", "twice",      "half",
      "thrice",  "ratio",      "per",      "each",     "remaining", "left",       "difference",
      "product", "quotient",   "times",    "fraction", "find",      "value",      "profit",
      "cost",    "costs",      "earn",     "earns",    "spend",     "spent",      "pay",
      "paid",    "price",      "minus",    "plus",     "divided",   "multiplied", "prove",
      "proof",   "show",       "convert",  "mean",     "median",    "odds",       "chance"};
  static constexpr std::string_view kQuantityAfterHow[] = {"many", "much", "long", "far",
                                                           "old",  "fast", "tall", "big"};
  bool found = false;
  bool after_how = false;
  for_each_lower_word(text, [&](std::string_view word) {
    found = listed(word, kQuantityWords) || (after_how && listed(word, kQuantityAfterHow));
    after_how = word == "how";
    return !found;
  });
  return found;
}

std::size_t label_index(const std::vector<std::string>& labels, std::string_view label) {
  if (label.empty()) return SIZE_MAX;
  return static_cast<std::size_t>(std::find(labels.begin(), labels.end(), label) - labels.begin());
}

std::vector<KeywordSet> joined(std::vector<KeywordSet> a, std::vector<KeywordSet> b) {
  a.insert(a.end(), std::make_move_iterator(b.begin()), std::make_move_iterator(b.end()));
  return a;
}

std::vector<SemanticSet> joined(std::vector<SemanticSet> a, std::vector<SemanticSet> b) {
  a.insert(a.end(), std::make_move_iterator(b.begin()), std::make_move_iterator(b.end()));
  return a;
}

// NaN or negative outputs count as 0 so argmax stays defined.
void sanitize(std::array<float, kMaxLabels>& probabilities, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(probabilities[i]) || probabilities[i] < 0) probabilities[i] = 0;
  }
}

// Personal data (an email, a phone, card or account number, an address, a key) and records' ids
// say nothing of the task, but their digits and symbols read as math or code to the models (an
// IBAN made "send the refund" look hard, a part number a lookup): they read the text with each
// such stretch blanked.
std::string without_stretches(std::string_view text, const std::vector<TextSpan>& stretches) {
  std::string out;
  out.reserve(text.size());
  std::size_t at = 0;
  for (const TextSpan& match : stretches) {
    if (match.begin < at) continue;  // inside the previous match
    out.append(text.substr(at, match.begin - at)).push_back(' ');
    at = match.end;
  }
  out.append(text.substr(at));
  return out;
}

// Sorted stretches that overlap ("jane.doe2024@x.io", an id inside an address) become one.
void merge_overlaps(std::vector<TextSpan>& sorted) {
  std::size_t kept = 0;
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i].begin < sorted[kept].end) {
      sorted[kept].end = std::max(sorted[kept].end, sorted[i].end);
    } else {
      sorted[++kept] = sorted[i];
    }
  }
  if (!sorted.empty()) sorted.resize(kept + 1);
}

// The words of `text` (maximal runs of word bytes, as the keyword matcher wants them) from the
// words of its blanked copy (without_stretches(text, matches)): each blanked stretch's own
// words in its place, the rest shifted back. False when a word runs across a stretch's edge
// ("v10.0.0.1"), where the two texts split differently.
bool unblanked_words(std::string_view text, const std::vector<TextSpan>& matches,
                     std::span<const classifier::WordSpan> blanked_words,
                     std::vector<classifier::WordSpan>& out) {
  const auto word_byte = [&](std::size_t i) { return has_class(text[i], kWordChar); };
  out.clear();
  std::size_t next_word = 0;
  std::size_t shift = 0;  // bytes the stretches before this point lost in the blanked copy
  std::size_t at = 0;
  for (const TextSpan& match : matches) {
    if (match.begin < at) continue;  // inside the previous match, as without_stretches
    if (match.end <= match.begin || match.end > text.size()) return false;  // never found so
    if ((match.begin > 0 && word_byte(match.begin - 1) && word_byte(match.begin)) ||
        (match.end < text.size() && word_byte(match.end - 1) && word_byte(match.end))) {
      return false;
    }
    // The blanked copy's words before this stretch's placeholder.
    const std::size_t placeholder = match.begin - shift;
    for (; next_word < blanked_words.size() && blanked_words[next_word].begin < placeholder;
         ++next_word) {
      out.emplace_back(static_cast<std::uint32_t>(blanked_words[next_word].begin + shift),
                       static_cast<std::uint32_t>(blanked_words[next_word].end + shift));
    }
    for (std::size_t i = match.begin; i < match.end;) {
      if (!word_byte(i)) {
        ++i;
        continue;
      }
      const std::size_t start = i;
      while (i < match.end && word_byte(i)) ++i;
      out.emplace_back(static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(i));
    }
    shift += match.end - match.begin - 1;
    at = match.end;
  }
  for (; next_word < blanked_words.size(); ++next_word) {
    out.emplace_back(static_cast<std::uint32_t>(blanked_words[next_word].begin + shift),
                     static_cast<std::uint32_t>(blanked_words[next_word].end + shift));
  }
  return true;
}

// English words for the task words of a text in another language, then the text; "" for an
// English text (or one without such words), which the models read as it is.
std::string glossed_for_models(std::string_view text, std::string_view language) {
  if (language == "en") return {};
  std::string glossed = english_glosses(text);
  if (glossed.empty()) return {};
  glossed.append("\n").append(text);
  return glossed;
}

// Runs a model into a stack buffer.
std::size_t predict(const classifier::TextModel& model, std::string_view text,
                    std::array<float, kMaxLabels>& probabilities) {
  const std::size_t n = std::min(model.labels().size(), kMaxLabels);
  probabilities.fill(0.0f);
  model.predict(text, std::span<float>(probabilities.data(), n));
  sanitize(probabilities, n);
  return n;
}

}  // namespace

Analyzer::Analyzer(AnalyzerSettings settings, Models models, std::vector<KeywordSet> keyword_sets,
                   std::vector<SemanticSet> semantic_sets)
    : settings_(std::move(settings)),
      models_(std::move(models)),
      keywords_(joined(settings_.keyword_sets, std::move(keyword_sets))),
      semantic_sets_(joined(settings_.semantic_sets, std::move(semantic_sets))),
      semantic_(semantic_sets_) {
  if (!settings_.detectors.pii) settings_.text.pii_chars = 0;  // nothing reads the counts
  if (models_.category && models_.category->labels().size() > kMaxLabels) {
    throw std::invalid_argument("category model has more than 64 labels");
  }
  if (models_.category) {
    const auto& labels = models_.category->labels();
    code_label_ = label_index(labels, "code");
    math_label_ = label_index(labels, "math");
    chit_chat_label_ = label_index(labels, "chit_chat");
  }
  if (models_.complexity) {
    const auto& labels = models_.complexity->labels();
    if (labels.empty() || labels.size() > kMaxLabels) {
      throw std::invalid_argument("complexity model must have 1..64 labels");
    }
    complexity_positive_ = labels.size() - 1;
    // Its last label is "the cheap model fails" only for a model of two (weak_ok, weak_fails):
    // a category model in its place would read small talk as hard.
    if (labels.size() > 2 && settings_.complexity_label.empty()) {
      throw std::invalid_argument("complexity model has " + std::to_string(labels.size()) +
                                  " labels (" + labels.front() +
                                  ", ...): a complexity model has "
                                  "two (weak_ok, weak_fails; llm-router train --target "
                                  "weak_fails), or set analyzer.complexity_label to the one that "
                                  "means hard");
    }
    if (!settings_.complexity_label.empty()) {
      const auto it = std::find(labels.begin(), labels.end(), settings_.complexity_label);
      if (it == labels.end()) {
        throw std::invalid_argument("complexity model has no label '" + settings_.complexity_label +
                                    "'");
      }
      complexity_positive_ = static_cast<std::size_t>(it - labels.begin());
    }
  }
  const auto* category = dynamic_cast<const classifier::LinearModel*>(models_.category.get());
  const auto* complexity = dynamic_cast<const classifier::LinearModel*>(models_.complexity.get());
  if (category != nullptr && complexity != nullptr) {
    shared_features_ = classifier::shared_featurizer_config(category->featurizer_config(),
                                                            complexity->featurizer_config());
    if (shared_features_) {
      category_linear_ = category;
      complexity_linear_ = complexity;
    }
  }
}

void Analyzer::score_semantic(std::string_view text, const DenseQuery* dense, Analysis& out,
                              const std::vector<bool>* wanted) const {
  std::optional<std::vector<SemanticScore>> scores;
  if (dense != nullptr) scores = dense->index.score(dense->vector);
  out.semantic_source = scores ? "embeddings" : "local";
  if (scores && wanted != nullptr) {  // the embeddings index scores every set, in their order
    std::vector<SemanticScore> kept;
    for (std::size_t s = 0; s < scores->size(); ++s) {
      if (is_wanted(wanted, s)) kept.push_back((*scores)[s]);
    }
    scores = std::move(kept);
  }
  if (!scores) scores = semantic_.score(text, wanted);
  for (const auto& score : *scores) {
    out.semantic_scores[std::string(score.name)] = score.score;
    if (score.threshold && score.score >= *score.threshold) {
      out.semantic_hits.emplace_back(score.name);
    }
  }
}

std::size_t Analyzer::adjust_category(std::string_view text, Distribution& probabilities,
                                      std::size_t n) const {
  const auto& labels = models_.category->labels();
  std::size_t best = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (probabilities[i] > probabilities[best]) best = i;
  }
  // A reading the rules below agree with still needs them when the model is unsure: a top
  // label under other_threshold would otherwise end as "other" ("Prove that the square root of
  // 2 is irrational." was math at 0.23, and so "other", though its first word names math).
  const auto needs_rule = [&](std::size_t label) {
    return label != best || probabilities[best] < settings_.other_threshold;
  };
  // The model learned "code" from Python benchmarks only; a confident rule-based reading of
  // other languages (code_evidence) moves 60% of the probability mass onto "code", which
  // then leads (>= 0.6 against <= 0.4).
  const CodeEvidence code = code_label_ < n && needs_rule(code_label_) && settings_.detectors.code
                                ? code_evidence(text)
                                : CodeEvidence{};
  if (code.strong()) {
    shift_mass(probabilities, n, code_label_, kCodeEvidenceWeight);
    return code_label_;
  }
  // The same for the task the prompt's first words name ("Summarize ...", "Write a poem").
  const std::size_t cued =
      settings_.detectors.instructions ? label_index(labels, instruction_cue(text)) : SIZE_MAX;
  if (cued < n && needs_rule(cued) && cue_overrules(labels[cued], labels[best])) {
    // A code reading the code evidence backs stays: "write a Python script that renames
    // files" is code, though "write a script" is a film's too.
    const bool backed_code =
        best == code_label_ && settings_.detectors.code && code_evidence(text).strong();
    if (backed_code) return best;
    shift_mass(probabilities, n, cued, kInstructionCueWeight);
    return cued;
  }
  // A question about programming in words ("what is a mutex"), when no task was named. A
  // language's name alone yields to a math problem, the model's or the rules' ("a Burmese
  // python eats 2 kg a day...").
  const auto math_problem = [&] {
    const bool only_a_name = !code.strong() && code.terms == 0 && code.distinct_languages < 2;
    return only_a_name && math_label_ < n &&
           (best == math_label_ || (settings_.detectors.math && math_evidence(text).confident()));
  };
  if (cued >= n && code.confident() && !math_problem()) {
    shift_mass(probabilities, n, code_label_, kCodeEvidenceWeight);
    return code_label_;
  }
  // And for math the model did not see ("the derivative of sin(x)cos(x)" read as open_qa),
  // unless the prompt names its task ("Write a poem about x^2") or is code.
  if (cued >= n && math_label_ < n && needs_rule(math_label_) && best != code_label_ &&
      settings_.detectors.math && math_evidence(text).confident()) {
    shift_mass(probabilities, n, math_label_, kMathEvidenceWeight);
    return math_label_;
  }
  // The model learned math from word problems, so everyday text with a figure or a duration
  // ("stopped working after two days", "fails with error code 1") reads as math to it. With no
  // mark of math (its notation or words) and no number asked for, it is not; the math share
  // that is left still leads when nothing else is likelier.
  if (best == math_label_ && settings_.detectors.math &&
      (reworks_a_text(text) || !asks_for_a_quantity(text)) &&
      detect_script_and_language(text).language == "en") {  // the words asked for are English
    const MathEvidence math = math_evidence(text);
    if (math.notation == 0 && math.vocabulary == 0) best = discount_math(probabilities, n);
  }
  return best;
}

std::size_t Analyzer::discount_math(Distribution& probabilities, std::size_t n) const {
  probabilities[math_label_] *= kUnbackedMathShare;
  float total = 0;
  for (std::size_t i = 0; i < n; ++i) total += probabilities[i];
  std::size_t best = 0;
  for (std::size_t i = 0; i < n && total > 0; ++i) {
    probabilities[i] /= total;
    if (probabilities[i] > probabilities[best]) best = i;
  }
  return best;
}

std::size_t Analyzer::lean_on_context(std::string_view text, std::string_view context,
                                      Distribution& probabilities, std::size_t n,
                                      float context_weight) const {
  std::string joined;
  joined.reserve(context.size() + 1 + text.size());
  joined.append(context).append("\n").append(text);
  std::array<float, kMaxLabels> in_context{};
  predict(*models_.category, joined, in_context);
  sanitize(in_context, n);
  adjust_category(joined, in_context, n);
  std::size_t best = 0;
  for (std::size_t i = 0; i < n; ++i) {
    probabilities[i] = (1 - context_weight) * probabilities[i] + context_weight * in_context[i];
    if (probabilities[i] > probabilities[best]) best = i;
  }
  return best;
}

Analyzer::TrailingReading Analyzer::read_trailing_request(std::string_view text,
                                                          std::string_view request,
                                                          Distribution& probabilities,
                                                          std::size_t n, std::size_t best,
                                                          bool english) const {
  TrailingReading out{best, std::nullopt};
  std::array<float, kMaxLabels> alone{};
  predict(*models_.category, request, alone);
  sanitize(alone, n);
  const std::size_t leader = adjust_category(request, alone, n);
  const bool code_or_math = leader == code_label_ || leader == math_label_;
  if (code_or_math && alone[leader] >= kTrailingRequestConfidence) {
    shift_mass(probabilities, n, leader, kTrailingRequestWeight);
    out.best = leader;
    // Passages make a question about them easy ("Based on the text, which building ..."), but
    // not the code or math it asks for.
    if (models_.complexity) out.complexity = complexity_of(request);
    return out;
  }
  // Figures in the passages (a spec sheet, a policy's days and amounts) made it math, but the
  // question is not ("How long is the warranty?"): with no mark of math, it is not (the marks
  // looked for are English). A word problem the model is sure of keeps it ("... When does the
  // second train catch up?").
  if (best == math_label_ && leader != math_label_ && settings_.detectors.math && english &&
      probabilities[math_label_] < kSureOfMath) {
    const MathEvidence math = math_evidence(text);
    if (math.notation == 0 && math.vocabulary == 0) out.best = discount_math(probabilities, n);
  }
  return out;
}

double Analyzer::complexity_of(std::string_view text) const {
  std::array<float, kMaxLabels> probabilities{};
  predict(*models_.complexity, text, probabilities);
  return std::clamp<double>(probabilities[complexity_positive_], 0.0, 1.0);
}

void Analyzer::analyze_content(std::string_view full_text, const DenseQuery* dense, Analysis& out,
                               std::string_view context, const std::vector<TextSpan>* hidden,
                               const std::vector<bool>* semantic_sets) const {
  std::string buffer;
  const std::string_view model_text = head_and_tail(full_text, settings_.text.model_chars, buffer);
  if (settings_.detectors.language) {
    const ScriptSignals script = detect_script_and_language(model_text);
    out.script = script.script;
    out.language = script.language;
  }
  const bool blank = hidden != nullptr && !hidden->empty();
  const std::string blanked = blank ? without_stretches(full_text, *hidden) : std::string();
  const std::string_view readable = blank ? std::string_view(blanked) : full_text;
  // What the task models and the category corrections read: the models learned English, so
  // another language's text comes with English words for its task words, first (where the
  // instruction cue reads).
  const std::string glossed =
      settings_.detectors.language ? glossed_for_models(readable, out.language) : std::string();
  const std::string_view text = glossed.empty() ? readable : std::string_view(glossed);
  std::array<float, kMaxLabels> probabilities{};
  std::array<float, kMaxLabels> complexity_probabilities{};
  // Both models from one featurization and one pass over it (bit-identical to featurizing
  // twice and predicting one model at a time).
  const bool paired = shared_features_.has_value();
  // The words of text when the featurizer read all of it, for the keyword matcher.
  std::optional<std::span<const classifier::WordSpan>> words;
  if (paired) {
    thread_local classifier::FeatureScratch scratch;
    classifier::featurize_unscaled(*shared_features_, text, scratch);
    if (text.size() <= shared_features_->max_chars) {
      if (text.data() == full_text.data()) {
        words = scratch.word_spans;
      } else if (blank && text.data() == blanked.data()) {
        thread_local std::vector<classifier::WordSpan> unblanked;
        if (unblanked_words(full_text, *hidden, scratch.word_spans, unblanked)) {
          words = unblanked;
        }
      }
    }
    const std::size_t category_n = std::min(category_linear_->labels().size(), kMaxLabels);
    const std::size_t complexity_n = std::min(complexity_linear_->labels().size(), kMaxLabels);
    classifier::predict_shared_pair(
        scratch, *category_linear_, std::span<float>(probabilities.data(), category_n),
        *complexity_linear_, std::span<float>(complexity_probabilities.data(), complexity_n));
    sanitize(probabilities, category_n);
    sanitize(complexity_probabilities, complexity_n);
  }
  std::optional<double> request_complexity;  // of the trailing request read alone
  if (models_.category) {
    const std::size_t n = paired ? std::min(models_.category->labels().size(), kMaxLabels)
                                 : predict(*models_.category, text, probabilities);
    std::size_t best = adjust_category(text, probabilities, n);
    if (const std::string_view request = trailing_request(readable); !request.empty() && n > 0) {
      // Read as the whole text is: with English glosses first in another language.
      const std::string glossed_request =
          settings_.detectors.language ? glossed_for_models(request, out.language) : std::string();
      const TrailingReading reading = read_trailing_request(
          text, glossed_request.empty() ? request : std::string_view(glossed_request),
          probabilities, n, best, out.language == "en");
      best = reading.best;
      request_complexity = reading.complexity;
    }
    // A fragment's own reading says nothing: the context's alone counts.
    const bool fragment = short_refinement(text) || !has_words(text);
    if (!context.empty() && n > 0 &&
        (probabilities[best] < kFollowUpConfidence ||
         (best == chit_chat_label_ && refers_back(text)) || fragment) &&
        !announces_new_topic(text) && !only_acknowledges(text)) {
      best = lean_on_context(text, context, probabilities, n,
                             fragment ? 1.0f : kFollowUpContextWeight);
      out.category_from_context = true;
    }
    const auto& labels = models_.category->labels();
    for (std::size_t i = 0; i < n; ++i) out.category_scores[labels[i]] = probabilities[i];
    // A text with nothing in it (an empty prompt, images alone, "?") has no task to read but
    // the one before it.
    if (n > 0 && (has_words(text) || out.category_from_context) &&
        probabilities[best] >= settings_.other_threshold) {
      out.category = labels[best];
    }
  }
  if (models_.complexity) {
    if (!paired) predict(*models_.complexity, text, complexity_probabilities);
    out.complexity = std::clamp<double>(complexity_probabilities[complexity_positive_], 0.0, 1.0);
    if (request_complexity) out.complexity = std::max(out.complexity, *request_complexity);
    // The models' reading of no words is their prior (0.2-0.3 for "", "?", "..."), not a hard
    // task: nothing to answer is easy, and a "?" after a question asks for that question.
    if (!has_words(text)) {
      out.complexity = has_words(context) ? complexity_of(context) : 0.0;
    }
  }

  if (settings_.detectors.code) {
    CodeSignals code = detect_code(full_text);
    out.has_code = code.has_code;
    out.code_languages = std::move(code.languages);
  }
  if (models_.sentiment && settings_.detectors.sentiment) {
    const auto [score, vader] = models_.sentiment->score_with_vader(model_text);
    // Lexicon and calibration are English ("die" and "pain" are not angry in German and
    // French): another language is read through English glosses of its words of feeling,
    // negations and intensifiers, with its emoticons and the like.
    const bool english = out.language == "en" || out.language == "unknown";
    if (english) {
      out.sentiment = score;
    } else {
      // The emoji's words first: a negation among the glosses ("pas", "nicht") would turn them.
      std::string glosses = emoji_words(model_text);
      if (const std::string words = english_sentiment_glosses(model_text); !words.empty()) {
        glosses.append(glosses.empty() ? "" : " ").append(words);
      }
      out.sentiment = glosses.empty() ? models_.sentiment->score_symbols(model_text)
                                      : models_.sentiment->score_glossed(glosses, model_text);
    }
    out.sentiment_vader = vader;
  }
  out.keyword_hits = words ? keywords_.match(full_text, *words, &out.keyword_words)
                           : keywords_.match(full_text, &out.keyword_words);
  if (!semantic_.empty()) score_semantic(model_text, dense, out, semantic_sets);
  out.analyzed_chars = static_cast<int>(full_text.size());
}

Analysis Analyzer::analyze(std::string_view body, const RequestMeta& meta,
                           const DenseQuery* dense) const {
  const auto start = std::chrono::steady_clock::now();
  Analysis out;
  RequestFacts facts = extract_request(body, meta.endpoint, settings_.text);
  PiiCounts counts{};
  // Where the PII is in the analyzed text, found once: for the counts or the blanking.
  const bool found = facts.text_pii.has_value();
  std::vector<PiiMatch> matches = found ? std::move(*facts.text_pii) : std::vector<PiiMatch>();
  bool located = found;
  if (settings_.detectors.pii) {
    if (settings_.text.pii_whole_request) {
      counts = facts.pii;
    } else {
      matches = find_pii(facts.text);
      located = true;
      for (const PiiMatch& match : matches) ++counts[static_cast<std::size_t>(match.kind)];
    }
  }
  const bool has_pii = std::any_of(counts.begin(), counts.end(), [](int n) { return n > 0; });
  if (has_pii && !located) matches = find_pii(facts.text);
  // What the task models do not read: the personal data, and records' ids.
  std::vector<TextSpan> hidden = find_record_ids(facts.text);
  if (has_pii) {
    for (const PiiMatch& match : matches) hidden.push_back({match.begin, match.end});
    std::sort(hidden.begin(), hidden.end(),
              [](const TextSpan& a, const TextSpan& b) { return a.begin < b.begin; });
    merge_overlaps(hidden);
  }
  analyze_content(facts.text, dense, out, facts.context_text, hidden.empty() ? nullptr : &hidden,
                  meta.semantic_sets);
  if (settings_.detectors.pii) {
    for (std::size_t k = 0; k < kPiiKinds; ++k) {
      if (counts[k] > 0) {
        out.pii.push_back({std::string(pii_kind_name(static_cast<PiiKind>(k))), counts[k]});
      }
    }
    // Text past pii_chars was not scanned: a `pii` rule cannot rule PII out, so it fires
    // (fail closed) on the kind "unscanned".
    if (settings_.text.pii_whole_request && facts.pii_truncated)
      out.pii.push_back({"unscanned", 1});
  }
  out.truncated = facts.truncated;
  out.estimated_tokens = facts.estimated_tokens;
  out.turns = facts.turns;
  out.has_images = facts.has_images;
  out.has_audio = facts.has_audio;
  out.has_tools = facts.has_tools;
  out.json_mode = facts.json_mode;
  out.stream = facts.stream;
  out.user = std::move(facts.user);
  out.metadata = std::move(facts.metadata);
  out.elapsed_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count();
  return out;
}

Analysis Analyzer::analyze(const nlohmann::json& body, const RequestMeta& meta,
                           const DenseQuery* dense) const {
  const std::string text = request_text(body);
  return analyze(std::string_view(text), meta, dense);
}

std::string Analyzer::semantic_text(std::string_view body, const RequestMeta& meta) const {
  const RequestFacts facts = extract_request(body, meta.endpoint, settings_.text);
  std::string buffer;
  return std::string(head_and_tail(facts.text, settings_.text.model_chars, buffer));
}

std::string Analyzer::semantic_text(const nlohmann::json& body, const RequestMeta& meta) const {
  const std::string text = request_text(body);
  return semantic_text(std::string_view(text), meta);
}

Analysis Analyzer::analyze_text(std::string_view text) const {
  return analyze(nlohmann::json{{"messages", {{{"role", "user"}, {"content", text}}}}},
                 RequestMeta{});
}

}  // namespace llm_router::analyzer
