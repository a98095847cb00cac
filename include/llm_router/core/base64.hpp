#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Standard base64 (RFC 4648, '+' '/', '=' padding): model files and OpenAI's
// encoding_format "base64" embeddings.
namespace llm_router::core {

std::string base64_encode(std::string_view bytes);
inline std::string base64_encode(const std::vector<unsigned char>& bytes) {
  return base64_encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

// Stops at the first '='; nullopt on a character outside the alphabet.
std::optional<std::vector<unsigned char>> base64_decode(std::string_view text);

}  // namespace llm_router::core
