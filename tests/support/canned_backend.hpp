#pragma once

// A backend that says whatever a test needs: an HTTP server on a loopback port answering every
// request with the bytes `respond(request_body)` gives, then closing the connection.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <cctype>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace test_support {

// The body of the next HTTP/1.1 request on `socket` (framed by content-length); "" on error.
// `head_out`: where its head goes, lowercased.
template <class Stream>
std::string read_request_body(Stream& socket, std::string* head_out = nullptr) {
  namespace asio = boost::asio;
  asio::streambuf buffer;
  boost::system::error_code ec;
  const std::size_t head_size = asio::read_until(socket, buffer, "\r\n\r\n", ec);
  if (ec) return "";
  std::string data(asio::buffers_begin(buffer.data()), asio::buffers_end(buffer.data()));
  std::string head = data.substr(0, head_size);
  for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (head_out) *head_out = head;
  std::size_t length = 0;
  if (const auto at = head.find("content-length:"); at != std::string::npos) {
    length = std::stoul(head.substr(at + 15));
  }
  std::string body = data.substr(head_size);
  if (body.size() < length) {
    std::string rest(length - body.size(), '\0');
    asio::read(socket, asio::buffer(rest), ec);
    body += rest;
  }
  return body;
}

// A whole HTTP/1.1 response: status, extra header lines ("name: value\r\n..."), body.
inline std::string http_response(int status, const std::string& content_type,
                                 const std::string& body, const std::string& extra_headers = "") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\ncontent-type: " + content_type +
         "\r\ncontent-length: " + std::to_string(body.size()) + "\r\n" + extra_headers +
         "connection: close\r\n\r\n" + body;
}

class CannedBackend {
 public:
  // `hold_open`: how long the connection stays open after the response was written (a backend
  // that is slow to end its response). `flood`: bytes written again and again after the
  // response, without a pause, until the peer leaves (at most 20 s): a backend that always
  // has data ready.
  explicit CannedBackend(std::function<std::string(const std::string&)> respond,
                         std::chrono::milliseconds hold_open = {}, std::string flood = "")
      : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}),
        respond_(std::move(respond)),
        hold_open_(hold_open),
        flood_(std::move(flood)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~CannedBackend() {
    stopping_ = true;
    boost::asio::ip::tcp::socket wake(io_);
    boost::system::error_code ec;
    wake.connect(acceptor_.local_endpoint(), ec);  // unblocks accept()
    thread_.join();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/v1";
  }
  // The heads of the requests received so far, lowercased.
  std::vector<std::string> heads() const {
    std::lock_guard lock(heads_mutex_);
    return heads_;
  }

 private:
  void serve() {
    while (true) {
      boost::asio::ip::tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) return;
      std::string head;
      const std::string body = read_request_body(socket, &head);
      {
        std::lock_guard lock(heads_mutex_);
        heads_.push_back(std::move(head));
      }
      const std::string response = respond_(body);
      boost::asio::write(socket, boost::asio::buffer(response), ec);
      const auto flood_until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (!flood_.empty() && !ec && !stopping_ &&
             std::chrono::steady_clock::now() < flood_until) {
        boost::asio::write(socket, boost::asio::buffer(flood_), ec);
      }
      if (hold_open_.count() > 0) std::this_thread::sleep_for(hold_open_);
    }
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::function<std::string(const std::string&)> respond_;
  std::chrono::milliseconds hold_open_;
  std::string flood_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex heads_mutex_;
  std::vector<std::string> heads_;
  std::thread thread_;
};

}  // namespace test_support
