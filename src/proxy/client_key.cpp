#include "client_key.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "llm_router/core/sha256.hpp"

namespace llm_router::proxy {

std::string_view key_header(const server::HttpRequest& request) {
  if (const auto* auth = request.header("authorization")) {
    constexpr std::string_view kBearer = "bearer ";  // the scheme's case does not matter
    if (auth->size() > kBearer.size() &&
        std::equal(kBearer.begin(), kBearer.end(), auth->begin(),
                   [](char a, char b) { return a == (b | 0x20); })) {
      return "authorization";
    }
  }
  for (const std::string_view name : server::kApiKeyHeaders) {
    if (name == "authorization") continue;  // only as a Bearer token, above
    if (request.header(name) != nullptr) return name;
  }
  return {};
}

namespace {

std::string_view presented_key(const server::HttpRequest& request) {
  const std::string_view header = key_header(request);
  if (header.empty()) return {};
  std::string_view value = *request.header(header);
  if (header == "authorization") {
    value.remove_prefix(std::string_view("bearer ").size());
    while (value.starts_with(' ')) value.remove_prefix(1);
  }
  return value;
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

// The same for the full digest that authenticates: the last keys presented on this thread,
// compared in constant time (a key's bytes never decide how long a comparison takes).
struct RecentDigests {
  static constexpr std::size_t kSize = 4;
  std::array<std::pair<std::string, std::string>, kSize> entries;  // key -> sha256 hex
  std::size_t next = 0;

  const std::string& digest_for(std::string_view key) {
    for (const auto& [seen, digest] : entries) {
      if (!digest.empty() && seen.size() == key.size() &&
          CRYPTO_memcmp(seen.data(), key.data(), key.size()) == 0) {
        return digest;
      }
    }
    auto& slot = entries[next++ % kSize];
    slot = {std::string(key), core::sha256_hex(key)};
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

const ClientEntry* find_client(const server::HttpRequest& request, const Snapshot& snapshot) {
  if (snapshot.clients.empty()) return nullptr;
  const std::string_view key = presented_key(request);
  if (key.empty()) return nullptr;
  thread_local RecentDigests recent;
  const auto it = snapshot.clients.find(recent.digest_for(key));
  return it == snapshot.clients.end() ? nullptr : &it->second;
}

std::string client_identity(const server::HttpRequest& request, const Snapshot& snapshot) {
  if (const auto* client = find_client(request, snapshot)) return client->name;
  return client_key_id(request);
}

}  // namespace llm_router::proxy
