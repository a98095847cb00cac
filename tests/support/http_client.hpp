#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace test_support {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool closed_early = false;  // the connection ended before the response was complete

  std::string header(const std::string& name) const;
};

// A blocking HTTP/1.1 client over one keep-alive connection to 127.0.0.1, for tests.
class HttpClient {
 public:
  explicit HttpClient(int port, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResponse request(const std::string& method, const std::string& target,
                       const std::string& body = "",
                       const std::map<std::string, std::string>& headers = {});
  HttpResponse post_json(const std::string& target, const std::string& body,
                         const std::map<std::string, std::string>& headers = {}) {
    return request("POST", target, body, headers);
  }
  // Streams the body; `on_chunk` gets each piece as it arrives and may return false to stop
  // reading and close the connection (a client going away).
  HttpResponse stream(const std::string& target, const std::string& body,
                      const std::function<bool(const std::string&)>& on_chunk);
  // Writes raw bytes (for malformed requests) and reads one response.
  HttpResponse raw(const std::string& bytes);
  bool connected() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Splits an SSE body into its data payloads.
std::vector<std::string> sse_data(const std::string& body);

// POSTs `body` to `path`, waits `linger` without reading, and closes: a client that leaves.
void post_and_leave(int port, const std::string& path, const std::string& body,
                    std::chrono::milliseconds linger);

}  // namespace test_support
