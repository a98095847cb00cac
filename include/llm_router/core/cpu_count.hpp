#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

namespace llm_router::core {

// The CPUs this process may use: those in its affinity mask, capped by its cgroup's CPU quota
// rounded up (a container started with --cpus=1.5 on a 64-core host gets 2, not 64). At least 1.
int usable_cpu_count();

// The CPU quota (cores' worth, e.g. 1.5) set on the cgroups listed in proc_self_cgroup (the text
// of /proc/self/cgroup) under cgroup_root (/sys/fs/cgroup), the tightest of the process's cgroup
// and its ancestors; nullopt when there is none.
std::optional<double> cgroup_cpu_quota(std::string_view proc_self_cgroup,
                                       const std::filesystem::path& cgroup_root);

}  // namespace llm_router::core
