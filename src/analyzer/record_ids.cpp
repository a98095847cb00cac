#include <algorithm>
#include <vector>

#include "llm_router/analyzer/detectors.hpp"
#include "llm_router/core/swar.hpp"
#include "text_util.hpp"

namespace llm_router::analyzer {
namespace {

constexpr std::size_t kLongestId = 40;

bool id_byte(char c) {
  return is_ascii_alnum(c) || c == '-' || c == '_' || c == '.';
}

// Whether the token text[begin, end) is a record's identifier: 4+ digits, a letter, and a
// separator between its parts ("INV-2024-00817", "RX-7800", "v2.14.3"); not a chemical formula
// ("C6H12O6" has no separator), a date or a price (no letter), a tool's name with its version
// or a number in scientific notation.
bool is_record_id(std::string_view token) {
  if (token.size() < 5 || token.size() > kLongestId) return false;
  int digits = 0;
  int letters = 0;
  int separators = 0;
  int letter_run = 0;
  for (const char c : token) {
    digits += is_ascii_digit(c);
    letters += is_ascii_alpha(c);
    separators += !is_ascii_alnum(c);
    letter_run = is_ascii_alpha(c) ? letter_run + 1 : 0;
    if (letter_run > 3) return false;  // a name with its version ("python-3.12.1")
  }
  // One letter inside numbers is an exponent or a time ("1.6e-19", "2024-01-15T10").
  const bool lone_letter_inside = letters == 1 && !is_ascii_alpha(token.front());
  return digits >= 4 && letters >= 1 && separators >= 1 && !lone_letter_inside;
}

}  // namespace

std::vector<TextSpan> find_record_ids(std::string_view text) {
  std::vector<TextSpan> out;
  std::size_t i = 0;
  while (i < text.size()) {
    // Skip 8 bytes at a time while none is a digit: most text has few.
    if (i + 8 <= text.size() && swar::digits(swar::load(text.data() + i)) == 0) {
      i += 8;
      continue;
    }
    if (!is_ascii_digit(text[i])) {
      ++i;
      continue;
    }
    std::size_t begin = i;
    while (begin > 0 && id_byte(text[begin - 1]) && i - begin < kLongestId) --begin;
    std::size_t end = i;
    while (end < text.size() && id_byte(text[end]) && end - begin <= kLongestId) ++end;
    // A sentence's stop or a trailing separator is no part of it.
    while (end > begin && !is_ascii_alnum(text[end - 1])) --end;
    while (begin < end && !is_ascii_alnum(text[begin])) ++begin;
    if (is_record_id(text.substr(begin, end - begin))) out.push_back({begin, end});
    i = std::max(end, i + 1);
  }
  return out;
}

}  // namespace llm_router::analyzer
