#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "llm_router/server/http_types.hpp"

// Cross-origin access for browser apps calling the API paths (server.cors_origins). The router
// answers preflights itself and marks the responses of allowed origins; requests from other
// origins are served as before, without the headers, so the browser keeps their answers from
// the page.
namespace llm_router::proxy {

// The Access-Control-Allow-Origin value for a request from `origin`: "*" when every origin is
// allowed, the origin itself when it is listed, empty when it is not allowed.
std::string cors_allow_origin(const std::vector<std::string>& allowed, std::string_view origin);

// An OPTIONS request asking whether a cross-origin request may be sent.
bool is_cors_preflight(const server::HttpRequest& request);

// A POST a page of another site can make a browser send without asking first (a "simple"
// request: a form's or text/plain body, no preflight), from an origin that is not granted
// (`allow_origin` empty) and is not the router's own page. Its answer is hidden from the page,
// but its effect (tokens spent, a config reloaded) is not: such requests are refused.
bool is_cross_site_simple_post(const server::HttpRequest& request, std::string_view allow_origin);

// A browser's request from a page of the same origin as the Host it names, when that Host is
// neither an IP address, localhost, a name without a dot, nor in `allowed`
// (server.allowed_hosts): a page whose name may have been made to resolve to this router (DNS
// rebinding), and would then be the router's own origin. Cross-site requests (CORS decides)
// and other clients (SDKs, curl, services) may use any Host.
bool is_browser_request_to_unknown_host(const server::HttpRequest& request,
                                        const std::vector<std::string>& allowed);
// Any request whose Host is such a name, browser-like or not: for the admin paths while no
// admin key guards them (a page may set its own User-Agent and send no Origin on a GET).
bool is_request_to_unknown_host(const server::HttpRequest& request,
                                const std::vector<std::string>& allowed);

// The headers of the 204 answer to an allowed preflight.
server::Headers cors_preflight_headers(const server::HttpRequest& request,
                                       const std::string& allow_origin);

// Adds the headers of an allowed cross-origin request to the response written through it.
class CorsWriter final : public server::ResponseWriter {
 public:
  CorsWriter(server::ResponseWriter& inner, std::string allow_origin)
      : inner_(inner), allow_origin_(std::move(allow_origin)) {}

  server::asio::awaitable<server::error_code> send(int status, server::Headers headers,
                                                   std::string body) override;
  server::asio::awaitable<server::error_code> start_stream(int status,
                                                           server::Headers headers) override;
  server::asio::awaitable<server::error_code> start_stream_with(
      int status, server::Headers headers, std::string_view first_chunk) override;
  server::asio::awaitable<server::error_code> write_chunk(std::string_view data) override;
  server::asio::awaitable<server::error_code> finish_stream() override;
  void abort() override { inner_.abort(); }
  bool started() const override { return inner_.started(); }
  bool server_stopping() const override { return inner_.server_stopping(); }

 private:
  server::Headers with_cors(server::Headers headers) const;

  server::ResponseWriter& inner_;
  std::string allow_origin_;
};

}  // namespace llm_router::proxy
