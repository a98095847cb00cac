#include "llm_router/metrics/router_metrics.hpp"

namespace llm_router::metrics {

RouterMetrics::RouterMetrics(Registry& registry)
    : requests(registry.counter("llm_router_requests_total",
                                "Requests answered, by route, final backend and HTTP status.",
                                {"route", "backend", "status"})),
      request_duration(
          registry.histogram("llm_router_request_duration_seconds",
                             "Time from the request's arrival to the end of its response.",
                             {"route", "backend"}, latency_buckets_seconds())),
      time_to_first_token(registry.histogram(
          "llm_router_time_to_first_token_seconds",
          "Time from the request's arrival to the first byte (streams: first event) relayed.",
          {"route", "backend"}, latency_buckets_seconds())),
      input_tokens(registry.counter("llm_router_input_tokens_total",
                                    "Prompt tokens reported by the backends.",
                                    {"route", "backend"})),
      output_tokens(registry.counter("llm_router_output_tokens_total",
                                     "Completion tokens reported by the backends.",
                                     {"route", "backend"})),
      cost(registry.counter("llm_router_cost_usd_total",
                            "Estimated spend in US dollars from token usage and backend prices.",
                            {"route", "backend"})),
      attempts(registry.counter("llm_router_upstream_attempts_total",
                                "Upstream attempts by backend and outcome (ok or error kind).",
                                {"backend", "outcome"})),
      fallbacks(
          registry.counter("llm_router_fallbacks_total",
                           "Times a request moved on from a failed backend to the next candidate.",
                           {"route", "from_backend", "reason"})),
      retries(registry.counter("llm_router_retries_total",
                               "Attempts repeated on the same backend, by reason.",
                               {"backend", "reason"})),
      rate_limit_skips(registry.counter(
          "llm_router_rate_limit_skips_total",
          "Times a request passed over a backend because its rpm or tpm budget was spent.",
          {"backend"})),
      upstream_in_flight(registry.gauge("llm_router_upstream_in_flight",
                                        "Upstream exchanges currently open, per backend.",
                                        {"backend"})),
      upstream_queued(registry.gauge(
          "llm_router_upstream_queued",
          "Requests waiting for a slot of a backend at its max_concurrency, per backend.",
          {"backend"})),
      breaker_state(registry.gauge("llm_router_backend_breaker_state",
                                   "Circuit breaker state: 0 closed, 1 open, 2 half-open.",
                                   {"backend"})),
      health_checks(registry.counter("llm_router_health_checks_total",
                                     "Active health checks by backend and result (pass or fail).",
                                     {"backend", "result"})),
      analyzer_categories(registry.counter("llm_router_analyzer_category_total",
                                           "Requests by category assigned by the analyzer.",
                                           {"category"})),
      semantic_embeddings(registry.counter(
          "llm_router_semantic_embeddings_total",
          "Prompt embedding lookups for semantic routing by result: fetched or cached (scores "
          "from the embeddings backend); pending, failed, timeout, bad_response or circuit_open "
          "(local scores).",
          {"result"})),
      config_reloads(registry.counter("llm_router_config_reloads_total",
                                      "Configuration reloads by result (success or failure).",
                                      {"result"})),
      request_log_lines(registry.counter(
          "llm_router_request_log_lines_total",
          "Request log lines by outcome: written, dropped (the writer's queue was full) or "
          "failed (the file could not be written).",
          {"outcome"})),
      requests_refused(registry.counter(
          "llm_router_requests_refused_total",
          "Requests the server refused before routing, by error code: unreadable "
          "(invalid_value), too large (request_too_large, headers_too_large, uri_too_long), "
          "an unmet Expect (expectation_failed), too slow (request_timeout), too many "
          "connections (router_overloaded), arriving while stopping (server_shutting_down).",
          {"code"})),
      client_requests(registry.counter(
          "llm_router_client_requests_total",
          "Requests by the config's client key that sent them (its name) and HTTP status.",
          {"client_key", "status"})),
      client_tokens(registry.counter("llm_router_client_tokens_total",
                                     "Tokens billed for a client key's requests, by type "
                                     "(input: prompts, output: answers).",
                                     {"client_key", "type"})),
      client_cost(registry.counter("llm_router_client_cost_usd_total",
                                   "Estimated spend in US dollars of a client key's requests.",
                                   {"client_key"})),
      connections_open(
          registry.gauge("llm_router_connections_open", "Client connections currently open.")),
      build_info(registry.gauge("llm_router_build_info",
                                "Always 1; the running build's version as a label.", {"version"})),
      process_cpu_seconds(registry.counter("process_cpu_seconds_total",
                                           "Total user and system CPU time spent in seconds.")),
      process_resident_memory(
          registry.gauge("process_resident_memory_bytes", "Resident memory size in bytes.")),
      process_virtual_memory(
          registry.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.")),
      process_open_fds(registry.gauge("process_open_fds", "Number of open file descriptors.")),
      process_max_fds(
          registry.gauge("process_max_fds", "Maximum number of open file descriptors.")),
      process_start_time(registry.gauge("process_start_time_seconds",
                                        "Start time of the process since unix epoch in seconds.")) {
  // Series an alert watches with increase() exist from the start, at 0: one born at 1 (the
  // first failed reload) shows no increase.
  for (const char* result : {"success", "failure"}) config_reloads.with({result});
  for (const char* code :
       {"invalid_value", "request_too_large", "headers_too_large", "uri_too_long",
        "expectation_failed", "request_timeout", "router_overloaded", "server_shutting_down"}) {
    requests_refused.with({code});
  }
}

}  // namespace llm_router::metrics
