#include "llm_router/proxy/runtime.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <stdexcept>

#include "llm_router/analyzer/factory.hpp"
#include "llm_router/core/logging.hpp"
#include "llm_router/health/streaming_quantile.hpp"
#include "llm_router/proxy/router_handler.hpp"
#include "llm_router/upstream/providers.hpp"
#include "semantic_embeddings.hpp"

namespace llm_router::proxy {

// The analyzer a config asks for: its `analyzer:` section, or default settings when only the
// routes' rules need signals (keywords, semantic examples, PII). Throws on model load errors.
std::shared_ptr<const analyzer::Analyzer> analyzer_for(const config::Config& config,
                                                       const std::string& config_path) {
  const auto specs = config::signal_specs(config);
  if (!config.analyzer && specs.keywords.empty() && specs.semantic.empty() && !specs.pii) {
    return nullptr;
  }
  std::vector<analyzer::KeywordSet> keywords;
  for (const auto& k : specs.keywords) keywords.push_back({k.name, k.words, k.patterns});
  std::vector<analyzer::SemanticSet> semantic;
  for (const auto& s : specs.semantic) semantic.push_back({s.name, s.utterances, s.threshold});
  analyzer::AnalyzerSettings implied;
  implied.detectors.sentiment = false;  // no model files are implied by rules alone
  analyzer::AnalyzerSettings settings = config.analyzer.value_or(implied);
  // Only a rule testing `pii` needs the whole request scanned (it costs ~11 instructions a byte).
  settings.text.pii_whole_request = specs.pii;

  const std::string dir = std::filesystem::path(config_path).parent_path().string();
  return analyzer::make_analyzer(settings, dir.empty() ? "." : dir, std::move(keywords),
                                 std::move(semantic));
}

namespace {

// By route: the semantic sets a request to it scores, every set but the other routes' rules'
// (a request scoring all of them cost every route's examples: 1,200 semantic rules took chat
// throughput from 13.9k to 3.5k requests/s).
std::vector<std::vector<bool>> semantic_sets_by_route(const config::Config& config,
                                                      const analyzer::Analyzer* analyzer) {
  std::vector<std::vector<bool>> by_route(config.routes.size());
  if (analyzer == nullptr) return by_route;
  std::unordered_map<std::string_view, std::size_t> owner;  // a rule's set: its route
  for (std::size_t r = 0; r < config.routes.size(); ++r) {
    for (const auto& spec : config.routes[r].semantic_specs) owner.emplace(spec.name, r);
  }
  const auto& sets = analyzer->semantic_sets();
  for (std::size_t r = 0; r < config.routes.size(); ++r) {
    by_route[r].resize(sets.size());
    for (std::size_t s = 0; s < sets.size(); ++s) {
      const auto it = owner.find(sets[s].name);
      by_route[r][s] = it == owner.end() || it->second == r;
    }
  }
  return by_route;
}

// The embeddings backend's state when the analyzer asks for one and has semantic sets.
std::shared_ptr<SemanticEmbeddings> build_embeddings(const config::Config& config,
                                                     const analyzer::Analyzer* analyzer,
                                                     metrics::CounterFamily& outcomes) {
  if (analyzer == nullptr || analyzer->semantic_sets().empty()) return nullptr;
  const auto& settings = analyzer->settings().embeddings;
  if (!settings) return nullptr;
  for (std::size_t i = 0; i < config.backends.size(); ++i) {
    if (config.backends[i].name != settings->model) continue;
    return std::make_shared<SemanticEmbeddings>(*settings, i, config.backends[i].model,
                                                analyzer->semantic_sets(), outcomes);
  }
  return nullptr;  // unreachable: the config checks the name
}

// TLS settings for the backends with a ca_file (one per file, kept while the file is
// unchanged: a reload keeps their pooled connections), by backend index; null for the others.
// Throws when a file cannot be used: the config is not taken.
std::vector<std::shared_ptr<boost::asio::ssl::context>> backend_tls(
    const config::Config& config, const std::string& config_path,
    core::SharedByFile<boost::asio::ssl::context>& contexts) {
  std::vector<std::shared_ptr<boost::asio::ssl::context>> out;
  for (const auto& backend : config.backends) {
    if (backend.ca_file.empty()) {
      out.emplace_back();
      continue;
    }
    std::filesystem::path file = backend.ca_file;
    if (file.is_relative()) file = std::filesystem::path(config_path).parent_path() / file;
    try {
      out.push_back(contexts.get(
          file.string(), [](const std::string& path) { return upstream::make_tls_context(path); }));
    } catch (const std::runtime_error& e) {
      throw std::runtime_error("backend '" + backend.name + "': ca_file " + e.what());
    }
  }
  return out;
}

std::filesystem::path tokenizers_directory(const config::Config& config,
                                           const std::string& config_path) {
  std::filesystem::path dir = config.server.tokenizers_dir;
  if (dir.is_relative()) dir = std::filesystem::path(config_path).parent_path() / dir;
  return dir;
}

double blend(double old_value, double sample) {
  constexpr double kWeight = 0.2;
  return old_value < 0 ? sample : old_value * (1 - kWeight) + sample * kWeight;
}

}  // namespace

void BackendHealth::observe_latency(double ttft, double per_token) {
  // Racy read-modify-write on purpose: an average losing a sample now and then is harmless.
  if (ttft >= 0) {
    ttft_ms.store(blend(ttft_ms.load(std::memory_order_relaxed), ttft));
    ttft_p95_ms.store(
        health::update_quantile(ttft_p95_ms.load(std::memory_order_relaxed), ttft, 0.95));
    if (ttft_samples.load(std::memory_order_relaxed) < kMeasuredAfter) {
      ttft_samples.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (per_token >= 0) {
    per_token_ms.store(blend(per_token_ms.load(std::memory_order_relaxed), per_token));
  }
}

const tokenizer::Encoder* EncoderCache::for_backend(const config::Backend& backend,
                                                    const std::filesystem::path& directory) {
  std::optional<tokenizer::Encoding> encoding;
  const bool automatic = backend.tokenizer == "auto";
  if (automatic) {
    encoding = tokenizer::encoding_for_model(backend.model);
  } else if (backend.tokenizer != "estimate") {
    encoding = tokenizer::encoding_from_name(backend.tokenizer);
  }
  if (!encoding) return nullptr;
  std::lock_guard lock(mutex_);
  auto& slot = loaded_[*encoding];
  if (!slot) {
    try {
      slot = std::make_unique<tokenizer::Encoder>(
          tokenizer::Encoder::load_from_directory(*encoding, directory));
    } catch (const std::runtime_error& e) {
      if (!automatic) {
        throw std::runtime_error("backend '" + backend.name + "': tokenizer " +
                                 std::string(tokenizer::name(*encoding)) + ": " + e.what());
      }
      logging::get("config")->warn("backend {}: {} not loaded ({}); token counts are estimated",
                                   backend.name, tokenizer::name(*encoding), e.what());
      loaded_.erase(*encoding);
      return nullptr;
    }
  }
  return slot.get();
}

std::size_t count_tokens(const tokenizer::Encoder* encoder, std::string_view text) {
  return encoder ? encoder->count(text)
                 : static_cast<std::size_t>(std::llround(tokenizer::estimate_tokens(text)));
}

namespace {

health::Nanos began(health::Nanos now, double latency_ms) {
  return now - static_cast<health::Nanos>(std::max(0.0, latency_ms) * 1e6);
}

}  // namespace

void BackendHealth::record_success(std::string_view backend, double latency_ms) {
  const health::Nanos now = health::steady_now();
  if (breaker.record_success(now, began(now, latency_ms))) {
    logging::get("health")->info("backend={} circuit closed: a request succeeded", backend);
  }
}

void BackendHealth::record_commit(std::string_view backend, double latency_ms) {
  const health::Nanos now = health::steady_now();
  if (breaker.record_commit(began(now, latency_ms))) {
    logging::get("health")->info("backend={} circuit closed: a stream began answering", backend);
  }
}

void BackendHealth::record_failure(std::string_view backend, double latency_ms) {
  const health::Nanos now = health::steady_now();
  if (breaker.record_failure(now, began(now, latency_ms))) {
    logging::get("health")->warn("backend={} circuit opened for {} ms (ejection {} in a row)",
                                 backend, (breaker.open_until() - now) / 1'000'000,
                                 breaker.ejections());
  }
}

void BackendHealth::observe_unanswered(double after_ms) {
  const double estimate = ttft_p95_ms.load(std::memory_order_relaxed);
  if (estimate > 0 && after_ms > estimate) {
    ttft_p95_ms.store(health::update_quantile(estimate, after_ms, 0.95));
  }
}

std::chrono::milliseconds BackendHealth::hedge_delay(std::chrono::milliseconds initial) const {
  if (ttft_samples.load(std::memory_order_relaxed) < kMeasuredAfter) return initial;
  const double p95 = ttft_p95_ms.load(std::memory_order_relaxed);
  return std::chrono::milliseconds(std::max<long long>(1, std::llround(p95)));
}

namespace {

// Budgets configured again (a reload): what they spent carries over as counts.
template <class Budgets>
void apply_limits(Budgets& budgets, std::int64_t rpm, std::int64_t tpm) {
  const health::Nanos now = health::steady_now();
  budgets.requests.rescale(now, budgets.rpm, rpm);
  budgets.tokens.rescale(now, budgets.tpm, tpm);
  budgets.rpm = rpm;
  budgets.tpm = tpm;
}

}  // namespace

BackendHealth& HealthRegistry::get(const config::Backend& backend) {
  std::lock_guard lock(mutex_);
  auto& entry = entries_[backend.name];
  if (!entry) {
    entry = std::make_unique<BackendHealth>(backend.breaker);
  } else {
    entry->breaker.configure(backend.breaker);  // a reload's settings apply to its live state
    // The name now stands for another server: what the old one did says nothing of it.
    if (entry->base_url != backend.base_url) entry->breaker.reset();
  }
  entry->base_url = backend.base_url;
  apply_limits(*entry, backend.rpm, backend.tpm);
  return *entry;
}

ClientBudgets& ClientBudgetRegistry::get(const std::string& name, std::int64_t rpm,
                                         std::int64_t tpm) {
  std::lock_guard lock(mutex_);
  auto& entry = entries_[name];
  if (!entry) entry = std::make_unique<ClientBudgets>();
  apply_limits(*entry, rpm, tpm);
  return *entry;
}

void HealthRegistry::for_each(
    const std::function<void(const std::string&, const BackendHealth&)>& visit) const {
  std::lock_guard lock(mutex_);
  for (const auto& [name, entry] : entries_) visit(name, *entry);
}

selector::BackendLive SnapshotLiveStats::get(std::size_t backend_index) const {
  const BackendHealth& h = *snapshot_.health[backend_index];
  selector::BackendLive live;
  const config::Backend& backend = snapshot_.config->backends[backend_index];
  const health::Nanos now = health::steady_now();
  live.in_flight = h.capacity.in_flight();
  live.ejected = !ignore_ejection_ && h.breaker.state(now) == health::BreakerState::open;
  live.requests_available = h.requests.available(now, backend.rpm);
  live.tokens_available = h.tokens.available(now, backend.tpm);
  live.ttft_ms = h.ttft_ms.load(std::memory_order_relaxed);
  live.per_token_ms = h.per_token_ms.load(std::memory_order_relaxed);
  return live;
}

selector::ArmPosterior SnapshotLiveStats::arm(std::string_view key,
                                              std::string_view backend) const {
  return bandit_.arm(key, backend);
}

void FeedbackLog::remember(const std::string& request_id, Entry entry) {
  std::lock_guard lock(mutex_);
  if (entries_.insert_or_assign(request_id, std::move(entry)).second) order_.push_back(request_id);
  while (order_.size() > kCapacity) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
}

std::optional<FeedbackLog::Entry> FeedbackLog::take(const std::string& request_id,
                                                    const std::string& client) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(request_id);
  if (it == entries_.end() || it->second.client != client) return std::nullopt;
  Entry entry = std::move(it->second);
  entries_.erase(it);  // its id stays in order_ until trimmed: erasing it then is a no-op
  return entry;
}

RouterState::RouterState(std::shared_ptr<const config::Config> config, std::string config_path,
                         std::size_t io_threads)
    : config_path_(std::move(config_path)),
      registry_(io_threads),
      metrics_(registry_),
      stats_(io_threads) {
  request_log_started_ = config->request_log;
  if (config->request_log.enabled()) {
    request_log_ = std::make_unique<requestlog::RequestLogWriter>(config->request_log);
  }
  other_files_ = config->other_files;
  const auto config_stamp = core::file_stamp(config_path_);
  snapshot_ = build(std::move(config));
  generation_.store(snapshot_->generation);  // the first config is generation 1
  loaded_version_ = stamp_files(config_stamp);
}

RouterState::FilesVersion RouterState::stamp_files(
    std::optional<core::FileStamp> config_stamp) const {
  FilesVersion version{config_stamp};
  for (const auto& file : other_files_) version.push_back(core::file_stamp(file));
  return version;
}

RouterState::FilesVersion RouterState::loaded_version() const {
  std::lock_guard lock(reload_mutex_);
  return loaded_version_;
}

RouterState::FilesVersion RouterState::files_version() const {
  std::lock_guard lock(reload_mutex_);
  return stamp_files(core::file_stamp(config_path_));
}

namespace {

// What a rule's condition needs from the analyzer; a problem for each thing the loaded one
// cannot give (the rule would silently never match, or always: complexity is 0.5 without a
// model).
void check_condition(const config::Condition& condition, const analyzer::Analyzer* analyzer,
                     const std::function<void(std::string)>& problem) {
  using Kind = config::Condition::Kind;
  const auto missing = [&](const std::string& what) {
    problem("the rule tests " + what +
            ", so it would match every request or none (the shipped models and lexicon are in "
            "config/models/)");
  };
  if (condition.kind == Kind::category) {
    const auto labels = analyzer ? analyzer->category_labels() : std::vector<std::string>{};
    if (labels.empty()) {
      missing("`category` but no category model is loaded (analyzer.category_model)");
    }
    for (const auto& value : condition.values) {
      if (value == "other" || std::find(labels.begin(), labels.end(), value) != labels.end()) {
        continue;
      }
      std::string known;
      for (const auto& label : labels) known += label + ", ";
      problem("category '" + value +
              "' is not a label of the category model, so the rule could never match (labels: " +
              known + "other)");
    }
  }
  if (condition.kind == Kind::complexity && !(analyzer && analyzer->has_complexity_model())) {
    missing("`complexity` but no complexity model is loaded (analyzer.complexity_model)");
  }
  if (condition.kind == Kind::sentiment && !(analyzer && analyzer->scores_sentiment())) {
    missing(
        "`sentiment` but sentiment is not scored (add an analyzer: section with "
        "sentiment_lexicon, and keep detectors.sentiment on)");
  }
  if (condition.kind == Kind::pii && !(analyzer && analyzer->settings().detectors.pii &&
                                       analyzer->settings().text.pii_chars > 0)) {
    // A compliance rule that never fires sends PII wherever the other rules say.
    missing(
        "`pii` but PII is not looked for (analyzer.detectors.pii is false or text.pii_chars is 0)");
  }
  for (const auto& child : condition.children) check_condition(child, analyzer, problem);
}

// Rules testing a signal the loaded analyzer cannot give are configuration errors, every one
// reported where its `when` was written.
void check_rules(const config::Config& config, const analyzer::Analyzer* analyzer) {
  config::Diagnostics diagnostics;
  for (const auto& route : config.routes) {
    for (const auto& rule : route.rules) {
      check_condition(rule.when, analyzer, [&](std::string message) {
        diagnostics.push_back(config::Diagnostic{config.source, rule.line, rule.column,
                                                 rule.when_path, std::move(message)});
      });
    }
  }
  if (!diagnostics.empty()) throw config::ConfigError(std::move(diagnostics));
}

bool tests_tokens(const config::Condition& condition) {
  return condition.kind == config::Condition::Kind::tokens ||
         std::any_of(condition.children.begin(), condition.children.end(), tests_tokens);
}

std::vector<bool> routes_testing_tokens(const config::Config& config) {
  std::vector<bool> out;
  for (const auto& route : config.routes) {
    out.push_back(std::any_of(route.rules.begin(), route.rules.end(),
                              [](const config::Rule& rule) { return tests_tokens(rule.when); }));
  }
  return out;
}

// The least room any backend's context window leaves for a prompt, once the answer room its
// own params ask for is taken (0: no backend has a window).
std::int64_t smallest_prompt_room(const config::Config& config) {
  std::int64_t smallest = 0;
  for (const auto& backend : config.backends) {
    if (backend.context_window <= 0) continue;
    const std::int64_t room =
        std::max<std::int64_t>(1, backend.context_window - selector::answer_room(backend, 0));
    if (smallest == 0 || room < smallest) smallest = room;
  }
  return smallest;
}

}  // namespace

std::shared_ptr<const Snapshot> RouterState::build(std::shared_ptr<const config::Config> config) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->config = config;
  snapshot->selector = std::make_shared<selector::Selector>(config);
  snapshot->analyzer = analyzer_for(*config, config_path_);
  snapshot->semantic_sets_by_route = semantic_sets_by_route(*config, snapshot->analyzer.get());
  check_rules(*config, snapshot->analyzer.get());
  snapshot->route_tests_tokens = routes_testing_tokens(*config);
  snapshot->smallest_prompt_room = smallest_prompt_room(*config);
  snapshot->embeddings =
      build_embeddings(*config, snapshot->analyzer.get(), metrics_.semantic_embeddings);
  snapshot->tls = backend_tls(*config, config_path_, tls_contexts_);
  const auto tokenizers = tokenizers_directory(*config, config_path_);
  for (const auto& backend : config->backends) {
    snapshot->encoders.push_back(encoders_.for_backend(backend, tokenizers));
  }
  // Last, once nothing can throw: taking a backend's or a key's live state applies the new
  // limits and breaker settings to it, which a reload that failed must not have done.
  for (const auto& backend : config->backends) {
    BackendHealth& health = health_.get(backend);
    // What a backend was found to refuse is learned again: the reload may have changed its
    // URL, version or model (Azure's api-version decides whether stream_options is taken).
    health.rejects_stream_options.store(false);
    health.rejects_max_tokens.store(false);
    snapshot->health.push_back(&health);
  }
  for (const auto& key : config->client_keys) {
    std::vector<std::string> models;  // an alias listed stands for its route
    for (const auto& model : key.models) models.emplace_back(config->canonical_model(model));
    snapshot->clients.emplace(
        key.key_sha256,
        ClientEntry{key.name, key.rpm, key.tpm, &client_budgets_.get(key.name, key.rpm, key.tpm),
                    std::move(models)});
  }
  snapshot->generation = generation_.load() + 1;
  return snapshot;
}

namespace {

template <class T>
void keep(std::vector<std::string>& changed, const char* key, const T& running, T& next) {
  if (!(next == running)) changed.emplace_back(std::string("server.") + key);
  next = running;
}

}  // namespace

std::vector<std::string> keep_process_settings(const config::ServerSettings& running,
                                               config::ServerSettings& next) {
  // The listening address and the thread count are fixed for the process and may come from the
  // command line (--listen) or the core count: kept, and reported when the file changed them.
  next.listen_host = running.listen_host;
  next.listen_port = running.listen_port;
  next.threads = running.threads;
  std::vector<std::string> changed;
  keep(changed, "listen", running.listen_written, next.listen_written);
  keep(changed, "threads", running.threads_written, next.threads_written);
  keep(changed, "max_body_bytes", running.max_body_bytes, next.max_body_bytes);
  keep(changed, "max_body_memory", running.max_body_memory, next.max_body_memory);
  keep(changed, "max_header_bytes", running.max_header_bytes, next.max_header_bytes);
  keep(changed, "header_timeout", running.header_timeout, next.header_timeout);
  keep(changed, "body_timeout", running.body_timeout, next.body_timeout);
  keep(changed, "write_timeout", running.write_timeout, next.write_timeout);
  keep(changed, "idle_timeout", running.idle_timeout, next.idle_timeout);
  keep(changed, "max_connections", running.max_connections, next.max_connections);
  keep(changed, "drain_timeout", running.drain_timeout, next.drain_timeout);
  keep(changed, "shutdown_delay", running.shutdown_delay, next.shutdown_delay);
  keep(changed, "watch_config", running.watch_config, next.watch_config);
  keep(changed, "state_file", running.state_file, next.state_file);
  keep(changed, "tokenizers_dir", running.tokenizers_dir, next.tokenizers_dir);
  return changed;  // admin_key and cors_origins are read per request: they take effect
}

namespace {

// The request log's settings a reload cannot change (the file is open, its queue sized) and
// that `next` changed.
std::vector<std::string> fixed_request_log_changes(const requestlog::RequestLogSettings& running,
                                                   const requestlog::RequestLogSettings& next) {
  std::vector<std::string> changed;
  const auto compare = [&](const char* key, const auto& was, const auto& now) {
    if (!(was == now)) changed.emplace_back(key);
  };
  compare("request_log.path", running.path, next.path);
  compare("request_log.max_bytes", running.max_bytes, next.max_bytes);
  compare("request_log.max_files", running.max_files, next.max_files);
  compare("request_log.queue_lines", running.queue_lines, next.queue_lines);
  return changed;
}

}  // namespace

std::vector<std::string> RouterState::restart_required() const {
  std::lock_guard lock(reload_mutex_);
  return restart_required_;
}

void RouterState::begin_draining() {
  draining.store(true);
  for (auto* health : snapshot()->health) health->capacity.wake_all();
}

std::shared_ptr<const Snapshot> RouterState::snapshot() const {
  std::lock_guard lock(snapshot_mutex_);
  return snapshot_;
}

std::optional<std::string> RouterState::reload() {
  std::lock_guard reload_lock(reload_mutex_);
  std::shared_ptr<const Snapshot> next;
  const auto current = snapshot();
  // Stamped before reading, so a write while it is read is seen as a change.
  const auto config_stamp = core::file_stamp(config_path_);
  try {
    std::shared_ptr<config::Config> config;
    try {
      config = std::make_shared<config::Config>(config::load_config_file(config_path_));
      other_files_ = config->other_files;
    } catch (const config::ConfigError& e) {
      other_files_ = e.other_files();
      throw;
    }
    loaded_version_ = stamp_files(config_stamp);  // tried, whatever the outcome
    auto fixed = keep_process_settings(current->config->server, config->server);
    for (auto& key : fixed_request_log_changes(request_log_started_, config->request_log)) {
      fixed.push_back(std::move(key));
    }
    if (config->logging.json != current->config->logging.json) fixed.push_back("logging.format");
    // Opening the API to any client is a restart's decision, never a reload's: a file caught
    // half written (an editor, a ConfigMap update) would otherwise do it for a moment.
    if (!current->clients.empty() && config->client_keys.empty()) {
      throw std::runtime_error(
          "it lists no client_keys: a reload may not open the API to any client (restart the "
          "router to run without keys)");
    }
    const requestlog::RequestLogSettings request_log = config->request_log;
    const std::string log_level = config->logging.level;
    next = build(std::move(config));
    if (request_log_) request_log_->apply_prompt_settings(request_log);
    logging::set_level(log_level);
    for (const auto& key : fixed) {
      logging::get("config")->warn("{} changed in {}: it takes effect on restart", key,
                                   config_path_);
    }
    if (!current->config->server.admin_key.empty() && next->config->server.admin_key.empty()) {
      logging::get("config")->warn(
          "the reloaded {} sets no server.admin_key: /admin/*, /metrics and /ui now answer "
          "anyone who can reach the router",
          config_path_);
    }
    restart_required_ = std::move(fixed);
  } catch (const std::exception& e) {
    loaded_version_ = stamp_files(config_stamp);
    reloads_failed.fetch_add(1);
    last_reload_.store(ReloadOutcome::failed, std::memory_order_relaxed);
    metrics_.config_reloads.with({"failure"}).inc();
    return std::string(e.what());
  }
  metrics_.config_reloads.with({"success"}).inc();
  {
    std::lock_guard lock(snapshot_mutex_);
    snapshot_ = next;
  }
  generation_.fetch_add(1, std::memory_order_acq_rel);
  // Requests waiting for a slot look again under the new limits (a raised max_concurrency),
  // those waiting for a backend the reload removed too.
  for (auto* health : current->health) health->capacity.wake_all();
  for (auto* health : next->health) health->capacity.wake_all();
  reloads_ok.fetch_add(1);
  last_reload_.store(ReloadOutcome::ok, std::memory_order_relaxed);
  return std::nullopt;
}

std::string_view RouterState::last_reload() const {
  switch (last_reload_.load(std::memory_order_relaxed)) {
    case ReloadOutcome::ok:
      return "ok";
    case ReloadOutcome::failed:
      return "failed";
    case ReloadOutcome::none:
      break;
  }
  return "none";
}

}  // namespace llm_router::proxy
