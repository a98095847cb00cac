#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "llm_router/api/response_item_store.hpp"
#include "llm_router/api/sse.hpp"
#include "llm_router/core/expected.hpp"

// OpenAI's Responses API (POST /v1/responses) in front of chat-completions backends: the request
// becomes a chat.completions request the router analyzes, routes and relays as any other, and
// the chat answer (whole or streamed) becomes a Response object (or its stream of events).
namespace llm_router::api {

// A /v1/responses call turned into the chat request the router sends on.
struct ResponsesCall {
  std::string chat_body;
  bool stream = false;
  // The Response object before any output: id, model, the request's settings it repeats
  // (instructions, tools, text format, ...), status "in_progress". Both answers start from it.
  nlohmann::json shell;
  // The client did not say `store: false`: its answer's items may be kept for references.
  bool keep_items = true;
};

// Failures are client errors (400) naming the field at fault: a body that is not a JSON
// object, an input item or tool of an unknown or unsupported kind (built-in tools), an
// item_reference `items` does not hold (none without it), or state the router does not keep
// (previous_response_id, conversation, background).
Expected<ResponsesCall> chat_request_from_responses(std::string_view body,
                                                    const ItemSource& items = {});

// A whole chat.completion answer as the Response object; nothing when `chat_answer` is not one.
// Its output items are kept in `items`, as `owner`'s, when given.
std::optional<std::string> response_from_chat_answer(std::string_view chat_answer,
                                                     const nlohmann::json& shell,
                                                     ResponseItemStore* items = nullptr,
                                                     std::string_view owner = {});

// An error body about the chat request, as the Responses call's client should read it: a
// `param` naming `messages` (what the call became) names `input` instead.
std::string error_for_responses(std::string body);

// The server-sent events of a streamed chat completion rewritten as the Responses API's events
// (response.created, output items with their text and argument deltas, response.completed).
// Bytes come in as the chat stream arrives, split anywhere; events come out as soon as they
// are known.
class ResponsesStream {
 public:
  // The output items are kept in `items` (when given), as `owner`'s, when the Response ends.
  explicit ResponsesStream(nlohmann::json shell, ResponseItemStore* items = nullptr,
                           std::string owner = {});

  std::string feed(std::string_view chat_sse);
  // The closing events when the chat stream ended without [DONE] (after its finish_reason:
  // completed; before it: failed). Nothing once the Response has ended.
  std::string finish();

 private:
  void adopt_model(const std::vector<SseEvent>& events);
  struct FunctionCall {
    std::size_t output_index = 0;
    std::string item_id;
    std::string call_id;
    std::string name;
    std::string arguments;
    std::string held;  // a high surrogate the last delta ended with (see joined_text)
  };
  struct MessagePart {
    std::size_t output_index = 0;
    std::string item_id;
    bool refusal = false;
    std::string text;
    nlohmann::json logprobs = nlohmann::json::array();  // of the text so far
    nlohmann::json annotations = nlohmann::json::array();
    std::string held;
  };
  struct ReasoningPart {
    std::size_t output_index = 0;
    std::string item_id;
    std::string text;
    std::string held;
  };

  void on_event(const SseEvent& event, std::string& out);
  void on_chunk(const nlohmann::json& chunk, std::string& out);
  void on_error(const nlohmann::json& error, std::string& out);
  void start(std::string& out);
  void open_message(bool refusal, std::string& out);
  void text_delta(std::string_view delta, bool refusal, std::string& out,
                  nlohmann::json logprobs = nlohmann::json::array());
  void call_delta(const nlohmann::json& call, std::string& out);
  void arguments_delta(FunctionCall& call, const std::string& piece, std::string& out);
  void reasoning_delta(std::string_view delta, std::string& out);
  void close_reasoning(std::string& out);
  void close_message(std::string& out);
  enum class OnlyWhole { no, yes };  // finish only the calls whose arguments are whole JSON
  void close_calls(std::string& out, OnlyWhole only_whole = OnlyWhole::no);
  void complete(std::string& out);
  void emit(std::string_view type, nlohmann::json event, std::string& out);
  std::string_view item_status() const;
  nlohmann::json output_so_far() const;  // finished items, then any still open (incomplete)

  nlohmann::json response_;  // the shell, filled as the stream goes
  ResponseItemStore* items_ = nullptr;
  std::string owner_;
  SseParser parser_;
  long long sequence_ = 0;
  bool started_ = false;
  bool ended_ = false;
  std::string finish_reason_;
  std::optional<ReasoningPart> reasoning_;  // before the answer, as the chat stream sends it
  std::optional<MessagePart> message_;
  bool had_message_ = false;                 // a message item was opened (and may be closed since)
  bool had_call_ = false;                    // so was a function_call item
  std::map<long long, FunctionCall> calls_;  // by the chat stream's tool-call index
  std::map<long long, std::size_t> finished_calls_;  // their output index, once done
  std::map<std::size_t, nlohmann::json> output_;     // finished items, by output index
  std::size_t next_output_index_ = 0;
};

}  // namespace llm_router::api
