#include "semantic_embeddings.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "llm_router/api/embeddings.hpp"
#include "llm_router/core/expected.hpp"
#include "llm_router/core/logging.hpp"

namespace llm_router::proxy {
namespace {

namespace asio = boost::asio;
using analyzer::DenseVector;
using upstream::Clock;

constexpr std::size_t kMaxEmbeddingsBody = 64 * 1024 * 1024;
constexpr std::array<std::string_view, kEmbeddingOutcomes> kOutcomeNames{
    "fetched", "cached", "pending", "failed", "timeout", "bad_response", "circuit_open"};

std::shared_ptr<spdlog::logger> semantic_log() {
  static const auto log = logging::get("semantic");
  return log;
}

upstream::Deadlines deadlines_until(Clock::time_point deadline, std::chrono::milliseconds phase) {
  upstream::Deadlines deadlines;
  deadlines.connect = phase;
  deadlines.first_byte = phase;
  deadlines.idle = phase;
  deadlines.total = deadline;
  return deadlines;
}

EmbeddingOutcome outcome_of(const Failure& failure) {
  switch (failure.kind) {
    case ErrorKind::connect_timeout:
    case ErrorKind::first_byte_timeout:
    case ErrorKind::idle_timeout:
    case ErrorKind::total_timeout:
      return EmbeddingOutcome::timeout;
    case ErrorKind::upstream_bad_response:
      return EmbeddingOutcome::bad_response;
    default:
      return EmbeddingOutcome::failed;
  }
}

Failure bad_response(std::string message) {
  return Failure{ErrorKind::upstream_bad_response, std::move(message)};
}

// POST /embeddings with `request_body` (asking for `count` vectors) through the backend's provider:
// the vectors, or why not (transport failures and deadlines as the provider reports them, a
// non-2xx status, an answer that is not `count` vectors).
asio::awaitable<Expected<std::vector<DenseVector>>> fetch_vectors(upstream::Provider& provider,
                                                                  std::string request_body,
                                                                  std::size_t count,
                                                                  Clock::time_point deadline,
                                                                  std::chrono::milliseconds phase) {
  upstream::UpstreamRequest request;
  request.path = "/embeddings";
  request.body = std::move(request_body);
  const upstream::Deadlines deadlines = deadlines_until(deadline, phase);
  auto opened = co_await provider.open(std::move(request), deadlines);
  if (!opened) co_return opened.take_failure();
  const int status = (*opened)->head().status;
  auto body = co_await (*opened)->read_body(kMaxEmbeddingsBody);
  if (!body) co_return body.take_failure();
  if (status < 200 || status >= 300) {
    Failure failure{ErrorKind::upstream_server_error, "HTTP " + std::to_string(status), status};
    co_return failure;
  }
  auto vectors = api::parse_embeddings(*body, count);
  if (!vectors) {
    co_return bad_response("not an embeddings answer with " + std::to_string(count) + " vectors");
  }
  co_return std::move(*vectors);
}

// Every utterance's vector, in order, asked for in batches of at most kMaxInputsPerRequest
// (OpenAI's limit on `input` items).
asio::awaitable<Expected<std::vector<DenseVector>>> fetch_utterance_vectors(
    upstream::Provider& provider, const std::string& model,
    const std::vector<std::string>& utterances, Clock::time_point deadline) {
  constexpr std::size_t kMaxInputsPerRequest = 2048;
  std::vector<DenseVector> all;
  all.reserve(utterances.size());
  for (std::size_t first = 0; first < utterances.size(); first += kMaxInputsPerRequest) {
    const std::size_t count = std::min(kMaxInputsPerRequest, utterances.size() - first);
    const std::vector<std::string> batch(
        utterances.begin() + static_cast<std::ptrdiff_t>(first),
        utterances.begin() + static_cast<std::ptrdiff_t>(first + count));
    auto vectors = co_await fetch_vectors(provider, api::embeddings_request(model, batch), count,
                                          deadline, SemanticEmbeddings::kUtteranceTimeout);
    if (!vectors) co_return vectors.take_failure();
    for (auto& vector : *vectors) all.push_back(std::move(vector));
  }
  co_return all;
}

// Lets the request that started the utterance fetch wait for it (both run on one io thread).
struct UtteranceWait {
  explicit UtteranceWait(const asio::any_io_executor& executor) : timer(executor) {}
  asio::steady_timer timer;
  bool done = false;
};

asio::awaitable<void> fetch_utterances(std::shared_ptr<SemanticEmbeddings> embeddings,
                                       std::shared_ptr<upstream::Provider> provider,
                                       std::shared_ptr<UtteranceWait> wait) {
  const auto deadline = Clock::now() + SemanticEmbeddings::kUtteranceTimeout;
  auto vectors =
      co_await fetch_utterance_vectors(*provider, embeddings->upstream_model(),
                                       analyzer::utterances_of(embeddings->sets()), deadline);
  std::optional<analyzer::DenseSemanticIndex> index;
  if (vectors) index = analyzer::DenseSemanticIndex::build(embeddings->sets(), *vectors);
  if (!index) {
    const std::string why =
        vectors ? "vectors of differing or zero dimension"
                : std::string(name(vectors.failure().kind)) + " " + vectors.failure().message;
    semantic_log()->warn(
        "backend={} utterance embeddings unusable ({}); semantic scores stay local, retried "
        "after {}s",
        embeddings->settings().model, why, SemanticEmbeddings::kRetryDelay.count());
  }
  embeddings->utterances_fetched(std::move(index), Clock::now());
  wait->done = true;
  wait->timer.cancel();
}

// True once the utterances' vectors are there; the first caller starts their fetch and waits
// for it until `deadline`.
asio::awaitable<bool> utterances_ready(const std::shared_ptr<SemanticEmbeddings>& embeddings,
                                       const std::shared_ptr<upstream::Provider>& provider,
                                       Clock::time_point deadline) {
  if (embeddings->index() != nullptr) co_return true;
  if (!embeddings->claim_utterance_fetch(Clock::now())) co_return false;
  const auto executor = co_await asio::this_coro::executor;
  auto wait = std::make_shared<UtteranceWait>(executor);
  asio::co_spawn(executor, fetch_utterances(embeddings, provider, wait), asio::detached);
  wait->timer.expires_at(deadline);
  if (!wait->done) co_await wait->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return embeddings->index() != nullptr;
}

std::optional<DenseReading> local_fallback(SemanticEmbeddings& embeddings, EmbeddingOutcome outcome,
                                           const Failure& failure) {
  embeddings.count(outcome);
  semantic_log()->debug("backend={} prompt embedding {} ({}); semantic scores are local",
                        embeddings.settings().model, kOutcomeNames[static_cast<int>(outcome)],
                        failure.message);
  return std::nullopt;
}

// One prompt's vector from the backend (its breaker permitting), kept in the cache when usable.
asio::awaitable<std::optional<DenseReading>> ask_for_prompt_vector(
    std::shared_ptr<SemanticEmbeddings> embeddings, upstream::Provider& provider,
    health::CircuitBreaker& breaker, std::string text, Clock::time_point deadline) {
  health::Nanos trial = 0;
  if (!breaker.allow(health::steady_now(), &trial)) {
    const Failure open{ErrorKind::circuit_open, "the backend is ejected"};
    co_return local_fallback(*embeddings, EmbeddingOutcome::circuit_open, open);
  }
  // A lookup the client's leaving cancelled gives no verdict: the next one may try.
  const health::TrialGuard trial_guard(breaker, trial);
  std::string body = api::embeddings_request(embeddings->upstream_model(), std::string_view(text));
  auto vectors = co_await fetch_vectors(provider, std::move(body), 1, deadline,
                                        embeddings->settings().timeout);
  if (!vectors) {
    // A cancelled lookup (the client left) says nothing about the backend.
    if (vectors.failure().kind != ErrorKind::cancelled) {
      breaker.record_failure(health::steady_now());
    }
    co_return local_fallback(*embeddings, outcome_of(vectors.failure()), vectors.failure());
  }
  DenseVector& vector = vectors->front();
  if (vector.size() != embeddings->index()->dimensions() ||
      !analyzer::dense_similarity(vector, vector)) {
    breaker.record_failure(health::steady_now());
    co_return local_fallback(
        *embeddings, EmbeddingOutcome::bad_response,
        bad_response("a vector of " + std::to_string(vector.size()) + " dimensions, expected " +
                     std::to_string(embeddings->index()->dimensions()) + ", or a zero vector"));
  }
  breaker.record_success(health::steady_now());
  auto shared = std::make_shared<const DenseVector>(std::move(vector));
  embeddings->cache().insert(text, shared);
  embeddings->count(EmbeddingOutcome::fetched);
  co_return DenseReading{embeddings, std::move(shared)};
}

}  // namespace

SemanticEmbeddings::SemanticEmbeddings(analyzer::EmbeddingsSettings settings,
                                       std::size_t backend_index, std::string upstream_model,
                                       std::vector<analyzer::SemanticSet> sets,
                                       metrics::CounterFamily& outcomes)
    : settings_(std::move(settings)),
      backend_index_(backend_index),
      upstream_model_(std::move(upstream_model)),
      sets_(std::move(sets)),
      cache_(settings_.cache_size) {
  for (std::size_t i = 0; i < kEmbeddingOutcomes; ++i) {
    outcomes_[i] = &outcomes.with({kOutcomeNames[i]});
  }
}

bool SemanticEmbeddings::claim_utterance_fetch(upstream::Clock::time_point now) {
  if (index() != nullptr) return false;
  if (now.time_since_epoch().count() < retry_at_.load(std::memory_order_acquire)) return false;
  return !fetching_.exchange(true, std::memory_order_acq_rel);
}

void SemanticEmbeddings::utterances_fetched(std::optional<analyzer::DenseSemanticIndex> index,
                                            upstream::Clock::time_point now) {
  if (index) {
    owned_index_ = std::make_unique<const analyzer::DenseSemanticIndex>(std::move(*index));
    index_.store(owned_index_.get(), std::memory_order_release);
  } else {
    retry_at_.store((now + kRetryDelay).time_since_epoch().count(), std::memory_order_release);
  }
  fetching_.store(false, std::memory_order_release);
}

asio::awaitable<std::optional<DenseReading>> read_embedding(
    std::shared_ptr<SemanticEmbeddings> embeddings, std::shared_ptr<upstream::Provider> provider,
    health::CircuitBreaker& breaker, std::string text) {
  const auto timeout = embeddings->settings().timeout;
  const auto deadline = Clock::now() + timeout;
  if (!co_await utterances_ready(embeddings, provider, deadline)) {
    const Failure missing{ErrorKind::internal, "utterance vectors not fetched yet"};
    co_return local_fallback(*embeddings, EmbeddingOutcome::pending, missing);
  }
  if (auto cached = embeddings->cache().find(text)) {
    embeddings->count(EmbeddingOutcome::cached);
    co_return DenseReading{embeddings, std::move(cached)};
  }
  co_return co_await ask_for_prompt_vector(embeddings, *provider, breaker, std::move(text),
                                           deadline);
}

}  // namespace llm_router::proxy
