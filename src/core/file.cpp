#include "llm_router/core/file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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
  // Sized once and read at once: a model file is megabytes, and a string grown piece by piece
  // would leave its discarded buffers in the process's memory.
  std::error_code size_error;
  const auto size = std::filesystem::file_size(path, size_error);
  std::string text(size_error ? 0 : static_cast<std::size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad() || static_cast<std::size_t>(in.gcount()) != text.size()) {
    why = "cannot read";
    return std::nullopt;
  }
  // (A file that grew after its size was taken: the rest, if any.)
  text.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return text;
}

std::string replaceable_file_problem(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return "is a directory";
  const std::filesystem::path directory =
      path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  if (!std::filesystem::is_directory(directory, ec)) {
    return "no directory '" + directory.string() + "'";
  }
  if (::access(directory.c_str(), W_OK | X_OK) != 0) {
    return "cannot write in '" + directory.string() + "': " + std::strerror(errno);
  }
  return "";
}

std::string read_file_or_throw(const std::filesystem::path& path, const std::string& what) {
  std::string why;
  auto text = read_file(path, why);
  if (!text) throw std::runtime_error(path.string() + ": cannot read " + what + ": " + why);
  return std::move(*text);
}

std::optional<FileStamp> file_stamp(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return std::nullopt;
  const auto ns = [](const timespec& t) {
    return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
  };
  return FileStamp{static_cast<std::uint64_t>(info.st_dev), static_cast<std::uint64_t>(info.st_ino),
                   static_cast<std::uint64_t>(info.st_size), ns(info.st_mtim), ns(info.st_ctim)};
}

}  // namespace llm_router::core
