// The store of sticky routes' conversations: expiry and the bound on its size.
#include "llm_router/proxy/sticky_backends.hpp"

#include <gtest/gtest.h>

namespace llm_router::proxy {
namespace {

using std::chrono::minutes;

TEST(StickyBackends, AConversationKeepsItsBackendUntilItExpires) {
  StickyBackends store;
  const auto now = StickyBackends::Clock::now();
  store.remember("chat", "k1", "small", now + minutes(10));
  EXPECT_EQ(store.find("chat", "k1", now), "small");
  EXPECT_EQ(store.find("other-route", "k1", now), std::nullopt);  // per route
  EXPECT_EQ(store.find("chat", "k1", now + minutes(11)), std::nullopt);
  EXPECT_EQ(store.size(), 0u);  // the expired entry is gone
  store.remember("chat", "k1", "small", now + minutes(10));
  store.remember("chat", "k1", "large", now + minutes(20));  // answered elsewhere since
  EXPECT_EQ(store.find("chat", "k1", now + minutes(15)), "large");
}

TEST(StickyBackends, PastItsCapacityTheLeastRecentlyAnsweredGoFirst) {
  StickyBackends store(2, /*shards=*/1);
  const auto later = StickyBackends::Clock::now() + minutes(10);
  store.remember("chat", "a", "x", later);
  store.remember("chat", "b", "x", later);
  store.remember("chat", "a", "y", later);  // a answered again: b is now the oldest
  store.remember("chat", "c", "x", later);
  EXPECT_EQ(store.size(), 2u);
  const auto now = StickyBackends::Clock::now();
  EXPECT_EQ(store.find("chat", "a", now), "y");
  EXPECT_EQ(store.find("chat", "b", now), std::nullopt);
  EXPECT_EQ(store.find("chat", "c", now), "x");
}

}  // namespace
}  // namespace llm_router::proxy
