#include <gtest/gtest.h>

#include "llm_router/selector/hash_ring.hpp"
#include "llm_router/selector/rng.hpp"

namespace llm_router::selector {
namespace {

constexpr int kKeys = 100'000;

std::vector<std::string> members(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("backend-" + std::to_string(i));
  return out;
}

std::vector<std::string> owners(const HashRing& ring, const std::vector<std::string>& names) {
  std::vector<std::string> out;
  out.reserve(kKeys);
  for (int k = 0; k < kKeys; ++k) {
    const std::string key = "key-" + std::to_string(k);
    out.push_back(names[ring.owner(hash64(key.data(), key.size()))]);
  }
  return out;
}

TEST(HashRing, AddingOneOfNMovesAboutOneNthOfTheKeys) {
  for (int n : {3, 5, 10}) {
    const auto before_names = members(n);
    const auto after_names = members(n + 1);
    const auto before = owners(HashRing(before_names), before_names);
    const auto after = owners(HashRing(after_names), after_names);
    int moved = 0;
    for (int k = 0; k < kKeys; ++k) {
      if (before[k] != after[k]) {
        ++moved;
        EXPECT_EQ(after[k], after_names.back()) << "keys only move to the new member";
      }
    }
    EXPECT_NEAR(moved / double(kKeys), 1.0 / (n + 1), 0.35 / (n + 1)) << "n=" << n;
  }
}

TEST(HashRing, RemovingOneOfNMovesOnlyItsKeys) {
  const int n = 6;
  const auto all = members(n);
  auto fewer = all;
  fewer.erase(fewer.begin() + 2);
  const auto before = owners(HashRing(all), all);
  const auto after = owners(HashRing(fewer), fewer);
  int moved = 0;
  for (int k = 0; k < kKeys; ++k) {
    if (before[k] != after[k]) {
      ++moved;
      EXPECT_EQ(before[k], all[2]);
    }
  }
  EXPECT_NEAR(moved / double(kKeys), 1.0 / n, 0.35 / n);
}

TEST(HashRing, SpreadsKeysEvenly) {
  const auto names = members(8);
  const auto owned = owners(HashRing(names), names);
  std::map<std::string, int> counts;
  for (const auto& o : owned) ++counts[o];
  for (const auto& [name, count] : counts) {
    EXPECT_NEAR(count / double(kKeys), 1.0 / 8, 0.3 / 8) << name;
  }
}

TEST(HashRing, WalkListsEveryMemberOnceOwnerFirst) {
  const HashRing ring(members(5));
  for (std::uint64_t key : {0ULL, 42ULL, ~0ULL}) {
    const auto walk = ring.walk(key);
    ASSERT_EQ(walk.size(), 5u);
    EXPECT_EQ(walk.front(), ring.owner(key));
    EXPECT_EQ(std::set<std::size_t>(walk.begin(), walk.end()).size(), 5u);
  }
  EXPECT_TRUE(HashRing({}).walk(1).empty());
}

}  // namespace
}  // namespace llm_router::selector
