#include "llm_router/api/image_tokens.hpp"

#include <gtest/gtest.h>

#include <string>

#include "llm_router/api/json_parse.hpp"
#include "llm_router/api/openai_request.hpp"
#include "llm_router/core/base64.hpp"

namespace llm_router::api {
namespace {

std::string big_endian(std::uint32_t value, int bytes) {
  std::string out;
  for (int i = bytes; i-- > 0;) out += static_cast<char>((value >> (8 * i)) & 0xFF);
  return out;
}

std::string little_endian(std::uint32_t value, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((value >> (8 * i)) & 0xFF);
  return out;
}

std::string png(std::uint32_t width, std::uint32_t height) {
  return std::string("\x89PNG\r\n\x1a\n", 8) + big_endian(13, 4) + "IHDR" + big_endian(width, 4) +
         big_endian(height, 4) + std::string("\x08\x06\x00\x00\x00", 5) + "pixels follow";
}

// A JPEG whose frame header comes after an APP1 (EXIF) segment of `exif_bytes`.
std::string jpeg(std::uint32_t width, std::uint32_t height, std::size_t exif_bytes,
                 char frame_marker = '\xC2') {
  std::string out("\xFF\xD8\xFF\xE0", 4);
  out += big_endian(16, 2) + std::string("JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00", 14);
  out += std::string("\xFF\xE1", 2) + big_endian(static_cast<std::uint32_t>(exif_bytes + 2), 2);
  out += std::string(exif_bytes, 'x');
  out += std::string("\xFF\xFF\xC4", 3) + big_endian(5, 2) + "abc";  // fill byte, a table
  out += std::string("\xFF") + frame_marker + big_endian(17, 2) + '\x08' + big_endian(height, 2) +
         big_endian(width, 2) + std::string(12, '\x01');
  return out + std::string("\xFF\xDA", 2) + "scan";
}

std::string data_url(const std::string& bytes, std::string_view type = "image/png") {
  return "data:" + std::string(type) + ";base64," + core::base64_encode(bytes);
}

std::optional<std::pair<std::uint32_t, std::uint32_t>> size_of(const std::string& url) {
  const auto size = data_url_image_size(url);
  if (!size) return std::nullopt;
  return std::pair{size->width, size->height};
}

using Size = std::pair<std::uint32_t, std::uint32_t>;

TEST(ImageSize, ReadFromTheHeadersOfEachFormat) {
  EXPECT_EQ(size_of(data_url(png(1024, 768))), Size(1024, 768));
  EXPECT_EQ(size_of(data_url("GIF89a" + little_endian(300, 2) + little_endian(200, 2) + "rest")),
            Size(300, 200));
  EXPECT_EQ(size_of(data_url(jpeg(640, 480, 20))), Size(640, 480));
  EXPECT_EQ(size_of(data_url(jpeg(4032, 3024, 30000, '\xC0'))), Size(4032, 3024));  // past EXIF
  const std::string riff = "RIFF" + little_endian(1000, 4) + "WEBP";
  EXPECT_EQ(size_of(data_url(riff + "VP8X" + little_endian(10, 4) + little_endian(0, 4) +
                             little_endian(799, 3) + little_endian(599, 3))),
            Size(800, 600));
  EXPECT_EQ(size_of(data_url(riff + "VP8L" + little_endian(10, 4) + "\x2f" +
                             little_endian((99u << 14) | 199u, 4))),
            Size(200, 100));
  EXPECT_EQ(size_of(data_url(riff + "VP8 " + little_endian(10, 4) + "abc\x9d\x01\x2a" +
                             little_endian(320, 2) + little_endian(240, 2))),
            Size(320, 240));
}

TEST(ImageSize, TheDataUrlsOwnWordsAreCaseBlindAndUrlSafeBase64Reads) {
  std::string url_safe = core::base64_encode(png(2000, 3000));
  for (char& c : url_safe) c = c == '+' ? '-' : c == '/' ? '_' : c;
  EXPECT_EQ(size_of("DATA:image/png;BASE64," + url_safe), Size(2000, 3000));
  EXPECT_EQ(base64_image_size(core::base64_encode(png(5, 7)))->height, 7u);  // bare (Anthropic)
}

TEST(ImageSize, AnythingElseHasNone) {
  EXPECT_FALSE(size_of("https://example.com/cat.png"));
  EXPECT_FALSE(size_of("data:image/png,rawbytes"));             // not base64
  EXPECT_FALSE(size_of("data:image/png;base64,iVBORw0KGgo="));  // a signature, cut short
  EXPECT_FALSE(size_of(data_url(png(0, 10))));
  EXPECT_FALSE(size_of(data_url("just some text, not an image at all")));
  EXPECT_FALSE(size_of("data:image/png;base64,%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%"));
  // A JPEG of nothing but segment markers and fill bytes: the walk gives up, bounded.
  std::string endless("\xFF\xD8", 2);
  for (int i = 0; i < 5000; ++i) endless += std::string("\xFF\xFE", 2) + big_endian(2, 2);
  EXPECT_FALSE(size_of(data_url(endless + std::string(100000, '\xFF'))));
  std::string cut = jpeg(640, 480, 20);
  EXPECT_FALSE(size_of(data_url(cut.substr(0, cut.size() - 20))));
}

TEST(ImageTokens, TilesOfTheScaledImageAsOpenAIPricesThem) {
  EXPECT_EQ(image_tokens(ImageSize{1024, 1024}, ImageDetail::low), 85);
  EXPECT_EQ(image_tokens(ImageSize{1024, 1024}, ImageDetail::high), 765);     // 768x768: 4 tiles
  EXPECT_EQ(image_tokens(ImageSize{2048, 4096}, ImageDetail::high), 1105);    // 768x1536: 6
  EXPECT_EQ(image_tokens(ImageSize{100, 100}, ImageDetail::automatic), 255);  // not enlarged
  EXPECT_EQ(image_tokens(ImageSize{600, 400}, ImageDetail::high), 425);       // 2 tiles
  EXPECT_EQ(image_tokens(ImageSize{65535, 1}, ImageDetail::high), 85 + 170 * 4);  // 2048x1
  EXPECT_EQ(image_tokens(std::nullopt, ImageDetail::automatic), 765);  // fetched: unknown size
}

std::int64_t part_tokens(const std::string& part) {
  JsonCursor cursor(part);
  EXPECT_TRUE(cursor.enter_object());
  ImagePartCost cost;
  std::string_view name;
  while (cursor.next_member(name)) {
    EXPECT_TRUE(ImagePartCost::prices(name) ? cost.read(cursor, name) : cursor.skip_value());
  }
  EXPECT_TRUE(cursor.finish()) << cursor.error().reason;
  return cost.tokens();
}

TEST(ImagePartCost, ReadsTheChatTheResponsesAndTheBase64SourceForms) {
  const std::string tall = data_url(png(2048, 4096));
  EXPECT_EQ(part_tokens(R"({"type":"image_url","image_url":{"url":")" + tall + R"("}})"), 1105);
  EXPECT_EQ(
      part_tokens(R"({"type":"image_url","image_url":{"detail":"low","url":")" + tall + R"("}})"),
      85);
  EXPECT_EQ(part_tokens(R"({"type":"input_image","detail":"high","image_url":")" + tall + R"("})"),
            1105);
  EXPECT_EQ(part_tokens(R"({"type":"image","source":{"type":"base64","media_type":"image/png",)"
                        R"("data":")" +
                        core::base64_encode(png(100, 100)) + R"("}})"),
            255);
  EXPECT_EQ(part_tokens(R"({"type":"image_url","image_url":"https://x.test/a.png"})"), 765);
  EXPECT_EQ(part_tokens(R"({"type":"image_url","image_url":{"url":7,"detail":["low"]}})"), 765);
}

TEST(ImagePartCost, CountsInTheRequestSummarysMediaTokens) {
  const std::string body =
      R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"},)"
      R"({"type":"image_url","image_url":{"url":")" +
      data_url(png(2048, 4096)) +
      R"("}},{"type":"image_url","image_url":{"url":"https://x.test/a.png","detail":"low"}}]}]})";
  auto parsed = parse_request(body, Endpoint::chat_completions);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->summary.has_images);
  EXPECT_EQ(parsed->summary.media_tokens(), 1105 + 85);
}

}  // namespace
}  // namespace llm_router::api
