#pragma once

#include <cstddef>

namespace llm_router::core {

// The lowercase of a capital of the Latin, Greek, Cyrillic and Armenian alphabets (and of
// fullwidth Latin) when it has the same UTF-8 length, and the final sigma's ordinary form (as
// Unicode case folding has it); any other code point unchanged. Dotted capital I and capital
// sharp s are left alone: their lowercase is longer.
char32_t lower_code_point(char32_t cp);

// Lowers the UTF-8 text in place, ASCII and the capitals lower_code_point knows; the length
// never changes. Invalid or cut sequences are left as they are.
void lower_utf8_in_place(char* text, std::size_t size);

}  // namespace llm_router::core
