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

// JavaScript writes a lone surrogate for a string cut inside an emoji; it is valid JSON.
TEST(ParseJson, UnpairedSurrogatesReadAsTheReplacementCharacter) {
  const std::string replacement = "\xEF\xBF\xBD";
  const std::pair<const char*, std::string> cases[] = {
      {R"("\ud83d")", replacement},
      {R"("\ude00")", replacement},
      {R"("a\ud83d\u0041")", "a" + replacement + "A"},
      {R"("\ud83d\ud83d\ude00")", replacement + "\xF0\x9F\x98\x80"},
      {R"("\ud83d\n")", replacement + "\n"},
      {R"("\ud83d\ude00")", "\xF0\x9F\x98\x80"},
  };
  for (const auto& [text, expected] : cases) {
    json value;
    ASSERT_TRUE(parse_json(text, value).ok) << text;
    EXPECT_EQ(value.get<std::string>(), expected) << text;
  }
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

TEST(ParseJson, RefusesMoreValuesThanTheLimit) {
  json value;
  // The object, its array and three numbers: five values.
  EXPECT_TRUE(parse_json(R"({"x":[0,0,0]})", value, {.max_values = 5}).ok);
  const auto result = parse_json(R"({"x":[0,0,0,0]})", value, {.max_values = 5});
  EXPECT_FALSE(result.ok);
  EXPECT_TRUE(result.too_many_values);
  EXPECT_FALSE(parse_json(R"({"x":[0,0,0,0]})", value).too_many_values);  // unlimited
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

// Reads {"a": ..., "b": [...], ...} member by member, as the request scanner does.
TEST(JsonCursor, WalksMembersAndItemsAndSkipsTheRest) {
  JsonCursor cursor(R"( {"name":"x\u00e9","skip":{"deep":[1,2,{"k":null}]},"list":[1,"two",3],)"
                    R"("te\u0073t":true} )");
  ASSERT_EQ(cursor.peek(), '{');
  ASSERT_TRUE(cursor.enter_object());
  std::string_view name;
  std::vector<std::string> names;
  std::string text;
  std::size_t items = 0;
  while (cursor.next_member(name)) {
    names.emplace_back(name);
    if (name == "name") {
      ASSERT_TRUE(cursor.read_string(text));
    } else if (name == "list") {
      ASSERT_TRUE(cursor.enter_array());
      while (cursor.next_item()) {
        ASSERT_TRUE(cursor.skip_value());
        ++items;
      }
    } else {
      ASSERT_TRUE(cursor.skip_value());
    }
  }
  EXPECT_FALSE(cursor.failed());
  EXPECT_TRUE(cursor.finish());
  EXPECT_EQ(names, (std::vector<std::string>{"name", "skip", "list", "test"}));  // decoded
  EXPECT_EQ(text, "x\u00e9");  // the escape decoded to UTF-8
  EXPECT_EQ(items, 3u);
}

TEST(JsonCursor, MeasuresDecodedLengthWithoutCopying) {
  JsonCursor cursor(R"("a\nb\u00e9\ud83d\ude00")");
  std::size_t bytes = 0;
  ASSERT_TRUE(cursor.measure_string(bytes));
  EXPECT_EQ(bytes, 1u + 1 + 1 + 2 + 4);  // a, newline, b, e-acute, an emoji
  EXPECT_TRUE(cursor.finish());
}

// A number read without a DOM is an integer exactly where nlohmann would store one as such.
TEST(JsonCursor, ReadsNumbersAsNlohmannTypesThem) {
  for (const char* text :
       {"-3", "0", "-0", "256", "18446744073709551615", "-9223372036854775808",
        "18446744073709551616", "-9223372036854775809", "2.50", "1e3", "-1.5e-400", "0.2"}) {
    JsonCursor cursor(text);
    JsonNumber number;
    ASSERT_TRUE(cursor.read_number(number)) << text;
    EXPECT_TRUE(cursor.finish()) << text;
    const json dom = json::parse(text);
    EXPECT_EQ(number.integer, dom.is_number_integer()) << text;
    EXPECT_EQ(number.value, dom.get<double>()) << text;
    EXPECT_EQ(number.text, text);
  }
  for (const char* text : {"1e999", "01", "-", "1.", "\"1\"", "true"}) {
    JsonCursor cursor(text);
    JsonNumber number;
    EXPECT_FALSE(cursor.read_number(number) && cursor.finish()) << text;
  }
}

// What the cursor skips is validated as strictly as what it reads.
TEST(JsonCursor, SkippedValuesAreValidatedToo) {
  for (const char* text : {R"({"a":[1,2,}],"b":1})", R"({"a":"\x"})", R"({"a":1e999})",
                           R"({"a":{"b" 1}})", "{\"a\":\"\xff\"}", R"({"a":[01]})"}) {
    JsonCursor cursor(text);
    ASSERT_TRUE(cursor.enter_object());
    std::string_view name;
    while (cursor.next_member(name)) {
      if (!cursor.skip_value()) break;
    }
    EXPECT_TRUE(cursor.failed()) << text;
    json value;
    EXPECT_FALSE(parse_json(text, value).ok) << text;
  }
}

TEST(JsonCursor, RefusesNestingDeeperThanTheLimit) {
  const std::string deep = "{\"a\":" + std::string(300, '[') + std::string(300, ']') + "}";
  JsonCursor cursor(deep);
  ASSERT_TRUE(cursor.enter_object());
  std::string_view name;
  ASSERT_TRUE(cursor.next_member(name));
  EXPECT_FALSE(cursor.skip_value());
  EXPECT_NE(cursor.error().reason.find("nesting"), std::string::npos);
}

}  // namespace
// Key order is kept for a request that is sent on re-serialized; an object with thousands of
// keys (quadratic for an ordered map) gets the sorted order instead, in linear time.
TEST(InClientOrder, KeepsTheOrderUnlessAnObjectIsHuge) {
  const std::string small = R"({"b":1,"a":{"z":1,"y":2}})";
  nlohmann::json validated;
  ASSERT_TRUE(parse_json(small, validated).ok);
  EXPECT_EQ(in_client_order(small, validated).dump(), small);
  std::string huge = "{";
  for (int i = 5000; i > 0; --i) huge += "\"k" + std::to_string(i) + "\":0,";
  huge.back() = '}';
  ASSERT_TRUE(parse_json(huge, validated).ok);
  const auto ordered = in_client_order(huge, validated);
  EXPECT_EQ(ordered.size(), 5000u);
  EXPECT_EQ(ordered.begin().key(), "k1");  // sorted: the client's first key was k5000
}

}  // namespace llm_router::api
