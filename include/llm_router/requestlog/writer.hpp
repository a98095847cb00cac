#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "llm_router/requestlog/entry.hpp"
#include "llm_router/requestlog/redactor.hpp"
#include "llm_router/requestlog/settings.hpp"

namespace llm_router::requestlog {

// Where the writer's lines go. Used by the writer's thread only.
class LineSink {
 public:
  virtual ~LineSink() = default;
  // One complete line, '\n' included. False when it could not be written (it is lost).
  virtual bool append(std::string_view line) = 0;
  // Called after each batch: push buffered lines to their destination.
  virtual bool flush() = 0;
};

// Appends to `path`; before a line would take the file past max_bytes it rotates:
// path.N is removed, path.K becomes path.K+1, path becomes path.1, a new path is started. With
// max_files 0 the file is simply started again. A line longer than max_bytes gets a file of its
// own. Errors are counted, never thrown; a file that cannot be opened is retried on each batch.
class RotatingFile final : public LineSink {
 public:
  RotatingFile(std::string path, std::int64_t max_bytes, int max_files);
  ~RotatingFile() override;
  RotatingFile(const RotatingFile&) = delete;
  RotatingFile& operator=(const RotatingFile&) = delete;

  bool append(std::string_view line) override;
  bool flush() override;
  // Opens (or creates) the file now; false with errno set when it cannot be appended to.
  bool open_now() { return ensure_open(); }

  std::uint64_t rotations() const { return rotations_; }
  std::uint64_t errors() const { return errors_; }

 private:
  bool ensure_open();
  bool write_buffer();
  void rotate();

  std::string path_;
  std::int64_t max_bytes_;
  int max_files_;
  int fd_ = -1;
  std::int64_t size_ = 0;  // bytes in the file, buffered ones included
  bool rotatable_ = true;  // a regular file, not a symlink, FIFO or device
  std::string buffer_;
  std::uint64_t rotations_ = 0;
  std::uint64_t errors_ = 0;
};

struct RequestLogStats {
  std::uint64_t accepted = 0;  // entries queued
  std::uint64_t dropped = 0;   // entries refused because the queue was full
  std::uint64_t written = 0;   // lines the sink took
  std::uint64_t failed = 0;    // lines the sink could not write
};

// Why the configured request log could not be appended to by this process ("no such
// directory", a permission), or "" when it could; creates nothing (for `llm-router check`).
std::string request_log_problem(const RequestLogSettings& settings);

// Thread-safe, never does I/O on the caller's thread: submit() moves the entry into a bounded
// queue (a full queue drops and counts it) and one background thread serializes, redacts,
// writes and rotates. flush() waits until everything submitted before it is written; the
// destructor drains the queue.
class RequestLogWriter {
 public:
  // Writes to a RotatingFile at settings.path. Prompts are kept only with log_prompts and go
  // through the built-in Redactor (when settings.redact) and then `custom` (when set), before
  // they are cut to max_prompt_bytes (a secret across the cut is redacted whole).
  explicit RequestLogWriter(const RequestLogSettings& settings, RedactHook custom = {});
  // For tests and other destinations: `redactor` is applied to every kept prompt as is.
  RequestLogWriter(std::unique_ptr<LineSink> sink, std::size_t queue_lines, bool log_prompts,
                   std::size_t max_prompt_bytes, RedactHook redactor);
  ~RequestLogWriter();
  RequestLogWriter(const RequestLogWriter&) = delete;
  RequestLogWriter& operator=(const RequestLogWriter&) = delete;

  // False when the queue was full and the entry was dropped.
  bool submit(RequestLogEntry&& entry);
  // What a reload may change while the log is written: log_prompts, redact, max_prompt_bytes
  // (the file, its rotation and the queue stay as started). Entries still queued are redacted
  // by the new settings.
  void apply_prompt_settings(const RequestLogSettings& settings);
  void flush();
  RequestLogStats stats() const;

 private:
  // Bytes of prompt kept past max_prompt_bytes until redaction (a PEM key, a long JWT).
  static constexpr std::size_t kRedactionMargin = 16 * 1024;

  void run();
  void report_failures(std::uint64_t failed_in_batch);

  bool failing_ = false;  // the last batch had lines that could not be written (writer thread)
  std::unique_ptr<LineSink> sink_;
  const std::size_t capacity_;
  std::atomic<bool> log_prompts_;  // and a redactor to pass them through
  std::atomic<std::size_t> max_prompt_bytes_;
  RedactHook custom_;    // the constructor's hook, kept for apply_prompt_settings
  RedactHook redactor_;  // guarded by mutex_; the writer thread copies it per batch

  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
  std::deque<RequestLogEntry> queue_;
  std::uint64_t processed_ = 0;  // accepted entries the thread has finished with
  RequestLogStats stats_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once everything above is ready
};

// `text` cut to at most `max_bytes` without splitting a UTF-8 sequence.
std::string_view truncate_utf8(std::string_view text, std::size_t max_bytes);

}  // namespace llm_router::requestlog
