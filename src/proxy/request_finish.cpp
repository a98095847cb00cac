// A request's end, however it ended: its client key's budgets settled, and one access log line,
// one request log entry and its metrics.
#include <charconv>
#include <cmath>
#include <cstring>

#include "llm_router/metrics/cost.hpp"
#include "rate_limits.hpp"
#include "request_path.hpp"
#include "router_handler.hpp"
#include "upstream_failures.hpp"

namespace llm_router::proxy {

namespace {

// What `usage` from `backend` cost (0 for a backend no longer configured).
double spend_usd(const config::Config& config, const std::string& backend,
                 const api::Usage& usage) {
  const auto* b = config.find_backend(backend);
  return b ? metrics::cost_usd(usage.prompt_tokens, usage.completion_tokens,
                               usage.cached_prompt_tokens, b->cost)
           : 0.0;
}

// The client key's tpm pays what the request's answers used beyond its reservation; a request
// the router refused before any backend was sent it (overloaded, every backend at its limits,
// an unknown model) gives its rpm back too: the client pays for answers, not for the gateway's
// own limits.
void settle_client_budgets(const RequestRecord& record) {
  if (!record.client_charged) return;
  const api::Usage paid = record.paid_usage();
  const RateBudgets budgets = budgets_of(*record.client);
  settle_tokens(budgets, record.client_reserved, paid.prompt_tokens + paid.completion_tokens);
  if (std::all_of(record.attempts.begin(), record.attempts.end(), skipped)) {
    refund_request(budgets);
  }
}

}  // namespace

void RouterHandler::finish_request(const RequestRecord& record) {
  settle_client_budgets(record);
  if (!record.sticky_key.empty() && record.status == 200 && !record.backend.empty()) {
    state_->sticky_backends().remember(record.route, record.sticky_key, record.backend,
                                       StickyBackends::Clock::now() + record.sticky_ttl);
  }
  const double latency = millis_since(record.start, std::chrono::steady_clock::now());
  log_request(record, latency);
  record_metrics(record, latency);
  write_request_log(record, latency);
}

void RouterHandler::write_request_log(const RequestRecord& record, double latency_ms) {
  auto* log = state_->request_log();
  if (log == nullptr) return;
  requestlog::RequestLogEntry entry;
  entry.id = record.id;
  entry.client_key_id = record.client_key_id;
  entry.time = record.arrived;
  entry.route = record.route;
  entry.rule = record.rule;
  entry.strategy = record.strategy;
  entry.category = record.category;
  entry.complexity = record.complexity;
  entry.candidates = record.candidates;
  entry.excluded = record.excluded;
  const int answered = record.answered_status != 0 ? record.answered_status : record.status;
  for (const auto& a : record.attempts) {
    entry.attempts.push_back({a.backend, a.failure ? a.failure->upstream_status : answered,
                              a.failure ? std::string(name(a.failure->kind)) : "ok", a.latency_ms});
  }
  entry.backend = record.backend;
  entry.upstream_request_id = record.upstream_request_id;
  const api::Usage paid = record.paid_usage();  // answers set aside (cascade) were paid too
  entry.input_tokens = paid.prompt_tokens;
  entry.output_tokens = paid.completion_tokens;
  const config::Config& config = record.config_or(*snapshot_->config);
  entry.cost_usd = spend_usd(config, record.backend, record.usage);
  for (const auto& spent : record.discarded) {
    entry.cost_usd += spend_usd(config, spent.backend, spent.usage);
  }
  entry.status = record.status;
  entry.latency_ms = latency_ms;
  if (record.first_byte.time_since_epoch().count() != 0) {
    entry.ttft_ms = millis_since(record.start, record.first_byte);
  }
  entry.stream = record.stream;
  entry.usage_estimated = record.usage_estimated;
  entry.user = record.user;
  entry.model = record.requested_model;
  entry.prompt = record.prompt;
  log->submit(std::move(entry));
}

RouterHandler::PairSeries& RouterHandler::pair_series(std::string_view route,
                                                      std::string_view backend) {
  pair_key_.assign(route);
  pair_key_.push_back('\xff');  // not valid UTF-8, so it cannot appear inside a name
  pair_key_.append(backend);
  if (auto it = pair_series_.find(pair_key_); it != pair_series_.end()) return it->second;
  return pair_series_.emplace(pair_key_, PairSeries{}).first->second;
}

template <typename Metric>
Metric& RouterHandler::series(Metric*& slot, metrics::Family<Metric>& family,
                              std::string_view route, std::string_view backend) {
  if (slot == nullptr) slot = &family.with({route, backend});
  return *slot;
}

void RouterHandler::record_metrics(const RequestRecord& record, double latency_ms) {
  // (std::string_view on both sides: a ternary of "-" and a std::string makes a temporary.)
  const std::string_view route = record.route.empty() ? std::string_view("-") : record.route;
  const std::string_view backend = record.backend.empty() ? std::string_view("-") : record.backend;
  const std::string status = std::to_string(record.status);
  requests_metric_.with({route, backend, status}).inc();
  const auto& families = state_->metrics();
  PairSeries& pair = pair_series(route, backend);
  series(pair.duration, families.request_duration, route, backend).observe(latency_ms / 1000);
  const bool answered = record.first_byte.time_since_epoch().count() != 0;
  const double ttft_ms = answered ? millis_since(record.start, record.first_byte) : 0;
  if (answered)
    series(pair.ttft, families.time_to_first_token, route, backend).observe(ttft_ms / 1000);
  series(pair.input_tokens, families.input_tokens, route, backend)
      .add(static_cast<double>(record.usage.prompt_tokens));
  series(pair.output_tokens, families.output_tokens, route, backend)
      .add(static_cast<double>(record.usage.completion_tokens));
  double cost = 0;
  const config::Config& config = record.config_or(*snapshot_->config);
  if (const auto* b = config.find_backend(record.backend)) {
    cost = metrics::cost_usd(record.usage.prompt_tokens, record.usage.completion_tokens,
                             record.usage.cached_prompt_tokens, b->cost);
    series(pair.cost, families.cost, route, backend).add(cost);
  }
  std::vector<metrics::RequestSummary::Spend> set_aside;
  for (const auto& spent : record.discarded) {
    // Generated and billed, then set aside (cascade): the spend is the request's too.
    const std::string_view by = spent.backend;
    PairSeries& spender = pair_series(route, by);
    series(spender.input_tokens, families.input_tokens, route, by)
        .add(static_cast<double>(spent.usage.prompt_tokens));
    series(spender.output_tokens, families.output_tokens, route, by)
        .add(static_cast<double>(spent.usage.completion_tokens));
    const double wasted = spend_usd(config, spent.backend, spent.usage);
    series(spender.cost, families.cost, route, by).add(wasted);
    cost += wasted;
    set_aside.push_back(
        {spent.backend, spent.usage.prompt_tokens, spent.usage.completion_tokens, wasted});
  }
  if (!record.category.empty()) categories_metric_.with({record.category}).inc();
  if (record.client) {
    const std::string_view key = record.client->name;
    const api::Usage paid = record.paid_usage();
    client_requests_metric_.with({key, status}).inc();
    client_tokens_metric_.with({key, "input"}).add(static_cast<double>(paid.prompt_tokens));
    client_tokens_metric_.with({key, "output"}).add(static_cast<double>(paid.completion_tokens));
    client_cost_metric_.with({key}).add(cost);
  }
  metrics::RequestSummary summary;
  summary.id = record.id;
  // With client keys configured, a key that is none of them counts in one entry: refused keys
  // (a different one on every 401) would crowd the configured keys out of the stats.
  summary.client_key_id =
      record.client || snapshot_->clients.empty() ? record.client_key_id : "(unknown key)";
  summary.route = record.route;
  summary.rule = record.rule;
  summary.backend = record.backend;
  summary.category = record.category;
  summary.status = record.status;
  summary.client_limited = record.client_limited;
  summary.latency_seconds = latency_ms / 1000;
  if (answered) summary.ttft_seconds = ttft_ms / 1000;
  const api::Usage paid = record.paid_usage();
  summary.input_tokens = paid.prompt_tokens;
  summary.output_tokens = paid.completion_tokens;
  summary.cost_usd = cost;
  summary.set_aside = std::move(set_aside);
  summary.attempts = 0;
  const Attempt* previous = nullptr;
  for (const auto& a : record.attempts) {
    // A skipped backend was sent nothing: no attempt (an alert on failed attempts must not
    // rise while the breaker protects a backend). The decision header and the request log
    // still list it, and moving past it is a fallback.
    if (skipped(a)) continue;
    ++summary.attempts;
    const std::string_view outcome = a.failure ? name(a.failure->kind) : "ok";
    attempts_metric_.with({a.backend, outcome}).inc();
    // Failed as the backend's failure: not a lost hedge, an attempt the client's leaving
    // cancelled, nor the request's own fault (a relayed 400, a prompt over the context window).
    if (a.failure && counts_against_backend(a.failure->kind)) {
      summary.failed_backends.push_back(a.backend);
    }
    // A retry counts under the failure that caused it, whether or not it then succeeded.
    if (previous && previous->failure && previous->backend == a.backend) {
      retries_metric_.with({a.backend, name(previous->failure->kind)}).inc();
    }
    previous = &a;
  }
  for (std::size_t i = 1; i < record.attempts.size(); ++i) {
    const auto& from = record.attempts[i - 1];
    // A hedge that lost the race did not fail: nothing fell back.
    if (from.failure && from.failure->kind != ErrorKind::hedge_lost &&
        from.backend != record.attempts[i].backend) {
      fallbacks_metric_.with({route, from.backend, name(from.failure->kind)}).inc();
      summary.fell_back = true;
    }
  }
  state_->stats().shard(thread_index_).record(summary);
}

namespace {

// The access line is built with plain copies into the stack: one line per request, where a
// formatting library's argument handling and buffer growth showed in profiles.
class AccessLine {
 public:
  // Small enough to be inlined where it is called: a line is ~30 pieces, most of them literals.
  AccessLine& text(std::string_view value) {
    if (value.size() <= sizeof bytes_ - size_) {
      std::memcpy(bytes_ + size_, value.data(), value.size());
      size_ += value.size();
      return *this;
    }
    return spill(value);
  }
  AccessLine& text_or_dash(std::string_view value) { return text(value.empty() ? "-" : value); }
  AccessLine& number(long long value) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    return text({digits, static_cast<std::size_t>(end - digits)});
  }
  // Milliseconds with one decimal, as "12.3".
  AccessLine& millis(double value) {
    const auto tenths = static_cast<long long>(std::llround(std::max(value, 0.0) * 10));
    number(tenths / 10);
    const char fraction[] = {'.', static_cast<char>('0' + tenths % 10)};
    return text({fraction, sizeof fraction});
  }
  std::string_view view() const {
    return spilled_ ? std::string_view(spill_) : std::string_view(bytes_, size_);
  }

 private:
  // Once spilled, the stack bytes count as full, so every later piece comes here too.
  [[gnu::noinline]] AccessLine& spill(std::string_view value) {
    if (!spilled_) spill_.assign(bytes_, size_);
    spilled_ = true;
    size_ = sizeof bytes_;
    spill_.append(value);
    return *this;
  }

  char bytes_[768];  // an access line is ~300 bytes: longer ones spill to the heap
  std::size_t size_ = 0;
  bool spilled_ = false;
  std::string spill_;
};

}  // namespace

void RouterHandler::log_request(const RequestRecord& record, double latency_ms) const {
  if (!log_->should_log(spdlog::level::info)) return;
  AccessLine line;
  line.text("request_id=").text(record.id).text(" route=").text_or_dash(record.route);
  line.text(" rule=").text_or_dash(record.rule).text(" strategy=").text_or_dash(record.strategy);
  line.text(" backend=").text_or_dash(record.backend).text(" status=").number(record.status);
  // Quoted: each attempt reads name=outcome, and a logfmt value holds no bare `=`.
  line.text(" stream=").text(record.stream ? "true" : "false").text(" attempts=\"[");
  for (std::size_t i = 0; i < record.attempts.size(); ++i) {
    if (i > 0) line.text(",");
    line.text(describe(record.attempts[i]));
  }
  line.text("]\" latency_ms=").millis(latency_ms).text(" ttfb_ms=");
  if (record.first_byte.time_since_epoch().count() == 0) {
    line.text("-");  // nothing was sent
  } else {
    line.millis(millis_since(record.start, record.first_byte));
  }
  // Answers set aside (cascade) were paid for too, as the request log and metrics count them.
  const api::Usage paid = record.paid_usage();
  line.text(" prompt_tokens=").number(paid.prompt_tokens);
  line.text(" completion_tokens=").number(paid.completion_tokens);
  line.text(" key=").text_or_dash(record.client_key_id);
  if (record.panic) line.text(" panic=true");
  if (record.usage_estimated) line.text(" usage=estimated");
  if (record.client_too_slow) line.text(" client=too_slow");
  log_->info(line.view());
}

}  // namespace llm_router::proxy
