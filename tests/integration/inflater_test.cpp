#include "llm_router/upstream/inflater.hpp"
#include <gtest/gtest.h>
#include "support/compress.hpp"

namespace llm_router::upstream {
namespace {

using test_support::compress;

TEST(Inflater, DecodesGzipAndDeflateFedInPieces) {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "data: {\"token\":" + std::to_string(i) + "}\n\n";
  for (bool gzip : {true, false}) {
    const std::string packed = compress(text, gzip);
    Inflater inflater(gzip);
    std::string out;
    for (size_t i = 0; i < packed.size(); i += 97) {
      ASSERT_TRUE(inflater.inflate(std::string_view(packed).substr(i, 97), out, 1 << 24));
    }
    EXPECT_EQ(out, text);
  }
}

TEST(Inflater, KnowsWhetherTheStreamEnded) {
  const std::string packed = compress(std::string(5000, 'x') + "end", true);
  Inflater whole(true);
  std::string out;
  ASSERT_TRUE(whole.inflate(packed, out, 1 << 20));
  EXPECT_TRUE(whole.finished());
  Inflater cut(true);
  out.clear();
  ASSERT_TRUE(cut.inflate(std::string_view(packed).substr(0, packed.size() - 5), out, 1 << 20));
  EXPECT_FALSE(cut.finished());  // the checksum and length are missing
}

// `cat a.gz b.gz` is one gzip file (RFC 1952): both members are decoded, whole or in pieces;
// bytes after the end that start no member are refused.
TEST(Inflater, DecodesEveryGzipMemberAndRefusesTrailingGarbage) {
  const std::string packed = compress("{\"model\":", true) + compress("\"auto\"}", true);
  for (const std::size_t piece : {packed.size(), std::size_t{7}}) {
    Inflater inflater(true);
    std::string out;
    for (std::size_t i = 0; i < packed.size(); i += piece) {
      ASSERT_TRUE(inflater.inflate(std::string_view(packed).substr(i, piece), out, 1 << 20));
    }
    EXPECT_EQ(out, "{\"model\":\"auto\"}");
    EXPECT_TRUE(inflater.finished());
  }
  Inflater trailing(true);
  std::string out;
  EXPECT_FALSE(trailing.inflate(compress("{}", true) + "GARBAGE", out, 1 << 20));
}

TEST(Inflater, RejectsGarbageAndOversizedOutput) {
  Inflater garbage(true);
  std::string out;
  EXPECT_FALSE(garbage.inflate("this is not gzip at all", out, 1 << 20));
  Inflater bomb(true);
  const std::string packed = compress(std::string(1 << 20, 'a'), true);
  std::string big;
  EXPECT_FALSE(bomb.inflate(packed, big, 1024));
}

// A body that decodes to far more than its compressed size stops at the ratio, long before
// its limit; an ordinary one (JSON compresses some 5-20 times) passes.
TEST(Inflater, StopsPastARatioOfItsCompressedSize) {
  const std::string bomb = compress(std::string(64 << 20, 'a'), true);  // ~1000 times smaller
  Inflater limited(true);
  limited.limit_ratio(100, 1 << 20);
  std::string out;
  EXPECT_FALSE(limited.inflate(bomb, out, std::size_t{1} << 30));
  EXPECT_TRUE(limited.over_limit());
  EXPECT_TRUE(limited.past_ratio());
  EXPECT_LE(out.size(), bomb.size() * 100 + 16384);  // one decode step past the ratio at most
  EXPECT_LT(out.size(), std::size_t{8} << 20);

  std::string text;
  for (int i = 0; i < 100000; ++i) text += "data: {\"token\":" + std::to_string(i) + "}\n\n";
  const std::string packed = compress(text, true);
  Inflater ordinary(true);
  ordinary.limit_ratio(100, 1 << 20);
  std::string decoded;
  for (std::size_t i = 0; i < packed.size(); i += 4096) {
    ASSERT_TRUE(ordinary.inflate(std::string_view(packed).substr(i, 4096), decoded, 1 << 30));
  }
  EXPECT_EQ(decoded, text);
  EXPECT_FALSE(ordinary.past_ratio());
}

}  // namespace
}  // namespace llm_router::upstream
