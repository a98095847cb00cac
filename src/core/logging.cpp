#include "llm_router/core/logging.hpp"

#include <spdlog/details/null_mutex.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>

#include <algorithm>
#include <string_view>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>
#include "llm_router/core/swar.hpp"
#include "llm_router/core/utf8.hpp"

namespace llm_router::logging {
namespace {

// Bidirectional overrides and isolates, and the line and paragraph separators some viewers
// break lines at.
bool is_bidi_control(char32_t cp) {
  return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
         cp == 0x2029;
}

// Whether every byte is printable ASCII (0x20..0x7E), eight at a time: most lines are.
bool printable_ascii(std::string_view text) {
  namespace swar = core::swar;
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    const std::uint64_t x = swar::load(text.data() + i);
    if ((x & swar::kHighs) != 0 || swar::in_range(x, 0x20, 0x7E) != swar::kHighs) return false;
  }
  for (; i < text.size(); ++i) {
    if (text[i] < 0x20 || text[i] >= 0x7F) return false;  // (a byte >= 0x80 is negative)
  }
  return true;
}

// Appends a formatted line (ending with its newline) with what could corrupt or disguise a log
// made harmless: bytes of invalid UTF-8 become U+FFFD, controls other than the line's end
// "\xNN", bidirectional overrides (which reorder what a terminal shows) U+FFFD. A request's
// path or a backend's words may reach a line as the client or backend sent them.
void append_safe_line(std::string& out, std::string_view line) {
  const bool ends_line = !line.empty() && line.back() == '\n';
  const bool plain = printable_ascii(line.substr(0, line.size() - (ends_line ? 1 : 0)));
  if (plain) {
    out.append(line);
    return;
  }
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  for (std::size_t i = 0; i < line.size();) {
    const auto byte = static_cast<unsigned char>(line[i]);
    if (byte >= 0x20 && byte < 0x7F) {
      out.push_back(line[i++]);
      continue;
    }
    if (byte < 0x80) {
      if (i + 1 == line.size() && byte == '\n') {
        out.push_back('\n');
      } else {
        static constexpr char kHex[] = "0123456789abcdef";
        out.append("\\x").push_back(kHex[byte >> 4]);
        out.push_back(kHex[byte & 15]);
      }
      ++i;
      continue;
    }
    const std::size_t start = i;
    const char32_t cp = core::next_code_point(line, i);
    const std::size_t length = i - start;
    const std::size_t expected = cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    const bool valid = cp != 0xFFFD && length == expected && cp >= 0xA0 &&
                       !(cp >= 0xD800 && cp <= 0xDFFF) && cp <= 0x10FFFF && !is_bidi_control(cp);
    if (valid) {
      out.append(line.substr(start, length));
    } else {
      out.append(kReplacement);
    }
  }
}

}  // namespace

namespace {

// A JSON string's contents: quotes, backslashes and every control byte (DEL too) escaped, so
// the sink's own cleaning (invalid UTF-8, bidirectional overrides) leaves it valid JSON.
void append_json_text(std::string_view text, spdlog::memory_buf_t& dest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t plain = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte != '"' && byte != '\\' && byte != 0x7F) continue;
    dest.append(text.data() + plain, text.data() + i);
    plain = i + 1;
    if (byte == '"' || byte == '\\') {
      const char escaped[] = {'\\', static_cast<char>(byte)};
      dest.append(escaped, escaped + 2);
    } else {
      const char escaped[] = {'\\', 'u', '0', '0', kHex[byte >> 4], kHex[byte & 15]};
      dest.append(escaped, escaped + 6);
    }
  }
  dest.append(text.data() + plain, text.data() + text.size());
}

}  // namespace

void LineFormatter::append_time(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  using namespace std::chrono;
  const auto since_epoch = msg.time.time_since_epoch();
  const auto second = duration_cast<seconds>(since_epoch);
  if (second.count() != cached_second_) cache_second(second.count());
  dest.append(std::string_view(time_));
  const auto millis = static_cast<int>(duration_cast<milliseconds>(since_epoch - second).count());
  const char fraction[] = {'.', static_cast<char>('0' + millis / 100),
                           static_cast<char>('0' + millis / 10 % 10),
                           static_cast<char>('0' + millis % 10)};
  dest.append(fraction, fraction + sizeof fraction);
  dest.append(std::string_view(offset_));
}

void LineFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  const auto level = spdlog::level::to_string_view(msg.level);
  const std::string_view logger(msg.logger_name.data(), msg.logger_name.size());
  const std::string_view payload(msg.payload.data(), msg.payload.size());
  if (json_) {
    dest.append(std::string_view("{\"time\":\""));
    append_time(msg, dest);
    dest.append(std::string_view("\",\"level\":\""));
    dest.append(level.data(), level.data() + level.size());
    dest.append(std::string_view("\",\"logger\":\""));
    append_json_text(logger, dest);
    dest.append(std::string_view("\",\"message\":\""));
    append_json_text(payload, dest);
    dest.append(std::string_view("\"}\n"));
    return;
  }
  append_time(msg, dest);
  dest.push_back(' ');
  dest.append(level.data(), level.data() + level.size());
  dest.append(std::string_view(" ["));
  dest.append(logger);
  dest.append(std::string_view("] "));
  dest.append(payload);
  dest.push_back('\n');
}

std::unique_ptr<spdlog::formatter> LineFormatter::clone() const {
  return std::make_unique<LineFormatter>(json_);
}

void LineFormatter::cache_second(std::int64_t second) {
  const auto as_time = static_cast<std::time_t>(second);
  std::tm local{};
  localtime_r(&as_time, &local);
  std::strftime(time_, sizeof time_, "%Y-%m-%dT%H:%M:%S", &local);
  const long minutes = local.tm_gmtoff / 60;
  const long magnitude = minutes < 0 ? -minutes : minutes;
  std::snprintf(offset_, sizeof offset_, "%c%02ld:%02ld", minutes < 0 ? '-' : '+',
                magnitude / 60 % 100, magnitude % 60);
  cached_second_ = second;
}

namespace {

// Lines are formatted by the thread that logs them into that thread's own buffer (its mutex is
// only ever taken by another thread to flush it, so logging takes no lock shared by all
// threads); full buffers (and every flush: warnings, the periodic flush, exit) go to one writer
// thread. An io thread thus never writes to a pipe that may block, and wakes the writer once per
// batch instead of once per line (a wake-up per line cost a futex call and a context switch per
// request). When the writer falls behind by more than kMaxPendingBytes, new batches are dropped
// and counted. Lines of different threads reach stderr in batches, each thread's in order.
class BatchingStderrSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  BatchingStderrSink() {
    std::thread([queue = queue_] { write_batches(*queue); }).detach();
  }
  // Waits a bounded time for the writer to write what is pending: a stderr nobody reads (a
  // stalled log shipper) must not keep the process from exiting.
  ~BatchingStderrSink() override {
    flush_();
    std::unique_lock lock(queue_->mutex);
    queue_->stopping = true;
    queue_->ready.notify_one();
    queue_->ready.wait_for(lock, kExitWait, [&] { return queue_->stopped; });
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    ThreadBuffer& own = thread_buffer();
    std::lock_guard lock(own.mutex);
    if (own.generation != generation_.load(std::memory_order_acquire)) refresh_formatter(own);
    own.formatted.clear();  // kept: an access line outgrows the buffer's inline bytes
    own.formatter->format(msg, own.formatted);
    append_safe_line(own.text, std::string_view(own.formatted.data(), own.formatted.size()));
    if (own.text.size() >= kBatchBytes) hand_off(own.text);
  }

  void flush_() override {
    std::lock_guard lock(buffers_mutex_);
    for (const auto& buffer : buffers_) {
      std::lock_guard buffer_lock(buffer->mutex);
      hand_off(buffer->text);
    }
    // A buffer only this list still holds belonged to a thread that has exited.
    std::erase_if(buffers_, [](const auto& buffer) { return buffer.use_count() == 1; });
  }

  void set_pattern_(const std::string& pattern) override {
    set_formatter_(std::make_unique<spdlog::pattern_formatter>(pattern));
  }

  void set_formatter_(std::unique_ptr<spdlog::formatter> formatter) override {
    std::lock_guard lock(formatter_mutex_);
    prototype_ = std::move(formatter);
    generation_.fetch_add(1, std::memory_order_release);
  }

 private:
  static constexpr std::size_t kBatchBytes = 32 * 1024;
  static constexpr std::size_t kMaxPendingBytes = 8 * 1024 * 1024;
  static constexpr auto kExitWait = std::chrono::seconds(2);

  // What the writer thread shares with the sink; the thread keeps it alive, so a writer stuck in
  // write() when the sink goes away touches nothing freed.
  struct Queue {
    std::mutex mutex;
    std::condition_variable ready;  // batches pending or stopping; and, at the end, stopped
    std::string pending;
    std::size_t dropped_batches = 0;
    bool stopping = false;
    bool stopped = false;
  };

  struct ThreadBuffer {
    std::mutex mutex;
    std::string text;
    std::unique_ptr<spdlog::formatter> formatter;  // a pattern formatter keeps state: one each
    spdlog::memory_buf_t formatted;                // the line being formatted
    unsigned generation = 0;
  };

  // There is one sink per process (shared_sink()), so one buffer per thread.
  ThreadBuffer& thread_buffer() {
    thread_local std::shared_ptr<ThreadBuffer> own;
    if (!own) {
      own = std::make_shared<ThreadBuffer>();
      std::lock_guard lock(buffers_mutex_);
      buffers_.push_back(own);
    }
    return *own;
  }

  void refresh_formatter(ThreadBuffer& own) {
    std::lock_guard lock(formatter_mutex_);
    own.formatter = prototype_->clone();
    own.generation = generation_.load(std::memory_order_relaxed);
  }

  void hand_off(std::string& text) {
    if (text.empty()) return;
    {
      std::lock_guard lock(queue_->mutex);
      if (queue_->pending.size() + text.size() <= kMaxPendingBytes) {
        queue_->pending += text;
      } else {
        ++queue_->dropped_batches;
      }
    }
    text.clear();
    queue_->ready.notify_one();
  }

  static void write_batches(Queue& queue) {
    std::string batch;
    while (true) {
      std::size_t dropped = 0;
      {
        std::unique_lock lock(queue.mutex);
        queue.ready.wait(lock, [&] { return queue.stopping || !queue.pending.empty(); });
        if (queue.pending.empty() && queue.stopping) {
          queue.stopped = true;
          queue.ready.notify_all();
          return;
        }
        batch.swap(queue.pending);
        dropped = std::exchange(queue.dropped_batches, 0);
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

  std::mutex formatter_mutex_;
  std::unique_ptr<spdlog::formatter> prototype_ = std::make_unique<spdlog::pattern_formatter>();
  std::atomic<unsigned> generation_{1};
  std::mutex buffers_mutex_;
  std::vector<std::shared_ptr<ThreadBuffer>> buffers_;
  const std::shared_ptr<Queue> queue_ = std::make_shared<Queue>();
};

// Every logger writes through this one sink (one formatter: the sink's).
std::shared_ptr<BatchingStderrSink> shared_sink() {
  static const auto sink = [] {
    auto s = std::make_shared<BatchingStderrSink>();
    s->set_formatter(std::make_unique<LineFormatter>());
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

void setup(const std::string& level, bool json) {
  spdlog::set_level(spdlog::level::from_str(level));
  if (json) shared_sink()->set_formatter(std::make_unique<LineFormatter>(true));
  spdlog::set_default_logger(make_logger(""));
}

std::string one_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  for (std::size_t at = text.find('\n'); at != std::string::npos; at = text.find('\n', at)) {
    text.replace(at, 1, "; ");
  }
  std::replace(text.begin(), text.end(), '\r', ' ');
  return text;
}

void set_level(const std::string& level) {
  spdlog::set_level(spdlog::level::from_str(level));
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
