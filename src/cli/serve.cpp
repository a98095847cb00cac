#include <sys/resource.h>

#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include "llm_router/cli/commands.hpp"
#include "llm_router/cli/options.hpp"
#include "llm_router/config/config.hpp"
#include "llm_router/core/cpu_count.hpp"
#include "llm_router/core/file.hpp"
#include "llm_router/core/logging.hpp"
#include "llm_router/proxy/router_handler.hpp"
#include "llm_router/server/http_server.hpp"
#include "llm_router/upstream/providers.hpp"

#include <nlohmann/json.hpp>

namespace llm_router::cli {
namespace {

server::ServerLimits limits_from(const config::ServerSettings& s) {
  server::ServerLimits limits;
  limits.max_body_bytes = s.max_body_bytes;
  limits.max_body_memory = s.max_body_memory;
  limits.max_header_bytes = s.max_header_bytes;
  limits.header_timeout = s.header_timeout;
  limits.body_timeout = s.body_timeout;
  limits.write_timeout = s.write_timeout;
  limits.idle_timeout = s.idle_timeout;
  limits.max_connections = s.max_connections;
  limits.drain_timeout = s.drain_timeout;
  limits.shutdown_delay = s.shutdown_delay;
  return limits;
}

// Each client connection takes a descriptor and each upstream connection another; a service's
// soft limit is often 1024 while its hard limit allows far more (as Go's runtime and nginx's
// worker_rlimit_nofile do, the soft limit is raised to the hard one). Warns when even that
// cannot hold max_connections and their upstream connections.
void raise_descriptor_limit(int max_connections) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  const auto needed = static_cast<rlim_t>(max_connections) * 2 + 64;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
    spdlog::warn(
        "the open-file limit ({}) is below what server.max_connections ({}) may need with one "
        "upstream connection each ({}): raise it (ulimit -n, LimitNOFILE=, docker --ulimit "
        "nofile=) or lower max_connections; past it new connections wait and backends cannot be "
        "reached",
        static_cast<unsigned long long>(limit.rlim_cur), max_connections,
        static_cast<unsigned long long>(needed));
  }
}

void reload_and_log(proxy::RouterState& state, const char* trigger) {
  if (auto error = state.reload()) {
    spdlog::error("config reload ({}) rejected, the old config keeps serving: {}", trigger,
                  logging::one_line(*error));
  } else {
    spdlog::info("config reloaded ({}) from {}, generation {}", trigger, state.config_path(),
                 state.generation());
  }
}

void load_bandit_state(proxy::RouterState& state, const std::string& path) {
  std::ifstream in(path);
  if (!in) return;  // first start: nothing learned yet
  const auto doc = nlohmann::json::parse(in, nullptr, false);
  if (!state.bandit().from_json(doc)) {
    spdlog::warn("ignoring unreadable bandit state in {}", path);
  } else {
    spdlog::info("bandit state restored from {}", path);
  }
}

void save_bandit_state(proxy::RouterState& state, const std::string& path) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    if (!out) {
      spdlog::warn("cannot write bandit state to {}: {}", temporary, std::strerror(errno));
      return;
    }
    out << state.bandit().to_json().dump();
  }
  std::rename(temporary.c_str(), path.c_str());  // atomic: a crash never leaves half a file
}

// Off the io threads, once a second: reloads the config when its file changed (when watching)
// and saves the bandit's learning every 30 s (when a state file is configured).
class Housekeeper {
 public:
  Housekeeper(proxy::RouterState& state, bool watch, std::string state_file)
      : state_(state),
        watch_(watch),
        state_file_(std::move(state_file)),
        thread_([this] { run(); }) {}
  ~Housekeeper() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
    if (!state_file_.empty()) save_bandit_state(state_, state_file_);
  }

 private:
  // Changed since a reload last read it (this watcher's, SIGHUP's or POST /admin/reload's).
  bool changed_since_read() const {
    const auto now = state_.files_version();
    return now.front() && now != state_.loaded_version();
  }

  void run() {
    std::unique_lock lock(mutex_);
    for (int tick = 1; !wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stop_; });
         ++tick) {
      lock.unlock();
      if (!state_file_.empty() && tick % 30 == 0) save_bandit_state(state_, state_file_);
      if (watch_ && changed_since_read()) reload_and_log(state_, "file changed");
      lock.lock();
    }
  }

  proxy::RouterState& state_;
  bool watch_;
  std::string state_file_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

// Reloads, stats and metrics answer anyone without server.admin_key: fine on loopback, worth
// a warning anywhere else.
void warn_if_admin_is_open(const config::ServerSettings& server) {
  if (!server.admin_key.empty()) return;
  const std::string& host = server.listen_host;
  if (host == "127.0.0.1" || host == "::1" || host == "localhost") return;
  spdlog::warn(
      "server.admin_key is not set: /admin/*, /metrics and /ui answer anyone who can "
      "reach {} (set LLM_ROUTER_ADMIN_KEY with the shipped config)",
      config::format_listen(host, server.listen_port));
}

}  // namespace

int run_serve(const std::vector<std::string>& args) {
  Options options(args);
  const auto path = options.value("--config");
  const auto listen = options.value("--listen");
  if (!path || !options.ok()) {
    std::cerr << "usage: llm-router serve --config FILE [--listen HOST:PORT]\n"
              << options.problems();
    return 2;
  }
  std::shared_ptr<config::Config> config;
  std::shared_ptr<proxy::RouterState> state;
  try {
    config = std::make_shared<config::Config>(config::load_config_file(*path));
    if (listen) {
      auto parsed = config::parse_listen(*listen);
      if (!parsed) {
        std::cerr << "--listen must be HOST:PORT, got '" << *listen << "'\n";
        return 2;
      }
      std::tie(config->server.listen_host, config->server.listen_port) = *parsed;
    }
    logging::setup(config->logging.level, config->logging.json);
    const int threads =
        config->server.threads > 0 ? config->server.threads : core::usable_cpu_count();
    config->server.threads = threads;
    state = std::make_shared<proxy::RouterState>(config, *path, static_cast<std::size_t>(threads));
  } catch (const config::ConfigError& e) {
    for (const auto& d : e.diagnostics()) std::cerr << d.format() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "llm-router: " << e.what() << "\n";
    return 1;
  }
  std::signal(SIGPIPE, SIG_IGN);
  raise_descriptor_limit(config->server.max_connections);

  auto tls = upstream::make_tls_context();
  server::HttpServer server(config->server.threads, limits_from(config->server),
                            [&](boost::asio::io_context& io, std::size_t index) {
                              return proxy::make_router_handler(state, io, tls, index);
                            });
  server.on_stop_requested([&] { state->stopping.store(true); });
  server.on_drain([&] { state->begin_draining(); });
  state->count_connections_with([&server] { return server.counters().connections_open.load(); });
  state->count_refusals_with([&server] {
    proxy::RouterState::RefusalCounts counts;
    const auto& refused = server.counters().refused;
    for (std::size_t kind = 0; kind < refused.size(); ++kind) {
      if (const auto n = refused[kind].load(std::memory_order_relaxed); n > 0) {
        counts.emplace_back(traits(static_cast<ErrorKind>(kind)).code, n);
      }
    }
    return counts;
  });
  server.on_sighup([state] {
    // Loading reads files: off the io thread.
    std::thread([state] { reload_and_log(*state, "SIGHUP"); }).detach();
  });
  std::uint16_t port = 0;
  try {
    port = server.listen(config->server.listen_host, config->server.listen_port);
  } catch (const std::exception& e) {
    std::cerr << "cannot listen on "
              << config::format_listen(config->server.listen_host, config->server.listen_port)
              << ": " << e.what() << "\n";
    return 1;
  }
  if (const std::string& file = config->server.state_file; !file.empty()) {
    // Found now, not at the first save 30 s in (a read-only root filesystem).
    if (const auto problem = core::replaceable_file_problem(file); !problem.empty()) {
      std::cerr << "server.state_file: cannot write '" << file << "': " << problem << "\n";
      return 1;
    }
    load_bandit_state(*state, file);
  }
  Housekeeper housekeeper(*state, config->server.watch_config, config->server.state_file);
  server.run(/*handle_signals=*/true, [&] {
    std::cout << "llm-router listening on "
              << config::format_listen(config->server.listen_host, port) << std::endl;
    spdlog::info("llm-router serving {} backends and {} routes from {} on {} io threads",
                 config->backends.size(), config->routes.size(), config->source,
                 config->server.threads);
    warn_if_admin_is_open(config->server);
    for (const auto& advice : config::advisories(*config)) spdlog::warn("config: {}", advice);
  });
  spdlog::info("llm-router stopped");
  return 0;
}

}  // namespace llm_router::cli
