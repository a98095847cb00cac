#include "llm_router/server/response_head.hpp"

#include <gtest/gtest.h>

namespace llm_router::server {
namespace {

// The head without its date line (which changes every second), checking there is one.
std::string dated(const std::string& head) {
  const std::size_t at = head.find("\r\ndate: ");
  EXPECT_NE(at, std::string::npos) << head;
  if (at == std::string::npos) return head;
  const std::size_t end = head.find("\r\n", at + 2);
  return head.substr(0, at) + head.substr(end);
}

TEST(ResponseHead, WholeResponseWithLength) {
  EXPECT_EQ(dated(response_head(200, {{"content-type", "application/json"}}, {11, true, 42})),
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 42\r\n\r\n");
}

TEST(ResponseHead, ChunkedAndClosing) {
  EXPECT_EQ(dated(response_head(502, {}, {11, false, std::nullopt})),
            "HTTP/1.1 502 Bad Gateway\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n");
}

TEST(ResponseHead, Http10KeepAliveSaysSoAndAStreamHasNoChunking) {
  EXPECT_EQ(dated(response_head(200, {}, {10, true, 3})),
            "HTTP/1.0 200 OK\r\ncontent-length: 3\r\nconnection: keep-alive\r\n\r\n");
  EXPECT_EQ(dated(response_head(200, {}, {10, false, std::nullopt})),
            "HTTP/1.0 200 OK\r\nconnection: close\r\n\r\n");
}

TEST(ResponseHead, HeadersThatCouldSplitTheResponseAreDropped) {
  const Headers headers{{"x-ok", "fine"},
                        {"x-bad", "a\r\nset-cookie: evil=1"},
                        {"bad name", "v"},
                        {"", "v"},
                        {"x-nul", std::string("a\0b", 3)},
                        {"content-length", "999"},
                        {"transfer-encoding", "gzip"},
                        {"connection", "upgrade"}};
  EXPECT_EQ(dated(response_head(200, headers, {11, true, 0})),
            "HTTP/1.1 200 OK\r\nx-ok: fine\r\ncontent-length: 0\r\n\r\n");
}

// Names and values of any length are checked at every byte (long ones 16 bytes at a time).
TEST(ResponseHead, EveryByteOfLongNamesAndValuesIsChecked) {
  const auto kept = [](const Header& header) {
    return response_head(200, {header}, {11, true, 0}).find(header.name + ": ") !=
           std::string::npos;
  };
  for (std::size_t size = 1; size <= 40; ++size) {
    const std::string name(size, 'x');
    const std::string value(size, 'v');
    EXPECT_TRUE(kept({name, value})) << size;
    EXPECT_TRUE(kept({name, std::string(size, '\t') + "\xC3\xA9~"})) << size;
    for (std::size_t at = 0; at < size; ++at) {
      for (const char bad : {'\r', '\n', '\0', '\x1F'}) {
        std::string broken = value;
        broken[at] = bad;
        EXPECT_FALSE(kept({name, broken})) << size << " " << at << " " << int(bad);
      }
      for (const char bad : {' ', ':', '@', '\x80', '\x7F'}) {
        std::string broken = name;
        broken[at] = bad;
        EXPECT_FALSE(kept({broken, value})) << size << " " << at << " " << int(bad);
      }
      for (const char unusual : {'X', '_', '.', '~', '!'}) {
        std::string token = name;
        token[at] = unusual;
        EXPECT_TRUE(kept({token, value})) << size << " " << at << " " << unusual;
      }
    }
  }
}

// Every response says when it was made (RFC 9110 section 6.6.1), once.
TEST(ResponseHead, ADateLineInTheFormatOfRfc9110) {
  const std::string head = response_head(200, {}, {11, true, 0});
  const std::size_t at = head.find("date: ");
  ASSERT_NE(at, std::string::npos) << head;
  const std::string value = head.substr(at + 6, head.find("\r\n", at) - at - 6);
  EXPECT_EQ(value.size(), 29u) << value;  // "Mon, 30 Nov 2026 07:10:00 GMT"
  EXPECT_TRUE(value.ends_with(" GMT")) << value;
  EXPECT_EQ(value[3], ',') << value;
  const std::string own =
      response_head(200, {{"date", "Sun, 06 Nov 1994 08:49:37 GMT"}}, {11, true, 0});
  EXPECT_EQ(own.find("date: "), own.rfind("date: ")) << own;
}

TEST(ResponseHead, ChunkSizeLineIsHex) {
  EXPECT_EQ(chunk_size_line(0), "0\r\n");
  EXPECT_EQ(chunk_size_line(255), "ff\r\n");
  EXPECT_EQ(chunk_size_line(4096), "1000\r\n");
}

}  // namespace
}  // namespace llm_router::server
