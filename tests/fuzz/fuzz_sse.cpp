// Upstream stream bytes through the incremental SSE parser: however the bytes are split
// across reads, the same events come out.
#include <cstdlib>
#include <string_view>

#include "fuzz_target.hpp"
#include "llm_router/api/json_parse.hpp"
#include "llm_router/api/sse.hpp"
#include "llm_router/api/tool_call_indexes.hpp"

namespace {

std::vector<llm_router::api::SseEvent> parse_in_pieces(std::string_view bytes, std::size_t step) {
  llm_router::api::SseParser parser;
  std::vector<llm_router::api::SseEvent> events;
  for (std::size_t at = 0; at < bytes.size(); at += step)
    parser.feed(bytes.substr(at, step), events);
  return events;
}

bool same(const std::vector<llm_router::api::SseEvent>& a,
          const std::vector<llm_router::api::SseEvent>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].event != b[i].event || a[i].data != b[i].data || a[i].id != b[i].id) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto whole = parse_in_pieces(bytes, bytes.size() + 1);
  const std::size_t step = 1 + (size % 7);
  if (!same(whole, parse_in_pieces(bytes, step))) std::abort();
  // Serialising and parsing again gives the same events.
  std::string again;
  for (const auto& e : whole) again += e.serialize();
  if (!same(whole, parse_in_pieces(again, again.size() + 1))) std::abort();
  // Numbering tool calls that came without an index keeps every event valid JSON.
  llm_router::api::ToolCallIndexes indexes;
  for (auto e : whole) {
    const bool was_object = llm_router::api::is_json_object(e.data);
    if (indexes.fill(e.data) && (!was_object || !llm_router::api::is_json_object(e.data))) {
      std::abort();
    }
  }
  return 0;
}

std::vector<std::string> fuzz_seeds() {
  return {
      "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n",
      "event: error\ndata: {\"error\":{}}\n\n",
      ": keep-alive\r\n\r\nid: 7\r\ndata: a\r\ndata: b\r\n\r\n",
      "data:no-space\n\ndata\n\nretry: 10\n\n",
      "data: partial",
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"id\":\"a\","
      "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}\n\n",
  };
}

std::vector<std::string> fuzz_dictionary() {
  return {"data: ",  "event: ", "id: ",  ":", "\n", "\r\n",      "\r", "\n\n",           "[DONE]",
          "retry: ", "\"id\"",  "\"b\"", "{", "}",  "\"index\"", "[",  "\"tool_calls\"", "]"};
}
