#include "llm_router/selector/hash_ring.hpp"

#include <algorithm>

#include "llm_router/selector/rng.hpp"

namespace llm_router::selector {

HashRing::HashRing(const std::vector<std::string>& members, int virtual_nodes)
    : member_count_(members.size()) {
  points_.reserve(members.size() * static_cast<std::size_t>(virtual_nodes));
  for (std::size_t m = 0; m < members.size(); ++m) {
    const std::string& name = members[m];
    for (int v = 0; v < virtual_nodes; ++v) {
      points_.emplace_back(hash64(name.data(), name.size(), static_cast<std::uint64_t>(v)),
                           static_cast<std::uint32_t>(m));
    }
  }
  std::sort(points_.begin(), points_.end());
}

std::size_t HashRing::first_point(std::uint64_t key) const {
  const auto it =
      std::lower_bound(points_.begin(), points_.end(), std::make_pair(key, std::uint32_t{0}));
  return it == points_.end() ? 0 : static_cast<std::size_t>(it - points_.begin());
}

std::size_t HashRing::owner(std::uint64_t key) const {
  if (points_.empty()) return member_count_;
  return points_[first_point(key)].second;
}

std::vector<std::size_t> HashRing::walk(std::uint64_t key) const {
  std::vector<std::size_t> order;
  if (points_.empty()) return order;
  std::vector<bool> seen(member_count_, false);
  const std::size_t start = first_point(key);
  for (std::size_t i = 0; i < points_.size() && order.size() < member_count_; ++i) {
    const std::uint32_t member = points_[(start + i) % points_.size()].second;
    if (!seen[member]) {
      seen[member] = true;
      order.push_back(member);
    }
  }
  return order;
}

}  // namespace llm_router::selector
