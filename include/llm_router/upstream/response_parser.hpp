#pragma once

// The upstream module's HTTP/1.x response framing, for http_provider.cpp and its tests; no Asio,
// no Beast.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "llm_router/server/http_types.hpp"

namespace llm_router::upstream {

// An HTTP/1.x response read as a client reads one (RFC 9112): the status line and header
// fields, then the body framed by chunked transfer coding, by Content-Length or by the
// connection's end. Bytes are handed in as they arrive; put() takes what it can use, writing
// body bytes into a buffer the caller lends, and the caller keeps the rest for the next call.
// Lines may end in CRLF or a bare LF (section 2.2 lets a recipient accept both).
class ResponseParser {
 public:
  static constexpr std::size_t kDefaultHeadLimit = 64 * 1024;

  explicit ResponseParser(std::size_t head_limit = kDefaultHeadLimit) : head_limit_(head_limit) {}

  // Parses from `input` and returns how many of its bytes were used. The head is taken whole
  // (nothing is used until its blank line has arrived), and a call that completes it stops
  // there, so the head can be looked at before any body byte is written. Afterwards body bytes
  // go to the lent buffer until it is full, the input runs out or the body ends.
  std::size_t put(std::string_view input);
  // The connection ended: true when that completes the response (a body read up to the
  // connection's end), false when the response was cut short.
  bool finish_at_eof();

  bool head_done() const { return state_ != State::head && state_ != State::failed; }
  bool done() const { return state_ == State::done; }
  bool failed() const { return state_ == State::failed; }
  const std::string& error() const { return error_; }  // what was wrong, once failed()

  int status() const { return status_; }
  server::Headers& headers() { return headers_; }
  std::string_view content_type() const { return value_at(content_type_index_); }
  std::string_view content_encoding() const { return value_at(content_encoding_index_); }
  std::optional<std::uint64_t> content_length() const { return content_length_; }
  // Whether the connection can carry another request once this response is done.
  bool keep_alive() const { return keep_alive_; }

  // The next body bytes land in [data, data + size); written() says how many did.
  void lend(char* data, std::size_t size) {
    begin_ = out_ = data;
    room_ = size;
  }
  std::size_t written() const { return static_cast<std::size_t>(out_ - begin_); }

 private:
  enum class State {
    head,
    length_body,     // Content-Length bytes
    close_body,      // up to the connection's end
    chunk_size,      // a chunk's size line
    chunk_data,      // its bytes
    chunk_data_end,  // the line end after them
    trailers,        // the trailer section after the last chunk
    done,
    failed,
  };

  std::size_t find_head_end(std::string_view input);
  std::size_t find_line_end(std::string_view input, std::size_t limit);
  std::size_t found(std::size_t position);
  std::size_t put_head(std::string_view input);
  bool parse_head(std::string_view head);
  bool parse_status_line(std::string_view line);
  bool parse_field_line(std::string_view line);
  void keep(std::string_view name, std::string_view value);
  bool take_content_length(std::string_view value);
  bool choose_framing();
  std::size_t put_body(std::string_view input);
  std::size_t copy_body(std::string_view input, std::uint64_t most);
  std::size_t put_chunk_size(std::string_view input);
  std::size_t put_chunk_data_end(std::string_view input);
  std::size_t put_trailers(std::string_view input);
  bool fail(std::string message);

  std::string_view value_at(std::size_t index) const {
    return index == 0 || index > headers_.size() ? std::string_view{}
                                                 : std::string_view(headers_[index - 1].value);
  }

  std::size_t head_limit_;
  State state_ = State::head;
  std::string error_;
  int status_ = 0;
  int version_minor_ = 1;
  server::Headers headers_;
  // 1-based positions in headers_ (0: absent); a repeated header: the last one counts.
  std::size_t content_type_index_ = 0;
  std::size_t content_encoding_index_ = 0;
  std::optional<std::uint64_t> content_length_;
  std::string transfer_codings_;  // every Transfer-Encoding line, joined by commas
  bool has_transfer_encoding_ = false;
  bool connection_close_ = false;
  bool connection_keep_alive_ = false;
  bool keep_alive_ = false;
  std::uint64_t left_ = 0;  // of a Content-Length body or of the current chunk
  std::size_t trailer_bytes_ = 0;
  // How much of the input's start the last search for a line's end read in vain: an incomplete
  // line stays at the start of the next input, so the search resumes there instead of reading
  // a head that trickles in byte by byte again for every byte.
  std::size_t scanned_ = 0;
  char* begin_ = nullptr;
  char* out_ = nullptr;
  std::size_t room_ = 0;
};

}  // namespace llm_router::upstream
