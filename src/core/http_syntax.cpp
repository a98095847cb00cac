#include "llm_router/core/http_syntax.hpp"

#include <algorithm>

namespace llm_router::core::http {

namespace {

// Whether the 8 bytes at p hold a control byte other than HTAB.
bool has_control(const char* p) {
  const std::uint64_t x = swar::load(p);
  const std::uint64_t below_space = swar::in_range(x & ~swar::kHighs, 0, 0x1F) & ~x;
  return ((below_space & ~swar::equal(x, '\t')) | swar::equal(x, 0x7F)) != 0;
}

// Whether the 8 bytes at p are all letters, digits or '-'.
bool usual_name_bytes(const char* p) {
  const std::uint64_t x = swar::load(p);
  const std::uint64_t ascii = x & ~swar::kHighs;
  const std::uint64_t usual = swar::alnums(ascii) | swar::equal(x, '-');
  return (usual & ~x & swar::kHighs) == swar::kHighs;
}

}  // namespace

// Eight bytes at a time, the last eight overlapping the ones before rather than leaving a tail
// to check byte by byte: every line of every head passes here.
bool is_field_text(std::string_view text) {
  if (text.size() >= 8) {
    for (std::size_t i = 0; i + 8 < text.size(); i += 8) {
      if (has_control(text.data() + i)) return false;
    }
    return !has_control(text.data() + text.size() - 8);
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
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
  // One pass to the colon: every byte before it must be a name's. The usual ones (letters,
  // digits, '-') pass eight at a time.
  std::size_t colon = 0;
  while (colon + 8 <= line.size() && usual_name_bytes(line.data() + colon)) colon += 8;
  while (colon < line.size() && kTokenChars[static_cast<unsigned char>(line[colon])]) ++colon;
  if (colon == line.size() || line[colon] != ':' || colon == 0) {
    return line.find(':', colon) == std::string_view::npos
               ? "a header line without a colon"
               : "a header name that is empty or holds a byte names cannot hold";
  }
  name = line.substr(0, colon);
  value = trim_spaces(line.substr(colon + 1));
  if (!is_field_text(value)) return "a header value with a control byte";
  return nullptr;
}

}  // namespace llm_router::core::http
