#include "llm_router/server/response_head.hpp"

#include <charconv>

namespace llm_router::server {
namespace {

bool is_token_char(char c) {
  if (c >= 'a' && c <= 'z') return true;
  if (c >= 'A' && c <= 'Z') return true;
  if (c >= '0' && c <= '9') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool safe_header(const Header& h) {
  if (h.name.empty()) return false;
  for (char c : h.name) {
    if (!is_token_char(c)) return false;
  }
  for (char c : h.value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

bool is_framing_header(std::string_view lowercase_name) {
  return lowercase_name == "content-length" || lowercase_name == "transfer-encoding" ||
         lowercase_name == "connection";
}

void append_number(std::string& out, std::size_t value, int base = 10) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value, base);
  (void)ec;
  out.append(digits, end);
}

}  // namespace

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 499:
      return "Client Closed Request";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

std::string response_head(int status, const Headers& headers, const ResponseFraming& framing) {
  std::string head;
  head.reserve(128 + headers.size() * 48);
  head += framing.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  append_number(head, static_cast<std::size_t>(status < 100 || status > 999 ? 500 : status));
  head += ' ';
  head += reason_phrase(status);
  head += "\r\n";
  for (const auto& h : headers) {
    if (is_framing_header(h.name) || !safe_header(h)) continue;
    head += h.name;
    head += ": ";
    head += h.value;
    head += "\r\n";
  }
  if (framing.content_length) {
    head += "content-length: ";
    append_number(head, *framing.content_length);
    head += "\r\n";
  } else if (framing.version == 11) {
    head += "transfer-encoding: chunked\r\n";
  }  // HTTP/1.0: the body ends when the connection closes
  if (!framing.keep_alive) {
    head += "connection: close\r\n";
  } else if (framing.version == 10) {
    head += "connection: keep-alive\r\n";
  }
  head += "\r\n";
  return head;
}

std::string chunk_size_line(std::size_t size) {
  std::string line;
  append_number(line, size, 16);
  line += "\r\n";
  return line;
}

}  // namespace llm_router::server
