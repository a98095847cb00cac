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
  // The absolute form ("POST http://host/v1/chat/completions", as sent to a proxy) names the
  // same path as the origin form.
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (t.size() > scheme.size() && t.substr(0, scheme.size()) == scheme) {
      const std::size_t slash = t.find('/', scheme.size());
      t = slash == std::string_view::npos ? std::string_view("/") : t.substr(slash);
      break;
    }
  }
  return t.substr(0, t.find('?'));
}

}  // namespace llm_router::server
