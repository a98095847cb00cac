#include "llm_router/api/tool_call_indexes.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace llm_router::api {
namespace {

using nlohmann::json;

std::string call_chunk(const std::string& call, int choice = 0) {
  return R"({"choices":[{"index":)" + std::to_string(choice) + R"(,"delta":{"tool_calls":[)" +
         call + "]}}]}";
}

// The index each chunk's first tool call ends up with.
std::vector<long long> indexes_of(const std::vector<std::string>& chunks) {
  ToolCallIndexes indexes;
  std::vector<long long> out;
  for (std::string data : chunks) {
    indexes.fill(data);
    const json call = json::parse(data)["choices"][0]["delta"]["tool_calls"][0];
    out.push_back(call.value("index", -1LL));
  }
  return out;
}

TEST(ToolCallIndexes, CallsWithNewIdsTakeTheNextIndex) {
  EXPECT_EQ(indexes_of({call_chunk(R"({"id":"a","function":{"name":"f","arguments":"{}"}})"),
                        call_chunk(R"({"id":"b","function":{"name":"f","arguments":"{}"}})")}),
            (std::vector<long long>{0, 1}));
}

TEST(ToolCallIndexes, DeltasWithoutAnIdOrWithTheSameIdContinueTheCall) {
  EXPECT_EQ(indexes_of({call_chunk(R"({"id":"a","function":{"name":"f","arguments":""}})"),
                        call_chunk(R"({"function":{"arguments":"{\"x\":"}})"),
                        call_chunk(R"({"id":"a","function":{"arguments":"1}"}})"),
                        call_chunk(R"({"id":"b","function":{"name":"g"}})"),
                        call_chunk(R"({"function":{"arguments":"{}"}})")}),
            (std::vector<long long>{0, 0, 0, 1, 1}));
}

TEST(ToolCallIndexes, GivenIndexesAndOtherEventsAreLeftAsTheyCame) {
  ToolCallIndexes indexes;
  std::string indexed = call_chunk(R"({"index":3,"id":"a","function":{"name":"f"}})");
  const std::string before = indexed;
  EXPECT_FALSE(indexes.fill(indexed));
  EXPECT_EQ(indexed, before);
  std::string text = R"({"choices":[{"index":0,"delta":{"content":"hi"}}]})";
  EXPECT_FALSE(indexes.fill(text));
  std::string finish = R"({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})";
  EXPECT_FALSE(indexes.fill(finish));
  std::string garbled = R"({"choices":[{"tool_calls")";
  EXPECT_FALSE(indexes.fill(garbled));
}

TEST(ToolCallIndexes, EachChoiceCountsItsOwnCalls) {
  ToolCallIndexes indexes;
  std::string first = call_chunk(R"({"id":"a","function":{"name":"f"}})", 0);
  std::string second = call_chunk(R"({"id":"b","function":{"name":"f"}})", 1);
  indexes.fill(first);
  indexes.fill(second);
  EXPECT_EQ(json::parse(first)["choices"][0]["delta"]["tool_calls"][0]["index"], 0);
  EXPECT_EQ(json::parse(second)["choices"][0]["delta"]["tool_calls"][0]["index"], 0);
}

}  // namespace
}  // namespace llm_router::api
