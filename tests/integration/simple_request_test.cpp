// The server's whole-request path: which requests it reads itself, and that it leaves every
// other shape to Beast's parser (fuzz_http checks that both read a request it takes alike).
#include "server/simple_request.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace llm_router::server {
namespace {

constexpr SimpleRequestLimits kLimits{1024, 64};

bool takes(std::string_view bytes, SimpleRequest* out = nullptr) {
  SimpleRequest request;
  const bool taken = scan_simple_request(bytes, kLimits, request);
  if (out != nullptr) *out = request;
  return taken;
}

TEST(SimpleRequest, APlainRequestIsReadWhole) {
  const std::string bytes =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: router\r\nX-Note:  two words \t\r\n"
      "Content-Length: 2\r\n\r\n{}GET /next HTTP/1.1\r\n\r\n";
  SimpleRequest request;
  ASSERT_TRUE(takes(bytes, &request));
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/v1/chat/completions");
  EXPECT_EQ(request.version, 11);
  ASSERT_EQ(request.field_count, 3u);
  EXPECT_EQ(request.fields[1].name, "X-Note");
  EXPECT_EQ(request.fields[1].value, "two words");
  EXPECT_EQ(request.body, "{}");
  EXPECT_TRUE(request.keep_alive);
  // A pipelined request after it stays in the buffer.
  EXPECT_EQ(bytes.substr(request.size()), "GET /next HTTP/1.1\r\n\r\n");
}

TEST(SimpleRequest, KeepAliveFollowsTheVersionAndConnection) {
  SimpleRequest request;
  ASSERT_TRUE(takes("GET / HTTP/1.0\r\n\r\n", &request));
  EXPECT_EQ(request.version, 10);
  EXPECT_FALSE(request.keep_alive);
  ASSERT_TRUE(takes("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &request));
  EXPECT_TRUE(request.keep_alive);
  ASSERT_TRUE(takes("GET / HTTP/1.1\r\nHost: a\r\nConnection: CLOSE\r\n\r\n", &request));
  EXPECT_FALSE(request.keep_alive);
}

TEST(SimpleRequest, AnIncompleteRequestWaits) {
  EXPECT_FALSE(takes("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n{}"));
  EXPECT_FALSE(takes("GET / HTTP/1.1\r\nHost: a\r\n"));
  EXPECT_FALSE(takes(""));
}

TEST(SimpleRequest, RequestsPastTheLimitsAreLeftToTheFullParser) {
  EXPECT_FALSE(takes("POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\n" + std::string(65, 'x')));
  EXPECT_TRUE(takes("POST / HTTP/1.1\r\nContent-Length: 64\r\n\r\n" + std::string(64, 'x')));
  EXPECT_FALSE(takes("GET / HTTP/1.1\r\nX: " + std::string(1024, 'x') + "\r\n\r\n"));
}

TEST(SimpleRequest, EveryOtherShapeIsLeftToTheFullParser) {
  for (const std::string_view bytes : {
           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
           "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
           "GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\n\r\n",
           "GET / HTTP/1.1\r\nProxy-Connection: close\r\n\r\n",
           "POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
           "POST / HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\n{}",
           "POST / HTTP/1.1\r\nContent-Length: +2\r\n\r\n{}",
           "GET / HTTP/1.1\nHost: a\r\n\r\n",                       // a bare LF
           "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n",  // obs-fold
           "GET / HTTP/1.1\r\nHost : a\r\n\r\n",                    // a space before the colon
           "GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n",                   // a control byte
           "GET / HTTP/2.0\r\n\r\n",
           "GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n",  // obs-text in the target
           " / HTTP/1.1\r\n\r\n",
           "GET  / HTTP/1.1\r\n\r\n",
           "GE(T / HTTP/1.1\r\n\r\n",
       }) {
    EXPECT_FALSE(takes(bytes)) << bytes;
  }
}

}  // namespace
}  // namespace llm_router::server
