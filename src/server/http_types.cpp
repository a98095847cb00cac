#include "llm_router/server/http_types.hpp"

#include <cctype>

namespace llm_router::server {

const std::string* find_header(const Headers& headers, std::string_view lowercase_name) {
  for (const auto& h : headers) {
    if (h.name == lowercase_name) return &h.value;
  }
  return nullptr;
}

namespace {

// Whether text starts with the lowercase `prefix` in any case.
bool starts_with_any_case(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

}  // namespace

std::string_view HttpRequest::path() const {
  std::string_view t = target;
  // The absolute form ("POST http://host/v1/chat/completions", as sent to a proxy) names the
  // same path as the origin form; its scheme in any case (RFC 3986 section 3.1).
  if (!t.empty() && t.front() != '/') {
    for (const std::string_view scheme : {"http://", "https://"}) {
      if (t.size() > scheme.size() && starts_with_any_case(t, scheme)) {
        const std::size_t slash = t.find('/', scheme.size());
        t = slash == std::string_view::npos ? std::string_view("/") : t.substr(slash);
        break;
      }
    }
  }
  return t.substr(0, t.find('?'));
}

}  // namespace llm_router::server
