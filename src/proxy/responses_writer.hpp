#pragma once

#include "llm_router/api/responses.hpp"
#include "llm_router/server/http_types.hpp"

namespace llm_router::proxy {

namespace asio = boost::asio;

// Answers a /v1/responses call through the chat-completions pipeline: whatever the pipeline
// writes (a chat.completion, its stream, or an error) reaches the client as the Responses API
// has it. Errors pass unchanged: both APIs share OpenAI's error body.
class ResponsesWriter final : public server::ResponseWriter {
 public:
  // The Response's output items are kept in `items` (null: not kept), as `owner`'s, for a
  // client that refers to them later.
  ResponsesWriter(server::ResponseWriter& client, nlohmann::json shell,
                  api::ResponseItemStore* items, std::string owner);

  asio::awaitable<server::error_code> send(int status, server::Headers headers,
                                           std::string body) override;
  asio::awaitable<server::error_code> start_stream(int status, server::Headers headers) override;
  asio::awaitable<server::error_code> write_chunk(std::string_view data) override;
  asio::awaitable<server::error_code> start_stream_with(int status, server::Headers headers,
                                                        std::string_view first_chunk) override;
  asio::awaitable<server::error_code> finish_stream() override;
  void abort() override { client_.abort(); }
  bool started() const override { return client_.started(); }
  bool server_stopping() const override { return client_.server_stopping(); }

 private:
  server::ResponseWriter& client_;
  nlohmann::json shell_;
  api::ResponseItemStore* items_;
  std::string owner_;
  api::ResponsesStream stream_;
};

}  // namespace llm_router::proxy
