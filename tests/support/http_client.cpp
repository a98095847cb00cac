#include "support/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cctype>
#include <thread>

namespace test_support {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string HttpResponse::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

struct HttpClient::Impl {
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
  std::chrono::milliseconds timeout;
  int port;

  void ensure_connected() {
    if (stream.socket().is_open()) return;
    stream.expires_after(timeout);
    stream.connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    buffer.clear();
  }

  template <typename Message>
  static void copy_headers(const Message& message, HttpResponse& out) {
    for (const auto& f : message) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      // Repeated lines join as one list (RFC 9110 5.3), so a test sees a header sent twice.
      auto [at, added] = out.headers.try_emplace(name, std::string(f.value()));
      if (!added) at->second += ", " + std::string(f.value());
    }
  }

  void close() {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.socket().close(ignored);
  }
};

HttpClient::HttpClient(int port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->timeout = timeout;
  impl_->port = port;
}

HttpClient::~HttpClient() = default;

bool HttpClient::connected() const {
  return impl_->stream.socket().is_open();
}

HttpResponse HttpClient::request(const std::string& method, const std::string& target,
                                 const std::string& body,
                                 const std::map<std::string, std::string>& headers) {
  impl_->ensure_connected();
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  HttpResponse out;
  beast::error_code ec;
  impl_->stream.expires_after(impl_->timeout);
  http::write(impl_->stream, req, ec);
  if (ec) {
    out.closed_early = true;
    impl_->close();
    return out;
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(256 * 1024 * 1024);
  http::read(impl_->stream, impl_->buffer, parser, ec);
  if (ec) {
    out.closed_early = true;
    impl_->close();
    if (!parser.is_header_done()) return out;
  }
  auto& message = parser.get();
  out.status = static_cast<int>(message.result_int());
  Impl::copy_headers(message, out);
  out.body = message.body();
  if (!message.keep_alive()) impl_->close();
  return out;
}

HttpResponse HttpClient::stream(const std::string& target, const std::string& body,
                                const std::function<bool(const std::string&)>& on_chunk) {
  impl_->ensure_connected();
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  HttpResponse out;
  beast::error_code ec;
  impl_->stream.expires_after(impl_->timeout);
  http::write(impl_->stream, req, ec);
  if (ec) {
    out.closed_early = true;
    return out;
  }
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  http::read_header(impl_->stream, impl_->buffer, parser, ec);
  if (ec) {
    out.closed_early = true;
    impl_->close();
    return out;
  }
  out.status = static_cast<int>(parser.get().result_int());
  Impl::copy_headers(parser.get(), out);
  char chunk[4096];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    impl_->stream.expires_after(impl_->timeout);
    http::read_some(impl_->stream, impl_->buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      out.closed_early = true;
      impl_->close();
      return out;
    }
    std::string piece(chunk, sizeof chunk - parser.get().body().size);
    if (piece.empty()) continue;
    out.body += piece;
    if (!on_chunk(piece)) {
      impl_->close();
      return out;
    }
  }
  if (!parser.get().keep_alive()) impl_->close();
  return out;
}

HttpResponse HttpClient::raw(const std::string& bytes) {
  impl_->ensure_connected();
  HttpResponse out;
  beast::error_code ec;
  impl_->stream.expires_after(impl_->timeout);
  asio::write(impl_->stream, asio::buffer(bytes), ec);
  http::response_parser<http::string_body> parser;
  http::read(impl_->stream, impl_->buffer, parser, ec);
  if (ec && !parser.is_header_done()) {
    out.closed_early = true;
    impl_->close();
    return out;
  }
  out.status = static_cast<int>(parser.get().result_int());
  Impl::copy_headers(parser.get(), out);
  out.body = parser.get().body();
  impl_->close();
  return out;
}

void post_and_leave(int port, const std::string& path, const std::string& body,
                    std::chrono::milliseconds linger) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  const std::string request = "POST " + path +
                              " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              "Content-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
  asio::write(socket, asio::buffer(request));
  std::this_thread::sleep_for(linger);
}

std::vector<std::string> sse_data(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    const size_t end = body.find('\n', pos);
    out.push_back(body.substr(pos + 6, end - pos - 6));
    pos = end == std::string::npos ? body.size() : end;
  }
  return out;
}

}  // namespace test_support
