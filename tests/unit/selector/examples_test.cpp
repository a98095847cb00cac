#include <gtest/gtest.h>

#include "llm_router/config/config.hpp"
#include "llm_router/selector/selector.hpp"

namespace llm_router::selector {
namespace {

std::shared_ptr<const config::Config> load_example(const std::string& name) {
  const std::string path = std::string(LLM_ROUTER_SOURCE_DIR) + "/config/examples/" + name;
  const auto no_env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  return std::make_shared<const config::Config>(config::load_config_file(path, no_env));
}

TEST(Examples, EveryExampleLoads) {
  for (const char* name : {"customer-support.yaml", "code-assistant.yaml", "compliance.yaml",
                           "multi-agent.yaml", "cost-capped.yaml"}) {
    try {
      const auto config = load_example(name);
      Selector selector(config);  // every pool builds its strategy
      EXPECT_FALSE(config->routes.empty()) << name;
    } catch (const config::ConfigError& e) {
      ADD_FAILURE() << name << ":\n" << e.what();
    }
  }
}

RequestFacts request(std::string model) {
  RequestFacts f;
  f.model = std::move(model);
  return f;
}

std::string first(const RoutePlan& plan) {
  return plan.candidates.empty() ? "" : plan.candidates.front().backend->name;
}

TEST(Examples, ComplianceKeepsPiiOnThePrivateBackend) {
  Selector selector(load_example("compliance.yaml"));
  InMemoryLiveStats live(3);
  RequestFacts f = request("assistant");
  f.pii = {"email"};
  f.complexity = 0.9;
  const RoutePlan plan = selector.plan(f, live);
  EXPECT_EQ(plan.rule, "sensitive");
  EXPECT_EQ(plan.attempt_order(), std::vector<std::size_t>{0});
  EXPECT_EQ(first(selector.plan(request("assistant"), live)), "public-fast");
}

TEST(Examples, CustomerSupportSendsFrustratedCustomersToTheSmartModel) {
  Selector selector(load_example("customer-support.yaml"));
  InMemoryLiveStats live(3);
  RequestFacts f = request("support");
  f.sentiment = -0.8;
  EXPECT_EQ(selector.plan(f, live).rule, "frustrated");
  f.sentiment = 0.2;
  f.complexity = 0.8;
  EXPECT_EQ(first(selector.plan(f, live)), "support-smart");
  EXPECT_EQ(first(selector.plan(request("support"), live)), "support-fast");
}

TEST(Examples, MultiAgentRoutesOnRole) {
  Selector selector(load_example("multi-agent.yaml"));
  InMemoryLiveStats live(5);
  RequestFacts f = request("agents");
  f.headers = {{"x-agent-role", "critic"}};
  EXPECT_EQ(first(selector.plan(f, live)), "critic-model");
  f.headers = {};
  f.metadata = {{"role", "planner"}};
  EXPECT_EQ(selector.plan(f, live).rule, "planner");
}

}  // namespace
}  // namespace llm_router::selector
