#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "llm_router/api/embeddings.hpp"
#include "llm_router/core/base64.hpp"

namespace llm_router::api {
namespace {

TEST(EmbeddingsRequest, ATextIsAStringABatchAnArray) {
  EXPECT_EQ(nlohmann::json::parse(embeddings_request("m", std::string_view("a"))),
            (nlohmann::json{{"model", "m"}, {"input", "a"}}));
  EXPECT_EQ(nlohmann::json::parse(embeddings_request("m", std::vector<std::string>{"a"}))["input"],
            nlohmann::json::array({"a"}));
  EXPECT_EQ(
      nlohmann::json::parse(embeddings_request("m", std::vector<std::string>{"a", "b"}))["input"],
      (nlohmann::json{"a", "b"}));
  // Invalid UTF-8 in a prompt does not throw.
  EXPECT_NO_THROW(embeddings_request("m", std::string_view("\xff\xfe")));
}

TEST(ParseEmbeddings, OrdersByIndex) {
  const auto vectors = parse_embeddings(
      R"({"data":[{"index":1,"embedding":[3,4]},{"index":0,"embedding":[1,2.5]}]})", 2);
  ASSERT_TRUE(vectors);
  EXPECT_EQ((*vectors)[0], (std::vector<float>{1, 2.5f}));
  EXPECT_EQ((*vectors)[1], (std::vector<float>{3, 4}));
}

TEST(ParseEmbeddings, WithoutIndexesKeepsTheOrder) {
  const auto vectors = parse_embeddings(R"({"data":[{"embedding":[1]},{"embedding":[2]}]})", 2);
  ASSERT_TRUE(vectors);
  EXPECT_EQ((*vectors)[1], std::vector<float>{2});
}

struct GarbageCase {
  const char* name;
  const char* body;
};

class ParseEmbeddingsGarbage : public ::testing::TestWithParam<GarbageCase> {};

TEST_P(ParseEmbeddingsGarbage, IsRejected) {
  EXPECT_FALSE(parse_embeddings(GetParam().body, 2)) << GetParam().body;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseEmbeddingsGarbage,
    ::testing::Values(
        GarbageCase{"not_json", "<html>busy</html>"}, GarbageCase{"empty", ""},
        GarbageCase{"array", "[]"}, GarbageCase{"no_data", R"({"object":"list"})"},
        GarbageCase{"data_not_array", R"({"data":{}})"},
        GarbageCase{"too_few", R"({"data":[{"embedding":[1]}]})"},
        GarbageCase{"too_many",
                    R"({"data":[{"embedding":[1]},{"embedding":[1]},{"embedding":[1]}]})"},
        GarbageCase{"item_not_object", R"({"data":[1,2]})"},
        GarbageCase{"no_embedding", R"({"data":[{"index":0},{"index":1}]})"},
        GarbageCase{"strings", R"({"data":[{"embedding":["a"]},{"embedding":[1]}]})"},
        GarbageCase{"nulls", R"({"data":[{"embedding":[null]},{"embedding":[1]}]})"},
        GarbageCase{"base64", R"({"data":[{"embedding":"AAAA"},{"embedding":"AAAA"}]})"},
        GarbageCase{"empty_vectors", R"({"data":[{"embedding":[]},{"embedding":[]}]})"},
        GarbageCase{"ragged", R"({"data":[{"embedding":[1,2]},{"embedding":[1]}]})"},
        GarbageCase{"huge", R"({"data":[{"embedding":[1e300]},{"embedding":[1]}]})"},
        GarbageCase{"repeated_index",
                    R"({"data":[{"index":0,"embedding":[1]},{"index":0,"embedding":[1]}]})"},
        GarbageCase{"index_out_of_range",
                    R"({"data":[{"index":0,"embedding":[1]},{"index":2,"embedding":[1]}]})"},
        GarbageCase{"negative_index",
                    R"({"data":[{"index":-1,"embedding":[1]},{"index":0,"embedding":[1]}]})"},
        GarbageCase{"index_not_number",
                    R"({"data":[{"index":"0","embedding":[1]},{"index":1,"embedding":[1]}]})"}),
    [](const auto& info) { return std::string(info.param.name); });

// The openai SDKs ask for base64 and decode whatever comes: numbers from a backend that ignored
// encoding_format are re-encoded as OpenAI sends them (little-endian float32), base64 kept.
TEST(EmbeddingsAsBase64, NumbersBecomeLittleEndianFloat32) {
  const auto encoded = embeddings_as_base64(
      R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,-2]}],)"
      R"("model":"m","usage":{"prompt_tokens":1,"total_tokens":1}})");
  ASSERT_TRUE(encoded);
  const auto answer = nlohmann::json::parse(*encoded);
  const auto bytes = core::base64_decode(answer["data"][0]["embedding"].get<std::string>());
  ASSERT_TRUE(bytes);
  ASSERT_EQ(bytes->size(), 8u);
  float values[2];
  std::memcpy(values, bytes->data(), 8);  // this machine is little-endian, as OpenAI's bytes
  EXPECT_EQ(values[0], 0.5f);
  EXPECT_EQ(values[1], -2.0f);
  EXPECT_EQ(answer["usage"]["prompt_tokens"], 1);
  EXPECT_FALSE(embeddings_as_base64(R"({"data":[{"index":0,"embedding":"AAAAPw=="}]})"));
  EXPECT_FALSE(embeddings_as_base64("not json ["));
}

}  // namespace
}  // namespace llm_router::api
