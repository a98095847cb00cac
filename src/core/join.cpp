#include "llm_router/core/join.hpp"

#include <future>
#include <memory>
#include <utility>

namespace llm_router::core {

bool join_within(std::vector<std::thread>& threads, std::chrono::milliseconds limit) {
  if (threads.empty()) return true;
  auto joined = std::make_shared<std::promise<void>>();
  std::future<void> all_joined = joined->get_future();
  // The joiner owns the threads: left running, it keeps them joinable past this call.
  std::thread joiner([threads = std::move(threads), joined]() mutable {
    for (auto& thread : threads) thread.join();
    joined->set_value();
  });
  threads.clear();
  if (all_joined.wait_for(limit) == std::future_status::ready) {
    joiner.join();
    return true;
  }
  joiner.detach();
  return false;
}

}  // namespace llm_router::core
