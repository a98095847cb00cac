#include "llm_router/core/logging.hpp"

#include <gtest/gtest.h>
#include <spdlog/pattern_formatter.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace llm_router::logging {
namespace {

// Points stderr at a temporary file for the test's lifetime.
class CapturedStderr {
 public:
  // One file per test process: ctest runs the tests of this file in parallel.
  CapturedStderr()
      : path_(testing::TempDir() + "llm_router_logging_test_" + std::to_string(::getpid()) +
              ".txt") {
    saved_ = ::dup(STDERR_FILENO);
    std::FILE* file = std::fopen(path_.c_str(), "w");
    ::dup2(::fileno(file), STDERR_FILENO);
    std::fclose(file);
  }
  ~CapturedStderr() {
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    std::remove(path_.c_str());
  }
  std::string text() const {
    std::ifstream in(path_);
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
  }

 private:
  std::string path_;
  int saved_ = -1;
};

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

TEST(Logging, LinesFromManyThreadsAllArriveWholeAndInEachThreadsOrder) {
  CapturedStderr captured;
  setup("info");
  auto logger = get("threads");
  constexpr int kThreads = 4;
  constexpr int kLines = 2000;  // several batches per thread
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kLines; ++i) logger->info("thread {} line {:05} end", t, i);
    });
  }
  for (auto& thread : threads) thread.join();
  logger->flush();
  // The writer thread writes asynchronously: wait (bounded) for the last lines.
  std::string text;
  for (int attempt = 0; attempt < 200; ++attempt) {
    text = captured.text();
    if (count_of(text, " end\n") >= kThreads * kLines) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(count_of(text, " end\n"), static_cast<std::size_t>(kThreads * kLines));
  for (int t = 0; t < kThreads; ++t) {
    std::size_t previous = 0;
    for (int i = 0; i < kLines; i += 97) {
      char line[64];
      std::snprintf(line, sizeof line, "[threads] thread %d line %05d end\n", t, i);
      const std::size_t at = text.find(line);
      ASSERT_NE(at, std::string::npos) << line;
      EXPECT_GE(at, previous) << line;
      previous = at;
    }
  }
}

// What a client or backend sent may reach a line: it cannot corrupt the log (invalid UTF-8,
// controls) or disguise it (a right-to-left override).
TEST(Logging, LinesAreValidUtf8WithoutControlsOrOverrides) {
  CapturedStderr captured;
  setup("info");
  auto logger = get("safe");
  logger->info(
      "{}", std::string("path=/x\xff\xfe\u202e/evil tab=\there esc=\x1b[31m caf\u00e9 \u4e2d end"));
  logger->flush();
  std::string text;
  for (int attempt = 0; attempt < 200 && text.find(" end\n") == std::string::npos; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    text = captured.text();
  }
  EXPECT_NE(
      text.find(
          "path=/x\ufffd\ufffd\ufffd/evil tab=\\x09here esc=\\x1b[31m caf\u00e9 \u4e2d end\n"),
      std::string::npos)
      << text;
}

}  // namespace
// logging.format: json: one object per line, whatever bytes the message holds.
TEST(Logging, JsonLinesEscapeWhatJsonCannotHoldAsIs) {
  LineFormatter json_lines(true);
  spdlog::details::log_msg msg("proxy", spdlog::level::warn,
                               "say \"hi\" \\ tab\there bell\x07 del\x7f caf\u00e9");
  spdlog::memory_buf_t out;
  json_lines.format(msg, out);
  const std::string line(out.data(), out.size());
  ASSERT_EQ(line.back(), '\n');
  const auto parsed = nlohmann::json::parse(line, nullptr, false);
  ASSERT_TRUE(parsed.is_object()) << line;
  EXPECT_EQ(parsed["level"], "warning");
  EXPECT_EQ(parsed["logger"], "proxy");
  EXPECT_EQ(parsed["message"], "say \"hi\" \\ tab\there bell\x07 del\x7f caf\u00e9");
  EXPECT_EQ(parsed["time"].get<std::string>().size(), 29u)
      << line;  // 2026-12-02T02:17:57.534+00:00
}

// The hand-written line formatter writes what spdlog's pattern formatter wrote, in any zone.
TEST(Logging, LineFormatterWritesTheDefaultPatternsLine) {
  const char* saved_zone = std::getenv("TZ");
  const std::string restore = saved_zone ? saved_zone : "";
  for (const char* zone : {"UTC0", "IST-5:30", "EST5", "NST3:30"}) {
    ::setenv("TZ", zone, 1);
    ::tzset();
    // A new one per zone: spdlog's keeps the zone's offset for ten seconds of log time.
    const auto reference =
        std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%e%z %l [%n] %v");
    LineFormatter ours;
    for (const auto since_epoch :
         {std::chrono::milliseconds(1764604800123), std::chrono::milliseconds(1764604800999),
          std::chrono::milliseconds(1764604861007)}) {
      for (const auto level : {spdlog::level::info, spdlog::level::warn, spdlog::level::err,
                               spdlog::level::debug, spdlog::level::critical}) {
        for (const char* name : {"", "proxy"}) {
          spdlog::details::log_msg msg(name, level, "request_id=abc status=200");
          msg.time = spdlog::log_clock::time_point(
              std::chrono::duration_cast<spdlog::log_clock::duration>(since_epoch));
          spdlog::memory_buf_t expected, got;
          reference->format(msg, expected);
          ours.format(msg, got);
          EXPECT_EQ(std::string(got.data(), got.size()),
                    std::string(expected.data(), expected.size()))
              << zone;
        }
      }
    }
  }
  if (saved_zone) {
    ::setenv("TZ", restore.c_str(), 1);
  } else {
    ::unsetenv("TZ");
  }
  ::tzset();
}

// A config's list of errors is logged on one line, every line starting with time and level.
TEST(Logging, OneLineJoinsLineBreaks) {
  EXPECT_EQ(one_line("a.yaml:3:1: bad\na.yaml:7:2: worse\n"), "a.yaml:3:1: bad; a.yaml:7:2: worse");
  EXPECT_EQ(one_line("x\r\ny"), "x ; y");
  EXPECT_EQ(one_line("plain"), "plain");
}

}  // namespace llm_router::logging
