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
    shares_[kept.owner].ids.push_back(key);
    bytes_ += kept.cost();
    account(kept.owner, kept.cost(), /*added=*/true);
    while (items_.size() > limits_.items) drop_oldest_of(by_items_.rbegin()->second);
    while (bytes_ > limits_.bytes) drop_oldest_of(by_bytes_.rbegin()->second);
  }
}

void ResponseItemStore::account(const std::string& owner, std::size_t cost, bool added) {
  Share& share = shares_[owner];
  const std::size_t items = share.ids.size();  // already updated by the caller
  const std::size_t old_items = added ? items - 1 : items + 1;
  by_bytes_.erase({share.bytes, owner});
  by_items_.erase({old_items, owner});
  share.bytes = added ? share.bytes + cost : share.bytes - cost;
  if (items == 0) {
    shares_.erase(owner);
    return;
  }
  by_bytes_.emplace(share.bytes, owner);
  by_items_.emplace(items, owner);
}

void ResponseItemStore::forget(const std::string& id) {
  const auto it = items_.find(id);
  const std::string owner = it->second.owner;
  const std::size_t cost = it->second.cost();
  std::erase(shares_[owner].ids, id);  // rare (an id seen twice): a walk over one owner's ids
  bytes_ -= cost;
  items_.erase(it);
  account(owner, cost, /*added=*/false);
}

void ResponseItemStore::drop_oldest_of(const std::string& owner_name) {
  const std::string owner = owner_name;  // the name may live in the set entry erased below
  Share& share = shares_[owner];
  const std::string id = std::move(share.ids.front());
  share.ids.pop_front();
  const auto it = items_.find(id);
  const std::size_t cost = it->second.cost();
  bytes_ -= cost;
  items_.erase(it);
  account(owner, cost, /*added=*/false);
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
