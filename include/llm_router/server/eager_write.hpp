#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>

#include <cstddef>
#include <tuple>

#include "llm_router/server/http_types.hpp"

namespace llm_router::server {

// Writes `buffers` to a non-blocking `socket` with one send at once; only what the socket did
// not take goes through an asynchronous write on `stream` (the socket, or a stream over it
// that enforces a deadline). A request or response that fits the socket's buffer, nearly all
// of them, then costs no completion handler and no trip through the reactor.
template <typename Socket, typename AsyncStream, typename Buffers>
asio::awaitable<std::tuple<error_code, std::size_t>> write_eagerly(Socket& socket,
                                                                   AsyncStream& stream,
                                                                   const Buffers& buffers) {
  error_code ec;
  const std::size_t total = asio::buffer_size(buffers);
  const std::size_t sent = socket.write_some(buffers, ec);
  if (!ec && sent == total) co_return std::make_tuple(error_code{}, sent);
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
    co_return std::make_tuple(ec, sent);
  }
  boost::beast::buffers_suffix<Buffers> rest(buffers);
  rest.consume(sent);
  auto [async_ec, more] =
      co_await asio::async_write(stream, rest, asio::as_tuple(asio::use_awaitable));
  co_return std::make_tuple(async_ec, sent + more);
}

}  // namespace llm_router::server
