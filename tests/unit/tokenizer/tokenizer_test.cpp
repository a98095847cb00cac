#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "encoders.hpp"
#include "llm_router/tokenizer/tokenizer.hpp"
#include "llm_router/tokenizer/unicode_classes.hpp"

namespace llm_router::tokenizer {
namespace {

struct Expected {
  const char* text;
  std::vector<std::uint32_t> cl100k;
  std::vector<std::uint32_t> o200k;
};

// Token ids computed by js-tiktoken (tests/tokenizer/make-expected.mjs).
const std::vector<Expected>& expected_tokens() {
  static const std::vector<Expected> table = {
#include "expected_tokens.inc"
  };
  return table;
}

class Tokenizer : public WithEncoders {};

TEST_F(Tokenizer, MatchesJsTiktokenTokenForToken) {
  for (const auto& e : expected_tokens()) {
    EXPECT_EQ(cl100k_->encode(e.text), e.cl100k) << "cl100k_base: " << e.text;
    EXPECT_EQ(o200k_->encode(e.text), e.o200k) << "o200k_base: " << e.text;
    EXPECT_EQ(count_tokens(*cl100k_, e.text), e.cl100k.size()) << e.text;
    EXPECT_EQ(count_tokens(*o200k_, e.text), e.o200k.size()) << e.text;
  }
}

TEST_F(Tokenizer, KnownCounts) {
  EXPECT_EQ(o200k_->count("Hello, world!"), 4u);
  EXPECT_EQ(cl100k_->count("Hello, world!"), 4u);
  EXPECT_EQ(o200k_->count(""), 0u);
}

TEST_F(Tokenizer, DecodeRoundTrips) {
  for (const auto& e : expected_tokens()) {
    EXPECT_EQ(o200k_->decode(o200k_->encode(e.text)), e.text);
    EXPECT_EQ(cl100k_->decode(cl100k_->encode(e.text)), e.text);
  }
}

TEST_F(Tokenizer, TablesHaveTheirSizesAndSpecials) {
  EXPECT_EQ(cl100k_->vocabulary_size(), 100256u);
  EXPECT_EQ(o200k_->vocabulary_size(), 199998u);
  EXPECT_EQ(cl100k_->special_token("<|endoftext|>"), 100257u);
  EXPECT_EQ(o200k_->special_token("<|endoftext|>"), 199999u);
}

TEST_F(Tokenizer, InvalidUtf8IsCountedNotRejected) {
  const std::string text = "ok \xff\xfe bytes \xc3";
  EXPECT_EQ(o200k_->decode(o200k_->encode(text)), text);
  EXPECT_GT(o200k_->count(text), 3u);
}

TEST(TokenizerLoad, MissingOrCorruptTablesThrow) {
  EXPECT_THROW(Encoder::load(Encoding::o200k_base, "/nonexistent/o200k_base.bpe"),
               std::runtime_error);
  const auto path = std::filesystem::temp_directory_path() / "llm_router_bad.bpe";
  std::ofstream(path) << "LRBPE001\x05";
  EXPECT_THROW(Encoder::load(Encoding::o200k_base, path), std::runtime_error);
  std::filesystem::remove(path);
}

TEST(Split, Cl100kPieces) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(split(Encoding::cl100k_base, "I'm here  now\n\n x"),
            (V{"I", "'m", " here", " ", " now", "\n\n", " x"}));
  EXPECT_EQ(split(Encoding::cl100k_base, "12345 !!x"), (V{"123", "45", " !!", "x"}));
  EXPECT_EQ(split(Encoding::cl100k_base, "a   "), (V{"a", "   "}));
}

TEST(Split, O200kPieces) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(split(Encoding::o200k_base, "HELLOworld helloWORLD I'm"),
            (V{"HELLOworld", " hello", "WORLD", " I'm"}));
  EXPECT_EQ(split(Encoding::o200k_base, "a!\n/b"), (V{"a", "!\n/", "b"}));
}

TEST(CharClass, SamplesOfEachClass) {
  EXPECT_EQ(char_class(U'A'), CharClass::upper);
  EXPECT_EQ(char_class(U'\u01C5'), CharClass::upper);  // Lt
  EXPECT_EQ(char_class(U'z'), CharClass::lower);
  EXPECT_EQ(char_class(U'中'), CharClass::letter_other);
  EXPECT_EQ(char_class(U'\u0301'), CharClass::mark);
  EXPECT_EQ(char_class(U'7'), CharClass::number);
  EXPECT_EQ(char_class(U'Ⅻ'), CharClass::number);
  EXPECT_EQ(char_class(U' '), CharClass::space);
  EXPECT_EQ(char_class(U'\uFEFF'), CharClass::space);  // JavaScript's \s includes the BOM
  EXPECT_EQ(char_class(U'\u0085'), CharClass::other);  // ... but not NEL
  EXPECT_EQ(char_class(U'!'), CharClass::other);
  EXPECT_EQ(char_class(U'\U0010FFFF'), CharClass::other);
}

TEST(BytePairMerge, HeapAndQuadraticAgreeOnRandomRanks) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    // A small alphabet so pairs repeat and equal ranks compete for leftmost-first.
    std::map<std::string, std::uint32_t> ranks;
    std::uniform_int_distribution<int> letter(0, 3);
    std::uniform_int_distribution<std::uint32_t> rank_value(0, 1000);
    for (int i = 0; i < 60; ++i) {
      std::string token;
      const int length = 2 + letter(rng) % 3;
      for (int k = 0; k < length; ++k) token.push_back(static_cast<char>('a' + letter(rng)));
      ranks.emplace(token, rank_value(rng));
    }
    std::string piece;
    const int length = 1 + static_cast<int>(rng() % 300);
    for (int k = 0; k < length; ++k) piece.push_back(static_cast<char>('a' + letter(rng)));
    auto rank = [&](std::string_view bytes) {
      const auto it = ranks.find(std::string(bytes));
      return it == ranks.end() ? detail::kNoRank : it->second;
    };
    EXPECT_EQ(detail::heap_merge(piece, rank), detail::quadratic_merge(piece, rank)) << piece;
  }
}

TEST(EncodingForModel, KnownFamilies) {
  EXPECT_EQ(encoding_for_model("gpt-4o-mini"), Encoding::o200k_base);
  EXPECT_EQ(encoding_for_model("openai/o3-mini"), Encoding::o200k_base);
  EXPECT_EQ(encoding_for_model("gpt-4-turbo"), Encoding::cl100k_base);
  EXPECT_EQ(encoding_for_model("gpt-3.5-turbo"), Encoding::cl100k_base);
  EXPECT_EQ(encoding_for_model("llama-3"), std::nullopt);
  EXPECT_EQ(encoding_from_name("o200k_base"), Encoding::o200k_base);
  EXPECT_EQ(encoding_from_name("p50k"), std::nullopt);
}

// Hook for tests/tokenizer/compare.mjs: with LLM_ROUTER_TOKENIZER_CORPUS naming a JSON array of
// strings, writes {"cl100k_base": [counts], "o200k_base": [counts]} to
// LLM_ROUTER_TOKENIZER_COUNTS. Skipped otherwise.
TEST_F(Tokenizer, CountCorpusForComparison) {
  const char* corpus_path = std::getenv("LLM_ROUTER_TOKENIZER_CORPUS");
  const char* counts_path = std::getenv("LLM_ROUTER_TOKENIZER_COUNTS");
  if (!corpus_path || !counts_path) GTEST_SKIP() << "no corpus given";
  std::ifstream in(corpus_path);
  ASSERT_TRUE(in) << corpus_path;
  const auto corpus = nlohmann::json::parse(in);
  nlohmann::json out = {{"cl100k_base", nlohmann::json::array()},
                        {"o200k_base", nlohmann::json::array()}};
  for (const auto& entry : corpus) {
    const auto text = entry.get<std::string>();
    out["cl100k_base"].push_back(cl100k_->count(text));
    out["o200k_base"].push_back(o200k_->count(text));
  }
  std::ofstream(counts_path) << out.dump();
}

}  // namespace
}  // namespace llm_router::tokenizer
