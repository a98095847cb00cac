#include "llm_router/config/client_keys.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <string_view>

#include "llm_router/core/sha256.hpp"

namespace llm_router::config {

namespace {

constexpr std::string_view kEmptyKeyDigest =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// What a header value can carry: no surrounding spaces (HTTP strips them), no control bytes.
bool sendable(const std::string& key) {
  const auto control = [](unsigned char c) { return c < 0x20 || c == 0x7f; };
  return key.front() != ' ' && key.back() != ' ' && std::none_of(key.begin(), key.end(), control);
}

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
  // Stats name keys nobody configured `key-<hash>` and the overflow `(other)`.
  if (k.name.starts_with("key-") || k.name.starts_with("(")) {
    reader.error("name",
                 "may not begin with 'key-' or '(': the stats use such names for keys "
                 "not configured and for the rest");
  }
  const auto key = reader.string("key");
  auto digest = reader.string("key_sha256");
  // (A key of the wrong type was reported as such: it counts as given.)
  const bool key_given = key.has_value() || reader.has("key");
  const bool digest_given = digest.has_value() || reader.has("key_sha256");
  if (key_given == digest_given) {
    reader.error("key", "give either key (the secret, e.g. \"${TEAM_A_KEY}\") or key_sha256");
  } else if (key && key->empty()) {
    reader.error("key", "is empty (an unset variable?)");
  } else if (key && !sendable(*key)) {
    reader.error("key",
                 "begins or ends with a space, or holds a control character: no HTTP "
                 "client can send it as it is");
  } else if (key) {
    k.key_sha256 = core::sha256_hex(*key);
  } else {
    std::transform(digest->begin(), digest->end(), digest->begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (*digest == kEmptyKeyDigest) {
      reader.error("key_sha256", "is the SHA-256 of an empty key, which no client can send");
    } else if (is_sha256_hex(*digest)) {
      k.key_sha256 = *digest;
    } else {
      reader.error("key_sha256", "must be 64 hex digits (sha256sum of the key)");
    }
  }
  k.rpm = reader.integer("rpm", 0, 1'000'000'000).value_or(0);
  k.tpm = reader.integer("tpm", 0, 1'000'000'000'000).value_or(0);
  k.models = reader.string_list("models").value_or(std::vector<std::string>{});
  if (reader.has("models") && reader.raw("models").IsSequence() && k.models.empty()) {
    reader.error("models", "is empty: that key could name no model (remove it to allow all)");
  }
  reader.finish();
  return k;
}

void validate_client_keys(NodeReader& root, const YAML::Node& list,
                          const std::vector<ClientKey>& keys,
                          const std::set<std::string, std::less<>>& model_names) {
  // An empty list would open the API to anyone: entries commented out, say.
  if (list.IsDefined() && (list.IsNull() || (list.IsSequence() && list.size() == 0))) {
    root.error_at(list, "client_keys",
                  "is empty: that would let any client in; remove the key to mean that");
  }
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
    for (std::size_t m = 0; m < k.models.size(); ++m) {
      if (!model_names.contains(k.models[m])) {
        root.error_at(list[i]["models"][m], path + ".models[" + std::to_string(m) + "]",
                      "unknown model '" + k.models[m] + "' (not a route or backend name)");
      }
    }
  }
}

}  // namespace llm_router::config
