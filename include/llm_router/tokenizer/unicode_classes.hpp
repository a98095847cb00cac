#pragma once

#include <cstddef>
#include <cstdint>

namespace llm_router::tokenizer {

// The Unicode classes the tiktoken split patterns distinguish. Lm/Lo and marks belong to both
// the "upper" and the "lower" letter sets of o200k; marks are not \p{L}.
enum class CharClass : std::uint8_t {
  other,         // punctuation, symbols, controls, unassigned
  upper,         // Lu, Lt
  lower,         // Ll
  letter_other,  // Lm, Lo
  mark,          // Mn, Mc, Me
  number,        // Nd, Nl, No
  space,         // JavaScript \s
};

CharClass char_class(char32_t code_point) noexcept;

namespace detail {
using C = CharClass;
struct ClassRun {
  char32_t first;
  CharClass cls;
};
extern const ClassRun kClassRuns[];
extern const std::size_t kClassRunCount;
}  // namespace detail

}  // namespace llm_router::tokenizer
