// Arbitrary bytes through both BPE encoders: encoding never fails, decoding gives the bytes
// back, and the count matches the encoding.
#include <cstdlib>
#include <string_view>

#include "fuzz_target.hpp"
#include "llm_router/tokenizer/tokenizer.hpp"

namespace {

using llm_router::tokenizer::Encoder;
using llm_router::tokenizer::Encoding;

const Encoder& encoder(Encoding encoding) {
  static const std::string dir = std::string(LLM_ROUTER_SOURCE_DIR) + "/config/tokenizers";
  static const Encoder o200k = Encoder::load_from_directory(Encoding::o200k_base, dir);
  static const Encoder cl100k = Encoder::load_from_directory(Encoding::cl100k_base, dir);
  return encoding == Encoding::o200k_base ? o200k : cl100k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (auto encoding : {Encoding::o200k_base, Encoding::cl100k_base}) {
    const Encoder& e = encoder(encoding);
    const auto tokens = e.encode(text);
    if (e.decode(tokens) != text || e.count(text) != tokens.size()) std::abort();
  }
  (void)llm_router::tokenizer::estimate_tokens(text);
  return 0;
}

std::vector<std::string> fuzz_seeds() {
  return {"Hello, world! It's 2026.",
          "  leading spaces\n\n\ttabs",
          "naïve café 🎉 日本語 ١٢٣",
          "<|endoftext|> special text",
          "don't I'LL we've",
          "12345678901234567890",
          ""};
}

std::vector<std::string> fuzz_dictionary() {
  return {"'s", "'LL", " ", "\n", "\r\n", "123", "\xf0\x9f", "\xff", "<|", "|>", "\xcc\x81"};
}
