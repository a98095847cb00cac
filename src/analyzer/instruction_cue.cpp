#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>

#include "llm_router/analyzer/detectors.hpp"
#include "text_util.hpp"
#include "word_table.hpp"

namespace llm_router::analyzer {
namespace {

constexpr std::size_t kReadBytes = 160;  // the instruction sits in the first words
constexpr std::size_t kMaxWords = 16;    // of which at most this many are read
// "hi, how are you today?" but not a real request; characters, not bytes
// ("こんにちは！元気ですか？" with its English gloss is 27 characters and 51 bytes).
constexpr std::size_t kGreetingChars = 48;

// The first words of a prompt, lowercased ASCII letters and digits ("tl;dr" gives "tl", "dr").
// Words longer than kWordBytes are kept cut (no listed word is that long, so none matches).
struct LeadingWords {
  static constexpr std::size_t kWordBytes = 16;
  std::array<std::array<char, kWordBytes>, kMaxWords> bytes{};
  std::array<std::size_t, kMaxWords> lengths{};
  std::size_t count = 0;
  std::string_view head;  // the bytes read

  explicit LeadingWords(std::string_view text) : head(text.substr(0, kReadBytes)) {
    std::size_t length = 0;
    for (std::size_t i = 0; i < head.size() && count < kMaxWords; ++i) {
      const char c = head[i];
      if (is_ascii_alnum(c) || c == '\'') {
        if (length < kWordBytes) bytes[count][length] = ascii_lower(c);
        ++length;
        continue;
      }
      end_word(length);
    }
    if (head.size() == text.size()) end_word(length);  // a word cut by the byte limit is not read
  }

  // A digit, '=' or '^' among the bytes read: numbers or an equation in sight.
  bool has_math_marks() const {
    return std::any_of(head.begin(), head.end(),
                       [](char c) { return is_ascii_digit(c) || c == '=' || c == '^'; });
  }

  // Arithmetic on numbers: "12 * 7", "3^4", "2 + 2 =", "17% of 240". Not '-' or '/', which
  // join the parts of dates and ranges ("1939-1945", "12/05").
  bool has_arithmetic() const {
    for (std::size_t i = 0; i < head.size(); ++i) {
      if (!is_ascii_digit(head[i])) continue;
      std::size_t j = i;
      while (j < head.size() && (is_ascii_digit(head[j]) || head[j] == '.')) ++j;
      std::size_t k = j;
      while (k < head.size() && head[k] == ' ') ++k;
      if (k < head.size() && (head[k] == '+' || head[k] == '*' || head[k] == '^' ||
                              head[k] == '=' || head[k] == 'x')) {
        std::size_t m = k + 1;
        while (m < head.size() && head[m] == ' ') ++m;
        if (m < head.size() && is_ascii_digit(head[m])) return true;
      }
      if (j < head.size() && head[j] == '%' && head.substr(j + 1).starts_with(" of ")) return true;
      i = j;
    }
    return false;
  }

  void end_word(std::size_t& length) {
    if (length > 0 && count < kMaxWords) lengths[count++] = std::min(length, kWordBytes);
    length = 0;
  }
  std::string_view operator[](std::size_t i) const {
    return i < count ? std::string_view(bytes[i].data(), lengths[i]) : std::string_view();
  }
};

template <std::size_t N>
bool one_of(std::string_view word, const std::array<std::string_view, N>& list) {
  return std::find(list.begin(), list.end(), word) != list.end();
}

// Politeness and framing before the verb: "please", "can you", "I want you to", "help me".
constexpr std::array<std::string_view, 20> kFiller = {
    "please", "pls",  "plz",  "kindly", "just", "can", "could", "would",   "will",    "you",
    "i",      "want", "need", "to",     "help", "me",  "now",   "briefly", "quickly", "brief"};
constexpr std::array<std::string_view, 17> kQuantity = {
    "a",    "an",  "the",  "one",  "two", "three", "four",  "five",   "ten",
    "some", "few", "more", "list", "of",  "short", "quick", "several"};
constexpr std::array<std::string_view, 38> kCreativeForms = {
    "poem",    "poems",     "story",    "stories",    "haiku",  "song",    "songs",  "limerick",
    "sonnet",  "essay",     "letter",   "tweet",      "rap",    "script",  "novel",  "tale",
    "fable",   "verse",     "lyrics",   "speech",     "joke",   "jokes",   "poetry", "scene",
    "scenes",  "monologue", "dialogue", "screenplay", "riddle", "riddles", "slogan", "slogans",
    "tagline", "jingle",    "vows",     "eulogy",     "toast",  "ode"};
constexpr std::array<std::string_view, 2> kJokes = {"joke", "jokes"};
constexpr std::array<std::string_view, 10> kIdeaNouns = {
    "ideas",   "ways",   "suggestions", "names",        "tips",
    "options", "things", "activities",  "alternatives", "themes"};
constexpr std::array<std::string_view, 6> kMathVerbs = {"prove",     "simplify",  "differentiate",
                                                        "integrate", "factorize", "factorise"};
// Also said of bugs and budgets: math only with numbers or an equation in sight.
constexpr std::array<std::string_view, 4> kMathIfNumbers = {"solve", "compute", "calculate",
                                                            "evaluate"};
// Nouns of mathematics only: a prompt naming one in its first words asks a math question.
constexpr std::array<std::string_view, 13> kMathNouns = {
    "antiderivative", "eigenvalue",  "eigenvalues", "eigenvector", "polynomial",
    "polynomials",    "logarithm",   "quadratic",   "hypotenuse",  "factorial",
    "theorem",        "determinant", "derivatives"};
// Also said outside mathematics ("a financial derivative", "an integral part", "the odds are
// good"): math only with numbers (digits or number words) or an equation in sight.
constexpr std::array<std::string_view, 14> kMathNounsIfNumbers = {
    "derivative", "integral",  "probability", "odds",  "equation", "equations", "percentage",
    "average",    "perimeter", "remainder",   "prime", "radius",   "diameter",  "circumference"};
// Everyday nouns first ("the product stopped working after two days", "in my area"): math
// only as "the sum of", "the area of", with numbers in sight.
constexpr std::array<std::string_view, 4> kMathNounsOfIfNumbers = {"sum", "product", "area",
                                                                   "volume"};
constexpr std::array<std::string_view, 12> kNumberWords = {"two", "three", "four",  "five",
                                                           "six", "seven", "eight", "nine",
                                                           "ten", "twice", "half",  "dozen"};
// "Based on the text below, ...", "According to this paragraph", "Given the passage": a
// question asked about a text the prompt carries.
constexpr std::array<std::string_view, 7> kPassageLeads = {"based", "according", "given",  "from",
                                                           "using", "in",        "reading"};
constexpr std::array<std::string_view, 16> kPassageNouns = {
    "text",  "passage", "paragraph", "article", "context",  "excerpt",    "document", "reference",
    "email", "report",  "story",     "clause",  "contract", "transcript", "memo",     "paragraphs"};
// Passages only when pointed at ("this review", "the post below"; not "in code review", "using
// the message queue").
constexpr std::array<std::string_view, 8> kPointedPassageNouns = {
    "policy", "notes", "review", "post", "thread", "description", "letter", "message"};
constexpr std::array<std::string_view, 11> kPassageFiller = {
    "on",        "to",    "this",  "the",      "these",   "that",
    "following", "above", "below", "provided", "attached"};
// What to do with the passage: pull facts out of it.
constexpr std::array<std::string_view, 7> kExtractVerbs = {"extract", "list", "find", "identify",
                                                           "pull",    "name", "get"};
// What a coding request asks to be written ("Write a CUDA kernel", "give me a regex"). Not
// "script", "snippet" or "shell": also said of films, dialogue and companies.
constexpr std::array<std::string_view, 15> kCodeObjects = {
    "function", "functions", "kernel", "regex", "regexp",   "parser", "dockerfile", "makefile",
    "shader",   "sql",       "bash",   "cuda",  "endpoint", "api",    "powershell"};
// What "make" turns a text into when it asks for a summary: "make this shorter".
constexpr std::array<std::string_view, 3> kShorter = {"shorter", "concise", "briefer"};
// Where a passage is pointed at: "list the names from this", "from the following email".
constexpr std::array<std::string_view, 6> kPointers = {"this",      "these", "that",
                                                       "following", "above", "below"};
// Creative pieces a prompt may open with, verb left out ("Cover letter for ...", "haiku about
// autumn", "a 100-word story where ..."). Not "song", "script", "speech" or "letter" alone:
// also what people ask to be recommended or explained.
constexpr std::array<std::string_view, 14> kCreativeLeads = {
    "poem",  "poems",   "haiku", "limerick", "sonnet", "villanelle", "ode",
    "story", "stories", "fable", "toast",    "eulogy", "ballad",     "acrostic"};
// What follows a creative piece's name when the prompt asks for one: "poem about", "toast for".
constexpr std::array<std::string_view, 12> kCreativeLinks = {
    "about", "for",  "on",   "where",       "in",         "that",
    "to",    "with", "from", "celebrating", "describing", "set"};
// What follows "10 ways", "five names": "to", "for", "a hospital could..." (not "ways are
// there": a question about counting).
constexpr std::array<std::string_view, 10> kIdeaLinks = {"to", "for", "of", "that", "on",
                                                         "i",  "we",  "a",  "an",   "my"};
constexpr std::array<std::string_view, 6> kGreetings = {"hi",   "hello", "hey",
                                                        "hiya", "howdy", "greetings"};

bool is_number(std::string_view word) {
  return !word.empty() && std::all_of(word.begin(), word.end(), is_ascii_digit);
}

// Whether words from `at` name one of `nouns` after quantity words and at most two others
// ("a short", "me three funny", "a list of 10 startup"): the object of "write", "give", "list".
template <std::size_t N>
bool names_object(const LeadingWords& words, std::size_t at,
                  const std::array<std::string_view, N>& nouns, int max_other_words = 2) {
  if (words[at] == "me" || words[at] == "us") ++at;
  int other_words = 0;
  for (; at < words.count; ++at) {
    if (one_of(words[at], nouns)) return true;
    if (!is_number(words[at]) && !one_of(words[at], kQuantity) && ++other_words > max_other_words)
      return false;
  }
  return false;
}

// Whether one of `list` is among the `span` words from `at`.
template <std::size_t N>
bool word_within(const LeadingWords& words, std::size_t at, std::size_t span,
                 const std::array<std::string_view, N>& list) {
  for (std::size_t i = at; i < words.count && i < at + span; ++i) {
    if (one_of(words[i], list)) return true;
  }
  return false;
}

bool passage_noun(std::string_view word) {
  return one_of(word, kPassageNouns) || one_of(word, kPointedPassageNouns) || word == "sentence";
}

// "in this email", "in these notes", "in the text below": a passage pointed at after "in"
// (not "in this function", "in the book").
bool in_pointed_passage(const LeadingWords& words, std::size_t i) {
  if (words[i] != "in") return false;
  const std::string_view pointer = words[i + 1];
  if (!one_of(pointer, kPointers) && pointer != "the") return false;
  return passage_noun(words[i + 2]) || (!words[i + 2].empty() && passage_noun(words[i + 3]));
}

// "from this", "from the following", "from the email below", "out of this email", "in these
// notes" among the words after `at`.
bool points_at_passage(const LeadingWords& words, std::size_t at) {
  for (std::size_t i = at; i < words.count && i < at + 8; ++i) {
    if (in_pointed_passage(words, i)) return true;
    const bool from = words[i] == "from" || (words[i] == "out" && words[i + 1] == "of");
    if (!from) continue;
    const std::size_t next = words[i] == "out" ? i + 2 : i + 1;
    if (one_of(words[next], kPointers)) return true;
    if (words[next] == "the" &&
        (one_of(words[next + 1], kPointers) || one_of(words[next + 1], kPassageNouns))) {
      return true;
    }
  }
  return false;
}

// "... mentioned here", "... named in this sentence", "... listed above": what a passage holds
// is asked for ("Which medications are mentioned here?", "Identify every person mentioned in
// this sentence").
bool asks_what_passage_mentions(const LeadingWords& words, std::size_t at) {
  static constexpr std::array<std::string_view, 4> kMentioned = {"mentioned", "named", "listed",
                                                                 "referenced"};
  static constexpr std::array<std::string_view, 3> kHere = {"here", "above", "below"};
  for (std::size_t i = at + 1; i < words.count && i < at + 10; ++i) {
    if (!one_of(words[i], kMentioned)) continue;
    return one_of(words[i + 1], kHere) || in_pointed_passage(words, i + 1);
  }
  return false;
}

// "label each as", "tag these", "sort the animals into ...": items put into given classes.
bool asks_to_sort(const LeadingWords& words, std::size_t at) {
  static constexpr std::array<std::string_view, 7> kItems = {"each", "these",     "them", "every",
                                                             "all",  "following", "as"};
  static constexpr std::array<std::string_view, 1> kInto = {"into"};
  const std::string_view verb = words[at];
  if (verb == "label" || verb == "tag") return word_within(words, at + 1, 3, kItems);
  return (verb == "sort" || verb == "group") && word_within(words, at + 1, 6, kInto);
}

bool names_math(const LeadingWords& words);

// "make this shorter", "make it more concise", "make the email briefer"; not "make my commute
// shorter".
bool asks_to_shorten(const LeadingWords& words, std::size_t at) {
  static constexpr std::array<std::string_view, 5> kPronouns = {"this", "it", "that", "these",
                                                                "them"};
  const std::string_view object = words[at + 1];
  const bool a_text =
      one_of(object, kPronouns) || (object == "the" && one_of(words[at + 2], kPassageNouns));
  return words[at] == "make" && a_text && names_object(words, at + 1, kShorter);
}

// "show that <a statement> is/are/has ..." about numbers or mathematics: a proof. Not "show
// that spreadsheet from Q3 2023".
bool asks_for_a_proof(const LeadingWords& words, std::size_t at) {
  static constexpr std::array<std::string_view, 11> kClaims = {
      "is",        "are",   "has",    "have",  "equals", "divides",
      "converges", "holds", "exists", "exist", "lies"};
  if (words[at] != "show" || words[at + 1] != "that") return false;
  return (words.has_math_marks() || names_math(words)) && word_within(words, at + 2, 10, kClaims);
}

std::string_view label_for_verb(const LeadingWords& words, std::size_t at) {
  const std::string_view verb = words[at];
  if (verb == "summarize" || verb == "summarise" || verb == "shorten" || verb == "condense" ||
      verb == "tldr" || (verb == "tl" && words[at + 1] == "dr") ||
      (verb == "sum" && words[at + 1] == "up")) {
    return "summarization";
  }
  if (asks_to_shorten(words, at)) return "summarization";
  if (verb == "classify" || verb == "categorize" || verb == "categorise") return "classification";
  if (verb == "extract" || (verb == "pull" && words[at + 1] == "out")) {
    return "information_extraction";
  }
  // Everyday ways to say the same, unless the words name mathematics ("find the roots from this
  // quadratic", "sort the following numbers into ...").
  const bool fetch =
      verb == "list" || verb == "find" || verb == "get" || verb == "pull" || verb == "grab";
  const bool sort = asks_to_sort(words, at);
  if ((sort || (fetch && points_at_passage(words, at + 1))) && !names_math(words)) {
    return sort ? "classification" : "information_extraction";
  }
  // (Not "identify from this list which are ...": sorting; nor "which of the places mentioned
  // here is closest ...", "what was his best game mentioned in the text": questions about it.)
  const bool which = (verb == "which" || verb == "what" || verb == "who") &&
                     words[at + 1] != "of" &&
                     word_within(words, at + 1, 6, std::array<std::string_view, 2>{"are", "were"});
  if ((fetch || which || verb == "identify" || verb == "name") &&
      asks_what_passage_mentions(words, at)) {
    return "information_extraction";
  }
  // "tell me a (funny) joke", not "tell me about the history of jokes"
  if (verb == "tell" && names_object(words, at + 1, kJokes, 1)) return "chit_chat";
  if (verb == "brainstorm") return "brainstorming";
  if (one_of(verb, kMathVerbs)) return "math";
  if (asks_for_a_proof(words, at)) return "math";
  if (one_of(verb, kMathIfNumbers) && words.has_math_marks()) return "math";
  const bool make =
      verb == "write" || verb == "compose" || verb == "give" || verb == "provide" || verb == "make";
  // ("tl" is the first word of "TL;DR".)
  if (make && names_object(words, at + 1,
                           std::array<std::string_view, 6>{"summary", "tldr", "tl", "recap",
                                                           "synopsis", "gist"})) {
    return "summarization";
  }
  if ((verb == "write" || verb == "compose") && names_object(words, at + 1, kCreativeForms)) {
    return "creative_writing";
  }
  if ((verb == "give" || verb == "suggest" || verb == "list") &&
      names_object(words, at + 1, kIdeaNouns)) {
    return "brainstorming";
  }
  const bool build = make || verb == "implement" || verb == "create" || verb == "build" ||
                     verb == "generate" || verb == "show" || verb == "code";
  if (build && names_object(words, at + 1, kCodeObjects)) return "code";
  return {};
}

enum MathWord : std::uint8_t {
  kMathNoun = 1,
  kMathNounIfNumbers = 2,
  kNumberWord = 4,
  kMathNounOfIfNumbers = 8
};

// The math vocabulary in one hash table: one lookup per leading word instead of a scan of
// each list (this runs on every prompt the code evidence does not claim).
struct MathWordIndex {
  WordTable<std::uint8_t> kinds;
  MathWordIndex() {
    for (auto word : kMathNouns) kinds[word] |= kMathNoun;
    for (auto word : kMathNounsIfNumbers) kinds[word] |= kMathNounIfNumbers;
    for (auto word : kMathNounsOfIfNumbers) kinds[word] |= kMathNounOfIfNumbers;
    for (auto word : kNumberWords) kinds[word] |= kNumberWord;
  }
};

bool names_math(const LeadingWords& words) {
  static const MathWordIndex index;  // immutable after its thread-safe construction
  std::uint8_t seen = 0;
  for (std::size_t i = 0; i < words.count; ++i) {
    const std::uint8_t* kinds = index.kinds.find(words[i]);
    if (kinds == nullptr) continue;
    seen |= *kinds;
    if ((*kinds & kMathNounOfIfNumbers) && i + 1 < words.count && words[i + 1] == "of") {
      seen |= kMathNounIfNumbers;
    }
  }
  if (seen & kMathNoun) return true;
  if ((seen & kMathNounIfNumbers) && ((seen & kNumberWord) || words.has_math_marks())) {
    return true;
  }
  return words.has_arithmetic();
}

// A prompt that opens with what it wants, verb left out: "Cover letter for a nurse", "haiku
// about rain", "10 ways to cut costs", "three bullet points summarizing this". Not a question
// ("Ode to Joy composer?", "Is the story in Genesis literal?").
std::string_view label_for_noun_lead(const LeadingWords& words, std::size_t at, bool question) {
  if (question) return {};
  static constexpr std::array<std::string_view, 9> kCounts = {
      "one", "five", "ten", "some", "few", "several", "more", "couple", "bunch"};
  std::size_t i = at;
  bool counted = false;  // "10 ways", "a few names", not "the ways" (a title, a question)
  for (; i < words.count &&
         (is_number(words[i]) || one_of(words[i], kQuantity) || one_of(words[i], kNumberWords));
       ++i) {
    counted |= is_number(words[i]) || one_of(words[i], kNumberWords) || one_of(words[i], kCounts);
  }
  for (std::size_t other = 0; i < words.count && other <= 2; ++i, ++other) {
    const std::string_view next = words[i + 1];
    // At most one word before the piece: "cover letter", "shakespearean sonnet".
    const bool linked = other <= 1 && (next.empty() || one_of(next, kCreativeLinks));
    if (linked && (one_of(words[i], kCreativeLeads) ||
                   (words[i] == "letter" && (words[i - 1] == "cover" || next == "to")))) {
      return "creative_writing";
    }
    if (counted && one_of(words[i], kIdeaNouns) && (next.empty() || one_of(next, kIdeaLinks))) {
      return "brainstorming";
    }
    if (words[i] == "summarizing" || words[i] == "summarising") return "summarization";
  }
  return {};
}

// The label for "<lead> <filler...> [word] <passage noun> [filler] <verb> ..." at `at`, or "".
std::string_view label_for_passage(const LeadingWords& words, std::size_t at) {
  if (!one_of(words[at], kPassageLeads)) return {};
  // "this", "the following", "below", "attached": the passage is pointed at.
  const auto points = [](std::string_view word) {
    return one_of(word, kPointers) || word == "provided" || word == "attached";
  };
  bool pointed = false;
  std::size_t i = at + 1;
  for (; i < words.count && one_of(words[i], kPassageFiller); ++i) pointed |= points(words[i]);
  // One word may qualify the passage: "this contract clause", "the job post below".
  if (i + 1 < words.count && !passage_noun(words[i]) && passage_noun(words[i + 1])) ++i;
  if (i >= words.count || !passage_noun(words[i])) return {};
  const bool needs_pointer = one_of(words[i], kPointedPassageNouns);
  ++i;
  for (; i < words.count && one_of(words[i], kPassageFiller); ++i) pointed |= points(words[i]);
  if (needs_pointer && !pointed) return {};
  if (const std::string_view label = label_for_verb(words, i); !label.empty()) return label;
  return one_of(words[i], kExtractVerbs) ? "information_extraction" : "closed_qa";
}

bool is_greeting(const LeadingWords& words, std::string_view text) {
  const std::size_t last = text.find_last_not_of(" \t\r\n");
  if (last == std::string_view::npos) return false;
  const std::size_t chars = static_cast<std::size_t>(
      std::count_if(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(last) + 1,
                    [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
  if (chars > kGreetingChars) return false;
  if (one_of(words[0], kGreetings)) return true;
  return words[0] == "good" &&
         (words[1] == "morning" || words[1] == "afternoon" || words[1] == "evening");
}

// The request typed after a pasted passage ("<article>\nSummarize the passage above."): the
// text's last line, when it is short and at least as much text comes before it.
std::string_view final_line(std::string_view text) {
  constexpr std::size_t kMaxRequestBytes = 300;
  const std::size_t end = text.find_last_not_of(" \t\r\n");
  if (end == std::string_view::npos) return {};
  text = text.substr(0, end + 1);
  const std::size_t cut = text.rfind('\n');
  if (cut == std::string_view::npos) return {};
  std::string_view line = text.substr(cut + 1);
  line.remove_prefix(std::min(line.size(), line.find_first_not_of(" \t")));
  if (line.empty() || line.size() > kMaxRequestBytes || line.size() * 2 > text.size()) return {};
  return line;
}

std::string_view leading_cue(std::string_view text, bool greetings) {
  const std::size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return {};
  text.remove_prefix(start);
  const LeadingWords words(text);
  if (greetings && is_greeting(words, text)) return "chit_chat";
  std::size_t at = 0;
  while (at < words.count && at < 5 && one_of(words[at], kFiller)) ++at;
  if (const std::string_view label = label_for_verb(words, at); !label.empty()) return label;
  if (const std::string_view label = label_for_passage(words, at); !label.empty()) return label;
  if (names_math(words)) return "math";
  const std::size_t end = text.find_last_not_of(" \t\r\n");
  return label_for_noun_lead(words, at, end != std::string_view::npos && text[end] == '?');
}

// The text after a short lead-in that names no task ("Different question: prove ...", "ok cool.
// write me a limerick", "Thanks! Unrelated: what's ..."): "" when there is none.
std::string_view after_lead_in(std::string_view text) {
  constexpr std::size_t kMaxLeadInBytes = 48;
  const std::string_view head = text.substr(0, std::min(text.size(), kMaxLeadInBytes));
  for (std::size_t i = 0; i < head.size(); ++i) {
    const char c = head[i];
    const bool colon = c == ':';
    const bool sentence_end =
        (c == '.' || c == '!' || c == '?') && i + 1 < text.size() && text[i + 1] == ' ';
    const bool dash = head.substr(i).starts_with("\u2014");  // an em dash
    if (colon || sentence_end || dash) {
      std::string_view rest = text.substr(i + (dash ? 3 : 1));
      rest.remove_prefix(std::min(rest.size(), rest.find_first_not_of(" \t\r\n")));
      return rest;
    }
  }
  return {};
}

}  // namespace

std::string_view instruction_cue(std::string_view text) {
  if (const std::string_view cue = leading_cue(text, /*greetings=*/true); !cue.empty()) return cue;
  // Up to two lead-ins: "Thanks! Unrelated: summarize ...".
  std::string_view rest = text;
  for (int lead_ins = 0; lead_ins < 2; ++lead_ins) {
    rest = after_lead_in(rest);
    if (rest.empty()) break;
    if (const std::string_view cue = leading_cue(rest, /*greetings=*/false); !cue.empty()) {
      return cue;
    }
  }
  // A greeting after a passage is a sign-off, not small talk.
  const std::string_view last = final_line(text);
  return last.empty() ? std::string_view() : leading_cue(last, /*greetings=*/false);
}

}  // namespace llm_router::analyzer
