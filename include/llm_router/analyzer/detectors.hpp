#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace llm_router::analyzer {

// Kinds of personal data and secrets; only kinds and counts leave the analyzer, never text.
enum class PiiKind { email, phone, credit_card, iban, us_ssn, api_key, ip_address };
inline constexpr std::size_t kPiiKinds = 7;
std::string_view pii_kind_name(PiiKind kind);

using PiiCounts = std::array<int, kPiiKinds>;

// One pass per family of shapes; every candidate is checked (Luhn, mod-97, SSN ranges, octets).
PiiCounts detect_pii(std::string_view text);

// The same detections with where they are (byte offsets into `text`), ordered by start, the
// longest first among those starting together; the request log's redactor uses them.
struct PiiMatch {
  std::size_t begin = 0;
  std::size_t end = 0;
  PiiKind kind = PiiKind::email;
};
std::vector<PiiMatch> find_pii(std::string_view text);

// A stretch of text, [begin, end).
struct TextSpan {
  std::size_t begin = 0;
  std::size_t end = 0;
};
// Identifiers of records: order, invoice, part, model and version numbers ("INV-2024-00817",
// "7740-A-2291-X", "v2.14.3"): 4+ digits with a letter and a separator. They say nothing of the
// task but read as code or as a hard question to the models, which read the text without them.
std::vector<TextSpan> find_record_ids(std::string_view text);

bool luhn_valid(std::string_view digits);
// `iban` without spaces, e.g. "DE89370400440532013000".
bool iban_valid(std::string_view iban);

struct CodeSignals {
  bool has_code = false;
  std::vector<std::string> languages;  // from fence tags and cheap keyword cues, sorted
};
CodeSignals detect_code(std::string_view text);

// Evidence that a prompt is a programming request in any language, from hand-written cues (the
// category model learned "code" from Python benchmarks only): `syntax` counts distinct code-syntax
// cues ("();", "::", "=>", "#include", "SELECT ", "console.", a call "name(" ...), `languages`
// names of programming languages and tools, `vocabulary` programming words ("function", "query",
// "compile", "segfault"...). Reads the first 1,000 bytes; the word counts stop growing once
// confident.
struct CodeEvidence {
  int syntax = 0;
  int languages = 0;           // names of languages, tools and protocols
  int distinct_languages = 0;  // not everyday words ("Python", "TCP"; not "Java", "Rust")
  int vocabulary = 0;
  int terms = 0;  // words and two-word terms only programmers use ("mutex", "linked list")
  // Two kinds of evidence or two syntax cues: code whatever task the prompt names.
  bool strong() const {
    return syntax >= 2 || (syntax >= 1 && (languages + vocabulary) >= 1) ||
           (languages >= 1 && vocabulary >= 1);
  }
  // Or a language that is no everyday word, or one programmer's term: a question about
  // programming ("reverse a list in JavaScript?", "what is a mutex"), unless the prompt names
  // another task ("Classify these languages...").
  bool confident() const { return strong() || terms >= 1 || distinct_languages >= 1; }
};
CodeEvidence code_evidence(std::string_view text);

// Rule-based evidence that a prompt is a math problem, over its first 1,000 bytes: notation
// (x^2, sin(x), f(x), 3x + 7, an equation, LaTeX commands, Unicode math symbols), math words
// (derivative, probability, fraction, "how many ways", "solve for"...) and numbers.
struct MathEvidence {
  int notation = 0;
  int vocabulary = 0;
  int numbers = 0;
  bool short_text = false;  // at most kShortText bytes: a question, not a passage with figures
  static constexpr std::size_t kShortText = 300;
  // Two notation cues, or notation and a math word; in a short text also a number beside
  // either, or two math words.
  bool confident() const {
    if (notation >= 2 || (notation >= 1 && vocabulary >= 1)) return true;
    return short_text && (notation + vocabulary) >= 1 && (notation + vocabulary + numbers) >= 2;
  }
};
MathEvidence math_evidence(std::string_view text);

// The task a prompt names in its first words, read by hand-written rules: "Summarize ...",
// "Write me a short poem ...", "Give me 10 ideas ...", "Prove that ...", "Classify ...",
// "Extract ...", a short greeting. Returns the category data's label for it (summarization,
// creative_writing, brainstorming, math, classification, information_extraction, chit_chat)
// or "" when the opening names none of these. The category model learned these tasks from one
// dataset's phrasing; this reads the imperative however the rest of the prompt looks.
std::string_view instruction_cue(std::string_view text);

// English words for the task words of other languages in text ("escribe una función" gives
// "write function"), space-separated in the text's order; "" when it has none. The category and
// complexity models learned English prompts only: these words let them read the task of a
// prompt in Spanish, Russian or Chinese. Reads the first kGlossedHeadBytes and the last
// kGlossedTailBytes of a longer text.
inline constexpr std::size_t kGlossedHeadBytes = 1536;
inline constexpr std::size_t kGlossedTailBytes = 512;
std::string english_glosses(std::string_view text);

// The same for words of feeling, their negations, intensifiers and "but" ("no estoy nada
// contento, es terrible" gives "not happy terrible"), in words VADER reads.
std::string english_sentiment_glosses(std::string_view text);

// Dominant Unicode script among letters: latin, cyrillic, greek, arabic, hebrew, cjk (han, kana,
// hangul), devanagari, thai, other; "none" when there are no letters.
struct ScriptSignals {
  std::string_view script = "none";
  std::string_view language =
      "unknown";  // en es fr de pt it nl sv pl tr ru uk zh ja ko ar he el hi th
};
ScriptSignals detect_script_and_language(std::string_view text);

}  // namespace llm_router::analyzer
