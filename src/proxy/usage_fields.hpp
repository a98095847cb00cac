#pragma once
// The usage a backend did not report: counted, and written into the client's answer or stream
// (usage_fields.cpp).

#include <string>
#include <string_view>

#include "router_handler.hpp"

namespace llm_router::tokenizer {
class Encoder;
}

namespace llm_router::proxy {

// What an answer's tokens were: as the backend reported them, else counted.
api::Usage answer_usage(const tokenizer::Encoder* encoder, const api::ParsedRequest& parsed,
                        std::string_view body);
// Sets record.usage to the count of the request and `answer` (marked estimated).
void count_usage(const tokenizer::Encoder* encoder, const api::ParsedRequest& parsed,
                 std::string_view answer, RequestRecord& record);
// A JSON answer that reports no usage (none, or `"usage": null`) gets the counted one.
// `embeddings`: OpenAI's embeddings usage has no completion_tokens.
void add_usage(std::string& body, const api::Usage& usage, bool embeddings);
// A stream that ended without a usage chunk: its usage counted into record.usage.
void count_stream_usage(const tokenizer::Encoder* encoder, const api::ParsedRequest& parsed,
                        RequestRecord& record);
// The usage chunk a backend did not send, with the id, created and model of its stream's first
// event (`first_data`).
std::string usage_chunk(std::string_view first_data, const api::Usage& usage);
// Notes a stream event's generated text in case the stream ends without a usage chunk.
void keep_for_usage(std::string_view data, RequestRecord& record);
// A stream whose usage the router asked for and the client did not: the "usage": null OpenAI
// writes into every chunk taken out.
void drop_null_usage(std::string& data);
// Counting is wired in only when the client asked for usage (no std::function for the others).
StreamUsage stream_usage(const api::ParsedRequest& parsed, const tokenizer::Encoder* encoder,
                         RequestRecord& record);

}  // namespace llm_router::proxy
