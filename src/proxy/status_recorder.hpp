#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "llm_router/server/http_types.hpp"

namespace llm_router::proxy {

// Passes a response through and remembers its status, for the access line of the requests
// that are not completions (those log their own RequestRecord); the response carries the
// request's id as every answer does (`x-request-id`, which the openai SDKs report).
class StatusRecorder final : public server::ResponseWriter {
 public:
  StatusRecorder(server::ResponseWriter& inner, std::string request_id)
      : inner_(inner), request_id_(std::move(request_id)) {}

  // 0 when nothing was sent (the client left first).
  int status() const { return status_; }
  const std::string& request_id() const { return request_id_; }

  server::asio::awaitable<server::error_code> send(int status, server::Headers headers,
                                                   std::string body) override {
    status_ = status;
    add_request_id(headers);
    co_return co_await inner_.send(status, std::move(headers), std::move(body));
  }
  server::asio::awaitable<server::error_code> start_stream(int status,
                                                           server::Headers headers) override {
    status_ = status;
    add_request_id(headers);
    co_return co_await inner_.start_stream(status, std::move(headers));
  }
  server::asio::awaitable<server::error_code> start_stream_with(
      int status, server::Headers headers, std::string_view first_chunk) override {
    status_ = status;
    add_request_id(headers);
    co_return co_await inner_.start_stream_with(status, std::move(headers), first_chunk);
  }
  server::asio::awaitable<server::error_code> write_chunk(std::string_view data) override {
    co_return co_await inner_.write_chunk(data);
  }
  server::asio::awaitable<server::error_code> finish_stream() override {
    co_return co_await inner_.finish_stream();
  }
  void abort() override { inner_.abort(); }
  bool started() const override { return inner_.started(); }
  bool server_stopping() const override { return inner_.server_stopping(); }

 private:
  void add_request_id(server::Headers& headers) const {
    for (const auto& header : headers) {
      if (header.name == "x-request-id") return;
    }
    headers.push_back({"x-request-id", request_id_});
  }

  server::ResponseWriter& inner_;
  std::string request_id_;
  int status_ = 0;
};

}  // namespace llm_router::proxy
