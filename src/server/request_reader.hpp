#pragma once

// Private to http_server.cpp (Beast stays out of the widely included headers).
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/optional/optional.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>
#include <utility>

#include "llm_router/core/error.hpp"
#include "llm_router/core/http_syntax.hpp"
#include "llm_router/server/http_types.hpp"
#include "simple_request.hpp"

namespace llm_router::server {

// The request body bytes an io thread holds, against its share of server.max_body_memory.
struct BodyBudget {
  std::size_t held = 0;
  std::size_t limit = SIZE_MAX;
};

// Beast's request parser (its checks of framing, lengths, chunking and limits) writing straight
// into an HttpRequest: no intermediate header container, no second copy of every field. A whole
// request of the plain shape is read without it (take_simple), through the same checks.
class RequestReader final : public boost::beast::http::basic_parser<true> {
 public:
  using string_view = boost::beast::string_view;
  using field = boost::beast::http::field;
  using verb = boost::beast::http::verb;

  HttpRequest& request() { return request_; }
  const HttpRequest& request() const { return request_; }
  unsigned version() const { return version_; }
  // Whether the request line was read (the parser then consumed it from the buffer).
  bool has_request_line() const { return has_request_line_; }
  // An HTTP/1.0 client's expectation is ignored (RFC 9110 section 10.1.1).
  bool expects_continue() const { return expects_continue_ && version_ >= 11; }
  // Why the head was refused, when it was for a reason of ours rather than Beast's syntax checks.
  std::string_view refusal() const { return refusal_; }
  ErrorKind refusal_kind() const { return refusal_kind_; }

  RequestReader() = default;
  RequestReader(const RequestReader&) = delete;
  RequestReader& operator=(const RequestReader&) = delete;
  ~RequestReader() override {
    if (budget_ != nullptr) budget_->held -= charged_;
  }
  // Counts the body's bytes against `budget` as they arrive (a length over what is left is
  // refused before any arrives).
  void charge_body_to(BodyBudget& budget) { budget_ = &budget; }
  // The bytes charged so far, now the caller's to give back when the request is done.
  std::size_t hand_over_charge() { return std::exchange(charged_, 0); }

  // The most a head and a body may hold.
  void limit(std::size_t head_bytes, std::uint64_t body_bytes) {
    header_limit(static_cast<std::uint32_t>(head_bytes));
    body_limit(body_bytes);
    limits_ = {head_bytes, body_bytes};
  }

  // Reads a whole request of the plainest shape from the front of `bytes` (see SimpleRequest)
  // through the same checks as Beast's parser would: true when it was one and passed them, and
  // `used` says how many bytes it took. False with `ec` set when a check refused it; false
  // with no error when it is not of that shape: Beast's parser, fresh, then reads it.
  bool take_simple(std::string_view bytes, std::size_t& used, error_code& ec) {
    SimpleRequest simple;
    if (!scan_simple_request(bytes, limits_, simple)) return false;
    request_.headers.reserve(simple.field_count);
    on_request_impl(verb::unknown, {simple.method.data(), simple.method.size()},
                    {simple.target.data(), simple.target.size()}, simple.version, ec);
    for (std::size_t i = 0; i < simple.field_count && !ec; ++i) {
      const SimpleRequest::Field& f = simple.fields[i];
      take_field(kind_of(f.name), f.name, f.value);
    }
    if (!ec) on_header_impl(ec);
    if (!ec && simple.has_content_length && simple.content_length > 0) {
      on_body_init_impl(simple.content_length, ec);
      if (!ec) on_body_impl({simple.body.data(), simple.body.size()}, ec);
    }
    if (ec) return false;
    used = simple.size();
    took_simple_ = true;
    simple_keep_alive_ = simple.keep_alive;
    return true;
  }

  // Whether the connection may carry another request after this one.
  bool keeps_alive() const { return took_simple_ ? simple_keep_alive_ : keep_alive(); }

 private:
  void on_request_impl(verb, string_view method, string_view target, int version,
                       error_code& ec) override {
    request_.method.assign(method.data(), method.size());
    request_.target.assign(target.data(), target.size());
    version_ = static_cast<unsigned>(version);
    has_request_line_ = true;
    if (!acceptable_target(request_.method, request_.target)) {
      ec = boost::beast::http::error::bad_target;
      refusal_ = "the request target must be a path starting with '/' (or * for OPTIONS)";
    }
  }

  // RFC 9112 section 3.2: the origin form ("/v1/models?x"), the absolute form
  // ("http://host/v1/models"), or "*" for a server-wide OPTIONS; never a fragment.
  static bool acceptable_target(std::string_view method, std::string_view target) {
    if (target == "*") return method == "OPTIONS";
    if (target.find('#') != std::string_view::npos) return false;
    if (target.starts_with('/')) return true;
    for (const std::string_view scheme : {"http://", "https://"}) {
      if (target.size() > scheme.size() &&
          boost::beast::iequals(target.substr(0, scheme.size()), scheme)) {
        return true;
      }
    }
    return false;
  }

  // A host name's characters (RFC 3986 reg-name): unreserved, %-escapes, sub-delimiters.
  static constexpr std::array<bool, 256> kHostChars = [] {
    std::array<bool, 256> table{};
    for (int c = 0; c < 256; ++c) {
      table[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    }
    for (const char c : std::string_view("-._~%!$&'()*+,;=")) {
      table[static_cast<unsigned char>(c)] = true;
    }
    return table;
  }();

  // RFC 3986 authority: a bracketed IPv6 literal or a name of unreserved, %-escaped and
  // sub-delimiter characters, then an optional ":port" of digits.
  static bool valid_host(std::string_view host) {
    std::size_t name_end = host.size();
    if (host.starts_with('[')) {
      name_end = host.find(']');
      if (name_end == std::string_view::npos) return false;
      ++name_end;
    } else {
      name_end = std::min(host.find(':'), host.size());
      for (const char c : host.substr(0, name_end)) {
        if (!kHostChars[static_cast<unsigned char>(c)]) return false;
      }
    }
    if (name_end == host.size()) return true;
    if (host[name_end] != ':') return false;
    const std::string_view port = host.substr(name_end + 1);
    return std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
  }

  void on_response_impl(int, string_view, int, error_code&) override {}  // requests only

  // The fields the reader acts on besides keeping them.
  enum class FieldKind { other, content_encoding, expect, host, transfer_encoding };

  static FieldKind kind_of(field name) {
    switch (name) {
      case field::content_encoding:
        return FieldKind::content_encoding;
      case field::expect:
        return FieldKind::expect;
      case field::host:
        return FieldKind::host;
      case field::transfer_encoding:
        return FieldKind::transfer_encoding;
      default:
        return FieldKind::other;
    }
  }

  static FieldKind kind_of(std::string_view name) {
    using core::http::is_name;
    switch (name.size()) {
      case 4:
        return is_name(name, "host") ? FieldKind::host : FieldKind::other;
      case 6:
        return is_name(name, "expect") ? FieldKind::expect : FieldKind::other;
      case 16:
        return is_name(name, "content-encoding") ? FieldKind::content_encoding : FieldKind::other;
      case 17:
        return is_name(name, "transfer-encoding") ? FieldKind::transfer_encoding : FieldKind::other;
      default:
        return FieldKind::other;
    }
  }

  void on_field_impl(field name, string_view name_string, string_view value, error_code&) override {
    take_field(kind_of(name), {name_string.data(), name_string.size()},
               {value.data(), value.size()});
  }

  void take_field(FieldKind kind, std::string_view name, std::string_view value) {
    // A chunked body's trailer fields are dropped: none of them may change how the request is
    // read or who sends it (RFC 9110 section 6.5.1), so an Authorization, Content-Encoding or
    // X-Request-Id in the trailers never counts as a header.
    if (in_trailers_) return;
    if (request_.headers.capacity() == 0) request_.headers.reserve(16);
    // Lines of one field are one comma-separated list (RFC 9110 section 5.3): a second
    // Content-Encoding joins the first, so "gzip" then "br" is refused as "gzip, br" is.
    if (kind == FieldKind::content_encoding && content_encoding_at_ < request_.headers.size()) {
      request_.headers[content_encoding_at_].value.append(", ").append(value);
      return;
    }
    if (kind == FieldKind::content_encoding) content_encoding_at_ = request_.headers.size();
    request_.headers.push_back({lowercase_name(name), std::string(value)});
    if (kind == FieldKind::expect) {
      if (boost::beast::iequals(value, "100-continue")) {
        expects_continue_ = true;
      } else if (!value.empty()) {
        unmet_expectation_ = true;
      }
    }
    if (kind == FieldKind::host) {
      ++host_fields_;
      bad_host_ = bad_host_ || !valid_host(value);
    }
    if (kind == FieldKind::transfer_encoding) {
      has_transfer_encoding_ = true;  // an empty one too: framing by it is then undefined
      if (!transfer_codings_.empty()) transfer_codings_ += ',';
      transfer_codings_.append(value);
    }
  }

  // Beast reads a body of any transfer coding but "chunked" as no body at all, which would run
  // the body's bytes as the next request (smuggling). "chunked", once, is the only coding taken;
  // anything else is refused (400, connection closed), as RFC 9112 section 6.3 asks; so is
  // any Transfer-Encoding in HTTP/1.0, which has none (its framing is faulty: section 6.1). An
  // HTTP/1.1 request carries exactly one Host, and no request two (RFC 9112 section 3.2). An
  // expectation other than 100-continue cannot be met: 417 (RFC 9110 section 10.1.1; HTTP/1.0
  // ignores Expect).
  void on_header_impl(error_code& ec) override {
    in_trailers_ = true;
    if (unmet_expectation_ && version_ >= 11) {
      ec = boost::beast::http::error::bad_field;
      refusal_ = "only the expectation \"100-continue\" is supported";
      refusal_kind_ = ErrorKind::expectation_failed;
      return;
    }
    if (has_transfer_encoding_ && !only_chunked(transfer_codings_)) {
      ec = boost::beast::http::error::bad_transfer_encoding;
      refusal_ = "Transfer-Encoding other than a single \"chunked\" is not supported";
    } else if (has_transfer_encoding_ && version_ < 11) {
      ec = boost::beast::http::error::bad_transfer_encoding;
      refusal_ = "an HTTP/1.0 request cannot use Transfer-Encoding";
    } else if (host_fields_ > 1 || (version_ >= 11 && host_fields_ == 0)) {
      ec = boost::beast::http::error::bad_field;
      refusal_ = host_fields_ == 0 ? "an HTTP/1.1 request needs a Host header"
                                   : "more than one Host header";
    } else if (bad_host_) {
      ec = boost::beast::http::error::bad_field;
      refusal_ = "the Host header is not a host name or address with an optional port";
    }
  }

  static bool only_chunked(string_view codings) {
    int chunked = 0;
    while (!codings.empty()) {
      const std::size_t comma = codings.find(',');
      string_view coding = codings.substr(0, comma);
      codings = comma == string_view::npos ? string_view{} : codings.substr(comma + 1);
      while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t')) {
        coding.remove_prefix(1);
      }
      while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) {
        coding.remove_suffix(1);
      }
      if (coding.empty()) continue;
      if (!boost::beast::iequals(coding, "chunked")) return false;
      ++chunked;
    }
    return chunked == 1;
  }

  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         error_code& ec) override {
    // The parser has already refused a length above its body limit.
    if (!content_length) return;
    if (!fits_budget(static_cast<std::size_t>(*content_length), ec)) return;
    request_.body.reserve(static_cast<std::size_t>(*content_length));
  }

  std::size_t on_body_impl(string_view body, error_code& ec) override {
    if (!charge(body.size(), ec)) return 0;
    request_.body.append(body.data(), body.size());
    return body.size();
  }

  bool fits_budget(std::size_t bytes, error_code& ec) {
    if (budget_ == nullptr || budget_->held + bytes <= budget_->limit) return true;
    ec = boost::beast::http::error::body_limit;
    refusal_kind_ = ErrorKind::overloaded;
    refusal_ =
        "the router holds as many request bodies as server.max_body_memory allows; retry shortly";
    return false;
  }

  bool charge(std::size_t bytes, error_code& ec) {
    if (!fits_budget(bytes, ec)) {
      give_back_charge();
      return false;
    }
    if (budget_ != nullptr) {
      budget_->held += bytes;
      charged_ += bytes;
    }
    return true;
  }

  // A refused body is given back at once, not when the refusal has been written: another
  // upload on this thread may need the room meanwhile.
  void give_back_charge() {
    if (budget_ != nullptr) budget_->held -= std::exchange(charged_, 0);
    std::string().swap(request_.body);
  }

  // Chunk extensions carry nothing the router reads; a long one is refused (RFC 9112 section
  // 7.1.1 asks servers to limit them).
  void on_chunk_header_impl(std::uint64_t, string_view extensions, error_code& ec) override {
    if (extensions.size() > kMaxChunkExtensionBytes) {
      ec = boost::beast::http::error::bad_chunk_extension;
      refusal_ = "a chunk extension exceeds 4096 bytes";
    }
  }

  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override {
    if (!charge(body.size(), ec)) return 0;
    request_.body.append(body.data(), body.size());
    return body.size();
  }

  void on_finish_impl(error_code&) override {}

  static constexpr std::size_t kMaxChunkExtensionBytes = 4096;

  HttpRequest request_;
  unsigned version_ = 11;
  bool in_trailers_ = false;                    // the header section was read
  std::size_t content_encoding_at_ = SIZE_MAX;  // index of the Content-Encoding field
  bool has_request_line_ = false;
  bool expects_continue_ = false;
  bool unmet_expectation_ = false;
  int host_fields_ = 0;
  bool bad_host_ = false;
  std::string_view refusal_;
  ErrorKind refusal_kind_ = ErrorKind::invalid_request;
  std::string transfer_codings_;  // every Transfer-Encoding field, joined by commas
  bool has_transfer_encoding_ = false;
  BodyBudget* budget_ = nullptr;
  std::size_t charged_ = 0;
  SimpleRequestLimits limits_{8192, 1024 * 1024};  // Beast's defaults for a request
  bool took_simple_ = false;
  bool simple_keep_alive_ = false;
};

}  // namespace llm_router::server
