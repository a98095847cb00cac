#include "llm_router/requestlog/redactor.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "llm_router/analyzer/detectors.hpp"

namespace llm_router::requestlog {
namespace {

struct Span {
  std::size_t begin;
  std::size_t end;
  std::string_view kind;
};

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool bearer_char(char c) {
  // Tokens use the base64url and JWT alphabets.
  return is_alpha(c) || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '+' || c == '/' ||
         c == '.' || c == '~' || c == '=';
}
bool word_char(char c) {
  return is_alpha(c) || (c >= '0' && c <= '9') || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

bool is_bearer_word(std::string_view text, std::size_t at) {
  constexpr std::string_view kBearer = "bearer";
  if (at + kBearer.size() > text.size() || (at > 0 && word_char(text[at - 1]))) return false;
  for (std::size_t k = 0; k < kBearer.size(); ++k) {
    if ((text[at + k] | 0x20) != kBearer[k]) return false;
  }
  return true;
}

// A word as prose writes it: letters, in lower case, capitalized or all capitals ("instruments",
// "Bonds", "ETF"); "abcdefSECRET" is no word.
bool is_plain_word(std::string_view token) {
  if (!std::all_of(token.begin(), token.end(), is_alpha)) return false;
  const auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  const auto rest = token.substr(1);
  return std::none_of(rest.begin(), rest.end(), upper) ||
         std::all_of(rest.begin(), rest.end(), upper);
}

// "Bearer <token>" (an Authorization header copied into a prompt or a log): the token, whatever
// its shape, unless it is a plain word ("Bearer instruments are risky").
void scan_bearer_tokens(std::string_view text, std::vector<Span>& spans) {
  for (std::size_t at = 0; at + 6 < text.size(); ++at) {
    if ((text[at] | 0x20) != 'b' || !is_bearer_word(text, at)) continue;
    std::size_t begin = at + 6;
    if (text[begin] != ' ' && text[begin] != '\t') continue;
    while (begin < text.size() && (text[begin] == ' ' || text[begin] == '\t')) ++begin;
    std::size_t end = begin;
    while (end < text.size() && bearer_char(text[end])) ++end;
    while (end > begin && text[end - 1] == '.') --end;  // the sentence's full stop
    const std::string_view token = text.substr(begin, end - begin);
    if (token.size() >= 8 && !is_plain_word(token)) {
      spans.push_back({begin, end, "bearer_token"});
    }
    at = std::max(at, end);
  }
}

bool key_char(char c) {
  return is_alpha(c) || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// "sk-" and 8+ key characters with a digit in them: keys too short for the analyzer's api_key
// (which wants 20+ to spare prose), test keys and truncated ones. Redaction may be eager.
void scan_short_keys(std::string_view text, std::vector<Span>& spans) {
  for (std::size_t at = text.find("sk-"); at != std::string_view::npos;
       at = text.find("sk-", at + 3)) {
    if (at > 0 && key_char(text[at - 1])) continue;
    std::size_t end = at + 3;
    while (end < text.size() && key_char(text[end])) ++end;
    while (end > at + 3 && (text[end - 1] == '-' || text[end - 1] == '_')) --end;
    const std::string_view body = text.substr(at + 3, end - at - 3);
    if (body.size() >= 8 &&
        std::any_of(body.begin(), body.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      spans.push_back({at, end, "api_key"});
    }
  }
}

}  // namespace

std::string Redactor::redact(std::string_view text) const {
  std::vector<Span> spans;
  for (const auto& match : analyzer::find_pii(text)) {
    // Addresses in prompts are mostly hosts of a network being discussed, not people's.
    if (match.kind == analyzer::PiiKind::ip_address) continue;
    spans.push_back({match.begin, match.end, analyzer::pii_kind_name(match.kind)});
  }
  scan_bearer_tokens(text, spans);
  scan_short_keys(text, spans);
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
    out += s.kind;
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
