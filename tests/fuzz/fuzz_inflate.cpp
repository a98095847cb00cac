// Compressed upstream answers (Content-Encoding gzip/deflate): corrupt or hostile input is
// rejected or decoded within the limit, never more.
#include <cstdlib>
#include <string_view>

#include "fuzz_target.hpp"
#include "llm_router/upstream/inflater.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  constexpr std::size_t kLimit = 1 << 20;
  for (bool gzip : {true, false}) {
    llm_router::upstream::Inflater inflater(gzip);
    std::string out;
    const std::size_t half = size / 2;
    if (inflater.inflate(bytes.substr(0, half), out, kLimit)) {
      (void)inflater.inflate(bytes.substr(half), out, kLimit);
    }
    if (out.size() > kLimit) std::abort();
  }
  return 0;
}

std::vector<std::string> fuzz_seeds() {
  // gzip of "hello hello hello hello\n" and a raw zlib stream of "{}".
  static constexpr char kGzip[] =
      "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcb\x48\xcd\xc9\xc9\x57\xc8\x40\x27\xb8"
      "\x00\x9b\x1f\x1e\x3d\x18\x00\x00\x00";
  static constexpr char kZlib[] = "\x78\x9c\xab\xae\x05\x00\x01\x75\x00\xf9";
  // sizeof - 1: the literals hold NUL bytes, so their length is not strlen's.
  return {std::string(kGzip, sizeof kGzip - 1), std::string(kZlib, sizeof kZlib - 1), ""};
}

std::vector<std::string> fuzz_dictionary() {
  return {"\x1f\x8b", "\x78\x9c", "\x00", "\xff\xff"};
}
