#pragma once

// The grammar of HTTP/1.x heads (RFC 9110, RFC 9112) that both of the router's parsers read:
// the server's, of client requests, and the upstream's, of backend answers. No Asio, no Beast.
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "llm_router/core/swar.hpp"

namespace llm_router::core::http {

// tchar of RFC 9110 section 5.6.2.
inline constexpr std::array<bool, 256> kTokenChars = [] {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = table[c - 'a' + 'A'] = true;
  for (const char c : std::string_view("!#$%&'*+-.^_`|~"))
    table[static_cast<unsigned char>(c)] = true;
  return table;
}();

inline bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (!kTokenChars[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

// Field values, reason phrases and chunk extensions: visible bytes, spaces, tabs and obs-text;
// no other control byte (a CR or NUL inside a line is how header injection looks).
bool is_field_text(std::string_view text);

inline bool is_space(char c) {
  return c == ' ' || c == '\t';
}
inline bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

inline std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

inline std::string_view without_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// Calls `each` with every non-empty element of a comma-separated list, spaces trimmed; stops
// when it returns false.
template <class Each>
bool for_each_element(std::string_view list, Each each) {
  while (true) {
    const std::size_t comma = list.find(',');
    const std::string_view element = trim_spaces(list.substr(0, comma));
    if (!element.empty() && !each(element)) return false;
    if (comma == std::string_view::npos) return true;
    list.remove_prefix(comma + 1);
  }
}

// "5", or "5, 5" (a list of one value repeated, which RFC 9112 section 6.3 lets a recipient
// accept); nothing for anything else.
std::optional<std::uint64_t> parse_content_length(std::string_view value);

// A header name or list element (a token, or field text: no control bytes) equal to a
// lower-case word of letters and dashes in any case: OR-ing 0x20 lowers letters and leaves
// dashes and digits as they are; no other byte such text may hold becomes a letter or a dash.
inline bool is_name(std::string_view name, std::string_view lowercase_word) {
  if (name.size() != lowercase_word.size()) return false;
  std::size_t i = 0;
  for (; i + 8 <= name.size(); i += 8) {
    if ((swar::load(name.data() + i) | swar::kOnes * 0x20) !=
        swar::load(lowercase_word.data() + i)) {
      return false;
    }
  }
  for (; i < name.size(); ++i) {
    if ((name[i] | 0x20) != lowercase_word[i]) return false;
  }
  return true;
}

// Splits a field line (without its line end) into its name and its value without surrounding
// spaces; nullptr, or what is wrong with the line.
const char* split_field_line(std::string_view line, std::string_view& name,
                             std::string_view& value);

}  // namespace llm_router::core::http
