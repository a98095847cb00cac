#include "llm_router/core/request_id.hpp"

#include <algorithm>
#include <cstdint>
#include <random>

namespace llm_router::core {

std::string new_request_id() {
  static constexpr char kHex[] = "0123456789abcdef";
  thread_local std::mt19937_64 engine{std::random_device{}()};
  char id[20] = {'r', 'e', 'q', '-'};
  std::uint64_t bits = engine();
  for (int i = 4; i < 20; ++i, bits >>= 4) id[i] = kHex[bits & 15];
  return std::string(id, sizeof id);
}

bool acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  // Visible ASCII, but nothing that would need quoting as a logfmt value in the access line
  // (`request_id=...`): quotes, backslashes, `=`.
  return std::all_of(id.begin(), id.end(), [](char c) {
    return c > 32 && c < 127 && c != '"' && c != '\\' && c != '=' && c != '\'' && c != '`';
  });
}

}  // namespace llm_router::core
