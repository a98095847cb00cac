#include "llm_router/core/join.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

namespace llm_router::core {
namespace {

TEST(JoinWithin, JoinsThreadsThatFinish) {
  std::atomic<int> ran{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) threads.emplace_back([&] { ++ran; });
  EXPECT_TRUE(join_within(threads, std::chrono::seconds(60)));
  EXPECT_EQ(ran.load(), 3);
  EXPECT_TRUE(threads.empty());
}

// A thread that never ends does not keep the caller waiting past the limit.
TEST(JoinWithin, LeavesAStuckThreadBehind) {
  auto release = std::make_shared<std::promise<void>>();
  std::shared_future<void> released = release->get_future().share();
  std::vector<std::thread> threads;
  threads.emplace_back([] {});
  threads.emplace_back([released] { released.wait(); });
  EXPECT_FALSE(join_within(threads, std::chrono::milliseconds(20)));
  EXPECT_TRUE(threads.empty());
  release->set_value();  // let it end before the test process does
}

}  // namespace
}  // namespace llm_router::core
