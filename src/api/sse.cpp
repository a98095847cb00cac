#include "llm_router/api/sse.hpp"

#include <algorithm>

namespace llm_router::api {

std::string SseEvent::serialize() const {
  std::string out;
  out.reserve(data.size() + event.size() + 16);
  if (!event.empty()) out.append("event: ").append(event).append("\n");
  if (!id.empty()) out.append("id: ").append(id).append("\n");
  std::string_view rest = data;
  while (true) {
    const size_t newline = rest.find('\n');
    out.append("data: ").append(rest.substr(0, newline)).append("\n");
    if (newline == std::string_view::npos) break;
    rest.remove_prefix(newline + 1);
  }
  out.append("\n");
  return out;
}

void SseParser::feed(std::string_view bytes, std::vector<SseEvent>& out) {
  buffer_.append(bytes);
  if (at_start_) {
    static constexpr std::string_view kBom = "\xEF\xBB\xBF";
    if (buffer_.size() < kBom.size() && kBom.starts_with(buffer_)) return;  // more to come
    if (std::string_view(buffer_).starts_with(kBom)) buffer_.erase(0, kBom.size());
    at_start_ = false;
  }
  // Lines end with CRLF, LF or a lone CR (the SSE specification allows all three). The search
  // resumes where the last one stopped, so a long line arriving in many reads is scanned once.
  while (true) {
    const size_t end = buffer_.find_first_of("\r\n", std::max(consumed_, scanned_));
    if (end == std::string::npos) {
      scanned_ = buffer_.size();
      break;
    }
    const bool cr = buffer_[end] == '\r';
    if (cr && end + 1 == buffer_.size()) {  // a CRLF split across reads: wait for more
      scanned_ = end;
      break;
    }
    take_line(std::string_view(buffer_).substr(consumed_, end - consumed_), out);
    consumed_ = end + (cr && buffer_[end + 1] == '\n' ? 2 : 1);
  }
  if (consumed_ > 0 && consumed_ * 2 >= buffer_.size()) {
    buffer_.erase(0, consumed_);
    scanned_ -= std::min(scanned_, consumed_);
    consumed_ = 0;
  }
}

void SseParser::finish(std::vector<SseEvent>& out) {
  if (finished_) return;
  finished_ = true;
  std::string_view rest = std::string_view(buffer_).substr(consumed_);
  if (rest.ends_with('\r')) rest.remove_suffix(1);  // a line break, not yet known to be CRLF
  if (!rest.empty()) take_line(rest, out);
  take_line("", out);
  buffer_.clear();
  consumed_ = scanned_ = 0;
}

void SseParser::take_line(std::string_view line, std::vector<SseEvent>& out) {
  if (line.empty()) {
    if (has_fields_) out.push_back(std::move(current_));
    current_ = SseEvent{};
    has_fields_ = has_data_ = false;
    return;
  }
  if (line.front() == ':') return;  // comment / keep-alive
  const size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {
    if (has_data_) current_.data += '\n';
    current_.data.append(value);
    has_fields_ = has_data_ = true;
  } else if (field == "event") {
    current_.event = std::string(value);
    has_fields_ = true;
  } else if (field == "id") {
    current_.id = std::string(value);
    has_fields_ = true;
  } else if (field == "error") {
    // Not an SSE field, but how llama.cpp's server reports a failure mid-stream
    // (`error: {"code":500,"message":...}`): an error event, its words kept.
    current_.event = "error";
    if (has_data_) current_.data += '\n';
    current_.data.append(value);
    has_fields_ = has_data_ = true;
  }
}

}  // namespace llm_router::api
