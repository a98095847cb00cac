#include "llm_router/api/response_item_store.hpp"

#include "llm_router/api/json_parse.hpp"

namespace llm_router::api {

void ResponseItemStore::remember(const nlohmann::json& output, std::string_view owner) {
  if (!output.is_array()) return;
  for (const auto& item : output) {
    const auto id = item.is_object() ? item.find("id") : item.end();
    if (!item.is_object() || id == item.end() || !id->is_string()) continue;
    std::string text = item.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (text.size() > limits_.item_bytes || text.size() > limits_.bytes) continue;
    const std::size_t bytes = text.size() + owner.size();
    std::lock_guard lock(mutex_);
    auto [at, added] = items_.try_emplace(id->get<std::string>());
    if (!added) bytes_ -= at->second.text.size() + at->second.owner.size();
    at->second = Kept{std::move(text), std::string(owner)};
    bytes_ += bytes;
    if (added) order_.push_back(at->first);
    while (items_.size() > limits_.items || bytes_ > limits_.bytes) drop_oldest();
  }
}

void ResponseItemStore::drop_oldest() {
  const auto it = items_.find(order_.front());
  bytes_ -= it->second.text.size() + it->second.owner.size();
  items_.erase(it);
  order_.pop_front();
}

std::optional<nlohmann::json> ResponseItemStore::find(std::string_view id,
                                                      std::string_view owner) const {
  std::string text;
  {
    std::lock_guard lock(mutex_);
    const auto it = items_.find(std::string(id));
    if (it == items_.end() || it->second.owner != owner) return std::nullopt;
    text = it->second.text;
  }
  nlohmann::json item;
  if (!parse_json(text, item).ok) return std::nullopt;  // parsed outside the lock
  return item;
}

}  // namespace llm_router::api
