#include "llm_router/upstream/inflater.hpp"

#include <zlib.h>

namespace llm_router::upstream {

struct Inflater::State {
  z_stream stream{};
  bool ok = false;
  bool ended = false;
  bool over_limit = false;
  bool past_ratio = false;
  std::size_t ratio = 0;  // 0: no ratio limit
  std::size_t floor = 0;
  std::size_t fed = 0;
  std::size_t produced = 0;
};

void Inflater::limit_ratio(std::size_t ratio, std::size_t floor) {
  state_->ratio = ratio;
  state_->floor = floor;
}

Inflater::Inflater(bool gzip) : state_(std::make_unique<State>()) {
  // 16+MAX_WBITS: gzip wrapper; 32+MAX_WBITS: zlib or gzip, auto-detected ("deflate").
  state_->ok = inflateInit2(&state_->stream, gzip ? 16 + MAX_WBITS : 32 + MAX_WBITS) == Z_OK;
}

Inflater::~Inflater() {
  if (state_->ok) inflateEnd(&state_->stream);
}

namespace {

constexpr unsigned char kGzipMagic = 0x1f;

}  // namespace

// Bytes after the end of a compressed stream: another gzip member (`cat a.gz b.gz` is one valid
// gzip file, RFC 1952) starts over; anything else is garbage, and the body is refused.
bool Inflater::next_member() {
  auto& s = state_->stream;
  if (s.avail_in == 0) return true;
  if (*s.next_in != kGzipMagic || inflateReset(&s) != Z_OK) return false;
  state_->ended = false;
  return true;
}

bool Inflater::inflate(std::string_view input, std::string& out, std::size_t limit) {
  if (!state_->ok) return false;
  auto& s = state_->stream;
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  s.avail_in = static_cast<uInt>(input.size());
  state_->fed += input.size();
  if (state_->ended && !next_member()) return false;
  char buffer[16384];
  while (s.avail_in > 0) {
    s.next_out = reinterpret_cast<Bytef*>(buffer);
    s.avail_out = sizeof buffer;
    const int rc = ::inflate(&s, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) return false;
    const std::size_t produced = sizeof buffer - s.avail_out;
    state_->produced += produced;
    const bool past_ratio = state_->ratio > 0 && state_->produced > state_->floor &&
                            state_->produced / state_->ratio > state_->fed;
    if (out.size() + produced > limit || past_ratio) {
      state_->over_limit = true;
      state_->past_ratio = past_ratio;
      return false;
    }
    out.append(buffer, produced);
    if (rc == Z_STREAM_END) {
      state_->ended = true;
      if (!next_member()) return false;
      continue;
    }
    if (rc == Z_BUF_ERROR && produced == 0) break;
  }
  return true;
}

bool Inflater::finished() const {
  return state_->ended;
}

bool Inflater::over_limit() const {
  return state_->over_limit;
}

bool Inflater::past_ratio() const {
  return state_->past_ratio;
}

}  // namespace llm_router::upstream
