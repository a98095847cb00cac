#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llm_router/config/config.hpp"

// The mock LLM: answers shaped like OpenAI's, with realistic latency and token usage, and
// failures on demand. Shared by the in-daemon `mock` provider and the mock-llm binary.
namespace llm_router::mock {

enum class Endpoint { chat, completions, embeddings };

// Everything a mock answer will do, decided up front from the request and the defaults.
// A request may override the defaults with a body field "mock": {"status": 500, ...}.
struct Plan {
  Endpoint endpoint = Endpoint::chat;
  std::string model;
  std::string id;
  bool stream = false;
  bool include_usage = false;
  int status = 200;
  bool hang = false;
  int drop_after_tokens = -1;
  bool error_event = false;  // stream: send an error event instead of content
  std::chrono::milliseconds time_to_first_token{0};
  std::chrono::milliseconds token_delay{0};
  std::chrono::milliseconds retry_after{0};
  int prompt_tokens = 0;
  std::vector<std::string> tokens;
  std::string finish_reason = "stop";
  bool omit_usage = false;
  int choices = 1;     // the request's "n" (1..8) per prompt: each choice says the same
  std::string echoed;  // a legacy completion's prompt, put before its text (`echo: true`)
  // Chat "logprobs": true: each token's logprob (from its text, in (-0.5, 0], or the mock
  // control's `logprob` for all) with `top_logprobs` alternatives.
  bool logprobs = false;
  int top_logprobs = 0;
  std::optional<double> logprob;
  // Chat requests offering tools (tool_choice not "none", the last message not a tool result)
  // get a call of the chosen or first function; `tokens` then hold its JSON arguments.
  std::string tool_call_id;
  std::string tool_name;
  bool calls_tool() const { return !tool_name.empty(); }
};

// `random01` is a uniform draw in [0,1) used for failure_rate.
Plan make_plan(const nlohmann::json& body, Endpoint endpoint, const config::MockBehavior& defaults,
               std::string_view model, double random01);

std::string completion_body(const Plan& plan);                      // non-stream 200 body
std::string chunk_data(const Plan& plan, std::size_t token_index);  // one stream event's data
std::string final_chunk_data(const Plan& plan);                     // finish_reason chunk
std::string usage_chunk_data(const Plan& plan);                     // stream_options.include_usage
std::string embeddings_body(const nlohmann::json& body, const Plan& plan);
std::string error_body_for(int status);

// Rough token count of a request's text (about four characters a token).
int estimate_prompt_tokens(const nlohmann::json& body);

}  // namespace llm_router::mock
