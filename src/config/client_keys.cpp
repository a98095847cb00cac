#include "llm_router/config/client_keys.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "llm_router/core/sha256.hpp"

namespace llm_router::config {

namespace {

bool is_sha256_hex(const std::string& text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](unsigned char c) {
           return std::isdigit(c) || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

ClientKey read_client_key(NodeReader reader) {
  ClientKey k;
  k.name = reader.string("name", true).value_or("");
  check_name(reader, k.name);
  const auto key = reader.string("key");
  auto digest = reader.string("key_sha256");
  if (key.has_value() == digest.has_value()) {
    reader.error("key", "give either key (the secret, e.g. \"${TEAM_A_KEY}\") or key_sha256");
  } else if (key && key->empty()) {
    reader.error("key", "is empty (an unset variable?)");
  } else if (key) {
    k.key_sha256 = core::sha256_hex(*key);
  } else {
    std::transform(digest->begin(), digest->end(), digest->begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (is_sha256_hex(*digest)) {
      k.key_sha256 = *digest;
    } else {
      reader.error("key_sha256", "must be 64 hex digits (sha256sum of the key)");
    }
  }
  k.rpm = reader.integer("rpm", 0, 1'000'000'000).value_or(0);
  k.tpm = reader.integer("tpm", 0, 1'000'000'000'000).value_or(0);
  reader.finish();
  return k;
}

void validate_client_keys(NodeReader& root, const YAML::Node& list,
                          const std::vector<ClientKey>& keys) {
  std::set<std::string> names;
  std::set<std::string> digests;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto& k = keys[i];
    const std::string path = "client_keys[" + std::to_string(i) + "]";
    if (!k.name.empty() && !names.insert(k.name).second) {
      root.error_at(list[i]["name"], path + ".name", "duplicate client key name '" + k.name + "'");
    }
    if (!k.key_sha256.empty() && !digests.insert(k.key_sha256).second) {
      root.error_at(list[i], path, "the same key as an earlier entry");
    }
  }
}

}  // namespace llm_router::config
