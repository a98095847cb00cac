#include "llm_router/proxy/sticky_backends.hpp"

namespace llm_router::proxy {

std::string StickyBackends::id_of(std::string_view route, std::string_view key) {
  std::string id(route);
  id += '\0';  // route names hold no NUL: "a" + "\0b" and "a\0" + "b" stay apart
  id += key;
  return id;
}

std::optional<std::string> StickyBackends::find(std::string_view route, std::string_view key,
                                                Clock::time_point now) {
  const std::lock_guard lock(mutex_);
  const auto it = entries_.find(id_of(route, key));
  if (it == entries_.end()) return std::nullopt;
  if (it->second.expires <= now) {
    order_.erase(it->second.age);
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.backend;
}

void StickyBackends::remember(std::string_view route, std::string_view key, std::string backend,
                              Clock::time_point expires) {
  std::string id = id_of(route, key);
  const std::lock_guard lock(mutex_);
  if (const auto it = entries_.find(id); it != entries_.end()) {
    it->second.backend = std::move(backend);
    it->second.expires = expires;
    order_.splice(order_.end(), order_, it->second.age);
    return;
  }
  if (entries_.size() >= capacity_ && !order_.empty()) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
  order_.push_back(id);
  entries_.emplace(std::move(id), Entry{std::move(backend), expires, std::prev(order_.end())});
}

std::size_t StickyBackends::size() {
  const std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace llm_router::proxy
