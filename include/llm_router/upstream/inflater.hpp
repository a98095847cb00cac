#pragma once

#include <cstddef>
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

  // From now, refuses to decode past `ratio` times the bytes fed so far once past `floor`: a
  // small body that decodes to gigabytes stops within a few times the floor instead of costing
  // an io thread a second on its way to `limit` (Envoy's max_inflate_ratio is 100).
  void limit_ratio(std::size_t ratio, std::size_t floor);
  // Appends the decoded bytes of `input` to `out`; false on corrupt data or when `out` would
  // grow past `limit` (or the ratio).
  bool inflate(std::string_view input, std::string& out, std::size_t limit);
  // Whether the compressed stream's end (and its checksum) has been read: a body cut short
  // decodes without an error but never gets here.
  bool finished() const;
  // Whether inflate() failed because the decoded bytes would have passed its limit.
  bool over_limit() const;
  bool past_ratio() const;  // over its limit for the ratio (limit_ratio)

 private:
  bool next_member();
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace llm_router::upstream
