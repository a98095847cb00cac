#include "llm_router/server/http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <netinet/tcp.h>

#include <array>
#include <thread>
#include <unordered_set>

#include "llm_router/api/errors.hpp"
#include "llm_router/core/cpu_count.hpp"
#include "llm_router/core/join.hpp"
#include "llm_router/core/logging.hpp"
#include "llm_router/core/request_id.hpp"
#include "llm_router/server/eager_write.hpp"
#include "llm_router/server/response_head.hpp"
#include "request_reader.hpp"

namespace llm_router::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMaxEmptyLineBytes = 8;  // CR and LF bytes skipped before a request line
constexpr std::size_t kReadBytes = 65536;      // the most one read of a request adds to its buffer
// After a refusal, how long and how much of what the client still sends is read and dropped.
constexpr auto kLingerTime = std::chrono::seconds(3);
constexpr std::size_t kMaxLingerBytes = std::size_t{256} << 20;
// After drain_timeout, how long cancelled requests get to write their error and close.
constexpr auto kStopGrace = std::chrono::milliseconds(500);
// When draining starts, how long a request still arriving gets to finish arriving: a slow or
// stalled client must not hold the exit for its whole header or body timeout.
constexpr auto kDrainReadGrace = std::chrono::seconds(2);

// One client connection, shared by its session coroutine and the callbacks of its timer and
// disconnect watch (which may run after the session ended).
struct Connection : std::enable_shared_from_this<Connection> {
  explicit Connection(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}

  tcp::socket socket;
  // One timer for every timeout: operations set `deadline` (a store), and the timer, armed
  // for the earliest deadline it has seen, checks it when it wakes. A timer per read or
  // write would cost a timer queue insert and a cancellation per operation.
  asio::steady_timer timer;
  Clock::time_point deadline = Clock::time_point::max();
  bool timer_armed = false;
  // Cancels the request being served (through the session coroutine's cancellation slot)
  // when the client goes away, so its backend call stops too.
  asio::cancellation_signal client_gone;
  std::uint64_t serving = 0;  // the request being served, 0 between requests
  bool watched = false;       // a disconnect watch is armed for the request being served
  bool idle = true;           // idle sessions are closed at once when draining
  bool timed_out = false;     // the deadline cancelled the socket's operation
  // Set when draining began while a request was arriving: no read deadline goes past it.
  Clock::time_point read_cap = Clock::time_point::max();
};
using ConnectionPtr = std::shared_ptr<Connection>;

void arm_deadline(const ConnectionPtr& connection) {
  connection->timer_armed = true;
  connection->timer.expires_at(connection->deadline);
  connection->timer.async_wait([connection](error_code ec) {
    if (ec) return;  // re-armed for an earlier deadline, or the session ended
    connection->timer_armed = false;
    if (connection->deadline == Clock::time_point::max()) return;
    if (Clock::now() < connection->deadline) return arm_deadline(connection);
    connection->timed_out = true;
    error_code ignored;
    connection->socket.cancel(ignored);  // the pending read or write fails: the session ends
  });
}

void expire_after(const ConnectionPtr& connection, std::chrono::milliseconds timeout) {
  connection->deadline = std::min(Clock::now() + timeout, connection->read_cap);
  if (!connection->timer_armed || connection->deadline < connection->timer.expiry()) {
    arm_deadline(connection);
  }
}

void expire_never(Connection& connection) {
  connection.deadline = Clock::time_point::max();
}

// Watches the client's socket while request `id` is served. EOF or an error means the client
// is gone: the request is cancelled. Bytes of a next (pipelined) request end the watch.
void watch_for_disconnect(const ConnectionPtr& connection, std::uint64_t id) {
  connection->watched = true;
  connection->socket.async_wait(tcp::socket::wait_read, [connection, id](error_code ec) {
    if (ec || connection->serving != id) return;
    char byte;
    const auto n =
        connection->socket.receive(asio::buffer(&byte, 1), tcp::socket::message_peek, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      return watch_for_disconnect(connection, id);
    }
    if (ec || n == 0) connection->client_gone.emit(asio::cancellation_type::terminal);
  });
}

// The handler is declared first so it outlives the io_context: coroutine frames destroyed with
// the io_context may still call into it (see RequestHandler::shutdown).
struct Worker {
  std::unique_ptr<RequestHandler> handler;
  asio::io_context io{1};
  std::unordered_set<Connection*> sessions;  // touched only on this worker's thread
  std::uint64_t requests_served = 0;
  bool sweeping = false;  // watch_slow_requests() runs
  bool stopping = false;  // drain_timeout ran out: requests still in flight are cancelled
  bool draining = false;
  BodyBudget body_budget;  // this thread's share of max_body_memory
};

// Gives a request's body bytes back to its thread's budget when the request is done.
struct BodyCharge {
  BodyBudget& budget;
  std::size_t bytes;
  BodyCharge(BodyBudget& charged, std::size_t charged_bytes)
      : budget(charged), bytes(charged_bytes) {}
  BodyCharge(const BodyCharge&) = delete;
  BodyCharge& operator=(const BodyCharge&) = delete;
  ~BodyCharge() { budget.held -= bytes; }
};

Failure stopped_before_answer() {
  return Failure{
      ErrorKind::shutting_down,
      "the router is shutting down and stopped waiting for this request (drain_timeout, or a "
      "second stop signal)"};
}

// Requests still in flight after kWatchDelay get a disconnect watch. Arming one for every
// request cost an epoll_ctl and a cancelled wait each, for requests mostly answered in far less
// time than a client takes to give up; a model call lasts seconds, and its client leaving is
// noticed at most kWatchDelay later. Runs while the worker serves requests.
constexpr auto kWatchDelay = std::chrono::milliseconds(50);

asio::awaitable<void> watch_slow_requests(Worker& worker) {
  asio::steady_timer timer(worker.io);
  while (true) {
    timer.expires_after(kWatchDelay);
    auto [ec] = co_await timer.async_wait(use_nothrow);
    if (ec) break;
    bool serving = false;
    for (Connection* c : worker.sessions) {
      if (c->serving == 0) continue;
      serving = true;
      if (!c->watched) watch_for_disconnect(c->shared_from_this(), c->serving);
    }
    if (!serving) break;
  }
  worker.sweeping = false;
}

// Writes responses with hand-built heads and gathered writes: a whole response, or a stream's
// head with its first chunk, leaves in one send.
class BeastWriter final : public ResponseWriter {
 public:
  BeastWriter(const ConnectionPtr& connection, unsigned version, bool keep_alive,
              const ServerLimits& limits, const Worker& worker)
      : connection_(connection),
        version_(version),
        keep_alive_(keep_alive),
        limits_(limits),
        draining_(worker.draining),
        stopping_(worker.stopping) {}

  asio::awaitable<error_code> send(int status, Headers headers, std::string body) override {
    const std::string head = response_head(status, headers, framing(body.size()));
    started_ = true;
    // A HEAD answer is the GET answer's head: its content-length, no body.
    if (head_only_) body.clear();
    const std::array buffers{asio::buffer(head), asio::const_buffer(asio::buffer(body))};
    const auto ec = co_await write(buffers);
    complete_ = !ec;
    co_return ec;
  }

  asio::awaitable<error_code> start_stream(int status, Headers headers) override {
    co_return co_await start_stream_with(status, std::move(headers), {});
  }

  asio::awaitable<error_code> start_stream_with(int status, Headers headers,
                                                std::string_view first_chunk) override {
    // HTTP/1.0 has no chunked encoding: the body runs until the connection closes.
    chunked_ = version_ == 11;
    if (!chunked_) keep_alive_ = false;
    const std::string head = response_head(status, headers, framing(std::nullopt));
    started_ = true;
    if (first_chunk.empty()) co_return co_await write(std::array{asio::buffer(head)});
    const std::string size_line = chunk_size_line(first_chunk.size());
    if (!chunked_)
      co_return co_await write(std::array{asio::buffer(head), asio::buffer(first_chunk)});
    const std::array buffers{asio::buffer(head), asio::buffer(size_line), asio::buffer(first_chunk),
                             asio::buffer(kChunkEnd)};
    co_return co_await write(buffers);
  }

  asio::awaitable<error_code> write_chunk(std::string_view data) override {
    if (data.empty()) co_return error_code{};
    if (!chunked_) co_return co_await write(std::array{asio::buffer(data)});
    const std::string size_line = chunk_size_line(data.size());
    const std::array buffers{asio::buffer(size_line), asio::buffer(data), asio::buffer(kChunkEnd)};
    co_return co_await write(buffers);
  }

  asio::awaitable<error_code> finish_stream() override {
    error_code ec;
    if (chunked_) ec = co_await write(std::array{asio::buffer(kLastChunk)});
    complete_ = !ec;
    co_return ec;
  }

  void abort() override {
    error_code ignored;
    connection_->socket.set_option(asio::socket_base::linger(true, 0), ignored);
    connection_->socket.close(ignored);
    keep_alive_ = false;
  }

  bool started() const override { return started_; }
  void answer_head_only() { head_only_ = true; }
  bool complete() const { return complete_; }
  bool keep_alive() const { return keep_alive_ && !draining_; }
  bool server_stopping() const override { return stopping_; }
  bool client_too_slow() const override { return connection_->timed_out; }

 private:
  ResponseFraming framing(std::optional<std::size_t> content_length) const {
    return ResponseFraming{version_ == 10 ? 10u : 11u, keep_alive(), content_length};
  }

  template <typename Buffers>
  asio::awaitable<error_code> write(const Buffers& buffers) {
    auto& socket = connection_->socket;
    // write_timeout is the longest wait for the client to take more bytes, not for the whole
    // write: a stream's burst of megabytes read steadily at 60 KB/s is no stalled client.
    auto [ec, n] = co_await write_eagerly(
        socket, socket, buffers, [this] { expire_after(connection_, limits_.write_timeout); });
    expire_never(*connection_);
    co_return ec;
  }

  const ConnectionPtr& connection_;
  unsigned version_;
  bool keep_alive_;
  const ServerLimits& limits_;
  const bool& draining_;
  const bool& stopping_;
  bool started_ = false;
  bool complete_ = false;
  bool head_only_ = false;
  bool chunked_ = true;
};

// A request refused before any handler saw it (too large, malformed, too slow, too many
// connections): answered, and logged so an operator sees floods and probes too.
// Reads and drops what the client still sends after a refusal, its sending side shut, until it
// closes, for at most kLingerTime: a socket closed with unread bytes resets the connection, and
// the reset makes the client's stack drop the answer it has not read yet (an SDK uploading an
// oversized body saw "connection reset" and retried instead of reading the 413). As nginx's
// lingering close.
asio::awaitable<void> linger(const ConnectionPtr& connection) {
  error_code ec;
  connection->socket.shutdown(tcp::socket::shutdown_send, ec);
  if (ec) co_return;
  expire_after(connection, kLingerTime);
  std::array<char, 4096> scratch;
  for (std::size_t dropped = 0; dropped < kMaxLingerBytes;) {
    auto [read_ec, n] =
        co_await connection->socket.async_read_some(asio::buffer(scratch), use_nothrow);
    if (read_ec) break;
    dropped += n;
  }
}

// The id a request (or a refusal) is answered and logged with: the client's own when its head
// was read and it is acceptable, else a new one.
std::string request_id_for(const std::optional<RequestReader>& parser) {
  if (parser) {
    const auto* client_id = parser->request().header("x-request-id");
    if (client_id && core::acceptable_request_id(*client_id)) return *client_id;
  }
  return core::new_request_id();
}

asio::awaitable<void> write_error_and_close(spdlog::logger& log, ServerCounters& counters,
                                            const ConnectionPtr& connection, ErrorKind kind,
                                            std::string message,
                                            std::string request_id = core::new_request_id()) {
  connection->read_cap = Clock::time_point::max();  // writing the refusal is no read
  counters.refused[static_cast<std::size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
  const int status = traits(kind).status;
  log.info("refused before routing: request_id={} status={} code={} reason={}", request_id, status,
           traits(kind).code, message);
  http::response<http::string_body> response;
  response.result(static_cast<unsigned>(status));
  response.set(http::field::content_type, "application/json");
  response.set(http::field::date, http_date());
  response.set("x-request-id", request_id);
  if (status == 429 || status == 503) response.set(http::field::retry_after, "1");
  response.keep_alive(false);
  response.body() = api::error_body(Failure{kind, std::move(message)});
  response.prepare_payload();
  expire_after(connection, std::chrono::seconds(5));
  auto [ec, n] = co_await http::async_write(connection->socket, response, use_nothrow);
  // Not when shedding load or stopping: a refused connection must not stay open for seconds.
  const bool shedding = kind == ErrorKind::overloaded || kind == ErrorKind::shutting_down;
  if (!ec && !shedding) co_await linger(connection);
}

// The client closed or reset its connection, before or in the middle of a request's head
// (Beast says "partial message"): nobody to answer, nothing malformed to log.
bool client_left(error_code ec) {
  return ec == http::error::end_of_stream || ec == http::error::partial_message ||
         ec == asio::error::eof || ec == asio::error::operation_aborted ||
         ec == asio::error::connection_reset;
}

// Consumes the CR and LF bytes at the front of `buffer`, at most `budget`; returns how many.
std::size_t skip_empty_lines(beast::flat_buffer& buffer, std::size_t budget) {
  const auto* bytes = static_cast<const char*>(buffer.data().data());
  std::size_t skip = 0;
  while (skip < buffer.size() && skip < budget && (bytes[skip] == '\r' || bytes[skip] == '\n')) {
    ++skip;
  }
  buffer.consume(skip);
  return skip;
}

// Whether the head that went over `limit` bytes did so in its request line (414, not 431); for a
// parser that has not read the request line, so the buffer still starts with it.
bool request_line_exceeds(const beast::flat_buffer& buffer, std::size_t limit) {
  const std::string_view head(static_cast<const char*>(buffer.data().data()), buffer.size());
  const std::size_t line_end = head.find('\n');
  return line_end == std::string_view::npos ? head.size() >= limit : line_end >= limit;
}

// Parses the request `buffer` already holds, without waiting for more bytes: most requests
// arrive whole in one read, and each asynchronous read costs a trip through the reactor. One of
// the plain shape is read by the router's own scan, any other by Beast's parser.
// True when that was a whole request; `ec` is set when it is malformed or too large.
bool parse_buffered(RequestReader& parser, beast::flat_buffer& buffer, error_code& ec) {
  std::size_t used = 0;
  const std::string_view bytes(static_cast<const char*>(buffer.data().data()), buffer.size());
  if (parser.take_simple(bytes, used, ec)) {
    buffer.consume(used);
    return true;
  }
  if (ec) return false;
  parser.eager(true);
  while (buffer.size() > 0 && !parser.is_done()) {
    const std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == http::error::need_more) {
      ec = {};
      return false;
    }
    if (ec || used == 0) return false;
  }
  return parser.is_done();
}

// At most this many bytes wait unsent in the kernel for a client. Without a cap Linux buffers
// megabytes of a fast stream for a slow reader and reports the socket writable again only
// once half of them are gone: a client reading steadily at 60 KB/s saw no progress for
// write_timeout and was cut. Capped, the router hears of progress every kUnsentBytes.
constexpr int kUnsentBytes = 128 * 1024;

template <typename Socket>
void limit_unsent_bytes(Socket& socket) {
#if defined(TCP_NOTSENT_LOWAT)
  using notsent_lowat = asio::detail::socket_option::integer<IPPROTO_TCP, TCP_NOTSENT_LOWAT>;
  error_code ignored;
  socket.set_option(notsent_lowat(kUnsentBytes), ignored);
#else
  (void)socket;
#endif
}

}  // namespace

struct HttpServer::Impl {
  ServerLimits limits;
  std::vector<std::unique_ptr<Worker>> workers;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  ServerCounters counters;
  std::atomic<bool> draining{false};
  std::atomic<bool> hurry{false};  // a second stop signal: stop waiting for the drain
  bool stop_requested = false;     // a stop signal came (on the first io thread only)
  std::size_t next_worker = 0;
  std::function<void()> sighup;
  std::function<void()> drain_started;
  std::function<void()> stop_requested_callback;
  std::shared_ptr<spdlog::logger> log = logging::get("server");

  Worker& first() { return *workers.front(); }

  asio::awaitable<void> accept_loop();
  void on_stop_signal();
  asio::awaitable<void> drain_after_delay();
  asio::awaitable<void> run_session(Worker& worker, ConnectionPtr connection);
  // How much of a request was read: none (the connection ends), all of it, or its head alone
  // (a request that asked for 100-continue and that the handler refuses by its head: its body
  // is never asked for, and the connection closes after the answer).
  enum class Read { nothing, whole, head_only };
  asio::awaitable<Read> read_request(const ConnectionPtr& connection, beast::flat_buffer& buffer,
                                     std::optional<RequestReader>& parser, Worker& worker);
  // Answers a request that could not be read (431, 413, 400) when the client can still hear
  // it; `malformed_answered`: whether a malformed one gets a 400 (not mid-body).
  asio::awaitable<void> refuse(const ConnectionPtr& connection, error_code ec,
                               bool malformed_answered, std::string request_id);
  asio::awaitable<void> serve_one(Worker& worker, const ConnectionPtr& connection,
                                  HttpRequest& request, BeastWriter& writer);
  asio::awaitable<void> wait_until_drained();
  void begin_drain();
};

asio::awaitable<void> HttpServer::Impl::accept_loop() {
  // Out of file descriptors, accept fails every 50 ms until connections close: one warning per
  // run of failures (with its count when it ends), not twenty a second.
  std::uint64_t failures_in_a_row = 0;
  while (acceptor && acceptor->is_open()) {
    Worker& target = *workers[next_worker++ % workers.size()];
    auto [ec, socket] = co_await acceptor->async_accept(target.io, use_nothrow);
    if (!ec && failures_in_a_row > 0) {
      log->warn("accepting again after {} failed attempts", failures_in_a_row);
      failures_in_a_row = 0;
    }
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) break;
      if (failures_in_a_row++ == 0) log->warn("accept failed: {} (retrying)", ec.message());
      asio::steady_timer backoff(co_await asio::this_coro::executor, std::chrono::milliseconds(50));
      co_await backoff.async_wait(use_nothrow);
      continue;
    }
    counters.connections_accepted.fetch_add(1, std::memory_order_relaxed);
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    limit_unsent_bytes(socket);
    auto connection = std::make_shared<Connection>(std::move(socket));
    // The completion handler holds the connection: the cancellation signal bound to the
    // session must outlive it.
    auto slot = connection->client_gone.slot();
    asio::co_spawn(target.io, run_session(target, connection),
                   asio::bind_cancellation_slot(slot, [connection](const std::exception_ptr&) {}));
  }
}

asio::awaitable<HttpServer::Impl::Read> HttpServer::Impl::read_request(
    const ConnectionPtr& connection, beast::flat_buffer& buffer,
    std::optional<RequestReader>& parser, Worker& worker) {
  connection->idle = true;
  // Empty lines before a request line are ignored (RFC 9112 section 2.2: some clients send a
  // CRLF after a body), a few of them: more are left to the parser, which refuses them.
  std::size_t empty_line_bytes = 0;
  while (true) {
    if (buffer.size() == 0) {
      // A new connection (no request read yet) has header_timeout to begin its first request,
      // as nginx's client_header_timeout: one that sends nothing does not hold a slot for
      // idle_timeout. Between requests of a keep-alive connection, idle_timeout.
      expire_after(connection, parser ? limits.idle_timeout : limits.header_timeout);
      auto [ec, n] = co_await connection->socket.async_read_some(buffer.prepare(8192), use_nothrow);
      if (ec) co_return Read::nothing;
      buffer.commit(n);
    }
    empty_line_bytes += skip_empty_lines(buffer, kMaxEmptyLineBytes - empty_line_bytes);
    if (buffer.size() > 0 || empty_line_bytes >= kMaxEmptyLineBytes) break;
  }
  connection->idle = false;
  parser.emplace();
  parser->charge_body_to(worker.body_budget);
  parser->limit(limits.max_header_bytes, limits.max_body_bytes);
  error_code ec;
  if (parse_buffered(*parser, buffer, ec)) {
    expire_never(*connection);
    co_return Read::whole;
  }
  if (!ec) {
    expire_after(connection, limits.header_timeout);
    auto [hec, hn] =
        co_await http::async_read_header(connection->socket, buffer, *parser, use_nothrow);
    ec = hec;
  }
  if (!ec && parser->content_length() && *parser->content_length() > limits.max_body_bytes) {
    ec = http::error::body_limit;
  }
  if (ec && !parser->refusal().empty()) {
    co_await write_error_and_close(*log, counters, connection, parser->refusal_kind(),
                                   std::string(parser->refusal()), request_id_for(parser));
    co_return Read::nothing;
  }
  if (ec == http::error::header_limit && !parser->has_request_line() &&
      request_line_exceeds(buffer, limits.max_header_bytes)) {
    co_await write_error_and_close(
        *log, counters, connection, ErrorKind::uri_too_long,
        "the request line exceeds " + std::to_string(limits.max_header_bytes) + " bytes");
    co_return Read::nothing;
  }
  if (ec) {
    co_await refuse(connection, ec, /*malformed_answered=*/true, request_id_for(parser));
    co_return Read::nothing;
  }
  if (parser->expects_continue()) {
    if (!worker.handler->wants_body(parser->request())) co_return Read::head_only;
    http::response<http::empty_body> go_on{http::status::continue_, 11};
    expire_after(connection, limits.write_timeout);
    auto [wec, n] = co_await http::async_write(connection->socket, go_on, use_nothrow);
    if (wec) co_return Read::nothing;
  }
  expire_after(connection, limits.body_timeout);
  auto [bec, bn] = co_await http::async_read(connection->socket, buffer, *parser, use_nothrow);
  expire_never(*connection);
  if (bec && !parser->refusal().empty()) {
    co_await write_error_and_close(*log, counters, connection, parser->refusal_kind(),
                                   std::string(parser->refusal()), request_id_for(parser));
  } else if (bec) {
    co_await refuse(connection, bec, /*malformed_answered=*/false, request_id_for(parser));
  }
  co_return bec ? Read::nothing : Read::whole;
}

asio::awaitable<void> HttpServer::Impl::refuse(const ConnectionPtr& connection, error_code ec,
                                               bool malformed_answered, std::string request_id) {
  if (ec == http::error::header_limit) {
    co_await write_error_and_close(
        *log, counters, connection, ErrorKind::headers_too_large,
        "request headers exceed " + std::to_string(limits.max_header_bytes) + " bytes", request_id);
  } else if (ec == http::error::buffer_overflow) {
    co_await write_error_and_close(*log, counters, connection, ErrorKind::headers_too_large,
                                   "a chunk's size line or the trailer section exceeds " +
                                       std::to_string(limits.max_header_bytes + kReadBytes) +
                                       " bytes (server.max_header_bytes and one read)",
                                   request_id);
  } else if (ec == http::error::body_limit) {
    co_await write_error_and_close(
        *log, counters, connection, ErrorKind::payload_too_large,
        "request body exceeds " + std::to_string(limits.max_body_bytes) + " bytes", request_id);
  } else if (connection->timed_out && connection->read_cap != Clock::time_point::max()) {
    co_await write_error_and_close(
        *log, counters, connection, ErrorKind::shutting_down,
        "the router is shutting down: the request did not arrive within " +
            std::to_string(kDrainReadGrace.count()) + " s of the stop signal; retry",
        request_id);
  } else if (connection->timed_out) {
    // A request begun but not finished in time (idle connections just close).
    co_await write_error_and_close(*log, counters, connection, ErrorKind::request_timeout,
                                   "the request was not received in time (server.header_timeout "
                                   "for its head, server.body_timeout for its body)",
                                   request_id);
  } else if (malformed_answered && !client_left(ec)) {
    co_await write_error_and_close(*log, counters, connection, ErrorKind::invalid_request,
                                   "malformed HTTP request: " + ec.message(), request_id);
  }
}

asio::awaitable<void> HttpServer::Impl::serve_one(Worker& worker, const ConnectionPtr& connection,
                                                  HttpRequest& request, BeastWriter& writer) {
  const std::uint64_t id = ++worker.requests_served;
  connection->serving = id;
  connection->watched = false;
  if (!worker.sweeping) {
    worker.sweeping = true;
    asio::co_spawn(worker.io, watch_slow_requests(worker), asio::detached);
  }
  try {
    co_await worker.handler->handle(request, writer);
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::operation_aborted) log->error("handler failed: {}", e.what());
  } catch (const std::exception& e) {
    log->error("handler failed: {}", e.what());
  }
  connection->serving = 0;
  if (connection->watched) {
    error_code ignored;
    connection->socket.cancel(ignored);  // ends the watch
  }
  // A client that left cancelled the session's coroutine: clear that before writing again.
  const auto state = co_await asio::this_coro::cancellation_state;
  const bool cancelled = state.cancelled() != asio::cancellation_type::none;
  if (cancelled) co_await asio::this_coro::reset_cancellation_state();
  // A client that closed its side (fully, or half like `nc -N`: nginx reads both as gone and
  // logs 499 too) gets no made-up answer; the session then reads EOF and closes.
  if (cancelled && !worker.stopping) co_return;
  if (!writer.started()) {
    // (A named Headers: GCC 12 miscompiles braced lists inside co_await expressions.)
    Headers headers{Header{"content-type", "application/json"}};
    if (!request.id.empty()) headers.push_back({"x-request-id", request.id});
    // Retryable: another replica, or this one restarted, takes it.
    if (worker.stopping) headers.push_back({"retry-after", "1"});
    const Failure failure =
        worker.stopping ? stopped_before_answer() : Failure{ErrorKind::internal, "internal error"};
    co_await writer.send(traits(failure.kind).status, std::move(headers), api::error_body(failure));
  }
}

asio::awaitable<void> HttpServer::Impl::run_session(Worker& worker, ConnectionPtr connection) {
  const auto open = counters.connections_open.fetch_add(1, std::memory_order_relaxed) + 1;
  worker.sessions.insert(connection.get());
  error_code ec;
  connection->socket.non_blocking(true, ec);
  if (open > limits.max_connections || worker.draining) {
    counters.connections_refused.fetch_add(1, std::memory_order_relaxed);
    co_await write_error_and_close(*log, counters, connection, ErrorKind::overloaded,
                                   "too many open connections; retry later");
  } else {
    // Bounded: what the parser must hold at once (a head, a chunk's size line, the trailer
    // section) fits in a head's limit plus one read; body bytes pass through it as they come.
    beast::flat_buffer buffer(limits.max_header_bytes + kReadBytes);
    std::optional<RequestReader> parser;
    while (!worker.draining) {
      const Read read = co_await read_request(connection, buffer, parser, worker);
      if (read == Read::nothing) break;
      connection->read_cap = Clock::time_point::max();  // arrived: served like any other
      const unsigned version = parser->version();
      const bool keep_alive = parser->keeps_alive() && read == Read::whole;
      std::string id = request_id_for(parser);
      // The body counts against the thread's max_body_memory share until the request is done.
      const BodyCharge body_charge{worker.body_budget, parser->hand_over_charge()};
      HttpRequest request = std::move(parser->request());
      request.id = std::move(id);
      counters.requests_in_flight.fetch_add(1, std::memory_order_relaxed);
      counters.requests_total.fetch_add(1, std::memory_order_relaxed);
      BeastWriter writer(connection, version, keep_alive, limits, worker);
      if (request.method == "HEAD") writer.answer_head_only();
      co_await serve_one(worker, connection, request, writer);
      counters.requests_in_flight.fetch_sub(1, std::memory_order_relaxed);
      // The client may send the body it was not asked for after all (curl does after a second).
      if (read == Read::head_only && writer.complete()) co_await linger(connection);
      if (!writer.complete() || !writer.keep_alive()) break;
    }
  }
  connection->socket.shutdown(tcp::socket::shutdown_send, ec);
  connection->socket.close(ec);
  connection->timer.cancel();
  worker.sessions.erase(connection.get());
  counters.connections_open.fetch_sub(1, std::memory_order_relaxed);
}

// The first stop signal drains at once, or after shutdown_delay of serving on (with readiness
// already failing); a second one during the delay drains at once.
void HttpServer::Impl::on_stop_signal() {
  const bool first_signal = !stop_requested;
  stop_requested = true;
  if (first_signal && stop_requested_callback) stop_requested_callback();
  if (!first_signal || limits.shutdown_delay.count() == 0) {
    begin_drain();
    return;
  }
  log->info(
      "stop signal: serving on for {} ms (shutdown_delay) while load balancers stop sending, "
      "then draining",
      limits.shutdown_delay.count());
  asio::co_spawn(first().io, drain_after_delay(), asio::detached);
}

asio::awaitable<void> HttpServer::Impl::drain_after_delay() {
  asio::steady_timer timer(first().io, limits.shutdown_delay);
  co_await timer.async_wait(use_nothrow);
  begin_drain();
}

void HttpServer::Impl::begin_drain() {
  if (draining.exchange(true)) return;
  if (drain_started) drain_started();
  log->info("draining: no new connections; waiting up to {} ms for in-flight requests",
            limits.drain_timeout.count());
  error_code ignored;
  if (acceptor) acceptor->close(ignored);
  for (auto& w : workers) {
    asio::post(w->io, [&worker = *w] {
      worker.draining = true;
      for (Connection* c : worker.sessions) {
        if (c->idle) {
          c->socket.cancel();
        } else if (c->serving == 0) {
          // A request still arriving: a moment to finish, then 503 and close.
          c->read_cap = Clock::now() + kDrainReadGrace;
          if (c->deadline > c->read_cap) expire_after(c->shared_from_this(), kDrainReadGrace);
        }
      }
    });
  }
  asio::co_spawn(first().io, wait_until_drained(), asio::detached);
}

asio::awaitable<void> HttpServer::Impl::wait_until_drained() {
  const auto deadline = std::chrono::steady_clock::now() + limits.drain_timeout;
  asio::steady_timer timer(first().io);
  while (counters.connections_open.load() > 0 && std::chrono::steady_clock::now() < deadline &&
         !hurry.load()) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(use_nothrow);
  }
  if (const auto left = counters.connections_open.load(); left > 0) {
    log->warn("{}: cancelling the requests of {} connections still open",
              hurry.load() ? "second stop signal" : "drain timeout", left);
    // Cancelled, in-flight requests still end their answers with an error (a stream with an
    // error event, a request not yet answered with a 503) and are logged; then they close.
    for (auto& w : workers) {
      asio::post(w->io, [&worker = *w] {
        worker.stopping = true;
        for (Connection* c : worker.sessions) {
          if (c->serving != 0) c->client_gone.emit(asio::cancellation_type::terminal);
        }
      });
    }
    const auto grace = std::chrono::steady_clock::now() + kStopGrace;
    while (counters.connections_open.load() > 0 && std::chrono::steady_clock::now() < grace) {
      timer.expires_after(std::chrono::milliseconds(10));
      co_await timer.async_wait(use_nothrow);
    }
  }
  guards.clear();
  for (auto& w : workers) w->io.stop();
}

HttpServer::HttpServer(int threads, ServerLimits limits, HandlerFactory factory)
    : impl_(std::make_unique<Impl>()) {
  impl_->limits = limits;
  const int count = threads > 0 ? threads : core::usable_cpu_count();
  for (int i = 0; i < count; ++i) {
    auto worker = std::make_unique<Worker>();
    worker->handler = factory(worker->io, static_cast<std::size_t>(i));
    // Each thread holds its share; one body of the largest size always fits.
    worker->body_budget.limit =
        std::max(limits.max_body_memory / static_cast<std::size_t>(count), limits.max_body_bytes);
    impl_->guards.push_back(asio::make_work_guard(worker->io));
    impl_->workers.push_back(std::move(worker));
  }
}

HttpServer::~HttpServer() {
  for (auto& w : impl_->workers) w->handler->shutdown();
}

std::uint16_t HttpServer::listen(const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("not an IP address: " + host);
  const tcp::endpoint endpoint(address, port);
  auto acceptor = std::make_unique<tcp::acceptor>(impl_->first().io);
  // Startup errors: the step and the system's words, not Asio's source location.
  const auto check = [&](const char* step) {
    if (ec) throw std::runtime_error(std::string(step) + ": " + ec.message());
  };
  acceptor->open(endpoint.protocol(), ec);
  check("open");
  acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  check("SO_REUSEADDR");
  acceptor->bind(endpoint, ec);
  check("bind");
  acceptor->listen(asio::socket_base::max_listen_connections, ec);
  check("listen");
  impl_->acceptor = std::move(acceptor);
  return impl_->acceptor->local_endpoint().port();
}

void HttpServer::run(bool handle_signals, const std::function<void()>& ready) {
  Impl& impl = *impl_;
  asio::co_spawn(impl.first().io, impl.accept_loop(), asio::detached);
  asio::signal_set stop_signals(impl.first().io);
  asio::signal_set hup_signals(impl.first().io);
  // Both handlers re-arm themselves by reference: they live as long as run() does.
  std::function<void(error_code, int)> on_stop;
  std::function<void(error_code, int)> on_hup;
  if (handle_signals) {
    stop_signals.add(SIGTERM);
    stop_signals.add(SIGINT);
    on_stop = [&](error_code ec, int) {
      if (ec) return;
      if (impl.draining.load()) {
        // Impatience ends the wait, not the answers: what is in flight is cancelled as at the
        // drain timeout (an error event, a 503), then the process exits.
        impl.log->warn("second stop signal: cancelling what is still in flight");
        impl.hurry = true;
        return;
      }
      impl.on_stop_signal();
      stop_signals.async_wait(on_stop);
    };
    stop_signals.async_wait(on_stop);
    hup_signals.add(SIGHUP);
    on_hup = [&](error_code ec, int) {
      if (ec) return;
      if (impl.sighup) impl.sighup();
      hup_signals.async_wait(on_hup);
    };
    hup_signals.async_wait(on_hup);
  }
  if (ready) ready();
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < impl.workers.size(); ++i) {
    threads.emplace_back([&worker = *impl.workers[i]] { worker.io.run(); });
  }
  impl.first().io.run();
  // The other io threads' loops end with the first's; their exits get a bounded wait.
  if (!core::join_within(threads, std::chrono::seconds(5))) {
    impl.log->warn(
        "an io thread did not finish exiting within 5 s of the drain; exiting without it");
  }
}

void HttpServer::stop_gracefully() {
  asio::post(impl_->first().io, [impl = impl_.get()] { impl->begin_drain(); });
}

bool HttpServer::draining() const {
  return impl_->draining.load();
}

const ServerCounters& HttpServer::counters() const {
  return impl_->counters;
}

void HttpServer::on_sighup(std::function<void()> callback) {
  impl_->sighup = std::move(callback);
}

void HttpServer::on_stop_requested(std::function<void()> callback) {
  impl_->stop_requested_callback = std::move(callback);
}

void HttpServer::on_drain(std::function<void()> callback) {
  impl_->drain_started = std::move(callback);
}

}  // namespace llm_router::server
