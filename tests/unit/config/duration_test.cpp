#include <gtest/gtest.h>

#include "llm_router/config/yaml_reader.hpp"

namespace llm_router::config {
namespace {

TEST(ParseDuration, AcceptsUnitsAndBareMilliseconds) {
  EXPECT_EQ(parse_duration("250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(parse_duration("30s"), std::chrono::milliseconds(30'000));
  EXPECT_EQ(parse_duration("2m"), std::chrono::milliseconds(120'000));
  EXPECT_EQ(parse_duration("1500"), std::chrono::milliseconds(1500));
  EXPECT_EQ(parse_duration("0.5s"), std::chrono::milliseconds(500));
}

TEST(ParseDuration, RejectsMalformed) {
  EXPECT_FALSE(parse_duration("ten seconds"));
  EXPECT_FALSE(parse_duration("-5s"));
  EXPECT_FALSE(parse_duration("5 s"));
  EXPECT_FALSE(parse_duration("5d"));
}

}  // namespace
}  // namespace llm_router::config
