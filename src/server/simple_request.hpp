#pragma once

// Private to the server. No Asio, no Beast.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace llm_router::server {

// A request head of the plainest shape, already whole in the buffer with all of its body:
// CRLF line ends, HTTP/1.0 or 1.1, no folded lines, no Transfer-Encoding, at most one
// Content-Length of plain digits, no Upgrade. Nearly every client sends exactly that, and
// Beast's parser spends more reading it than the rest of the request's way into the router.
// Anything else is left to Beast's parser: what this scanner takes, Beast takes the same way
// (the fuzz target checks), so neither the accepted requests nor the refusals change.
struct SimpleRequest {
  struct Field {
    std::string_view name;
    std::string_view value;  // without surrounding spaces
  };
  static constexpr std::size_t kMaxFields = 40;

  std::string_view method;
  std::string_view target;
  int version = 11;  // 10 or 11, as Beast reports it
  std::array<Field, kMaxFields> fields;
  std::size_t field_count = 0;
  std::uint64_t content_length = 0;
  bool has_content_length = false;
  bool keep_alive = true;
  std::size_t head_bytes = 0;  // up to the blank line, included
  std::string_view body;
  std::size_t size() const { return head_bytes + body.size(); }
};

struct SimpleRequestLimits {
  std::size_t head_bytes;
  std::uint64_t body_bytes;
};

// Whether `bytes` begin with a whole request of that shape within `limits`; fills `out` when
// they do (its views point into `bytes`).
bool scan_simple_request(std::string_view bytes, const SimpleRequestLimits& limits,
                         SimpleRequest& out);

}  // namespace llm_router::server
