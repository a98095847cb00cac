#include "llm_router/server/http_types.hpp"

namespace llm_router::server {

const std::string* find_header(const Headers& headers, std::string_view lowercase_name) {
  for (const auto& h : headers) {
    if (h.name == lowercase_name) return &h.value;
  }
  return nullptr;
}

std::string_view HttpRequest::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

}  // namespace llm_router::server
