#include "llm_router/config/diagnostics.hpp"

namespace llm_router::config {
namespace {

std::string summarize(const Diagnostics& diagnostics) {
  std::string text;
  for (const auto& d : diagnostics) {
    if (!text.empty()) text += '\n';
    text += d.format();
  }
  return text;
}

}  // namespace

std::string Diagnostic::format() const {
  // (No position for a file that could not be read at all.)
  std::string text = line == 0
                         ? file + ": "
                         : file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
  if (!path.empty()) text += path + ": ";
  return text + message;
}

ConfigError::ConfigError(Diagnostics diagnostics, std::vector<std::string> other_files)
    : std::runtime_error(summarize(diagnostics)),
      diagnostics_(std::move(diagnostics)),
      other_files_(std::move(other_files)) {}

}  // namespace llm_router::config
