#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "llm_router/requestlog/settings.hpp"

namespace llm_router::requestlog {
namespace {

struct Parsed {
  RequestLogSettings settings;
  config::Diagnostics diagnostics;
};

Parsed parse(const std::string& yaml) {
  config::ReadContext context{
      "test.yaml",
      [](const std::string&) -> std::optional<std::string> { return std::string("/tmp/from-env"); },
      {}};
  const YAML::Node root = YAML::Load(yaml);
  config::NodeReader top(root, "", context);
  RequestLogSettings settings = read_request_log_settings(top.object("request_log"));
  return {std::move(settings), context.diagnostics};
}

TEST(RequestLogSettings, ReadsEveryKey) {
  const auto p = parse(R"(request_log:
  path: /var/log/llm-router/requests.jsonl
  max_bytes: 104857600
  max_files: 7
  log_prompts: true
  redact: false
  queue_lines: 100
  max_prompt_bytes: 256
)");
  ASSERT_TRUE(p.diagnostics.empty()) << p.diagnostics[0].format();
  EXPECT_EQ(p.settings.path, "/var/log/llm-router/requests.jsonl");
  EXPECT_EQ(p.settings.max_bytes, 104857600);
  EXPECT_EQ(p.settings.max_files, 7);
  EXPECT_TRUE(p.settings.log_prompts);
  EXPECT_FALSE(p.settings.redact);
  EXPECT_EQ(p.settings.queue_lines, 100u);
  EXPECT_EQ(p.settings.max_prompt_bytes, 256u);
  EXPECT_TRUE(p.settings.enabled());
}

TEST(RequestLogSettings, DefaultsAndAbsentSection) {
  const auto absent = parse("server: {}\n");
  EXPECT_TRUE(absent.diagnostics.empty());
  EXPECT_FALSE(absent.settings.enabled());
  const auto minimal = parse("request_log: {path: \"${LOG_DIR}/r.jsonl\"}\n");
  ASSERT_TRUE(minimal.diagnostics.empty());
  EXPECT_EQ(minimal.settings.path, "/tmp/from-env/r.jsonl");
  EXPECT_EQ(minimal.settings.max_bytes, 100LL * 1024 * 1024);
  EXPECT_EQ(minimal.settings.max_files, 5);
  EXPECT_FALSE(minimal.settings.log_prompts);
  EXPECT_TRUE(minimal.settings.redact);
}

struct ErrorCase {
  std::string yaml;
  std::string path;
  int line;
  std::string fragment;
};

TEST(RequestLogSettings, ErrorsAreLocated) {
  const std::vector<ErrorCase> cases = {
      {"request_log:\n  path: /x\n  max_byte: 10\n", "request_log.max_byte", 3, "unknown"},
      {"request_log:\n  path: /x\n  max_bytes: 100MB\n", "request_log.max_bytes", 3, "integer"},
      {"request_log:\n  path: /x\n  max_bytes: 10\n", "request_log.max_bytes", 3, "between"},
      {"request_log:\n  path: /x\n  max_files: -1\n", "request_log.max_files", 3, "between"},
      {"request_log:\n  path: /x\n  log_prompts: maybe\n", "request_log.log_prompts", 3,
       "true or false"},
      {"request_log:\n  path: /x\n  redact: [a]\n", "request_log.redact", 3, "true or false"},
      {"request_log:\n  max_files: 2\n", "request_log.path", 2, "required"},
      {"request_log:\n  path: \"\"\n", "request_log.path", 2, "empty"},
      {"request_log: [a, b]\n", "request_log", 1, "mapping"},
  };
  for (const auto& c : cases) {
    const auto p = parse(c.yaml);
    bool found = false;
    for (const auto& d : p.diagnostics) {
      if (d.path == c.path && d.line == c.line && d.file == "test.yaml" &&
          d.message.find(c.fragment) != std::string::npos) {
        found = true;
      }
    }
    std::string all;
    for (const auto& d : p.diagnostics) all += d.format() + "\n";
    EXPECT_TRUE(found) << c.yaml << "got:\n" << all;
  }
}

}  // namespace
}  // namespace llm_router::requestlog
