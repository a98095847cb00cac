#include "support/fixtures.hpp"

#include <nlohmann/json.hpp>

#include <csignal>
#include <stdexcept>

namespace test_support {

MockLlm::MockLlm(std::vector<std::string> flags, int port) : flags_(std::move(flags)) {
  start(port);
}

void MockLlm::start(int port) {
  std::vector<std::string> argv{MOCK_LLM_BIN, "--port", std::to_string(port)};
  argv.insert(argv.end(), flags_.begin(), flags_.end());
  process_ = std::make_unique<ChildProcess>(argv);
  auto line = process_->wait_for_line("listening on", std::chrono::seconds(10));
  if (!line) throw std::runtime_error("mock-llm did not start");
  port_ = parse_listening_port(*line);
}

void MockLlm::restart() {
  start(port_);
}

long long MockLlm::stat(const std::string& key) {
  HttpClient client(port_);
  auto response = client.request("GET", "/mock/stats");
  auto json = nlohmann::json::parse(response.body, nullptr, false);
  return json.is_object() ? json.value(key, -1LL) : -1;
}

long long MockLlm::requests() {
  return stat("requests");
}
long long MockLlm::connections() {
  return stat("connections");
}

void MockLlm::kill() {
  process_->signal(SIGKILL);
  process_->wait(std::chrono::seconds(5));
}

Router::Router(const std::string& config_yaml) {
  config_ = std::make_unique<TempFile>("router.yaml", config_yaml);
  process_ = std::make_unique<ChildProcess>(std::vector<std::string>{
      LLM_ROUTER_BIN, "serve", "--config", config_->path(), "--listen", "127.0.0.1:0"});
  auto line = process_->wait_for_line("listening on", std::chrono::seconds(10));
  if (!line) throw std::runtime_error("llm-router did not start");
  port_ = parse_listening_port(*line);
}

std::string chat_body(const std::string& model, const std::string& content,
                      const std::string& extra) {
  nlohmann::json body = {{"model", model},
                         {"messages", {{{"role", "user"}, {"content", content}}}}};
  std::string text = body.dump();
  if (!extra.empty()) text.insert(text.size() - 1, extra);
  return text;
}

}  // namespace test_support
