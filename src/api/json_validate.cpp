// is_json_object: the cursor's rules (json_parse.cpp) as one loop with a bracket stack, for
// the answer every proxied request checks: no member names kept, no error text, no recursion.

#include <array>
#include <string_view>

#include "json_bytes.hpp"
#include "llm_router/api/json_parse.hpp"

namespace llm_router::api {
namespace {

using namespace json_bytes;

class Validator {
 public:
  explicit Validator(std::string_view text, AnswerOutline* outline = nullptr)
      : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()), outline_(outline) {
    static constexpr std::string_view bom = "\xEF\xBB\xBF";
    if (text.starts_with(bom)) p_ += 3;
  }

  bool object_text() {
    p_ = skip_space(p_, end_);
    if (p_ == end_ || *p_ != '{') return false;
    return values() && skip_space(p_, end_) == end_;
  }

 private:
  // Reads one value and everything nested in it; containers are tracked by their closing
  // bracket on a stack as deep as the cursor's limit.
  bool values() {
    while (true) {
      p_ = skip_space(p_, end_);
      if (p_ == end_) return false;
      const char c = *p_;
      if (c == '{' || c == '[') {
        if (depth_ == kDefaultJsonMaxDepth) return false;
        closers_[depth_++] = c == '{' ? '}' : ']';
        p_ = skip_space(p_ + 1, end_);
        if (p_ < end_ && *p_ == closers_[depth_ - 1]) {
          ++p_;
          --depth_;
        } else if (c == '{') {
          if (!member_name()) return false;
          continue;  // its value
        } else {
          continue;  // the first item
        }
      } else if (!scalar(c)) {
        return false;
      }
      // After a value: a comma before the next member or item, or closing brackets.
      while (true) {
        if (depth_ == 0) return true;
        p_ = skip_space(p_, end_);
        if (p_ == end_) return false;
        if (*p_ == closers_[depth_ - 1]) {
          ++p_;
          --depth_;
          continue;
        }
        if (*p_ != ',') return false;
        p_ = skip_space(p_ + 1, end_);
        if (closers_[depth_ - 1] == '}' && !member_name()) return false;
        break;
      }
    }
  }

  // At a member's opening quote: past the name and its ':'.
  bool member_name() {
    const char* quote = p_;
    if (p_ == end_ || *p_ != '"' || !string()) return false;
    if (outline_ != nullptr && depth_ == 1) note_top_level(quote);
    p_ = skip_space(p_, end_);
    if (p_ == end_ || *p_ != ':') return false;
    ++p_;
    return true;
  }

  bool scalar(char c) {
    switch (c) {
      case '"':
        return string();
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return (c == '-' || is_digit(c)) && number();
    }
  }

  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::memcmp(p_, word.data(), word.size()) != 0) {
      return false;
    }
    p_ += word.size();
    return true;
  }

  bool number() {
    const char* start = p_;
    NumberShape shape;
    if (!scan_number(p_, end_, shape)) return false;
    return surely_fits(shape) || fits_a_double(start, p_);
  }

  // At the opening quote: past the closing one, every escape and UTF-8 sequence checked.
  bool string() {
    ++p_;
    while (true) {
      p_ = skip_plain(p_, end_);
      if (p_ == end_) return false;
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c == '\\') {
        if (!escape()) return false;
      } else if (c < 0x20) {
        return false;
      } else {
        const std::size_t length =
            utf8_sequence_length(reinterpret_cast<const unsigned char*>(p_),
                                 reinterpret_cast<const unsigned char*>(end_));
        if (length == 0) return false;
        p_ += length;
      }
    }
  }

  // At the backslash. A \u escape is any four hex digits: a lone surrogate is valid JSON.
  bool escape() {
    if (end_ - p_ < 2) return false;
    const char c = p_[1];
    p_ += 2;
    switch (c) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        return true;
      case 'u':
        if (end_ - p_ < 4) return false;
        for (int i = 0; i < 4; ++i, ++p_) {
          const char h = *p_;
          if (!is_digit(h) && !(h >= 'a' && h <= 'f') && !(h >= 'A' && h <= 'F')) return false;
        }
        return true;
      default:
        return false;
    }
  }

  // A top-level member whose name (from `quote` to p_, quotes included) the outline wants.
  void note_top_level(const char* quote) {
    const std::string_view name(quote, static_cast<std::size_t>(p_ - quote));
    const auto at = static_cast<std::size_t>(quote - begin_);
    if (name == "\"choices\"") {
      if (outline_->choices == std::string_view::npos) outline_->choices = at;
    } else if (name == "\"usage\"") {
      outline_->usage = at;
    } else if (name == "\"data\"") {
      if (outline_->data == std::string_view::npos) outline_->data = at;
    }
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  AnswerOutline* outline_;
  int depth_ = 0;
  std::array<char, kDefaultJsonMaxDepth> closers_{};
};

}  // namespace

bool is_json_object(std::string_view text) {
  return Validator(text).object_text();
}

bool is_json_object(std::string_view text, AnswerOutline& outline) {
  outline = AnswerOutline{};
  return Validator(text, &outline).object_text();
}

}  // namespace llm_router::api
