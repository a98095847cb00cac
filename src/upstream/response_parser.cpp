#include "llm_router/upstream/response_parser.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "llm_router/core/http_syntax.hpp"

namespace llm_router::upstream {
namespace {

using namespace core::http;  // the grammar of the head

constexpr std::size_t kNotFound = std::string_view::npos;
// A chunk's size line with its extensions; real ones are a few bytes.
constexpr std::size_t kMaxChunkLine = 4096;

// The header fields the parser acts on.
enum class Field {
  other,
  connection,
  content_length,
  content_type,
  content_encoding,
  transfer_encoding,
  // What only the connection needed, and the backend server's own Date and Server: the router
  // answers with its own (see ResponseHead::headers).
  not_kept,
};

Field field_of(std::string_view name) {
  switch (name.size()) {
    case 4:
      return is_name(name, "date") ? Field::not_kept : Field::other;
    case 6:
      return is_name(name, "server") ? Field::not_kept : Field::other;
    case 10:
      return is_name(name, "connection")   ? Field::connection
             : is_name(name, "keep-alive") ? Field::not_kept
                                           : Field::other;
    case 12:
      return is_name(name, "content-type") ? Field::content_type : Field::other;
    case 14:
      return is_name(name, "content-length") ? Field::content_length : Field::other;
    case 16:
      return is_name(name, "content-encoding")   ? Field::content_encoding
             : is_name(name, "proxy-connection") ? Field::not_kept
                                                 : Field::other;
    case 17:
      return is_name(name, "transfer-encoding") ? Field::transfer_encoding : Field::other;
    default:
      return Field::other;
  }
}

}  // namespace

std::size_t ResponseParser::put(std::string_view input) {
  return state_ == State::head ? put_head(input) : put_body(input);
}

bool ResponseParser::finish_at_eof() {
  if (state_ == State::close_body) state_ = State::done;
  return state_ == State::done;
}

std::size_t ResponseParser::find_head_end(std::string_view input) {
  // Resumed a little before where the last search stopped: its end may have held "\n\r".
  std::size_t from = scanned_ > 2 ? scanned_ - 2 : 0;
  while (from < input.size()) {
    const void* hit = std::memchr(input.data() + from, '\n', input.size() - from);
    if (hit == nullptr) break;
    const auto lf = static_cast<std::size_t>(static_cast<const char*>(hit) - input.data());
    if (lf + 1 < input.size() && input[lf + 1] == '\n') return found(lf + 2);
    if (lf + 2 < input.size() && input[lf + 1] == '\r' && input[lf + 2] == '\n') {
      return found(lf + 3);
    }
    from = lf + 1;
  }
  scanned_ = input.size();
  return kNotFound;
}

std::size_t ResponseParser::find_line_end(std::string_view input, std::size_t limit) {
  const std::size_t from = std::min(scanned_, input.size());
  const void* hit =
      from < input.size() ? std::memchr(input.data() + from, '\n', input.size() - from) : nullptr;
  if (hit == nullptr) {
    scanned_ = input.size();
    if (input.size() > limit) fail("a line longer than " + std::to_string(limit) + " bytes");
    return kNotFound;
  }
  const auto lf = static_cast<std::size_t>(static_cast<const char*>(hit) - input.data());
  if (lf > limit) {
    fail("a line longer than " + std::to_string(limit) + " bytes");
    return kNotFound;
  }
  return found(lf);
}

std::size_t ResponseParser::put_head(std::string_view input) {
  const std::size_t end = find_head_end(input);
  if (end == kNotFound ? input.size() > head_limit_ : end > head_limit_) {
    fail("a response head larger than " + std::to_string(head_limit_) + " bytes");
    return 0;
  }
  if (end == kNotFound || !parse_head(input.substr(0, end))) return 0;
  return end;
}

bool ResponseParser::parse_head(std::string_view head) {
  std::size_t at = head.find('\n');
  if (!parse_status_line(without_cr(head.substr(0, at)))) return false;
  while (true) {
    const std::size_t start = at + 1;
    at = head.find('\n', start);
    const std::string_view line = without_cr(head.substr(start, at - start));
    if (line.empty()) break;  // the blank line that ends the head
    if (!parse_field_line(line)) return false;
  }
  return choose_framing();
}

// "HTTP/1.1 200 OK"; the reason phrase may be empty, its space too.
bool ResponseParser::parse_status_line(std::string_view line) {
  const bool shaped = line.size() >= 12 && line.starts_with("HTTP/1.") && is_digit(line[7]) &&
                      line[8] == ' ' && is_digit(line[9]) && is_digit(line[10]) &&
                      is_digit(line[11]) && (line.size() == 12 || line[12] == ' ');
  if (!shaped || !is_field_text(line)) return fail("a status line that is not HTTP/1.x");
  version_minor_ = line[7] - '0';
  status_ = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  if (status_ < 100) return fail("a status code below 100");
  return true;
}

bool ResponseParser::parse_field_line(std::string_view line) {
  std::string_view name, value;
  if (const char* problem = split_field_line(line, name, value)) return fail(problem);
  switch (field_of(name)) {
    case Field::content_length:
      return take_content_length(value);
    case Field::transfer_encoding:
      has_transfer_encoding_ = true;
      transfer_codings_.append(transfer_codings_.empty() ? "" : ",").append(value);
      return true;
    case Field::connection:
      for_each_element(value, [&](std::string_view option) {
        connection_close_ = connection_close_ || is_name(option, "close");
        connection_keep_alive_ = connection_keep_alive_ || is_name(option, "keep-alive");
        return true;
      });
      return true;
    case Field::not_kept:
      return true;
    case Field::content_type:
      keep(name, value);
      content_type_index_ = headers_.size();
      return true;
    case Field::content_encoding:
      keep(name, value);
      content_encoding_index_ = headers_.size();
      return true;
    case Field::other:
      keep(name, value);
      return true;
  }
  return true;
}

void ResponseParser::keep(std::string_view name, std::string_view value) {
  if (headers_.empty()) headers_.reserve(12);
  headers_.push_back({server::lowercase_name(name), std::string(value)});
}

bool ResponseParser::take_content_length(std::string_view value) {
  const auto length = parse_content_length(value);
  if (!length || (content_length_ && *content_length_ != *length)) {
    return fail("a Content-Length that is not one number");
  }
  content_length_ = length;
  return true;
}

// RFC 9112 section 6.3, as a client: no body after 1xx, 204 and 304; chunked when it is the
// last transfer coding; else Content-Length; else up to the connection's end.
bool ResponseParser::choose_framing() {
  keep_alive_ = !connection_close_ && (version_minor_ >= 1 || connection_keep_alive_);
  if (has_transfer_encoding_ && content_length_) {
    // Two framings at once is how response smuggling starts: neither is trusted.
    return fail("both Transfer-Encoding and Content-Length");
  }
  if (status_ < 200 || status_ == 204 || status_ == 304) {
    state_ = State::done;
    return true;
  }
  if (has_transfer_encoding_) {
    // Only chunked is decoded here (Content-Encoding is the body's compression): any other
    // transfer coding would reach the client as bytes it cannot read.
    std::size_t codings = 0;
    const bool chunked_only = for_each_element(transfer_codings_, [&](std::string_view coding) {
      return ++codings == 1 && is_name(coding, "chunked");
    });
    if (!chunked_only || codings == 0) return fail("a transfer coding other than chunked");
    state_ = State::chunk_size;
    return true;
  }
  if (content_length_) {
    left_ = *content_length_;
    state_ = left_ == 0 ? State::done : State::length_body;
    return true;
  }
  keep_alive_ = false;
  state_ = State::close_body;
  return true;
}

std::size_t ResponseParser::put_body(std::string_view input) {
  std::size_t used = 0;
  while (used < input.size()) {
    const std::string_view rest = input.substr(used);
    std::size_t n = 0;
    switch (state_) {
      case State::length_body:
        n = copy_body(rest, left_);
        left_ -= n;
        if (left_ == 0) state_ = State::done;
        break;
      case State::close_body:
        n = copy_body(rest, rest.size());
        break;
      case State::chunk_size:
        n = put_chunk_size(rest);
        break;
      case State::chunk_data:
        n = copy_body(rest, left_);
        left_ -= n;
        if (left_ == 0) state_ = State::chunk_data_end;
        break;
      case State::chunk_data_end:
        n = put_chunk_data_end(rest);
        break;
      case State::trailers:
        n = put_trailers(rest);
        break;
      case State::head:
      case State::done:
      case State::failed:
        return used;  // bytes after the response are the caller's to judge
    }
    if (n == 0) break;  // more input, more room, or a failure
    used += n;
  }
  return used;
}

std::size_t ResponseParser::copy_body(std::string_view input, std::uint64_t most) {
  const std::size_t n = static_cast<std::size_t>(
      std::min<std::uint64_t>({input.size(), most, static_cast<std::uint64_t>(room_)}));
  if (n == 0) return 0;
  std::memcpy(out_, input.data(), n);
  out_ += n;
  room_ -= n;
  return n;
}

// "1a2;name=value" (extensions are allowed and ignored).
std::size_t ResponseParser::put_chunk_size(std::string_view input) {
  const std::size_t lf = find_line_end(input, kMaxChunkLine);
  if (lf == kNotFound) return 0;
  const std::string_view line = without_cr(input.substr(0, lf));
  std::uint64_t size = 0;
  std::size_t digits = 0;
  for (; digits < line.size(); ++digits) {
    const char c = line[digits];
    const int value = is_digit(c)              ? c - '0'
                      : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                      : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                               : -1;
    if (value < 0) break;
    if (size >> 59 != 0) {
      fail("a chunk size too large");
      return 0;
    }
    size = size * 16 + static_cast<std::uint64_t>(value);
  }
  const std::string_view extensions = trim_spaces(line.substr(digits));
  if (digits == 0 || (!extensions.empty() && extensions.front() != ';') ||
      !is_field_text(extensions)) {
    fail("a chunk size line that is not a hexadecimal size");
    return 0;
  }
  left_ = size;
  state_ = size == 0 ? State::trailers : State::chunk_data;
  return lf + 1;
}

std::size_t ResponseParser::put_chunk_data_end(std::string_view input) {
  if (input[0] == '\n') {
    state_ = State::chunk_size;
    return 1;
  }
  if (input[0] == '\r' && input.size() < 2) return 0;
  if (input[0] != '\r' || input[1] != '\n') {
    fail("a chunk longer than its size");
    return 0;
  }
  state_ = State::chunk_size;
  return 2;
}

std::size_t ResponseParser::put_trailers(std::string_view input) {
  const std::size_t lf = find_line_end(input, head_limit_ - std::min(head_limit_, trailer_bytes_));
  if (lf == kNotFound) return 0;
  trailer_bytes_ += lf + 1;
  const std::string_view line = without_cr(input.substr(0, lf));
  if (line.empty()) {
    state_ = State::done;
    return lf + 1;
  }
  std::string_view name, value;  // checked, not kept: the head has gone to the client
  if (const char* problem = split_field_line(line, name, value)) {
    fail(std::string("a trailer with ") + problem);
    return 0;
  }
  return lf + 1;
}

std::size_t ResponseParser::found(std::size_t position) {
  scanned_ = 0;
  return position;
}

bool ResponseParser::fail(std::string message) {
  state_ = State::failed;
  error_ = std::move(message);
  return false;
}

}  // namespace llm_router::upstream
