#include "simple_request.hpp"

#include <algorithm>
#include <cstring>

#include "llm_router/core/http_syntax.hpp"

namespace llm_router::server {
namespace {

using namespace core::http;  // the grammar of the head

// Visible ASCII: what a request target holds (Beast also takes obs-text: such targets go to it).
bool is_visible_ascii(std::string_view text) {
  for (const char c : text) {
    if (c <= 0x20 || c >= 0x7F) return false;
  }
  return !text.empty();
}

// "METHOD SP target SP HTTP/1.x".
bool scan_request_line(std::string_view line, SimpleRequest& out) {
  const std::size_t first_space = line.find(' ');
  if (first_space == std::string_view::npos) return false;
  out.method = line.substr(0, first_space);
  line.remove_prefix(first_space + 1);
  const std::size_t second_space = line.find(' ');
  if (second_space == std::string_view::npos) return false;
  out.target = line.substr(0, second_space);
  const std::string_view version = line.substr(second_space + 1);
  if (version == "HTTP/1.1") {
    out.version = 11;
  } else if (version == "HTTP/1.0") {
    out.version = 10;
  } else {
    return false;
  }
  return is_token(out.method) && is_visible_ascii(out.target);
}

struct Connection {
  bool close = false;
  bool keep_alive = false;
};

// The fields that change how the request is framed or the connection kept. Only their plainest
// forms are taken here; Beast reads the rest (and refuses what it must).
bool scan_framing_field(std::string_view name, std::string_view value, SimpleRequest& out,
                        Connection& connection) {
  switch (name.size()) {
    case 7:
      return !is_name(name, "upgrade");
    case 10:
      if (!is_name(name, "connection")) return true;
      connection.close = connection.close || is_name(value, "close");
      connection.keep_alive = connection.keep_alive || is_name(value, "keep-alive");
      return is_name(value, "close") || is_name(value, "keep-alive");
    case 14: {
      if (!is_name(name, "content-length")) return true;
      const bool plain = !out.has_content_length && !value.empty() && value.size() <= 18 &&
                         value.find_first_not_of("0123456789") == std::string_view::npos;
      if (!plain) return false;
      for (const char c : value) out.content_length = out.content_length * 10 + (c - '0');
      out.has_content_length = true;
      return true;
    }
    case 16:
      return !is_name(name, "proxy-connection");
    case 17:
      return !is_name(name, "transfer-encoding");
    default:
      return true;
  }
}

// The next line from `at`, which must end in CRLF; false when none does before `limit`.
bool next_line(std::string_view bytes, std::size_t& at, std::size_t limit, std::string_view& line) {
  const std::size_t search_end = std::min(bytes.size(), limit);
  if (at >= search_end) return false;
  const void* lf = std::memchr(bytes.data() + at, '\n', search_end - at);
  if (lf == nullptr) return false;
  const auto end = static_cast<std::size_t>(static_cast<const char*>(lf) - bytes.data());
  if (end == at || bytes[end - 1] != '\r') return false;
  line = bytes.substr(at, end - 1 - at);
  at = end + 1;
  return true;
}

}  // namespace

bool scan_simple_request(std::string_view bytes, const SimpleRequestLimits& limits,
                         SimpleRequest& out) {
  // Beast takes a head of up to its limit, the blank line included: one byte less is surely in.
  const std::size_t head_limit = limits.head_bytes > 0 ? limits.head_bytes - 1 : 0;
  std::size_t at = 0;
  std::string_view line;
  if (!next_line(bytes, at, head_limit, line) || !scan_request_line(line, out)) return false;
  Connection connection;
  out.field_count = 0;
  out.content_length = 0;
  out.has_content_length = false;
  while (true) {
    if (!next_line(bytes, at, head_limit, line)) return false;
    if (line.empty()) break;
    if (out.field_count == SimpleRequest::kMaxFields) return false;
    SimpleRequest::Field& field = out.fields[out.field_count++];
    if (split_field_line(line, field.name, field.value) != nullptr ||
        !scan_framing_field(field.name, field.value, out, connection)) {
      return false;
    }
  }
  out.head_bytes = at;
  if (out.content_length > limits.body_bytes || bytes.size() - at < out.content_length) {
    return false;
  }
  out.body = bytes.substr(at, static_cast<std::size_t>(out.content_length));
  out.keep_alive = out.version >= 11 ? !connection.close : connection.keep_alive;
  return true;
}

}  // namespace llm_router::server
