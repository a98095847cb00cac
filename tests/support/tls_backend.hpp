#pragma once

// A backend over HTTPS: a loopback server with the certificate of tests/fixtures/tls answering
// every request with the bytes `respond(request_body)` gives, then closing the connection.
#include <boost/asio/ssl.hpp>

#include "support/canned_backend.hpp"

namespace test_support {

class TlsBackend {
 public:
  // `address`: where it listens (127.0.0.2 is loopback too, and not in its certificate).
  explicit TlsBackend(std::function<std::string(const std::string&)> respond,
                      const std::string& address = "127.0.0.1")
      : acceptor_(io_, {boost::asio::ip::make_address(address), 0}), respond_(std::move(respond)) {
    const std::string dir = std::string(LLM_ROUTER_SOURCE_DIR) + "/tests/fixtures/tls/";
    tls_.use_certificate_chain_file(dir + "backend-cert.pem");
    tls_.use_private_key_file(dir + "backend-key.pem", boost::asio::ssl::context::pem);
    thread_ = std::thread([this] { serve(); });
  }
  ~TlsBackend() {
    stopping_ = true;
    boost::asio::ip::tcp::socket wake(io_);
    boost::system::error_code ec;
    wake.connect(acceptor_.local_endpoint(), ec);  // unblocks accept()
    thread_.join();
  }
  static std::string certificate() {
    return std::string(LLM_ROUTER_SOURCE_DIR) + "/tests/fixtures/tls/backend-cert.pem";
  }
  std::string url(const std::string& host = "127.0.0.1") const {
    return "https://" + host + ":" + std::to_string(acceptor_.local_endpoint().port()) + "/v1";
  }
  int handshakes() const { return handshakes_; }

 private:
  void serve() {
    while (true) {
      boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream(io_, tls_);
      boost::system::error_code ec;
      acceptor_.accept(stream.next_layer(), ec);
      if (ec || stopping_) return;
      stream.handshake(boost::asio::ssl::stream_base::server, ec);
      if (ec) continue;  // a client that does not trust us
      ++handshakes_;
      const std::string response = respond_(read_request_body(stream));
      boost::asio::write(stream, boost::asio::buffer(response), ec);
      stream.shutdown(ec);
    }
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ssl::context tls_{boost::asio::ssl::context::tls_server};
  std::function<std::string(const std::string&)> respond_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> handshakes_{0};
  std::thread thread_;
};

}  // namespace test_support
