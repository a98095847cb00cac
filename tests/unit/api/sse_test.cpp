#include <gtest/gtest.h>

#include "llm_router/api/sse.hpp"

namespace llm_router::api {
namespace {

std::vector<SseEvent> feed_in_pieces(const std::string& bytes, size_t piece) {
  SseParser parser;
  std::vector<SseEvent> events;
  for (size_t i = 0; i < bytes.size(); i += piece) parser.feed(bytes.substr(i, piece), events);
  return events;
}

TEST(SseParser, EventsSplitAcrossReadsAreReassembled) {
  const std::string stream =
      "data: {\"a\":1}\n\ndata: {\"b\":2}\r\n\r\n: keep-alive\n\nevent: error\ndata: x\ndata: y\n\n"
      "data: [DONE]\n\n";
  for (size_t piece : {1u, 2u, 3u, 7u, 64u, 1000u}) {
    auto events = feed_in_pieces(stream, piece);
    ASSERT_EQ(events.size(), 4u) << "piece " << piece;
    EXPECT_EQ(events[0].data, "{\"a\":1}");
    EXPECT_EQ(events[1].data, "{\"b\":2}");
    EXPECT_EQ(events[2].event, "error");
    EXPECT_EQ(events[2].data, "x\ny");
    EXPECT_TRUE(events[3].is_done());
  }
}

// llama.cpp's server reports a failure mid-stream in a field of its own: an error event.
TEST(SseParser, LlamaCppsErrorFieldIsAnErrorEvent) {
  const auto events = feed_in_pieces(
      "data: {\"a\":1}\n\nerror: {\"code\":500,\"message\":\"failed to decode the batch\"}\n\n", 5);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].event, "error");
  EXPECT_EQ(events[1].data, R"({"code":500,"message":"failed to decode the batch"})");
}

// The SSE specification strips one byte order mark at the start of the stream.
TEST(SseParser, AByteOrderMarkAtTheStartIsNotPartOfTheFirstField) {
  for (size_t piece : {1u, 2u, 4u, 100u}) {
    auto events = feed_in_pieces(
        "\xEF\xBB\xBF"
        "data: a\n\ndata: b\n\n",
        piece);
    ASSERT_EQ(events.size(), 2u) << "piece " << piece;
    EXPECT_EQ(events[0].data, "a");
  }
}

TEST(SseParser, IncompleteEventIsHeldBack) {
  SseParser parser;
  std::vector<SseEvent> events;
  parser.feed("data: partial", events);
  EXPECT_TRUE(events.empty());
  EXPECT_GT(parser.pending_bytes(), 0u);
  parser.feed("\n\n", events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "partial");
}

// A backend that closes its stream right after its last data line (one line break or none,
// no blank line) has still sent its last chunk.
TEST(SseParser, TheEndOfTheBytesEndsTheLastEvent) {
  for (const std::string ending : {"", "\n", "\r", "\r\n"}) {
    SseParser parser;
    std::vector<SseEvent> events;
    parser.feed("data: a\n\ndata: {\"finish_reason\":\"stop\"}" + ending, events);
    ASSERT_EQ(events.size(), 1u);
    parser.finish(events);
    ASSERT_EQ(events.size(), 2u) << "ending " << ending.size();
    EXPECT_EQ(events[1].data, "{\"finish_reason\":\"stop\"}");
    EXPECT_TRUE(parser.finished());
    parser.finish(events);
    EXPECT_EQ(events.size(), 2u);
  }
  SseParser parser;
  std::vector<SseEvent> events;
  parser.feed("data: a\n\n: comment", events);
  parser.finish(events);
  EXPECT_EQ(events.size(), 1u);  // nothing but a comment was left: no event
}

TEST(SseParser, LoneCarriageReturnsEndLinesToo) {
  const std::string stream = "data: a\rdata: b\r\rdata: c\r\n\r\n";
  for (size_t piece : {1u, 2u, 5u, 100u}) {
    auto events = feed_in_pieces(stream, piece);
    ASSERT_EQ(events.size(), 2u) << "piece " << piece;
    EXPECT_EQ(events[0].data, "a\nb");
    EXPECT_EQ(events[1].data, "c");
  }
}

TEST(SseParser, EmptyDataLinesKeepTheirNewlines) {
  auto events = feed_in_pieces("data:\ndata: x\n\n", 5);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "\nx");
}

TEST(SseParser, ALongEventInManyReadsArrivesWhole) {
  // The line search resumes where it stopped (one pass over a long line, not one per read).
  const std::string big(1 << 20, 'x');
  const std::string stream = "data: a\r\n\r\ndata: " + big + "\r\n\r\ndata: [DONE]\r\n\r\n";
  for (size_t piece : {4096u, 4097u}) {
    auto events = feed_in_pieces(stream, piece);
    ASSERT_EQ(events.size(), 3u) << "piece " << piece;
    EXPECT_EQ(events[1].data, big);
    EXPECT_TRUE(events[2].is_done());
  }
}

TEST(SseEvent, SerializesMultiLineData) {
  SseEvent e{"error", "a\nb", ""};
  EXPECT_EQ(e.serialize(), "event: error\ndata: a\ndata: b\n\n");
  EXPECT_EQ((SseEvent{"", "{}", ""}).serialize(), "data: {}\n\n");
}

}  // namespace
}  // namespace llm_router::api
