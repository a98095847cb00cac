#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace llm_router::config {

// One problem found in a config file, located as FILE:LINE:COL (1-based) with the YAML path.
struct Diagnostic {
  std::string file;
  int line = 0;
  int column = 0;
  std::string path;  // e.g. "backends[1].timeouts.connect"
  std::string message;

  std::string format() const;  // "FILE:LINE:COL: PATH: MESSAGE"
};

using Diagnostics = std::vector<Diagnostic>;

// Thrown only while loading config (startup, reload, `check`): carries every problem found.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(Diagnostics diagnostics, std::vector<std::string> other_files = {});
  const Diagnostics& diagnostics() const { return diagnostics_; }
  // The files besides the config that it named and the load read or tried to read (a secret
  // not mounted yet): a change to one is worth another try.
  const std::vector<std::string>& other_files() const { return other_files_; }

 private:
  Diagnostics diagnostics_;
  std::vector<std::string> other_files_;
};

}  // namespace llm_router::config
