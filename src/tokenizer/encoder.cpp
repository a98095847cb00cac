#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "llm_router/core/file.hpp"
#include "llm_router/tokenizer/tokenizer.hpp"

namespace llm_router::tokenizer {

std::string_view name(Encoding encoding) {
  switch (encoding) {
    case Encoding::cl100k_base:
      return "cl100k_base";
    case Encoding::o200k_base:
      return "o200k_base";
  }
  return "o200k_base";
}

std::optional<Encoding> encoding_from_name(std::string_view text) {
  if (text == "cl100k_base") return Encoding::cl100k_base;
  if (text == "o200k_base") return Encoding::o200k_base;
  return std::nullopt;
}

std::optional<Encoding> encoding_for_model(std::string_view model) {
  if (const auto slash = model.rfind('/'); slash != std::string_view::npos) {
    model.remove_prefix(slash + 1);  // "openai/gpt-4o"
  }
  for (const auto* prefix :
       {"gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o", "gpt-oss"}) {
    if (model.starts_with(prefix)) return Encoding::o200k_base;
  }
  for (const auto* prefix : {"gpt-4", "gpt-3.5", "text-embedding-3", "text-embedding-ada-002"}) {
    if (model.starts_with(prefix)) return Encoding::cl100k_base;
  }
  return std::nullopt;
}

namespace {

class Reader {
 public:
  Reader(std::string_view data, const std::filesystem::path& file) : data_(data), file_(file) {}

  std::uint32_t u32() {
    const auto bytes = take(4);
    return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[0])) |
           static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[1])) << 8 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[2])) << 16 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[3])) << 24;
  }
  std::string_view short_string() {
    const auto length = static_cast<unsigned char>(take(1)[0]);
    return take(length);
  }
  std::string_view take(std::size_t n) {
    if (data_.size() - position_ < n) fail("truncated");
    const auto out = data_.substr(position_, n);
    position_ += n;
    return out;
  }
  bool at_end() const { return position_ == data_.size(); }
  [[noreturn]] void fail(const std::string& why) const {
    throw std::runtime_error(file_.string() + ": invalid BPE table: " + why);
  }

 private:
  std::string_view data_;
  const std::filesystem::path& file_;
  std::size_t position_ = 0;
};

constexpr std::string_view kMagic = "LRBPE001";

}  // namespace

Encoder::Encoder(Encoder&&) noexcept = default;
Encoder& Encoder::operator=(Encoder&&) noexcept = default;
Encoder::~Encoder() = default;

Encoder Encoder::load(Encoding encoding, const std::filesystem::path& file) {
  Encoder encoder;
  encoder.encoding_ = encoding;
  encoder.data_ = core::read_file_or_throw(file, "BPE table");
  // The views below point into data_; a std::string move keeps its heap buffer (the table is
  // far above the small-string size), so they survive moving the Encoder.
  Reader reader(encoder.data_, file);
  if (reader.take(kMagic.size()) != kMagic) reader.fail("bad magic");
  const std::uint32_t rank_count = reader.u32();
  const std::uint32_t special_count = reader.u32();
  for (std::uint32_t i = 0; i < special_count; ++i) {
    const auto text = reader.short_string();
    encoder.specials_.emplace(std::string(text), reader.u32());
  }
  encoder.tokens_.reserve(rank_count);
  encoder.ranks_.reserve(rank_count);
  for (std::uint32_t rank = 0; rank < rank_count; ++rank) {
    const auto bytes = reader.short_string();
    encoder.tokens_.push_back(bytes);
    if (!bytes.empty() && !encoder.ranks_.insert(bytes, rank)) {
      reader.fail("duplicate token at rank " + std::to_string(rank));
    }
  }
  if (!reader.at_end()) reader.fail("trailing bytes");
  for (int b = 0; b < 256; ++b) {
    if (!encoder.rank_of(std::string(1, static_cast<char>(b)))) {
      reader.fail("byte " + std::to_string(b) + " has no token");
    }
  }
  return encoder;
}

Encoder Encoder::load_from_directory(Encoding encoding, const std::filesystem::path& directory) {
  return load(encoding, directory / (std::string(name(encoding)) + ".bpe"));
}

std::optional<std::uint32_t> Encoder::rank_of(std::string_view bytes) const {
  return ranks_.find(bytes);
}

std::optional<std::uint32_t> Encoder::special_token(std::string_view text) const {
  const auto it = specials_.find(std::string(text));
  if (it == specials_.end()) return std::nullopt;
  return it->second;
}

template <typename Emit>
void Encoder::encode_piece(std::string_view piece, Emit&& emit) const {
  if (const auto whole = rank_of(piece)) {
    emit(*whole, piece);
    return;
  }
  auto rank = [this](std::string_view bytes) { return rank_of(bytes).value_or(detail::kNoRank); };
  std::size_t start = 0;
  for (const std::size_t end : byte_pair_merge(piece, rank)) {
    const auto token = piece.substr(start, end - start);
    emit(rank(token), token);
    start = end;
  }
}

std::vector<std::uint32_t> Encoder::encode(std::string_view text) const {
  std::vector<std::uint32_t> out;
  for (const auto piece : split(encoding_, text)) {
    encode_piece(piece, [&](std::uint32_t rank, std::string_view) { out.push_back(rank); });
  }
  return out;
}

std::size_t Encoder::count(std::string_view text) const {
  std::size_t total = 0;
  for (const auto piece : split(encoding_, text)) {
    if (rank_of(piece)) {
      ++total;
      continue;
    }
    auto rank = [this](std::string_view bytes) { return rank_of(bytes).value_or(detail::kNoRank); };
    total += byte_pair_merge(piece, rank).size();
  }
  return total;
}

std::string Encoder::decode(std::span<const std::uint32_t> tokens) const {
  std::string out;
  for (const auto token : tokens) {
    if (token < tokens_.size()) {
      out += tokens_[token];
      continue;
    }
    for (const auto& [text, rank] : specials_) {
      if (rank == token) out += text;
    }
  }
  return out;
}

}  // namespace llm_router::tokenizer
