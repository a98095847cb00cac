#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "llm_router/server/http_types.hpp"

// HTTP/1.x response framing written by hand: on the proxy's hot path Beast's generic
// serializer cost more CPU than the bytes it frames.
namespace llm_router::server {

struct ResponseFraming {
  unsigned version = 11;  // 10 or 11
  bool keep_alive = true;
  // nullopt: chunked (HTTP/1.1), or the body ends with the connection (HTTP/1.0)
  std::optional<std::size_t> content_length;
};

// Status line, the handler's headers and the framing headers, ending with the blank line.
// Headers whose name or value could break the framing (CR, LF, NUL, an empty or non-token
// name) are dropped, and so are framing headers the handler set (content-length,
// transfer-encoding, connection): the framing decides those.
std::string response_head(int status, const Headers& headers, const ResponseFraming& framing);

// "1a\r\n": the size line of a chunk of `size` bytes.
std::string chunk_size_line(std::size_t size);

inline constexpr std::string_view kChunkEnd = "\r\n";
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

std::string_view reason_phrase(int status);

// Now as an HTTP date ("Mon, 30 Nov 2026 07:10:00 GMT"); valid until the thread's next call.
std::string_view http_date();

}  // namespace llm_router::server
