#include "llm_router/core/http_syntax.hpp"

#include <algorithm>

namespace llm_router::core::http {

// Eight bytes at a time: every line of every head passes here.
bool is_field_text(std::string_view text) {
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    const std::uint64_t x = swar::load(text.data() + i);
    const std::uint64_t below_space = swar::in_range(x & ~swar::kHighs, 0, 0x1F) & ~x;
    if (((below_space & ~swar::equal(x, '\t')) | swar::equal(x, 0x7F)) != 0) return false;
  }
  for (; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if ((byte < 0x20 && byte != '\t') || byte == 0x7F) return false;
  }
  return true;
}

std::optional<std::uint64_t> parse_content_length(std::string_view value) {
  std::optional<std::uint64_t> length;
  bool valid = for_each_element(value, [&](std::string_view element) {
    if (element.size() > 18 || !std::all_of(element.begin(), element.end(), is_digit)) {
      return false;
    }
    std::uint64_t n = 0;
    for (const char c : element) n = n * 10 + static_cast<std::uint64_t>(c - '0');
    if (length && *length != n) return false;
    length = n;
    return true;
  });
  return valid ? length : std::nullopt;
}

const char* split_field_line(std::string_view line, std::string_view& name,
                             std::string_view& value) {
  if (!line.empty() && is_space(line.front())) return "a folded header line (obs-fold)";
  // One pass to the colon: every byte before it must be a name's.
  std::size_t colon = 0;
  while (colon < line.size() && kTokenChars[static_cast<unsigned char>(line[colon])]) ++colon;
  if (line.find(':', colon) == std::string_view::npos) return "a header line without a colon";
  if (line[colon] != ':' || colon == 0) {
    return "a header name that is empty or holds a byte names cannot hold";
  }
  name = line.substr(0, colon);
  value = trim_spaces(line.substr(colon + 1));
  if (!is_field_text(value)) return "a header value with a control byte";
  return nullptr;
}

}  // namespace llm_router::core::http
