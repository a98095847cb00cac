#include "llm_router/upstream/response_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace llm_router::upstream {
namespace {

struct Parsed {
  bool done = false;
  std::string error;
  int status = 0;
  server::Headers headers;
  std::string body;
  bool keep_alive = false;
  std::string left;  // bytes the parser did not take
};

// Feeds `bytes` `step` at a time into a parser lending `room` bytes per call, as the provider
// does; `eof`: the connection ends after the bytes.
Parsed parse(std::string_view bytes, std::size_t step = 1 << 20, std::size_t room = 1 << 16,
             bool eof = false) {
  ResponseParser parser;
  std::string buffer, out(room, '\0');
  Parsed parsed;
  for (std::size_t fed = 0; !parser.done() && !parser.failed();) {
    const std::string_view piece = bytes.substr(std::min(fed, bytes.size()), step);
    buffer.append(piece);
    fed += piece.size();
    for (bool progress = true; progress && !parser.done() && !parser.failed();) {
      parser.lend(out.data(), room);
      const std::size_t used = parser.put(buffer);
      buffer.erase(0, used);
      parsed.body.append(out.data(), parser.written());
      progress = used > 0 || parser.written() > 0;
    }
    if (piece.empty()) break;
  }
  if (eof && !parser.failed()) parser.finish_at_eof();
  parsed.done = parser.done();
  parsed.error = parser.error();
  parsed.status = parser.status();
  parsed.headers = parser.headers();
  parsed.keep_alive = parser.keep_alive();
  parsed.left = buffer;
  return parsed;
}

std::string header(const Parsed& parsed, std::string_view name) {
  const std::string* value = server::find_header(parsed.headers, name);
  return value ? *value : "<none>";
}

TEST(ResponseParser, ReadsALengthFramedAnswerHoweverItIsSplit) {
  const std::string response =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
      "X-Request-Id:  abc \r\nDate: Tue, 01 Dec 2026 00:00:00 GMT\r\nServer: nginx\r\n"
      "Connection: keep-alive\r\n\r\n{\"id\":\"x\"}\n";
  for (const std::size_t step : {std::size_t{1}, std::size_t{3}, response.size()}) {
    for (const std::size_t room : {std::size_t{1}, std::size_t{4}, std::size_t{4096}}) {
      const Parsed parsed = parse(response, step, room);
      ASSERT_TRUE(parsed.done) << step << " " << room << " " << parsed.error;
      EXPECT_EQ(parsed.status, 200);
      EXPECT_EQ(parsed.body, "{\"id\":\"x\"}\n");
      EXPECT_TRUE(parsed.keep_alive);
      EXPECT_EQ(header(parsed, "content-type"), "application/json");
      EXPECT_EQ(header(parsed, "x-request-id"), "abc");  // spaces around a value are no part of it
      // What only the connection needed, and the backend server's own Date and Server.
      for (const char* dropped : {"content-length", "date", "server", "connection"}) {
        EXPECT_EQ(header(parsed, dropped), "<none>") << dropped;
      }
    }
  }
}

TEST(ResponseParser, ReadsChunksWithExtensionsAndTrailers) {
  const std::string response =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\n"
      "7;name=value\r\ndata: 1\nB \r\n\n\ndata: 22\n\r\n0\r\nX-Checksum: 1\r\n\r\n";
  for (const std::size_t step : {std::size_t{1}, std::size_t{5}, response.size()}) {
    const Parsed parsed = parse(response, step, 3);
    ASSERT_TRUE(parsed.done) << step << " " << parsed.error;
    EXPECT_EQ(parsed.body, "data: 1\n\ndata: 22\n");
    EXPECT_TRUE(parsed.keep_alive);
    EXPECT_EQ(header(parsed, "transfer-encoding"), "<none>");
  }
}

TEST(ResponseParser, AcceptsBareLineFeedsAndAStatusWithoutReason) {
  // RFC 9112 section 2.2 lets a recipient take a lone LF as a line's end; some small servers
  // write no reason phrase.
  const Parsed parsed = parse("HTTP/1.1 200\nContent-Length: 2\n\n{}");
  ASSERT_TRUE(parsed.done) << parsed.error;
  EXPECT_EQ(parsed.status, 200);
  EXPECT_EQ(parsed.body, "{}");
}

TEST(ResponseParser, ABodyWithoutLengthEndsWithTheConnection) {
  const std::string response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"a\":1}";
  const Parsed open = parse(response);
  EXPECT_FALSE(open.done);
  EXPECT_EQ(open.body, "{\"a\":1}");
  const Parsed closed = parse(response, 1 << 20, 1 << 16, /*eof=*/true);
  EXPECT_TRUE(closed.done);
  EXPECT_FALSE(closed.keep_alive);
  // A length-framed body cut short stays incomplete at the connection's end.
  EXPECT_FALSE(
      parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}", 1 << 20, 1 << 16, true).done);
}

TEST(ResponseParser, KeepAliveFollowsTheVersionAndConnectionOptions) {
  EXPECT_FALSE(parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").keep_alive);
  EXPECT_TRUE(
      parse("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n").keep_alive);
  EXPECT_FALSE(
      parse("HTTP/1.1 200 OK\r\nConnection: foo, CLOSE\r\nContent-Length: 0\r\n\r\n").keep_alive);
}

TEST(ResponseParser, NoBodyFollowsInterimNoContentOrNotModified) {
  for (const char* response : {"HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 204 No Content\r\n\r\n",
                               "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"}) {
    const Parsed parsed = parse(response);
    EXPECT_TRUE(parsed.done) << response;
    EXPECT_EQ(parsed.body, "");
  }
}

TEST(ResponseParser, BytesAfterTheResponseAreLeftToTheCaller) {
  // The provider will not reuse a connection holding them: they are no answer to anything.
  const Parsed parsed = parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n");
  EXPECT_TRUE(parsed.done);
  EXPECT_EQ(parsed.left, "HTTP/1.1 200 OK\r\n");
}

TEST(ResponseParser, AListOfOneRepeatedLengthIsOneLength) {
  const Parsed parsed =
      parse("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_TRUE(parsed.done) << parsed.error;
  EXPECT_EQ(parsed.body, "{}");
}

TEST(ResponseParser, RefusesAmbiguousOrMalformedFraming) {
  const std::pair<std::string, std::string> cases[] = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
       "both Transfer-Encoding and Content-Length"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
       "a Content-Length that is not one number"},
      {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "a Content-Length that is not one number"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
       "a Content-Length that is not one number"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
       "a transfer coding other than chunked"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
       "a transfer coding other than chunked"},
      {"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n", "a folded header line (obs-fold)"},
      {"HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n",
       "a header name that is empty or holds a byte names cannot hold"},
      {"HTTP/1.1 200 OK\r\nX-A: 1\r2\r\n\r\n", "a header value with a control byte"},
      {"HTTP/1.1 200 OK\r\nX-A\r\n\r\n", "a header line without a colon"},
      {"HTTP/2 200\r\n\r\n", "a status line that is not HTTP/1.x"},
      {"HTTP/1.1 20 OK\r\n\r\n", "a status line that is not HTTP/1.x"},
      {"HTTP/1.1 099 Low\r\n\r\n", "a status code below 100"},
      {"HELLO THERE\r\n\r\n", "a status line that is not HTTP/1.x"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
       "a chunk longer than its size"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
       "a chunk size line that is not a hexadecimal size"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1 x\r\n",
       "a chunk size line that is not a hexadecimal size"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
       "a chunk size too large"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n",
       "a trailer with a header line without a colon"},
  };
  for (const auto& [response, error] : cases) {
    for (const std::size_t step : {std::size_t{1}, response.size()}) {
      const Parsed parsed = parse(response, step);
      EXPECT_FALSE(parsed.done) << response;
      EXPECT_EQ(parsed.error, error) << response;
    }
  }
}

TEST(ResponseParser, HeadsAndLinesAreBounded) {
  const std::string huge_head = "HTTP/1.1 200 OK\r\nX-A: " + std::string(70 * 1024, 'a');
  for (const std::size_t step : {std::size_t{4096}, huge_head.size()}) {
    EXPECT_EQ(parse(huge_head, step).error, "a response head larger than 65536 bytes");
  }
  const std::string long_chunk_line =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + std::string(5000, 'x');
  EXPECT_EQ(parse(long_chunk_line).error, "a line longer than 4096 bytes");
}

}  // namespace
}  // namespace llm_router::upstream
