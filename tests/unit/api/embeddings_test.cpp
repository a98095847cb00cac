#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "llm_router/api/embeddings.hpp"

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

}  // namespace
}  // namespace llm_router::api
