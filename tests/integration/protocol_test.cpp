// Bad input, limits, slow clients and graceful shutdown, against a real llm-router process.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <future>
#include <thread>

#include "integration/router_config.hpp"
#include "support/compress.hpp"
#include "support/fixtures.hpp"

namespace test_support {
namespace {

using nlohmann::json;

void expect_openai_error(const HttpResponse& response, int status, const std::string& code) {
  EXPECT_EQ(response.status, status) << response.body;
  auto body = json::parse(response.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << response.body;
  ASSERT_TRUE(body.contains("error")) << response.body;
  const auto& error = body["error"];
  EXPECT_TRUE(error["message"].is_string());
  EXPECT_TRUE(error["type"].is_string());
  EXPECT_TRUE(error.contains("param"));
  EXPECT_EQ(error["code"], code) << response.body;
}

class ProtocolTest : public ::testing::Test {
 protected:
  Router router_{
      router_config({{"builtin", ""}}, "[builtin]", "[]",
                    "  max_body_bytes: 4096\n  max_header_bytes: 2048\n  header_timeout: 300ms\n"
                    "  body_timeout: 300ms\n")};
};

TEST_F(ProtocolTest, MalformedJsonSaysWhere) {
  HttpClient client(router_.port());
  auto response =
      client.post_json("/v1/chat/completions", "{\"model\": \"auto\",\n \"messages\": [}");
  expect_openai_error(response, 400, "invalid_json");
  EXPECT_NE(json::parse(response.body)["error"]["message"].get<std::string>().find("line 2"),
            std::string::npos);
}

TEST_F(ProtocolTest, AStringCutInsideAnEmojiIsAccepted) {
  HttpClient client(router_.port());
  const auto response =
      client.post_json("/v1/chat/completions",
                       R"({"model":"auto","messages":[{"role":"user","content":"hi \ud83d"}]})");
  EXPECT_EQ(response.status, 200) << response.body;
}

TEST_F(ProtocolTest, AnEmptyBodySaysSo) {
  HttpClient client(router_.port());
  const auto response = client.post_json("/v1/chat/completions", "");
  expect_openai_error(response, 400, "invalid_json");
  EXPECT_NE(json::parse(response.body)["error"]["message"].get<std::string>().find("empty"),
            std::string::npos)
      << response.body;
}

TEST_F(ProtocolTest, MissingOrIllTypedFieldsAreNamed) {
  HttpClient client(router_.port());
  struct Case {
    std::string body;
    std::string param;
  };
  const Case cases[] = {
      {R"({"messages":[{"role":"user","content":"x"}]})", "model"},
      {R"({"model":42,"messages":[{"role":"user","content":"x"}]})", "model"},
      {R"({"model":"auto"})", "messages"},
      {R"({"model":"auto","messages":"hello"})", "messages"},
      {R"({"model":"auto","messages":[]})", "messages"},
      {R"({"model":"auto","messages":[{"content":"x"}]})", "messages[0].role"},
      {R"({"model":"auto","messages":[{"role":"user","content":"x"}],"stream":"yes"})", "stream"},
      {R"({"model":"auto","messages":[{"role":"user","content":"x"}],"tools":"str"})", "tools"},
      {R"({"model":"auto","messages":[{"role":"user","content":"x"}],"tools":[{},1]})", "tools[1]"},
      {R"({"model":"auto","messages":[{"role":"user","content":"x"}],"tool_choice":42})",
       "tool_choice"},
      {R"({"model":"auto","messages":[{"role":"user","content":"x"}],"response_format":"json"})",
       "response_format"},
      {R"([1,2,3])", ""},
      {R"({"model":"auto","messages":[{"role":"user","content":"hi"}],"stream":true,)"
       R"("stream_options":{"include_usage":"yes"}})",
       "stream_options.include_usage"},
  };
  for (const auto& c : cases) {
    auto response = client.post_json("/v1/chat/completions", c.body);
    EXPECT_EQ(response.status, 400) << c.body;
    auto error = json::parse(response.body)["error"];
    if (!c.param.empty()) {
      EXPECT_EQ(error["param"], c.param) << c.body;
    }
  }
}

TEST_F(ProtocolTest, FieldsOfUnexpectedTypesNeverBreakTheRequest) {
  HttpClient client(router_.port());
  for (
      const char* body : {
          R"({"model":"auto","messages":[{"role":"user","content":"hi"}],"response_format":{"type":5}})",
      }) {
    auto response = client.post_json("/v1/chat/completions", body);
    EXPECT_EQ(response.status, 200) << body << "\n" << response.body;
  }
  expect_openai_error(
      client.post_json(
          "/v1/chat/completions",
          R"({"model":"auto","model":"builtin","messages":[{"role":"user","content":"x"}]})"),
      400, "invalid_json");
  // A content part without a string type is refused as OpenAI refuses it, naming the part.
  const auto part = client.post_json(
      "/v1/chat/completions",
      R"({"model":"auto","messages":[{"role":"user","content":[{"type":7,"text":"hi"}]}]})");
  expect_openai_error(part, 400, "invalid_value");
  EXPECT_EQ(json::parse(part.body)["error"]["param"], "messages[0].content[0]");
}

TEST_F(ProtocolTest, UnknownModelIs404ModelNotFound) {
  HttpClient client(router_.port());
  expect_openai_error(client.post_json("/v1/chat/completions", chat_body("gpt-17")), 404,
                      "model_not_found");
  // A huge name is quoted in part, not echoed back whole.
  const auto long_name =
      client.post_json("/v1/chat/completions", chat_body(std::string(3000, 'm')));
  expect_openai_error(long_name, 404, "model_not_found");
  EXPECT_LT(long_name.body.size(), 600u) << long_name.body;
}

TEST_F(ProtocolTest, FeedbackErrorsNameTheirField) {
  HttpClient client(router_.port());
  expect_openai_error(client.post_json("/v1/feedback", "{not json"), 400, "invalid_json");
  const auto no_id = client.post_json("/v1/feedback", R"({"score":1})");
  expect_openai_error(no_id, 400, "invalid_value");
  EXPECT_EQ(json::parse(no_id.body)["error"]["param"], "request_id");
  for (const std::string score : {R"("high")", "1.5", "-0.1"}) {
    const auto bad_score =
        client.post_json("/v1/feedback", R"({"request_id":"r1","score":)" + score + "}");
    expect_openai_error(bad_score, 400, "invalid_value");
    EXPECT_EQ(json::parse(bad_score.body)["error"]["param"], "score") << score;
  }
  const auto unknown = client.post_json("/v1/feedback", R"({"request_id":"r1","score":0.5})");
  expect_openai_error(unknown, 404, "not_found");
  EXPECT_EQ(json::parse(unknown.body)["error"]["param"], "request_id");
}

TEST_F(ProtocolTest, WrongMethodIs405AndUnknownPathIs404) {
  HttpClient client(router_.port());
  auto wrong_method = client.request("GET", "/v1/chat/completions");
  expect_openai_error(wrong_method, 405, "method_not_allowed");
  EXPECT_EQ(wrong_method.header("allow"), "POST");
  EXPECT_NE(wrong_method.body.find("GET is not allowed on /v1/chat/completions"), std::string::npos)
      << wrong_method.body;
  expect_openai_error(client.request("GET", "/v1/nothing-here"), 404, "unknown_url");
  // A path several methods answer lists them all.
  auto put = client.request("PUT", "/v1/responses/resp_1");
  expect_openai_error(put, 405, "method_not_allowed");
  EXPECT_EQ(put.header("allow"), "GET, HEAD, POST, DELETE");
}

TEST_F(ProtocolTest, OversizedBodyIs413) {
  HttpClient client(router_.port());
  expect_openai_error(
      client.post_json("/v1/chat/completions", chat_body("auto", std::string(8000, 'a'))), 413,
      "request_too_large");
}

// Refused before any handler ran, still with an id to quote to the operator: the client's own
// when its head was read, else a new one.
TEST_F(ProtocolTest, RefusalsBeforeRoutingCarryARequestId) {
  HttpClient client(router_.port());
  const auto oversized =
      client.post_json("/v1/chat/completions", chat_body("auto", std::string(8000, 'a')),
                       {{"x-request-id", "client-trace-413"}});
  EXPECT_EQ(oversized.status, 413);
  EXPECT_EQ(oversized.header("x-request-id"), "client-trace-413");
  HttpClient other(router_.port());
  const auto too_long_headers = other.raw(
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(20000, 'p') + "\r\n\r\n");
  EXPECT_EQ(too_long_headers.status, 431);
  EXPECT_TRUE(too_long_headers.header("x-request-id").starts_with("req-"))
      << too_long_headers.header("x-request-id");
  // And counted, by code (the log is not the only place a flood of them shows).
  const auto metrics = HttpClient(router_.port()).request("GET", "/metrics").body;
  for (const char* code : {"request_too_large", "headers_too_large"}) {
    const std::string series = std::string("llm_router_requests_refused_total{code=\"") + code;
    EXPECT_NE(metrics.find(series), std::string::npos) << series << "\n" << metrics;
  }
}

// A client still uploading an oversized body reads the 413, not a reset connection: the router
// drains what it sends after the refusal before closing (a lingering close).
TEST_F(ProtocolTest, AClientStillSendingAnOversizedBodyReadsThe413) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect(
      {asio::ip::make_address("127.0.0.1"), static_cast<asio::ip::port_type>(router_.port())});
  const std::string body(4 << 20, 'a');
  const std::string head =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n";
  boost::system::error_code ec;
  asio::write(socket, asio::buffer(head + body), ec);
  EXPECT_FALSE(ec) << "the upload was cut: " << ec.message();
  socket.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  std::string reply;
  char buffer[4096];
  while (!ec && reply.size() < (1 << 20)) {
    const std::size_t n = socket.read_some(asio::buffer(buffer), ec);
    reply.append(buffer, n);
  }
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 413 ")) << reply.substr(0, 200) << " / " << ec.message();
}

TEST_F(ProtocolTest, OversizedChunkedBodyIs413) {
  HttpClient client(router_.port());
  std::string chunk(6000, 'a');
  char size[16];
  std::snprintf(size, sizeof size, "%zx", chunk.size());
  auto response = client.raw(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
      std::string(size) + "\r\n" + chunk + "\r\n0\r\n\r\n");
  expect_openai_error(response, 413, "request_too_large");
}

TEST_F(ProtocolTest, AChunkedBodyIsReadWhole) {
  HttpClient client(router_.port());
  const std::string body = chat_body("auto", "a body sent in two chunks");
  const auto chunk = [](const std::string& piece) {
    char size[16];
    std::snprintf(size, sizeof size, "%zx", piece.size());
    return std::string(size) + "\r\n" + piece + "\r\n";
  };
  auto response = client.raw(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n" +
      chunk(body.substr(0, 17)) + chunk(body.substr(17)) + "0\r\n\r\n");
  EXPECT_EQ(response.status, 200) << response.body;
}

TEST_F(ProtocolTest, ABodySentWithExpectContinueIsServed) {
  HttpClient client(router_.port());
  const auto response = client.request("POST", "/v1/chat/completions", chat_body("auto"),
                                       {{"expect", "100-continue"}});
  EXPECT_EQ(response.status, 200) << response.body;
}

TEST_F(ProtocolTest, ExpectContinueIsAnsweredBeforeTheBodyIsSent) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect(
      {asio::ip::make_address("127.0.0.1"), static_cast<asio::ip::port_type>(router_.port())});
  const std::string body = chat_body("auto");
  asio::write(socket, asio::buffer("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                                   "Content-Type: application/json\r\nExpect: 100-continue\r\n"
                                   "Content-Length: " +
                                   std::to_string(body.size()) + "\r\n\r\n"));
  asio::streambuf reply;
  const auto read_head = [&] {
    const std::size_t n = asio::read_until(socket, reply, "\r\n\r\n");
    std::string head(asio::buffers_begin(reply.data()), asio::buffers_begin(reply.data()) + n);
    reply.consume(n);
    return head;
  };
  EXPECT_TRUE(read_head().starts_with("HTTP/1.1 100 Continue")) << "no interim answer";
  asio::write(socket, asio::buffer(body));
  EXPECT_TRUE(read_head().starts_with("HTTP/1.1 200 ")) << "the request was not served";
}

// A head that asks for 100-continue and that the router refuses by itself is answered at once:
// the client never sends the body, and the connection closes after the answer.
std::string head_expecting_continue(const std::string& method, const std::string& path) {
  return method + " " + path +
         " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         "Expect: 100-continue\r\nContent-Length: 4000\r\n\r\n";
}

TEST_F(ProtocolTest, ExpectContinueToAnUnknownPathIsRefusedWithoutTheBody) {
  HttpClient client(router_.port());
  const auto response = client.raw(head_expecting_continue("POST", "/v1/chat/complete"));
  expect_openai_error(response, 404, "unknown_url");
  EXPECT_EQ(response.headers.at("connection"), "close");
  const auto wrong_method = client.raw(head_expecting_continue("PUT", "/v1/chat/completions"));
  EXPECT_EQ(wrong_method.status, 405) << wrong_method.body;
}

// server.max_body_memory bounds the request bodies held at once: an upload that would pass it
// is refused (429 router_overloaded, retryable), and the memory is given back when one ends.
TEST(BodyMemory, UploadsPastTheBudgetAreRefused) {
  namespace asio = boost::asio;
  Router router(router_config({{"builtin", ""}}, "[builtin]", "[]",
                              "  threads: 1\n  max_body_bytes: 1048576\n"
                              "  max_body_memory: 1048576\n  body_timeout: 2s\n"));
  const auto head = [](std::size_t length) {
    return "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           "Content-Length: " +
           std::to_string(length) + "\r\n\r\n";
  };
  // A slow upload sends 600 KB of its 700 KB; another sends all of its 700 KB. Together they
  // pass the 1 MiB budget: whichever the router reads last is refused.
  asio::io_context io;
  asio::ip::tcp::socket slow(io);
  slow.connect(
      {asio::ip::make_address("127.0.0.1"), static_cast<asio::ip::port_type>(router.port())});
  asio::write(slow, asio::buffer(head(700000) + std::string(600000, ' ')));
  HttpClient second(router.port());
  const int second_status = second.raw(head(700000) + std::string(700000, ' ')).status;
  asio::streambuf reply;
  boost::system::error_code ec;
  asio::read_until(slow, reply, "\r\n\r\n", ec);
  const std::string slow_head(asio::buffers_begin(reply.data()), asio::buffers_end(reply.data()));
  const bool slow_refused = slow_head.starts_with("HTTP/1.1 429");
  EXPECT_TRUE(slow_refused || second_status == 429) << second_status << " / " << slow_head;
  EXPECT_FALSE(slow_refused && second_status == 429) << "one of them fits";
  slow.close();
  // Both ended: their bytes are given back, and a whole request of that size is served.
  const std::string body = chat_body("auto", std::string(600000, 'a'));
  int status = 0;
  for (int attempt = 0; attempt < 50 && status != 200; ++attempt) {
    HttpClient client(router.port());
    status = client.post_json("/v1/chat/completions", body).status;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(status, 200);
}

// Everything the router sends on a fresh connection for `bytes`, up to its close.
std::string all_replies(int port, const std::string& bytes) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), static_cast<asio::ip::port_type>(port)});
  asio::write(socket, asio::buffer(bytes));
  std::string replies;
  char buffer[4096];
  boost::system::error_code ec;
  while (!ec && replies.size() < (1 << 20)) {
    const std::size_t n = socket.read_some(asio::buffer(buffer), ec);
    replies.append(buffer, n);
  }
  return replies;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

TEST_F(ProtocolTest, AnyTransferCodingButChunkedIsRefusedAndNothingIsSmuggled) {
  // Read as "no body", the body below would run as a second request on the connection.
  const std::string smuggled = "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n";
  for (const std::string coding :
       {"identity", "xchunked", "gzip", "chunked, identity", "gzip, chunked", "chunked, chunked"}) {
    const std::string replies =
        all_replies(router_.port(),
                    "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                    "Content-Type: application/json\r\nTransfer-Encoding: " +
                        coding + "\r\n\r\n" + smuggled);
    EXPECT_TRUE(replies.starts_with("HTTP/1.1 400 ")) << coding << ": " << replies;
    EXPECT_EQ(count_of(replies, "HTTP/1.1 "), 1u) << coding << ": " << replies;
    EXPECT_EQ(replies.find("\"object\":\"list\""), std::string::npos) << coding;
  }
  // Two Transfer-Encoding fields are one list: "chunked" twice is refused too.
  const std::string twice =
      all_replies(router_.port(),
                  "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                  "chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_TRUE(twice.starts_with("HTTP/1.1 400 ")) << twice;
  // An empty Transfer-Encoding beside a Content-Length: framed by neither, refused.
  const std::string body = chat_body("auto");
  const std::string empty =
      all_replies(router_.port(),
                  "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                  "\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_TRUE(empty.starts_with("HTTP/1.1 400 ")) << empty;
  EXPECT_EQ(count_of(empty, "HTTP/1.1 "), 1u) << empty;
  // HTTP/1.0 has no Transfer-Encoding: its framing is faulty (RFC 9112 section 6.1).
  const std::string old = all_replies(
      router_.port(),
      "POST /v1/chat/completions HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_TRUE(old.starts_with("HTTP/1.1 400 ")) << old;
  EXPECT_EQ(count_of(old, "HTTP/1.1 "), 1u) << old;
}

std::string chunked_post(const std::string& body, const std::string& trailers,
                         const std::string& extension = "") {
  char size[16];
  std::snprintf(size, sizeof size, "%zx", body.size());
  return "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
         std::string(size) + extension + "\r\n" + body + "\r\n0\r\n" + trailers + "\r\n";
}

// Trailer fields never count as headers (RFC 9110 section 6.5.1): a Content-Encoding or an
// X-Request-Id there changes nothing.
TEST_F(ProtocolTest, TrailerFieldsAreNotHeaders) {
  const std::string gzipped = compress(chat_body("auto"), /*gzip=*/true);
  const std::string decoded =
      all_replies(router_.port(), chunked_post(gzipped, "Content-Encoding: gzip\r\n"));
  EXPECT_TRUE(decoded.starts_with("HTTP/1.1 400 ")) << decoded;
  const std::string named = all_replies(
      router_.port(), chunked_post(chat_body("auto"), "X-Request-Id: from-trailer\r\n"));
  EXPECT_TRUE(named.starts_with("HTTP/1.1 200 ")) << named;
  EXPECT_EQ(named.find("from-trailer"), std::string::npos) << named;
}

// What the parser must hold at once is bounded: a long trailer section is refused (431), a
// long chunk extension too (400), instead of being buffered whatever its size.
TEST_F(ProtocolTest, TrailersAndChunkExtensionsAreBounded) {
  std::string trailers;
  while (trailers.size() < 96 * 1024) trailers += "X-Padding: aaaaaaaaaaaaaaaaaaaaaaaa\r\n";
  const std::string long_trailers =
      all_replies(router_.port(), chunked_post(chat_body("auto"), trailers));
  EXPECT_TRUE(long_trailers.starts_with("HTTP/1.1 431 ")) << long_trailers.substr(0, 300);
  const std::string long_extension = all_replies(
      router_.port(), chunked_post(chat_body("auto"), "", ";e=" + std::string(5000, 'a')));
  EXPECT_TRUE(long_extension.starts_with("HTTP/1.1 400 ")) << long_extension.substr(0, 300);
  EXPECT_NE(long_extension.find("chunk extension"), std::string::npos) << long_extension;
  // Short ones are fine.
  const std::string fine = all_replies(
      router_.port(), chunked_post(chat_body("auto"), "X-Checksum: abc\r\n", ";name=value"));
  EXPECT_TRUE(fine.starts_with("HTTP/1.1 200 ")) << fine;
}

// Lines of one field are one list: two Content-Encoding lines are read as "gzip, br".
TEST_F(ProtocolTest, RepeatedContentEncodingLinesAreOneList) {
  HttpClient client(router_.port());
  const std::string gzipped = compress(chat_body("auto"), /*gzip=*/true);
  const auto response = client.raw(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/json\r\nContent-Encoding: gzip\r\n"
      "Content-Encoding: br\r\nContent-Length: " +
      std::to_string(gzipped.size()) + "\r\n\r\n" + gzipped);
  EXPECT_EQ(response.status, 415) << response.body;
}

// RFC 9112 section 3.2: a target is a path, an absolute URI or * (OPTIONS only); a Host is a
// name or address with an optional port.
TEST_F(ProtocolTest, RequestTargetsAndHostsAreChecked) {
  for (const std::string line :
       {"GET * HTTP/1.1", "POST v1/chat/completions HTTP/1.1", "GET /healthz#frag HTTP/1.1"}) {
    const std::string reply = all_replies(router_.port(), line + "\r\nHost: x\r\n\r\n");
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 400 ")) << line << ": " << reply;
  }
  const std::string options =
      all_replies(router_.port(), "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(options.starts_with("HTTP/1.1 204 ")) << options;
  EXPECT_NE(options.find("allow: GET, HEAD, POST, OPTIONS"), std::string::npos) << options;
  const std::string upper = all_replies(
      router_.port(), "GET HTTP://X/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(upper.starts_with("HTTP/1.1 200 ")) << upper;
  for (const std::string host : {"a b", "a/b", "x:notaport", "[::1", "user@host"}) {
    const std::string reply =
        all_replies(router_.port(), "GET /healthz HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 400 ")) << host << ": " << reply;
  }
  for (const std::string host : {"localhost:8080", "[::1]:8080", "my_service", "127.0.0.1"}) {
    const std::string reply = all_replies(
        router_.port(), "GET /healthz HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 200 ")) << host << ": " << reply;
  }
}

TEST_F(ProtocolTest, AnHttp11RequestNeedsExactlyOneHost) {
  const std::string none = all_replies(router_.port(), "GET /v1/models HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(none.starts_with("HTTP/1.1 400 ")) << none;
  EXPECT_NE(none.find("needs a Host header"), std::string::npos) << none;
  const std::string two =
      all_replies(router_.port(), "GET /v1/models HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
  EXPECT_TRUE(two.starts_with("HTTP/1.1 400 ")) << two;
  EXPECT_NE(two.find("more than one Host"), std::string::npos) << two;
  EXPECT_EQ(count_of(two, "HTTP/1.1 "), 1u) << two;
  // HTTP/1.0 had no Host requirement, but two of them are refused in any version (RFC 9112
  // section 3.2): a proxy and the router could each read a different one.
  const std::string old = all_replies(router_.port(), "GET /v1/models HTTP/1.0\r\n\r\n");
  EXPECT_NE(old.find(" 200 "), std::string::npos) << old;
  const std::string old_two =
      all_replies(router_.port(), "GET /v1/models HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n");
  EXPECT_NE(old_two.find(" 400 "), std::string::npos) << old_two;
  EXPECT_NE(old_two.find("more than one Host"), std::string::npos) << old_two;
}

TEST_F(ProtocolTest, CompressedBodiesAreDecodedOrRefusedClearly) {
  HttpClient client(router_.port());
  const std::string body = chat_body("auto", "sent compressed");
  for (const bool gzip : {true, false}) {
    const auto response = client.post_json("/v1/chat/completions", compress(body, gzip),
                                           {{"content-encoding", gzip ? "gzip" : "deflate"}});
    EXPECT_EQ(response.status, 200) << response.body;
  }
  expect_openai_error(
      client.post_json("/v1/chat/completions", "not gzip at all", {{"content-encoding", "gzip"}}),
      400, "invalid_encoding");
  expect_openai_error(client.post_json("/v1/chat/completions", compress(body, true).substr(0, 30),
                                       {{"content-encoding", "gzip"}}),
                      400, "invalid_encoding");
  expect_openai_error(client.post_json("/v1/chat/completions", body, {{"content-encoding", "br"}}),
                      415, "unsupported_encoding");
  // Small on the wire, past max_body_bytes (4096 here) once decoded.
  const std::string bomb = compress(chat_body("auto", std::string(100'000, 'a')), true);
  ASSERT_LT(bomb.size(), 4096u);
  expect_openai_error(
      client.post_json("/v1/chat/completions", bomb, {{"content-encoding", "gzip"}}), 413,
      "request_too_large");
}

// A compressed body may expand 100 times past 1 MiB: 8 KB of gzip that decode to 4 MB of
// `[0,0,...]` are refused before anything reads them; a compressible request under 1 MiB is not.
TEST(CompressedBodies, ExpandingAHundredTimesPastOneMebibyteIsRefused) {
  Router router(router_config({{"a", ""}}, "[a]"));  // max_body_bytes: the default 8 MiB
  HttpClient client(router.port());
  std::string zeros = "0";
  for (int i = 1; i < 2'000'000; ++i) zeros += ",0";
  const std::string bomb = compress(chat_body("auto", "hi", R"(,"x":[)" + zeros + "]"), true);
  ASSERT_LT(bomb.size() * 100, zeros.size());
  const auto refused =
      client.post_json("/v1/chat/completions", bomb, {{"content-encoding", "gzip"}});
  expect_openai_error(refused, 413, "request_too_large");
  EXPECT_NE(refused.body.find("100 times its compressed size"), std::string::npos) << refused.body;
  const std::string repetitive = compress(chat_body("auto", std::string(900'000, 'a')), true);
  EXPECT_EQ(
      client.post_json("/v1/chat/completions", repetitive, {{"content-encoding", "gzip"}}).status,
      200);
}

TEST_F(ProtocolTest, HeadIsAnsweredLikeGetWithoutABody) {
  const auto head_of = [&](const std::string& path) {
    return all_replies(router_.port(),
                       "HEAD " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  };
  for (const std::string path : {"/healthz", "/v1/models"}) {
    const std::string reply = head_of(path);
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 200 ")) << path << ": " << reply;
    EXPECT_NE(reply.find("content-length: "), std::string::npos) << reply;
    EXPECT_TRUE(reply.ends_with("\r\n\r\n")) << path << ": a body followed: " << reply;
  }
  const std::string refused = head_of("/v1/chat/completions");
  EXPECT_TRUE(refused.starts_with("HTTP/1.1 405 ")) << refused;
  EXPECT_TRUE(refused.ends_with("\r\n\r\n")) << refused;
}

TEST_F(ProtocolTest, AnEmptyLineAfterABodyIsNotTakenForTheNextRequest) {
  const std::string body = chat_body("auto");
  const std::string request =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body + "\r\n";
  const std::string replies = all_replies(
      router_.port(),
      "\r\n" + request + request + "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(count_of(replies, "HTTP/1.1 200 "), 3u) << replies;
  // Endless empty lines are not a request.
  HttpClient client(router_.port());
  EXPECT_EQ(client.raw(std::string(64, '\n')).status, 400);
}

TEST_F(ProtocolTest, AnAbsoluteFormTargetNamesTheSamePath) {
  HttpClient client(router_.port());
  EXPECT_EQ(client.post_json("http://127.0.0.1/v1/chat/completions", chat_body("auto")).status,
            200);
  EXPECT_EQ(client.request("GET", "https://router.internal:8080/healthz?probe=1").status, 200);
}

TEST_F(ProtocolTest, OversizedHeadersAre431) {
  HttpClient client(router_.port());
  expect_openai_error(client.request("GET", "/healthz", "", {{"x-big", std::string(4000, 'b')}}),
                      431, "headers_too_large");
}

TEST_F(ProtocolTest, AnOversizedRequestLineIs414) {
  HttpClient client(router_.port());
  expect_openai_error(client.request("GET", "/healthz?q=" + std::string(9000, 'q')), 414,
                      "uri_too_long");
  // A request line that never ends is as long.
  HttpClient endless(router_.port());
  expect_openai_error(endless.raw("GET /" + std::string(9000, 'q')), 414, "uri_too_long");
}

TEST_F(ProtocolTest, AnExpectationOtherThanContinueIs417) {
  HttpClient client(router_.port());
  expect_openai_error(client.request("GET", "/healthz", "", {{"expect", "bar"}}), 417,
                      "expectation_failed");
  // HTTP/1.0 has no expectations: the header is ignored.
  HttpClient old(router_.port());
  EXPECT_EQ(old.raw("GET /healthz HTTP/1.0\r\nExpect: bar\r\n\r\n").status, 200);
}

TEST_F(ProtocolTest, GarbageRequestLineIs400) {
  HttpClient client(router_.port());
  auto response = client.raw("THIS IS NOT HTTP\r\n\r\n");
  EXPECT_EQ(response.status, 400);
}

TEST_F(ProtocolTest, SlowClientIsCutOffAfterTheHeaderTimeout) {
  HttpClient client(router_.port(), std::chrono::seconds(10));
  // Half a head, then silence: a 408 and the connection closed.
  auto response = client.raw("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n");
  expect_openai_error(response, 408, "request_timeout");
  // A body shorter than its Content-Length (characters counted instead of bytes): the same.
  HttpClient short_body(router_.port(), std::chrono::seconds(10));
  expect_openai_error(short_body.raw("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                                     "Content-Length: 100\r\n\r\n{\"model\":"),
                      408, "request_timeout");
  // The router still serves others.
  HttpClient other(router_.port());
  EXPECT_EQ(other.request("GET", "/healthz").status, 200);
}

// A connection that never sends a byte is closed after header_timeout (300 ms here), not
// idle_timeout (75 s): it would hold a connection slot.
TEST_F(ProtocolTest, AConnectionThatSendsNothingIsClosedAfterTheHeaderTimeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(router_.port()));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  timeval wait{};
  wait.tv_sec = 10;  // far beyond the header timeout, far below the idle timeout
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  char byte = 0;
  EXPECT_EQ(::recv(fd, &byte, 1, 0), 0);  // the router closed it, silently
  ::close(fd);
}

TEST_F(ProtocolTest, KeepAliveServesManyRequestsOnOneConnection) {
  HttpClient client(router_.port());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(client.post_json("/v1/chat/completions", chat_body("auto")).status, 200);
    EXPECT_TRUE(client.connected());
  }
}

TEST(Shutdown, SigtermLetsAStreamInFlightFinishThenExitsZero) {
  MockLlm slow({"--tokens", "40", "--token-delay-ms", "25"});
  Router router(router_config({{"slow", slow.url()}}, "[slow]"));
  std::promise<void> first_chunk;
  auto streamed = std::async(std::launch::async, [&] {
    HttpClient client(router.port());
    bool signalled = false;
    return client.stream("/v1/chat/completions", chat_body("auto", "x", R"(,"stream":true)"),
                         [&](const std::string&) {
                           if (!signalled) first_chunk.set_value();
                           signalled = true;
                           return true;
                         });
  });
  ASSERT_EQ(first_chunk.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  router.process().signal(SIGTERM);
  auto response = streamed.get();
  EXPECT_EQ(response.status, 200);
  EXPECT_FALSE(response.closed_early);
  EXPECT_EQ(sse_data(response.body).back(), "[DONE]");
  EXPECT_EQ(router.process().wait(std::chrono::seconds(15)), 0);
}

// server.shutdown_delay: after SIGTERM readiness fails at once, but new connections are still
// served until the delay ends (a load balancer takes a while to stop sending); then the drain.
TEST(Shutdown, ShutdownDelayServesOnWhileReadinessFails) {
  Router router(router_config({{"builtin", ""}}, "[builtin]", "[]", "  shutdown_delay: 4s\n"));
  HttpClient prober(router.port());
  ASSERT_EQ(prober.request("GET", "/readyz").status, 200);
  router.process().signal(SIGTERM);
  EXPECT_TRUE(eventually([&] { return prober.request("GET", "/readyz").status == 503; }));
  HttpClient late(router.port());  // a new connection, after the signal
  const auto answer = late.post_json("/v1/chat/completions", chat_body("auto"));
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(router.process().wait(std::chrono::seconds(20)), 0);
}

TEST(Check, ReportsEveryErrorWithFileLineAndColumn) {
  TempFile config("bad.yaml",
                  "server:\n  listen: nowhere\nbackends:\n  - name: a\n    provider: openai\n"
                  "    base_url: ftp://x\n    colour: blue\nroutes:\n  - name: auto\n"
                  "    use: [missing]\n");
  ChildProcess check({LLM_ROUTER_BIN, "check", "--config", config.path()});
  EXPECT_EQ(check.wait(std::chrono::seconds(10)), 1);
}

// A request log the service could not write is located like every other config problem.
TEST(Check, AnUnwritableRequestLogIsLocated) {
  TempFile config("log.yaml",
                  "backends:\n  - {name: a, provider: mock}\nroutes:\n  - {name: auto, use: [a]}\n"
                  "request_log:\n  path: /proc/no-such-dir/requests.jsonl\n");
  ChildProcess check({"/bin/bash", "-c",
                      std::string(LLM_ROUTER_BIN) + " check --config " + config.path() + " 2>&1"});
  const auto line = check.wait_for_line("request_log.path", std::chrono::seconds(20));
  ASSERT_TRUE(line);
  EXPECT_NE(line->find(config.path() + ":6:9: request_log.path: cannot append"), std::string::npos)
      << *line;
  EXPECT_EQ(check.wait(std::chrono::seconds(10)), 1);
}

// The bandit's state file is first written 30 s in: a path it can never be written to (a
// read-only root filesystem) stops check and serve at once instead.
TEST(Check, AStateFileThatCannotBeWrittenStopsCheckAndServe) {
  TempFile config("state.yaml",
                  "server:\n  state_file: /proc/no-such-dir/state.json\nbackends:\n"
                  "  - {name: a, provider: mock}\nroutes:\n  - {name: auto, use: [a]}\n");
  for (const char* command : {" check --config ", " serve --listen 127.0.0.1:0 --config "}) {
    ChildProcess run(
        {"/bin/bash", "-c", std::string(LLM_ROUTER_BIN) + command + config.path() + " 2>&1"});
    const auto line = run.wait_for_line("server.state_file", std::chrono::seconds(20));
    ASSERT_TRUE(line) << command;
    EXPECT_NE(line->find("no directory '/proc/no-such-dir'"), std::string::npos) << *line;
    EXPECT_EQ(run.wait(std::chrono::seconds(10)), 1) << command;
  }
}

// A rule on a category the loaded model does not have would never match: a config error.
TEST(Check, ARuleOnACategoryTheModelLacksIsAnError) {
  const std::string models = std::string(LLM_ROUTER_SOURCE_DIR) + "/config/models/";
  TempFile config("category.yaml",
                  "analyzer:\n  category_model: " + models + "category.model\n" +
                      "  sentiment_lexicon: " + models + "vader_lexicon.txt\n" +
                      "  sentiment_model: " + models +
                      "sentiment.json\nbackends:\n  - name: a\n    provider: mock\n"
                      "routes:\n  - name: auto\n    use: [a]\n    rules:\n"
                      "      - {name: r, when: {category: [cod]}, use: [a]}\n"
                      "      - {name: s, when: {category: [mathh]}, use: [a]}\n");
  ChildProcess check({"/bin/bash", "-c",
                      std::string(LLM_ROUTER_BIN) + " check --config " + config.path() + " 2>&1"});
  const auto line = check.wait_for_line("category 'cod'", std::chrono::seconds(20));
  ASSERT_TRUE(line) << "no error naming the category";
  // FILE:LINE:COL: PATH: MESSAGE, as every config error, and every such rule is named.
  EXPECT_NE(line->find(config.path() + ":12:25: "), std::string::npos) << *line;
  EXPECT_NE(line->find("routes[0].rules[0].when"), std::string::npos) << *line;
  const auto second = check.wait_for_line("category 'mathh'", std::chrono::seconds(20));
  ASSERT_TRUE(second) << "the second rule's problem was not reported";
  EXPECT_NE(second->find("routes[0].rules[1].when"), std::string::npos) << *second;
  EXPECT_EQ(check.wait(std::chrono::seconds(10)), 1);
}

// Without the model a rule tests, it would match every request (complexity reads 0.5) or none:
// also a config error, whichever signal it is and however deep in the condition.
TEST(Check, ARuleOnASignalWithoutItsModelIsAnError) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"{complexity: {min: 0.3}}", "no complexity model"},
      {"{any: [{keywords: [python]}, {category: [code]}]}", "no category model"},
      {"{sentiment: {max: -0.3}}", "sentiment is not scored"},
      {"{pii: true}", "PII is not looked for"},
  };
  for (const auto& [when, expected] : cases) {
    // (PII off: the compliance rule would never fire.)
    const std::string analyzer = when.find("pii") != std::string::npos
                                     ? "analyzer:\n  detectors: {pii: false, sentiment: false}\n"
                                     : "";
    TempFile config("no-model.yaml",
                    analyzer +
                        "backends:\n  - name: a\n    provider: mock\nroutes:\n  - name: auto\n"
                        "    use: [a]\n    rules:\n      - {name: r, when: " +
                        when + ", use: [a]}\n");
    ChildProcess check(
        {"/bin/bash", "-c",
         std::string(LLM_ROUTER_BIN) + " check --config " + config.path() + " 2>&1"});
    const auto line = check.wait_for_line(expected, std::chrono::seconds(20));
    ASSERT_TRUE(line) << "no error for " << when;
    EXPECT_NE(line->find("routes[0].rules[0].when"), std::string::npos) << *line;
    EXPECT_EQ(check.wait(std::chrono::seconds(10)), 1) << when;
  }
}

// check validates the request log's path without creating the file: made by root's check, it
// would keep a service running as its own user from opening it.
TEST(Check, TheRequestLogIsCheckedNotCreated) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("check-log-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto log = dir / "requests.jsonl";
  const std::string backends =
      "backends:\n  - name: a\n    provider: mock\n"
      "routes:\n  - name: auto\n    use: [a]\n";
  TempFile config("log.yaml", "request_log: {path: " + log.string() + "}\n" + backends);
  ChildProcess check({LLM_ROUTER_BIN, "check", "--config", config.path()});
  EXPECT_EQ(check.wait(std::chrono::seconds(20)), 0);
  EXPECT_FALSE(std::filesystem::exists(log));
  TempFile nowhere(
      "nowhere.yaml",
      "request_log: {path: " + (dir / "missing" / "requests.jsonl").string() + "}\n" + backends);
  ChildProcess refused(
      {"/bin/bash", "-c",
       std::string(LLM_ROUTER_BIN) + " check --config " + nowhere.path() + " 2>&1"});
  EXPECT_TRUE(refused.wait_for_line("cannot append to", std::chrono::seconds(20)));
  EXPECT_EQ(refused.wait(std::chrono::seconds(10)), 1);
  std::filesystem::remove_all(dir);
}

TEST(Check, ShippedConfigsAreValid) {
  std::vector<std::string> configs{std::string(LLM_ROUTER_SOURCE_DIR) + "/config/llm-router.yaml"};
  for (const auto& entry : std::filesystem::directory_iterator(std::string(LLM_ROUTER_SOURCE_DIR) +
                                                               "/config/examples")) {
    if (entry.path().extension() == ".yaml") configs.push_back(entry.path().string());
  }
  ASSERT_GE(configs.size(), 6u);
  for (const auto& path : configs) {
    ChildProcess check({LLM_ROUTER_BIN, "check", "--config", path});
    EXPECT_EQ(check.wait(std::chrono::seconds(20)), 0) << path;
  }
}

}  // namespace
}  // namespace test_support
