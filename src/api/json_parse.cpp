#include "llm_router/api/json_parse.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "json_bytes.hpp"

namespace llm_router::api {
namespace {

using nlohmann::json;

using json_bytes::is_digit;
using json_bytes::is_space;
using json_bytes::skip_plain;
using json_bytes::utf8_sequence_length;

template <class Sink>
void append_utf8(Sink& out, std::uint32_t code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

// A value validated and not kept, and a string measured and not kept.
struct Skipped {};
struct Measured {
  std::size_t bytes = 0;
  void append(const char*, std::size_t n) { bytes += n; }
  void operator+=(char) { ++bytes; }
};

template <class Out>
constexpr bool kBuilds = std::is_same_v<Out, json>;

}  // namespace

JsonCursor::JsonCursor(std::string_view text, int max_depth)
    : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()), max_depth_(max_depth) {
  static constexpr std::string_view bom = "\xEF\xBB\xBF";
  if (text.starts_with(bom)) p_ += 3;
}

char JsonCursor::peek() {
  skip_space();
  return p_ < end_ && !failed() ? *p_ : '\0';
}

bool JsonCursor::enter_object() {
  return open('{', "expected an object");
}

bool JsonCursor::enter_array() {
  return open('[', "expected an array");
}

bool JsonCursor::open(char bracket, const char* expected) {
  if (failed()) return false;
  skip_space();
  if (p_ == end_ || *p_ != bracket) return fail(expected);
  if (!enter(depth_ + 1)) return false;
  ++p_;
  ++depth_;
  first_ = true;
  return true;
}

// Past the ',' before the next member or item of the innermost object or array (true), or
// past its closing bracket (false).
bool JsonCursor::advance(char close, std::string_view container) {
  if (failed() || depth_ == 0) return false;
  skip_space();
  if (p_ == end_) return fail("unexpected end of the text in " + std::string(container));
  if (*p_ == close) {
    ++p_;
    --depth_;
    first_ = false;
    return false;
  }
  if (!first_) {
    if (*p_ != ',') {
      return fail(std::string("expected ',' or '") + close + "' in " + std::string(container));
    }
    ++p_;
    skip_space();
  }
  first_ = false;
  return true;
}

bool JsonCursor::next_member(std::string_view& name) {
  if (!advance('}', "an object")) return false;
  if (p_ == end_ || *p_ != '"') return fail("expected a member name in quotes");
  if (!string_view_at(name)) return false;
  skip_space();
  if (p_ == end_ || *p_ != ':') return fail("expected ':' after a member name");
  ++p_;
  skip_space();
  return true;
}

// At the opening quote. Most strings have no escapes: a view of the text saves the copy.
bool JsonCursor::string_view_at(std::string_view& out) {
  const char* first = p_ + 1;
  const char* plain_end = skip_plain(first, end_);
  if (plain_end < end_ && *plain_end == '"') {
    out = std::string_view(first, static_cast<std::size_t>(plain_end - first));
    p_ = plain_end + 1;
    return true;
  }
  decoded_.clear();
  if (!string(decoded_)) return false;
  out = decoded_;
  return true;
}

bool JsonCursor::next_item() {
  return advance(']', "an array");
}

bool JsonCursor::read_string(std::string& out) {
  if (peek() != '"') return fail("expected a string");
  out.clear();
  return string(out);
}

bool JsonCursor::read_string(std::string_view& out) {
  if (peek() != '"') return fail("expected a string");
  return string_view_at(out);
}

bool JsonCursor::measure_string(std::size_t& bytes) {
  if (peek() != '"') return fail("expected a string");
  Measured measured;
  if (!string(measured)) return false;
  bytes = measured.bytes;
  return true;
}

bool JsonCursor::read_value(json& out) {
  if (failed()) return false;
  skip_space();
  return value(out);
}

bool JsonCursor::skip_value() {
  if (failed()) return false;
  skip_space();
  Skipped skipped;
  return value(skipped);
}

bool JsonCursor::finish() {
  if (failed()) return false;
  skip_space();
  if (p_ != end_) return fail("unexpected text after the JSON value");
  return true;
}

bool JsonCursor::fail(std::string reason) {
  if (error_.reason.empty()) {
    error_.offset = static_cast<std::size_t>(p_ - begin_);
    error_.reason = std::move(reason);
  }
  return false;
}

void JsonCursor::skip_space() {
  while (p_ < end_ && is_space(*p_)) ++p_;
}

bool JsonCursor::literal(std::string_view word) {
  if (static_cast<std::size_t>(end_ - p_) < word.size() ||
      std::memcmp(p_, word.data(), word.size()) != 0) {
    return fail("invalid literal");
  }
  p_ += word.size();
  return true;
}

bool JsonCursor::enter(int depth) {
  return depth <= max_depth_ || fail("nesting deeper than the limit");
}

bool JsonCursor::count_value() {
  if (values_left_ == 0) {
    too_many_values_ = true;
    return fail("more values than the limit");
  }
  --values_left_;
  return true;
}

template <class Out>
bool JsonCursor::value(Out& out) {
  if (p_ == end_) return fail("unexpected end of the text");
  if (!count_value()) return false;
  switch (*p_) {
    case '{':
      return object(out);
    case '[':
      return array(out);
    case '"':
      if constexpr (kBuilds<Out>) {
        std::string text;
        if (!string(text)) return false;
        out = std::move(text);
        return true;
      } else {
        Measured ignored;
        return string(ignored);
      }
    case 't':
      if constexpr (kBuilds<Out>) out = true;
      return literal("true");
    case 'f':
      if constexpr (kBuilds<Out>) out = false;
      return literal("false");
    case 'n':
      if constexpr (kBuilds<Out>) out = nullptr;
      return literal("null");
    default:
      if (*p_ == '-' || is_digit(*p_)) return number(out);
      return fail("unexpected character");
  }
}

// The same walk as the cursor's callers make, building `out` (or only validating).
template <class Out>
bool JsonCursor::object(Out& out) {
  if (!enter_object()) return false;
  if constexpr (kBuilds<Out>) out = json::object();
  const bool top_level = depth_ == 1;
  std::string_view name;
  while (next_member(name)) {
    if constexpr (kBuilds<Out>) {
      auto [slot, inserted] =
          out.template get_ref<json::object_t&>().try_emplace(std::string(name));
      if (!inserted && top_level) repeated_top_level_key_ = true;
      if (!value(slot->second)) return false;
    } else {
      Skipped skipped;
      if (!value(skipped)) return false;
    }
  }
  return !failed();
}

template <class Out>
bool JsonCursor::array(Out& out) {
  if (!enter_array()) return false;
  if constexpr (kBuilds<Out>) out = json::array();
  while (next_item()) {
    if constexpr (kBuilds<Out>) {
      if (!value(out.template get_ref<json::array_t&>().emplace_back())) return false;
    } else {
      if (!value(out)) return false;
    }
  }
  return !failed();
}

// At the opening quote; appends the decoded string to `out`.
template <class Sink>
bool JsonCursor::string(Sink& out) {
  ++p_;
  while (true) {
    const char* run = p_;
    p_ = skip_plain(p_, end_);
    out.append(run, static_cast<std::size_t>(p_ - run));
    if (p_ == end_) return fail("unterminated string");
    const auto c = static_cast<unsigned char>(*p_);
    if (c == '"') {
      ++p_;
      return true;
    }
    if (c == '\\') {
      if (!escape(out)) return false;
    } else if (c < 0x20) {
      return fail("control character in a string (escape it)");
    } else {
      const auto* at = reinterpret_cast<const unsigned char*>(p_);
      const std::size_t length =
          utf8_sequence_length(at, reinterpret_cast<const unsigned char*>(end_));
      if (length == 0) return fail("invalid UTF-8 in a string");
      out.append(p_, length);
      p_ += length;
    }
  }
}

template <class Sink>
bool JsonCursor::escape(Sink& out) {
  ++p_;  // the backslash
  if (p_ == end_) return fail("unterminated string");
  const char c = *p_++;
  switch (c) {
    case '"':
    case '\\':
    case '/':
      out += c;
      return true;
    case 'b':
      out += '\b';
      return true;
    case 'f':
      out += '\f';
      return true;
    case 'n':
      out += '\n';
      return true;
    case 'r':
      out += '\r';
      return true;
    case 't':
      out += '\t';
      return true;
    case 'u':
      return unicode_escape(out);
    default:
      --p_;
      return fail("invalid escape in a string");
  }
}

bool JsonCursor::hex4(std::uint32_t& value) {
  if (end_ - p_ < 4) return fail("\\u needs four hex digits");
  value = 0;
  for (int i = 0; i < 4; ++i, ++p_) {
    const char c = *p_;
    std::uint32_t digit;
    if (c >= '0' && c <= '9') {
      digit = static_cast<std::uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<std::uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<std::uint32_t>(c - 'A' + 10);
    } else {
      return fail("\\u needs four hex digits");
    }
    value = value * 16 + digit;
  }
  return true;
}

// After "\u": one code point, or a surrogate pair written as two escapes. A surrogate without
// its other half is valid JSON (JavaScript writes one for a string cut inside an emoji) but no
// code point: it reads as U+FFFD, as JSON.parse plus a UTF-8 encoder would give.
template <class Sink>
bool JsonCursor::unicode_escape(Sink& out) {
  constexpr std::uint32_t kReplacement = 0xFFFD;
  std::uint32_t first;
  if (!hex4(first)) return false;
  if (first >= 0xDC00 && first <= 0xDFFF) {
    append_utf8(out, keep_lone_surrogates_ ? first : kReplacement);
    return true;
  }
  if (first < 0xD800 || first > 0xDBFF) {
    append_utf8(out, first);
    return true;
  }
  std::uint32_t second = 0;
  const char* after_first = p_;
  if (end_ - p_ >= 2 && p_[0] == '\\' && p_[1] == 'u') {
    p_ += 2;
    if (!hex4(second)) return false;
  }
  if (second < 0xDC00 || second > 0xDFFF) {
    p_ = after_first;  // what follows is read on its own
    append_utf8(out, keep_lone_surrogates_ ? first : kReplacement);
    return true;
  }
  append_utf8(out, 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00));
  return true;
}

// A number (json_bytes::scan_number's grammar); integers as nlohmann stores them
// (non-negative: unsigned, negative: signed, a float when out of range).
template <class Out>
bool JsonCursor::number(Out& out) {
  const char* start = p_;
  const bool negative = *p_ == '-';
  json_bytes::NumberShape shape;
  if (!json_bytes::scan_number(p_, end_, shape)) return fail("invalid number");
  const bool integral = shape.integral;
  // Skipped numbers are still converted where they might not fit: a magnitude too large for a
  // double is refused whether the value is kept or not.
  if constexpr (!kBuilds<Out>) {
    if (json_bytes::surely_fits(shape)) return true;
  }
  json converted;
  json& target = [&]() -> json& {
    if constexpr (kBuilds<Out>) {
      return out;
    } else {
      return converted;
    }
  }();
  if (integral && store_integer(start, negative, target)) return true;
  return store_float(start, target);
}

bool JsonCursor::store_integer(const char* start, bool negative, json& out) {
  if (negative) {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(start, p_, value);
    if (ec != std::errc{} || end != p_) return false;
    out = value;
  } else {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(start, p_, value);
    if (ec != std::errc{} || end != p_) return false;
    out = value;
  }
  return true;
}

bool JsonCursor::store_float(const char* start, json& out) {
  double value = 0;
  if (!to_double(start, value)) return false;
  out = value;
  return true;
}

// The number text [start, p_) as a double.
bool JsonCursor::to_double(const char* start, double& value) {
  const auto [end, ec] = std::from_chars(start, p_, value);
  if (ec == std::errc::result_out_of_range) {
    // Tiny magnitudes round to zero (as strtod does); huge ones are refused.
    const std::string copy(start, p_);
    value = std::strtod(copy.c_str(), nullptr);
    if (!std::isfinite(value)) {
      p_ = start;
      return fail("number out of range");
    }
  } else if (ec != std::errc{} || end != p_) {
    p_ = start;
    return fail("invalid number");
  }
  return true;
}

bool JsonCursor::read_number(JsonNumber& out) {
  if (failed()) return false;
  skip_space();
  const char* start = p_;
  if (p_ == end_ || (*p_ != '-' && !is_digit(*p_))) return fail("expected a number");
  if (!count_value()) return false;
  json_bytes::NumberShape shape;
  if (!json_bytes::scan_number(p_, end_, shape)) return fail("invalid number");
  out.text = std::string_view(start, static_cast<std::size_t>(p_ - start));
  out.integer = false;
  if (shape.integral) {
    if (*start == '-') {
      std::int64_t value = 0;
      out.integer = std::from_chars(start, p_, value).ec == std::errc{};
      out.value = static_cast<double>(value);
    } else {
      std::uint64_t value = 0;
      out.integer = std::from_chars(start, p_, value).ec == std::errc{};
      out.value = static_cast<double>(value);
    }
    if (out.integer) return true;
  }
  return to_double(start, out.value);
}

std::string JsonSyntaxError::describe(std::string_view text) const {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "at line " + std::to_string(line) + ", column " + std::to_string(column) + " (byte " +
         std::to_string(offset) + "): " + reason;
}

std::string with_invalid_utf8_replaced(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  std::string out;
  out.reserve(text.size());
  while (p < end) {
    const unsigned char* run = p;
    while (p < end && *p < 0x80) ++p;
    out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
    if (p == end) break;
    if (const std::size_t length = utf8_sequence_length(p, end); length > 0) {
      out.append(reinterpret_cast<const char*>(p), length);
      p += length;
    } else {
      out.append("\xEF\xBF\xBD");  // U+FFFD
      ++p;
    }
  }
  return out;
}

JsonParseResult parse_json(std::string_view text, nlohmann::json& out,
                           const JsonParseOptions& options) {
  JsonCursor cursor(text, options.max_depth);
  cursor.limit_values(options.max_values);
  cursor.keep_lone_surrogates_ = options.keep_lone_surrogates;
  cursor.skip_space();
  if (cursor.p_ == cursor.end_) {
    cursor.fail("the text is empty");
  } else if (cursor.value(out)) {
    cursor.finish();
  }
  JsonParseResult result;
  result.ok = !cursor.failed();
  result.repeated_top_level_key = cursor.repeated_top_level_key_;
  result.too_many_values = cursor.too_many_values_;
  result.error = cursor.error_;
  return result;
}

namespace {

// The most keys any object in `value` has (its depth is bounded by our parser's limit).
std::size_t widest_object(const nlohmann::json& value) {
  std::size_t widest = value.is_object() ? value.size() : 0;
  if (value.is_structured()) {
    for (const auto& child : value) widest = std::max(widest, widest_object(child));
  }
  return widest;
}

}  // namespace

nlohmann::ordered_json in_client_order(std::string_view text, const nlohmann::json& validated) {
  constexpr std::size_t kMaxOrderedKeys = 256;
  if (widest_object(validated) <= kMaxOrderedKeys) {
    auto ordered = nlohmann::ordered_json::parse(text, nullptr, false);
    if (!ordered.is_discarded()) return ordered;
  }
  return nlohmann::ordered_json(validated);
}

nlohmann::json parse_json_value(std::string_view text) {
  nlohmann::json value;
  if (parse_json(text, value).ok) return value;
  return nlohmann::json(nlohmann::json::value_t::discarded);
}

}  // namespace llm_router::api
