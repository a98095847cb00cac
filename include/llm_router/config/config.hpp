#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llm_router/analyzer/settings.hpp"
#include "llm_router/config/client_keys.hpp"
#include "llm_router/config/diagnostics.hpp"
#include "llm_router/config/routes.hpp"
#include "llm_router/config/yaml_reader.hpp"
#include "llm_router/health/circuit_breaker.hpp"
#include "llm_router/requestlog/settings.hpp"

namespace llm_router::config {

using Millis = std::chrono::milliseconds;

// A parsed http(s) base URL such as https://api.openai.com/v1.
struct Url {
  bool tls = false;
  std::string host;
  std::uint16_t port = 0;
  std::string base_path;  // without trailing slash: "/v1" or ""
  std::string query;      // added to every request's path, e.g. Azure's "api-version=2024-10-21"

  static std::optional<Url> parse(std::string_view text);
  std::string host_header() const;  // "host" or "host:port" when not the scheme's default
};

struct Timeouts {
  Millis connect{5'000};
  // Request sent -> a stream's first content (a role-only opening chunk does not end the
  // wait); for a non-stream request -> the response head, which comes with the whole answer,
  // so it applies to those only when written in the config (else `total` bounds them: a long
  // generation is not abandoned, and paid for, at 60 s).
  Millis first_byte{60'000};
  bool first_byte_written = false;
  Millis idle{30'000};    // longest silence in a body, or between stream events once content came
  Millis total{600'000};  // whole attempt

  // How long a request waits for its response head.
  Millis head_wait(bool stream) const { return stream || first_byte_written ? first_byte : total; }
};

// Active health checks: a periodic GET below the base URL, feeding the circuit breaker. Off
// unless the backend has a `health_check` section.
struct HealthCheck {
  bool enabled = false;
  std::string path = "/models";  // below the base URL
  Millis interval{10'000};
  Millis timeout{2'000};
  int unhealthy_after = 2;  // failed probes in a row that eject the backend
  int healthy_after = 1;    // passed probes in a row that readmit what the probes ejected
};

// Streams slower than this (content events per second, counted over consecutive windows from
// the first event) fail: before the commit point they fall back, after it they end with an
// error event. Off when tokens_per_second is 0.
struct ThroughputGuard {
  double tokens_per_second = 0;
  Millis window{5'000};
};

// Retries on the same backend for retryable failures, before moving to the next candidate.
struct RetrySettings {
  int attempts = 1;     // extra tries on the same backend (0 = none)
  Millis backoff{100};  // first wait; doubles each retry, with full jitter
  Millis max_backoff{2'000};
  Millis max_retry_after{5'000};  // a 429's Retry-After is honoured up to this; longer: move on
  // HTTP statuses from the backend worth another try on it (connection failures always are).
  std::vector<int> on_status{429, 502, 503, 504};
};

struct Cost {
  double input_per_mtok = 0;
  double output_per_mtok = 0;
  // Prompt tokens the provider read from its prompt cache (usage's
  // prompt_tokens_details.cached_tokens); unset: the input price.
  std::optional<double> cached_input_per_mtok;
};

// How the built-in mock provider (and mock-llm) behaves unless a request says otherwise.
struct MockBehavior {
  Millis time_to_first_token{150};
  Millis token_delay{8};
  int completion_tokens = 0;  // 0: derived from the prompt
  int status = 200;
  double failure_rate = 0;  // share of requests answered with 500
  bool hang = false;
  int drop_after_tokens = -1;  // close the connection after this many stream tokens
  Millis retry_after{0};       // Retry-After sent with 429/503
  bool error_event = false;    // streams: an error event instead of content
  std::string content;         // fixed answer text; empty: derived from the prompt
  bool omit_usage = false;     // answer without a `usage` object, as some servers do
};

enum class ProviderKind { openai, mock };

struct Backend {
  std::string name;
  ProviderKind provider = ProviderKind::openai;
  std::string model;  // upstream model id sent in the body
  std::string base_url;
  Url url;
  std::string api_key;  // secret: never logged or printed
  // The header the key goes in, lower case: "authorization" (as "Bearer KEY", the default) or
  // another one carrying the key as it is (Azure OpenAI's "api-key", "x-api-key").
  std::string auth_header = "authorization";
  // PEM certificates trusted for this backend's https besides the system's (a private CA);
  // relative to the config file's directory.
  std::string ca_file;
  bool pass_client_auth = false;
  // Clients may name the backend in `model` (rule `direct`, no routing rules applied); false:
  // reachable through routes only, as a compliance rule of a route needs.
  bool direct = true;
  // A name ending in '*' ("openai/*"): clients name it with any model it prefixes
  // ("openai/gpt-4o"), and the part the '*' matched replaces the '*' of `model` (default "*"),
  // so one backend passes a provider's every model through.
  bool wildcard() const { return name.ends_with('*'); }
  // The model sent upstream for a client that asked for `requested`.
  std::string upstream_model(std::string_view requested) const;
  Cost cost;
  bool cost_set = false;            // the file gave a cost (else it counts as free)
  std::int64_t context_window = 0;  // tokens; 0 = unknown
  int max_concurrency = 0;          // 0 = unlimited
  int max_queue = 64;               // requests waiting for a slot when full; more get 429
  bool max_queue_set = false;       // the file gave max_queue
  Millis queue_timeout{10'000};     // longest wait for a slot
  // Requests and tokens (prompt + answer) per minute the router sends it, as the provider's
  // quota allows; 0 = unlimited. A backend at its limit is skipped until its budget refills.
  std::int64_t rpm = 0;
  std::int64_t tpm = 0;
  int max_idle_connections = 64;  // per io thread
  // Pooled connections idle longer are closed (below the backend's own keep-alive timeout, so
  // the router never sends on a connection the backend is closing).
  Millis idle_connection_timeout{50'000};
  // Ask streams for their usage chunk (stream_options.include_usage) when the client did not.
  bool stream_usage = true;
  double quality = 0.5;  // 0..1, used by cost/quality trade-offs
  bool quality_set = false;
  // Counts tokens when the backend reports no usage: "auto" (by model id: o200k_base,
  // cl100k_base, else the estimate), "o200k_base", "cl100k_base" or "estimate".
  std::string tokenizer = "auto";
  std::vector<std::string> tags;
  std::map<std::string, std::string> headers;  // extra headers sent upstream
  // Client request headers passed on to this backend: lower-case names, or prefixes ending in
  // '*' ("x-tenant-*"). A header of `headers` is the configured one, never the client's.
  std::vector<std::string> forward_headers;
  bool forwards_header(std::string_view lowercase_name) const;
  // Headers of this backend's answers passed on to the client, besides the rate limits and
  // retry hints always passed on: lower-case names or prefixes ending in '*' ("x-ms-*").
  std::vector<std::string> response_headers;
  // Request body fields set for this backend (name, JSON text of the value): `default_params`
  // where the client's body has no such field, `override_params` whatever the client sent
  // (Portkey's override_params; LiteLLM's litellm_params defaults).
  std::vector<std::pair<std::string, std::string>> default_params;
  std::vector<std::pair<std::string, std::string>> override_params;
  Timeouts timeouts;
  RetrySettings retry;
  health::BreakerSettings breaker;
  HealthCheck health_check;
  ThroughputGuard throughput;
  MockBehavior mock;

  bool has_tag(std::string_view tag) const;
};

struct ServerSettings {
  std::string listen_host = "0.0.0.0";
  std::uint16_t listen_port = 8080;
  int threads = 0;  // 0 = one per core
  // The file's own `listen` and `threads` (the process may run on --listen and the core count):
  // a reload compares these to say a restart is needed.
  std::string listen_written;
  int threads_written = 0;
  std::size_t max_body_bytes = 8 * 1024 * 1024;
  // Request bodies held at once across all connections (split between the io threads): a few
  // hundred slow uploads of max_body_bytes each must not take the machine's memory.
  std::size_t max_body_memory = 512 * 1024 * 1024;
  // A backend's whole (non-stream) answer is held before it is checked and relayed: this bounds
  // the memory one request can take. The largest OpenAI embeddings batch (2,048 vectors of
  // 3,072 floats, ~130 MB of JSON) fits.
  std::size_t max_response_bytes = 128 * 1024 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  Millis header_timeout{10'000};
  Millis body_timeout{60'000};   // to receive a request's body once its head is in
  Millis write_timeout{60'000};  // for a client to take each piece of an answer
  Millis idle_timeout{75'000};
  int max_connections = 10'000;
  Millis drain_timeout{30'000};
  Millis shutdown_delay{0};  // serving on after a stop signal (readiness 503) before the drain
  bool watch_config = true;  // reload when the config file changes
  std::string admin_key;     // secret; when set, /admin/* and /metrics need it as a bearer token
  // Origins whose pages may call the API paths from a browser ("*": any); empty: none.
  std::vector<std::string> cors_origins;
  // Host names browsers may reach the router by, besides IP addresses, localhost and names
  // without a dot ("name", "*.example.com", "*" for any): a page on another name that resolves
  // here (DNS rebinding) would otherwise be the router's own origin.
  std::vector<std::string> allowed_hosts;
  std::string state_file;  // where the bandit's learning is kept across restarts (optional)
  std::string tokenizers_dir = "tokenizers";  // BPE tables; relative to the config file
};

struct LoggingSettings {
  std::string level = "info";
  bool json = false;  // format: json (one JSON object per line) or text
};

struct Config {
  std::string source;                    // file the config came from
  std::vector<std::string> other_files;  // files it named that were read too (api_key_file)
  ServerSettings server;
  LoggingSettings logging;
  std::vector<Backend> backends;
  std::vector<Route> routes;
  // Present when the config has an `analyzer:` section; routes whose rules need analysis
  // (keywords, semantic, category, complexity, sentiment, pii) get default settings otherwise.
  std::optional<analyzer::AnalyzerSettings> analyzer;
  requestlog::RequestLogSettings request_log;  // off unless a path is set
  std::vector<ClientKey> client_keys;          // empty: the API is open to any client

  const Backend* find_backend(std::string_view name) const;
  const Route* find_route(std::string_view name) const;
  // The wildcard backend whose name (less its '*') is the longest prefix of `model`, if any;
  // none for a `model` with a '*' after that prefix.
  const Backend* find_wildcard_backend(std::string_view model) const;
  // The backends (not wildcards, callable by name) whose upstream `model` is `model`: what a
  // client names that sends back the `model` an answer came with.
  std::vector<const Backend*> backends_serving(std::string_view model) const;
  // The route a client's `model` names through one of its aliases, else the one backend
  // whose upstream model it is (backends_serving), else `model` itself.
  std::string_view canonical_model(std::string_view model) const;
};

// The phase timeouts of one attempt on `backend`: the backend's, overridden by those the route
// sets (route may be null: the client named a backend).
Timeouts effective_timeouts(const Backend& backend, const Route* route);

// Loads, expands ${ENV} and validates; throws ConfigError listing every problem found.
Config load_config_file(const std::string& path, const EnvLookup& env = process_env());
Config load_config_text(const std::string& yaml, const std::string& source_name,
                        const EnvLookup& env = process_env());

// What a valid config may not mean: a route that orders by cost over a backend without a
// cost (it counts as free), a quality floor or quality ordering over backends without a
// quality (0.5), a cascade logprob floor (read only when clients ask for logprobs). `check`
// prints them; the server logs them as warnings.
std::vector<std::string> advisories(const Config& config);

// Whether a backend's `response_headers` (names, prefixes ending in '*') pass a header of its
// answers on to the client; never one the router writes itself.
bool lists_response_header(const std::vector<std::string>& response_headers,
                           std::string_view lowercase_name);

// "host:port" / ":port" / "[v6]:port"; nullopt when malformed.
std::optional<std::pair<std::string, std::uint16_t>> parse_listen(std::string_view text);
// The other way round: "host:port", "[v6]:port".
std::string format_listen(const std::string& host, std::uint16_t port);

}  // namespace llm_router::config
