#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

#include "llm_router/requestlog/entry.hpp"

namespace llm_router::requestlog {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

RequestLogEntry full_entry() {
  RequestLogEntry e;
  e.id = "req-1";
  e.time = system_clock::time_point(milliseconds(1'700'000'000'123));
  e.client_key_id = "team-a";
  e.route = "auto";
  e.rule = "code";
  e.strategy = "cheapest";
  e.category = "coding";
  e.complexity = 0.75;
  e.candidates = {"small", "big"};
  e.excluded = {{"local", "rpm 60 reached"}};
  e.attempts = {{"small", 503, "upstream_unavailable", 12.25}, {"big", 200, "ok", 340.5}};
  e.backend = "big";
  e.upstream_request_id = "req_upstream_9";
  e.input_tokens = 120;
  e.output_tokens = 48;
  e.cost_usd = 0.000123;
  e.status = 200;
  e.latency_ms = 353.1234567;
  e.ttft_ms = 80.5;
  e.stream = true;
  e.usage_estimated = true;
  e.user = "end-user-42";
  e.model = "gpt-4o";
  return e;
}

TEST(RequestLogEntry, EveryFieldIsWritten) {
  const std::string line = to_json_line(full_entry());
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line per entry";
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["id"], "req-1");
  EXPECT_EQ(j["time"], "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(j["client_key_id"], "team-a");
  EXPECT_EQ(j["route"], "auto");
  EXPECT_EQ(j["rule"], "code");
  EXPECT_EQ(j["strategy"], "cheapest");
  EXPECT_EQ(j["category"], "coding");
  EXPECT_DOUBLE_EQ(j["complexity"].get<double>(), 0.75);
  EXPECT_EQ(j["candidates"], nlohmann::json::array({"small", "big"}));
  EXPECT_EQ(j["excluded"],
            nlohmann::json::parse(R"([{"backend":"local","reason":"rpm 60 reached"}])"));
  ASSERT_EQ(j["attempts"].size(), 2u);
  EXPECT_EQ(j["attempts"][0]["backend"], "small");
  EXPECT_EQ(j["attempts"][0]["status"], 503);
  EXPECT_EQ(j["attempts"][0]["reason"], "upstream_unavailable");
  EXPECT_DOUBLE_EQ(j["attempts"][0]["latency_ms"].get<double>(), 12.25);
  EXPECT_EQ(j["attempts"][1]["reason"], "ok");
  EXPECT_EQ(j["backend"], "big");
  EXPECT_EQ(j["upstream_request_id"], "req_upstream_9");
  EXPECT_EQ(j["input_tokens"], 120);
  EXPECT_EQ(j["output_tokens"], 48);
  EXPECT_DOUBLE_EQ(j["cost_usd"].get<double>(), 0.000123);
  EXPECT_EQ(j["status"], 200);
  EXPECT_DOUBLE_EQ(j["latency_ms"].get<double>(), 353.123);
  EXPECT_DOUBLE_EQ(j["ttft_ms"].get<double>(), 80.5);
  EXPECT_EQ(j["stream"], true);
  EXPECT_EQ(j["usage_estimated"], true);
  EXPECT_EQ(j["user"], "end-user-42");
  EXPECT_EQ(j["model"], "gpt-4o");
  EXPECT_FALSE(j.contains("prompt"));
  EXPECT_EQ(j.size(), 23u) << "a new field needs a line in docs/observability.md";
}

TEST(RequestLogEntry, EmptyOptionalsAreNullAndPromptIsOmitted) {
  RequestLogEntry e;
  const std::string line = to_json_line(e);
  EXPECT_EQ(line,
            "{\"id\":\"\",\"time\":\"1970-01-01T00:00:00.000Z\",\"client_key_id\":\"\","
            "\"route\":\"\",\"rule\":\"\",\"strategy\":\"\",\"category\":\"\","
            "\"complexity\":null,\"candidates\":[],\"attempts\":[],\"backend\":\"\","
            "\"input_tokens\":0,\"output_tokens\":0,\"cost_usd\":0,\"status\":0,"
            "\"latency_ms\":0,\"ttft_ms\":null,\"stream\":false,\"model\":\"\",\"usage_estimated\":"
            "false}\n");
}

TEST(RequestLogEntry, NonFiniteNumbersAreNull) {
  RequestLogEntry e;
  e.cost_usd = std::numeric_limits<double>::quiet_NaN();
  e.latency_ms = std::numeric_limits<double>::infinity();
  e.complexity = -std::numeric_limits<double>::infinity();
  const auto j = nlohmann::json::parse(to_json_line(e));
  EXPECT_TRUE(j["cost_usd"].is_null());
  EXPECT_TRUE(j["latency_ms"].is_null());
  EXPECT_TRUE(j["complexity"].is_null());
}

struct EscapeCase {
  std::string input;
  std::string json;  // the literal as written, quotes included
};

TEST(RequestLogEntry, StringsAreEscaped) {
  const std::vector<EscapeCase> cases = {
      {"plain", "\"plain\""},
      {"a\"b\\c", "\"a\\\"b\\\\c\""},
      {"line\nnext\r\ttab", "\"line\\nnext\\r\\ttab\""},
      {std::string("nul\0x", 5), "\"nul\\u0000x\""},
      {"\x01\x1f\x7f\b\f", "\"\\u0001\\u001f\\u007f\\b\\f\""},
      {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
       "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
      {"bad \xff end", "\"bad \\ufffd end\""},
      {"cut \xe2\x82", "\"cut \\ufffd\\ufffd\""},
      {"overlong \xc0\xaf", "\"overlong \\ufffd\\ufffd\""},
      {"surrogate \xed\xa0\x80", "\"surrogate \\ufffd\\ufffd\\ufffd\""},
      {"</script>", "\"</script>\""},
      // Layout controls (a right-to-left override, a line separator, an isolate) escaped: the
      // same value, but a terminal showing the line is not made to reorder it.
      {"user \xe2\x80\xae evil \xe2\x80\xa8 \xe2\x81\xa6x\xe2\x81\xa9",
       "\"user \\u202e evil \\u2028 \\u2066x\\u2069\""},
  };
  for (const auto& c : cases) {
    std::string out;
    append_json_string(out, c.input);
    EXPECT_EQ(out, c.json) << c.input;
    RequestLogEntry e;
    e.id = c.input;
    e.prompt = c.input;
    const auto j = nlohmann::json::parse(to_json_line(e));  // always valid JSON
    if (c.json.find("ufffd") == std::string::npos) {
      EXPECT_EQ(j["id"], c.input);
      EXPECT_EQ(j["prompt"], c.input);
    }
  }
}

TEST(RequestLogEntry, UtcTimeWithMilliseconds) {
  const std::vector<std::pair<std::int64_t, std::string>> cases = {
      {0, "1970-01-01T00:00:00.000Z"},
      {1'700'000'000'123, "2023-11-14T22:13:20.123Z"},
      {951'782'400'999, "2000-02-29T00:00:00.999Z"},
      {4'102'444'799'000, "2099-12-31T23:59:59.000Z"},
  };
  for (const auto& [ms, text] : cases) {
    EXPECT_EQ(format_utc_time(system_clock::time_point(milliseconds(ms))), text);
  }
  // Sub-millisecond parts are cut, not rounded up into the next second.
  const auto t = system_clock::time_point(milliseconds(999)) + std::chrono::microseconds(999);
  EXPECT_EQ(format_utc_time(std::chrono::time_point_cast<system_clock::duration>(t)),
            "1970-01-01T00:00:00.999Z");
}

}  // namespace
}  // namespace llm_router::requestlog
