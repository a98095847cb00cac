#pragma once

// What an image in a request costs a vision model in prompt tokens, as OpenAI prices it for
// its GPT-4o-class models: the context-window check and the usage estimate count images so.

#include <cstdint>
#include <optional>
#include <string_view>

namespace llm_router::api {

class JsonCursor;

struct ImageSize {
  std::uint32_t width = 0;
  std::uint32_t height = 0;
};

enum class ImageDetail { automatic, low, high };

inline constexpr std::int64_t kLowDetailImageTokens = 85;

// The pixel size in the header of a PNG, GIF, JPEG or WebP image in base64 (`data:` URL or
// bare), if the text is one; only the few bytes of the header are decoded.
std::optional<ImageSize> base64_image_size(std::string_view base64);
std::optional<ImageSize> data_url_image_size(std::string_view url);

// Low detail: 85. Otherwise the image, scaled to fit 2048x2048 and then its shorter side down
// to 768, costs 85 + 170 per 512-pixel tile; one of unknown size (fetched by URL) is priced as
// a 1024x1024 picture (765).
std::int64_t image_tokens(std::optional<ImageSize> size, ImageDetail detail);

// "low", "high"; anything else is "auto".
ImageDetail image_detail(std::string_view text);

// An image content part's price, from its members as a JsonCursor walk meets them, in any
// order: the chat form (`image_url: {url, detail}`), the Responses form (`image_url` as a
// string, `detail`) and a base64 `source` ({data}). An `image_url` wins over a `source`, its
// own `detail` over the part's.
class ImagePartCost {
 public:
  static bool prices(std::string_view member);
  // Reads the value of a member `prices` named; false when the text stops being JSON.
  bool read(JsonCursor& cursor, std::string_view member);
  std::int64_t tokens() const;

 private:
  bool read_image_url(JsonCursor& cursor);
  bool read_source(JsonCursor& cursor);

  bool has_url_ = false;  // `image_url` is a string or an object
  std::optional<ImageSize> url_size_, source_size_;
  std::optional<ImageDetail> url_detail_, part_detail_;
};

}  // namespace llm_router::api
