#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace llm_router::core {

// The whole content of a regular file, or nullopt with the reason in `why` ("no such file",
// "is a directory", "is not a regular file", "cannot read"): a path that names a directory or
// a device is an operator's typo to report, not bytes to read.
std::optional<std::string> read_file(const std::filesystem::path& path, std::string& why);

// Why a file could not be replaced by writing `path` + ".tmp" and renaming it over `path` (its
// directory missing or not writable, the path a directory), or "" when it can.
std::string replaceable_file_problem(const std::filesystem::path& path);

// The same for start-up and reload: throws std::runtime_error "PATH: cannot read WHAT: WHY".
std::string read_file_or_throw(const std::filesystem::path& path, const std::string& what);

// What tells a file written again, or replaced by a rename, from the one read before.
struct FileStamp {
  std::uint64_t device = 0, inode = 0, size = 0;
  std::int64_t modified_ns = 0, changed_ns = 0;
  bool operator==(const FileStamp&) const = default;
};
std::optional<FileStamp> file_stamp(const std::string& path);  // nullopt: cannot stat it

// Shares what was made from a file, by path, while the file is unchanged (same device, inode,
// size, modification and change times: modification times alone repeat in reproducible
// builds) and something still holds it: a reload reuses it instead of reading the file again.
template <class T>
class SharedByFile {
 public:
  // `make(path)` makes it when there is nothing to share (and reports a file it cannot use).
  template <class Make>
  std::shared_ptr<T> get(const std::string& path, const Make& make) {
    const auto stamp = file_stamp(path);
    if (!stamp) return make(path);
    {
      const std::lock_guard lock(mutex_);
      const auto found = entries_.find(path);
      if (found != entries_.end() && found->second.stamp == *stamp) {
        if (auto shared = found->second.value.lock()) return shared;
      }
    }
    std::shared_ptr<T> made = make(path);
    const std::lock_guard lock(mutex_);
    entries_[path] = {*stamp, made};
    return made;
  }

 private:
  struct Entry {
    FileStamp stamp;
    std::weak_ptr<T> value;
  };
  std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

}  // namespace llm_router::core
