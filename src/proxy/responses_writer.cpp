#include "responses_writer.hpp"

namespace llm_router::proxy {

using server::error_code;
using server::Headers;

ResponsesWriter::ResponsesWriter(server::ResponseWriter& client, nlohmann::json shell,
                                 api::ResponseItemStore* items, std::string owner)
    : client_(client),
      shell_(shell),
      items_(items),
      owner_(owner),
      stream_(std::move(shell), items, std::move(owner)) {}

asio::awaitable<error_code> ResponsesWriter::send(int status, Headers headers, std::string body) {
  if (status >= 200 && status < 300) {
    // A stream the pipeline made from a whole answer arrives here as event-stream bytes.
    const auto* type = server::find_header(headers, "content-type");
    if (type && type->starts_with("text/event-stream")) {
      std::string events = stream_.feed(body);
      events += stream_.finish();
      co_return co_await client_.send(status, std::move(headers), std::move(events));
    }
    if (auto response = api::response_from_chat_answer(body, shell_, items_, owner_)) {
      body = std::move(*response);
    }
  } else {
    body = api::error_for_responses(std::move(body));
  }
  co_return co_await client_.send(status, std::move(headers), std::move(body));
}

asio::awaitable<error_code> ResponsesWriter::start_stream(int status, Headers headers) {
  co_return co_await client_.start_stream_with(status, std::move(headers), stream_.feed(""));
}

asio::awaitable<error_code> ResponsesWriter::start_stream_with(int status, Headers headers,
                                                               std::string_view first_chunk) {
  co_return co_await client_.start_stream_with(status, std::move(headers),
                                               stream_.feed(first_chunk));
}

asio::awaitable<error_code> ResponsesWriter::write_chunk(std::string_view data) {
  const std::string events = stream_.feed(data);
  if (events.empty()) co_return error_code{};
  co_return co_await client_.write_chunk(events);
}

asio::awaitable<error_code> ResponsesWriter::finish_stream() {
  const std::string tail = stream_.finish();
  if (!tail.empty()) {
    if (auto ec = co_await client_.write_chunk(tail)) co_return ec;
  }
  co_return co_await client_.finish_stream();
}

}  // namespace llm_router::proxy
