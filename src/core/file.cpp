#include "llm_router/core/file.hpp"

#include <cerrno>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>

namespace llm_router::core {

std::optional<std::string> read_file(const std::filesystem::path& path, std::string& why) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    why = ec && ec != std::errc::no_such_file_or_directory ? ec.message() : "no such file";
    return std::nullopt;
  }
  if (std::filesystem::is_directory(status)) {
    why = "is a directory";
    return std::nullopt;
  }
  if (!std::filesystem::is_regular_file(status)) {
    why = "is not a regular file";
    return std::nullopt;
  }
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) {
    why = errno != 0 ? std::generic_category().message(errno) : "cannot open";
    return std::nullopt;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    why = "cannot read";
    return std::nullopt;
  }
  return text;
}

std::string read_file_or_throw(const std::filesystem::path& path, const std::string& what) {
  std::string why;
  auto text = read_file(path, why);
  if (!text) throw std::runtime_error(path.string() + ": cannot read " + what + ": " + why);
  return std::move(*text);
}

}  // namespace llm_router::core
