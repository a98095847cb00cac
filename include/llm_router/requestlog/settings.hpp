#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "llm_router/config/yaml_reader.hpp"

namespace llm_router::requestlog {

// The `request_log:` section. An absent section (or one without `path`) leaves the log off.
struct RequestLogSettings {
  std::string path;   // empty: no request log
  int path_line = 0;  // where the file gives it (1-based; 0: unknown), for `check`'s messages
  int path_column = 0;
  std::int64_t max_bytes = 100LL * 1024 * 1024;
  int max_files = 5;  // rotated files kept: path.1 (newest) ... path.N
  bool log_prompts = false;
  bool redact = true;
  std::size_t queue_lines = 8192;       // entries waiting for the writer; more are dropped
  std::size_t max_prompt_bytes = 4096;  // longer prompts are cut (on a UTF-8 boundary)

  bool enabled() const { return !path.empty(); }
};

// Reads `request_log: {path, max_bytes, max_files, log_prompts, redact, queue_lines,
// max_prompt_bytes}`; problems (unknown keys, wrong types, out of range) are located
// diagnostics in the reader's context, as for every other section.
RequestLogSettings read_request_log_settings(config::NodeReader reader);

}  // namespace llm_router::requestlog
