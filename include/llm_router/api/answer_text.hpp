#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "llm_router/api/openai_request.hpp"

// The generated text of an OpenAI answer, for counting its tokens when the backend reports no
// usage: message/delta content, reasoning, refusals, legacy `text`, and tool-call arguments.
namespace llm_router::api {

// Of a whole chat.completion / text_completion body; empty when it is not JSON.
std::string answer_text(std::string_view body);

// Whether a backend's answer has a JSON object's outline: '{' first and '}' last (white space
// aside). An HTML page, an empty body or one cut short fails; the inside is not read.
bool looks_like_json_object(std::string_view body);

// Why a 2xx answer cannot serve the client, if it cannot: not a JSON object, no non-empty
// `choices` array (`data` for embeddings), e.g. an `error` object sent with status 200, or
// choices that are not completions (each an object with a `message` object, or a `text` string
// for legacy completions, or only a `finish_reason`). A usual answer is passed after two
// substring searches; only a suspicious one is read in full.
// `usage_at`, when given: where the answer's top-level `usage` member begins (npos: none), for
// find_usage, known once the answer passed.
std::optional<std::string> answer_problem(std::string_view body, Endpoint endpoint,
                                          std::size_t* usage_at = nullptr);

// Appends the text of one stream chunk's data (a chat.completion.chunk or text_completion).
void append_chunk_text(std::string_view data, std::string& out);

}  // namespace llm_router::api
