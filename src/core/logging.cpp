#include "llm_router/core/logging.hpp"

#include <spdlog/sinks/base_sink.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace llm_router::logging {
namespace {

// Lines are formatted by the thread that logs them into a buffer; full buffers (and every
// flush: warnings, the periodic flush, exit) go to one writer thread. An io thread thus never
// writes to a pipe that may block, and wakes the writer once per batch instead of once per
// line (a wake-up per line cost a futex call and a context switch per request). When the
// writer falls behind by more than kMaxPendingBytes, new batches are dropped and counted.
class BatchingStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  BatchingStderrSink() : writer_([this] { write_batches(); }) {}
  ~BatchingStderrSink() override {
    {
      std::lock_guard lock(mutex_);
      hand_off();
    }
    {
      std::lock_guard lock(pending_mutex_);
      stopping_ = true;
    }
    pending_ready_.notify_one();
    writer_.join();
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    buffer_.append(formatted.data(), formatted.size());
    if (buffer_.size() >= kBatchBytes) hand_off();
  }
  void flush_() override { hand_off(); }

 private:
  static constexpr std::size_t kBatchBytes = 32 * 1024;
  static constexpr std::size_t kMaxPendingBytes = 8 * 1024 * 1024;

  // Called with the sink's mutex held.
  void hand_off() {
    if (buffer_.empty()) return;
    {
      std::lock_guard lock(pending_mutex_);
      if (pending_.size() + buffer_.size() <= kMaxPendingBytes) {
        pending_ += buffer_;
      } else {
        ++dropped_batches_;
      }
    }
    buffer_.clear();
    pending_ready_.notify_one();
  }

  void write_batches() {
    std::string batch;
    while (true) {
      std::size_t dropped = 0;
      {
        std::unique_lock lock(pending_mutex_);
        pending_ready_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
        if (pending_.empty() && stopping_) return;
        batch.swap(pending_);
        dropped = std::exchange(dropped_batches_, 0);
      }
      if (dropped > 0) {
        batch += "log writer fell behind: " + std::to_string(dropped) + " batches dropped\n";
      }
      write_all(batch);
      batch.clear();
    }
  }

  static void write_all(std::string_view text) {
    while (!text.empty()) {
      const ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        return;  // stderr closed: nothing else to do with logs
      }
      text.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  std::string buffer_;  // guarded by the base sink's mutex_
  std::mutex pending_mutex_;
  std::condition_variable pending_ready_;
  std::string pending_;
  std::size_t dropped_batches_ = 0;
  bool stopping_ = false;
  std::thread writer_;  // last: starts after everything it uses
};

// Every logger writes through this one sink (one formatter: the sink's).
std::shared_ptr<BatchingStderrSink> shared_sink() {
  static const auto sink = [] {
    auto s = std::make_shared<BatchingStderrSink>();
    s->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l [%n] %v");
    spdlog::flush_every(std::chrono::seconds(1));
    return s;
  }();
  return sink;
}

std::shared_ptr<spdlog::logger> make_logger(const std::string& name) {
  auto logger = std::make_shared<spdlog::logger>(name, shared_sink());
  logger->set_level(spdlog::get_level());
  logger->flush_on(spdlog::level::warn);
  return logger;
}

}  // namespace

void setup(const std::string& level) {
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(make_logger(""));
}

std::shared_ptr<spdlog::logger> get(const std::string& module) {
  static std::mutex creation;
  std::lock_guard lock(creation);
  if (auto existing = spdlog::get(module)) return existing;
  auto logger = make_logger(module);
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace llm_router::logging
