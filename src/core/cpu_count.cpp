#include "llm_router/core/cpu_count.hpp"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace llm_router::core {
namespace {

std::optional<std::string> first_line(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return line;
}

// cgroup v2 cpu.max: "QUOTA PERIOD" in microseconds, or "max PERIOD" for no limit.
std::optional<double> quota_v2(const std::filesystem::path& dir) {
  const auto line = first_line(dir / "cpu.max");
  if (!line) return std::nullopt;
  std::istringstream fields(*line);
  std::string quota;
  double period = 0;
  if (!(fields >> quota >> period) || quota == "max" || period <= 0) return std::nullopt;
  try {
    const double q = std::stod(quota);
    return q > 0 ? std::optional<double>(q / period) : std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// cgroup v1: cpu.cfs_quota_us (-1 for no limit) over cpu.cfs_period_us.
std::optional<double> quota_v1(const std::filesystem::path& dir) {
  const auto quota = first_line(dir / "cpu.cfs_quota_us");
  const auto period = first_line(dir / "cpu.cfs_period_us");
  if (!quota || !period) return std::nullopt;
  try {
    const double q = std::stod(*quota);
    const double p = std::stod(*period);
    return q > 0 && p > 0 ? std::optional<double>(q / p) : std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<double> tighter(std::optional<double> a, std::optional<double> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

// The tightest quota of dir and its ancestors up to root (a parent's limit binds its children).
template <typename Quota>
std::optional<double> tightest_up_to(const std::filesystem::path& root, std::string_view relative,
                                     Quota&& quota) {
  std::filesystem::path dir = root;
  std::optional<double> best = quota(dir);
  std::string path(relative);
  std::istringstream parts(path);
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (part.empty() || part == "." || part == "..") continue;
    dir /= part;
    best = tighter(best, quota(dir));
  }
  return best;
}

bool lists_cpu_controller(std::string_view controllers) {
  std::size_t start = 0;
  while (start <= controllers.size()) {
    const std::size_t comma = std::min(controllers.find(',', start), controllers.size());
    if (controllers.substr(start, comma - start) == "cpu") return true;
    start = comma + 1;
  }
  return false;
}

}  // namespace

std::optional<double> cgroup_cpu_quota(std::string_view proc_self_cgroup,
                                       const std::filesystem::path& cgroup_root) {
  std::optional<double> quota;
  std::istringstream lines{std::string(proc_self_cgroup)};
  std::string line;
  while (std::getline(lines, line)) {
    // "ID:CONTROLLERS:PATH"; v2 is "0::PATH".
    const std::size_t first = line.find(':');
    const std::size_t second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    const std::string_view controllers =
        std::string_view(line).substr(first + 1, second - first - 1);
    const std::string_view path = std::string_view(line).substr(second + 1);
    if (controllers.empty()) {
      quota = tighter(quota, tightest_up_to(cgroup_root, path, quota_v2));
    } else if (lists_cpu_controller(controllers)) {
      for (const char* mount : {"cpu", "cpu,cpuacct", "cpuacct,cpu"}) {
        // Inside a container the process's own path may not exist under the mount: its root
        // is then the process's cgroup.
        quota = tighter(quota, tightest_up_to(cgroup_root / mount, path, quota_v1));
      }
    }
  }
  return quota;
}

int usable_cpu_count() {
  int count = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) count = std::max(1, CPU_COUNT(&set));
  std::ifstream in("/proc/self/cgroup");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (const auto quota = cgroup_cpu_quota(text, "/sys/fs/cgroup")) {
    count = std::min(count, std::max(1, static_cast<int>(std::ceil(*quota))));
  }
  return count;
}

}  // namespace llm_router::core
