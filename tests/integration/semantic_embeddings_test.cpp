// Semantic routes scored through an embeddings backend (mock-llm's hashed bag of words), and
// the local hashed n-gram score taking over when that backend is down or slow.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "support/canned_backend.hpp"
#include "support/fixtures.hpp"

namespace test_support {
namespace {

using nlohmann::json;

// "billing" matches prompts close to "cancel my subscription plan". The same words in another
// order are identical to the mock's bag of words (similarity 1) but not to the local n-grams,
// whose bigrams differ (about 0.7, below the threshold).
constexpr const char* kUtterance = "cancel my subscription plan";
constexpr const char* kReordered = "plan subscription my cancel";

std::string semantic_config(const std::string& embedder_url, int timeout_ms,
                            const std::string& examples = "[\"" + std::string(kUtterance) + "\"]") {
  return "server:\n  threads: 2\n  drain_timeout: 10s\n"
         "logging: {level: warn}\n"
         "backends:\n"
         "  - name: general\n    provider: mock\n"
         "    mock: {time_to_first_token: 1ms, token_delay: 1ms}\n"
         "  - name: billing\n    provider: mock\n"
         "    mock: {time_to_first_token: 1ms, token_delay: 1ms}\n"
         "  - name: embedder\n    provider: openai\n    base_url: " +
         embedder_url +
         "\n    model: mock-embed\n"
         "routes:\n"
         "  - name: auto\n    use: [general]\n    strategy: ordered\n    rules:\n"
         "      - name: billing\n"
         "        when: {semantic: {examples: " +
         examples +
         ", threshold: 0.95}}\n"
         "        use: [billing]\n"
         "analyzer:\n  detectors: {sentiment: false}\n"
         "  semantic:\n    embeddings: {model: embedder, timeout_ms: " +
         std::to_string(timeout_ms) + "}\n";
}

std::string backend_for(HttpClient& client, const std::string& prompt) {
  const auto response = client.post_json("/v1/chat/completions", chat_body("auto", prompt));
  EXPECT_EQ(response.status, 200) << response.body;
  return response.header("x-llm-router-backend");
}

// The value of llm_router_semantic_embeddings_total{result="..."} (0 when absent).
double lookups(HttpClient& client, const std::string& result) {
  const auto metrics = client.request("GET", "/metrics");
  const std::string series = "llm_router_semantic_embeddings_total{result=\"" + result + "\"} ";
  const auto at = metrics.body.find(series);
  if (at == std::string::npos) return 0;
  return std::stod(metrics.body.substr(at + series.size()));
}

TEST(SemanticEmbeddings, TheEmbeddingsBackendChoosesTheSemanticRoute) {
  MockLlm embedder;
  // A generous timeout: this test is about what the scores say, not about speed.
  Router router(semantic_config(embedder.url(), 10'000));
  HttpClient client(router.port());
  EXPECT_EQ(backend_for(client, kReordered), "billing");
  EXPECT_EQ(backend_for(client, "what is the weather in Paris"), "general");
  // The utterances were fetched in one batch, then one request per distinct prompt.
  EXPECT_EQ(embedder.requests(), 3);
  EXPECT_EQ(backend_for(client, kReordered), "billing");
  EXPECT_EQ(embedder.requests(), 3);  // the prompt's vector came from the cache
  EXPECT_EQ(lookups(client, "fetched"), 2);
  EXPECT_EQ(lookups(client, "cached"), 1);

  const auto dry_run = client.post_json("/v1/route", chat_body("auto", kReordered));
  ASSERT_EQ(dry_run.status, 200) << dry_run.body;
  const json analysis = json::parse(dry_run.body)["analysis"];
  EXPECT_EQ(analysis["semantic_source"], "embeddings");
  EXPECT_EQ(analysis["semantic_hits"], json::array({"auto/billing/semantic"}));
}

TEST(SemanticEmbeddings, ManyUtterancesAreAskedForInBatchesOpenAiAccepts) {
  // 2,049 utterances: more than one request's 2,048 `input` items; the one that matters last.
  json examples = json::array();
  for (int i = 0; i < 2048; ++i) examples.push_back("filler example number " + std::to_string(i));
  examples.push_back(kUtterance);
  MockLlm embedder;
  Router router(semantic_config(embedder.url(), 10'000, examples.dump()));
  HttpClient client(router.port());
  EXPECT_EQ(backend_for(client, kReordered), "billing");
  EXPECT_EQ(embedder.requests(), 3);  // two utterance batches, then the prompt
}

TEST(SemanticEmbeddings, ADownEmbeddingsBackendLeavesTheLocalScore) {
  MockLlm embedder;
  const std::string url = embedder.url();
  embedder.kill();
  Router router(semantic_config(url, 10'000));
  HttpClient client(router.port());
  EXPECT_EQ(backend_for(client, kUtterance), "billing");  // local score 1
  EXPECT_EQ(backend_for(client, kReordered), "general");  // local score below 0.95
  EXPECT_GE(lookups(client, "pending"), 1);
  EXPECT_EQ(lookups(client, "fetched"), 0);

  const auto dry_run = client.post_json("/v1/route", chat_body("auto", kUtterance));
  ASSERT_EQ(dry_run.status, 200) << dry_run.body;
  EXPECT_EQ(json::parse(dry_run.body)["analysis"]["semantic_source"], "local");
}

TEST(SemanticEmbeddings, ASlowEmbeddingsBackendLeavesTheLocalScore) {
  MockLlm embedder({"--hang"});
  Router router(semantic_config(embedder.url(), 50));
  HttpClient client(router.port());
  EXPECT_EQ(backend_for(client, kUtterance), "billing");
  EXPECT_EQ(backend_for(client, kReordered), "general");
  EXPECT_EQ(lookups(client, "pending"), 2);  // the utterance batch never answered
}

TEST(SemanticEmbeddings, AFailingPromptLookupLeavesTheLocalScore) {
  MockLlm embedder;
  Router router(semantic_config(embedder.url(), 10'000));
  HttpClient client(router.port());
  EXPECT_EQ(backend_for(client, kReordered), "billing");  // utterances fetched
  embedder.kill();
  EXPECT_EQ(backend_for(client, kReordered), "billing");                     // still cached
  EXPECT_EQ(backend_for(client, "plan my subscription cancel"), "general");  // local, ~0.7
  EXPECT_EQ(backend_for(client, kUtterance), "billing");                     // local, 1
  EXPECT_EQ(lookups(client, "failed"), 2);
  EXPECT_EQ(lookups(client, "cached"), 1);
}

TEST(SemanticEmbeddings, GarbageFromTheEmbeddingsBackendLeavesTheLocalScore) {
  CannedBackend garbage([](const std::string&) {
    return http_response(200, "application/json", "<html>busy</html>");
  });
  Router router(semantic_config(garbage.url(), 10'000));
  HttpClient client(router.port());
  EXPECT_EQ(backend_for(client, kUtterance), "billing");
  EXPECT_EQ(backend_for(client, kReordered), "general");
  EXPECT_GE(lookups(client, "pending"), 2);  // the utterance batch was unusable
}

TEST(SemanticEmbeddings, APromptVectorOfAnotherDimensionLeavesTheLocalScore) {
  // The utterances go as an array, prompts as one string.
  CannedBackend wrong_dimension([](const std::string& request) {
    const bool batch = request.find(R"("input":[)") != std::string::npos;
    return http_response(200, "application/json",
                         batch ? R"({"data":[{"embedding":[1,0]},{"embedding":[0,1]}]})"
                               : R"({"data":[{"embedding":[1,0,0]}]})");
  });
  Router router(semantic_config(wrong_dimension.url(), 10'000,
                                "[\"" + std::string(kUtterance) + "\", \"close my account\"]"));
  HttpClient client(router.port());
  EXPECT_EQ(backend_for(client, kUtterance), "billing");
  EXPECT_EQ(backend_for(client, kReordered), "general");
  EXPECT_EQ(lookups(client, "bad_response"), 2);
  EXPECT_EQ(lookups(client, "fetched"), 0);
}

TEST(SemanticEmbeddings, AnEjectedEmbeddingsBackendIsNotAsked) {
  MockLlm embedder;
  Router router(semantic_config(embedder.url(), 10'000));
  HttpClient client(router.port());
  EXPECT_EQ(backend_for(client, kReordered), "billing");
  embedder.kill();
  // The default breaker opens after 5 failures; later prompts are not sent at all.
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(backend_for(client, "question number " + std::to_string(i)), "general");
  }
  EXPECT_EQ(lookups(client, "failed"), 5);
  EXPECT_EQ(lookups(client, "circuit_open"), 2);
}

TEST(SemanticEmbeddings, AnEmbeddingsBackendThatComesBackIsUsed) {
  MockLlm embedder;
  const std::string url = embedder.url();
  embedder.kill();
  Router router(semantic_config(url, 10'000));
  HttpClient client(router.port());
  EXPECT_EQ(backend_for(client, kReordered), "general");  // no utterance vectors: local
  embedder.restart();
  // The utterance batch is tried again a few seconds after the failure.
  std::string backend;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (backend != "billing" && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    backend = backend_for(client, kReordered);
  }
  EXPECT_EQ(backend, "billing");
  EXPECT_GE(lookups(client, "fetched"), 1);
}

}  // namespace
}  // namespace test_support
