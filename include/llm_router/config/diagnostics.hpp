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
  explicit ConfigError(Diagnostics diagnostics);
  const Diagnostics& diagnostics() const { return diagnostics_; }

 private:
  Diagnostics diagnostics_;
};

}  // namespace llm_router::config
