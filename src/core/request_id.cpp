#include "llm_router/core/request_id.hpp"

#include <algorithm>
#include <cstdint>
#include <random>

namespace llm_router::core {

std::string new_request_id() {
  static constexpr char kHex[] = "0123456789abcdef";
  thread_local std::mt19937_64 engine{std::random_device{}()};
  std::string id = "req-";
  std::uint64_t bits = engine();
  for (int i = 0; i < 16; ++i, bits >>= 4) id += kHex[bits & 15];
  return id;
}

bool acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) { return c > 32 && c < 127; });
}

}  // namespace llm_router::core
