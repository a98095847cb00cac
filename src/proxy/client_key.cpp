#include "client_key.hpp"

#include <openssl/evp.h>

#include <array>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace llm_router::proxy {
namespace {

std::string_view presented_key(const server::HttpRequest& request) {
  if (const auto* auth = request.header("authorization")) {
    std::string_view value = *auth;
    constexpr std::string_view kBearer = "Bearer ";
    if (value.size() > kBearer.size() && value.substr(0, kBearer.size()) == kBearer) {
      return value.substr(kBearer.size());
    }
  }
  if (const auto* key = request.header("x-api-key")) return *key;
  return {};
}

std::string digest_id(std::string_view key) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(key.data(), key.size(), digest, &length, EVP_sha256(), nullptr) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "key-";
  for (int i = 0; i < 6; ++i) {
    id += kHex[digest[i] >> 4];
    id += kHex[digest[i] & 15];
  }
  return id;
}

// Clients send the same few keys over and over: the last ones seen on this thread skip the
// digest (SHA-256 through EVP costs more than the rest of the request's bookkeeping). Only a
// 64-bit hash of each key is kept, never the key.
struct RecentKeys {
  static constexpr std::size_t kSize = 4;
  std::array<std::pair<std::size_t, std::string>, kSize> entries;  // hash of the key -> id
  std::size_t next = 0;

  const std::string& id_for(std::string_view key) {
    const std::size_t hash = std::hash<std::string_view>{}(key);
    for (const auto& [seen, id] : entries) {
      if (!id.empty() && seen == hash) return id;
    }
    auto& slot = entries[next++ % kSize];
    slot = {hash, digest_id(key)};
    return slot.second;
  }
};

}  // namespace

std::string client_key_id(const server::HttpRequest& request) {
  const std::string_view key = presented_key(request);
  if (key.empty()) return {};
  thread_local RecentKeys recent;
  return recent.id_for(key);
}

}  // namespace llm_router::proxy
