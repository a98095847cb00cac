#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace llm_router::proxy {

// The backend that last answered each conversation of a sticky route (`sticky:`), shared by
// the io threads: later turns ask it first. An entry lasts its route's ttl after the answer
// that set it; past `capacity` entries the least recently answered go first (per shard).
class StickyBackends {
 public:
  using Clock = std::chrono::steady_clock;

  explicit StickyBackends(std::size_t capacity = 200'000, std::size_t shards = 16);

  // The backend remembered for the conversation `key` of `route`, unless expired.
  std::optional<std::string> find(std::string_view route, std::string_view key,
                                  Clock::time_point now);
  void remember(std::string_view route, std::string_view key, std::string backend,
                Clock::time_point expires);
  std::size_t size();

 private:
  struct Entry {
    std::string backend;
    Clock::time_point expires;
    std::list<std::string>::iterator age;  // in order_
  };
  // The io threads look entries up at once: each shard has its own lock.
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Entry> entries;
    std::list<std::string> order;  // ids, least recently answered first
  };
  static std::string id_of(std::string_view route, std::string_view key);
  Shard& shard_of(const std::string& id);

  std::size_t shard_capacity_;
  std::vector<Shard> shards_;
};

}  // namespace llm_router::proxy
