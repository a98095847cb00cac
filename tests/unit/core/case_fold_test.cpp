#include "llm_router/core/case_fold.hpp"

#include <gtest/gtest.h>

#include <string>

namespace llm_router::core {
namespace {

std::string lowered(std::string text) {
  lower_utf8_in_place(text.data(), text.size());
  return text;
}

TEST(CaseFold, CapitalsOfEachAlphabetBecomeTheirLowercase) {
  EXPECT_EQ(lowered("HeLLo 42"), "hello 42");
  EXPECT_EQ(lowered("\u00c0\u00c9\u00d6\u00de \u00d7"),
            "\u00e0\u00e9\u00f6\u00fe \u00d7");                                    // × stays
  EXPECT_EQ(lowered("\u0141\u00d3D\u0179 \u0178"), "\u0142\u00f3d\u017a \u00ff");  // ŁÓDŹ Ÿ
  EXPECT_EQ(lowered("\u0218\u021a"), "\u0219\u021b");                              // ȘȚ
  EXPECT_EQ(lowered("\u0391\u0398\u0389\u039d\u0391 \u038f"),
            "\u03b1\u03b8\u03ae\u03bd\u03b1 \u03ce");
  EXPECT_EQ(lowered("\u041c\u041e\u0421\u041a\u0412\u0410 \u0401\u0416 \u0406"),
            "\u043c\u043e\u0441\u043a\u0432\u0430 \u0451\u0436 \u0456");
  EXPECT_EQ(lowered("\u0490\u04d8"), "\u0491\u04d9");              // ҐӘ
  EXPECT_EQ(lowered("\u0540\u0531\u0545"), "\u0570\u0561\u0575");  // Armenian
  EXPECT_EQ(lowered("\u1ea0\u1ec6"), "\u1ea1\u1ec7");              // ẠỆ
  EXPECT_EQ(lowered("\uff21\uff3a"), "\uff41\uff5a");              // fullwidth
}

TEST(CaseFold, WhatWouldChangeLengthOrIsNotALetterStays) {
  EXPECT_EQ(lowered("\u0130\u1e9e\u00df"), "\u0130\u1e9e\u00df");  // İ, ẞ: longer lowercase
  EXPECT_EQ(lowered("\u4e2d\u6587 \U0001F600"), "\u4e2d\u6587 \U0001F600");
  EXPECT_EQ(lowered("\u00e9t\u00e9"), "\u00e9t\u00e9");
}

TEST(CaseFold, InvalidAndCutSequencesAreLeftAsTheyAre) {
  EXPECT_EQ(lowered("\xc3"), "\xc3");                    // cut
  EXPECT_EQ(lowered("A\xc3\x80\xc3"), "a\xc3\xa0\xc3");  // À then a cut sequence
  EXPECT_EQ(lowered("\xc1\x81"), "\xc1\x81");            // overlong 'A'
  EXPECT_EQ(lowered("\x80\xff\xfe"), "\x80\xff\xfe");
  EXPECT_EQ(lower_code_point(0x41), 0x61u);
  EXPECT_EQ(lower_code_point(0x10FFFF), 0x10FFFFu);
}

}  // namespace
}  // namespace llm_router::core
