#include "llm_router/proxy/sticky_backends.hpp"

#include <algorithm>
#include <functional>

namespace llm_router::proxy {

StickyBackends::StickyBackends(std::size_t capacity, std::size_t shards)
    : shard_capacity_(std::max<std::size_t>(1, capacity / std::max<std::size_t>(1, shards))),
      shards_(std::max<std::size_t>(1, shards)) {}

std::string StickyBackends::id_of(std::string_view route, std::string_view key) {
  std::string id(route);
  id += '\0';  // route names hold no NUL: "a" + "\0b" and "a\0" + "b" stay apart
  id += key;
  return id;
}

StickyBackends::Shard& StickyBackends::shard_of(const std::string& id) {
  return shards_[std::hash<std::string>{}(id) % shards_.size()];
}

std::optional<std::string> StickyBackends::find(std::string_view route, std::string_view key,
                                                Clock::time_point now) {
  const std::string id = id_of(route, key);
  Shard& shard = shard_of(id);
  const std::lock_guard lock(shard.mutex);
  const auto it = shard.entries.find(id);
  if (it == shard.entries.end()) return std::nullopt;
  if (it->second.expires <= now) {
    shard.order.erase(it->second.age);
    shard.entries.erase(it);
    return std::nullopt;
  }
  return it->second.backend;
}

void StickyBackends::remember(std::string_view route, std::string_view key, std::string backend,
                              Clock::time_point expires) {
  std::string id = id_of(route, key);
  Shard& shard = shard_of(id);
  const std::lock_guard lock(shard.mutex);
  if (const auto it = shard.entries.find(id); it != shard.entries.end()) {
    it->second.backend = std::move(backend);
    it->second.expires = expires;
    shard.order.splice(shard.order.end(), shard.order, it->second.age);
    return;
  }
  if (shard.entries.size() >= shard_capacity_ && !shard.order.empty()) {
    shard.entries.erase(shard.order.front());
    shard.order.pop_front();
  }
  shard.order.push_back(id);
  shard.entries.emplace(std::move(id),
                        Entry{std::move(backend), expires, std::prev(shard.order.end())});
}

std::size_t StickyBackends::size() {
  std::size_t total = 0;
  for (Shard& shard : shards_) {
    const std::lock_guard lock(shard.mutex);
    total += shard.entries.size();
  }
  return total;
}

}  // namespace llm_router::proxy
