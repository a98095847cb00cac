#include "llm_router/server/response_head.hpp"

#include <gtest/gtest.h>

namespace llm_router::server {
namespace {

TEST(ResponseHead, WholeResponseWithLength) {
  EXPECT_EQ(response_head(200, {{"content-type", "application/json"}}, {11, true, 42}),
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 42\r\n\r\n");
}

TEST(ResponseHead, ChunkedAndClosing) {
  EXPECT_EQ(response_head(502, {}, {11, false, std::nullopt}),
            "HTTP/1.1 502 Bad Gateway\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n");
}

TEST(ResponseHead, Http10KeepAliveSaysSoAndAStreamHasNoChunking) {
  EXPECT_EQ(response_head(200, {}, {10, true, 3}),
            "HTTP/1.0 200 OK\r\ncontent-length: 3\r\nconnection: keep-alive\r\n\r\n");
  EXPECT_EQ(response_head(200, {}, {10, false, std::nullopt}),
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
  EXPECT_EQ(response_head(200, headers, {11, true, 0}),
            "HTTP/1.1 200 OK\r\nx-ok: fine\r\ncontent-length: 0\r\n\r\n");
}

TEST(ResponseHead, ChunkSizeLineIsHex) {
  EXPECT_EQ(chunk_size_line(0), "0\r\n");
  EXPECT_EQ(chunk_size_line(255), "ff\r\n");
  EXPECT_EQ(chunk_size_line(4096), "1000\r\n");
}

}  // namespace
}  // namespace llm_router::server
