#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <vector>

#include "llm_router/requestlog/writer.hpp"

namespace llm_router::requestlog {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() / ("llm-router-requestlog-" + std::to_string(::getpid()) +
                                         "-" + info->test_suite_name() + "-" + info->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::size_t count() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(path_), {}));
  }

 private:
  fs::path path_;
};

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string numbered_line(int i) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "line %05d ........\n", i);  // 20 bytes
  return buffer;
}

struct RotationCase {
  std::int64_t max_bytes;
  int max_files;
  int lines;
};

TEST(RequestLogRotation, FileCountIsBoundedAndNewestIsInTheBaseFile) {
  const std::vector<RotationCase> cases = {
      {100, 3, 100},                // 5 lines a file, rotated ~20 times
      {100, 1, 37},  {100, 0, 23},  // no backups: the base file starts again
      {4096, 5, 10},                // never rotates
      {30, 2, 9},                   // one line a file
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::Message() << "max_bytes=" << c.max_bytes << " max_files=" << c.max_files
                                    << " lines=" << c.lines);
    TempDir dir;
    const std::string base = dir.file("requests.jsonl");
    {
      RotatingFile file(base, c.max_bytes, c.max_files);
      for (int i = 0; i < c.lines; ++i) {
        ASSERT_TRUE(file.append(numbered_line(i)));
        if (i % 7 == 0) {
          ASSERT_TRUE(file.flush());
        }
      }
      ASSERT_TRUE(file.flush());
      EXPECT_EQ(file.errors(), 0u);
    }
    const int per_file = static_cast<int>(c.max_bytes / 20);
    const int files_needed = (c.lines + per_file - 1) / per_file;
    EXPECT_EQ(dir.count(), static_cast<std::size_t>(std::min(files_needed, c.max_files + 1)));
    EXPECT_FALSE(fs::exists(base + "." + std::to_string(c.max_files + 1)));
    // Every file is within max_bytes; read newest to oldest, the lines count down without gaps.
    int expected = c.lines - 1;
    for (int k = 0; k <= c.max_files; ++k) {
      const std::string name = k == 0 ? base : base + "." + std::to_string(k);
      if (!fs::exists(name)) break;
      EXPECT_LE(static_cast<std::int64_t>(fs::file_size(name)), c.max_bytes) << name;
      const auto lines = lines_of(name);
      for (auto it = lines.rbegin(); it != lines.rend(); ++it, --expected) {
        EXPECT_EQ(*it + "\n", numbered_line(expected)) << name;
      }
    }
    EXPECT_EQ(lines_of(base).back() + "\n", numbered_line(c.lines - 1));
  }
}

TEST(RequestLogRotation, AppendsToAnExistingFileAndCountsItsSize) {
  TempDir dir;
  const std::string base = dir.file("requests.jsonl");
  std::ofstream(base) << numbered_line(0) << numbered_line(1) << numbered_line(2);  // 60 bytes
  RotatingFile file(base, 100, 2);
  ASSERT_TRUE(file.append(numbered_line(3)));
  ASSERT_TRUE(file.append(numbered_line(4)));
  ASSERT_TRUE(file.append(numbered_line(5)));  // 120 bytes would be too many: rotates first
  ASSERT_TRUE(file.flush());
  EXPECT_EQ(file.rotations(), 1u);
  EXPECT_EQ(lines_of(base + ".1").size(), 5u);
  EXPECT_EQ(lines_of(base).size(), 1u);
}

// /dev/stdout, a FIFO a collector reads, a symlink: written to, never renamed away.
TEST(RequestLogRotation, OnlyARegularFileIsRotated) {
  TempDir dir;
  const std::string target = dir.file("real.jsonl");
  const std::string link = dir.file("link.jsonl");
  std::ofstream(target).flush();
  fs::create_symlink(target, link);
  RotatingFile file(link, 50, 2);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(file.append(numbered_line(i)));
  ASSERT_TRUE(file.flush());
  EXPECT_EQ(file.rotations(), 0u);
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_FALSE(fs::exists(link + ".1"));
  EXPECT_EQ(lines_of(target).size(), 6u);
}

TEST(RequestLogRotation, UnwritablePathIsCountedNotThrown) {
  TempDir dir;
  RotatingFile file(dir.file("missing-dir/requests.jsonl"), 100, 2);
  EXPECT_FALSE(file.append(numbered_line(0)));
  EXPECT_FALSE(file.append(numbered_line(1)));
  EXPECT_EQ(file.errors(), 2u);
}

RequestLogEntry entry(int i, std::string prompt = {}) {
  RequestLogEntry e;
  e.id = "req-" + std::to_string(i);
  e.route = "auto";
  e.status = 200;
  if (!prompt.empty()) e.prompt = std::move(prompt);
  return e;
}

// /dev/stdout is the descriptor the process was given, not a path opened again: that fails
// where stdout is a socket (systemd's journal) or another user's pipe.
TEST(RequestLogRotation, DevStdoutWritesToTheGivenDescriptorEvenASocket) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  const int saved = ::dup(STDOUT_FILENO);
  ::fflush(stdout);
  ::dup2(pair[0], STDOUT_FILENO);
  bool written = false;
  {
    RotatingFile file("/dev/stdout", 10, 3);
    written = file.open_now() && file.append("{\"line\":1}\n") && file.flush();
  }
  ::dup2(saved, STDOUT_FILENO);
  ::close(saved);
  ::close(pair[0]);
  ASSERT_TRUE(written);
  char received[64] = {};
  const ssize_t n = ::read(pair[1], received, sizeof received - 1);
  ::close(pair[1]);
  EXPECT_EQ(std::string(received, n > 0 ? static_cast<std::size_t>(n) : 0), "{\"line\":1}\n");
}

TEST(RequestLogWriter, WritesRotatesAndDrainsOnDestruction) {
  TempDir dir;
  RequestLogSettings settings;
  settings.path = dir.file("requests.jsonl");
  settings.max_bytes = 4096;
  settings.max_files = 2;
  constexpr int kEntries = 500;  // ~100 KB: many rotations
  {
    RequestLogWriter writer(settings);
    for (int i = 0; i < kEntries; ++i) {
      ASSERT_TRUE(writer.submit(entry(i)));
    }
  }  // the destructor drains
  EXPECT_EQ(dir.count(), 3u);
  const auto lines = lines_of(settings.path);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(nlohmann::json::parse(lines.back())["id"], "req-" + std::to_string(kEntries - 1));
  for (const char* name : {"requests.jsonl", "requests.jsonl.1", "requests.jsonl.2"}) {
    EXPECT_LE(fs::file_size(dir.file(name)), 4096u);
  }
}

TEST(RequestLogWriter, APathThatCannotBeWrittenFailsAtStart) {
  TempDir dir;
  RequestLogSettings settings;
  settings.path = dir.file("missing-dir/requests.jsonl");
  try {
    RequestLogWriter writer(settings);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing-dir/requests.jsonl"), std::string::npos)
        << e.what();
  }
}

TEST(RequestLogWriter, FlushWaitsForEverythingSubmitted) {
  TempDir dir;
  RequestLogSettings settings;
  settings.path = dir.file("requests.jsonl");
  RequestLogWriter writer(settings);
  for (int round = 1; round <= 3; ++round) {
    for (int i = 0; i < 10; ++i) writer.submit(entry(i));
    writer.flush();
    EXPECT_EQ(lines_of(settings.path).size(), static_cast<std::size_t>(10 * round));
  }
  const auto stats = writer.stats();
  EXPECT_EQ(stats.accepted, 30u);
  EXPECT_EQ(stats.written, 30u);
  EXPECT_EQ(stats.dropped, 0u);
  EXPECT_EQ(stats.failed, 0u);
}

// Holds the writer's thread inside its first append until released.
class GateSink final : public LineSink {
 public:
  GateSink(std::promise<void>& entered, std::shared_future<void> release,
           std::vector<std::string>& lines)
      : entered_(entered), release_(std::move(release)), lines_(lines) {}
  bool append(std::string_view line) override {
    if (first_) {
      first_ = false;
      entered_.set_value();
      release_.wait();
    }
    lines_.emplace_back(line);
    return true;
  }
  bool flush() override { return true; }

 private:
  std::promise<void>& entered_;
  std::shared_future<void> release_;
  std::vector<std::string>& lines_;
  bool first_ = true;
};

TEST(RequestLogWriter, FullQueueDropsAndCounts) {
  std::promise<void> entered;
  std::promise<void> release;
  std::vector<std::string> lines;
  constexpr std::size_t kCapacity = 4;
  RequestLogWriter writer(std::make_unique<GateSink>(entered, release.get_future().share(), lines),
                          kCapacity, false, 0, Redactor::hook());
  ASSERT_TRUE(writer.submit(entry(0)));
  entered.get_future().wait();  // the thread holds entry 0; the queue is empty
  std::vector<bool> accepted;
  for (int i = 1; i <= 7; ++i) accepted.push_back(writer.submit(entry(i)));
  EXPECT_EQ(accepted, (std::vector<bool>{true, true, true, true, false, false, false}));
  EXPECT_EQ(writer.stats().dropped, 3u);
  release.set_value();
  writer.flush();
  const auto stats = writer.stats();
  EXPECT_EQ(stats.accepted, 5u);
  EXPECT_EQ(stats.written, 5u);
  EXPECT_EQ(stats.dropped, 3u);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(nlohmann::json::parse(lines.back())["id"], "req-4");
}

// Collects lines for inspection (read after flush(), which orders it with the thread).
class VectorSink final : public LineSink {
 public:
  explicit VectorSink(std::vector<std::string>& lines) : lines_(lines) {}
  bool append(std::string_view line) override {
    lines_.emplace_back(line);
    return true;
  }
  bool flush() override { return true; }

 private:
  std::vector<std::string>& lines_;
};

struct PromptCase {
  std::string name;
  bool log_prompts;
  std::size_t max_prompt_bytes;
  std::string prompt;
  std::optional<std::string> logged;  // nullopt: no "prompt" field
};

TEST(RequestLogWriter, PromptsOnlyWhenEnabledAndAlwaysRedacted) {
  const std::vector<PromptCase> cases = {
      {"off by default", false, 4096, "hi, I am a@b.io", std::nullopt},
      {"on and redacted", true, 4096, "hi, I am a@b.io", "hi, I am [REDACTED:email]"},
      {"cut to max_prompt_bytes", true, 5, "hello world", "hello"},
      {"cut on a UTF-8 boundary", true, 4, "caf\xc3\xa9!", "caf"},
      {"zero bytes keeps an empty prompt", true, 0, "secret", ""},
      // Redacted before it is cut: no prefix of a secret across the limit is left in clear.
      {"card across the cut", true, 20, "pay with 4111 1111 1111 1111 now", "pay with [REDACTED:c"},
      {"key across the cut", true, 12, "key sk-proj-AbCdEf0123456789AbCdEf0123456789xyz",
       "key [REDACTE"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> lines;
    {
      RequestLogWriter writer(std::make_unique<VectorSink>(lines), 16, c.log_prompts,
                              c.max_prompt_bytes, Redactor::hook());
      writer.submit(entry(1, c.prompt));
    }
    ASSERT_EQ(lines.size(), 1u) << c.name;
    const auto j = nlohmann::json::parse(lines[0]);
    if (c.logged) {
      EXPECT_EQ(j.value("prompt", "<missing>"), *c.logged) << c.name;
    } else {
      EXPECT_FALSE(j.contains("prompt")) << c.name;
    }
  }
}

// The client writes `user` and `model` too: redacted as prompts are, logged or not.
TEST(RequestLogWriter, UserAndModelAreRedactedLikePrompts) {
  std::vector<std::string> lines;
  {
    RequestLogWriter writer(std::make_unique<VectorSink>(lines), 16, false, 4096, Redactor::hook());
    RequestLogEntry e = entry(1, "hi");
    e.user = "jane.doe@example.com";
    e.model = "sk-proj-AbCdEf0123456789AbCdEf0123456789xyz";
    writer.submit(std::move(e));
    RequestLogEntry plain = entry(2, "hi");
    plain.user = "user-1234";
    plain.model = "gpt-4o-mini";
    writer.submit(std::move(plain));
  }
  ASSERT_EQ(lines.size(), 2u);
  const auto first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first["user"], "[REDACTED:email]");
  EXPECT_EQ(first["model"].get<std::string>().find("AbCdEf"), std::string::npos) << first;
  const auto second = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(second["user"], "user-1234");
  EXPECT_EQ(second["model"], "gpt-4o-mini");
}

TEST(RequestLogWriter, SettingsChooseTheRedactorAndCustomHooksRunAfterIt) {
  TempDir dir;
  RequestLogSettings settings;
  settings.path = dir.file("requests.jsonl");
  settings.log_prompts = true;
  const auto custom = [](std::string_view text) {
    std::string out(text);
    if (auto at = out.find("Project X"); at != std::string::npos) out.replace(at, 9, "[X]");
    return out;
  };
  {
    RequestLogWriter writer(settings, custom);
    writer.submit(entry(1, "Project X, mail a@b.io"));
    writer.submit(entry(2, "throws"));
  }
  settings.redact = false;
  {
    RequestLogWriter writer(settings, custom);
    writer.submit(entry(3, "Project X, mail a@b.io"));
  }
  {
    RequestLogWriter writer(
        settings, [](std::string_view) -> std::string { throw std::runtime_error("broken hook"); });
    writer.submit(entry(4, "anything"));
  }
  const auto lines = lines_of(settings.path);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["prompt"], "[X], mail [REDACTED:email]");
  EXPECT_EQ(nlohmann::json::parse(lines[2])["prompt"], "[X], mail a@b.io");
  EXPECT_EQ(nlohmann::json::parse(lines[3])["prompt"], "[REDACTED:redactor_failed]");
}

}  // namespace
}  // namespace llm_router::requestlog
