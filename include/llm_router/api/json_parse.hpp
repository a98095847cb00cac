#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace llm_router::api {

// Why a text is not JSON, and where.
struct JsonSyntaxError {
  std::size_t offset = 0;  // byte where the problem was found
  std::string reason;      // "unterminated string", "invalid UTF-8 in a string", ...
  std::string describe(std::string_view text) const;  // "at line L, column C (byte B): reason"
};

inline constexpr int kDefaultJsonMaxDepth = 256;

struct JsonParseOptions {
  int max_depth = kDefaultJsonMaxDepth;  // deeper nesting is refused instead of recursing further
  // More values (objects, arrays, strings, numbers, literals) are refused: a DOM costs ~100
  // bytes and ~100 ns a value, so 8 MB of `[0,0,...]` would be 4 million of them.
  std::size_t max_values = SIZE_MAX;
  // A lone surrogate escape ("\ud83d" without its other half) kept as its three bytes (ED A0..BF
  // xx, not valid UTF-8) instead of read as U+FFFD: for a caller that joins the halves of a
  // character a backend split between two strings.
  bool keep_lone_surrogates = false;
};

// The values a client's request may have when the router builds its DOM (the Responses API's
// conversion, the built-in mock): far more than any real request, a bounded cost.
inline constexpr std::size_t kMaxRequestJsonValues = 200'000;

struct JsonParseResult {
  bool ok = false;
  bool repeated_top_level_key = false;  // the later value wins, as with nlohmann::json::parse
  bool too_many_values = false;         // refused for JsonParseOptions::max_values
  JsonSyntaxError error;                // set when !ok
};

// Parses RFC 8259 JSON (strings must be valid UTF-8; a leading UTF-8 BOM is skipped) into
// `out`, building the same value nlohmann::json::parse builds, several times faster: strings
// are copied a run at a time instead of a character at a time.
JsonParseResult parse_json(std::string_view text, nlohmann::json& out,
                           const JsonParseOptions& options = {});

// `text` with every byte that is not part of valid UTF-8 replaced by U+FFFD (as Python's
// errors="replace" decoding reads it); `text` itself when it is valid.
std::string with_invalid_utf8_replaced(std::string_view text);

// The value of a JSON text, or a discarded value when it is not one (or nests deeper than
// the default limit). For text from outside that is serialized again: nlohmann's dump recurses
// once per level, so an unbounded nesting would exhaust the stack.
nlohmann::json parse_json_value(std::string_view text);

// `text` (already validated into `validated`) as a tree that keeps the client's key order, for
// re-serializing a request: a JSON schema's `properties` order is the order a model writes
// the fields in. nlohmann::ordered_json finds a key by scanning the object's keys, so an
// object with thousands of keys (a hostile body) would cost quadratic time: then, and for text
// only our parser reads (a lone surrogate), the sorted tree is used instead.
nlohmann::ordered_json in_client_order(std::string_view text, const nlohmann::json& validated);

// Whether `text` is one valid JSON object (parse_json's rules: every byte checked, UTF-8
// included, nesting up to the default depth) with only white space around it. Builds nothing:
// a few instructions a byte, most bytes being string runs read 16 at a time.
bool is_json_object(std::string_view text);
// Where an answer's top-level members begin (the offset of the name's opening quote in the
// text; npos when absent), noted by the same pass: the answer check and its usage need them.
struct AnswerOutline {
  std::size_t choices = std::string_view::npos;
  std::size_t data = std::string_view::npos;
  std::size_t usage = std::string_view::npos;  // the last one: JSON's last member wins
};
bool is_json_object(std::string_view text, AnswerOutline& outline);

// A number as JsonCursor::read_number gives it: `integer` as nlohmann would store it (written
// without fraction or exponent and within int64 when negative, uint64 otherwise).
struct JsonNumber {
  std::string_view text;  // as written
  double value = 0;
  bool integer = false;
};

// Reads one JSON text a step at a time under the rules of parse_json, validating every byte it
// passes: the request path reads the members it needs and skips the others without building a
// DOM. After the first failure every call returns false and error() says what and where.
//
//   JsonCursor cursor(text);
//   if (cursor.peek() == '{' && cursor.enter_object()) {
//     std::string name;
//     while (cursor.next_member(name)) { ... one read_/measure_/skip_/enter_ call per value ... }
//   }
//   if (!cursor.failed()) cursor.finish();
class JsonCursor {
 public:
  explicit JsonCursor(std::string_view text, int max_depth = kDefaultJsonMaxDepth);
  // Refuses the text past `count` values (JsonParseOptions::max_values).
  void limit_values(std::size_t count) { values_left_ = count; }

  char peek();  // the next byte after white space; '\0' at the end of the text
  std::size_t offset() const { return static_cast<std::size_t>(p_ - begin_); }

  bool enter_object();  // at '{'
  bool enter_array();   // at '['
  // In an object: reads the next member's name and its ':' (true), or the closing '}' (false).
  // `name` views the text, or (for a name written with escapes) a buffer of the cursor's that
  // the next call reuses.
  bool next_member(std::string_view& name);
  // In an array: true when another item follows (the cursor is at it), false after the ']'.
  bool next_item();

  bool read_string(std::string& out);       // at '"': the decoded string
  bool read_string(std::string_view& out);  // the same, as next_member gives names
  bool measure_string(std::size_t& bytes);  // at '"': its decoded length, nothing copied
  bool read_value(nlohmann::json& out);     // any value, as a DOM
  bool read_number(JsonNumber& out);        // at '-' or a digit; no DOM
  bool skip_value();                        // any value, validated, nothing built
  bool finish();  // after the top-level value: nothing but white space may follow

  bool failed() const { return !error_.reason.empty(); }
  const JsonSyntaxError& error() const { return error_; }

 private:
  friend JsonParseResult parse_json(std::string_view, nlohmann::json&, const JsonParseOptions&);

  bool fail(std::string reason);
  void skip_space();
  bool literal(std::string_view word);
  bool enter(int depth);
  bool count_value();
  bool open(char bracket, const char* expected);
  bool advance(char close, std::string_view container);
  bool string_view_at(std::string_view& out);
  template <class Out>
  bool value(Out& out);
  template <class Out>
  bool object(Out& out);
  template <class Out>
  bool array(Out& out);
  template <class Sink>
  bool string(Sink& out);
  template <class Sink>
  bool escape(Sink& out);
  template <class Sink>
  bool unicode_escape(Sink& out);
  bool hex4(std::uint32_t& value);
  template <class Out>
  bool number(Out& out);
  bool store_integer(const char* start, bool negative, nlohmann::json& out);
  bool store_float(const char* start, nlohmann::json& out);
  bool to_double(const char* start, double& value);

  const char* begin_;
  const char* p_;
  const char* end_;
  int max_depth_;
  std::size_t values_left_ = SIZE_MAX;
  bool too_many_values_ = false;
  int depth_ = 0;  // objects and arrays open
  // The innermost has no member or item read yet. (An outer one always has: the inner one is
  // the value of its current member or item.)
  bool first_ = false;
  bool repeated_top_level_key_ = false;
  bool keep_lone_surrogates_ = false;  // JsonParseOptions::keep_lone_surrogates
  std::string decoded_;                // a string with escapes, for string_view_at
  JsonSyntaxError error_;
};

}  // namespace llm_router::api
