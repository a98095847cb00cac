#include "llm_router/api/image_tokens.hpp"

#include <algorithm>
#include <cctype>

#include "llm_router/api/json_parse.hpp"

namespace llm_router::api {
namespace {

// Bytes of base64 text read where they are needed: an image's size sits in its first bytes
// (or, for a JPEG, past segments whose lengths say how far to jump), and a picture's base64 is
// megabytes that are never decoded whole.
class Base64Bytes {
 public:
  explicit Base64Bytes(std::string_view text) : text_(text) {}

  std::optional<std::uint32_t> at(std::size_t index) const {
    const std::size_t group = index / 3 * 4;
    const std::size_t in_group = index % 3;
    if (group + in_group + 1 >= text_.size()) return std::nullopt;
    const int first = sextet(text_[group + in_group]);
    const int second = sextet(text_[group + in_group + 1]);
    if (first < 0 || second < 0) return std::nullopt;
    const int shift = 2 + 2 * static_cast<int>(in_group);  // 2, 4, 6 bits from the first
    return static_cast<std::uint32_t>(((first << shift) | (second >> (6 - shift))) & 0xFF);
  }

  // Big- and little-endian numbers of `bytes` bytes at `index`.
  std::optional<std::uint32_t> big_endian(std::size_t index, int bytes) const {
    std::uint32_t value = 0;
    for (int i = 0; i < bytes; ++i) {
      const auto byte = at(index + static_cast<std::size_t>(i));
      if (!byte) return std::nullopt;
      value = value << 8 | *byte;
    }
    return value;
  }
  std::optional<std::uint32_t> little_endian(std::size_t index, int bytes) const {
    std::uint32_t value = 0;
    for (int i = bytes; i-- > 0;) {
      const auto byte = at(index + static_cast<std::size_t>(i));
      if (!byte) return std::nullopt;
      value = value << 8 | *byte;
    }
    return value;
  }

  bool starts_with(std::string_view magic, std::size_t index = 0) const {
    for (std::size_t i = 0; i < magic.size(); ++i) {
      if (at(index + i) != static_cast<unsigned char>(magic[i])) return false;
    }
    return true;
  }

 private:
  // The standard and the URL-safe alphabets; -1 for padding or anything else.
  static int sextet(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  }

  std::string_view text_;
};

std::optional<ImageSize> sized(std::optional<std::uint32_t> width,
                               std::optional<std::uint32_t> height) {
  if (!width || !height || *width == 0 || *height == 0) return std::nullopt;
  return ImageSize{*width, *height};
}

std::optional<ImageSize> png_size(const Base64Bytes& bytes) {
  if (!bytes.starts_with("\x89PNG\r\n\x1a\n") || !bytes.starts_with("IHDR", 12)) {
    return std::nullopt;
  }
  return sized(bytes.big_endian(16, 4), bytes.big_endian(20, 4));
}

std::optional<ImageSize> gif_size(const Base64Bytes& bytes) {
  if (!bytes.starts_with("GIF87a") && !bytes.starts_with("GIF89a")) return std::nullopt;
  return sized(bytes.little_endian(6, 2), bytes.little_endian(8, 2));
}

std::optional<ImageSize> plus_one(std::optional<std::uint32_t> width,
                                  std::optional<std::uint32_t> height, std::uint32_t mask) {
  if (!width || !height) return std::nullopt;
  return sized((*width & mask) + 1, (*height & mask) + 1);
}

// RIFF container, then a lossy (VP8), lossless (VP8L) or extended (VP8X) first chunk.
std::optional<ImageSize> webp_size(const Base64Bytes& bytes) {
  if (!bytes.starts_with("RIFF") || !bytes.starts_with("WEBP", 8)) return std::nullopt;
  if (bytes.starts_with("VP8 ", 12)) {
    const auto width = bytes.little_endian(26, 2), height = bytes.little_endian(28, 2);
    if (!width || !height) return std::nullopt;
    return sized(*width & 0x3FFF, *height & 0x3FFF);
  }
  if (bytes.starts_with("VP8L", 12)) {
    const auto packed = bytes.little_endian(21, 4);
    if (!packed) return std::nullopt;
    return plus_one(*packed, *packed >> 14, 0x3FFF);
  }
  if (bytes.starts_with("VP8X", 12)) {
    return plus_one(bytes.little_endian(24, 3), bytes.little_endian(27, 3), 0xFFFFFF);
  }
  return std::nullopt;
}

bool is_start_of_frame(std::uint32_t marker) {
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

// Walks the segments to the first start-of-frame, which holds the size; bounded, so a crafted
// file of empty segments costs little.
std::optional<ImageSize> jpeg_size(const Base64Bytes& bytes) {
  if (!bytes.starts_with("\xFF\xD8")) return std::nullopt;
  constexpr int kMaxSegments = 256, kMaxFillBytes = 64;
  std::size_t at = 2;
  for (int segment = 0; segment < kMaxSegments; ++segment) {
    if (bytes.at(at) != 0xFFu) return std::nullopt;
    for (int fill = 0; fill < kMaxFillBytes && bytes.at(at) == 0xFFu; ++fill) ++at;
    const auto marker = bytes.at(at++);
    if (!marker || *marker == 0xD9 || *marker == 0xDA) return std::nullopt;  // end, scan data
    if (*marker == 0x01 || (*marker >= 0xD0 && *marker <= 0xD8)) continue;   // no length
    const auto length = bytes.big_endian(at, 2);
    if (!length || *length < 2) return std::nullopt;
    if (is_start_of_frame(*marker))
      return sized(bytes.big_endian(at + 5, 2), bytes.big_endian(at + 3, 2));
    at += *length;
  }
  return std::nullopt;
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(), [](char lower, char c) {
           return std::tolower(static_cast<unsigned char>(c)) == lower;
         });
}

bool ends_with_ignoring_case(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         starts_with_ignoring_case(text.substr(text.size() - suffix.size()), suffix);
}

// Reads a string value as a view valid until the cursor's next call (false, skipped, for any
// other kind of value).
bool read_text(JsonCursor& cursor, std::string_view& out, bool& ok) {
  if (cursor.peek() != '"') {
    ok = cursor.skip_value();
    return false;
  }
  ok = cursor.read_string(out);
  return ok;
}

}  // namespace

std::optional<ImageSize> base64_image_size(std::string_view base64) {
  const Base64Bytes bytes(base64);
  if (auto size = png_size(bytes)) return size;
  if (auto size = jpeg_size(bytes)) return size;
  if (auto size = gif_size(bytes)) return size;
  return webp_size(bytes);
}

std::optional<ImageSize> data_url_image_size(std::string_view url) {
  if (!starts_with_ignoring_case(url, "data:")) return std::nullopt;
  const std::size_t comma = url.find(',');
  if (comma == std::string_view::npos ||
      !ends_with_ignoring_case(url.substr(0, comma), ";base64")) {
    return std::nullopt;
  }
  return base64_image_size(url.substr(comma + 1));
}

std::int64_t image_tokens(std::optional<ImageSize> size, ImageDetail detail) {
  constexpr std::int64_t kTokensPerTile = 170, kTile = 512, kLongest = 2048, kShortest = 768;
  if (detail == ImageDetail::low) return kLowDetailImageTokens;
  const ImageSize pixels = size.value_or(ImageSize{1024, 1024});
  double width = pixels.width, height = pixels.height;
  if (const double longest = std::max(width, height); longest > kLongest) {
    width *= kLongest / longest;
    height *= kLongest / longest;
  }
  if (const double shortest = std::min(width, height); shortest > kShortest) {
    width *= kShortest / shortest;
    height *= kShortest / shortest;
  }
  const auto tiles_along = [](double pixels_along) {
    return std::max<std::int64_t>(1, (static_cast<std::int64_t>(pixels_along) + kTile - 1) / kTile);
  };
  return kLowDetailImageTokens + kTokensPerTile * tiles_along(width) * tiles_along(height);
}

ImageDetail image_detail(std::string_view text) {
  return text == "low"    ? ImageDetail::low
         : text == "high" ? ImageDetail::high
                          : ImageDetail::automatic;
}

bool ImagePartCost::prices(std::string_view member) {
  return member == "image_url" || member == "detail" || member == "source";
}

std::int64_t ImagePartCost::tokens() const {
  return image_tokens(has_url_ ? url_size_ : source_size_,
                      url_detail_.value_or(part_detail_.value_or(ImageDetail::automatic)));
}

bool ImagePartCost::read(JsonCursor& cursor, std::string_view member) {
  if (member == "image_url") return read_image_url(cursor);
  if (member == "source") return read_source(cursor);
  if (member != "detail") return cursor.skip_value();
  bool ok = true;
  std::string_view detail;
  part_detail_ = read_text(cursor, detail, ok) ? std::optional(image_detail(detail)) : std::nullopt;
  return ok;
}

bool ImagePartCost::read_image_url(JsonCursor& cursor) {
  bool ok = true;
  std::string_view text;
  has_url_ = false;
  url_size_.reset();
  url_detail_.reset();
  if (cursor.peek() == '"') {
    has_url_ = true;
    if (read_text(cursor, text, ok)) url_size_ = data_url_image_size(text);
    return ok;
  }
  if (cursor.peek() != '{') return cursor.skip_value();
  if (!cursor.enter_object()) return false;
  has_url_ = true;
  std::string_view name;
  while (ok && cursor.next_member(name)) {
    if (name == "url") {
      url_size_ = read_text(cursor, text, ok) ? data_url_image_size(text) : std::nullopt;
    } else if (name == "detail") {
      url_detail_ = read_text(cursor, text, ok) ? std::optional(image_detail(text)) : std::nullopt;
    } else {
      ok = cursor.skip_value();
    }
  }
  return ok && !cursor.failed();
}

// Anthropic's form: {"type": "base64", "media_type": ..., "data": ...}.
bool ImagePartCost::read_source(JsonCursor& cursor) {
  source_size_.reset();
  if (cursor.peek() != '{') return cursor.skip_value();
  if (!cursor.enter_object()) return false;
  bool ok = true;
  std::string_view name;
  while (ok && cursor.next_member(name)) {
    std::string_view data;
    if (name != "data") {
      ok = cursor.skip_value();
    } else {
      source_size_ = read_text(cursor, data, ok) ? base64_image_size(data) : std::nullopt;
    }
  }
  return ok && !cursor.failed();
}

}  // namespace llm_router::api
