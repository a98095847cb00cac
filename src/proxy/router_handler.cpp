#include "router_handler.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/crypto.h>
#include <nlohmann/json.hpp>

#include <mutex>

#include "client_key.hpp"
#include "cors.hpp"
#include "health_prober.hpp"
#include "llm_router/admin/dashboard.hpp"
#include "llm_router/api/errors.hpp"
#include "llm_router/api/json_parse.hpp"
#include "llm_router/core/logging.hpp"
#include "llm_router/core/percent_decode.hpp"
#include "llm_router/core/utf8.hpp"
#include "llm_router/core/version.hpp"
#include "llm_router/metrics/process_figures.hpp"
#include "llm_router/upstream/inflater.hpp"
#include "llm_router/upstream/providers.hpp"
#include "request_path.hpp"
#include "responses_writer.hpp"
#include "status_recorder.hpp"

namespace llm_router::proxy {

struct KnownPath {
  std::string_view path;  // ending in '/': a prefix (the rest names an item)
  std::string_view method;
  bool cross_origin = false;  // browser pages of server.cors_origins may call it
};

namespace {

using nlohmann::json;

constexpr std::string_view kAzureDeployments = "/openai/deployments/";

// The deployment an Azure OpenAI path names (/openai/deployments/{name}/chat/completions, as
// the AzureOpenAI clients call), still percent-encoded; empty for any other path.
std::string_view azure_deployment(std::string_view path) {
  while (path.starts_with("//")) path.remove_prefix(1);
  if (!path.starts_with(kAzureDeployments)) return {};
  path.remove_prefix(kAzureDeployments.size());
  return path.substr(0, path.find('/'));
}

// The OpenAI paths, with or without the /v1 prefix (clients configure base URLs both ways),
// forgiving the extra slash a base URL ending in '/' leaves at either end; Azure OpenAI's
// (/openai/deployments/{name}/..., /openai/v1/...) read as the OpenAI path they end with.
std::string_view api_path(std::string_view path) {
  while (path.starts_with("//")) path.remove_prefix(1);
  if (path.size() > 1 && path.ends_with('/')) path.remove_suffix(1);
  if (const std::string_view deployment = azure_deployment(path); !deployment.empty()) {
    path.remove_prefix(kAzureDeployments.size() + deployment.size());
    return path;
  }
  if (path.starts_with("/openai/")) path.remove_prefix(7);
  if (path.starts_with("/v1/")) path.remove_prefix(3);
  return path;
}

// Azure's REST calls name the model by the deployment in the path and leave it out of the body
// (its SDKs send both): the deployment becomes the body's model then.
void name_the_deployment_model(HttpRequest& request) {
  const std::string_view deployment = azure_deployment(request.path());
  if (deployment.empty() || request.body.find("\"model\"") != std::string::npos) return;
  const auto model = core::percent_decode(deployment);
  const std::size_t open = request.body.find_first_not_of(" \t\r\n");
  if (!model || open == std::string::npos || request.body[open] != '{') return;
  const std::size_t next = request.body.find_first_not_of(" \t\r\n", open + 1);
  const bool empty = next != std::string::npos && request.body[next] == '}';
  request.body.insert(
      open + 1, "\"model\":" + json(*model).dump(-1, ' ', false, json::error_handler_t::replace) +
                    (empty ? "" : ","));
}

// Only the API answers cross-origin: a page must never read the stats or reload the config.
constexpr KnownPath kEndpoints[] = {
    {"/chat/completions", "POST", true},
    {"/completions", "POST", true},
    {"/embeddings", "POST", true},
    {"/responses", "POST", true},
    {"/models", "GET", true},
    {"/models/", "GET", true},
    {"/responses/", "GET", true},
    {"/responses/", "POST", true},  // cancel, input_tokens: answered 404 like a retrieval
    {"/responses/", "DELETE", true},
    {"/route", "POST", true},
    {"/feedback", "POST", true},
    {"/admin/reload", "POST"},
    {"/admin/stats", "GET"},
    {"/metrics", "GET"},
    {"/ui", "GET"},
    {"/healthz", "GET"},
    {"/readyz", "GET"},
};

// The endpoints whose handler logs a RequestRecord of its own.
bool is_completion(std::string_view path) {
  return path == "/chat/completions" || path == "/completions" || path == "/embeddings" ||
         path == "/responses";
}

// HEAD is answered as GET (the server sends the head only).
bool takes(const KnownPath& endpoint, std::string_view method) {
  return endpoint.method == method || (method == "HEAD" && endpoint.method == "GET");
}

const KnownPath* find_endpoint(std::string_view path, std::string_view method) {
  const KnownPath* known = nullptr;
  for (const auto& endpoint : kEndpoints) {
    const bool prefix = endpoint.path.ends_with('/');
    if (prefix ? !path.starts_with(endpoint.path) : endpoint.path != path) continue;
    known = &endpoint;
    if (takes(endpoint, method)) break;
  }
  return known;
}

// Every method a path takes, as an Allow header lists them ("GET, HEAD, POST, DELETE").
std::string allowed_methods(std::string_view path) {
  std::string allow;
  for (const auto& endpoint : kEndpoints) {
    const bool prefix = endpoint.path.ends_with('/');
    if (prefix ? !path.starts_with(endpoint.path) : endpoint.path != path) continue;
    if (allow.find(endpoint.method) != std::string::npos) continue;
    if (!allow.empty()) allow += ", ";
    allow += endpoint.method;
    if (endpoint.method == "GET") allow += ", HEAD";
  }
  return allow;
}

// Same backend, same connection target: its provider (and pool) can serve the new snapshot.
bool same_connection_target(const config::Backend& a, const config::Backend& b) {
  return a.name == b.name && a.provider == b.provider && a.base_url == b.base_url &&
         a.api_key == b.api_key && a.headers == b.headers && a.model == b.model &&
         a.provider == config::ProviderKind::openai &&
         a.max_idle_connections == b.max_idle_connections &&
         a.idle_connection_timeout == b.idle_connection_timeout;
}

// One thread for blocking work started from io threads (config reloads read files).
asio::thread_pool& blocking_pool() {
  static asio::thread_pool pool(1);
  return pool;
}

}  // namespace

RouterHandler::RouterHandler(std::shared_ptr<RouterState> state, asio::io_context& io,
                             std::shared_ptr<asio::ssl::context> tls, std::size_t thread_index)
    : state_(std::move(state)),
      thread_index_(thread_index),
      requests_metric_(state_->metrics().requests),
      attempts_metric_(state_->metrics().attempts),
      fallbacks_metric_(state_->metrics().fallbacks),
      retries_metric_(state_->metrics().retries),
      rate_limit_skips_metric_(state_->metrics().rate_limit_skips),
      categories_metric_(state_->metrics().analyzer_categories),
      client_requests_metric_(state_->metrics().client_requests),
      client_tokens_metric_(state_->metrics().client_tokens),
      client_cost_metric_(state_->metrics().client_cost),
      io_(io),
      tls_(std::move(tls)),
      log_(logging::get("proxy")) {
  refresh_snapshot();
  if (thread_index_ == 0) {
    prober_ = std::make_unique<HealthProber>(state_, io_, tls_);
    prober_->start();
  }
}

RouterHandler::~RouterHandler() = default;

void RouterHandler::refresh_snapshot() {
  generation_ = state_->generation();
  auto snapshot = state_->snapshot();
  auto providers = std::make_shared<ProviderSet>();
  const auto& backends = snapshot->config->backends;
  for (std::size_t b = 0; b < backends.size(); ++b) {
    const auto& backend = backends[b];
    const auto& tls = snapshot->tls[b] ? snapshot->tls[b] : tls_;
    std::shared_ptr<upstream::Provider> provider;
    if (providers_) {
      for (std::size_t i = 0; i < providers_->backends.size(); ++i) {
        // A reloaded ca_file is read again: its backend's connections are made anew.
        if (same_connection_target(providers_->backends[i], backend) && providers_->tls[i] == tls) {
          provider = providers_->by_index[i];
        }
      }
    }
    if (!provider) provider = upstream::make_provider(backend, io_, tls);
    providers->by_index.push_back(std::move(provider));
    providers->backends.push_back(backend);
    providers->tls.push_back(tls);
  }
  snapshot_ = std::move(snapshot);
  providers_ = std::move(providers);
}

void RouterHandler::shutdown() {
  if (prober_) prober_->stop();
  if (providers_) {
    for (auto& provider : providers_->by_index) provider->shutdown();
  }
}

asio::awaitable<void> RouterHandler::handle(HttpRequest& request, ResponseWriter& writer) {
  thread_local bool pinned = false;
  if (!pinned) {
    metrics::pin_this_thread_to_shard(thread_index_);
    pinned = true;
  }
  if (state_->generation() != generation_) refresh_snapshot();
  if (request.target == "*") {  // OPTIONS * (the server lets no other method name it)
    Headers allow;
    allow.push_back({"allow", "GET, HEAD, POST, OPTIONS"});
    co_await writer.send(204, std::move(allow), std::string());
    co_return;
  }
  const std::string_view path = api_path(request.path());
  const KnownPath* known = find_endpoint(path, request.method);
  if (known != nullptr && takes(*known, request.method) && is_completion(path)) {
    name_the_deployment_model(request);
    co_await answer(request, writer, path, known);  // logs its own RequestRecord
    co_return;
  }
  StatusRecorder recorder(writer, request_id_of(request));
  const auto start = std::chrono::steady_clock::now();
  co_await answer(request, recorder, path, known);
  log_access(request, recorder.request_id(), recorder.status(), start);
}

// The refusals dispatch() makes before it reads a body, in its order.
bool RouterHandler::wants_body(const HttpRequest& head) {
  if (state_->generation() != generation_) refresh_snapshot();
  const std::string_view path = api_path(head.path());
  const KnownPath* known = find_endpoint(path, head.method);
  if (known == nullptr || !takes(*known, head.method)) return false;
  if (known->cross_origin && !snapshot_->clients.empty() &&
      find_client(head, *snapshot_) == nullptr) {
    return false;
  }
  return !((path.starts_with("/admin/") || path == "/metrics") && !admin_allowed(head));
}

namespace {

// `value` as a logfmt value: as it is, or quoted with `"` and `\` escaped when it holds one of
// them or `=`.
std::string logfmt_value(std::string_view value) {
  if (value.find_first_of("\"\\=") == std::string_view::npos) return std::string(value);
  std::string quoted = "\"";
  for (const char c : value) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + '"';
}

}  // namespace

// One line per request that is not a completion, as nginx's access log has; the probes and
// scrapes that arrive every few seconds only at debug level.
void RouterHandler::log_access(const HttpRequest& request, std::string_view request_id, int status,
                               std::chrono::steady_clock::time_point start) const {
  const std::string_view path = request.path();
  const std::string_view api = api_path(path);
  const bool routine =
      status == 200 &&
      (api == "/healthz" || api == "/readyz" || api == "/metrics" || api == "/models" ||
       api.starts_with("/models/") || api == "/admin/stats");  // the dashboard polls it
  const auto level = routine ? spdlog::level::debug : spdlog::level::info;
  if (!log_->should_log(level)) return;
  const double latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  // The API's callers by their key's name (or id), as the completions' lines have them.
  const std::string key =
      path.starts_with("/v1/") ? client_identity(request, *snapshot_) : std::string();
  // The HTTP parser admits no spaces or control bytes in either; a path holding a quote, a
  // backslash or `=` is quoted, so key=value stays parseable.
  log_->log(level, "request_id={} method={} path={} status={} latency_ms={:.1f} key={}", request_id,
            request.method, logfmt_value(core::utf8_prefix(path, 256)), status == 0 ? 499 : status,
            latency_ms, key.empty() ? std::string_view("-") : std::string_view(key));
}

asio::awaitable<void> RouterHandler::answer(HttpRequest& request, ResponseWriter& writer,
                                            std::string_view path, const KnownPath* known) {
  const auto& server = snapshot_->config->server;
  // With no admin key, the admin paths answer whoever asks: by a name a page of another site
  // could be made to resolve to, not even a client that does not look like a browser.
  const bool open_admin = server.admin_key.empty() &&
                          (path.starts_with("/admin/") || path == "/metrics" || path == "/ui");
  if (path != "/healthz" && path != "/readyz" &&  // probes, whatever their User-Agent
      (open_admin ? is_request_to_unknown_host(request, server.allowed_hosts)
                  : is_browser_request_to_unknown_host(request, server.allowed_hosts))) {
    const std::string* host = request.header("host");
    std::string body = api::error_body(
        std::string(open_admin ? "without server.admin_key, the admin paths may not be reached"
                               : "a browser may not reach the router") +
            " by the name " + std::string(core::utf8_prefix(host ? *host : "", 200)) +
            " (a page of another site could be made to resolve to it): list the name in "
            "server.allowed_hosts" +
            (open_admin ? ", or set server.admin_key" : ""),
        "permission_error", "", "host_not_allowed");
    co_await refuse_unread(request, writer, path, 403, std::move(body));
    co_return;
  }
  const std::string* origin = request.header("origin");
  const bool may_cross = known != nullptr && known->cross_origin;
  std::string allow_origin =
      origin != nullptr && may_cross
          ? cors_allow_origin(snapshot_->config->server.cors_origins, *origin)
          : std::string();
  if (known != nullptr && is_cross_site_simple_post(request, allow_origin)) {
    std::string body = api::error_body(
        "a page of origin " + std::string(core::utf8_prefix(*origin, 200)) +
            " may not send this request (a cross-site form or text/plain post); send JSON "
            "(application/json), and list the origin in server.cors_origins for a browser app",
        "permission_error", "", "cors_origin_not_allowed");
    co_await refuse_unread(request, writer, path, 403, std::move(body));
    co_return;
  }
  if (!may_cross || origin == nullptr) {
    co_await dispatch(request, writer, path, known);
    co_return;
  }
  if (is_cors_preflight(request)) {
    co_await answer_preflight(request, writer, allow_origin);
  } else if (allow_origin.empty()) {
    co_await dispatch(request, writer, path, known);
  } else {
    CorsWriter cors(writer, std::move(allow_origin));
    co_await dispatch(request, cors, path, known);
  }
}

asio::awaitable<void> RouterHandler::refuse_unread(const HttpRequest& request,
                                                   ResponseWriter& writer, std::string_view path,
                                                   int status, std::string body) {
  // A model call is a request with an id, a request line in the log and metrics; the other
  // paths have their access line only.
  const bool model_call = path == "/chat/completions" || path == "/completions" ||
                          path == "/embeddings" || path == "/responses";
  if (model_call) {
    co_await refuse_request(request, writer, status, std::move(body));
  } else {
    co_await send_json(writer, status, std::move(body));
  }
}

namespace {

// OpenAI's 401 for a missing or wrong key (never echoing what was sent).
std::string unknown_client_key_body(const HttpRequest& request) {
  const bool presented =
      request.header("authorization") || request.header("x-api-key") || request.header("api-key");
  return api::error_body(presented ? "Incorrect API key provided: it is not one of this router's "
                                     "client keys (client_keys in its config)"
                                   : "You didn't provide an API key: send it as "
                                     "Authorization: Bearer <key>",
                         "invalid_request_error", "", "invalid_api_key");
}

}  // namespace

asio::awaitable<void> RouterHandler::answer_preflight(const HttpRequest& request,
                                                      ResponseWriter& writer,
                                                      const std::string& allow_origin) {
  if (allow_origin.empty()) {
    std::string body =
        api::error_body("origin " + *request.header("origin") +
                            " may not call this API from a browser; list it in server.cors_origins",
                        "permission_error", "", "cors_origin_not_allowed");
    co_await send_json(writer, 403, std::move(body));
    co_return;
  }
  co_await writer.send(204, cors_preflight_headers(request, allow_origin), std::string());
}

// A compressed body may expand this many times (Envoy's default max_inflate_ratio), past a
// floor no real request needs more than: 8 KB of gzip decode to 8 MB of `[0,0,...]`, which
// cost a second of an io thread to read.
constexpr std::size_t kMaxInflateRatio = 100;
constexpr std::size_t kInflateFloor = 1024 * 1024;

// A body sent with Content-Encoding gzip or deflate is decoded in place (its decoded size under
// server.max_body_bytes and kMaxInflateRatio times its own); other codings are refused.
// Returns the refusal: status and body.
std::optional<std::pair<int, std::string>> RouterHandler::decode_body(HttpRequest& request) const {
  const std::string* coding = request.header("content-encoding");
  if (coding == nullptr || coding->empty()) return std::nullopt;
  const std::string name = server::lowercase_name(*coding);
  if (name == "identity") return std::nullopt;
  if (name != "gzip" && name != "x-gzip" && name != "deflate") {
    return std::pair{415, api::error_body("Content-Encoding '" + *coding +
                                              "' is not supported: send gzip, deflate or none",
                                          "invalid_request_error", "", "unsupported_encoding")};
  }
  const std::size_t max_body = snapshot_->config->server.max_body_bytes;
  const std::size_t by_ratio = std::max(kInflateFloor, request.body.size() * kMaxInflateRatio);
  const std::size_t limit = std::min(max_body, by_ratio);
  upstream::Inflater inflater(name != "deflate");
  std::string decoded;
  if (!inflater.inflate(request.body, decoded, limit) || !inflater.finished()) {
    if (inflater.over_limit()) {
      const std::string why = limit == max_body
                                  ? "server.max_body_bytes"
                                  : std::to_string(kMaxInflateRatio) + " times its compressed size";
      return std::pair{
          413, api::error_body(Failure{ErrorKind::payload_too_large,
                                       "the decoded request body exceeds " + std::to_string(limit) +
                                           " bytes (" + why + ")"})};
    }
    return std::pair{400, api::error_body("the request body is not valid " + name + " data",
                                          "invalid_request_error", "", "invalid_encoding")};
  }
  request.body = std::move(decoded);
  return std::nullopt;
}

asio::awaitable<void> RouterHandler::dispatch(HttpRequest& request, ResponseWriter& writer,
                                              std::string_view path, const KnownPath* known) {
  if (known == nullptr) {
    Failure failure{ErrorKind::unsupported_path, "unknown path " + std::string(request.path())};
    co_await send_error(writer, failure);
    co_return;
  }
  if (!takes(*known, request.method)) {
    const std::string methods = allowed_methods(path);
    Headers allow{Header{"allow", methods}};
    // The path as the client wrote it ("/v1/chat/completions"), not the one routing reads.
    Failure failure{
        ErrorKind::method_not_allowed,
        request.method + " is not allowed on " + std::string(request.path()) + "; use " + methods};
    co_await send_error(writer, failure, std::move(allow));
    co_return;
  }
  // The API (the paths pages may call) takes only the config's client keys, when it lists any.
  if (known->cross_origin && !snapshot_->clients.empty() &&
      find_client(request, *snapshot_) == nullptr) {
    co_await refuse_unread(request, writer, path, 401, unknown_client_key_body(request));
    co_return;
  }
  if (auto refused = decode_body(request)) {
    co_await refuse_unread(request, writer, path, refused->first, std::move(refused->second));
    co_return;
  }
  if (path == "/chat/completions") {
    co_await completion(request, writer, api::Endpoint::chat_completions);
  } else if (path == "/completions") {
    co_await completion(request, writer, api::Endpoint::completions);
  } else if (path == "/embeddings") {
    co_await completion(request, writer, api::Endpoint::embeddings);
  } else if (path == "/responses") {
    co_await responses(request, writer);
  } else if (path == "/models") {
    co_await models(request, writer);
  } else if (path.starts_with("/responses/")) {
    // OpenAI keeps responses for later retrieval, cancelling and deleting; a router in front
    // of many backends does not.
    const std::string what = quote_excerpt(path.substr(11));
    Failure failure{ErrorKind::not_found,
                    request.method == "GET" || request.method == "HEAD"
                        ? "llm-router stores no responses: " + what +
                              " cannot be retrieved; keep the Response your call returned"
                        : "llm-router stores no responses: " + request.method + " " + what +
                              " is not available (no cancel, delete or input token count)",
                    0, "response_id"};
    co_await send_error(writer, failure);
  } else if (path.starts_with("/models/")) {
    co_await model(request, path.substr(std::string_view("/models/").size()), writer);
  } else if (path == "/route") {
    co_await route_dry_run(request, writer);
  } else if (path == "/feedback") {
    co_await feedback(request, writer);
  } else if ((path.starts_with("/admin/") || path == "/metrics") && !admin_allowed(request)) {
    // (Built before co_await: GCC 12 miscompiles a braced temporary inside one.)
    Headers challenge;
    challenge.push_back({"www-authenticate", "Bearer realm=\"llm-router admin\""});
    co_await send_json(writer, 401,
                       api::error_body("this endpoint needs the admin key: "
                                       "Authorization: Bearer <server.admin_key>",
                                       "authentication_error", "", "invalid_admin_key"),
                       std::move(challenge));
  } else if (path == "/admin/reload") {
    co_await admin_reload(writer);
  } else if (path == "/admin/stats") {
    co_await stats(request, writer);
  } else if (path == "/metrics") {
    co_await prometheus(writer);
  } else if (path == "/ui") {
    co_await dashboard(writer);
  } else if (path == "/healthz") {
    co_await send_json(writer, 200, std::string(R"({"status":"ok"})"));
  } else {
    co_await readiness(writer);
  }
}

asio::awaitable<void> RouterHandler::responses(HttpRequest& request, ResponseWriter& writer) {
  // Items belong to the client key they were sent to: another client cannot refer to them.
  const std::string owner = client_identity(request, *snapshot_);
  auto call = api::chat_request_from_responses(request.body,
                                               api::ItemSource{&state_->response_items(), owner});
  if (!call) {
    co_await refuse_request(request, writer, call.failure());
    co_return;
  }
  request.body = std::move(call->chat_body);
  ResponsesWriter answer(writer, std::move(call->shell),
                         call->keep_items ? &state_->response_items() : nullptr, owner);
  co_await completion(request, answer, api::Endpoint::chat_completions);
}

asio::awaitable<void> RouterHandler::send_json(ResponseWriter& writer, int status, std::string body,
                                               Headers extra) {
  extra.push_back({"content-type", "application/json"});
  co_await writer.send(status, std::move(extra), std::move(body));
}

asio::awaitable<void> RouterHandler::send_error(ResponseWriter& writer, const Failure& failure,
                                                Headers extra) {
  co_await send_json(writer, traits(failure.kind).status, api::error_body(failure),
                     std::move(extra));
}

namespace {

json model_object(const std::string& id, const char* kind) {
  return {{"id", id},
          {"object", "model"},
          {"created", 0},
          {"owned_by", "llm-router"},
          {"llm_router_kind", kind}};
}

}  // namespace

// A key with `models` sees those alone.
asio::awaitable<void> RouterHandler::models(const HttpRequest& request, ResponseWriter& writer) {
  const ClientEntry* client = find_client(request, *snapshot_);
  const auto listed = [&](const std::string& name) { return !client || client->may_use(name); };
  json data = json::array();
  for (const auto& route : snapshot_->config->routes) {
    if (!listed(route.name)) continue;
    data.push_back(model_object(route.name, "route"));
    for (const auto& alias : route.aliases) data.push_back(model_object(alias, "route"));
  }
  for (const auto& backend : snapshot_->config->backends) {
    // A wildcard backend ("oa/*") is no model: clients name the models it matches.
    if (backend.direct && !backend.wildcard() && listed(backend.name)) {
      data.push_back(model_object(backend.name, "backend"));
    }
  }
  std::string body = json{{"object", "list"}, {"data", std::move(data)}}.dump();
  co_await send_json(writer, 200, std::move(body));
}

// GET /v1/models/{id}: a route or backend clients may name, as OpenAI's "retrieve model".
asio::awaitable<void> RouterHandler::model(const HttpRequest& request, std::string_view raw_id,
                                           ResponseWriter& writer) {
  const auto& config = *snapshot_->config;
  const ClientEntry* client = find_client(request, *snapshot_);
  // The SDKs percent-encode the id ("team%2Fauto"); names may hold '/'.
  const std::optional<std::string> decoded = core::percent_decode(raw_id);
  const std::string_view id = decoded ? std::string_view(*decoded) : raw_id;
  const std::string_view name = config.canonical_model(id);
  std::optional<json> found;
  for (const auto& route : config.routes) {
    if (route.name == name) found = model_object(std::string(id), "route");
  }
  // (A backend's upstream model names it too: the id as asked, as for an alias.)
  for (const auto& backend : config.backends) {
    if (!found && backend.direct && !backend.wildcard() && backend.name == name) {
      found = model_object(std::string(id), "backend");
    }
  }
  if (const auto* wildcard = config.find_wildcard_backend(id); !found && wildcard) {
    found = model_object(std::string(id), "backend");
  }
  if (!found || (client && !client->may_use(name))) {
    Failure failure{ErrorKind::model_not_found,
                    "The model " + quote_excerpt(id) + " does not exist; GET /v1/models lists them",
                    0, "model"};
    co_await send_error(writer, failure);
    co_return;
  }
  co_await send_json(writer, 200, found->dump());
}

asio::awaitable<void> RouterHandler::readiness(ResponseWriter& writer) {
  const bool draining = state_->draining.load(std::memory_order_relaxed) ||
                        state_->stopping.load(std::memory_order_relaxed);
  const auto now = health::steady_now();
  json backends = json::object();
  const auto& config = *snapshot_->config;
  for (std::size_t i = 0; i < config.backends.size(); ++i) {
    const auto& h = *snapshot_->health[i];
    json& entry = backends[config.backends[i].name];
    entry = {{"circuit", health::to_string(h.breaker.state(now))},
             {"in_flight", h.capacity.in_flight()},
             {"queued", h.capacity.waiting()},
             {"ejections", h.breaker.ejections()}};
    // What is left of a minute's budget now (whole numbers: what the next requests may take).
    if (const auto rpm = config.backends[i].rpm; rpm > 0) {
      entry["rpm_available"] = static_cast<std::int64_t>(h.requests.available(now, rpm));
    }
    if (const auto tpm = config.backends[i].tpm; tpm > 0) {
      entry["tpm_available"] = static_cast<std::int64_t>(h.tokens.available(now, tpm));
    }
    if (config.backends[i].health_check.enabled) {
      const auto probe = h.probe.load(std::memory_order_relaxed);
      entry["health_check"] = probe == BackendHealth::Probe::passing   ? "passing"
                              : probe == BackendHealth::Probe::failing ? "failing"
                                                                       : "pending";
    }
  }
  std::string body = json{{"status", draining ? "draining" : "ready"},
                          {"config_generation", snapshot_->generation},
                          {"last_reload", state_->last_reload()},
                          {"backends", std::move(backends)}}
                         .dump();
  co_await send_json(writer, draining ? 503 : 200, std::move(body));
}

namespace {

bool one_of(std::string_view name, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// The value of `name` in a target's query ("/x?a=1&name=v" -> "v"), undecoded.
std::optional<std::string_view> query_value(std::string_view target, std::string_view name) {
  const std::size_t question = target.find('?');
  if (question == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const std::string_view pair = query.substr(0, query.find('&'));
    if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=') {
      return pair.substr(name.size() + 1);
    }
    query.remove_prefix(std::min(query.size(), pair.size() + 1));
  }
  return std::nullopt;
}

}  // namespace

std::string_view RequestShape::name() const {
  if (responses) return "responses";
  switch (endpoint) {
    case api::Endpoint::completions:
      return "completions";
    case api::Endpoint::embeddings:
      return "embeddings";
    default:
      return "chat/completions";
  }
}

std::optional<RequestShape> request_shape(std::string_view body,
                                          std::optional<std::string_view> named) {
  if (named) {
    if (*named == "chat" || *named == "chat/completions") return RequestShape{};
    if (*named == "completions") return RequestShape{api::Endpoint::completions};
    if (*named == "embeddings") return RequestShape{api::Endpoint::embeddings};
    if (*named == "responses") return RequestShape{{}, true};
    return std::nullopt;
  }
  // Its top-level names, read with the cursor: a DOM of 8 MB of `[0,0,...]` cost a second.
  bool messages = false, prompt = false, input = false, input_items = false, responses = false;
  api::JsonCursor cursor(body);
  if (cursor.peek() != '{' || !cursor.enter_object()) return RequestShape{};
  std::string_view name;
  while (cursor.next_member(name)) {
    messages = messages || name == "messages";
    prompt = prompt || name == "prompt";
    responses = responses ||
                one_of(name, {"instructions", "max_output_tokens", "text", "reasoning", "tools",
                              "tool_choice", "previous_response_id", "stream", "store"});
    if (name == "input") {
      input = true;
      if (cursor.peek() == '[' && cursor.enter_array()) {
        for (bool first = true; cursor.next_item(); first = false) {
          input_items = input_items || (first && cursor.peek() == '{');
          if (!cursor.skip_value()) break;
        }
        continue;
      }
    }
    if (!cursor.skip_value()) break;
  }
  if (messages) return RequestShape{};
  if (prompt) return RequestShape{api::Endpoint::completions};
  if (!input) return RequestShape{};
  if (input_items || responses) return RequestShape{{}, true};
  return RequestShape{api::Endpoint::embeddings};
}

asio::awaitable<void> RouterHandler::route_dry_run(HttpRequest& request, ResponseWriter& writer) {
  // Percent-decoded: clients' query encoders send "chat/completions" as "chat%2Fcompletions".
  const auto raw_name = query_value(request.target, "endpoint");
  const auto named = raw_name ? core::percent_decode(*raw_name) : std::nullopt;
  if (raw_name && !named) {
    co_await send_error(writer, Failure{ErrorKind::invalid_request,
                                        "endpoint is not percent-encoded right", 0, "endpoint"});
    co_return;
  }
  const auto shape = request_shape(request.body, named);
  if (!shape) {
    co_await send_error(writer, Failure{ErrorKind::invalid_request,
                                        "endpoint must be chat/completions, completions, "
                                        "embeddings or responses, got " +
                                            quote_excerpt(*named),
                                        0, "endpoint"});
    co_return;
  }
  if (shape->responses) {
    // Decided as POST /v1/responses would decide it: on the chat request it becomes.
    const std::string owner = client_identity(request, *snapshot_);
    auto call = api::chat_request_from_responses(request.body,
                                                 api::ItemSource{&state_->response_items(), owner});
    if (!call) {
      co_await send_error(writer, call.failure());
      co_return;
    }
    request.body = std::move(call->chat_body);
  }
  const api::Endpoint endpoint = shape->endpoint;
  auto parsed = api::parse_request(request.body, endpoint);
  if (!parsed) {
    co_await send_error(writer, parsed.failure());
    co_return;
  }
  resolve_alias(*parsed, *snapshot_->config);
  if (const ClientEntry* client = find_client(request, *snapshot_);
      client && !client->may_use(parsed->model)) {
    co_await send_error(writer, model_not_allowed(*client, parsed->model_as_sent()));
    co_return;
  }
  // The snapshot and providers are held: a reload on this thread may swap them meanwhile.
  const auto snapshot = snapshot_;
  const auto providers = providers_;
  const auto dense =
      co_await read_dense(*parsed, endpoint, *snapshot, *providers, /*analyze_direct=*/true);
  const std::optional<analyzer::DenseQuery> query =
      dense ? std::optional<analyzer::DenseQuery>(dense->query()) : std::nullopt;
  const Decision decision =
      decide(*snapshot, state_->bandit(), *parsed, request, endpoint,
             /*dry_run=*/true, query ? &*query : nullptr, &state_->sticky_backends());
  const auto& plan = decision.plan;
  json body = decision.to_json();
  body["endpoint"] = shape->name();  // how the body was read (?endpoint= decides)
  const bool unknown = plan.status == selector::PlanStatus::unknown_model;
  if (unknown) {
    // OpenAI's error beside the decision: clients read the error, people the reasons.
    body["error"] = json::parse(api::error_body(unknown_model_failure(plan)))["error"];
  }
  co_await send_json(writer, unknown ? 404 : 200, body.dump());
}

namespace {

// What is wrong with a /v1/feedback body, if anything: {"request_id": string, "score": 0..1}.
std::optional<Failure> feedback_problem(const json& body) {
  if (!body.is_object()) {
    return Failure{ErrorKind::invalid_request,
                   "expected {\"request_id\": string, \"score\": number in 0..1}", 0, ""};
  }
  const auto id = body.find("request_id");
  if (id == body.end() || !id->is_string()) {
    return Failure{ErrorKind::invalid_request,
                   "request_id must be the id of a routed request (its x-request-id)", 0,
                   "request_id"};
  }
  const auto score = body.find("score");
  if (score == body.end() || !score->is_number() || score->get<double>() < 0 ||
      score->get<double>() > 1) {
    return Failure{ErrorKind::invalid_request, "score must be a number from 0 to 1", 0, "score"};
  }
  return std::nullopt;
}

}  // namespace

asio::awaitable<void> RouterHandler::feedback(HttpRequest& request, ResponseWriter& writer) {
  json body;
  // Our parser: depth-limited, and its errors say where ("a number out of range at 31").
  if (const auto parsed = api::parse_json(request.body, body); !parsed.ok) {
    const Failure failure{ErrorKind::invalid_json,
                          "the body is not valid JSON: " + parsed.error.describe(request.body), 0,
                          ""};
    co_await send_error(writer, failure);
    co_return;
  }
  if (auto problem = feedback_problem(body)) {
    co_await send_error(writer, *problem);
    co_return;
  }
  const std::string id = body["request_id"];
  const double score = body["score"].get<double>();
  auto entry = state_->feedback().take(id, client_identity(request, *snapshot_));
  if (!entry) {
    Failure failure{ErrorKind::not_found,
                    "no recent bandit-routed request with id " + quote_excerpt(id) +
                        " awaiting feedback (each request takes one)",
                    0, "request_id"};
    co_await send_error(writer, failure);
    co_return;
  }
  // The score is blended into what that request earned (the route's feedback_weight), which
  // replaces its observation: feedback is not one more request.
  const double w = std::clamp(entry->feedback_weight, 0.0, 1.0);
  state_->bandit().revise(entry->bandit_key, entry->backend, entry->reward,
                          (1.0 - w) * entry->reward + w * score);
  std::string answer = json{{"status", "recorded"}, {"backend", entry->backend}}.dump();
  co_await send_json(writer, 200, std::move(answer));
}

asio::awaitable<void> RouterHandler::admin_reload(ResponseWriter& writer) {
  auto home = co_await asio::this_coro::executor;
  co_await asio::post(blocking_pool(), asio::use_awaitable);
  auto error = state_->reload();
  co_await asio::post(home, asio::use_awaitable);
  if (error) {
    log_->error("config reload rejected, the old config keeps serving: {}",
                logging::one_line(*error));
    Failure failure{ErrorKind::invalid_request, "config rejected: " + *error};
    co_await send_error(writer, failure);
    co_return;
  }
  refresh_snapshot();
  log_->info("config reloaded from {} (generation {})", state_->config_path(),
             state_->generation());
  json answer{{"status", "reloaded"}, {"generation", state_->generation()}};
  if (auto pending = state_->restart_required(); !pending.empty()) {
    answer["restart_required"] = std::move(pending);  // changed, applied on the next start
  }
  co_await send_json(writer, 200, answer.dump());
}

bool RouterHandler::admin_allowed(const HttpRequest& request) const {
  const std::string& key = snapshot_->config->server.admin_key;
  if (key.empty()) return true;
  const auto* auth = request.header("authorization");
  constexpr std::string_view kScheme = "bearer ";  // the scheme's case does not matter
  if (auth == nullptr || auth->size() != kScheme.size() + key.size() ||
      server::lowercase_name(std::string_view(*auth).substr(0, kScheme.size())) != kScheme) {
    return false;
  }
  // Compared in constant time: how long a wrong guess took must not tell how much was right.
  return CRYPTO_memcmp(auth->data() + kScheme.size(), key.data(), key.size()) == 0;
}

namespace {

// Brings a counter that mirrors a total kept elsewhere up to it (scrapes may run at once).
void catch_up(metrics::Counter& counter, double total) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  const double behind = total - counter.value();
  if (behind > 0) counter.add(behind);
}
void catch_up(metrics::Counter& counter, std::uint64_t total) {
  catch_up(counter, static_cast<double>(total));
}

void export_process_figures(metrics::RouterMetrics& m) {
  m.build_info.with({std::string(kVersion)}).set(1);
  const auto figures = metrics::read_process_figures();
  if (!figures) return;
  catch_up(m.process_cpu_seconds.with({}), figures->cpu_seconds);
  m.process_resident_memory.with({}).set(figures->resident_bytes);
  m.process_virtual_memory.with({}).set(figures->virtual_bytes);
  m.process_open_fds.with({}).set(figures->open_fds);
  m.process_max_fds.with({}).set(figures->max_fds);
  m.process_start_time.with({}).set(figures->start_time_seconds);
}

}  // namespace

asio::awaitable<void> RouterHandler::prometheus(ResponseWriter& writer) {
  auto& m = state_->metrics();
  const auto now = health::steady_now();
  const auto& config = *snapshot_->config;
  // Set whole, from the backends configured now: a removed backend's series goes away.
  std::vector<std::pair<std::vector<std::string>, double>> in_flight;
  std::vector<std::pair<std::vector<std::string>, double>> queued;
  std::vector<std::pair<std::vector<std::string>, double>> breakers;
  for (std::size_t i = 0; i < config.backends.size(); ++i) {
    const auto& h = *snapshot_->health[i];
    const std::string& name = config.backends[i].name;
    in_flight.push_back({{name}, static_cast<double>(h.capacity.in_flight())});
    queued.push_back({{name}, static_cast<double>(h.capacity.waiting())});
    breakers.push_back({{name}, static_cast<double>(h.breaker.state(now))});
  }
  // A backend a reload removed keeps its in-flight series while its requests finish.
  state_->health().for_each([&](const std::string& name, const BackendHealth& h) {
    if (h.capacity.in_flight() > 0 && config.find_backend(name) == nullptr) {
      in_flight.push_back({{name}, static_cast<double>(h.capacity.in_flight())});
    }
  });
  m.upstream_in_flight.set_all(in_flight);
  m.upstream_queued.set_all(queued);
  m.breaker_state.set_all(breakers);
  m.connections_open.with({}).set(static_cast<double>(state_->connections_open()));
  export_process_figures(m);
  for (const auto& [code, count] : state_->refusals()) {
    catch_up(m.requests_refused.with({std::string(code)}), count);
  }
  if (const auto* log = state_->request_log()) {
    const auto stats = log->stats();
    catch_up(m.request_log_lines.with({"written"}), stats.written);
    catch_up(m.request_log_lines.with({"dropped"}), stats.dropped);
    catch_up(m.request_log_lines.with({"failed"}), stats.failed);
  }
  Headers headers{Header{"content-type", "text/plain; version=0.0.4; charset=utf-8"}};
  std::string body = state_->registry().to_prometheus();
  co_await writer.send(200, std::move(headers), std::move(body));
}

asio::awaitable<void> RouterHandler::stats(HttpRequest& request, ResponseWriter& writer) {
  const std::string_view window_text = query_value(request.target, "window").value_or("5m");
  const auto window = metrics::parse_window(window_text);
  if (!window) {
    Failure failure{ErrorKind::invalid_request, "window must look like 30s, 5m or 1h", 0, "window"};
    co_await send_error(writer, failure);
    co_return;
  }
  json body = state_->stats().to_json(*window);
  const auto now = health::steady_now();
  json breakers = json::object();
  const auto& config = *snapshot_->config;
  for (std::size_t i = 0; i < config.backends.size(); ++i) {
    breakers[config.backends[i].name] = health::to_string(snapshot_->health[i]->breaker.state(now));
  }
  body["breakers"] = std::move(breakers);
  co_await send_json(writer, 200, body.dump());
}

asio::awaitable<void> RouterHandler::dashboard(ResponseWriter& writer) {
  // Not to be framed by another site's page (clickjacking the reload or the admin key prompt).
  Headers headers{Header{"content-type", "text/html; charset=utf-8"},
                  Header{"cache-control", "no-cache"}, Header{"x-frame-options", "DENY"},
                  Header{"content-security-policy", "frame-ancestors 'none'"},
                  Header{"x-content-type-options", "nosniff"}};
  co_await writer.send(200, std::move(headers), std::string(admin::dashboard_html()));
}

std::unique_ptr<server::RequestHandler> make_router_handler(
    std::shared_ptr<RouterState> state, boost::asio::io_context& io,
    std::shared_ptr<boost::asio::ssl::context> tls, std::size_t thread_index) {
  return std::make_unique<RouterHandler>(std::move(state), io, std::move(tls), thread_index);
}

}  // namespace llm_router::proxy
