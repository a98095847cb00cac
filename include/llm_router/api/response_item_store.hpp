#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

namespace llm_router::api {

struct ResponseItemLimits {
  std::size_t items = 20000;
  std::size_t bytes = std::size_t{32} << 20;  // of the items' JSON text, all together
  std::size_t item_bytes = std::size_t{1} << 20;
};

// The output items (messages, function calls, reasoning) of the Responses this router sent,
// kept a while by id: a client that refers to one instead of repeating it (`{"type":
// "item_reference", "id": "msg_..."}`, as the Vercel AI SDK does for earlier assistant turns
// unless `store: false`) gets it back. Each item belongs to the client that was answered (its
// key's id, "" without a key) and only that client finds it. In memory and per process, bounded
// in items and bytes; over the bytes bound the client holding the most bytes loses its oldest
// item first, over the items bound the client holding the most items (one client's traffic
// does not push out everyone else's). Shared by the io threads.
class ResponseItemStore {
 public:
  using Limits = ResponseItemLimits;
  explicit ResponseItemStore(Limits limits = {}) : limits_(limits) {}

  // Keeps the items of a Response's `output` array that carry an id (none larger than
  // limits().item_bytes).
  void remember(const nlohmann::json& output, std::string_view owner);
  std::optional<nlohmann::json> find(std::string_view id, std::string_view owner) const;
  const Limits& limits() const { return limits_; }

 private:
  struct Kept {
    std::string text;  // the item's JSON: its size is what it costs
    std::string owner;
    std::size_t cost() const { return text.size() + owner.size(); }
  };
  struct Share {
    std::deque<std::string> ids;  // oldest first
    std::size_t bytes = 0;
  };
  void forget(const std::string& id);
  // The owner's share after an item of `cost` bytes came (+1 item) or went (-1 item).
  void account(const std::string& owner, std::size_t cost, bool added);
  void drop_oldest_of(const std::string& owner);

  Limits limits_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Kept> items_;
  std::unordered_map<std::string, Share> shares_;           // by owner
  std::set<std::pair<std::size_t, std::string>> by_bytes_;  // (bytes, owner), largest last
  std::set<std::pair<std::size_t, std::string>> by_items_;  // (items, owner), most last
  std::size_t bytes_ = 0;
};

// Where a Responses request's item references are looked up: the store and who is asking.
struct ItemSource {
  const ResponseItemStore* store = nullptr;
  std::string_view owner;
};

}  // namespace llm_router::api
