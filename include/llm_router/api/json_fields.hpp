#pragma once

#include <nlohmann/json.hpp>

#include <string_view>

namespace llm_router::api {

// The string value of `object[key]`, or "" when `object` is not an object or the member is
// missing or not a string. Never throws (json::value() does on a member of another type, and
// request and answer bodies are untrusted).
inline std::string_view string_field(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return {};
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return {};
  return it->get_ref<const std::string&>();
}

}  // namespace llm_router::api
