#pragma once

#include <chrono>
#include <thread>
#include <vector>

namespace llm_router::core {

// Joins `threads`, waiting at most `limit` for all of them; true when every one was joined.
// Past the limit the rest are left to finish on their own (the vector is emptied either way):
// for threads whose work is done, so that one stuck in its exit (mimalloc 2.0.9 can spin in
// a thread's exit, its issue #759) does not keep the process from exiting.
bool join_within(std::vector<std::thread>& threads, std::chrono::milliseconds limit);

}  // namespace llm_router::core
