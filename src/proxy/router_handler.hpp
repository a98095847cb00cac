#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "llm_router/api/openai_request.hpp"
#include "llm_router/core/logging.hpp"
#include "llm_router/proxy/router_handler.hpp"
#include "llm_router/upstream/exchange.hpp"

namespace llm_router::proxy {

namespace asio = boost::asio;
using server::Header;
using server::Headers;
using server::HttpRequest;
using server::ResponseWriter;

// How one attempt ended, for the client's error message, the headers and the log.
struct Attempt {
  std::string backend;
  std::optional<Failure> failure;  // empty: this attempt answered the client
};

// One request's journey, filled as it goes and logged once at the end.
struct RequestRecord {
  std::string id;
  std::string route;
  std::string backend;
  std::vector<Attempt> attempts;
  int status = 0;
  bool stream = false;
  api::Usage usage;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point first_byte;
  Headers last_upstream_headers;  // retry-after and rate-limit headers of the last failure
};

class RouterHandler final : public server::RequestHandler {
 public:
  RouterHandler(std::shared_ptr<RouterState> state, asio::io_context& io,
                std::shared_ptr<asio::ssl::context> tls);

  asio::awaitable<void> handle(HttpRequest& request, ResponseWriter& writer) override;
  void shutdown() override;

 private:
  asio::awaitable<void> completion(HttpRequest& request, ResponseWriter& writer,
                                   api::Endpoint endpoint);
  // Runs one attempt; true when the client has been answered (or is gone).
  asio::awaitable<bool> attempt(const HttpRequest& request, ResponseWriter& writer,
                                const api::ParsedRequest& parsed, api::Endpoint endpoint,
                                std::size_t backend_index, RequestRecord& record);
  asio::awaitable<bool> relay_body(upstream::Exchange& exchange, ResponseWriter& writer,
                                   RequestRecord& record, Headers headers);
  asio::awaitable<bool> relay_stream(upstream::Exchange& exchange, ResponseWriter& writer,
                                     RequestRecord& record, Headers headers);
  asio::awaitable<void> send_all_failed(ResponseWriter& writer, RequestRecord& record);

  asio::awaitable<void> send_json(ResponseWriter& writer, int status, std::string body,
                                  Headers extra = {});
  asio::awaitable<void> send_error(ResponseWriter& writer, const Failure& failure,
                                   Headers extra = {});
  asio::awaitable<void> models(ResponseWriter& writer);
  asio::awaitable<void> readiness(ResponseWriter& writer);

  Headers decision_headers(const RequestRecord& record) const;
  upstream::UpstreamRequest upstream_request(const HttpRequest& request,
                                             const api::ParsedRequest& parsed,
                                             api::Endpoint endpoint,
                                             const config::Backend& backend,
                                             const RequestRecord& record) const;
  void log_request(const RequestRecord& record) const;

  std::shared_ptr<RouterState> state_;
  std::shared_ptr<const config::Config> config_;
  std::vector<std::unique_ptr<upstream::Provider>> providers_;  // by backend index
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace llm_router::proxy
