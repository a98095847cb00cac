#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace llm_router::api {

// One server-sent event. `data` joins multi-line data fields with '\n'.
struct SseEvent {
  std::string event;
  std::string data;
  std::string id;

  bool is_done() const { return data == "[DONE]"; }
  std::string serialize() const;  // "event: ..\ndata: ..\n\n"
};

// Incremental SSE parser: bytes arrive in arbitrary pieces (an event may be split across
// reads, or several may come in one); complete events come out in order.
class SseParser {
 public:
  // Appends bytes; complete events are appended to `out`.
  void feed(std::string_view bytes, std::vector<SseEvent>& out);
  // The bytes have ended: a last line without its line break, and an event without the blank
  // line that ends it, still come out (the specification drops them; a backend that closes
  // its stream that way has still sent its last chunk). Feeding ends here.
  void finish(std::vector<SseEvent>& out);
  bool finished() const { return finished_; }
  // Bytes held for an incomplete event (bounded by the caller's limit).
  std::size_t pending_bytes() const { return buffer_.size() - consumed_; }

 private:
  void take_line(std::string_view line, std::vector<SseEvent>& out);

  std::string buffer_;
  std::size_t consumed_ = 0;
  std::size_t scanned_ = 0;  // no line ends before this offset past consumed_
  SseEvent current_;
  bool has_fields_ = false;
  bool has_data_ = false;
  bool at_start_ = true;  // a UTF-8 byte order mark there is not part of the first field
  bool finished_ = false;
};

}  // namespace llm_router::api
