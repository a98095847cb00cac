#include "llm_router/selector/request_facts.hpp"

#include <algorithm>

#include "llm_router/config/routes.hpp"
#include "llm_router/selector/rng.hpp"

namespace llm_router::selector {

std::optional<std::string_view> RequestFacts::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::string_view trimmed(std::string_view text) {
  const std::size_t first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

bool RequestFacts::keyword_hit(std::string_view name) const {
  return std::find(keyword_hits.begin(), keyword_hits.end(), name) != keyword_hits.end();
}

double RequestFacts::semantic_score(std::string_view name) const {
  const auto it = semantic_scores.find(name);
  return it == semantic_scores.end() ? 0.0 : it->second;
}

std::pair<std::string, std::string> key_text(const config::HashKey& key,
                                             const RequestFacts& facts) {
  using Source = config::HashKey::Source;
  switch (key.source) {
    case Source::user:
      return {facts.user, "user"};
    case Source::header:
      return {std::string(facts.header(key.name).value_or("")), "header " + key.name};
    case Source::metadata: {
      if (!facts.metadata.is_object()) return {"", "metadata " + key.name};
      const auto it = facts.metadata.find(key.name);
      std::string text = it == facts.metadata.end() ? ""
                         : it->is_string()          ? it->get<std::string>()
                                                    : it->dump();
      return {std::move(text), "metadata " + key.name};
    }
    case Source::session:
      break;
  }
  return {facts.session_key, "session"};
}

std::string session_key_of(std::span<const std::string_view> first_messages) {
  std::uint64_t h = 0;
  for (std::string_view text : first_messages) h = text_hash64(text.data(), text.size(), h);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) hex[static_cast<std::size_t>(i)] = kDigits[h & 0xF];
  return hex;
}

}  // namespace llm_router::selector
