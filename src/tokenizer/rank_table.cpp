#include "llm_router/tokenizer/detail/rank_table.hpp"

#include <bit>
#include <cstring>

namespace llm_router::tokenizer::detail {

std::uint64_t RankTable::hash(std::string_view bytes) noexcept {
  // FNV-1a then a final mix: tokens are short (a few bytes), so this beats heavier hashes.
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 32;
  h *= 0x9E3779B97F4A7C15ULL;
  return h ^ (h >> 29);
}

void RankTable::reserve(std::size_t count) {
  const std::size_t wanted = std::bit_ceil(count * 2 + 16);  // load factor <= 0.5
  if (wanted <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(wanted, Slot{});
  mask_ = wanted - 1;
  used_ = 0;
  for (const auto& slot : old) {
    if (slot.data) insert(std::string_view(slot.data, slot.size), slot.rank);
  }
}

bool RankTable::insert(std::string_view bytes, std::uint32_t rank) {
  if (bytes.empty() || bytes.size() > 255) return false;
  if ((used_ + 1) * 2 > slots_.size()) reserve(used_ + 1);
  for (std::size_t i = hash(bytes) & mask_;; i = (i + 1) & mask_) {
    Slot& slot = slots_[i];
    if (!slot.data) {
      slot = Slot{bytes.data(), rank, static_cast<std::uint8_t>(bytes.size())};
      ++used_;
      return true;
    }
    if (slot.size == bytes.size() && std::memcmp(slot.data, bytes.data(), bytes.size()) == 0) {
      return false;
    }
  }
}

std::optional<std::uint32_t> RankTable::find(std::string_view bytes) const noexcept {
  if (slots_.empty() || bytes.empty() || bytes.size() > 255) return std::nullopt;
  for (std::size_t i = hash(bytes) & mask_;; i = (i + 1) & mask_) {
    const Slot& slot = slots_[i];
    if (!slot.data) return std::nullopt;
    if (slot.size == bytes.size() && std::memcmp(slot.data, bytes.data(), bytes.size()) == 0) {
      return slot.rank;
    }
  }
}

}  // namespace llm_router::tokenizer::detail
