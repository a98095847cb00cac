#include "llm_router/requestlog/entry.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace llm_router::requestlog {
namespace {

// Length of the valid UTF-8 sequence at text[i], or 0 when the bytes there are not one.
std::size_t utf8_sequence(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(i);
  std::size_t n = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) low = 0xA0;   // overlong
    if (b0 == 0xED) high = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) low = 0x90;   // overlong
    if (b0 == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

void append_number(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  if (ec != std::errc{}) {
    out += "null";
    return;
  }
  out.append(buffer, end);
}

// Milliseconds kept to the microsecond: enough for latencies, short in the log.
void append_millis(std::string& out, double value) {
  append_number(out, std::isfinite(value) ? std::round(value * 1000) / 1000 : value);
}

void append_integer(std::string& out, std::int64_t value) {
  char buffer[24];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, ec == std::errc{} ? end : buffer);
}

// U+2028..U+202E (line and paragraph separators, direction embeddings and overrides) and
// U+2066..U+2069 (direction isolates), as UTF-8.
bool is_layout_control(std::string_view bytes) {
  const auto b1 = static_cast<unsigned char>(bytes[1]);
  const auto b2 = static_cast<unsigned char>(bytes[2]);
  return static_cast<unsigned char>(bytes[0]) == 0xE2 &&
         ((b1 == 0x80 && b2 >= 0xA8 && b2 <= 0xAE) || (b1 == 0x81 && b2 >= 0xA6 && b2 <= 0xA9));
}

void key(std::string& out, std::string_view name) {
  if (out.size() > 1) out += ',';
  out += '"';
  out += name;
  out += "\":";
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t n = utf8_sequence(text, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else if (n == 3 && is_layout_control(text.substr(i, 3))) {
        // Escaped, not dropped: the value is the same once parsed, and a terminal showing the
        // line is not made to reorder or break it.
        const unsigned code = ((c & 0x0Fu) << 12) |
                              ((static_cast<unsigned char>(text[i + 1]) & 0x3Fu) << 6) |
                              (static_cast<unsigned char>(text[i + 2]) & 0x3Fu);
        out += "\\u";
        for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(code >> shift) & 15];
        i += 3;
      } else {
        out.append(text.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

std::string format_utc_time(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(time);
  const auto day = floor<days>(ms);
  const year_month_day date{day};
  const hh_mm_ss<milliseconds> clock{ms - day};
  char buffer[40];
  std::snprintf(
      buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(date.year()),
      static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
      static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
      static_cast<int>(clock.seconds().count()), static_cast<int>(clock.subseconds().count()));
  return buffer;
}

std::string to_json_line(const RequestLogEntry& e) {
  std::string out;
  out.reserve(384 + (e.prompt ? e.prompt->size() : 0) + 64 * e.attempts.size());
  out += '{';
  key(out, "id");
  append_json_string(out, e.id);
  key(out, "time");
  out += '"';
  out += format_utc_time(e.time);
  out += '"';
  key(out, "client_key_id");
  append_json_string(out, e.client_key_id);
  key(out, "route");
  append_json_string(out, e.route);
  key(out, "rule");
  append_json_string(out, e.rule);
  key(out, "strategy");
  append_json_string(out, e.strategy);
  key(out, "category");
  append_json_string(out, e.category);
  key(out, "complexity");
  if (e.complexity) {
    append_number(out, *e.complexity);
  } else {
    out += "null";
  }
  key(out, "candidates");
  out += '[';
  for (std::size_t i = 0; i < e.candidates.size(); ++i) {
    if (i > 0) out += ',';
    append_json_string(out, e.candidates[i]);
  }
  out += ']';
  if (!e.excluded.empty()) {
    key(out, "excluded");
    out += '[';
    for (std::size_t i = 0; i < e.excluded.size(); ++i) {
      if (i > 0) out += ',';
      out += "{\"backend\":";
      append_json_string(out, e.excluded[i].backend);
      out += ",\"reason\":";
      append_json_string(out, e.excluded[i].reason);
      out += '}';
    }
    out += ']';
  }
  key(out, "attempts");
  out += '[';
  for (std::size_t i = 0; i < e.attempts.size(); ++i) {
    const AttemptLog& a = e.attempts[i];
    if (i > 0) out += ',';
    out += "{\"backend\":";
    append_json_string(out, a.backend);
    out += ",\"status\":";
    append_integer(out, a.status);
    out += ",\"reason\":";
    append_json_string(out, a.reason);
    out += ",\"latency_ms\":";
    append_millis(out, a.latency_ms);
    out += '}';
  }
  out += ']';
  key(out, "backend");
  append_json_string(out, e.backend);
  if (!e.upstream_request_id.empty()) {
    key(out, "upstream_request_id");
    append_json_string(out, e.upstream_request_id);
  }
  key(out, "input_tokens");
  append_integer(out, e.input_tokens);
  key(out, "output_tokens");
  append_integer(out, e.output_tokens);
  key(out, "cost_usd");
  append_number(out, e.cost_usd);
  key(out, "status");
  append_integer(out, e.status);
  key(out, "latency_ms");
  append_millis(out, e.latency_ms);
  key(out, "ttft_ms");
  if (e.ttft_ms) {
    append_millis(out, *e.ttft_ms);
  } else {
    out += "null";
  }
  key(out, "stream");
  out += e.stream ? "true" : "false";
  key(out, "model");
  append_json_string(out, e.model);
  key(out, "usage_estimated");
  out += e.usage_estimated ? "true" : "false";
  if (!e.user.empty()) {
    key(out, "user");
    append_json_string(out, e.user);
  }
  if (e.prompt) {
    key(out, "prompt");
    append_json_string(out, *e.prompt);
  }
  out += "}\n";
  return out;
}

}  // namespace llm_router::requestlog
