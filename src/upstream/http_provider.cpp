// OpenAI-compatible backends over HTTP/1.1 (and HTTPS), with a keep-alive connection pool.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/container/small_vector.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <unordered_set>
#include <variant>

#include "llm_router/server/eager_write.hpp"
#include "llm_router/upstream/inflater.hpp"
#include "llm_router/upstream/providers.hpp"
#include "llm_router/upstream/response_parser.hpp"

namespace llm_router::upstream {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

// A configured header that carries a credential, by its name (api-key, x-api-key,
// authorization, x-custom-secret, x-auth-token, x-signature, a SAS `sig`...); anthropic-version
// or http-referer does not. Masking a harmless value too costs nothing.
bool credential_header(std::string_view name) {
  const std::string lower = server::lowercase_name(name);
  for (std::string_view word :
       {"key", "auth", "token", "secret", "password", "cookie", "sig", "cred", "session"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

constexpr std::size_t kShortestSecret = 8;  // shorter values would mask ordinary words

// The credential in a header's value: the whole value, and the token after "Bearer ".
void add_credential(std::string_view value, std::vector<std::string>& secrets) {
  if (value.size() < kShortestSecret) return;
  secrets.emplace_back(value);
  if (const auto space = value.find(' '); space != std::string_view::npos) {
    if (value.size() - space - 1 >= kShortestSecret) secrets.emplace_back(value.substr(space + 1));
  }
}

// What this backend is sent that is a credential: its key, credential headers' values, and
// credential parameters of its base_url's query ("?key=...", "&access_token=...").
std::vector<std::string> secrets_of(const config::Backend& backend) {
  std::vector<std::string> secrets;
  if (backend.api_key.size() >= kShortestSecret) secrets.push_back(backend.api_key);
  for (const auto& [name, value] : backend.headers) {
    if (credential_header(name)) add_credential(value, secrets);
  }
  std::string_view query = backend.url.query;
  while (!query.empty()) {
    const std::string_view pair = query.substr(0, query.find('&'));
    query.remove_prefix(std::min(query.size(), pair.size() + 1));
    const auto equals = pair.find('=');
    if (equals != std::string_view::npos && credential_header(pair.substr(0, equals))) {
      add_credential(pair.substr(equals + 1), secrets);
    }
  }
  return secrets;
}

// The peer's certificate must name `host` (an IP address or a DNS name, wildcards for one
// label only), checked by OpenSSL itself so a mismatch is reported as one.
void expect_certificate_for(const std::string& host, SSL* ssl) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  boost::system::error_code not_an_address;
  asio::ip::make_address(host, not_an_address);
  if (!not_an_address) {
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  } else {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
  }
}

// A certificate OpenSSL refused: not retried on this backend (it stays so). The host is not
// named (the client's error must not map internal hosts); the config names it.
Failure untrusted_certificate(long verdict) {
  std::string message = std::string("the backend's TLS certificate is not trusted: ") +
                        X509_verify_cert_error_string(verdict);
  switch (verdict) {
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      message += " (a private CA's certificate goes in the backend's ca_file)";
      break;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      message += " (it does not name the host of the backend's base_url)";
      break;
    default:
      break;
  }
  Failure failure{ErrorKind::connect_failed, std::move(message)};
  failure.lasting = true;
  return failure;
}

// Whether the process has no file descriptor left (its open-file limit): a connection that
// could not be opened then failed on the router's side, not the backend's. Asked after a
// failure only, so a connect costs nothing more.
bool out_of_descriptors() {
  const int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe >= 0) {
    ::close(probe);
    return false;
  }
  return errno == EMFILE || errno == ENFILE;
}

Failure no_descriptors_left() {
  return Failure{ErrorKind::overloaded,
                 "the router is out of file descriptors (its open-file limit, ulimit -n): no "
                 "connection to a backend could be opened; retry later"};
}

// The credentials a request carries itself: a client's key passed on by pass_client_auth (the
// proxy adds only lower-case names; this runs on every request, so no lowercasing here).
std::vector<std::string> secrets_of(const Headers& headers) {
  std::vector<std::string> secrets;
  for (const auto& h : headers) {
    if (std::find(std::begin(server::kApiKeyHeaders), std::end(server::kApiKeyHeaders), h.name) !=
        std::end(server::kApiKeyHeaders)) {
      add_credential(h.value, secrets);
    }
  }
  return secrets;
}

// Characters keys are written with (base64, hex, "sk-proj-...", JWTs).
bool key_character(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
         c == '_' || c == '.' || c == '+' || c == '/' || c == '=';
}

// This many characters of a key in a row give it away (a key cut short, or without its prefix).
constexpr std::size_t kKeyFragment = 12;

// Every run of key characters that holds kKeyFragment characters of a secret in a row becomes
// "***" whole.
void mask_fragments(std::string& text, const std::string& secret) {
  if (secret.size() < kKeyFragment) return;
  // In any case: "SK-PROJ-ABC..." gives a lower-case or hex key away as well.
  const auto lower = [](std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  std::string lower_secret;
  std::unordered_set<std::string_view> fragments;  // made when a run is long enough to hold one
  std::size_t at = 0;
  while (at < text.size()) {
    if (!key_character(text[at])) {
      ++at;
      continue;
    }
    std::size_t end = at;
    while (end < text.size() && key_character(text[end])) ++end;
    const std::string_view run = std::string_view(text).substr(at, end - at);
    if (run.size() >= kKeyFragment && fragments.empty()) {
      lower_secret = lower(secret);
      for (std::size_t i = 0; i + kKeyFragment <= lower_secret.size(); ++i) {
        fragments.insert(std::string_view(lower_secret).substr(i, kKeyFragment));
      }
    }
    const std::string lower_run = run.size() >= kKeyFragment ? lower(run) : std::string();
    bool holds_fragment = false;
    for (std::size_t i = 0; i + kKeyFragment <= lower_run.size() && !holds_fragment; ++i) {
      holds_fragment = fragments.contains(std::string_view(lower_run).substr(i, kKeyFragment));
    }
    if (holds_fragment) {
      text.replace(at, run.size(), "***");
      end = at + 3;
    }
    at = end;
  }
}

// JSON escapes of characters keys are written with ("\u0073k-" for "sk-") read as those
// characters, so a key spelled in escapes is found too. (They never need escaping: the JSON
// stays valid and means the same.)
void unescape_key_characters(std::string& text) {
  std::size_t at = text.find("\\u");
  if (at == std::string::npos) return;
  std::string out;
  out.reserve(text.size());
  std::size_t done = 0;
  for (; at != std::string::npos; at = text.find("\\u", at + 1)) {
    // An escaped backslash before it ("\\u0073") makes this no escape.
    std::size_t slashes = 0;
    while (at > slashes && text[at - 1 - slashes] == '\\') ++slashes;
    if (slashes % 2 != 0 || at + 6 > text.size()) continue;
    unsigned value = 0;
    bool hex = true;
    for (std::size_t i = at + 2; i < at + 6 && hex; ++i) {
      const char c = text[i];
      const int digit = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
      hex = digit >= 0;
      value = value * 16 + static_cast<unsigned>(std::max(digit, 0));
    }
    if (!hex || value >= 0x80 || !key_character(static_cast<char>(value))) continue;
    out.append(text, done, at - done).push_back(static_cast<char>(value));
    done = at + 6;
  }
  if (done == 0) return;
  out.append(text, done);
  text = std::move(out);
}

void mask_whole_secrets(std::string& text, const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    if (secret.empty()) continue;
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
      text.replace(at, secret.size(), "***");
    }
  }
}

void mask_secrets(std::string& text, const std::vector<std::string>& secrets) {
  if (secrets.empty()) return;
  unescape_key_characters(text);
  mask_whole_secrets(text, secrets);
  for (const auto& secret : secrets) mask_fragments(text, secret);
}
using tcp = asio::ip::tcp;
using boost::system::error_code;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadChunk = 16 * 1024;
// A read is given at least this much room (else a stream would arrive in many small reads).
constexpr std::size_t kMinRead = 4096;

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

struct Connection {
  std::variant<std::unique_ptr<PlainStream>, std::unique_ptr<TlsStream>> stream;
  beast::flat_buffer buffer;
  Clock::time_point idle_since;
  char chunk[kReadChunk];  // body reads land here: one buffer per connection, not per request

  beast::tcp_stream& lowest() {
    return std::visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(*s); },
                      stream);
  }
  // An idle connection the server wrote to cannot carry a new request: what it sent while idle
  // (a stray or late response) would be read as that request's answer, another client's. The
  // bytes may be buffered already or still in the socket (one ioctl per reuse asks). One the
  // server closed is found when the request is sent (see HttpProvider::send).
  bool still_usable() {
    if (!lowest().socket().is_open() || buffer.size() != 0) return false;
    if (auto* tls = std::get_if<std::unique_ptr<TlsStream>>(&stream);
        tls && SSL_pending((*tls)->native_handle()) > 0) {
      return false;  // decrypted already, held by the TLS layer
    }
    error_code ec;
    return lowest().socket().available(ec) == 0 && !ec;
  }
};

// The idle keep-alive connections to one backend of one io thread, newest last. Connections
// idle longer than the backend's idle_connection_timeout are closed: when one is taken or given
// back, and by a timer while the pool holds any, so a burst's connections do not linger (in
// CLOSE-WAIT once the backend gives up on them) through a quiet hour.
class ConnectionPool {
 public:
  ConnectionPool(asio::io_context& io, std::size_t max_idle, std::chrono::milliseconds max_age)
      : state_(std::make_shared<State>(io, max_idle, max_age)) {}
  ~ConnectionPool() { close(); }
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  std::unique_ptr<Connection> take() {
    trim(*state_);
    auto& idle = state_->idle;
    while (!idle.empty()) {
      auto connection = std::move(idle.back());
      idle.pop_back();
      if (connection->still_usable()) return connection;
    }
    return nullptr;
  }

  void give_back(std::unique_ptr<Connection> connection) {
    State& state = *state_;
    trim(state);
    if (state.closed || state.idle.size() >= state.max_idle) return;
    connection->idle_since = Clock::now();
    state.idle.push_back(std::move(connection));
    arm_sweep(state_);
  }

  // Touches no asio object: it also runs after the io_context is gone (at exit the providers
  // outlive it), and a sweep still pending then finds the pool closed or gone.
  void close() {
    state_->closed = true;
    state_->idle.clear();
  }

  // One pooled connection turned out closed by the server: those idle as long are likely
  // closed too (an upstream restart, or its idle timeout).
  void drop_idle() { state_->idle.clear(); }

 private:
  struct State {
    State(asio::io_context& io, std::size_t max_idle, std::chrono::milliseconds max_age)
        : io(io), max_idle(max_idle), max_age(max_age) {}
    asio::io_context& io;
    std::vector<std::unique_ptr<Connection>> idle;  // oldest first
    std::size_t max_idle;
    std::chrono::milliseconds max_age;
    bool closed = false;
    bool sweeping = false;
  };

  static void trim(State& state) {
    const auto oldest = Clock::now() - state.max_age;
    auto& idle = state.idle;
    const auto fresh = std::find_if(idle.begin(), idle.end(),
                                    [&](const auto& c) { return c->idle_since > oldest; });
    idle.erase(idle.begin(), fresh);
  }

  // While connections wait, a timer closes each as it expires (the pool may see no traffic).
  // The timer belongs to its own wait, not to the pool, so no asio object outlives the
  // io_context through the pool.
  static void arm_sweep(const std::shared_ptr<State>& state) {
    if (state->sweeping || state->idle.empty()) return;
    state->sweeping = true;
    auto timer = std::make_shared<asio::steady_timer>(
        state->io, state->idle.front()->idle_since + state->max_age + std::chrono::milliseconds(1));
    timer->async_wait([timer, weak = std::weak_ptr<State>(state)](error_code ec) {
      const auto live = weak.lock();
      if (!live) return;
      live->sweeping = false;
      if (ec || live->closed) return;
      trim(*live);
      arm_sweep(live);
    });
  }

  std::shared_ptr<State> state_;
};

// A backend whose host dies silently (a crash, a network partition) sends no reset: a request
// waiting for a long answer, which has no first-byte bound by default, would wait until
// `total`. Keep-alive probes after 30 s of silence find the peer gone within about a minute.
void probe_when_silent(tcp::socket& socket) {
  error_code ec;
  socket.set_option(asio::socket_base::keep_alive(true), ec);
  const int fd = socket.native_handle();
  constexpr int kIdleSeconds = 30, kIntervalSeconds = 10, kProbes = 3;
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &kIdleSeconds, sizeof kIdleSeconds);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &kIntervalSeconds, sizeof kIntervalSeconds);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &kProbes, sizeof kProbes);
}

// Which deadline is armed on the socket, so an expiry is reported as the right ErrorKind.
// The socket's timer only ends an operation that is waiting: an upstream that always has bytes
// ready (a flood of keep-alive comments or of content) completes every read at once, so each
// read also checks `passed()` first.
struct ArmedDeadline {
  ErrorKind kind = ErrorKind::total_timeout;
  Clock::time_point at = Clock::time_point::max();

  bool passed() const { return Clock::now() >= at; }

  void arm(beast::tcp_stream& stream, std::chrono::milliseconds phase, ErrorKind phase_kind,
           Clock::time_point total) {
    arm_until(stream, Clock::now() + phase, phase_kind, total);
  }

  void arm_until(beast::tcp_stream& stream, Clock::time_point phase_end, ErrorKind phase_kind,
                 Clock::time_point total) {
    if (phase_end < total) {
      at = phase_end;
      kind = phase_kind;
    } else {
      at = total;
      kind = ErrorKind::total_timeout;
    }
    stream.expires_at(at);
  }
};

Failure expired(const ArmedDeadline& armed, std::string_view during) {
  return {armed.kind, std::string(name(armed.kind)) + " while " + std::string(during)};
}

Failure io_failure(const error_code& ec, const ArmedDeadline& armed, std::string_view during) {
  if (ec == beast::error::timeout) return expired(armed, during);
  if (ec == asio::error::operation_aborted) return {ErrorKind::cancelled, "cancelled"};
  // Bytes that are no HTTP (a bad status line, a header past the limit, bad framing) come
  // from a broken backend, not a dropped connection: not worth a retry on the same one.
  const bool closed = ec == http::error::end_of_stream || ec == http::error::partial_message;
  if (ec.category() == http::make_error_code(http::error::bad_version).category() && !closed) {
    return {ErrorKind::upstream_bad_response,
            "bad HTTP " + std::string(during) + ": " + ec.message()};
  }
  return {ErrorKind::upstream_closed, std::string(during) + ": " + ec.message()};
}

// CR and LF never reach the wire inside a value (no header injection from a config file).
void append_field(std::string& head, std::string_view name, std::string_view value) {
  head.append(name).append(": ");
  if (value.find_first_of("\r\n") == std::string_view::npos) {
    head.append(value);
  } else {
    for (char c : value) {
      if (c != '\r' && c != '\n') head += c;
    }
  }
  head.append("\r\n");
}

// The fields of a request head, each name once (compared without case), in insertion order.
class HeadFields {
 public:
  void set(std::string_view name, std::string_view value) {
    for (auto& field : fields_) {
      if (beast::iequals(field.first, name)) {
        field.second = value;
        return;
      }
    }
    fields_.emplace_back(name, value);
  }

  bool contains(std::string_view name) const {
    for (const auto& field : fields_) {
      if (beast::iequals(field.first, name)) return true;
    }
    return false;
  }

  void append_to(std::string& head) const {
    for (const auto& [name, value] : fields_) append_field(head, name, value);
  }

 private:
  boost::container::small_vector<std::pair<std::string_view, std::string_view>, 12> fields_;
};

class HttpProvider;

class HttpExchange final : public Exchange {
 public:
  // `secrets`: the credentials this backend was sent (its own, and `request_secrets` of this
  // request), kept out of the error bodies and error events it returns.
  HttpExchange(std::unique_ptr<Connection> connection, ConnectionPool& pool,
               const Deadlines& deadlines, bool stream, const std::vector<std::string>& secrets,
               std::vector<std::string> request_secrets)
      : connection_(std::move(connection)),
        pool_(pool),
        deadlines_(deadlines),
        stream_(stream),
        secrets_(secrets),
        request_secrets_(std::move(request_secrets)) {}

  asio::awaitable<std::optional<Failure>> read_head() {
    first_byte_end_ = Clock::now() + deadlines_.first_byte;
    armed_.arm_until(connection_->lowest(), first_byte_end_, ErrorKind::first_byte_timeout,
                     deadlines_.total);
    while (true) {
      if (auto failure = co_await read_head_bytes()) co_return failure;
      const int status = parser_->status();
      if (status >= 200 || status == 101) break;
      // An interim response (100 Continue, 103 Early Hints): the real one follows (RFC 9110
      // section 15.2), read by a fresh parser.
      parser_.emplace();
    }
    head_.status = parser_->status();
    head_.event_stream =
        parser_->content_type().find("text/event-stream") != std::string_view::npos;
    const auto encoding = parser_->content_encoding();
    if (beast::iequals(encoding, "gzip") || beast::iequals(encoding, "x-gzip")) {
      inflater_.emplace(true);
    } else if (beast::iequals(encoding, "deflate")) {
      inflater_.emplace(false);
    }
    if (inflater_) inflater_->limit_ratio(kMaxInflateRatio, kInflateFloor);
    head_.headers = std::move(parser_->headers());
    // What a failing backend's headers say reaches the client and the log (a redirect's
    // Location, a request id): never a key in them.
    // A working backend's headers are relayed too (its request id, its rate limits): a key
    // written whole in one is masked there (a search per header; the fragment search that
    // error text gets would cost every answer thousands of instructions).
    const bool failed = head_.status < 200 || head_.status >= 300;
    for (auto& header : head_.headers) {
      if (failed) {
        mask(header.value);
      } else {
        mask_whole_secrets(header.value, secrets_);
        mask_whole_secrets(header.value, request_secrets_);
      }
    }
    co_return std::nullopt;
  }

  const ResponseHead& head() const override { return head_; }

  void content_arrived() override { content_arrived_ = true; }

  void answer_finished(std::chrono::milliseconds grace) override { finish_grace_ = grace; }

  bool event_ready() const override { return has_pending(); }

  asio::awaitable<void> end_after_done(std::chrono::milliseconds grace) override {
    // Usually the body's last bytes came with [DONE]; else they get `grace` to arrive.
    while (connection_ && !has_pending() && !parser_->done()) {
      armed_.arm(connection_->lowest(), grace, ErrorKind::idle_timeout, deadlines_.total);
      auto piece = co_await read_piece();
      std::string decoded;
      if (!piece || !append_decoded(*piece, decoded, kMaxEventBytes) ||
          !drain_buffered(decoded, kMaxEventBytes) || !decoded.empty()) {
        break;  // late, broken, or more than framing after [DONE]: not worth keeping
      }
    }
    if (!has_pending() && parser_->done()) finish();
    connection_.reset();
  }

  asio::awaitable<Expected<std::string>> read_body(std::size_t limit) override {
    std::string body;
    // A length over the limit is refused before a byte of the body is read; one under it is
    // held in one allocation of its size.
    if (const auto length = parser_->content_length(); length && !inflater_) {
      if (*length > limit) co_return body_too_large(limit);
      body.reserve(static_cast<std::size_t>(*length));
    }
    // Most answers arrive with their head: what is buffered is parsed without another read.
    bool good = drain_buffered(body, limit);
    while (good && !parser_->done()) {
      armed_.arm(connection_->lowest(), deadlines_.idle, ErrorKind::idle_timeout, deadlines_.total);
      auto piece = co_await read_piece();
      if (!piece) co_return piece.take_failure();
      good = append_decoded(*piece, body, limit);
    }
    if (!good && parser_->failed()) co_return bad_framing("reading the response");
    if (!good && inflater_ && inflater_->past_ratio()) {
      co_return Failure{ErrorKind::upstream_bad_response,
                        "the compressed response body decodes to more than " +
                            std::to_string(kMaxInflateRatio) + " times its size"};
    }
    if (!good) co_return body_too_large(limit);
    if (inflater_ && !inflater_->finished()) {
      co_return Failure{ErrorKind::upstream_bad_response,
                        "the compressed response body ended before its end"};
    }
    finish();
    // A backend that rejects its key may quote it ("Incorrect API key provided: ..."), and the
    // proxy relays some error bodies to clients.
    if (head_.status < 200 || head_.status >= 300) mask(body);
    // JSON may begin with a byte order mark (RFC 8259 lets a reader ignore it); a client's
    // JSON.parse of the relayed text would not.
    if (body.starts_with("\xEF\xBB\xBF")) body.erase(0, 3);
    co_return body;
  }

  asio::awaitable<EventResult> next_event() override {
    // Silence between events is timed from here: bytes that are no event (keep-alive
    // comments) do not extend it.
    // After the finish_reason, the shorter grace: what is left comes at once. Timed from this
    // call, so a slow write to the client before it does not use the grace up.
    const auto idle_end =
        Clock::now() + std::min<std::chrono::milliseconds>(deadlines_.idle,
                                                           finish_grace_.value_or(deadlines_.idle));
    while (!has_pending()) {
      if (parser_->done()) {
        if (!sse_.finished()) {
          std::vector<api::SseEvent> events;
          sse_.finish(events);
          take(events);
          continue;
        }
        finish();
        co_return EventResult{};
      }
      if (!content_arrived_) {
        // Content must begin within the first-byte deadline counted from the request, shorter
        // or longer than idle: bytes that are no event (keep-alive comments) and events without
        // content (OpenAI's role-only opening chunk) neither extend nor end it.
        armed_.arm_until(connection_->lowest(), first_byte_end_, ErrorKind::first_byte_timeout,
                         deadlines_.total);
      } else {
        armed_.arm_until(connection_->lowest(), idle_end, ErrorKind::idle_timeout,
                         deadlines_.total);
      }
      auto piece = co_await read_piece();
      if (!piece) co_return EventResult{std::nullopt, piece.take_failure()};
      std::string decoded;
      if (!append_decoded(*piece, decoded, kMaxEventBytes) ||
          !drain_buffered(decoded, kMaxEventBytes)) {
        co_return EventResult{std::nullopt,
                              Failure{ErrorKind::upstream_bad_response, "bad stream encoding"}};
      }
      std::vector<api::SseEvent> events;
      sse_.feed(decoded, events);
      take(events);
      if (sse_.pending_bytes() > kMaxEventBytes) {
        co_return EventResult{std::nullopt, Failure{ErrorKind::upstream_bad_response,
                                                    "stream event larger than 8 MiB"}};
      }
    }
    ++events_seen_;
    co_return EventResult{take_pending(), std::nullopt};
  }

 private:
  static constexpr std::size_t kMaxEventBytes = 8 * 1024 * 1024;
  // An answer decodes to at most this many times its compressed bytes, past a floor no real
  // answer's compression reaches (JSON and SSE compress some 5-20 times).
  static constexpr std::size_t kMaxInflateRatio = 100;
  static constexpr std::size_t kInflateFloor = 1024 * 1024;

  // Reads what the socket has into the connection's buffer (after what it holds).
  asio::awaitable<std::tuple<error_code, std::size_t>> read_more() {
    auto& buffer = connection_->buffer;
    const std::size_t room = buffer.capacity() - buffer.size();
    const auto space = buffer.prepare(room < kMinRead ? kReadChunk : room);
    auto [ec, n] = co_await std::visit(
        [&](auto& stream) { return stream->async_read_some(space, use_nothrow); },
        connection_->stream);
    buffer.commit(n);
    co_return std::tuple{ec, n};
  }

  std::string_view buffered() const {
    const auto& buffer = connection_->buffer;
    return {static_cast<const char*>(buffer.data().data()), buffer.size()};
  }

  Failure bad_framing(std::string_view during) const {
    return {ErrorKind::upstream_bad_response,
            "bad HTTP " + std::string(during) + ": " + parser_->error()};
  }

  // Reads until the parser has the response's head.
  asio::awaitable<std::optional<Failure>> read_head_bytes() {
    static constexpr std::string_view during = "waiting for the response";
    while (true) {
      if (connection_->buffer.size() > 0) {
        connection_->buffer.consume(parser_->put(buffered()));
        if (parser_->failed()) co_return bad_framing(during);
        if (parser_->head_done()) co_return std::nullopt;
      }
      if (armed_.passed()) co_return expired(armed_, during);
      auto [ec, n] = co_await read_more();
      if (ec == asio::error::eof) {
        // Nothing at all: a pooled connection the server closed (the request is sent again).
        ec = connection_->buffer.size() == 0 ? http::error::end_of_stream
                                             : http::error::partial_message;
      }
      if (ec) co_return io_failure(ec, armed_, during);
    }
  }

  // Reads the next piece of body into the connection's chunk and returns it (empty at the
  // body's end).
  asio::awaitable<Expected<std::string_view>> read_piece() {
    static constexpr std::string_view during = "reading the response";
    char* chunk = connection_->chunk;
    parser_->lend(chunk, kReadChunk);
    while (true) {
      if (connection_->buffer.size() > 0) {
        connection_->buffer.consume(parser_->put(buffered()));
        if (parser_->failed()) co_return bad_framing(during);
        if (parser_->written() > 0 || parser_->done()) {
          co_return std::string_view(chunk, parser_->written());
        }
      }
      if (armed_.passed()) co_return expired(armed_, during);
      auto [ec, n] = co_await read_more();
      if (ec == asio::error::eof) {
        if (parser_->finish_at_eof()) co_return std::string_view(chunk, 0);
        co_return Failure{ErrorKind::upstream_closed, "upstream closed mid-response"};
      }
      if (ec) co_return io_failure(ec, armed_, during);
    }
  }

  // Parses the body bytes the connection's buffer already holds (a burst read at once),
  // without waiting for more. False on bad framing or encoding.
  bool drain_buffered(std::string& out, std::size_t limit) {
    while (connection_->buffer.size() > 0 && !parser_->done()) {
      parser_->lend(connection_->chunk, kReadChunk);
      connection_->buffer.consume(parser_->put(buffered()));
      if (parser_->failed()) return false;
      const std::string_view piece(connection_->chunk, parser_->written());
      if (!append_decoded(piece, out, limit)) return false;
      if (piece.empty()) break;  // the rest needs more bytes
    }
    return true;
  }

  static Failure body_too_large(std::size_t limit) {
    return Failure{ErrorKind::upstream_bad_response,
                   "response body is larger than " + std::to_string(limit) +
                       " bytes (server.max_response_bytes) or badly encoded"};
  }

  bool append_decoded(std::string_view piece, std::string& out, std::size_t limit) {
    if (inflater_) return inflater_->inflate(piece, out, limit);
    const std::size_t needed = out.size() + piece.size();
    if (needed > limit) return false;
    // Grown by doubling, but never past the limit: a body of nearly the limit would otherwise
    // hold twice the limit at once.
    if (needed > out.capacity()) out.reserve(std::min(limit, std::max(needed, 2 * out.capacity())));
    out.append(piece);
    return true;
  }

  void finish() {
    if (connection_ && parser_->done() && parser_->keep_alive()) {
      pool_.give_back(std::move(connection_));
    }
    connection_.reset();
  }

  std::unique_ptr<Connection> connection_;
  ConnectionPool& pool_;
  Deadlines deadlines_;
  bool stream_;
  bool has_pending() const { return pending_head_ < pending_.size(); }
  api::SseEvent take_pending() {
    api::SseEvent event = std::move(pending_[pending_head_++]);
    if (pending_head_ == pending_.size()) {
      pending_.clear();
      pending_head_ = 0;
    }
    return event;
  }
  void take(std::vector<api::SseEvent>& events) {
    for (auto& e : events) {
      // An error event is relayed as it came: one quoting the key must not.
      if (beast::iequals(e.event, "error") || e.data.find("\"error\"") != std::string::npos ||
          e.data.find("\\u") != std::string::npos) {
        mask(e.data);
      }
      pending_.push_back(std::move(e));
    }
  }
  void mask(std::string& text) const {
    mask_secrets(text, secrets_);
    mask_secrets(text, request_secrets_);
  }

  const std::vector<std::string>& secrets_;
  std::vector<std::string> request_secrets_;  // empty unless the request carries credentials
  std::optional<ResponseParser> parser_{std::in_place};
  ResponseHead head_;
  ArmedDeadline armed_;
  std::optional<Inflater> inflater_;
  api::SseParser sse_;
  // Events parsed and not yet taken, from pending_head_ on (a std::deque allocated for every
  // exchange, streamed or not).
  std::vector<api::SseEvent> pending_;
  std::size_t pending_head_ = 0;
  std::size_t events_seen_ = 0;
  bool content_arrived_ = false;
  std::optional<std::chrono::milliseconds> finish_grace_;  // set by answer_finished()
  Clock::time_point first_byte_end_ = Clock::time_point::max();
};

class HttpProvider final : public Provider {
 public:
  HttpProvider(const config::Backend& backend, asio::io_context& io,
               std::shared_ptr<ssl::context> tls)
      : backend_(backend),
        io_(io),
        tls_(std::move(tls)),
        resolver_(io),
        pool_(io, static_cast<std::size_t>(backend.max_idle_connections),
              backend.idle_connection_timeout),
        auth_name_(backend.auth_header == "authorization" ? "Authorization" : backend.auth_header),
        auth_value_(backend.api_key.empty()                  ? ""
                    : backend.auth_header == "authorization" ? "Bearer " + backend.api_key
                                                             : backend.api_key),
        host_(backend_.url.host_header()),
        post_fields_(fixed_lines(http::verb::post, false)),
        post_fields_streaming_(fixed_lines(http::verb::post, true)),
        post_fixed_(fixed_fields(http::verb::post, false)),
        secrets_(secrets_of(backend)) {}

  asio::awaitable<Expected<std::unique_ptr<Exchange>>> open(UpstreamRequest request,
                                                            Deadlines deadlines) override {
    co_return co_await send(http::verb::post, std::move(request), deadlines);
  }

  asio::awaitable<Expected<Response>> get(std::string path, Deadlines deadlines,
                                          std::size_t limit) override {
    UpstreamRequest request;
    request.path = std::move(path);
    auto opened = co_await send(http::verb::get, std::move(request), deadlines);
    if (!opened) co_return opened.take_failure();
    auto body = co_await (*opened)->read_body(limit);
    if (!body) co_return body.take_failure();
    Response response{(*opened)->head(), std::move(*body)};
    co_return response;
  }

  void shutdown() override { pool_.close(); }

 private:
  asio::awaitable<Expected<std::unique_ptr<Exchange>>> send(http::verb verb,
                                                            UpstreamRequest request,
                                                            Deadlines deadlines) {
    const std::string head = build_head(verb, request);
    // A pooled connection may have been closed by the server a moment ago; one fresh retry
    // covers that race (nothing was processed: no byte came back).
    for (int round = 0; round < 2; ++round) {
      // The retry after a closed pooled connection always connects afresh.
      auto connection = round == 0 ? pool_.take() : nullptr;
      const bool reused = connection != nullptr;
      if (!connection) {
        auto made = co_await connect(deadlines);
        if (!made) co_return made.take_failure();
        connection = std::move(*made);
      }
      ArmedDeadline armed;
      armed.arm(connection->lowest(), deadlines.first_byte, ErrorKind::first_byte_timeout,
                deadlines.total);
      auto [wec, written] = co_await write(*connection, head, request.body);
      if (wec) {
        if (reused && wec != asio::error::operation_aborted) {
          pool_.drop_idle();
          continue;
        }
        co_return io_failure(wec, armed, "sending the request");
      }
      auto exchange =
          std::make_unique<HttpExchange>(std::move(connection), pool_, deadlines, request.stream,
                                         secrets_, secrets_of(request.headers));
      if (auto failure = co_await exchange->read_head()) {
        if (reused && failure->kind == ErrorKind::upstream_closed) {
          pool_.drop_idle();
          continue;
        }
        co_return std::move(*failure);
      }
      co_return std::unique_ptr<Exchange>(std::move(exchange));
    }
    co_return Failure{ErrorKind::upstream_closed, "upstream closed the connection"};
  }

  // The request head, written by hand (Beast's serializer cost more than the rest of a send).
  // Configured and per-request headers replace a default of the same name.
  std::string build_head(http::verb verb, const UpstreamRequest& request) const {
    std::string head;
    head.reserve(384);
    head.append(http::to_string(verb)).append(" ");
    head.append(backend_.url.base_path).append(request.path);
    if (const std::string& query = backend_.url.query; !query.empty()) {
      head.append(request.path.find('?') == std::string::npos ? "?" : "&").append(query);
    }
    head.append(" HTTP/1.1\r\n");
    if (verb == http::verb::post && !overrides_a_fixed_field(request.headers)) {
      // The usual case, written from the lines made once per backend.
      head.append(request.stream ? post_fields_streaming_ : post_fields_);
      for (const auto& h : request.headers) append_field(head, h.name, h.value);
    } else {
      HeadFields fields = fixed_fields(verb, request.stream);
      for (const auto& h : request.headers) fields.set(h.name, h.value);
      fields.append_to(head);
    }
    if (verb == http::verb::post || !request.body.empty()) {
      head.append("Content-Length: ").append(std::to_string(request.body.size())).append("\r\n");
    }
    head.append("\r\n");
    return head;
  }

  // The fields every request to this backend carries: defaults, then the configured headers.
  HeadFields fixed_fields(http::verb verb, bool stream) const {
    HeadFields fields;
    fields.set("Host", host_);
    if (verb == http::verb::post) fields.set("Content-Type", "application/json");
    fields.set("Accept", stream ? "text/event-stream" : "application/json");
    fields.set("User-Agent", "llm-router");
    if (!auth_value_.empty()) fields.set(auth_name_, auth_value_);
    for (const auto& [name, value] : backend_.headers) fields.set(name, value);
    return fields;
  }

  std::string fixed_lines(http::verb verb, bool stream) const {
    std::string lines;
    fixed_fields(verb, stream).append_to(lines);
    return lines;
  }

  bool overrides_a_fixed_field(const Headers& headers) const {
    for (const auto& h : headers) {
      if (post_fixed_.contains(h.name)) return true;
    }
    return false;
  }

  asio::awaitable<std::tuple<error_code, std::size_t>> write(Connection& connection,
                                                             const std::string& head,
                                                             const std::string& body) {
    const std::array buffers{asio::buffer(head), asio::buffer(body)};
    if (auto* plain = std::get_if<std::unique_ptr<PlainStream>>(&connection.stream)) {
      // What the socket does not take at once is written through the stream, under its deadline.
      co_return co_await server::write_eagerly((*plain)->socket(), **plain, buffers);
    }
    auto& tls = std::get<std::unique_ptr<TlsStream>>(connection.stream);
    co_return co_await asio::async_write(*tls, buffers, use_nothrow);
  }

  asio::awaitable<Expected<tcp::resolver::results_type>> resolve() {
    if (!endpoints_.empty() && Clock::now() < endpoints_expire_) co_return endpoints_;
    auto [ec, results] = co_await resolver_.async_resolve(
        backend_.url.host, std::to_string(backend_.url.port), use_nothrow);
    if (ec) {
      // Failure messages reach clients: the backend's address stays out of them (the log's
      // attempt names the backend, the config its address).
      co_return Failure{ErrorKind::connect_failed, "cannot resolve its host: " + ec.message()};
    }
    endpoints_ = results;
    endpoints_expire_ = Clock::now() + std::chrono::seconds(30);
    co_return results;
  }

  asio::awaitable<Expected<std::unique_ptr<Connection>>> connect(const Deadlines& deadlines) {
    auto endpoints = co_await resolve();
    if (!endpoints) co_return endpoints.take_failure();
    auto connection = std::make_unique<Connection>();
    // Reads fill the buffer's free capacity: without room, a stream arrives in many small reads.
    connection->buffer.reserve(kReadChunk);
    auto tcp_stream = std::make_unique<PlainStream>(io_);
    ArmedDeadline armed;
    armed.arm(*tcp_stream, deadlines.connect, ErrorKind::connect_timeout, deadlines.total);
    auto [ec, endpoint] = co_await tcp_stream->async_connect(*endpoints, use_nothrow);
    if (ec) {
      if (ec == beast::error::timeout) co_return io_failure(ec, armed, "connecting");
      // (The backend's own answers to a connect are its failures, whatever else is short.)
      const bool backend_answered =
          ec == asio::error::connection_refused || ec == asio::error::host_unreachable ||
          ec == asio::error::network_unreachable || ec == asio::error::connection_reset;
      if (ec == asio::error::no_descriptors || (!backend_answered && out_of_descriptors())) {
        co_return no_descriptors_left();
      }
      co_return Failure{ErrorKind::connect_failed, "cannot connect: " + ec.message()};
    }
    tcp_stream->socket().set_option(tcp::no_delay(true), ec);
    probe_when_silent(tcp_stream->socket());
    // Non-blocking from the start: asio would otherwise switch it with an ioctl on first use.
    tcp_stream->socket().non_blocking(true, ec);
    if (!backend_.url.tls) {
      connection->stream = std::move(tcp_stream);
      co_return connection;
    }
    auto tls_stream = std::make_unique<TlsStream>(std::move(*tcp_stream), *tls_);
    if (!SSL_set_tlsext_host_name(tls_stream->native_handle(), backend_.url.host.c_str())) {
      co_return Failure{ErrorKind::connect_failed, "cannot set TLS server name"};
    }
    expect_certificate_for(backend_.url.host, tls_stream->native_handle());
    auto [hec] = co_await tls_stream->async_handshake(ssl::stream_base::client, use_nothrow);
    if (hec) {
      if (hec == beast::error::timeout) co_return io_failure(hec, armed, "TLS handshake");
      if (const long verdict = SSL_get_verify_result(tls_stream->native_handle());
          verdict != X509_V_OK) {
        co_return untrusted_certificate(verdict);
      }
      co_return Failure{ErrorKind::connect_failed, "TLS handshake failed: " + hec.message()};
    }
    connection->stream = std::move(tls_stream);
    co_return connection;
  }

  const config::Backend backend_;  // a copy: the provider may outlive its config snapshot
  asio::io_context& io_;
  std::shared_ptr<ssl::context> tls_;
  tcp::resolver resolver_;
  tcp::resolver::results_type endpoints_;
  Clock::time_point endpoints_expire_;
  ConnectionPool pool_;
  const std::string auth_name_;   // the header the backend's key goes in
  const std::string auth_value_;  // "Bearer KEY", or the key as it is
  const std::string host_;
  const std::string post_fields_;            // the fixed lines of a POST head
  const std::string post_fields_streaming_;  // the same, accepting an event stream
  const HeadFields post_fixed_;              // their names (views into the members above)
  const std::vector<std::string> secrets_;   // the api key and header values sent upstream
};

}  // namespace

std::shared_ptr<ssl::context> make_tls_context(const std::string& extra_ca_file) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  context->set_default_verify_paths();
  if (!extra_ca_file.empty()) {
    error_code ec;
    context->load_verify_file(extra_ca_file, ec);
    if (ec) {
      throw std::runtime_error(extra_ca_file + ": no PEM certificate could be read (" +
                               ec.message() + ")");
    }
  }
  context->set_verify_mode(ssl::verify_peer);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  return context;
}

std::unique_ptr<Provider> make_http_provider(const config::Backend& backend, asio::io_context& io,
                                             std::shared_ptr<ssl::context> tls) {
  return std::make_unique<HttpProvider>(backend, io, std::move(tls));
}

}  // namespace llm_router::upstream
