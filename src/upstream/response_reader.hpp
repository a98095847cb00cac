#pragma once

// Private to http_provider.cpp (Beast stays out of the widely included headers).
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/optional/optional.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "llm_router/server/http_types.hpp"

namespace llm_router::upstream {

// Beast's response parser (framing, chunking, lengths) writing the head straight into our
// header list and the body into a buffer the caller lends before each read, as Beast's
// buffer_body does: no intermediate header container, no second copy of every field.
class ResponseReader final : public boost::beast::http::basic_parser<false> {
 public:
  using string_view = boost::beast::string_view;
  using field = boost::beast::http::field;
  using error_code = boost::system::error_code;

  int status() const { return status_; }
  server::Headers& headers() { return headers_; }
  // Values of the head's headers (read them before taking the headers away).
  std::string_view content_type() const { return value_at(content_type_index_); }
  std::string_view content_encoding() const { return value_at(content_encoding_index_); }

  // The next body bytes land in [data, data + size); written() says how many did.
  void lend(char* data, std::size_t size) {
    begin_ = out_ = data;
    left_ = size;
  }
  std::size_t written() const { return static_cast<std::size_t>(out_ - begin_); }

 private:
  void on_request_impl(boost::beast::http::verb, string_view, string_view, int,
                       error_code&) override {}  // responses only

  void on_response_impl(int code, string_view, int, error_code&) override { status_ = code; }

  void on_field_impl(field name, string_view name_string, string_view value, error_code&) override {
    if (!kept(name)) return;
    if (headers_.empty()) headers_.reserve(12);
    headers_.push_back({server::lowercase_name({name_string.data(), name_string.size()}),
                        std::string(value.data(), value.size())});
    if (name == field::content_type) content_type_index_ = headers_.size();
    if (name == field::content_encoding) content_encoding_index_ = headers_.size();
  }

  // See ResponseHead::headers (most of a typical head, and a string or two each, per answer).
  static bool kept(field name) {
    switch (name) {
      case field::connection:
      case field::content_length:
      case field::date:
      case field::keep_alive:
      case field::proxy_connection:
      case field::server:
      case field::transfer_encoding:
        return false;
      default:
        return true;
    }
  }

  void on_header_impl(error_code&) override {}

  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}

  std::size_t on_body_impl(string_view body, error_code& ec) override { return take(body, ec); }

  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}

  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override {
    return take(body, ec);
  }

  void on_finish_impl(error_code&) override {}

  // What fits of `body` into the lent buffer; need_buffer when some is left over.
  std::size_t take(string_view body, error_code& ec) {
    if (out_ == nullptr || left_ == 0) {
      ec = boost::beast::http::error::need_buffer;
      return 0;
    }
    const std::size_t n = std::min(left_, body.size());
    std::memcpy(out_, body.data(), n);
    out_ += n;
    left_ -= n;
    if (n < body.size()) ec = boost::beast::http::error::need_buffer;
    return n;
  }

  std::string_view value_at(std::size_t index) const {
    return index == 0 || index > headers_.size() ? std::string_view{}
                                                 : std::string_view(headers_[index - 1].value);
  }

  int status_ = 0;
  server::Headers headers_;
  // 1-based positions in headers_ (0: absent); a repeated header: the last one counts.
  std::size_t content_type_index_ = 0;
  std::size_t content_encoding_index_ = 0;
  char* begin_ = nullptr;
  char* out_ = nullptr;
  std::size_t left_ = 0;
};

}  // namespace llm_router::upstream
