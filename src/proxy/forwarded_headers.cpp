#include "forwarded_headers.hpp"

#include <algorithm>
#include <string>

#include "client_key.hpp"

namespace llm_router::proxy {
namespace {

bool lower_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool all_zeros(std::string_view text) {
  return text.find_first_not_of('0') == std::string_view::npos;
}

// Whether a Connection header of the request lists `lowercase_name` ("Connection: keep-alive,
// X-Secret").
bool named_by_connection(const server::HttpRequest& request, std::string_view lowercase_name) {
  for (const auto& header : request.headers) {
    if (header.name != "connection") continue;
    std::string_view list = header.value;
    while (!list.empty()) {
      const std::size_t comma = std::min(list.find(','), list.size());
      std::string_view listed = list.substr(0, comma);
      list.remove_prefix(std::min(list.size(), comma + 1));
      while (!listed.empty() && (listed.front() == ' ' || listed.front() == '\t')) {
        listed.remove_prefix(1);
      }
      while (!listed.empty() && (listed.back() == ' ' || listed.back() == '\t')) {
        listed.remove_suffix(1);
      }
      if (listed.size() == lowercase_name.size() &&
          server::lowercase_name(listed) == lowercase_name) {
        return true;
      }
    }
  }
  return false;
}

std::size_t count_of(const server::HttpRequest& request, std::string_view name) {
  return static_cast<std::size_t>(
      std::count_if(request.headers.begin(), request.headers.end(),
                    [&](const server::Header& header) { return header.name == name; }));
}

// Every value of a list header, joined by commas, as one line (RFC 9110 5.3).
std::string joined_values(const server::HttpRequest& request, std::string_view name) {
  std::string joined;
  for (const auto& header : request.headers) {
    if (header.name != name || header.value.empty()) continue;
    if (!joined.empty()) joined += ',';
    joined += header.value;
  }
  return joined;
}

}  // namespace

bool valid_traceparent(std::string_view value) {
  // 00-<32 hex>-<16 hex>-<2 hex>
  constexpr std::size_t kLength = 55;
  if (value.size() < kLength || value[2] != '-' || value[35] != '-' || value[52] != '-') {
    return false;
  }
  const std::string_view version = value.substr(0, 2), trace_id = value.substr(3, 32),
                         parent_id = value.substr(36, 16), flags = value.substr(53, 2);
  if (!lower_hex(version) || version == "ff" || !lower_hex(trace_id) || !lower_hex(parent_id) ||
      !lower_hex(flags) || all_zeros(trace_id) || all_zeros(parent_id)) {
    return false;
  }
  if (value.size() == kLength) return true;
  return version != "00" && value[kLength] == '-';
}

void add_forwarded_headers(const server::HttpRequest& request, const config::Backend& backend,
                           server::Headers& out) {
  // (Asked only of headers about to go: most requests carry none of them.)
  const auto passed_on = [&](std::string_view name) { return !named_by_connection(request, name); };
  // A trace's parent travels with its vendor state; two parents, or a malformed one, are none.
  const auto* traceparent = request.header("traceparent");
  if (traceparent != nullptr && count_of(request, "traceparent") == 1 &&
      valid_traceparent(*traceparent) && passed_on("traceparent")) {
    out.push_back({"traceparent", *traceparent});
    if (std::string state = joined_values(request, "tracestate");
        !state.empty() && passed_on("tracestate")) {
      out.push_back({"tracestate", std::move(state)});
    }
  }
  if (!backend.forward_headers.empty()) {
    for (const auto& header : request.headers) {
      if (backend.forwards_header(header.name) && passed_on(header.name)) out.push_back(header);
    }
  }
  // (Whatever Connection says: without it the router's own key would go in its place.)
  if (backend.pass_client_auth) {
    if (const std::string_view name = key_header(request); !name.empty()) {
      out.push_back({std::string(name), *request.header(name)});
    }
  }
}

}  // namespace llm_router::proxy
