#pragma once

#include <string>

#include "llm_router/api/openai_request.hpp"

namespace llm_router::api {

// The text a request asks the model to read, for counting its tokens when the backend reports
// no usage: each message's role and content (strings and text parts), tool-call arguments and
// tool names; a completion's prompt; an embedding's inputs. The JSON around it is left out
// (counting the whole body gave "hi" 19 tokens).
std::string prompt_text(const ParsedRequest& request);

// Tokens OpenAI's chat format adds around the text: about 3 per message and 3 to prime the
// reply (its own cookbook's count for gpt-4-class models).
long long chat_format_tokens(const ParsedRequest& request);

}  // namespace llm_router::api
