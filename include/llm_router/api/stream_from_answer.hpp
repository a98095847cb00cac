#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace llm_router::api {

// A whole answer (chat.completion or text_completion JSON) written as the server-sent events a
// streaming client expects: per choice its content (role, text, tool calls with their index)
// then its finish_reason, the usage chunk when `include_usage`, and "[DONE]". For backends that
// ignore "stream": true. Nothing when `body` is not such an answer.
std::optional<std::string> stream_from_answer(std::string_view body, bool include_usage);

}  // namespace llm_router::api
