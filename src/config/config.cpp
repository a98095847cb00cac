#include "llm_router/config/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>
#include <thread>

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "llm_router/core/file.hpp"

namespace llm_router::config {

std::optional<Url> Url::parse(std::string_view text) {
  Url url;
  if (text.starts_with("https://")) {
    url.tls = true;
    text.remove_prefix(8);
  } else if (text.starts_with("http://")) {
    text.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  const size_t slash = text.find_first_of("/?");
  std::string_view authority = text.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : text.substr(slash);
  if (const size_t question = path.find('?'); question != std::string_view::npos) {
    url.query = std::string(path.substr(question + 1));
    path = path.substr(0, question);
    const bool printable = std::all_of(url.query.begin(), url.query.end(),
                                       [](char c) { return c > ' ' && c < 0x7f && c != '#'; });
    if (!printable) return std::nullopt;
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.find_first_of("?# ") != std::string_view::npos) return std::nullopt;
  url.base_path = std::string(path);

  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(1, close - 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (!rest.starts_with(':')) return std::nullopt;
      port = rest.substr(1);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || host.find_first_of("@ ?#") != std::string_view::npos) return std::nullopt;
  url.host = std::string(host);
  url.port = url.tls ? 443 : 80;
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
      return std::nullopt;
    }
    url.port = static_cast<std::uint16_t>(value);
  }
  return url;
}

std::string Url::host_header() const {
  const bool default_port = (tls && port == 443) || (!tls && port == 80);
  const bool v6 = host.find(':') != std::string::npos;
  std::string name = v6 ? "[" + host + "]" : host;
  return default_port ? name : name + ":" + std::to_string(port);
}

bool Backend::has_tag(std::string_view tag) const {
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

const Backend* Config::find_backend(std::string_view name) const {
  for (const auto& b : backends) {
    if (b.name == name) return &b;
  }
  return nullptr;
}

const Route* Config::find_route(std::string_view name) const {
  for (const auto& r : routes) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

const Backend* Config::find_wildcard_backend(std::string_view model) const {
  const Backend* best = nullptr;
  for (const auto& b : backends) {
    if (!b.wildcard()) continue;
    const std::string_view prefix = std::string_view(b.name).substr(0, b.name.size() - 1);
    // What the '*' stands for is a model name: "oa/*" itself names none.
    if (model.size() > prefix.size() && model.starts_with(prefix) &&
        model.find('*', prefix.size()) == std::string_view::npos &&
        (best == nullptr || prefix.size() + 1 > best->name.size())) {
      best = &b;
    }
  }
  return best;
}

std::vector<const Backend*> Config::backends_serving(std::string_view model) const {
  std::vector<const Backend*> out;
  for (const auto& b : backends) {
    if (!b.wildcard() && b.direct && b.model == model) out.push_back(&b);
  }
  return out;
}

std::string Backend::upstream_model(std::string_view requested) const {
  const std::size_t star = model.find('*');
  if (!wildcard() || star == std::string::npos ||
      !requested.starts_with(name.substr(0, name.size() - 1))) {
    return model;
  }
  const std::string_view matched = requested.substr(name.size() - 1);
  return model.substr(0, star) + std::string(matched) + model.substr(star + 1);
}

std::string_view Config::canonical_model(std::string_view model) const {
  for (const auto& r : routes) {
    if (std::find(r.aliases.begin(), r.aliases.end(), model) != r.aliases.end()) return r.name;
  }
  if (find_route(model) || find_backend(model) || find_wildcard_backend(model)) return model;
  const auto serving = backends_serving(model);
  return serving.size() == 1 ? std::string_view(serving.front()->name) : model;
}

Timeouts effective_timeouts(const Backend& backend, const Route* route) {
  Timeouts t = backend.timeouts;
  if (route == nullptr) return t;
  t.connect = route->timeouts.connect.value_or(t.connect);
  if (route->timeouts.first_byte) {
    t.first_byte = *route->timeouts.first_byte;
    t.first_byte_written = true;
  }
  t.idle = route->timeouts.idle.value_or(t.idle);
  t.total = route->timeouts.total.value_or(t.total);
  return t;
}

std::optional<std::pair<std::string, std::uint16_t>> parse_listen(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string host(text.substr(0, colon));
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  // An address, not a name: the listener does not resolve host names.
  unsigned char address[sizeof(in6_addr)];
  if (inet_pton(AF_INET, host.c_str(), address) != 1 &&
      inet_pton(AF_INET6, host.c_str(), address) != 1) {
    return std::nullopt;
  }
  std::string_view port = text.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value > 65535) return std::nullopt;
  return std::make_pair(host, static_cast<std::uint16_t>(value));
}

std::string format_listen(const std::string& host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

namespace {

constexpr std::int64_t kMaxInt = std::numeric_limits<std::int32_t>::max();

// A duration that must be at least `min` (a zero interval or timeout is a typo, not a setting).
std::optional<Millis> duration_at_least(NodeReader& reader, std::string_view key, Millis min) {
  auto value = reader.duration(key);
  if (value && *value < min) {
    reader.error(key, "must be at least " + std::to_string(min.count()) + "ms");
    return std::nullopt;
  }
  return value;
}

void read_timeouts(NodeReader reader, Timeouts& t) {
  if (auto v = duration_at_least(reader, "connect", Millis(1))) t.connect = *v;
  if (auto v = duration_at_least(reader, "first_byte", Millis(1))) {
    t.first_byte = *v;
    t.first_byte_written = true;
  }
  if (auto v = duration_at_least(reader, "idle", Millis(1))) t.idle = *v;
  if (auto v = duration_at_least(reader, "total", Millis(1))) t.total = *v;
  reader.finish();
}

void read_health_check(NodeReader reader, HealthCheck& h) {
  h.enabled = reader.boolean("enabled").value_or(true);
  if (auto path = reader.string("path")) {
    if (path->empty() || path->front() != '/' || path->find_first_of(" ?#") != std::string::npos) {
      reader.error("path", "must be a path below the base URL such as /models, got '" +
                               reader.written("path", *path) + "'");
    } else {
      h.path = *path;
    }
  }
  if (auto v = duration_at_least(reader, "interval", Millis(100))) h.interval = *v;
  if (auto v = duration_at_least(reader, "timeout", Millis(1))) h.timeout = *v;
  if (auto v = reader.integer("unhealthy_after", 1, 100)) h.unhealthy_after = int(*v);
  if (auto v = reader.integer("healthy_after", 1, 100)) h.healthy_after = int(*v);
  reader.finish();
}

void read_mock(NodeReader reader, MockBehavior& m) {
  if (auto v = reader.duration("time_to_first_token")) m.time_to_first_token = *v;
  if (auto v = reader.duration("token_delay")) m.token_delay = *v;
  if (auto v = reader.integer("completion_tokens", 0, 100'000)) m.completion_tokens = int(*v);
  if (auto v = reader.integer("status", 100, 599)) m.status = int(*v);
  if (auto v = reader.number("failure_rate", 0, 1)) m.failure_rate = *v;
  if (auto v = reader.boolean("hang")) m.hang = *v;
  if (auto v = reader.integer("drop_after_tokens", -1, 100'000)) m.drop_after_tokens = int(*v);
  if (auto v = reader.duration("retry_after")) m.retry_after = *v;
  if (auto v = reader.boolean("error_event")) m.error_event = *v;
  if (auto v = reader.string("content")) m.content = *v;
  if (auto v = reader.boolean("omit_usage")) m.omit_usage = *v;
  reader.finish();
}

void read_retry(NodeReader reader, RetrySettings& r) {
  if (auto v = reader.integer("attempts", 0, 10)) r.attempts = int(*v);
  if (auto v = reader.duration("backoff")) r.backoff = *v;
  if (auto v = reader.duration("max_backoff")) r.max_backoff = *v;
  if (auto v = reader.duration("max_retry_after")) r.max_retry_after = *v;
  if (auto statuses = reader.string_list("on_status")) {
    r.on_status.clear();
    for (const auto& text : *statuses) {
      int status = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), status);
      // Other 4xx are the request's fault (relayed) or the backend's setup (moved past).
      const bool retryable = status == 408 || status == 409 || status == 425 || status == 429 ||
                             (status >= 500 && status <= 599);
      if (ec != std::errc{} || end != text.data() + text.size() || !retryable) {
        reader.error("on_status",
                     "lists HTTP statuses to retry: 408, 409, 425, 429 or 5xx, got '" + text + "'");
        continue;
      }
      r.on_status.push_back(status);
    }
  }
  reader.finish();
}

void read_breaker(NodeReader reader, health::BreakerSettings& b) {
  if (auto v = reader.integer("failure_threshold", 1, 10'000)) b.failure_threshold = int(*v);
  if (auto v = reader.number("failure_rate", 0, 1)) b.failure_rate = *v;
  if (auto v = reader.duration("window")) b.window = *v;
  if (auto v = reader.duration("cooldown")) b.base_cooldown = *v;
  if (auto v = reader.duration("max_cooldown")) b.max_cooldown = *v;
  reader.finish();
}

void read_url(NodeReader& reader, Backend& b) {
  auto text = reader.string("base_url", b.provider != ProviderKind::mock);
  if (!text) return;
  b.base_url = *text;
  if (auto url = Url::parse(*text)) {
    b.url = *url;
  } else {
    reader.error("base_url", "must be an http:// or https:// URL with a host, got '" +
                                 reader.written("base_url", *text) + "'");
  }
}

// Header names a backend may be sent: HTTP tokens (RFC 9110), and none of the framing fields
// the router writes itself (a second Content-Length would make the request ambiguous).
// An HTTP token (RFC 9110 section 5.6.2): what a header name is made of.
bool is_header_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

std::string ascii_lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

void check_header_names(NodeReader& reader, const std::map<std::string, std::string>& headers) {
  static const std::set<std::string> kFraming{"content-length", "transfer-encoding", "connection",
                                              "keep-alive",     "upgrade",           "te",
                                              "trailer"};
  for (const auto& [name, value] : headers) {
    const std::string lower = ascii_lowercase(name);
    if (!is_header_name(name)) {
      reader.error("headers", "'" + name + "' is not a valid header name (letters, digits and " +
                                  "!#$%&'*+-.^_`|~ only)");
    } else if (kFraming.contains(lower)) {
      reader.error("headers",
                   "'" + name + "' is set by the router itself and cannot be configured");
    }
  }
}

// Request headers the router writes itself or decides on (framing, the body's type and
// coding, keys, ids, tracing): never a client's copy, whatever forward_headers lists.
bool router_owned_header(std::string_view lowercase_name) {
  static const std::set<std::string, std::less<>> kOwned{"host",
                                                         "content-length",
                                                         "content-type",
                                                         "content-encoding",
                                                         "transfer-encoding",
                                                         "connection",
                                                         "keep-alive",
                                                         "upgrade",
                                                         "te",
                                                         "trailer",
                                                         "expect",
                                                         "accept",
                                                         "accept-encoding",
                                                         "authorization",
                                                         "x-api-key",
                                                         "api-key",
                                                         "proxy-authorization",
                                                         "proxy-connection",
                                                         "x-request-id",
                                                         "traceparent",
                                                         "tracestate"};
  return kOwned.contains(lowercase_name);
}

// Answer headers the router writes itself (framing, the body's type and coding, its ids, CORS):
// never a backend's copy, whatever response_headers lists.
bool router_owned_response_header(std::string_view lowercase_name) {
  static const std::set<std::string, std::less<>> kOwned{
      "content-length", "content-type", "content-encoding", "transfer-encoding",
      "connection",     "keep-alive",   "upgrade",          "trailer",
      "date",           "server",       "x-request-id",     "vary"};
  return kOwned.contains(lowercase_name) || lowercase_name.starts_with("x-llm-router-") ||
         lowercase_name.starts_with("access-control-");
}

// A header name, or a prefix of one ending in '*', lowercased; nullopt (reported) if neither.
std::optional<std::string> header_pattern(NodeReader& reader, std::string_view key,
                                          const std::string& written) {
  std::string entry = ascii_lowercase(written);
  const std::string_view name =
      std::string_view(entry).substr(0, entry.size() - (entry.ends_with('*') ? 1 : 0));
  if (!is_header_name(name) || name.find('*') != std::string_view::npos) {
    reader.error(key, "'" + entry + "' is not a header name (or a prefix of one ending in '*')");
    return std::nullopt;
  }
  return entry;
}

bool matches_header_pattern(std::string_view pattern, std::string_view lowercase_name) {
  return pattern.ends_with('*') ? lowercase_name.starts_with(pattern.substr(0, pattern.size() - 1))
                                : lowercase_name == pattern;
}

// A YAML value as JSON text: plain scalars that read as true/false, null, an integer or a
// number are those; any other scalar (or a quoted one) a string.
nlohmann::json json_of(const YAML::Node& node) {
  if (node.IsSequence()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& item : node) list.push_back(json_of(item));
    return list;
  }
  if (node.IsMap()) {
    nlohmann::json object = nlohmann::json::object();
    for (const auto& entry : node) object[entry.first.as<std::string>()] = json_of(entry.second);
    return object;
  }
  if (!node.IsScalar()) return nullptr;
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted
  if (text == "true" || text == "false") return text == "true";
  if (text == "null" || text == "~") return nullptr;
  std::int64_t integer = 0;
  if (const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), integer);
      ec == std::errc() && end == text.data() + text.size()) {
    return integer;
  }
  double number = 0;
  if (const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
      ec == std::errc() && end == text.data() + text.size() && std::isfinite(number)) {
    return number;
  }
  return text;
}

// `default_params` / `override_params`: body fields for the backend. The fields that say what
// is asked and how it is answered stay the client's and the router's.
std::vector<std::pair<std::string, std::string>> read_params(NodeReader& reader,
                                                             std::string_view key) {
  static constexpr std::string_view kRouters[] = {"model",  "messages",       "prompt",  "input",
                                                  "stream", "stream_options", "metadata"};
  std::vector<std::pair<std::string, std::string>> params;
  const YAML::Node node = reader.raw(key);
  if (!node.IsDefined() || node.IsNull()) return params;
  if (!node.IsMap()) {
    reader.error(key, "must be a mapping of body fields to values, such as {temperature: 0.2}");
    return params;
  }
  for (const auto& entry : node) {
    const std::string name = entry.first.as<std::string>();
    if (std::find(std::begin(kRouters), std::end(kRouters), name) != std::end(kRouters)) {
      reader.error_at(entry.first, "." + name,
                      "'" + name + "' is the client's request or the router's to set");
      continue;
    }
    params.emplace_back(name, json_of(entry.second).dump());
  }
  return params;
}

void read_response_headers(NodeReader& reader, Backend& b) {
  for (const std::string& written :
       reader.string_list("response_headers").value_or(std::vector<std::string>{})) {
    auto entry = header_pattern(reader, "response_headers", written);
    if (!entry) continue;
    if (router_owned_response_header(*entry)) {
      reader.error("response_headers", "'" + *entry + "' is written by the router itself");
    } else {
      b.response_headers.push_back(std::move(*entry));
    }
  }
}

void read_forward_headers(NodeReader& reader, Backend& b) {
  for (const std::string& written :
       reader.string_list("forward_headers").value_or(std::vector<std::string>{})) {
    auto pattern = header_pattern(reader, "forward_headers", written);
    if (!pattern) continue;
    std::string entry = std::move(*pattern);
    if (router_owned_header(entry)) {
      const bool key = entry == "authorization" || entry == "x-api-key" || entry == "api-key";
      reader.error("forward_headers",
                   "'" + entry + "' is written by the router itself" +
                       (key ? " (pass_client_auth: true forwards the client's key)"
                        : entry == "traceparent" || entry == "tracestate"
                            ? " (it is passed on whenever it is valid)"
                            : ""));
    } else {
      b.forward_headers.push_back(std::move(entry));
    }
  }
}

}  // namespace

bool lists_response_header(const std::vector<std::string>& response_headers,
                           std::string_view lowercase_name) {
  return !router_owned_response_header(lowercase_name) &&
         std::any_of(response_headers.begin(), response_headers.end(),
                     [&](const std::string& entry) {
                       return matches_header_pattern(entry, lowercase_name);
                     });
}

bool Backend::forwards_header(std::string_view lowercase_name) const {
  // The header this backend's key goes in is the router's, whatever a pattern matches.
  if (lowercase_name == auth_header) return false;
  for (const std::string& entry : forward_headers) {
    if (!matches_header_pattern(entry, lowercase_name) || router_owned_header(lowercase_name)) {
      continue;
    }
    return std::none_of(headers.begin(), headers.end(), [&](const auto& configured) {
      return configured.first.size() == lowercase_name.size() &&
             std::equal(
                 lowercase_name.begin(), lowercase_name.end(), configured.first.begin(),
                 [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); });
    });
  }
  return false;
}

namespace {

// A header value with a line break or another control byte (a key read from a file with its
// newline, pasted with a CR): sent, it would be cut or mangled; refused instead, without the
// value (it may be a key).
bool has_control_byte(std::string_view value) {
  return std::any_of(value.begin(), value.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && c != '\t') || byte == 0x7f;
  });
}

void check_header_values(NodeReader& reader, const Backend& b) {
  // Reported where the key came from.
  const std::string_view key = reader.has("api_key_file") ? "api_key_file" : "api_key";
  if (has_control_byte(b.api_key)) {
    reader.error(key,
                 "contains a line break or another control character (a trailing newline from "
                 "the file or variable it came from?)");
  } else if (b.api_key.find_first_of(" \t") != std::string::npos) {
    // "Bearer sk-..." is written by the router; a key with a space in it is a paste mistake or
    // a quote left open, and its words would go to this backend.
    reader.error(key,
                 "contains a space; a key never does (\"Bearer\" is added by the "
                 "router; a quote left open?)");
  }
  for (const auto& [name, value] : b.headers) {
    if (has_control_byte(value)) {
      reader.error("headers", "the value of '" + name +
                                  "' contains a line break or another control character");
    }
  }
}

// `api_key_file`: the key in a file (a Docker or Kubernetes secret), relative to the config's
// directory; read again by every reload, so a rotated key needs no restart. Its trailing line
// break goes; what else it holds is checked as any key is (check_header_values).
void read_api_key_file(NodeReader& reader, Backend& b) {
  const auto file = reader.string("api_key_file");
  if (!file) return;
  if (reader.has("api_key")) {
    reader.error("api_key_file", "give either api_key or api_key_file, not both");
    return;
  }
  std::filesystem::path path = *file;
  if (path.is_relative()) {
    path = std::filesystem::path(reader.context().file).parent_path() / path;
  }
  reader.context().other_files.push_back(path.string());
  std::string why;
  auto key = core::read_file(path, why);
  if (!key) {
    reader.error("api_key_file", "cannot read '" + *file + "': " + why);
    return;
  }
  while (!key->empty() && (key->back() == '\n' || key->back() == '\r')) key->pop_back();
  if (key->empty()) reader.error("api_key_file", "'" + *file + "' is empty");
  b.api_key = std::move(*key);
}

Backend read_backend(NodeReader reader) {
  Backend b;
  b.name = reader.string("name", true).value_or("");
  check_name(reader, b.name);
  if (auto provider = reader.string("provider", true)) {
    if (*provider == "openai") {
      b.provider = ProviderKind::openai;
    } else if (*provider == "mock") {
      b.provider = ProviderKind::mock;
    } else {
      reader.error("provider", "unknown provider '" + reader.written("provider", *provider) +
                                   "' (expected openai or mock)");
    }
  }
  b.model = reader.string("model").value_or(b.wildcard() ? "*" : b.name);
  if (b.wildcard() && (b.name.find('*') != b.name.size() - 1 || b.name.size() == 1)) {
    reader.error("name",
                 "a wildcard backend's name has one '*', at its end, after a prefix "
                 "(\"openai/*\")");
  }
  read_url(reader, b);
  b.ca_file = reader.string("ca_file").value_or("");
  if (!b.ca_file.empty() && (b.provider != ProviderKind::openai || !b.url.tls)) {
    reader.error("ca_file", "is for a backend whose base_url is https://");
  }
  b.api_key = reader.string("api_key").value_or("");
  read_api_key_file(reader, b);
  if (auto header = reader.string("auth_header")) {
    const std::string name = ascii_lowercase(*header);
    if (!is_header_name(name) || (router_owned_header(name) && name != "authorization" &&
                                  name != "x-api-key" && name != "api-key")) {
      reader.error("auth_header", "'" + *header +
                                      "' cannot carry the key (a header name the router does not "
                                      "write itself: authorization, api-key, x-api-key, ...)");
    } else {
      b.auth_header = name;
    }
  }
  b.pass_client_auth = reader.boolean("pass_client_auth").value_or(false);
  b.direct = reader.boolean("direct").value_or(true);
  {
    b.cost_set = reader.has("cost");
    NodeReader cost = reader.object("cost");
    b.cost.input_per_mtok = cost.number("input_per_mtok", 0, 1e6).value_or(0);
    b.cost.output_per_mtok = cost.number("output_per_mtok", 0, 1e6).value_or(0);
    b.cost.cached_input_per_mtok = cost.number("cached_input_per_mtok", 0, 1e6);
    cost.finish();
  }
  b.context_window = reader.integer("context_window", 0, 100'000'000).value_or(0);
  b.max_concurrency = int(reader.integer("max_concurrency", 0, kMaxInt).value_or(0));
  b.max_queue = int(reader.integer("max_queue", 0, kMaxInt).value_or(64));
  b.max_queue_set = reader.has("max_queue");
  b.queue_timeout = reader.duration("queue_timeout").value_or(b.queue_timeout);
  b.rpm = reader.integer("rpm", 0, 1'000'000'000).value_or(0);
  b.tpm = reader.integer("tpm", 0, 1'000'000'000'000).value_or(0);
  b.max_idle_connections = int(reader.integer("max_idle_connections", 0, 100'000).value_or(64));
  b.idle_connection_timeout =
      reader.duration("idle_connection_timeout").value_or(b.idle_connection_timeout);
  b.stream_usage = reader.boolean("stream_usage").value_or(true);
  b.quality_set = reader.has("quality");
  b.quality = reader.number("quality", 0, 1).value_or(0.5);
  b.tokenizer = reader.string("tokenizer").value_or("auto");
  if (b.tokenizer != "auto" && b.tokenizer != "estimate" && b.tokenizer != "o200k_base" &&
      b.tokenizer != "cl100k_base") {
    reader.error("tokenizer", "unknown tokenizer '" + reader.written("tokenizer", b.tokenizer) +
                                  "' (expected auto, o200k_base, cl100k_base or estimate)");
  }
  b.tags = reader.string_list("tags").value_or(std::vector<std::string>{});
  b.headers = reader.string_map("headers").value_or(std::map<std::string, std::string>{});
  check_header_names(reader, b.headers);
  check_header_values(reader, b);
  read_forward_headers(reader, b);
  read_response_headers(reader, b);
  b.default_params = read_params(reader, "default_params");
  b.override_params = read_params(reader, "override_params");
  read_timeouts(reader.object("timeouts"), b.timeouts);
  read_retry(reader.object("retry"), b.retry);
  read_breaker(reader.object("circuit_breaker"), b.breaker);
  if (reader.has("health_check")) {
    read_health_check(reader.object("health_check"), b.health_check);
  } else {
    reader.raw("health_check");
  }
  if (auto v = reader.number("min_tokens_per_second", 0, 1e6)) b.throughput.tokens_per_second = *v;
  if (auto v = duration_at_least(reader, "throughput_window", Millis(100))) {
    b.throughput.window = *v;
  }
  read_mock(reader.object("mock"), b.mock);
  reader.finish();
  return b;
}

// "*" or origins as browsers send them: scheme://host[:port], no path.
std::vector<std::string> valid_origins(NodeReader& reader, const std::vector<std::string>& list) {
  std::vector<std::string> out;
  for (const std::string& origin : list) {
    const std::size_t scheme_end = origin.find("://");
    const bool plausible =
        origin == "*" ||
        ((origin.starts_with("http://") || origin.starts_with("https://")) &&
         origin.size() > scheme_end + 3 && origin.find('/', scheme_end + 3) == std::string::npos &&
         origin.find_first_of(" \t*") == std::string::npos);
    if (!plausible) {
      reader.error("cors_origins", "'" + origin +
                                       "' is not an origin: use \"*\" or scheme://host[:port] "
                                       "(no path, no trailing slash)");
      continue;
    }
    out.push_back(origin);
  }
  return out;
}

// "*", a host name, or "*." and a name: no scheme, port, path or spaces.
std::vector<std::string> valid_hosts(NodeReader& reader, const std::vector<std::string>& list) {
  std::vector<std::string> out;
  for (const std::string& host : list) {
    const std::string_view name = std::string_view(host).substr(host.starts_with("*.") ? 2 : 0);
    const bool plausible =
        host == "*" || (!name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
        }));
    if (!plausible) {
      reader.error("allowed_hosts", "'" + host +
                                        "' is not a host name: use \"*\", a name such as "
                                        "router.example.com, or *.example.com (no scheme or port)");
      continue;
    }
    std::string lowered = host.ends_with('.') ? host.substr(0, host.size() - 1) : host;
    std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out.push_back(std::move(lowered));
  }
  return out;
}

void read_server(NodeReader reader, ServerSettings& s) {
  if (auto listen = reader.string("listen")) {
    s.listen_written = *listen;
    if (auto parsed = parse_listen(*listen)) {
      std::tie(s.listen_host, s.listen_port) = *parsed;
    } else {
      reader.error("listen",
                   "must be ADDRESS:PORT (0.0.0.0:8080, 127.0.0.1:8080, localhost:8080, "
                   "[::]:8080), got '" +
                       reader.written("listen", *listen) + "'");
    }
  }
  if (auto v = reader.integer("threads", 0, 256)) s.threads = s.threads_written = int(*v);
  if (auto v = reader.integer("max_body_bytes", 1024, 1LL << 32)) s.max_body_bytes = size_t(*v);
  if (auto v = reader.integer("max_body_memory", 1 << 20, 1LL << 40)) {
    s.max_body_memory = size_t(*v);
  }
  if (auto v = reader.integer("max_response_bytes", 1024, 1LL << 32)) {
    s.max_response_bytes = size_t(*v);
  }
  if (auto v = reader.integer("max_header_bytes", 1024, 1 << 20)) s.max_header_bytes = size_t(*v);
  if (auto v = reader.duration("header_timeout")) s.header_timeout = *v;
  if (auto v = reader.duration("body_timeout")) s.body_timeout = *v;
  if (auto v = reader.duration("write_timeout")) s.write_timeout = *v;
  if (auto v = reader.duration("idle_timeout")) s.idle_timeout = *v;
  if (auto v = reader.integer("max_connections", 1, 1'000'000)) s.max_connections = int(*v);
  if (auto v = reader.duration("drain_timeout")) s.drain_timeout = *v;
  if (auto v = reader.duration("shutdown_delay")) s.shutdown_delay = *v;
  if (auto v = reader.boolean("watch_config")) s.watch_config = *v;
  if (auto v = reader.string("admin_key")) s.admin_key = *v;
  if (auto v = reader.string_list("cors_origins")) s.cors_origins = valid_origins(reader, *v);
  if (auto v = reader.string_list("allowed_hosts")) s.allowed_hosts = valid_hosts(reader, *v);
  if (auto v = reader.string("state_file")) s.state_file = *v;
  if (auto v = reader.string("tokenizers_dir")) s.tokenizers_dir = *v;
  reader.finish();
}

void read_logging(NodeReader reader, LoggingSettings& l) {
  if (auto level = reader.string("level")) {
    static const std::set<std::string> kLevels{"trace", "debug", "info", "warn", "error", "off"};
    if (kLevels.contains(*level)) {
      l.level = *level;
    } else if (*level == "warning") {  // what the log lines themselves say
      l.level = "warn";
    } else {
      reader.error("level", "must be one of trace, debug, info, warn, error, off");
    }
  }
  if (auto format = reader.string("format")) {
    if (*format == "json" || *format == "text") {
      l.json = *format == "json";
    } else {
      reader.error("format", "must be text or json");
    }
  }
  // Access lines never carry prompt text; the request log does, with its own switch. A `true`
  // here would promise what nothing does.
  if (reader.boolean("log_prompts").value_or(false)) {
    reader.error("log_prompts",
                 "access lines never carry prompts; to write them (redacted) to a file, set "
                 "request_log: {path: ..., log_prompts: true}");
  }
  reader.finish();
}

template <typename Item, typename ReadItem>
std::vector<Item> read_list(NodeReader& root, std::string_view key, ReadItem read_item) {
  std::vector<Item> items;
  YAML::Node list = root.raw(key);
  if (!list.IsDefined() || list.IsNull()) return items;
  if (!list.IsSequence()) {
    root.error(key, "must be a list");
    return items;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    items.push_back(read_item(
        NodeReader(list[i], root.path_of(key) + "[" + std::to_string(i) + "]", root.context())));
  }
  return items;
}

// The analyzer's embeddings backend must be one of the backends.
void validate_embeddings_model(NodeReader& root, const YAML::Node& yaml, const Config& config) {
  if (!config.analyzer || !config.analyzer->embeddings) return;
  const std::string& model = config.analyzer->embeddings->model;
  if (model.empty() || config.find_backend(model) != nullptr) return;
  root.error_at(yaml["analyzer"]["semantic"]["embeddings"]["model"],
                "analyzer.semantic.embeddings.model",
                "unknown backend '" + model + "' (the embeddings model must name a backend)");
}

// Cross-field checks: names unique, every reference resolves.
void validate(NodeReader& root, const YAML::Node& yaml, Config& config) {
  NameLines names;
  const YAML::Node backends = yaml["backends"];
  for (size_t i = 0; i < config.backends.size(); ++i) {
    const auto& b = config.backends[i];
    const std::string path = "backends[" + std::to_string(i) + "].name";
    const YAML::Node name = backends[i]["name"];
    if (b.name.empty()) continue;
    if (const auto [first, added] = names.emplace(b.name, name.Mark().line + 1); !added) {
      root.error_at(name, path,
                    "duplicate backend name '" + b.name + "' (first at line " +
                        std::to_string(first->second) + ")");
    }
  }
  if (config.backends.empty()) root.error("backends", "at least one backend is required");
  validate_routes(root, yaml, config, names);
  validate_embeddings_model(root, yaml, config);
  std::set<std::string, std::less<>> model_names;
  for (const auto& route : config.routes) {
    model_names.insert(route.name);
    model_names.insert(route.aliases.begin(), route.aliases.end());
  }
  for (const auto& backend : config.backends) model_names.insert(backend.name);
  validate_client_keys(root, yaml["client_keys"], config.client_keys, model_names);
}

// YAML 1.1 merge keys, which yaml-cpp leaves as a key named "<<": a mapping's `<<: *defaults`
// (or `<<: [*a, *b]`, the first naming a key winning) adds the keys of the mappings it names
// that the mapping does not set itself. An alias is the node it names (same place in the
// file): each is resolved once, so aliases of aliases cost no more than the file's size.
void resolve_merge_keys(YAML::Node node, std::set<int>& done) {
  if (!node.IsMap() && !node.IsSequence()) return;
  if (!done.insert(node.Mark().pos).second) return;
  if (node.IsSequence()) {
    for (auto item : node) resolve_merge_keys(item, done);
    return;
  }
  std::vector<YAML::Node> sources;
  for (const auto& entry : node) {
    if (!entry.first.IsScalar() || entry.first.Scalar() != "<<") continue;
    if (entry.second.IsMap()) sources.push_back(entry.second);
    if (entry.second.IsSequence()) {
      for (const auto& item : entry.second) sources.push_back(item);
    }
  }
  const bool mergeable = !sources.empty() && std::all_of(sources.begin(), sources.end(),
                                                         [](const auto& s) { return s.IsMap(); });
  if (mergeable) {  // anything else stays, an unknown key the reader reports
    node.remove("<<");
    for (auto& source : sources) {
      resolve_merge_keys(source, done);
      for (const auto& entry : source) {
        const std::string key = entry.first.as<std::string>();
        const bool set = std::any_of(node.begin(), node.end(), [&](const auto& own) {
          return own.first.IsScalar() && own.first.Scalar() == key;
        });
        // The source's own key node: an error about it points at where it is written.
        if (!set) node.force_insert(entry.first, entry.second);
      }
    }
  }
  for (auto entry : node) resolve_merge_keys(entry.second, done);
}

// Whether the quoted scalar opening at `at` has its closing quote in the file.
bool quote_closes(const std::string& text, std::size_t at) {
  const char quote = text[at];
  for (std::size_t i = at + 1; i < text.size(); ++i) {
    if (quote == '"' && text[i] == '\\') {
      ++i;  // an escape: the next byte is never the end
    } else if (text[i] == quote) {
      if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
        ++i;  // '' is a quote inside single quotes
        continue;
      }
      return true;
    }
  }
  return false;
}

// yaml-cpp ends a quoted value left open at the end of the file instead of refusing it: the
// rest of the file (other backends' keys) became one backend's api_key, and its routes were
// gone without a word. Every quoted scalar must close.
class QuoteCheck {
 public:
  QuoteCheck(const std::string& text, const std::string& source) : text_(text), source_(source) {
    std::size_t at = text.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;  // columns count after a BOM
    line_starts_.push_back(at);
    while ((at = text.find('\n', at)) != std::string::npos) line_starts_.push_back(++at);
  }

  void require_closed(const YAML::Node& node) {
    if (node.IsScalar()) {
      const std::size_t at = offset_of(node.Mark());
      const bool quoted =
          node.Tag() == "!" && at < text_.size() && (text_[at] == '"' || text_[at] == '\'');
      if (quoted && !quote_closes(text_, at)) {
        throw ConfigError({Diagnostic{source_, node.Mark().line + 1, node.Mark().column + 1, "",
                                      std::string("the value opened with ") + text_[at] +
                                          " here is never closed: the rest of the file was "
                                          "read into it"}});
      }
      return;
    }
    if (!node.IsMap() && !node.IsSequence()) return;
    if (!collections_seen_.insert(offset_of(node.Mark())).second) return;  // an alias
    for (const auto& entry : node) {
      if (node.IsMap()) {
        require_closed(entry.first);
        require_closed(entry.second);
      } else {
        require_closed(entry);
      }
    }
  }

 private:
  // yaml-cpp's columns count bytes.
  std::size_t offset_of(const YAML::Mark& mark) const {
    const auto line = static_cast<std::size_t>(std::max(0, mark.line));
    if (line >= line_starts_.size()) return text_.size();
    return line_starts_[line] + static_cast<std::size_t>(std::max(0, mark.column));
  }

  const std::string& text_;
  const std::string& source_;
  std::vector<std::size_t> line_starts_;
  std::set<std::size_t> collections_seen_;
};

YAML::Node parse_yaml(const std::string& text, const std::string& source) {
  try {
    // Every document: a second one after "---" would otherwise be ignored without a word.
    std::vector<YAML::Node> documents = YAML::LoadAll(text);
    // A trailing "---" (or one followed by comments only) makes an empty document.
    while (documents.size() > 1 && documents.back().IsNull()) documents.pop_back();
    if (documents.size() > 1) {
      throw ConfigError({Diagnostic{source, std::max(1, documents[1].Mark().line + 1), 1, "",
                                    "the file holds " + std::to_string(documents.size()) +
                                        " YAML documents (separated by ---); the config is one"}});
    }
    if (documents.empty()) return YAML::Node();
    QuoteCheck(text, source).require_closed(documents.front());
    std::set<int> resolved;
    resolve_merge_keys(documents.front(), resolved);
    return documents.front();
  } catch (const YAML::Exception& e) {
    std::string message = e.msg;
    if (text.find('\t') != std::string::npos) {
      message += " (the file has tab characters: YAML indents with spaces only)";
    }
    // `{api-key: ${KEY}}`: in a flow map (braces) the braces of ${...} end the map early.
    std::istringstream lines(text);
    std::string line;
    for (int i = 0; i <= e.mark.line && std::getline(lines, line); ++i) {
    }
    if (line.find("${") != std::string::npos && line.find('{') < line.find("${")) {
      message += " (inside {...}, quote a ${VAR} reference: \"${VAR}\")";
    }
    throw ConfigError({Diagnostic{source, e.mark.line + 1, e.mark.column + 1, "", message}});
  }
}

}  // namespace

Config load_config_text(const std::string& text, const std::string& source_name,
                        const EnvLookup& env) {
  const YAML::Node yaml = parse_yaml(text, source_name);
  ReadContext context{source_name, env, {}};
  Config config;
  config.source = source_name;
  NodeReader root(yaml, "", context);
  if (!yaml.IsMap()) {
    throw ConfigError({Diagnostic{source_name, 1, 1, "", "the config must be a YAML mapping"}});
  }
  read_server(root.object("server"), config.server);
  read_logging(root.object("logging"), config.logging);
  config.backends = read_list<Backend>(root, "backends", read_backend);
  config.routes = read_list<Route>(root, "routes", read_route);
  if (root.has("analyzer")) {
    config.analyzer = analyzer::read_analyzer_settings(root.object("analyzer"));
  } else {
    root.raw("analyzer");
  }
  config.request_log = requestlog::read_request_log_settings(root.object("request_log"));
  config.client_keys = read_list<ClientKey>(root, "client_keys", read_client_key);
  // Extension keys, as in Compose files: a place for anchors (`x-defaults: &defaults {...}`).
  for (const auto& entry : yaml) {
    if (const auto key = entry.first.as<std::string>(); key.starts_with("x-")) root.raw(key);
  }
  root.finish();
  validate(root, yaml, config);
  if (!context.diagnostics.empty()) {
    throw ConfigError(std::move(context.diagnostics), std::move(context.other_files));
  }
  config.other_files = std::move(context.other_files);
  return config;
}

Config load_config_file(const std::string& path, const EnvLookup& env) {
  std::string why;
  const auto text = core::read_file(path, why);
  if (!text) throw ConfigError({Diagnostic{path, 0, 0, "", "cannot read config file: " + why}});
  return load_config_text(*text, path, env);
}

}  // namespace llm_router::config
