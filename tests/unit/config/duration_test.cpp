#include <gtest/gtest.h>

#include "llm_router/config/yaml_reader.hpp"

namespace llm_router::config {
namespace {

TEST(ParseDuration, AcceptsUnitsAndABareZero) {
  EXPECT_EQ(parse_duration("250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(parse_duration("30s"), std::chrono::milliseconds(30'000));
  EXPECT_EQ(parse_duration("2m"), std::chrono::milliseconds(120'000));
  EXPECT_EQ(parse_duration("0"), std::chrono::milliseconds(0));
  EXPECT_EQ(parse_duration("0.5s"), std::chrono::milliseconds(500));
}

TEST(ParseDuration, RejectsMalformed) {
  EXPECT_FALSE(parse_duration("ten seconds"));
  EXPECT_FALSE(parse_duration("-5s"));
  EXPECT_FALSE(parse_duration("5 s"));
  EXPECT_FALSE(parse_duration("5d"));
}

// LiteLLM's `timeout: 600` means seconds; read as milliseconds it would fail every slow answer.
TEST(ParseDuration, RejectsANonZeroNumberWithoutUnit) {
  EXPECT_FALSE(parse_duration("600"));
  EXPECT_FALSE(parse_duration("1.5"));
  EXPECT_TRUE(is_bare_number("600"));
  EXPECT_FALSE(is_bare_number("600s"));
}

}  // namespace
}  // namespace llm_router::config
