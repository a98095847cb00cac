#pragma once

// An immutable-after-build open-addressing map from short strings to small values. Built at
// startup; lookups on the hot path cost one FNV-1a hash and usually one probe, no allocation.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "text_util.hpp"

namespace llm_router::analyzer {

template <typename Value>
class WordTable {
 public:
  // Inserts or returns the existing value for key.
  Value& operator[](std::string_view key) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    const std::uint64_t hash = fnv1a(key);
    std::size_t i = hash & (slots_.size() - 1);
    while (slots_[i].used) {
      if (slots_[i].hash == hash && key_of(slots_[i]) == key) return slots_[i].value;
      i = (i + 1) & (slots_.size() - 1);
    }
    slots_[i] = Slot{hash, static_cast<std::uint32_t>(arena_.size()),
                     static_cast<std::uint32_t>(key.size()), true, Value{}};
    arena_.append(key);
    ++size_;
    return slots_[i].value;
  }

  const Value* find(std::string_view key) const { return find(key, fnv1a(key)); }

  const Value* find(std::string_view key, std::uint64_t hash) const {
    if (size_ == 0) return nullptr;
    std::size_t i = hash & (slots_.size() - 1);
    while (slots_[i].used) {
      if (slots_[i].hash == hash && key_of(slots_[i]) == key) return &slots_[i].value;
      i = (i + 1) & (slots_.size() - 1);
    }
    return nullptr;
  }

  std::size_t size() const { return size_; }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
    bool used = false;
    Value value{};
  };

  std::string_view key_of(const Slot& slot) const {
    return std::string_view(arena_).substr(slot.offset, slot.length);
  }

  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
    for (const auto& slot : old) {
      if (!slot.used) continue;
      std::size_t i = slot.hash & (slots_.size() - 1);
      while (slots_[i].used) i = (i + 1) & (slots_.size() - 1);
      slots_[i] = slot;
    }
  }

  std::vector<Slot> slots_;
  std::string arena_;
  std::size_t size_ = 0;
};

}  // namespace llm_router::analyzer
