#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "llm_router/tokenizer/detail/rank_table.hpp"

// Exact OpenAI BPE token counts (cl100k_base, o200k_base), equal to js-tiktoken's.
//
// Text is split into pieces by a hand-written equivalent of each encoding's pre-tokenization
// regex (lookahead included), then each piece is byte-pair merged with the encoding's ranks.
// The rank tables are data files (config/tokenizers/*.bpe) loaded once at startup; an Encoder is
// immutable afterwards and safe to share between threads.
namespace llm_router::tokenizer {

enum class Encoding { cl100k_base, o200k_base };

std::string_view name(Encoding encoding);
std::optional<Encoding> encoding_from_name(std::string_view name);
// The encoding OpenAI uses for a model id (gpt-4o*, o1*, o3*, gpt-4.1* ... -> o200k_base;
// gpt-4*, gpt-3.5* and text-embedding-* -> cl100k_base); nullopt when unknown.
std::optional<Encoding> encoding_for_model(std::string_view model);

// Splits text into the pieces the encoding's regex would match, in order. Invalid UTF-8 bytes
// are kept, one piece-character each, classed as punctuation.
std::vector<std::string_view> split(Encoding encoding, std::string_view text);

class Encoder {
 public:
  // Reads a table written by scripts/convert-tokenizers.mjs; throws std::runtime_error when the
  // file is missing or malformed (startup only).
  static Encoder load(Encoding encoding, const std::filesystem::path& file);
  // <directory>/<name(encoding)>.bpe
  static Encoder load_from_directory(Encoding encoding, const std::filesystem::path& directory);

  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;
  Encoder(Encoder&&) noexcept;
  Encoder& operator=(Encoder&&) noexcept;
  ~Encoder();

  Encoding encoding() const { return encoding_; }
  // Special tokens ("<|endoftext|>") are encoded as ordinary text, like encode_ordinary.
  std::vector<std::uint32_t> encode(std::string_view text) const;
  std::size_t count(std::string_view text) const;
  std::string decode(std::span<const std::uint32_t> tokens) const;
  std::size_t vocabulary_size() const { return tokens_.size(); }
  std::optional<std::uint32_t> special_token(std::string_view text) const;

 private:
  Encoder() = default;
  std::optional<std::uint32_t> rank_of(std::string_view bytes) const;
  template <typename Emit>
  void encode_piece(std::string_view piece, Emit&& emit) const;

  Encoding encoding_ = Encoding::o200k_base;
  std::string data_;                      // the file; views point into it
  std::vector<std::string_view> tokens_;  // by rank
  detail::RankTable ranks_;
  std::unordered_map<std::string, std::uint32_t> specials_;
};

inline std::size_t count_tokens(const Encoder& encoder, std::string_view text) {
  return encoder.count(text);
}

// An estimate without tables, for routing before any backend is chosen: between cl100k_base's
// and o200k_base's counts on prose, code, data (numbers, JSON, base64, hex) and most scripts.
// Linear in the text's size; a fraction, so many small pieces add up right.
double estimate_tokens(std::string_view text);

namespace detail {
// The estimate's features of a text and their weights (estimate = their dot product), for
// tests/tokenizer/fit_estimate.cpp, which fits the weights.
// The first kEstimateAsciiFeatures are of ASCII text,
// the rest count other scripts' characters.
inline constexpr std::size_t kEstimateAsciiFeatures = 13;
std::vector<double> estimate_features(std::string_view text);
std::vector<double> estimate_weights();
}  // namespace detail

// Byte-pair merge of one piece, exposed for tests: the token boundaries (end offsets) after
// merging, lowest rank first and leftmost first among equals. `rank` returns a rank or
// UINT32_MAX for an unknown byte string.
template <typename RankFn>
std::vector<std::size_t> byte_pair_merge(std::string_view piece, RankFn&& rank);

}  // namespace llm_router::tokenizer

#include "llm_router/tokenizer/detail/byte_pair_merge.hpp"
