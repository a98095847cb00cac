#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "llm_router/api/sse.hpp"
#include "llm_router/core/expected.hpp"
#include "llm_router/server/http_types.hpp"

// One attempt against one backend, whatever the provider: the proxy sees a response head,
// then either the whole body or a sequence of SSE events. Beast stays inside the providers.
namespace llm_router::upstream {

namespace asio = boost::asio;
using server::Header;
using server::Headers;
using Clock = std::chrono::steady_clock;

struct UpstreamRequest {
  std::string path;  // API path below the backend's base URL, e.g. "/chat/completions"
  std::string body;  // JSON, model already rewritten
  bool stream = false;
  Headers headers;  // extra headers: x-request-id, traceparent, client auth when passed
};

// The deadlines of one attempt; each expiry is reported as its own ErrorKind.
struct Deadlines {
  std::chrono::milliseconds connect{5'000};
  std::chrono::milliseconds first_byte{60'000};
  std::chrono::milliseconds idle{30'000};
  Clock::time_point total = Clock::time_point::max();
};

struct ResponseHead {
  int status = 0;
  // Lower-case names. The reader leaves out what only the connection needed (the framing and
  // connection headers, consumed as it read them) and the backend server's own Date and
  // Server: the router answers with its own.
  Headers headers;
  bool event_stream = false;
};

// Next SSE event, a failure, or neither (the stream ended cleanly).
struct EventResult {
  std::optional<api::SseEvent> event;
  std::optional<Failure> failure;
};

class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual const ResponseHead& head() const = 0;
  // The whole (decoded) body, for non-stream answers and error statuses.
  virtual asio::awaitable<Expected<std::string>> read_body(std::size_t limit) = 0;
  virtual asio::awaitable<EventResult> next_event() = 0;
  // The stream carried its first content (text, reasoning, a tool call). Until then a silence
  // may last up to the first-byte deadline (a role-only chunk and then a long think is still
  // the wait for the first token); from then on, up to `idle`.
  virtual void content_arrived() {}
  // The answer's finish_reason arrived: what may follow (a usage chunk, [DONE]) comes at once,
  // so from now a silence of `grace` ends a wait for the next event (an idle_timeout failure)
  // instead of `idle`.
  virtual void answer_finished(std::chrono::milliseconds /*grace*/) {}
  // True when next_event() will answer at once (an event already arrived): the relay then
  // writes the events of a burst together instead of one send per event.
  virtual bool event_ready() const { return false; }
  // The stream's [DONE] was relayed: whatever follows is dropped. The connection is kept for
  // reuse when its response ends within `grace`, else closed.
  virtual asio::awaitable<void> end_after_done(std::chrono::milliseconds /*grace*/) { co_return; }
};

// A whole answer, read at once (health checks).
struct Response {
  ResponseHead head;
  std::string body;
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual asio::awaitable<Expected<std::unique_ptr<Exchange>>> open(UpstreamRequest request,
                                                                    Deadlines deadlines) = 0;
  // GET `path` below the base URL and read the answer, its body bounded by `limit` (active
  // health checks). Any status is a Response; only I/O trouble and deadlines are failures.
  virtual asio::awaitable<Expected<Response>> get(std::string path, Deadlines deadlines,
                                                  std::size_t limit) = 0;
  // Drops pooled connections; later releases are dropped too (see RequestHandler::shutdown).
  virtual void shutdown() {}
};

}  // namespace llm_router::upstream
