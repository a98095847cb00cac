#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <queue>
#include <string_view>
#include <utility>
#include <vector>

namespace llm_router::tokenizer {

namespace detail {

inline constexpr std::uint32_t kNoRank = std::numeric_limits<std::uint32_t>::max();
// Past this many bytes the quadratic scan loses to the heap.
inline constexpr std::size_t kHeapMergeThreshold = 128;

// tiktoken's own algorithm: rescan for the lowest-ranked adjacent pair after every merge.
template <typename RankFn>
std::vector<std::size_t> quadratic_merge(std::string_view piece, RankFn& rank) {
  struct Part {
    std::size_t start;
    std::uint32_t rank;
  };
  std::vector<Part> parts;
  parts.reserve(piece.size() + 1);
  for (std::size_t i = 0; i + 1 < piece.size(); ++i) parts.push_back({i, rank(piece.substr(i, 2))});
  parts.push_back({piece.size() - 1, kNoRank});
  parts.push_back({piece.size(), kNoRank});
  // Rank of parts[i] merged with its next two parts' span, before the merge is applied.
  auto rank_after = [&](std::size_t i) {
    if (i + 3 >= parts.size()) return kNoRank;
    return rank(piece.substr(parts[i].start, parts[i + 3].start - parts[i].start));
  };
  while (parts.size() > 1) {
    std::uint32_t best = kNoRank;
    std::size_t at = 0;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
      if (parts[i].rank < best) {
        best = parts[i].rank;
        at = i;
      }
    }
    if (best == kNoRank) break;
    parts[at].rank = rank_after(at);
    if (at > 0) parts[at - 1].rank = rank_after(at - 1);
    parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(at) + 1);
  }
  std::vector<std::size_t> ends;
  ends.reserve(parts.size() - 1);
  for (std::size_t i = 1; i < parts.size(); ++i) ends.push_back(parts[i].start);
  return ends;
}

// Same result in O(n log n): a heap of (rank, start) over a linked list of parts, with stale
// entries skipped. Popping the smallest (rank, start) is exactly "lowest rank, leftmost first".
template <typename RankFn>
std::vector<std::size_t> heap_merge(std::string_view piece, RankFn& rank) {
  const std::size_t n = piece.size();
  constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
  std::vector<std::size_t> next(n), prev(n);
  std::vector<std::uint32_t> pair_rank(n, kNoRank);  // rank of part i merged with next[i]
  std::vector<bool> alive(n, true);
  for (std::size_t i = 0; i < n; ++i) {
    next[i] = i + 1 < n ? i + 1 : kNone;
    prev[i] = i > 0 ? i - 1 : kNone;
  }
  auto end_of = [&](std::size_t i) { return next[i] == kNone ? n : next[i]; };
  using Entry = std::pair<std::uint32_t, std::size_t>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
  auto refresh = [&](std::size_t i) {
    if (i == kNone || next[i] == kNone) {
      if (i != kNone) pair_rank[i] = kNoRank;
      return;
    }
    pair_rank[i] = rank(piece.substr(i, end_of(next[i]) - i));
    if (pair_rank[i] != kNoRank) heap.push({pair_rank[i], i});
  };
  for (std::size_t i = 0; i + 1 < n; ++i) refresh(i);
  while (!heap.empty()) {
    const auto [r, i] = heap.top();
    heap.pop();
    if (!alive[i] || pair_rank[i] != r) continue;
    const std::size_t gone = next[i];
    alive[gone] = false;
    next[i] = next[gone];
    if (next[i] != kNone) prev[next[i]] = i;
    refresh(i);
    refresh(prev[i]);
  }
  std::vector<std::size_t> ends;
  for (std::size_t i = 0; i != kNone; i = next[i]) ends.push_back(end_of(i));
  return ends;
}

}  // namespace detail

template <typename RankFn>
std::vector<std::size_t> byte_pair_merge(std::string_view piece, RankFn&& rank) {
  if (piece.empty()) return {};
  if (piece.size() == 1) return {1};
  if (piece.size() < detail::kHeapMergeThreshold) return detail::quadratic_merge(piece, rank);
  return detail::heap_merge(piece, rank);
}

}  // namespace llm_router::tokenizer
