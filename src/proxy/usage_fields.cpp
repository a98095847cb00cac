// The usage of an answer or a stream the backend did not report: counted, and written into the
// answer or a usage chunk as OpenAI would have.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>

#include "llm_router/api/answer_text.hpp"
#include "llm_router/api/json_parse.hpp"
#include "llm_router/api/prompt_text.hpp"
#include "llm_router/tokenizer/tokenizer.hpp"
#include "router_handler.hpp"
#include "usage_fields.hpp"

namespace llm_router::proxy {

using nlohmann::json;

namespace {

// Fills in usage the backend did not report, counted with the backend's tokenizer.
// Tokens of the request's text (not its JSON) and of an answer's, for a backend that reports
// no usage.
api::Usage counted_usage(const tokenizer::Encoder* encoder, const api::ParsedRequest& parsed,
                         std::string_view answer_text) {
  api::Usage usage;
  // The text counted; tool definitions and schemas estimated by their bytes; images and audio
  // at the analyzer's flat figures.
  const auto& summary = parsed.summary;
  usage.prompt_tokens =
      static_cast<long long>(count_tokens(encoder, api::prompt_text(parsed))) +
      api::chat_format_tokens(parsed) +
      static_cast<long long>(
          (summary.tools_chars + summary.functions_chars + summary.format_chars) / 4) +
      summary.media_tokens();
  usage.completion_tokens = static_cast<long long>(count_tokens(encoder, answer_text));
  return usage;
}

}  // namespace

// What an answer's tokens were: as the backend reported them, else counted.
api::Usage answer_usage(const tokenizer::Encoder* encoder, const api::ParsedRequest& parsed,
                        std::string_view body) {
  if (auto usage = api::find_usage(body)) return *usage;
  return counted_usage(encoder, parsed, api::answer_text(body));
}

void count_usage(const tokenizer::Encoder* encoder, const api::ParsedRequest& parsed,
                 std::string_view answer, RequestRecord& record) {
  record.usage = counted_usage(encoder, parsed, answer);
  record.usage_estimated = true;
}

namespace {

// `embeddings`: OpenAI's embeddings usage has no completion_tokens.
std::string usage_object(const api::Usage& usage, bool embeddings = false) {
  if (embeddings) {
    return fmt::format(R"({{"prompt_tokens":{},"total_tokens":{}}})", usage.prompt_tokens,
                       usage.prompt_tokens);
  }
  return fmt::format(R"({{"prompt_tokens":{},"completion_tokens":{},"total_tokens":{}}})",
                     usage.prompt_tokens, usage.completion_tokens,
                     usage.prompt_tokens + usage.completion_tokens);
}

}  // namespace

// A JSON answer that reports no usage (none, or `"usage": null`) gets the counted one (as
// LiteLLM does), so a client that bills by it still can; the access log marks it
// usage=estimated.
void add_usage(std::string& body, const api::Usage& usage, bool embeddings) {
  const std::size_t end = body.find_last_not_of(" \t\r\n");
  if (end == std::string::npos || end == 0 || body[end] != '}') return;
  if (const std::size_t at = body.find("\"usage\""); at != std::string::npos) {
    std::size_t value = body.find_first_not_of(" \t\r\n", at + 7);
    if (value == std::string::npos || body[value] != ':') return;
    value = body.find_first_not_of(" \t\r\n", value + 1);
    if (value != std::string::npos && body.compare(value, 4, "null") == 0) {
      body.replace(value, 4, usage_object(usage, embeddings));
    }
    return;
  }
  const bool empty = body[body.find_last_not_of(" \t\r\n", end - 1)] == '{';
  body.insert(end, std::string(empty ? "" : ",") + "\"usage\":" + usage_object(usage, embeddings));
}

// A stream that ended without a usage chunk: counted from its collected text, or about one
// token per content event (as OpenAI-style servers send) when the text was not collected.
// Past the kept text's cap, the count of the text kept grows with the events that came after it.
void count_stream_usage(const tokenizer::Encoder* encoder, const api::ParsedRequest& parsed,
                        RequestRecord& record) {
  count_usage(encoder, parsed, record.stream_text.value_or(""), record);
  if (!record.stream_text) {
    record.usage.completion_tokens = record.content_events;
  } else if (record.kept_text_events > 0 && record.content_events > record.kept_text_events) {
    const double scale =
        static_cast<double>(record.content_events) / static_cast<double>(record.kept_text_events);
    record.usage.completion_tokens =
        std::llround(static_cast<double>(record.usage.completion_tokens) * scale);
  }
}

// The usage chunk a backend did not send, with the id, created and model of its stream's first
// event (`first_data`).
std::string usage_chunk(std::string_view first_data, const api::Usage& usage) {
  const json first = api::parse_json_value(first_data);
  json chunk = json::object();
  for (const char* key : {"id", "object", "created", "model"}) {
    if (first.is_object() && first.contains(key)) chunk[key] = first[key];
  }
  chunk["choices"] = json::array();
  chunk["usage"] = {{"prompt_tokens", usage.prompt_tokens},
                    {"completion_tokens", usage.completion_tokens},
                    {"total_tokens", usage.prompt_tokens + usage.completion_tokens}};
  return api::SseEvent{"", chunk.dump(), ""}.serialize();
}

// Notes a stream event's generated text in case the stream ends without a usage chunk.
void keep_for_usage(std::string_view data, RequestRecord& record) {
  ++record.content_events;
  // 64 KiB (~16k tokens) count most answers exactly and the rest by their events; a stalled
  // stream's client held 1 MiB of kept text each at 1 MiB.
  constexpr std::size_t kMaxKeptText = 64 * 1024;
  if (record.stream_text && record.stream_text->size() < kMaxKeptText) {
    api::append_chunk_text(data, *record.stream_text);
    record.kept_text_events = record.content_events;
  }
}

// A stream whose usage the router asked for and the client did not: OpenAI then writes
// "usage": null into every chunk, which the client would not have seen.
void drop_null_usage(std::string& data) {
  for (const std::string_view member :
       {R"(,"usage":null)", R"("usage":null,)", R"(, "usage": null)", R"("usage": null, )"}) {
    if (const auto at = data.find(member); at != std::string::npos) {
      data.erase(at, member.size());
      return;
    }
  }
}

// Counting is wired in only when the client asked for usage (no std::function for the others).
StreamUsage stream_usage(const api::ParsedRequest& parsed, const tokenizer::Encoder* encoder,
                         RequestRecord& record) {
  StreamUsage usage;
  usage.client_wants = parsed.summary.include_usage;
  usage.choices = parsed.summary.choices;
  if (usage.client_wants) {
    usage.count_missing = [&parsed, encoder, &record] {
      count_stream_usage(encoder, parsed, record);
    };
  }
  return usage;
}

}  // namespace llm_router::proxy
