#include "llm_router/server/response_head.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "llm_router/core/http_syntax.hpp"

namespace llm_router::server {
namespace {

using core::http::kTokenChars;

#if defined(__SSE2__)
// The 16 bytes at p, as a vector (a head has ~15 headers of ~40 bytes: checked a byte at a
// time they cost a proxied request ~2k instructions).
__m128i load16(const char* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

// 0xFF where a byte is within [lo, hi] (both ASCII; bytes >= 0x80 are never within).
__m128i in_range(__m128i bytes, char lo, char hi) {
  return _mm_and_si128(_mm_cmpgt_epi8(bytes, _mm_set1_epi8(static_cast<char>(lo - 1))),
                       _mm_cmplt_epi8(bytes, _mm_set1_epi8(static_cast<char>(hi + 1))));
}

// Whether every byte of `text` (16 or more bytes) passes `check`, 16 at a time; the last block
// overlaps the one before instead of leaving a tail.
template <class Check>
bool all_blocks(std::string_view text, Check check) {
  for (std::size_t i = 0; i + 16 < text.size(); i += 16) {
    if (!check(load16(text.data() + i))) return false;
  }
  return check(load16(text.data() + text.size() - 16));
}
#endif

// No CR, LF or NUL in a value (they would end the head or the line early), no other control
// either but for HTAB (RFC 9110 field-value).
bool safe_value(std::string_view value) {
#if defined(__SSE2__)
  if (value.size() >= 16) {
    return all_blocks(value, [](__m128i bytes) {
      const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(bytes, _mm_set1_epi8(0x1F)), bytes);
      const __m128i tab = _mm_cmpeq_epi8(bytes, _mm_set1_epi8('\t'));
      return _mm_movemask_epi8(_mm_andnot_si128(tab, control)) == 0;
    });
  }
#endif
  unsigned bad = 0;
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    bad |= static_cast<unsigned>(byte < 0x20) & static_cast<unsigned>(byte != '\t');
  }
  return bad == 0;
}

bool is_token(std::string_view name) {
#if defined(__SSE2__)
  // Names as they usually are (lower-case letters, digits, '-') pass 16 bytes at a time;
  // anything else is left to the table.
  if (name.size() >= 16 && all_blocks(name, [](__m128i bytes) {
        const __m128i usual =
            _mm_or_si128(_mm_or_si128(in_range(bytes, 'a', 'z'), in_range(bytes, '0', '9')),
                         _mm_cmpeq_epi8(bytes, _mm_set1_epi8('-')));
        return _mm_movemask_epi8(usual) == 0xFFFF;
      })) {
    return true;
  }
#endif
  bool token = true;
  for (char c : name) token &= kTokenChars[static_cast<unsigned char>(c)];
  return token;
}

bool safe_header(const Header& h) {
  return !h.name.empty() && is_token(h.name) && safe_value(h.value);
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
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
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

namespace {

// Appends to a string sized in advance: the head is measured first and written with plain
// copies (a std::string::append per piece showed in profiles).
class HeadWriter {
 public:
  explicit HeadWriter(std::string& out) : at_(out.data()) {}
  HeadWriter& operator<<(std::string_view piece) {
    if (piece.empty()) return *this;  // an empty view may hold a null pointer: no memcpy
    std::memcpy(at_, piece.data(), piece.size());
    at_ += piece.size();
    return *this;
  }

 private:
  char* at_;
};

// "date: Mon, 30 Nov 2026 07:10:00 GMT\r\n" for now (RFC 9110 section 6.6.1: an origin with a
// clock sends it), formatted once a second per thread, without the locale strftime reads.
std::string_view date_line() {
  struct Cached {
    std::time_t second = -1;
    std::array<char, 40> text{};
    std::size_t size = 0;
  };
  thread_local Cached cached;
  const std::time_t now = std::time(nullptr);
  if (now == cached.second) return {cached.text.data(), cached.size};
  static constexpr std::string_view kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm utc{};
  gmtime_r(&now, &utc);
  const int written = std::snprintf(
      cached.text.data(), cached.text.size(), "date: %.3s, %02d %.3s %04d %02d:%02d:%02d GMT\r\n",
      kDays[utc.tm_wday % 7].data(), utc.tm_mday, kMonths[utc.tm_mon % 12].data(),
      utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
  cached.size = written > 0 ? static_cast<std::size_t>(written) : 0;
  cached.second = now;
  return {cached.text.data(), cached.size};
}

}  // namespace

std::string_view http_date() {
  const std::string_view line = date_line();
  return line.size() > 8 ? line.substr(6, line.size() - 8) : std::string_view();
}

namespace {

std::string_view decimal(std::size_t value, std::array<char, 24>& digits) {
  const auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), value);
  (void)ec;
  return {digits.data(), static_cast<std::size_t>(end - digits.data())};
}

}  // namespace

std::string response_head(int status, const Headers& headers, const ResponseFraming& framing) {
  std::array<char, 24> status_digits, length_digits;
  const std::string_view version = framing.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  const std::string_view code =
      decimal(static_cast<std::size_t>(status < 100 || status > 999 ? 500 : status), status_digits);
  const std::string_view reason = reason_phrase(status);
  std::string_view length_line, length_value, encoding_line, connection_line;
  if (framing.content_length) {
    length_line = "content-length: ";
    length_value = decimal(*framing.content_length, length_digits);
  } else if (framing.version == 11) {
    encoding_line = "transfer-encoding: chunked\r\n";
  }  // HTTP/1.0: the body ends when the connection closes
  if (!framing.keep_alive) {
    connection_line = "connection: close\r\n";
  } else if (framing.version == 10) {
    connection_line = "connection: keep-alive\r\n";
  }

  // Which headers are written, decided once (a mask for up to 64, as every real response has).
  const auto written = [&](std::size_t i) {
    return !is_framing_header(headers[i].name) && safe_header(headers[i]);
  };
  std::uint64_t mask = 0;
  std::size_t size = version.size() + code.size() + 1 + reason.size() + 2;
  bool has_date = false;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (!written(i)) continue;
    if (i < 64) mask |= std::uint64_t{1} << i;
    size += headers[i].name.size() + headers[i].value.size() + 4;
    has_date = has_date || headers[i].name == "date";
  }
  const std::string_view date = has_date ? std::string_view() : date_line();
  size += date.size();
  if (!length_line.empty()) size += length_line.size() + length_value.size() + 2;
  size += encoding_line.size() + connection_line.size() + 2;

  std::string head(size, '\0');
  HeadWriter out(head);
  out << version << code << " " << reason << "\r\n" << date;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (i < 64 ? (mask >> i & 1) == 0 : !written(i)) continue;
    out << headers[i].name << ": " << headers[i].value << "\r\n";
  }
  if (!length_line.empty()) out << length_line << length_value << "\r\n";
  out << encoding_line << connection_line << "\r\n";
  return head;
}

std::string chunk_size_line(std::size_t size) {
  std::string line;
  append_number(line, size, 16);
  line += "\r\n";
  return line;
}

}  // namespace llm_router::server
