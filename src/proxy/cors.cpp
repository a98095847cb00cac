#include "cors.hpp"

#include <algorithm>

namespace llm_router::proxy {
namespace {

char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Scheme and host of an origin are case-insensitive.
bool same_origin_text(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

// A comma-separated list of header names, as Access-Control-Request-Headers carries them.
bool is_header_name_list(std::string_view value) {
  return !value.empty() && value.size() <= 1024 &&
         std::all_of(value.begin(), value.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == ',' || c == ' ';
         });
}

// "host:port" without the scheme's default port, for comparing an Origin with a Host header.
std::string_view without_default_port(std::string_view authority, bool tls) {
  const std::string_view port = tls ? ":443" : ":80";
  if (authority.ends_with(port)) authority.remove_suffix(port.size());
  return authority;
}

// A media type a browser may send cross-site without a preflight (Fetch standard: the
// CORS-safelisted Content-Type values). Read up to ';' or ',' as browsers do.
bool is_simple_media_type(std::string_view type) {
  std::string media;
  for (char c : type) {
    if (c == ';' || c == ',') break;
    if (c != ' ' && c != '\t') media += ascii_lower(c);
  }
  return media.empty() || media == "text/plain" || media == "application/x-www-form-urlencoded" ||
         media == "multipart/form-data";
}

}  // namespace

std::string cors_allow_origin(const std::vector<std::string>& allowed, std::string_view origin) {
  for (const std::string& entry : allowed) {
    if (entry == "*") return "*";
    if (same_origin_text(entry, origin)) return std::string(origin);
  }
  return {};
}

bool is_cross_site_simple_post(const server::HttpRequest& request, std::string_view allow_origin) {
  const std::string* origin = request.header("origin");
  if (origin == nullptr || request.method != "POST" || !allow_origin.empty()) return false;
  // The router's own pages (the dashboard) are same-origin: "scheme://" + the Host header.
  const std::string* host = request.header("host");
  const std::size_t scheme_end = origin->find("://");
  if (host != nullptr && scheme_end != std::string::npos) {
    const bool tls = same_origin_text(std::string_view(*origin).substr(0, scheme_end), "https");
    if (same_origin_text(
            without_default_port(std::string_view(*origin).substr(scheme_end + 3), tls),
            without_default_port(*host, tls))) {
      return false;
    }
  }
  bool typed = false;
  for (const auto& header : request.headers) {
    if (header.name != "content-type") continue;
    typed = true;
    if (is_simple_media_type(header.value)) return true;  // any of several counts
  }
  return !typed;
}

namespace {

// The host of a Host header or an origin's authority, lowercased, without its port or a
// trailing dot.
std::string host_name(std::string_view host) {
  if (!host.starts_with('[')) {  // not an IPv6 literal: a port follows the last ':'
    if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
      host = host.substr(0, colon);
    }
  }
  if (host.ends_with('.')) host.remove_suffix(1);
  std::string out(host);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

// A request a browser made for a page of the same origin as the Host it names: what a page on a
// rebound name sends. A browser says so with Sec-Fetch-Site (same-origin), or with an Origin
// whose host is the Host; a same-origin GET carries neither in some browsers, so a browser's
// User-Agent without either counts too. Cross-site requests are CORS's business, and Node's
// fetch (Sec-Fetch-Mode only, no Sec-Fetch-Site, no browser User-Agent) is no browser.
bool same_origin_browser_request(const server::HttpRequest& request, std::string_view host) {
  if (const std::string* site = request.header("sec-fetch-site")) return *site == "same-origin";
  if (const std::string* origin = request.header("origin")) {
    const std::size_t scheme_end = origin->find("://");
    return scheme_end != std::string::npos &&
           host_name(std::string_view(*origin).substr(scheme_end + 3)) == host;
  }
  const std::string* agent = request.header("user-agent");
  return agent != nullptr && agent->starts_with("Mozilla/");
}

// Names no other site can make a browser resolve to this router: IP literals, localhost, and
// single-label names (a container's or a service's name).
bool is_local_name(std::string_view host) {
  if (host.empty() || host.starts_with('[') || host.find('.') == std::string_view::npos) {
    return true;
  }
  if (host == "localhost" || host.ends_with(".localhost")) return true;
  return std::all_of(host.begin(), host.end(),
                     [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

bool listed(const std::vector<std::string>& allowed, std::string_view host) {
  return std::any_of(allowed.begin(), allowed.end(), [&](const std::string& entry) {
    if (entry == "*" || entry == host) return true;
    return entry.starts_with("*.") && host.ends_with(std::string_view(entry).substr(1));
  });
}

}  // namespace

bool is_request_to_unknown_host(const server::HttpRequest& request,
                                const std::vector<std::string>& allowed) {
  const std::string* host = request.header("host");
  if (host == nullptr) return false;
  const std::string name = host_name(*host);
  return !is_local_name(name) && !listed(allowed, name);
}

bool is_browser_request_to_unknown_host(const server::HttpRequest& request,
                                        const std::vector<std::string>& allowed) {
  return is_request_to_unknown_host(request, allowed) &&
         same_origin_browser_request(request, host_name(*request.header("host")));
}

bool is_cors_preflight(const server::HttpRequest& request) {
  return request.method == "OPTIONS" && request.header("origin") != nullptr &&
         request.header("access-control-request-method") != nullptr;
}

server::Headers cors_preflight_headers(const server::HttpRequest& request,
                                       const std::string& allow_origin) {
  // "*" in Access-Control-Allow-Headers does not cover Authorization, so the names the browser
  // asks for are granted one by one.
  const std::string* asked = request.header("access-control-request-headers");
  server::Headers headers{
      {"access-control-allow-origin", allow_origin},
      {"access-control-allow-methods", "GET, POST, OPTIONS"},
      {"access-control-allow-headers",
       asked != nullptr && is_header_name_list(*asked) ? *asked : "authorization, content-type"},
      {"access-control-max-age", "600"},
      {"vary", "origin, access-control-request-headers"},
  };
  return headers;
}

server::Headers CorsWriter::with_cors(server::Headers headers) const {
  headers.push_back({"access-control-allow-origin", allow_origin_});
  // The routing decision (x-llm-router-*), x-request-id and retry-after, readable by the page.
  headers.push_back({"access-control-expose-headers", "*"});
  if (allow_origin_ != "*") headers.push_back({"vary", "origin"});
  return headers;
}

server::asio::awaitable<server::error_code> CorsWriter::send(int status, server::Headers headers,
                                                             std::string body) {
  co_return co_await inner_.send(status, with_cors(std::move(headers)), std::move(body));
}

server::asio::awaitable<server::error_code> CorsWriter::start_stream(int status,
                                                                     server::Headers headers) {
  co_return co_await inner_.start_stream(status, with_cors(std::move(headers)));
}

server::asio::awaitable<server::error_code> CorsWriter::start_stream_with(
    int status, server::Headers headers, std::string_view first_chunk) {
  co_return co_await inner_.start_stream_with(status, with_cors(std::move(headers)), first_chunk);
}

server::asio::awaitable<server::error_code> CorsWriter::write_chunk(std::string_view data) {
  co_return co_await inner_.write_chunk(data);
}

server::asio::awaitable<server::error_code> CorsWriter::finish_stream() {
  co_return co_await inner_.finish_stream();
}

}  // namespace llm_router::proxy
