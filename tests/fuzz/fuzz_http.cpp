// Client requests through the server's HTTP parser (Beast's, with the router's own checks of
// targets, hosts, codings and body budgets) and backend answers through the upstream's (the
// router's own ResponseParser): however the bytes are split across reads, the same message
// accepted; every body byte charged to the budget is given back; no body is longer than its
// limit. A request the server's whole-request path takes (RequestReader::take_simple) is read
// exactly as Beast's parser reads it, refusals included.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_target.hpp"
#include "llm_router/upstream/response_parser.hpp"
#include "server/request_reader.hpp"

namespace {

namespace http = boost::beast::http;
using boost::system::error_code;

constexpr std::size_t kBodyLimit = 1 << 14;

struct Outcome {
  bool done = false;
  std::string error;
  std::string start;  // method and target, or the status
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  unsigned version = 0;
  bool keep_alive = false;
  std::size_t used = 0;  // bytes of the input the parser took
  bool operator==(const Outcome&) const = default;
};

// Feeds `bytes` `step` at a time, as reads would deliver them, until the message is done, the
// parser refuses it or the bytes run out. `put` parses what the buffer holds: the bytes it
// used, and the error.
template <class Put>
void feed(std::string_view bytes, std::size_t step, error_code& ec, Put put) {
  std::string buffer;
  std::size_t fed = 0;
  while (true) {
    if (fed < bytes.size()) {
      const std::string_view piece = bytes.substr(fed, step);
      buffer.append(piece);
      fed += piece.size();
    }
    const std::size_t used = put(buffer, ec);
    buffer.erase(0, used);
    if (ec == http::error::need_more) {
      ec = {};
      if (fed == bytes.size()) return;  // cut short
      continue;
    }
    if (ec || (used == 0 && fed == bytes.size())) return;
  }
}

void describe_request(const llm_router::server::RequestReader& parser, bool done, error_code ec,
                      Outcome& out) {
  const auto& request = parser.request();
  out.done = done;
  out.error = ec ? ec.message() + " " + std::string(parser.refusal()) : "";
  out.start = request.method + " " + request.target;
  for (const auto& h : request.headers) out.headers.emplace_back(h.name, h.value);
  out.body = request.body;
  if (done) {
    out.version = parser.version();
    out.keep_alive = parser.keeps_alive();
  }
  require(request.body.size() <= kBodyLimit);
}

// Runs `read` with a fresh reader charged to a fresh budget: the budget holds what the body
// holds while the reader lives, and nothing once it is gone.
template <class Read>
std::optional<Outcome> with_reader(Read read) {
  llm_router::server::BodyBudget budget;
  budget.limit = kBodyLimit * 2;
  std::optional<Outcome> out;
  {
    llm_router::server::RequestReader parser;
    parser.charge_body_to(budget);
    parser.limit(4096, kBodyLimit);
    out = read(parser);
    require(budget.held == parser.request().body.size());
  }
  require(budget.held == 0);  // the parser gave back what it held
  return out;
}

Outcome read_request(std::string_view bytes, std::size_t step) {
  return *with_reader([&](llm_router::server::RequestReader& parser) {
    Outcome out;
    parser.eager(true);
    error_code ec;
    feed(bytes, step, ec, [&](const std::string& buffer, error_code& error) -> std::size_t {
      if (parser.is_done()) return 0;
      const std::size_t used = parser.put(boost::asio::buffer(buffer), error);
      out.used += used;
      return used;
    });
    describe_request(parser, parser.is_done(), ec, out);
    return std::optional<Outcome>(std::move(out));
  });
}

// The whole-request path's reading, or nothing when it leaves the bytes to Beast's parser.
std::optional<Outcome> read_simple_request(std::string_view bytes) {
  return with_reader([&](llm_router::server::RequestReader& parser) -> std::optional<Outcome> {
    Outcome out;
    error_code ec;
    const bool taken = parser.take_simple(bytes, out.used, ec);
    if (!taken && !ec) return std::nullopt;
    describe_request(parser, taken, ec, out);
    return out;
  });
}

Outcome read_response(std::string_view bytes, std::size_t step) {
  Outcome out;
  llm_router::upstream::ResponseParser parser(4096);
  char chunk[7];  // small: the parser must stop when it is full and go on where it stopped
  std::string buffer;
  std::size_t fed = 0;
  while (!parser.done() && !parser.failed()) {
    const std::string_view piece = bytes.substr(fed, step);
    buffer.append(piece);
    fed += piece.size();
    bool progress = true;
    while (progress && !parser.done() && !parser.failed()) {
      parser.lend(chunk, sizeof chunk);
      const std::size_t used = parser.put(buffer);
      require(used <= buffer.size() && parser.written() <= sizeof chunk);
      buffer.erase(0, used);
      out.body.append(chunk, parser.written());
      progress = used > 0 || parser.written() > 0;
    }
    if (piece.empty()) break;  // the connection ends
  }
  if (!parser.failed() && parser.head_done() && !parser.done()) parser.finish_at_eof();
  out.done = parser.done();
  out.error = parser.error();
  out.start = std::to_string(parser.status());
  for (const auto& h : parser.headers()) out.headers.emplace_back(h.name, h.value);
  const bool bodiless = parser.status() < 200 || parser.status() == 204 || parser.status() == 304;
  if (const auto length = parser.content_length(); out.done && length && !bodiless) {
    require(out.body.size() == *length);
  }
  return out;
}

// A refused request is compared by its refusal and what was read before it: Beast counts the
// bytes of a head it refused as used, and calls it done when a check after the head refused it.
Outcome as_compared(Outcome outcome) {
  if (!outcome.error.empty()) {
    outcome.done = false;
    outcome.used = 0;
    outcome.version = 0;
    outcome.keep_alive = false;
  }
  return outcome;
}

// Beast parses a request head in one pass when it arrives whole, but waits for its end (CRLF
// CRLF) once a read left it incomplete: a malformed head (a bare LF) is refused at once in one
// case and waits for more (until the header timeout) in the other. What must agree is what is
// accepted. (The upstream's own response parser must agree on everything, refusals too.)
void require_same_acceptance(const Outcome& whole, const Outcome& pieces) {
  if (whole.done || pieces.done) require(whole == pieces);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::size_t step = 1 + (size % 7);
  const Outcome whole = read_request(bytes, bytes.size() + 1);
  require_same_acceptance(whole, read_request(bytes, step));
  if (const auto simple = read_simple_request(bytes)) {
    require(as_compared(*simple) == as_compared(whole));
  }
  require(read_response(bytes, bytes.size() + 1) == read_response(bytes, step));
  return 0;
}

std::vector<std::string> fuzz_seeds() {
  return {
      "POST /v1/chat/completions HTTP/1.1\r\nHost: router:8080\r\nContent-Type: "
      "application/json\r\nContent-Length: 2\r\n\r\n{}",
      "POST /v1/embeddings HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "2;ext=1\r\n{}\r\n0\r\nX-Trailer: 1\r\n\r\n",
      "GET /v1/models?x=1 HTTP/1.0\r\nContent-Encoding: gzip\r\nContent-Encoding: br\r\n\r\n",
      "POST http://host/v1/completions HTTP/1.1\r\nHost: [::1]:80\r\nExpect: 100-continue\r\n"
      "Content-Length: 0\r\n\r\n",
      "OPTIONS * HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
      "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\nX-Request-Id: r1\r\n\r\n",
      "POST /v1/completions HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 3\r\n"
      "\r\n{}\nGET / HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: bad host\r\nFoo:  spaced value \t\r\n\r\n",
      "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
      "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
      "{\"id\":\"x\"}\n",
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
      "e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n",
      "HTTP/1.0 503 Service Unavailable\r\nRetry-After: 3\r\n\r\nbusy until the connection ends",
  };
}

std::vector<std::string> fuzz_dictionary() {
  return {"\r\n",
          "\r\n\r\n",
          ": ",
          "HTTP/1.1",
          "HTTP/1.0",
          "Content-Length: ",
          "Transfer-Encoding: chunked",
          "Transfer-Encoding: ",
          "Content-Encoding: ",
          "Host: ",
          "Expect: 100-continue",
          "Connection: close",
          "0\r\n\r\n",
          "ffffffff",
          ";",
          " ",
          "\t",
          "POST ",
          "/v1/chat/completions ",
          "HTTP/1.1 200 OK\r\n"};
}
