#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_suffix.hpp>

#include <cstddef>
#include <tuple>

#include "llm_router/server/http_types.hpp"

namespace llm_router::server {

// Writes `buffers` to a non-blocking `socket` with one send at once; only what the socket did
// not take goes through asynchronous writes on `stream` (the socket, or a stream over it that
// enforces a deadline). A request or response that fits the socket's buffer, nearly all of
// them, then costs no completion handler and no trip through the reactor. `on_progress` runs
// before each wait for the socket, so a caller's deadline can mean "no progress for so long"
// rather than "the whole write in so long" (a client reading a long stream slowly but steadily
// is no stalled one).
template <typename Socket, typename AsyncStream, typename Buffers, typename OnProgress = void (*)()>
asio::awaitable<std::tuple<error_code, std::size_t>> write_eagerly(
    Socket& socket, AsyncStream& stream, const Buffers& buffers, OnProgress on_progress = [] {}) {
  error_code ec;
  const std::size_t total = asio::buffer_size(buffers);
  std::size_t sent = socket.write_some(buffers, ec);
  if (!ec && sent == total) co_return std::make_tuple(error_code{}, sent);
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
    co_return std::make_tuple(ec, sent);
  }
  boost::beast::buffers_suffix<Buffers> rest(buffers);
  rest.consume(sent);
  while (sent < total) {
    on_progress();
    auto [async_ec, more] =
        co_await stream.async_write_some(rest, asio::as_tuple(asio::use_awaitable));
    sent += more;
    if (async_ec) co_return std::make_tuple(async_ec, sent);
    rest.consume(more);
  }
  co_return std::make_tuple(error_code{}, sent);
}

}  // namespace llm_router::server
