#include "llm_router/core/http_syntax.hpp"

#include <gtest/gtest.h>

#include <string>

namespace llm_router::core::http {
namespace {

// Checked eight bytes at a time: a bad byte is found wherever it sits, in every length.
TEST(HttpSyntax, FieldTextRefusesAControlByteAtAnyPosition) {
  for (std::size_t size = 0; size <= 24; ++size) {
    const std::string clean(size, 'a');
    EXPECT_TRUE(is_field_text(clean)) << size;
    EXPECT_TRUE(is_field_text(std::string(size, '\t'))) << size;
    EXPECT_TRUE(is_field_text(std::string(size, '\xe9'))) << size;  // obs-text
    for (std::size_t at = 0; at < size; ++at) {
      for (const char bad : {'\r', '\n', '\0', '\x1f', '\x7f'}) {
        std::string text = clean;
        text[at] = bad;
        EXPECT_FALSE(is_field_text(text)) << size << " " << at << " " << int(bad);
      }
    }
  }
}

TEST(HttpSyntax, FieldLinesSplitIntoATokenNameAndATrimmedValue) {
  std::string_view name, value;
  ASSERT_EQ(split_field_line("Content-Type:  application/json \t", name, value), nullptr);
  EXPECT_EQ(name, "Content-Type");
  EXPECT_EQ(value, "application/json");
  ASSERT_EQ(split_field_line("x-stainless-package-version:4.0", name, value), nullptr);
  EXPECT_EQ(name, "x-stainless-package-version");
  ASSERT_EQ(split_field_line("A!#$%&'*+-.^_`|~9:", name, value), nullptr);
  EXPECT_EQ(value, "");
}

TEST(HttpSyntax, EveryFaultOfAFieldLineIsNamed) {
  std::string_view name, value;
  const std::string_view bad_name = "a header name that is empty or holds a byte names cannot hold";
  EXPECT_EQ(std::string_view(split_field_line("no colon at all", name, value)),
            "a header line without a colon");
  EXPECT_EQ(std::string_view(split_field_line("", name, value)), "a header line without a colon");
  EXPECT_EQ(std::string_view(split_field_line(" folded", name, value)),
            "a folded header line (obs-fold)");
  EXPECT_EQ(std::string_view(split_field_line(": empty name", name, value)), bad_name);
  EXPECT_EQ(std::string_view(split_field_line("Host : a", name, value)), bad_name);
  // A byte no name may hold, wherever it sits among eight-byte steps.
  for (std::size_t at = 0; at < 20; ++at) {
    for (const char bad : {'\xe9', ' ', '(', '\0', '@'}) {
      std::string line = "abcdefghijklmnopqrstu: v";
      line[at] = bad;
      const bool folded = at == 0 && bad == ' ';  // a line that begins with a space continues
      EXPECT_EQ(std::string_view(split_field_line(line, name, value)),
                folded ? "a folded header line (obs-fold)" : bad_name)
          << at;
    }
  }
  EXPECT_EQ(std::string_view(split_field_line("X: a\rb", name, value)),
            "a header value with a control byte");
}

TEST(HttpSyntax, ContentLengthIsOneNumber) {
  EXPECT_EQ(parse_content_length("42"), 42u);
  EXPECT_EQ(parse_content_length("5, 5"), 5u);
  EXPECT_FALSE(parse_content_length("5, 6"));
  EXPECT_FALSE(parse_content_length("-1"));
  EXPECT_FALSE(parse_content_length("9999999999999999999"));
  EXPECT_FALSE(parse_content_length(""));
}

}  // namespace
}  // namespace llm_router::core::http
