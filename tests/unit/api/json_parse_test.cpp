#include "llm_router/api/json_parse.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace llm_router::api {
namespace {

using nlohmann::json;

// The reference: what nlohmann::json::parse makes of the same text (nullopt: it refuses it).
std::optional<json> reference(std::string_view text) {
  json value = json::parse(text, nullptr, false);
  if (value.is_discarded()) return std::nullopt;
  return value;
}

void expect_same_as_reference(const std::string& text) {
  json ours;
  const auto result = parse_json(text, ours);
  const auto theirs = reference(text);
  ASSERT_EQ(result.ok, theirs.has_value()) << text << "\n" << result.error.reason;
  if (theirs) {
    EXPECT_EQ(ours, *theirs) << text;
    EXPECT_EQ(ours.dump(), theirs->dump()) << text;  // same types (unsigned vs signed vs float)
  }
}

TEST(ParseJson, BuildsWhatNlohmannBuilds) {
  const std::vector<std::string> texts = {
      R"({"model":"auto","messages":[{"role":"user","content":"Hello"}],"stream":true})",
      R"( { "a" : [ 1 , -2 , 3.5 , -0 , 0 , 1e3 , 2E-2 , -1.25e+2 ] , "b" : null , "c" : false } )",
      R"([18446744073709551615, 18446744073709551616, -9223372036854775808, -9223372036854775809])",
      R"(["\"\\\/\b\f\n\r\t", "\u00e9\u4e2d\ud83d\ude00", "\u0000", "caf\u00E9"])",
      "\"h\xC3\xA9llo \xE4\xB8\xAD \xF0\x9F\x98\x80\"",
      "\xEF\xBB\xBF{\"bom\":1}",
      R"({"x":{"y":{"z":[[],[{}],{"k":[]}]}}})",
      R"(1e-400)",
      R"(123456789012345678901234567890)",
      R"("")",
      "  true  ",
      // refused by both
      "",
      "   ",
      "{",
      R"({"a":1,})",
      R"([1,2,])",
      R"({"a" 1})",
      R"({a:1})",
      R"(01)",
      R"(1.)",
      R"(.5)",
      R"(-)",
      R"(1e)",
      R"(+1)",
      R"(1e999)",
      R"(-1e999)",
      R"("\x")",
      R"("\u12")",
      R"("\ud83d")",
      R"("\ude00")",
      R"("\ud83d\u0041")",
      "\"tab\there\"",
      "\"\xC0\xAF\"",          // overlong
      "\"\xED\xA0\x80\"",      // an encoded surrogate
      "\"\xF4\x90\x80\x80\"",  // above U+10FFFF
      "\"\xE4\xB8\"",          // truncated sequence
      "\"\x80\"",
      R"(tru)",
      R"(nul)",
      R"({"a":1} x)",
      R"({} {})",
      R"("unterminated)",
  };
  for (const auto& text : texts) expect_same_as_reference(text);
}

TEST(ParseJson, FlagsARepeatedTopLevelKeyAndKeepsTheLastValue) {
  json value;
  auto result = parse_json(R"({"model":"a","x":{"k":1,"k":2},"model":"b"})", value);
  ASSERT_TRUE(result.ok);
  EXPECT_TRUE(result.repeated_top_level_key);
  EXPECT_EQ(value["model"], "b");
  EXPECT_EQ(value["x"]["k"], 2);

  result = parse_json(R"({"x":{"k":1,"k":2}})", value);
  ASSERT_TRUE(result.ok);
  EXPECT_FALSE(result.repeated_top_level_key);  // only the top level matters
}

TEST(ParseJson, RefusesNestingDeeperThanTheLimit) {
  json value;
  const std::string deep = std::string(300, '[') + std::string(300, ']');
  auto result = parse_json(deep, value);
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.error.reason.find("nesting"), std::string::npos);
  EXPECT_TRUE(parse_json(deep, value, {.max_depth = 300}).ok);
  const std::string at_limit = std::string(256, '[') + std::string(256, ']');
  EXPECT_TRUE(parse_json(at_limit, value).ok);
}

TEST(ParseJson, RefusesBytesAfterANul) {
  // nlohmann takes a NUL for the end of the text; a body is all of its bytes.
  json value;
  EXPECT_FALSE(parse_json(std::string("{}\0{\"x\":1}", 9), value).ok);
}

TEST(ParseJson, ErrorSaysWhereAndWhy) {
  json value;
  const std::string text = "{\n  \"model\": \"a\",\n  \"x\": tru\n}";
  const auto result = parse_json(text, value);
  ASSERT_FALSE(result.ok);
  EXPECT_EQ(result.error.describe(text), "at line 3, column 8 (byte 25): invalid literal");
}

}  // namespace
}  // namespace llm_router::api
