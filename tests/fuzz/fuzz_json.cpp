// The request-path JSON parser against nlohmann::json::parse: both accept or both refuse, and
// an accepted text gives the same value (same types too). Unpaired surrogate escapes, which we
// read as U+FFFD and nlohmann refuses, are given to nlohmann as \uFFFD.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "fuzz_target.hpp"
#include "llm_router/api/json_parse.hpp"

namespace {

int nesting(std::string_view text) {
  int depth = 0, deepest = 0;
  for (char c : text) {
    if (c == '[' || c == '{') deepest = std::max(deepest, ++depth);
    if (c == ']' || c == '}') --depth;
  }
  return deepest;
}

int hex4(std::string_view text, std::size_t at) {
  if (at + 4 > text.size()) return -1;
  int value = 0;
  for (std::size_t k = at; k < at + 4; ++k) {
    const char c = text[k];
    const int digit = c >= '0' && c <= '9'   ? c - '0'
                      : c >= 'a' && c <= 'f' ? c - 'a' + 10
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                             : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

// The text with every unpaired surrogate escape written as \uFFFD: what our parser reads such
// an escape as (nlohmann refuses it).
std::string with_lone_surrogates_replaced(std::string_view text) {
  std::string out(text);
  for (std::size_t i = 0; i + 1 < out.size(); ++i) {
    if (out[i] != '\\') continue;
    if (out[i + 1] != 'u') {
      ++i;  // another escape: skip its second byte
      continue;
    }
    const int first = hex4(out, i + 2);
    if (first < 0) continue;
    const bool high = first >= 0xD800 && first <= 0xDBFF;
    const bool low = first >= 0xDC00 && first <= 0xDFFF;
    const bool paired = high && i + 12 <= out.size() && out[i + 6] == '\\' && out[i + 7] == 'u' &&
                        hex4(out, i + 8) >= 0xDC00 && hex4(out, i + 8) <= 0xDFFF;
    if (paired) {
      i += 11;
    } else {
      if (high || low) out.replace(i + 2, 4, "FFFD");
      i += 5;
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  nlohmann::json ours;
  const auto result = llm_router::api::parse_json(text, ours, {.max_depth = 64});
  const nlohmann::json theirs =
      nlohmann::json::parse(with_lone_surrogates_replaced(text), nullptr, false);
  // Refused by design: deeper nesting than our limit, and text after a NUL byte (nlohmann
  // takes a NUL for the end of the input and ignores whatever follows).
  if (!result.ok && (nesting(text) > 64 || text.find('\0') != std::string_view::npos)) return 0;
  if (result.ok != !theirs.is_discarded()) {
    std::fprintf(stderr,
                 "disagreement (ours: %s) on %zu bytes:", result.ok ? "accepted" : "refused", size);
    for (std::size_t i = 0; i < size; ++i) std::fprintf(stderr, " %02x", data[i]);
    std::fprintf(stderr, "\n");
    std::abort();
  }
  if (result.ok) {
    require(ours == theirs);
    require(ours.dump() == theirs.dump());
  }
  // Validating without building (numbers converted only where they might not fit) accepts
  // exactly what building does.
  llm_router::api::JsonCursor cursor(text, 64);
  require((cursor.skip_value() && cursor.finish()) == result.ok);
  // The answer check's validator, a loop of its own, accepts exactly the objects the cursor
  // does (at the default depth).
  llm_router::api::JsonCursor whole(text);
  const bool object = whole.peek() == '{' && whole.skip_value() && whole.finish();
  require(llm_router::api::is_json_object(text) == object);
  return 0;
}

std::vector<std::string> fuzz_seeds() {
  return {
      R"({"model":"auto","stream":true,"messages":[{"role":"user","content":"Hi \u00e9 \ud83d\ude00"}]})",
      R"([1,-2,3.5,-0,0,1e3,2E-2,-1.25e+2,18446744073709551616,-9223372036854775809,1e-400])",
      "\"h\xC3\xA9llo \xE4\xB8\xAD \xF0\x9F\x98\x80\"",
      "\xEF\xBB\xBF{\"bom\":[true,false,null]}",
      R"({"a":{"b":{"c":[[],[{}],{"k":[]}]}},"a":"\"\\\/\b\f\n\r\t"})",
  };
}

std::vector<std::string> fuzz_dictionary() {
  return {"{",
          "}",
          "[",
          "]",
          ",",
          ":",
          "\"",
          "\\",
          "\\u",
          "\\ud83d",
          "\\ude00",
          "e",
          "E-",
          "-0",
          "1e999",
          "true",
          "false",
          "null",
          "\xC3",
          "\xE4\xB8",
          "\xF0\x9F\x98",
          "\xED\xA0\x80",
          " ",
          "\t",
          "\x01"};
}
