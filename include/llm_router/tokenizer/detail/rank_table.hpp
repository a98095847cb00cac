#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace llm_router::tokenizer::detail {

// Byte string -> rank, open addressing with linear probing over a flat array: one cache miss
// per lookup in the common case, where std::unordered_map takes two or three.
class RankTable {
 public:
  void reserve(std::size_t count);
  // False when `bytes` is already present. `bytes` must outlive the table.
  bool insert(std::string_view bytes, std::uint32_t rank);
  std::optional<std::uint32_t> find(std::string_view bytes) const noexcept;

 private:
  struct Slot {
    const char* data = nullptr;
    std::uint32_t rank = 0;
    std::uint8_t size = 0;
  };
  static std::uint64_t hash(std::string_view bytes) noexcept;
  void grow();

  std::vector<Slot> slots_;
  std::size_t used_ = 0;
  std::size_t mask_ = 0;
};

}  // namespace llm_router::tokenizer::detail
