#include "client_key.hpp"

#include <openssl/evp.h>

#include <string_view>

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

}  // namespace

std::string client_key_id(const server::HttpRequest& request) {
  const std::string_view key = presented_key(request);
  if (key.empty()) return {};
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

}  // namespace llm_router::proxy
