#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <string>
#include <string_view>
#include <vector>

// The HTTP seam between the server (Beast) and whoever answers requests. Beast stays behind it.
namespace llm_router::server {

namespace asio = boost::asio;
using boost::system::error_code;

struct Header {
  std::string name;  // lower case
  std::string value;
};
using Headers = std::vector<Header>;

const std::string* find_header(const Headers& headers, std::string_view lowercase_name);

// The headers an API key comes in: OpenAI's `Authorization: Bearer`, Anthropic-style
// `x-api-key`, Azure OpenAI's `api-key`; lower case, as Headers keep names.
inline constexpr std::string_view kApiKeyHeaders[] = {"authorization", "x-api-key", "api-key"};

// A header name as Headers keep it: ASCII lower case (names are tokens; no locale involved).
inline std::string lowercase_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

struct HttpRequest {
  std::string method;
  std::string target;  // path and query as sent
  Headers headers;
  std::string body;
  // The request's id (x-request-id): the client's when acceptable, else a new one. Set by the
  // server, so an answer the server writes itself carries the id the handler logged.
  std::string id;

  const std::string* header(std::string_view lowercase_name) const {
    return find_header(headers, lowercase_name);
  }
  std::string_view path() const;  // target without the query
};

// How a handler answers: one whole response, or a chunked stream written piece by piece.
// Every call returns an error once the client is gone; the handler then stops.
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  virtual asio::awaitable<error_code> send(int status, Headers headers, std::string body) = 0;
  virtual asio::awaitable<error_code> start_stream(int status, Headers headers) = 0;
  virtual asio::awaitable<error_code> write_chunk(std::string_view data) = 0;
  // start_stream and the first chunk, which a writer may send in one packet.
  virtual asio::awaitable<error_code> start_stream_with(int status, Headers headers,
                                                        std::string_view first_chunk) {
    if (auto ec = co_await start_stream(status, std::move(headers))) co_return ec;
    co_return co_await write_chunk(first_chunk);
  }
  virtual asio::awaitable<error_code> finish_stream() = 0;
  // Drops the connection without finishing the response (the mock uses it to simulate faults).
  virtual void abort() = 0;
  virtual bool started() const = 0;
  // The server gave up waiting for this request (drain_timeout ran out) and cancelled it: the
  // handler should still end its answer with an error (a client that left cannot be told).
  virtual bool server_stopping() const { return false; }
  // A write failed because the client took nothing for server.write_timeout (it did not leave).
  virtual bool client_too_slow() const { return false; }
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // Must answer through `writer` (or abort it); runs on the connection's io thread.
  virtual asio::awaitable<void> handle(HttpRequest& request, ResponseWriter& writer) = 0;
  // Whether the request, by its head alone, would be answered without reading its body (an
  // unknown path, a method not allowed, a missing key): a client that sent `Expect:
  // 100-continue` is then answered at once, and sends no body.
  virtual bool wants_body(const HttpRequest& /*head*/) { return true; }
  // Called once before the io_context is destroyed: release sockets and timers held outside
  // of requests (pooled connections), so none outlives its io_context.
  virtual void shutdown() {}
};

}  // namespace llm_router::server
