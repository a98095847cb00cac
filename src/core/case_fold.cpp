#include "llm_router/core/case_fold.hpp"

#include <string_view>

#include "llm_router/core/utf8.hpp"

namespace llm_router::core {
namespace {

bool in(char32_t cp, char32_t first, char32_t last) {
  return cp >= first && cp <= last;
}

// In blocks where capitals and lowercase alternate, the capital is even (or odd) and its
// lowercase the code point after it.
char32_t even_capital(char32_t cp) {
  return cp | 1;
}
char32_t odd_capital(char32_t cp) {
  return (cp & 1) != 0 ? cp + 1 : cp;
}

char32_t lower_latin(char32_t cp) {
  if (in(cp, 0xC0, 0xDE)) return cp == 0xD7 ? cp : cp + 0x20;  // U+00D7 is the sign ×
  if (cp == 0x178) return 0xFF;                                // Ÿ
  if (cp == 0x130) return cp;  // İ: its lowercase is i and a combining dot
  if (in(cp, 0x139, 0x148) || in(cp, 0x179, 0x17E) || in(cp, 0x1CD, 0x1DC)) return odd_capital(cp);
  if (in(cp, 0x100, 0x137) || in(cp, 0x14A, 0x177) || in(cp, 0x1DE, 0x1EF) ||
      in(cp, 0x1F8, 0x21F) || in(cp, 0x222, 0x233) || in(cp, 0x1E00, 0x1E95) ||
      in(cp, 0x1EA0, 0x1EFF)) {
    return even_capital(cp);
  }
  if (in(cp, 0xFF21, 0xFF3A)) return cp + 0x20;  // fullwidth A..Z
  return cp;
}

char32_t lower_greek(char32_t cp) {
  if (cp == 0x386) return 0x3AC;
  if (in(cp, 0x388, 0x38A)) return cp + 0x25;
  if (cp == 0x38C) return 0x3CC;
  if (in(cp, 0x38E, 0x38F)) return cp + 0x3F;
  if (in(cp, 0x391, 0x3AB)) return cp == 0x3A2 ? cp : cp + 0x20;  // U+03A2 is unassigned
  if (in(cp, 0x3D8, 0x3EF)) return even_capital(cp);
  if (cp == 0x3C2) return 0x3C3;  // final sigma: ΛΟΓΟΣ and λογος are one word
  return cp;
}

char32_t lower_cyrillic_armenian(char32_t cp) {
  if (in(cp, 0x400, 0x40F)) return cp + 0x50;
  if (in(cp, 0x410, 0x42F)) return cp + 0x20;
  if (in(cp, 0x460, 0x481) || in(cp, 0x48A, 0x4BF) || in(cp, 0x4D0, 0x52F)) {
    return even_capital(cp);
  }
  if (cp == 0x4C0) return 0x4CF;
  if (in(cp, 0x4C1, 0x4CE)) return odd_capital(cp);
  if (in(cp, 0x531, 0x556)) return cp + 0x30;
  return cp;
}

std::size_t utf8_size(char32_t cp) {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

void encode(char32_t cp, char* out, std::size_t size) {
  if (size == 2) {
    out[0] = static_cast<char>(0xC0 | (cp >> 6));
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out[0] = static_cast<char>(0xE0 | (cp >> 12));
    out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

char32_t lower_code_point(char32_t cp) {
  char32_t lower = cp;
  if (cp < 0x80) {
    lower = cp >= 'A' && cp <= 'Z' ? cp + 0x20 : cp;
  } else if (cp < 0x370 || in(cp, 0x1E00, 0x1EFF) || in(cp, 0xFF21, 0xFF3A)) {
    lower = lower_latin(cp);
  } else if (cp < 0x400) {
    lower = lower_greek(cp);
  } else if (cp < 0x560) {
    lower = lower_cyrillic_armenian(cp);
  }
  return utf8_size(lower) == utf8_size(cp) ? lower : cp;
}

void lower_utf8_in_place(char* text, std::size_t size) {
  const std::string_view view(text, size);
  std::size_t i = 0;
  while (i < size) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      if (byte >= 'A' && byte <= 'Z') text[i] = static_cast<char>(byte + 0x20);
      ++i;
      continue;
    }
    const std::size_t start = i;
    const char32_t cp = next_code_point(view, i);
    const std::size_t length = i - start;
    if (length != utf8_size(cp) || length > 3) continue;  // invalid, cut or overlong
    const char32_t lower = lower_code_point(cp);
    if (lower != cp) encode(lower, text + start, length);
  }
}

}  // namespace llm_router::core
