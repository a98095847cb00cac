#include "llm_router/api/response_item_store.hpp"

namespace llm_router::api {

void ResponseItemStore::remember(const nlohmann::json& output) {
  if (!output.is_array()) return;
  for (const auto& item : output) {
    const auto id = item.is_object() ? item.find("id") : item.end();
    if (!item.is_object() || id == item.end() || !id->is_string()) continue;
    const std::size_t bytes =
        item.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size();
    if (bytes > limits_.bytes) continue;
    std::lock_guard lock(mutex_);
    auto [at, added] = items_.try_emplace(id->get<std::string>());
    if (!added) bytes_ -= at->second.bytes;
    at->second = Kept{item, bytes};
    bytes_ += bytes;
    if (added) order_.push_back(at->first);
    while (items_.size() > limits_.items || bytes_ > limits_.bytes) drop_oldest();
  }
}

void ResponseItemStore::drop_oldest() {
  const auto it = items_.find(order_.front());
  bytes_ -= it->second.bytes;
  items_.erase(it);
  order_.pop_front();
}

std::optional<nlohmann::json> ResponseItemStore::find(std::string_view id) const {
  std::lock_guard lock(mutex_);
  const auto it = items_.find(std::string(id));
  if (it == items_.end()) return std::nullopt;
  return it->second.item;
}

}  // namespace llm_router::api
