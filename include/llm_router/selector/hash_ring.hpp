#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace llm_router::selector {

// Consistent-hash ring with virtual nodes: adding or removing one of N members moves about 1/N
// of the keys. Immutable after construction.
class HashRing {
 public:
  static constexpr int kDefaultVirtualNodes = 160;

  // members: stable names (points depend on the name, not the position).
  explicit HashRing(const std::vector<std::string>& members,
                    int virtual_nodes = kDefaultVirtualNodes);

  // Member index owning the key; members.size() when the ring is empty.
  std::size_t owner(std::uint64_t key) const;
  // Distinct members met walking clockwise from the key: the owner first.
  std::vector<std::size_t> walk(std::uint64_t key) const;
  std::size_t size() const { return member_count_; }

 private:
  std::size_t first_point(std::uint64_t key) const;

  std::vector<std::pair<std::uint64_t, std::uint32_t>> points_;  // sorted by hash
  std::size_t member_count_ = 0;
};

}  // namespace llm_router::selector
