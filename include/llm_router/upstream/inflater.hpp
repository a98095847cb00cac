#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace llm_router::upstream {

// Streaming gzip/deflate decoder for upstream answers sent with Content-Encoding.
class Inflater {
 public:
  explicit Inflater(bool gzip);
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // Appends the decoded bytes of `input` to `out`; false on corrupt data or when `out` would
  // grow past `limit`.
  bool inflate(std::string_view input, std::string& out, std::size_t limit);
  // Whether the compressed stream's end (and its checksum) has been read: a body cut short
  // decodes without an error but never gets here.
  bool finished() const;
  // Whether inflate() failed because the decoded bytes would have passed its limit.
  bool over_limit() const;

 private:
  bool next_member();
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace llm_router::upstream
