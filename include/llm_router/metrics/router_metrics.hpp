#pragma once

#include "llm_router/metrics/registry.hpp"

namespace llm_router::metrics {

// Breaker states as exported by llm_router_backend_breaker_state.
enum class BreakerState { closed = 0, open = 1, half_open = 2 };

// Every metric family the router exports. Built once at startup on a Registry that outlives it,
// then handed (by reference) to whoever records. docs/observability.md describes each one.
struct RouterMetrics {
  explicit RouterMetrics(Registry& registry);

  CounterFamily& requests;               // route, backend, status
  HistogramFamily& request_duration;     // route, backend (seconds)
  HistogramFamily& time_to_first_token;  // route, backend (seconds)
  CounterFamily& input_tokens;           // route, backend
  CounterFamily& output_tokens;          // route, backend
  CounterFamily& cost;                   // route, backend (USD)
  CounterFamily& attempts;               // backend, outcome
  CounterFamily& fallbacks;              // route, from_backend, reason
  CounterFamily& retries;                // backend, reason
  CounterFamily& rate_limit_skips;       // backend: passed over, its rpm/tpm spent
  GaugeFamily& upstream_in_flight;       // backend
  GaugeFamily& upstream_queued;          // backend: waiting for one of its slots
  GaugeFamily& breaker_state;            // backend: 0 closed, 1 open, 2 half-open
  CounterFamily& health_checks;          // backend, result: pass | fail
  CounterFamily& analyzer_categories;    // category
  CounterFamily& semantic_embeddings;    // result: fetched | cached | pending | failed | ...
  CounterFamily& config_reloads;         // result: success | failure
  CounterFamily& request_log_lines;      // outcome: written | dropped | failed
  CounterFamily& requests_refused;       // code: the refusal's error code
  // Per configured client key (its name): what each key's users asked for and spent.
  CounterFamily& client_requests;  // client_key, status
  CounterFamily& client_tokens;    // client_key, type: input | output
  CounterFamily& client_cost;      // client_key (USD)
  GaugeFamily& connections_open;   // -
  GaugeFamily& build_info;         // version: always 1
  // The process collector's families, as Prometheus client libraries name them.
  CounterFamily& process_cpu_seconds;
  GaugeFamily& process_resident_memory;
  GaugeFamily& process_virtual_memory;
  GaugeFamily& process_open_fds;
  GaugeFamily& process_max_fds;
  GaugeFamily& process_start_time;
};

inline void set_breaker_state(Gauge& gauge, BreakerState state) {
  gauge.set(static_cast<double>(state));
}

}  // namespace llm_router::metrics
