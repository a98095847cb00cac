#include <algorithm>

#include "strategies.hpp"

namespace llm_router::selector::strategies {

ConsistentHash::ConsistentHash(const config::Config& config,
                               const std::vector<std::string>& members, config::HashKey key)
    : ring_(members), key_(std::move(key)) {
  for (const auto& name : members) {
    const auto* backend = config.find_backend(name);
    member_backend_.push_back(backend != nullptr
                                  ? static_cast<std::size_t>(backend - config.backends.data())
                                  : config.backends.size());
  }
}

std::vector<PlannedBackend> ConsistentHash::order(const StrategyContext& context,
                                                  std::span<const std::size_t> eligible) const {
  auto [text, label] = key_text(key_, context.facts);
  // Without a key there is nothing to be sticky to: spread at random instead of piling every
  // such request on the owner of hash("").
  const bool keyless = text.empty();
  const std::uint64_t hash = keyless ? context.rng.next() : hash64(text.data(), text.size());
  std::vector<PlannedBackend> out;
  for (std::size_t member : ring_.walk(hash)) {
    const std::size_t index = member_backend_[member];
    if (std::find(eligible.begin(), eligible.end(), index) == eligible.end()) continue;
    const bool owner = out.empty();
    std::string reason = keyless ? "no " + label + " key: random point on the ring"
                         : owner ? "ring owner of " + label
                                 : "next on the ring for " + label;
    out.push_back(planned(context, index, static_cast<double>(eligible.size() - out.size()),
                          std::move(reason)));
  }
  return out;
}

}  // namespace llm_router::selector::strategies
