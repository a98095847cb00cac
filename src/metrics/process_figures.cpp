#include "llm_router/metrics/process_figures.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace llm_router::metrics {
namespace {

// Seconds since the epoch at which the machine booted (/proc/stat "btime"), read once.
double boot_time_seconds() {
  static const double boot = [] {
    std::ifstream stat("/proc/stat");
    std::string key;
    double value = 0;
    while (stat >> key) {
      if (key == "btime") {
        stat >> value;
        return value;
      }
      stat.ignore(1 << 20, '\n');
    }
    return 0.0;
  }();
  return boot;
}

double open_file_descriptors() {
  std::error_code ec;
  double count = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++count;
  }
  return ec ? 0 : count;
}

}  // namespace

std::optional<ProcessFigures> read_process_figures() {
  std::ifstream file("/proc/self/stat");
  std::string stat;
  if (!std::getline(file, stat)) return std::nullopt;
  // The command name (field 2) is in parentheses and may hold spaces: fields after its ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 > stat.size()) return std::nullopt;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0, start_ticks = 0, vsize = 0, rss_pages = 0;
  // Fields 3.. from the state on: utime is 14, stime 15, starttime 22, vsize 23, rss 24.
  int index = 3;
  for (; index <= 24 && fields >> field; ++index) {
    const double value = std::strtod(field.c_str(), nullptr);  // never throws
    if (index == 14) utime = value;
    if (index == 15) stime = value;
    if (index == 22) start_ticks = value;
    if (index == 23) vsize = value;
    if (index == 24) rss_pages = value;
  }
  if (index <= 24) return std::nullopt;  // a shorter line than Linux writes
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  if (ticks <= 0 || page <= 0) return std::nullopt;
  ProcessFigures figures;
  figures.cpu_seconds = (utime + stime) / ticks;
  figures.resident_bytes = rss_pages * page;
  figures.virtual_bytes = vsize;
  figures.start_time_seconds = boot_time_seconds() + start_ticks / ticks;
  figures.open_fds = open_file_descriptors();
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) figures.max_fds = static_cast<double>(limit.rlim_cur);
  return figures;
}

}  // namespace llm_router::metrics
