#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.hpp"
#include "support/process.hpp"

namespace test_support {

// Polls `condition` every 50 ms, at most `tries` times (a safety bound, not a timing claim).
template <typename Condition>
bool eventually(Condition condition, int tries = 300) {
  for (int i = 0; i < tries; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// A mock-llm child process on an ephemeral loopback port.
class MockLlm {
 public:
  explicit MockLlm(std::vector<std::string> flags = {}, int port = 0);
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  // {"requests": N, "connections": N} as seen by the mock.
  long long requests();
  long long connections();
  void kill();
  // Starts the process again on the same port (a backend coming back after a crash).
  void restart();
  ChildProcess& process() { return *process_; }

 private:
  long long stat(const std::string& key);
  void start(int port);
  std::vector<std::string> flags_;
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
};

// An llm-router child process serving `config_yaml` on an ephemeral loopback port.
class Router {
 public:
  explicit Router(const std::string& config_yaml);
  int port() const { return port_; }
  ChildProcess& process() { return *process_; }
  const std::string& config_path() const { return config_->path(); }

 private:
  std::unique_ptr<TempFile> config_;
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
};

// A chat request body for `model`, with optional extra top-level JSON members (",\"x\":1").
std::string chat_body(const std::string& model, const std::string& content = "Hello there",
                      const std::string& extra = "");

}  // namespace test_support
