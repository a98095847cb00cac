#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace llm_router::core {

// The whole content of a regular file, or nullopt with the reason in `why` ("no such file",
// "is a directory", "is not a regular file", "cannot read"): a path that names a directory or
// a device is an operator's typo to report, not bytes to read.
std::optional<std::string> read_file(const std::filesystem::path& path, std::string& why);

// The same for start-up and reload: throws std::runtime_error "PATH: cannot read WHAT: WHY".
std::string read_file_or_throw(const std::filesystem::path& path, const std::string& what);

}  // namespace llm_router::core
