#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace llm_router::proxy {

// The backend that last answered each conversation of a sticky route (`sticky:`), shared by
// the io threads: later turns ask it first. An entry lasts its route's ttl after the answer
// that set it; past `capacity` entries the least recently answered go first.
class StickyBackends {
 public:
  using Clock = std::chrono::steady_clock;

  explicit StickyBackends(std::size_t capacity = 200'000) : capacity_(capacity) {}

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
  static std::string id_of(std::string_view route, std::string_view key);

  std::mutex mutex_;
  std::size_t capacity_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> order_;  // ids, least recently answered first
};

}  // namespace llm_router::proxy
