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
    const std::string& key = id->get_ref<const std::string&>();
    std::lock_guard lock(mutex_);
    if (items_.contains(key)) forget(key);  // the same id again: kept anew, as the newest
    const Kept& kept = items_[key] = Kept{std::move(text), std::string(owner)};
    Share& share = shares_[kept.owner];
    share.ids.push_back(key);
    charge(kept.owner, share.bytes, share.bytes + kept.cost());
    bytes_ += kept.cost();
    while (items_.size() > limits_.items || bytes_ > limits_.bytes) drop_from_largest_share();
  }
}

// Accounts for an owner's share moving from old_bytes to new_bytes (an empty share goes).
void ResponseItemStore::charge(const std::string& owner, std::size_t old_bytes,
                               std::size_t new_bytes) {
  by_bytes_.erase({old_bytes, owner});
  if (new_bytes > 0) {
    by_bytes_.emplace(new_bytes, owner);
    shares_[owner].bytes = new_bytes;
  } else {
    shares_.erase(owner);
  }
}

void ResponseItemStore::forget(const std::string& id) {
  const auto it = items_.find(id);
  const std::string owner = it->second.owner;
  const std::size_t cost = it->second.cost();
  Share& share = shares_[owner];
  std::erase(share.ids, id);  // rare (an id seen twice): a walk over one owner's ids
  bytes_ -= cost;
  items_.erase(it);
  charge(owner, share.bytes, share.bytes - cost);
}

void ResponseItemStore::drop_from_largest_share() {
  const std::string owner = by_bytes_.rbegin()->second;
  Share& share = shares_[owner];
  const std::string id = std::move(share.ids.front());
  share.ids.pop_front();
  const auto it = items_.find(id);
  const std::size_t cost = it->second.cost();
  bytes_ -= cost;
  items_.erase(it);
  charge(owner, share.bytes, share.bytes - cost);
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
