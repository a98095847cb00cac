#pragma once

#include <optional>

namespace llm_router::metrics {

// The router process's own figures, as Prometheus client libraries export them (process_*),
// read from /proc at scrape time. nullopt where /proc cannot be read (not Linux).
struct ProcessFigures {
  double cpu_seconds = 0;     // user + system
  double resident_bytes = 0;  // RSS
  double virtual_bytes = 0;
  double open_fds = 0;
  double max_fds = 0;             // the soft RLIMIT_NOFILE
  double start_time_seconds = 0;  // since the Unix epoch
};

std::optional<ProcessFigures> read_process_figures();

}  // namespace llm_router::metrics
