#include "llm_router/core/cpu_count.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace llm_router::core {
namespace {

namespace fs = std::filesystem;

class CgroupTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("cgroup-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  void write(const std::string& relative, const std::string& content) {
    fs::create_directories((root_ / relative).parent_path());
    std::ofstream(root_ / relative) << content << "\n";
  }
  fs::path root_;
};

TEST_F(CgroupTree, VersionTwoQuotaIsTheTightestOnThePath) {
  write("cpu.max", "max 100000");
  write("kubepods/cpu.max", "400000 100000");
  write("kubepods/pod1/cpu.max", "150000 100000");
  write("kubepods/pod1/app/cpu.max", "max 100000");
  EXPECT_DOUBLE_EQ(*cgroup_cpu_quota("0::/kubepods/pod1/app\n", root_), 1.5);
  EXPECT_DOUBLE_EQ(*cgroup_cpu_quota("0::/kubepods\n", root_), 4.0);
}

TEST_F(CgroupTree, NoLimitIsNoQuota) {
  write("cpu.max", "max 100000");
  EXPECT_FALSE(cgroup_cpu_quota("0::/\n", root_).has_value());
  EXPECT_FALSE(cgroup_cpu_quota("", root_).has_value());
  EXPECT_FALSE(cgroup_cpu_quota("0::/not/there\n", root_).has_value());
  write("bad/cpu.max", "lots 100000");
  EXPECT_FALSE(cgroup_cpu_quota("0::/bad\n", root_).has_value());
}

TEST_F(CgroupTree, VersionOneQuotaUnderTheCpuMount) {
  write("cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "50000");
  write("cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000");
  const std::string self = "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n";
  EXPECT_DOUBLE_EQ(*cgroup_cpu_quota(self, root_), 0.5);
  // Inside the container the mount's root is the container's own cgroup.
  write("cpu/cpu.cfs_quota_us", "200000");
  write("cpu/cpu.cfs_period_us", "100000");
  EXPECT_DOUBLE_EQ(*cgroup_cpu_quota("3:cpu:/docker/other\n", root_), 2.0);
  write("cpu/cpu.cfs_quota_us", "-1");
  EXPECT_FALSE(cgroup_cpu_quota("3:cpu:/docker/other\n", root_).has_value());
}

TEST(CpuCount, AtLeastOneAndNoMoreThanTheMachineHas) {
  const int count = usable_cpu_count();
  EXPECT_GE(count, 1);
  EXPECT_LE(count, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

}  // namespace
}  // namespace llm_router::core
