#pragma once

// An immutable-after-build open-addressing map from short strings to small values. Built at
// startup; a lookup costs one word_hash and usually one probe into a compact slot array
// (8 bytes per slot, so the VADER table's slots fit in L2), no allocation.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "text_util.hpp"

namespace llm_router::analyzer {

// Eight bytes at a time: words are short, and a byte-wise FNV chain is latency-bound.
inline std::uint64_t word_hash(std::string_view key) {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ key.size();
  std::size_t i = 0;
  for (; i + 8 <= key.size(); i += 8) {
    std::uint64_t chunk;
    std::memcpy(&chunk, key.data() + i, 8);
    h = (h ^ chunk) * 0xff51afd7ed558ccdULL;
    h ^= h >> 32;
  }
  if (i < key.size()) {
    // A byte loop: a variable-length memcpy becomes a library call here.
    std::uint64_t chunk = 0;
    for (std::size_t k = 0; i + k < key.size(); ++k) {
      chunk |= static_cast<std::uint64_t>(static_cast<unsigned char>(key[i + k])) << (8 * k);
    }
    h = (h ^ chunk) * 0xff51afd7ed558ccdULL;
  }
  h ^= h >> 29;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 32;
  return h;
}

// key.size() bytes at p equal key: an inline loop, as keys are short and a memcmp call costs
// more than comparing them.
inline bool same_bytes(const char* p, std::string_view key) {
  for (std::size_t k = 0; k < key.size(); ++k) {
    if (p[k] != key[k]) return false;
  }
  return true;
}

template <typename Value>
class WordTable {
 public:
  // Inserts or returns the existing value for key.
  Value& operator[](std::string_view key) {
    if (const auto index = locate(key, word_hash(key)); index != kMissing) {
      return entries_[index].value;
    }
    if ((entries_.size() + 1) * 2 > slots_.size()) grow();
    const std::uint64_t hash = word_hash(key);
    entries_.push_back(Entry{static_cast<std::uint32_t>(arena_.size()),
                             static_cast<std::uint32_t>(key.size()),
                             static_cast<std::uint32_t>(hash >> 32), Value{}});
    arena_.append(key);
    place(hash, static_cast<std::uint32_t>(entries_.size() - 1));
    return entries_.back().value;
  }

  const Value* find(std::string_view key) const { return find(key, word_hash(key)); }
  // With word_hash(key) already computed.
  const Value* find(std::string_view key, std::uint64_t hash) const {
    const auto index = locate(key, hash);
    return index == kMissing ? nullptr : &entries_[index].value;
  }

  std::size_t size() const { return entries_.size(); }

 private:
  static constexpr std::uint32_t kMissing = 0xFFFFFFFFu;

  struct Entry {
    std::uint32_t offset;
    std::uint32_t length;
    std::uint32_t hash_high;
    Value value;
  };

  // Slot: high 32 bits of the hash << 32 | (entry index + 1); 0 = empty.
  std::uint32_t locate(std::string_view key, std::uint64_t hash) const {
    if (slots_.empty()) return kMissing;
    const auto high = static_cast<std::uint32_t>(hash >> 32);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      const std::uint64_t slot = slots_[i];
      if (slot == 0) return kMissing;
      if (static_cast<std::uint32_t>(slot >> 32) != high) continue;
      const auto index = static_cast<std::uint32_t>(slot) - 1;
      const Entry& entry = entries_[index];
      if (entry.length == key.size() && same_bytes(arena_.data() + entry.offset, key)) {
        return index;
      }
    }
  }

  void place(std::uint64_t hash, std::uint32_t index) {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = hash & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = (hash >> 32 << 32) | (static_cast<std::uint64_t>(index) + 1);
  }

  void grow() {
    slots_.assign(slots_.empty() ? 64 : slots_.size() * 2, 0);
    for (std::uint32_t index = 0; index < entries_.size(); ++index) {
      const Entry& entry = entries_[index];
      place(word_hash(std::string_view(arena_).substr(entry.offset, entry.length)), index);
    }
  }

  std::vector<std::uint64_t> slots_;
  std::vector<Entry> entries_;
  std::string arena_;
};

}  // namespace llm_router::analyzer
