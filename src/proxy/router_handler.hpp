#pragma once

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "llm_router/api/openai_request.hpp"
#include "llm_router/core/logging.hpp"
#include "llm_router/proxy/router_handler.hpp"
#include "llm_router/requestlog/entry.hpp"
#include "llm_router/selector/plan.hpp"
#include "llm_router/selector/request_facts.hpp"
#include "llm_router/upstream/exchange.hpp"
#include "semantic_embeddings.hpp"

namespace llm_router::proxy {

namespace asio = boost::asio;
struct KnownPath;  // one of the paths the handler answers (router_handler.cpp)
using server::Header;
using server::Headers;
using server::HttpRequest;
using server::ResponseWriter;

class HealthProber;

// How one attempt ended, for the client's error message, the headers and the log.
struct Attempt {
  std::string backend;
  std::optional<Failure> failure;  // empty: this attempt answered the client
  double latency_ms = 0;
};

// One request's journey, filled as it goes and logged once at the end.
struct RequestRecord {
  std::string id;
  // Where the answer handed to deliver_body has its top-level usage (npos: none), found when
  // it was checked; set just before the call and taken by it (nullopt: not known, look).
  std::optional<std::size_t> answer_usage_at;
  std::vector<std::size_t> unfit_class_fallbacks;  // see Decision
  std::string sticky_key;                          // see Decision
  std::chrono::milliseconds sticky_ttl{0};
  std::string client_key_id;
  std::string user;  // the body's `user` (the end user's id), kept for the request log only
  std::string requested_model;        // `model` as the client sent it, for the request log
  std::optional<ClientEntry> client;  // the config's client key it presented, if any
  bool client_charged = false;        // its rpm/tpm budgets paid for the request
  std::string route;
  std::string rule;
  std::string strategy;
  std::string backend;
  std::string category;
  std::optional<double> complexity;
  std::int64_t estimated_tokens = 0;  // the prompt's, as context windows see it
  // What backends' tpm budgets take for it (selector::tokens_to_reserve), and what its client
  // key's took (from the request scanner's estimate, before any analysis).
  std::int64_t reserved_tokens = 0;
  std::int64_t client_reserved = 0;
  std::vector<std::string> candidates;
  std::vector<requestlog::ExclusionLog> excluded;  // kept only when the request log is on
  std::optional<std::string> prompt;               // only kept when the request log records prompts
  std::chrono::system_clock::time_point arrived = std::chrono::system_clock::now();
  std::vector<Attempt> attempts;
  int status = 0;
  int answered_status = 0;  // what the answering backend said (status is 499 if the client left)
  std::string upstream_request_id;  // the answering backend's own x-request-id
  bool stream = false;
  bool panic = false;
  api::Usage usage;
  bool usage_estimated = false;            // the backend reported none
  bool client_too_slow = false;            // 499 because the client took nothing for write_timeout
  bool client_limited = false;             // 429 for its client key's own rpm/tpm
  bool usage_reported = false;             // a stream chunk carried usage
  std::optional<std::string> stream_text;  // generated text, when it is collected for counting
  long long content_events = 0;
  long long kept_text_events = 0;  // the content events whose text stream_text holds
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point first_byte;
  Headers last_upstream_headers;  // retry-after and rate-limit headers of the last failure
  // A backend's OpenAI-shaped refusal of the request's content (context length, content
  // policy): what the client is given, as the backend wrote it (Azure's content filter
  // results, the blamed field), when no other backend answers after it.
  struct Refusal {
    std::size_t attempt = 0;  // its index in attempts
    int status = 0;
    std::string body;
  };
  std::optional<Refusal> refusal;
  std::chrono::milliseconds longest_retry_after{0};  // the longest any failed attempt asked for
  // Until the first backend skipped as ejected takes a trial again (0: none skipped).
  std::optional<std::chrono::milliseconds> soonest_reopening;
  // Answers generated (and billed by their provider) but not delivered: a cascade's weak
  // answer set aside for a stronger one. Counted in the token and cost metrics too.
  struct Spent {
    std::string backend;
    api::Usage usage;
  };
  std::vector<Spent> discarded;
  // The tokens the request was billed for: its answer's and those set aside.
  api::Usage paid_usage() const {
    api::Usage paid = usage;
    for (const auto& spent : discarded) {
      paid.prompt_tokens += spent.usage.prompt_tokens;
      paid.completion_tokens += spent.usage.completion_tokens;
      paid.cached_prompt_tokens += spent.usage.cached_prompt_tokens;
    }
    return paid;
  }
  // The config the request started on (null: refused before routing): its prices are what the
  // request cost, whatever a reload changed or removed while it ran.
  std::shared_ptr<const config::Config> config;
  const config::Config& config_or(const config::Config& current) const {
    return config ? *config : current;
  }
};

// The providers of one snapshot on one io thread. Providers of unchanged backends are carried
// over on reload, so their connection pools survive it.
struct ProviderSet {
  std::vector<std::shared_ptr<upstream::Provider>> by_index;
  std::vector<config::Backend> backends;                 // what each provider was made for
  std::vector<std::shared_ptr<asio::ssl::context>> tls;  // and with which TLS settings
};

// Everything one completion request works with, fixed when it starts.
struct RequestScope {
  std::shared_ptr<const Snapshot> snapshot;
  std::shared_ptr<ProviderSet> providers;
  const config::Route* route = nullptr;  // null when the client named a backend
  upstream::Clock::time_point deadline;
  upstream::Clock::time_point arrived = upstream::Clock::now();
};

// A stream's usage chunk: whether the client asked for one (stream_options.include_usage),
// and how to count the usage when the backend sends none (the client then gets the count).
struct StreamUsage {
  bool client_wants = false;
  int choices = 1;  // the request's n: a stream cut after a finish_reason is whole only for 1
  std::function<void()> count_missing;  // sets record.usage (estimated)
};

// The backends a request has still to try, in order; fallbacks chosen on a failure go to the
// front. A vector kept back to front (a std::deque allocated twice for every request).
class AttemptQueue {
 public:
  explicit AttemptQueue(std::vector<std::size_t> order) : reversed_(std::move(order)) {
    std::reverse(reversed_.begin(), reversed_.end());
  }
  bool empty() const { return reversed_.empty(); }
  std::size_t pop_front() {
    const std::size_t index = reversed_.back();
    reversed_.pop_back();
    return index;
  }
  void push_front(std::size_t index) { reversed_.push_back(index); }
  auto begin() const { return reversed_.rbegin(); }
  auto end() const { return reversed_.rend(); }

 private:
  std::vector<std::size_t> reversed_;
};

class RouterHandler final : public server::RequestHandler {
 public:
  RouterHandler(std::shared_ptr<RouterState> state, asio::io_context& io,
                std::shared_ptr<asio::ssl::context> tls, std::size_t thread_index);
  ~RouterHandler() override;

  asio::awaitable<void> handle(HttpRequest& request, ResponseWriter& writer) override;
  bool wants_body(const HttpRequest& head) override;
  void shutdown() override;

 private:
  // What an attempt came to: answered (the client has its response) or a failure.
  struct AttemptResult {
    bool answered = false;
    std::optional<Failure> failure;
    // Answered, but the backend failed after the answer was committed (a stream that broke,
    // carried an error event or ended early): too late to fall back, not a success either.
    std::optional<Failure> broke_after_commit;
    std::chrono::milliseconds retry_after{0};
    std::string weak_answer;  // cascade: a weak but usable body, sent if nothing better comes
    Headers weak_headers;
    bool hedged = false;         // a hedged race: its attempts, breaker and learning are recorded
    bool ended_by_done = false;  // a stream relayed up to its [DONE]
    // Answered with the backend's refusal of the request itself (a relayed 400/413/422): no
    // verdict on the backend's health, for its breaker or the strategies.
    bool client_error = false;
  };

  void refresh_snapshot();
  // After a relayed [DONE]: the backend's response ends (its connection then pooled) or is
  // dropped, without holding the request.
  void end_after_done(std::unique_ptr<upstream::Exchange> exchange,
                      std::shared_ptr<ProviderSet> providers);
  // The request's id (the client's x-request-id when acceptable) and client key id.
  void name_record(const HttpRequest& request, RequestRecord& record) const;
  // A request refused before the pipeline: answered, logged and counted as one.
  asio::awaitable<void> refuse_request(const HttpRequest& request, ResponseWriter& writer,
                                       const Failure& failure);
  asio::awaitable<void> refuse_request(const HttpRequest& request, ResponseWriter& writer,
                                       int status, std::string body);
  // A request refused before its body was read (`path` as routing reads it): as above for the
  // model calls, a plain answer for the other paths.
  asio::awaitable<void> refuse_unread(const HttpRequest& request, ResponseWriter& writer,
                                      std::string_view path, int status, std::string body);
  // POST /v1/responses: the call as a chat completion, answered in the Responses API's shape.
  asio::awaitable<void> responses(HttpRequest& request, ResponseWriter& writer);
  asio::awaitable<void> completion(HttpRequest& request, ResponseWriter& writer,
                                   api::Endpoint endpoint);
  asio::awaitable<void> run_plan(const HttpRequest& request, ResponseWriter& writer,
                                 const api::ParsedRequest& parsed, api::Endpoint endpoint,
                                 const selector::RoutePlan& plan, RequestScope& scope,
                                 RequestRecord& record);
  asio::awaitable<AttemptResult> attempt(const HttpRequest& request, ResponseWriter& writer,
                                         const api::ParsedRequest& parsed, api::Endpoint endpoint,
                                         std::size_t index, RequestScope& scope,
                                         RequestRecord& record, bool may_cascade);
  // Hedged: the attempt on `index` and, when it has not committed `after` the start, a duplicate
  // on the next eligible candidate of `queue` (marked in `tried`); the first to commit answers.
  // A failure is the first attempt's (the other one failed too, or was never sent).
  asio::awaitable<AttemptResult> hedged_attempt(const HttpRequest& request, ResponseWriter& writer,
                                                const api::ParsedRequest& parsed,
                                                api::Endpoint endpoint, std::size_t index,
                                                const AttemptQueue& queue, std::vector<bool>& tried,
                                                RequestScope& scope, RequestRecord& record);
  asio::awaitable<AttemptResult> relay_body(upstream::Exchange& exchange, ResponseWriter& writer,
                                            const api::ParsedRequest& parsed,
                                            api::Endpoint endpoint, RequestScope& scope,
                                            std::size_t index, RequestRecord& record,
                                            Headers headers, bool may_cascade);
  // The stream of the attempt on `backend` begun at `began`; its first content tells the
  // backend's breaker it answers.
  asio::awaitable<AttemptResult> relay_stream(upstream::Exchange& exchange, ResponseWriter& writer,
                                              RequestRecord& record, Headers headers,
                                              const StreamUsage& usage, BackendHealth& health,
                                              upstream::Clock::time_point began,
                                              bool filtered_falls_back);
  // Sends a non-stream body that is in hand (record.usage, status and first_byte are set).
  asio::awaitable<void> deliver_body(std::string body, int status, ResponseWriter& writer,
                                     const api::ParsedRequest& parsed, api::Endpoint endpoint,
                                     RequestScope& scope, std::size_t index, RequestRecord& record,
                                     Headers headers);
  // Sends a stream whose events up to the commit point are `held`, then relays the rest.
  asio::awaitable<AttemptResult> deliver_stream(upstream::Exchange& exchange,
                                                ResponseWriter& writer, RequestRecord& record,
                                                Headers headers, const StreamUsage& usage,
                                                std::vector<api::SseEvent> held);
  // drain_timeout cancelled the request before any answer: a 503 the client can retry.
  asio::awaitable<void> send_shutting_down(ResponseWriter& writer, RequestRecord& record);
  asio::awaitable<void> send_all_failed(ResponseWriter& writer, RequestRecord& record);
  // The last backend's refusal of the request's content, as it wrote it (record.refusal).
  asio::awaitable<void> send_refusal(ResponseWriter& writer, RequestRecord& record);
  enum class CapacityWait { slot_freed, timed_out, queues_full, draining };
  // Takes the request from its client key's rpm/tpm: nullopt when it may go, else how long
  // until it could.
  std::optional<std::chrono::milliseconds> charge_client(RequestRecord& record);
  asio::awaitable<void> send_too_large_for_client(ResponseWriter& writer, RequestRecord& record);
  asio::awaitable<void> send_client_rate_limited(ResponseWriter& writer, RequestRecord& record,
                                                 std::chrono::milliseconds wait);
  asio::awaitable<void> send_plan_failure(ResponseWriter& writer, const selector::RoutePlan& plan,
                                          const Snapshot& snapshot, RequestRecord& record,
                                          CapacityWait waited = CapacityWait::timed_out);
  // Queues the request on its full backends until one frees a slot (plan again), or until the
  // backends' queue_timeout since `arrived` or the request's `deadline` passes, or at once when
  // every queue is full (answer 429).
  asio::awaitable<CapacityWait> wait_for_capacity(const Snapshot& snapshot,
                                                  std::vector<std::size_t> full_backends,
                                                  upstream::Clock::time_point arrived,
                                                  upstream::Clock::time_point deadline);
  asio::awaitable<void> sleep_for(std::chrono::milliseconds duration);

  std::optional<std::pair<int, std::string>> decode_body(HttpRequest& request) const;
  // handle() after the cross-origin checks; `path` without "/v1", `known` its entry (or null).
  asio::awaitable<void> answer(HttpRequest& request, ResponseWriter& writer, std::string_view path,
                               const KnownPath* known);
  void log_access(const HttpRequest& request, std::string_view request_id, int status,
                  std::chrono::steady_clock::time_point start) const;
  asio::awaitable<void> dispatch(HttpRequest& request, ResponseWriter& writer,
                                 std::string_view path, const KnownPath* known);
  asio::awaitable<void> answer_preflight(const HttpRequest& request, ResponseWriter& writer,
                                         const std::string& allow_origin);
  asio::awaitable<void> send_json(ResponseWriter& writer, int status, std::string body,
                                  Headers extra = {});
  asio::awaitable<void> send_error(ResponseWriter& writer, const Failure& failure,
                                   Headers extra = {});
  asio::awaitable<void> models(const HttpRequest& request, ResponseWriter& writer);
  asio::awaitable<void> model(const HttpRequest& request, std::string_view id,
                              ResponseWriter& writer);
  asio::awaitable<void> readiness(ResponseWriter& writer);
  asio::awaitable<void> route_dry_run(HttpRequest& request, ResponseWriter& writer);
  asio::awaitable<void> feedback(HttpRequest& request, ResponseWriter& writer);
  asio::awaitable<void> admin_reload(ResponseWriter& writer);
  asio::awaitable<void> prometheus(ResponseWriter& writer);
  asio::awaitable<void> stats(HttpRequest& request, ResponseWriter& writer);
  asio::awaitable<void> dashboard(ResponseWriter& writer);
  bool admin_allowed(const HttpRequest& request) const;

  // Analyzes the request (when the snapshot has an analyzer) and asks the selector for a plan.
  selector::RoutePlan plan_for(const api::ParsedRequest& parsed, const HttpRequest& request,
                               api::Endpoint endpoint, const Snapshot& snapshot,
                               RequestRecord& record, const std::optional<DenseReading>& dense,
                               std::optional<analyzer::Analysis>* analysis_out = nullptr) const;
  // The embeddings backend's vector of the request's analyzed text, when the snapshot has an
  // embeddings backend and the request is analyzed; nullopt: semantic scores are local.
  asio::awaitable<std::optional<DenseReading>> read_dense(const api::ParsedRequest& parsed,
                                                          api::Endpoint endpoint,
                                                          const Snapshot& snapshot,
                                                          const ProviderSet& providers,
                                                          bool analyze_direct) const;
  Headers decision_headers(const RequestRecord& record) const;
  // Backend `index` refused stream_options: said once, never sent to it again.
  void stop_sending_stream_options(const RequestScope& scope, std::size_t index) const;
  // What the body sent to backend `index` carries of stream_options.
  api::StreamOptions stream_options_for(const api::ParsedRequest& parsed, api::Endpoint endpoint,
                                        const RequestScope& scope, std::size_t index) const;
  upstream::UpstreamRequest upstream_request(const HttpRequest& request,
                                             const api::ParsedRequest& parsed,
                                             api::Endpoint endpoint, const config::Backend& backend,
                                             const RequestRecord& record,
                                             api::StreamOptions stream_options,
                                             bool max_completion_tokens) const;
  // Backend `index` refused max_tokens for max_completion_tokens: said once, renamed from now.
  void stop_sending_max_tokens(const RequestScope& scope, std::size_t index) const;
  bool renames_max_tokens(const RequestScope& scope, std::size_t index) const;
  // The breaker and the strategies learn how an answered attempt went; the backend's tpm
  // budget pays the answer's usage.
  void record_outcome(const RequestScope& scope, const RequestRecord& record, std::size_t index,
                      const AttemptResult& result, double latency_ms);
  void learn(const RequestScope& scope, const RequestRecord& record, std::size_t index,
             bool success, double latency_ms);
  // Logs the request and records its metrics and stats; called once, however it ended.
  void finish_request(const RequestRecord& record);
  void log_request(const RequestRecord& record, double latency_ms) const;
  void record_metrics(const RequestRecord& record, double latency_ms);
  void write_request_log(const RequestRecord& record, double latency_ms);

  std::shared_ptr<RouterState> state_;
  std::size_t thread_index_;
  // The series labelled (route, backend), resolved with one lookup per request; each is made
  // on first use, so a pair that never saw a first token exports no time-to-first-token series.
  struct PairSeries {
    metrics::Histogram* duration = nullptr;
    metrics::Histogram* ttft = nullptr;
    metrics::Counter* input_tokens = nullptr;
    metrics::Counter* output_tokens = nullptr;
    metrics::Counter* cost = nullptr;
  };
  PairSeries& pair_series(std::string_view route, std::string_view backend);
  template <typename Metric>
  Metric& series(Metric*& slot, metrics::Family<Metric>& family, std::string_view route,
                 std::string_view backend);

  metrics::ChildCache<metrics::Counter> requests_metric_;
  std::unordered_map<std::string, PairSeries> pair_series_;
  std::string pair_key_;  // reused, so finding a pair does not allocate
  metrics::ChildCache<metrics::Counter> attempts_metric_;
  metrics::ChildCache<metrics::Counter> fallbacks_metric_;
  metrics::ChildCache<metrics::Counter> retries_metric_;
  mutable metrics::ChildCache<metrics::Counter> rate_limit_skips_metric_;  // plan_for counts
  metrics::ChildCache<metrics::Counter> categories_metric_;
  metrics::ChildCache<metrics::Counter> client_requests_metric_;
  metrics::ChildCache<metrics::Counter> client_tokens_metric_;
  metrics::ChildCache<metrics::Counter> client_cost_metric_;
  asio::io_context& io_;
  std::shared_ptr<asio::ssl::context> tls_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::shared_ptr<ProviderSet> providers_;
  std::uint64_t generation_ = 0;
  std::unique_ptr<HealthProber> prober_;  // the first io thread's handler runs the health checks
  std::shared_ptr<spdlog::logger> log_;
  mutable std::chrono::steady_clock::time_point last_panic_warning_{};  // plan_for is const
};

// 403 model_not_allowed: a client key whose `models` leave out the model it named (`model`,
// as it named it).
Failure model_not_allowed(const ClientEntry& client, std::string_view model);

// Request facts the selector's rules test, from the parsed body and the headers.
// `with_session_key`: hash the conversation's opening messages (a consistent_hash pool keyed
// by session needs it; decoding them is most of a pass-through request's facts).
selector::RequestFacts facts_from(const api::ParsedRequest& parsed, const HttpRequest& request,
                                  bool with_session_key);
// The prompt's tokens as rpm/tpm budgets count them, and context windows when nothing reads
// the text (see estimate_decides): a quarter of its characters, no tokenizer.
std::int64_t estimated_prompt_tokens(const api::ParsedRequest& parsed);
// Whether a request no analyzer reads must be read for its token estimate, as bytes / 4 is off
// by 2-3x on data: its route's rules test `tokens`, or it could fill the room the smallest
// context window of any backend leaves for a prompt.
bool estimate_decides(const Snapshot& snapshot, const api::ParsedRequest& parsed,
                      const selector::RequestFacts& facts);
// The analyzer's estimate of the prompt's tokens (every message, tool call, tool and
// response_format schema, read by tokenizer::estimate_tokens), without the rest of an analysis.
std::int64_t read_estimated_tokens(const api::ParsedRequest& parsed, api::Endpoint endpoint);
analyzer::EndpointKind analyzer_endpoint(api::Endpoint endpoint);
// Adds what the analyzer found to the facts.
void add_analysis(const analyzer::Analysis& analysis, selector::RequestFacts& facts);

// The request's id: the client's `x-request-id` when acceptable, else a new one.
std::string request_id_of(const HttpRequest& request);

// Why a non-stream answer looks too weak to keep (cascade), or nullopt when it is fine.
std::optional<std::string> weak_answer_reason(std::string_view body,
                                              const config::CascadeSettings& cascade,
                                              const nlohmann::json& request);

// Whether a 200 answer, or the stream chunk a stream commits on, is the backend's content
// filter withholding it (Azure: every choice ends with finish_reason "content_filter" and
// carries no content or tool call).
bool withheld_by_content_filter(std::string_view body);

}  // namespace llm_router::proxy
