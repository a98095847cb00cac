#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llm_router/api/openai_request.hpp"
#include "llm_router/api/response_item_store.hpp"
#include "llm_router/config/config.hpp"
#include "llm_router/core/file.hpp"
#include "llm_router/metrics/registry.hpp"
#include "llm_router/metrics/router_metrics.hpp"
#include "llm_router/metrics/stats.hpp"
#include "llm_router/proxy/runtime.hpp"
#include "llm_router/proxy/sticky_backends.hpp"
#include "llm_router/requestlog/writer.hpp"
#include "llm_router/server/http_types.hpp"

namespace boost::asio {
class io_context;
namespace ssl {
class context;
}
}  // namespace boost::asio

namespace llm_router::proxy {

// What every io thread's handler shares: the current snapshot (swapped whole on reload), the
// live health of backends and the learning state, both kept across reloads.
class RouterState {
 public:
  // Builds the first snapshot; throws ConfigError / std::runtime_error (startup).
  // `io_threads`: one metrics and stats shard per io thread.
  RouterState(std::shared_ptr<const config::Config> config, std::string config_path,
              std::size_t io_threads);

  std::shared_ptr<const Snapshot> snapshot() const;
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // Loads the config file again. On error the old snapshot keeps serving and the error text
  // is returned; on success, nullopt. Blocking (file and model I/O): never on an io thread.
  std::optional<std::string> reload();
  // The server keys the last successful reload found changed but could not apply (listening
  // address, threads, limits and timeouts the server holds): they wait for a restart.
  std::vector<std::string> restart_required() const;
  // The config file and the files it names (api_key_file) as they were when last read (by any
  // reload or at start), identity included (device, inode, size, times: a Kubernetes volume
  // swaps a symlink to a new file, which may keep the old size and time). The file watcher
  // reloads when they differ, so a POST /admin/reload is not repeated, a rotated secret is
  // read, and a reload that failed for a secret not mounted yet is tried again once it is.
  using FilesVersion = std::vector<std::optional<core::FileStamp>>;  // the config file first
  FilesVersion loaded_version() const;
  FilesVersion files_version() const;

  HealthRegistry& health() { return health_; }
  selector::BanditState& bandit() { return bandit_; }
  FeedbackLog& feedback() { return feedback_; }
  // Output items of the Responses sent, for clients' item_reference items.
  api::ResponseItemStore& response_items() { return response_items_; }
  // Sticky routes' conversations and the backend that answered each.
  StickyBackends& sticky_backends() { return sticky_backends_; }
  std::atomic<bool> draining{false};
  // A stop signal came: readiness fails from then on, also while shutdown_delay still serves.
  std::atomic<bool> stopping{false};
  // The server stopped taking connections: sets `draining` and wakes the requests waiting for
  // a backend slot, which are then refused (503) rather than started, so none begins work that
  // drain_timeout would cut.
  void begin_draining();
  std::atomic<std::uint64_t> reloads_ok{0};
  std::atomic<std::uint64_t> reloads_failed{0};
  // How the last reload went: "none" yet, "ok", or "failed" (the old config still serves; the
  // log says why). For /readyz, read without waiting for a reload under way.
  std::string_view last_reload() const;
  const std::string& config_path() const { return config_path_; }
  metrics::Registry& registry() { return registry_; }
  metrics::RouterMetrics& metrics() { return metrics_; }
  metrics::StatsHub& stats() { return stats_; }
  // The JSON request log (null when not configured at startup; its file is fixed then, its
  // prompt settings follow reloads).
  requestlog::RequestLogWriter* request_log() { return request_log_.get(); }
  // Where /metrics reads the number of open client connections (the server owns the count).
  void count_connections_with(std::function<std::int64_t()> source) {
    connections_open_ = std::move(source);
  }
  std::int64_t connections_open() const { return connections_open_ ? connections_open_() : 0; }
  // Where /metrics reads the requests the server refused before routing, by error code.
  using RefusalCounts = std::vector<std::pair<std::string_view, std::uint64_t>>;
  void count_refusals_with(std::function<RefusalCounts()> source) { refusals_ = std::move(source); }
  RefusalCounts refusals() const { return refusals_ ? refusals_() : RefusalCounts{}; }

 private:
  std::shared_ptr<const Snapshot> build(std::shared_ptr<const config::Config> config);

  std::string config_path_;
  metrics::Registry registry_;
  metrics::RouterMetrics metrics_;
  metrics::StatsHub stats_;
  std::unique_ptr<requestlog::RequestLogWriter> request_log_;
  requestlog::RequestLogSettings request_log_started_;  // what the file was opened with
  HealthRegistry health_;
  ClientBudgetRegistry client_budgets_;
  EncoderCache encoders_;
  core::SharedByFile<boost::asio::ssl::context> tls_contexts_;  // of the backends' ca_files
  selector::BanditState bandit_;
  FeedbackLog feedback_;
  api::ResponseItemStore response_items_;
  StickyBackends sticky_backends_;
  std::function<std::int64_t()> connections_open_;
  std::function<RefusalCounts()> refusals_;
  mutable std::mutex snapshot_mutex_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::atomic<std::uint64_t> generation_{0};
  enum class ReloadOutcome : int { none, ok, failed };
  std::atomic<ReloadOutcome> last_reload_{ReloadOutcome::none};
  mutable std::mutex reload_mutex_;
  std::vector<std::string> restart_required_;  // guarded by reload_mutex_
  FilesVersion loaded_version_;                // guarded by reload_mutex_
  std::vector<std::string> other_files_;       // the config's, guarded by reload_mutex_
  FilesVersion stamp_files(std::optional<core::FileStamp> config_stamp) const;
};

// Copies into `next` the server settings fixed for the process (all but admin_key and
// cors_origins, which apply per request) and returns the keys whose value had changed.
std::vector<std::string> keep_process_settings(const config::ServerSettings& running,
                                               config::ServerSettings& next);

// What the router decides for one request, without calling a backend: the analysis, the
// selector's plan (with panic mode and the context-window fallback applied).
struct Decision {
  selector::RequestFacts facts;
  std::optional<analyzer::Analysis> analysis;
  selector::RoutePlan plan;
  bool panic = false;  // every candidate was ejected: tried anyway, soonest-to-recover first
  // Backends of the route's error-class fallbacks (context_window_fallback,
  // content_policy_fallback) that cannot take this request whatever their state (too small a
  // window, no image, tool or JSON support): a failure never sends it to them.
  std::vector<std::size_t> unfit_class_fallbacks;
  // A sticky route's conversation key (empty: none), and whether its remembered backend leads.
  std::string sticky_key;
  bool sticky_hit = false;

  nlohmann::json to_json() const;
};

// A route's alias in `model` becomes the route's name (the alias is kept in
// requested_model): what the request, the dry run and `explain` all route on.
void resolve_alias(api::ParsedRequest& parsed, const config::Config& config);

// A request naming a backend directly is passed through without analysis (nothing routes on
// it), unless `dry_run` asks for it (the dry run and `explain` show everything, and leave the
// live routing state, such as round-robin turns, as it was).
// `dense`: the embeddings backend's reading of the request for semantic scores (null: local).
Decision decide(const Snapshot& snapshot, const selector::BanditState& bandit,
                const api::ParsedRequest& parsed, const server::HttpRequest& request,
                api::Endpoint endpoint, bool dry_run = false,
                const analyzer::DenseQuery* dense = nullptr, StickyBackends* sticky = nullptr);

// What a dry-run body is meant for: chat ("messages"), a legacy completion ("prompt"), the
// Responses API (`input` as items, or a field only that API has) or embeddings (any other
// `input`); chat when unsure. `named` (POST /v1/route?endpoint=, `explain --endpoint`) settles
// a body that could be either, such as {"model", "input": "text"}: "chat/completions" (or
// "chat"), "completions", "embeddings" or "responses"; nullopt for another name.
struct RequestShape {
  api::Endpoint endpoint = api::Endpoint::chat_completions;
  bool responses = false;  // a Responses body, decided on the chat request it becomes
  std::string_view name() const;
};
std::optional<RequestShape> request_shape(std::string_view body,
                                          std::optional<std::string_view> named = std::nullopt);

// The router's HTTP endpoints for one io thread (OpenAI API, routing, admin, health), with its
// own upstream providers and connection pools.
std::unique_ptr<server::RequestHandler> make_router_handler(
    std::shared_ptr<RouterState> state, boost::asio::io_context& io,
    std::shared_ptr<boost::asio::ssl::context> tls, std::size_t thread_index);

}  // namespace llm_router::proxy
