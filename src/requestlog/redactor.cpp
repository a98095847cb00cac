#include "llm_router/requestlog/redactor.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "llm_router/analyzer/detectors.hpp"

namespace llm_router::requestlog {
namespace {

// The analyzer's detect_pii() only counts; these scanners follow its shapes (and reuse its
// Luhn check) but return where each match is.
enum class Kind { email, phone, credit_card, api_key, bearer_token, secret };

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::email:
      return "email";
    case Kind::phone:
      return "phone";
    case Kind::credit_card:
      return "credit_card";
    case Kind::api_key:
      return "api_key";
    case Kind::bearer_token:
      return "bearer_token";
    case Kind::secret:
      return "secret";
  }
  return "unknown";
}

struct Span {
  std::size_t begin;
  std::size_t end;
  Kind kind;
};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_alnum(char c) {
  return is_digit(c) || is_alpha(c);
}
bool is_upper(char c) {
  return c >= 'A' && c <= 'Z';
}
bool upper_or_digit(char c) {
  return is_upper(c) || is_digit(c);
}
bool key_char(char c) {
  return is_alnum(c) || c == '-' || c == '_';
}
// Alphabets of keys and tokens: base64, base64url, hex, and the prefixes' separators. '=' only
// pads the end of a token, so "key=value" stays two tokens.
bool token_char(char c) {
  return key_char(c) || c == '+' || c == '/';
}
bool word_char(char c) {
  return is_alnum(c) || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

bool all_of(std::string_view s, bool (*pred)(char)) {
  return std::all_of(s.begin(), s.end(), pred);
}

// --- emails -------------------------------------------------------------------------------

bool email_local(char c) {
  return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}
bool email_domain(char c) {
  return is_alnum(c) || c == '.' || c == '-';
}

void scan_emails(std::string_view text, std::vector<Span>& spans) {
  std::size_t from = 0;
  while (true) {
    const std::size_t at = text.find('@', from);
    if (at == std::string_view::npos) return;
    from = at + 1;
    std::size_t begin = at;
    while (begin > 0 && email_local(text[begin - 1])) --begin;
    while (begin < at && text[begin] == '.') ++begin;
    std::size_t end = at + 1;
    while (end < text.size() && email_domain(text[end])) ++end;
    while (end > at + 1 && (text[end - 1] == '.' || text[end - 1] == '-')) --end;
    if (begin == at || end == at + 1) continue;
    const std::string_view domain = text.substr(at + 1, end - at - 1);
    const std::size_t dot = domain.rfind('.');
    if (dot == std::string_view::npos || dot == 0 || domain.front() == '-') continue;
    const std::string_view tld = domain.substr(dot + 1);
    if (tld.size() < 2 || !all_of(tld, is_alpha)) continue;
    spans.push_back({begin, end, Kind::email});
    from = end;
  }
}

// --- phone and card numbers ---------------------------------------------------------------

// A run of digits with the separators phone numbers and cards use.
struct NumberChunk {
  std::size_t end = 0;
  std::string digits;
  int group_sizes[24] = {};
  int groups = 0;
  bool plus = false;
  bool card_separators = true;  // only ' ' and '-'
};

bool is_separator(char c) {
  return c == ' ' || c == '-' || c == '.';
}

NumberChunk read_chunk(std::string_view text, std::size_t i) {
  NumberChunk chunk;
  const auto digit_at = [&](std::size_t k) { return k < text.size() && is_digit(text[k]); };
  const auto end_group = [&](int& group) {
    if (group == 0) return;
    if (chunk.groups < 24) chunk.group_sizes[chunk.groups++] = group;
    group = 0;
  };
  if (text[i] == '+') {
    chunk.plus = true;
    ++i;
  }
  bool in_parens = false;
  int group = 0;
  while (i < text.size() && chunk.digits.size() < 24) {
    const char c = text[i];
    if (is_digit(c)) {
      chunk.digits += c;
      ++group;
      ++i;
      continue;
    }
    end_group(group);
    if (c == '(' && !in_parens && digit_at(i + 1)) {
      in_parens = true;
      chunk.card_separators = false;
      ++i;
      continue;
    }
    if (c == ')' && in_parens) {
      in_parens = false;
      ++i;
      if (i < text.size() && text[i] == ' ' && digit_at(i + 1)) ++i;
      continue;
    }
    // A separator counts only between digits (or before a parenthesized area code).
    if (is_separator(c) && !chunk.digits.empty() &&
        (digit_at(i + 1) || (i + 2 < text.size() && text[i + 1] == '(' && digit_at(i + 2)))) {
      chunk.card_separators &= c != '.';
      ++i;
      continue;
    }
    break;
  }
  end_group(group);
  chunk.end = i;
  return chunk;
}

bool is_credit_card(const NumberChunk& chunk) {
  const std::size_t n = chunk.digits.size();
  if (n < 13 || n > 19 || chunk.plus || !chunk.card_separators) return false;
  return analyzer::luhn_valid(chunk.digits);
}

bool is_phone(const NumberChunk& chunk) {
  const std::size_t n = chunk.digits.size();
  if (chunk.plus) return n >= 8 && n <= 15;
  // National formats need structure: (415) 555-2671, 415-555-2671, 415.555.2671, 1 415 555 2671.
  // Bare digit runs (timestamps, ids), years, dates and prices never have it.
  if (n < 10 || n > 11 || chunk.groups < 3) return false;
  return chunk.group_sizes[chunk.groups - 1] == 4 && chunk.group_sizes[chunk.groups - 2] == 3;
}

void scan_numbers(std::string_view text, std::vector<Span>& spans) {
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    const bool starts =
        is_digit(c) || ((c == '+' || c == '(') && i + 1 < text.size() && is_digit(text[i + 1]));
    if (!starts) {
      ++i;
      continue;
    }
    const char before = i > 0 ? text[i - 1] : ' ';
    if (word_char(before) || before == '.' || before == '$' || before == '-' || before == '/') {
      // Inside a word or a longer number: skip the rest of it.
      ++i;
      while (i < text.size() && (is_alnum(text[i]) || text[i] == '.' || text[i] == '-')) ++i;
      continue;
    }
    const NumberChunk chunk = read_chunk(text, i);
    const char after = chunk.end < text.size() ? text[chunk.end] : ' ';
    if (!word_char(after)) {
      if (is_credit_card(chunk)) {
        spans.push_back({i, chunk.end, Kind::credit_card});
      } else if (is_phone(chunk)) {
        spans.push_back({i, chunk.end, Kind::phone});
      }
    }
    i = std::max(chunk.end, i + 1);
  }
}

// --- keys and tokens ----------------------------------------------------------------------

bool has_key_prefix(std::string_view token) {
  auto body_after = [&](std::string_view prefix) {
    return token.starts_with(prefix) ? token.substr(prefix.size()) : std::string_view{};
  };
  if (auto b = body_after("sk-"); b.size() >= 20 && all_of(b, key_char)) return true;
  for (std::string_view prefix : {"AKIA", "ASIA"}) {
    if (auto b = body_after(prefix); b.size() == 16 && all_of(b, upper_or_digit)) return true;
  }
  for (std::string_view prefix : {"ghp_", "gho_", "ghu_", "ghs_", "ghr_"}) {
    if (auto b = body_after(prefix); b.size() >= 30 && all_of(b, is_alnum)) return true;
  }
  if (auto b = body_after("github_pat_"); b.size() >= 20 && all_of(b, key_char)) return true;
  if (token.size() >= 15 && token.starts_with("xox") &&
      std::string_view("abprs").find(token[3]) != std::string_view::npos && token[4] == '-' &&
      all_of(token.substr(5), key_char)) {
    return true;
  }
  if (auto b = body_after("AIza"); b.size() == 35 && all_of(b, key_char)) return true;
  return false;
}

// Long random-looking tokens: upper and lower case and digits, high character entropy. Words,
// paths, URLs, hex digests and UUIDs (one case only) do not qualify.
bool is_high_entropy(std::string_view token) {
  if (token.size() < 32 || token.size() > 4096) return false;
  bool upper = false;
  bool lower = false;
  bool digit = false;
  int counts[128] = {};
  for (char c : token) {
    upper |= is_upper(c);
    lower |= c >= 'a' && c <= 'z';
    digit |= is_digit(c);
    ++counts[static_cast<unsigned char>(c) & 127];
  }
  if (!(upper && lower && digit)) return false;
  if (token.find("//") != std::string_view::npos) return false;
  // Identifiers and paths (getUserAccountBalance2024, src/SomeResource2024/index) are mostly
  // lower-case runs of word length; random tokens rarely have a run of four.
  std::size_t in_words = 0;
  std::size_t run = 0;
  for (std::size_t k = 0; k <= token.size(); ++k) {
    if (k < token.size() && token[k] >= 'a' && token[k] <= 'z') {
      ++run;
      continue;
    }
    if (run >= 4) in_words += run;
    run = 0;
  }
  if (in_words * 100 > token.size() * 35) return false;
  double entropy = 0;
  const double n = static_cast<double>(token.size());
  for (int count : counts) {
    if (count == 0) continue;
    const double p = count / n;
    entropy -= p * std::log2(p);
  }
  return entropy >= 4.2;
}

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  }
  return true;
}

void scan_tokens(std::string_view text, std::vector<Span>& spans) {
  std::size_t i = 0;
  bool after_bearer = false;  // the previous word was "Bearer"
  while (i < text.size()) {
    if (!token_char(text[i])) {
      if (text[i] != ' ' && text[i] != '\t') after_bearer = false;
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < text.size() && token_char(text[end])) ++end;
    while (end < text.size() && text[end] == '=' &&
           (end + 1 == text.size() || !token_char(text[end + 1]) || text[end + 1] == '=')) {
      ++end;
    }
    // Keys end before trailing punctuation of the sentence ("key sk-...-." or "...=,").
    std::size_t key_end = end;
    while (key_end > i &&
           (text[key_end - 1] == '-' || text[key_end - 1] == '/' || text[key_end - 1] == '+')) {
      --key_end;
    }
    const std::string_view token = text.substr(i, key_end - i);
    const bool boundary = i == 0 || !word_char(text[i - 1]);
    if (after_bearer) {
      // Bearer tokens also use '.' and '~' (JWTs); a plain word after "bearer" is prose.
      std::size_t bearer_end = end;
      while (bearer_end < text.size() && (token_char(text[bearer_end]) || text[bearer_end] == '.' ||
                                          text[bearer_end] == '~' || text[bearer_end] == '=')) {
        ++bearer_end;
      }
      while (bearer_end > i && text[bearer_end - 1] == '.') --bearer_end;
      const std::string_view bearer = text.substr(i, bearer_end - i);
      if (bearer.size() >= 8 && !all_of(bearer, is_alpha)) {
        spans.push_back({i, bearer_end, Kind::bearer_token});
        after_bearer = false;
        i = bearer_end;
        continue;
      }
    }
    if (boundary && token.size() >= 15 && has_key_prefix(token)) {
      spans.push_back({i, key_end, Kind::api_key});
    } else if (boundary) {
      std::string_view bare = token;
      while (!bare.empty() && bare.back() == '=') bare.remove_suffix(1);
      if (is_high_entropy(bare)) spans.push_back({i, key_end, Kind::secret});
    }
    after_bearer = boundary && ieq(text.substr(i, end - i), "bearer") && end < text.size() &&
                   (text[end] == ' ' || text[end] == '\t');
    i = end;
  }
}

}  // namespace

std::string Redactor::redact(std::string_view text) const {
  std::vector<Span> spans;
  scan_tokens(text, spans);
  if (text.find('@') != std::string_view::npos) scan_emails(text, spans);
  scan_numbers(text, spans);
  if (spans.empty()) return std::string(text);
  // Earliest first, the longest of those starting together; overlapping later ones are dropped.
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  std::string out;
  out.reserve(text.size() + 16 * spans.size());
  std::size_t copied = 0;
  for (const Span& s : spans) {
    if (s.begin < copied) continue;
    out.append(text.substr(copied, s.begin - copied));
    out += "[REDACTED:";
    out += kind_name(s.kind);
    out += ']';
    copied = s.end;
  }
  out.append(text.substr(copied));
  return out;
}

RedactHook Redactor::hook(RedactHook then) {
  if (!then) return [](std::string_view text) { return Redactor{}.redact(text); };
  return [then = std::move(then)](std::string_view text) { return then(Redactor{}.redact(text)); };
}

}  // namespace llm_router::requestlog
