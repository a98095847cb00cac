#include "llm_router/requestlog/writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "llm_router/core/logging.hpp"
#include "llm_router/core/utf8.hpp"

namespace llm_router::requestlog {
namespace {

constexpr std::size_t kWriteChunk = 64 * 1024;

RedactHook prompt_redactor(const RequestLogSettings& settings, RedactHook custom) {
  if (settings.redact) return Redactor::hook(std::move(custom));
  if (custom) return custom;
  return [](std::string_view text) { return std::string(text); };
}

}  // namespace

std::string_view truncate_utf8(std::string_view text, std::size_t max_bytes) {
  return core::utf8_prefix(text, max_bytes);
}

// /dev/stdout and /dev/stderr name the descriptors the process was given, written as they are:
// opening the path again fails where they are a socket (systemd's journal) or belong to another
// user (a pipe made before privileges were dropped). -1 for any other path.
namespace {
int standard_stream(std::string_view path) {
  if (path == "/dev/stdout") return STDOUT_FILENO;
  if (path == "/dev/stderr") return STDERR_FILENO;
  return -1;
}
}  // namespace

// --- RotatingFile -------------------------------------------------------------------------

RotatingFile::RotatingFile(std::string path, std::int64_t max_bytes, int max_files)
    : path_(std::move(path)), max_bytes_(max_bytes), max_files_(max_files) {}

RotatingFile::~RotatingFile() {
  flush();
  if (fd_ >= 0) ::close(fd_);
}

bool RotatingFile::ensure_open() {
  if (fd_ >= 0) return true;
  if (const int standard = standard_stream(path_); standard >= 0) {
    fd_ = ::fcntl(standard, F_DUPFD_CLOEXEC, 0);
    rotatable_ = false;
    size_ = 0;
    return fd_ >= 0;
  }
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) return false;
  // Only a regular file the path names itself is rotated: renaming /dev/stdout, a FIFO a
  // collector reads or a symlink would send the lines to a file nobody reads.
  struct stat opened {};
  struct stat named {};
  rotatable_ = ::fstat(fd_, &opened) == 0 && S_ISREG(opened.st_mode) &&
               ::lstat(path_.c_str(), &named) == 0 && S_ISREG(named.st_mode);
  const off_t end = ::lseek(fd_, 0, SEEK_END);
  size_ = end > 0 ? static_cast<std::int64_t>(end) : 0;
  return true;
}

bool RotatingFile::write_buffer() {
  std::size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ++errors_;
      // The file is in an unknown state: reopen (and re-measure) on the next line.
      ::close(fd_);
      fd_ = -1;
      buffer_.clear();
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  buffer_.clear();
  return true;
}

void RotatingFile::rotate() {
  if (fd_ >= 0) {
    write_buffer();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  if (max_files_ == 0) {
    std::remove(path_.c_str());
  } else {
    const std::string oldest = path_ + "." + std::to_string(max_files_);
    std::remove(oldest.c_str());
    for (int k = max_files_ - 1; k >= 1; --k) {
      const std::string from = path_ + "." + std::to_string(k);
      const std::string to = path_ + "." + std::to_string(k + 1);
      std::rename(from.c_str(), to.c_str());  // a missing path.K is fine
    }
    if (std::rename(path_.c_str(), (path_ + ".1").c_str()) != 0 && errno != ENOENT) ++errors_;
  }
  ++rotations_;
  size_ = 0;
}

bool RotatingFile::append(std::string_view line) {
  if (!ensure_open()) {
    ++errors_;
    return false;
  }
  const auto length = static_cast<std::int64_t>(line.size());
  if (rotatable_ && size_ > 0 && size_ + length > max_bytes_) {
    rotate();
    if (!ensure_open()) {
      ++errors_;
      return false;
    }
  }
  buffer_.append(line);
  size_ += length;
  if (buffer_.size() >= kWriteChunk) return write_buffer();
  return true;
}

bool RotatingFile::flush() {
  if (buffer_.empty()) return true;
  if (fd_ < 0) {
    buffer_.clear();
    return false;
  }
  return write_buffer();
}

// --- RequestLogWriter ---------------------------------------------------------------------

namespace {

// The configured file, opened at once: a path that cannot be written is a startup error, not
// a log that silently stays empty.
std::unique_ptr<RotatingFile> open_log_file(const RequestLogSettings& settings) {
  auto file = std::make_unique<RotatingFile>(settings.path, settings.max_bytes, settings.max_files);
  if (!file->open_now()) {
    throw std::runtime_error("request_log.path: cannot append to '" + settings.path +
                             "': " + std::strerror(errno));
  }
  return file;
}

}  // namespace

std::string request_log_problem(const RequestLogSettings& settings) {
  if (!settings.enabled()) return {};
  if (const int standard = standard_stream(settings.path); standard >= 0) {
    const int flags = ::fcntl(standard, F_GETFL);
    if (flags < 0 || (flags & O_ACCMODE) == O_RDONLY) {
      return "request_log.path: cannot append to '" + settings.path + "': not open for writing";
    }
    return {};
  }
  const std::filesystem::path path(settings.path);
  std::error_code ec;
  const bool exists = std::filesystem::exists(path, ec);
  const std::filesystem::path checked =
      exists ? path : (path.has_parent_path() ? path.parent_path() : std::filesystem::path("."));
  if (!exists && !std::filesystem::is_directory(checked, ec)) {
    return "request_log.path: cannot append to '" + settings.path + "': no directory '" +
           checked.string() + "'";
  }
  if (exists && std::filesystem::is_directory(path, ec)) {
    return "request_log.path: cannot append to '" + settings.path + "': is a directory";
  }
  if (::access(checked.c_str(), exists ? W_OK : (W_OK | X_OK)) != 0) {
    return "request_log.path: cannot append to '" + settings.path + "': " + std::strerror(errno);
  }
  return {};
}

RequestLogWriter::RequestLogWriter(const RequestLogSettings& settings, RedactHook custom)
    : RequestLogWriter(open_log_file(settings), settings.queue_lines, settings.log_prompts,
                       settings.max_prompt_bytes, prompt_redactor(settings, custom)) {
  custom_ = std::move(custom);
}

RequestLogWriter::RequestLogWriter(std::unique_ptr<LineSink> sink, std::size_t queue_lines,
                                   bool log_prompts, std::size_t max_prompt_bytes,
                                   RedactHook redactor)
    : sink_(std::move(sink)),
      capacity_(queue_lines == 0 ? 1 : queue_lines),
      log_prompts_(log_prompts && redactor),
      max_prompt_bytes_(max_prompt_bytes),
      redactor_(std::move(redactor)),
      thread_([this] { run(); }) {}

RequestLogWriter::~RequestLogWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_one();
  thread_.join();
}

bool RequestLogWriter::submit(RequestLogEntry&& entry) {
  // Prompts are cut (or dropped) here so the queue's memory stays bounded, but with a margin
  // past max_prompt_bytes: the writer redacts before it cuts to the limit, so a secret that
  // crosses the limit is still whole when the redactor looks at it.
  const std::size_t kept = max_prompt_bytes_.load(std::memory_order_relaxed) + kRedactionMargin;
  if (!log_prompts_.load(std::memory_order_relaxed)) {
    entry.prompt.reset();
  } else if (entry.prompt && entry.prompt->size() > kept) {
    entry.prompt->resize(truncate_utf8(*entry.prompt, kept).size());
  }
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= capacity_ || stopping_) {
      ++stats_.dropped;
      return false;
    }
    queue_.push_back(std::move(entry));
    ++stats_.accepted;
  }
  work_ready_.notify_one();
  return true;
}

void RequestLogWriter::apply_prompt_settings(const RequestLogSettings& settings) {
  {
    std::lock_guard lock(mutex_);
    redactor_ = prompt_redactor(settings, custom_);
  }
  max_prompt_bytes_.store(settings.max_prompt_bytes, std::memory_order_relaxed);
  log_prompts_.store(settings.log_prompts, std::memory_order_relaxed);
}

void RequestLogWriter::flush() {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = stats_.accepted;
  work_done_.wait(lock, [&] { return processed_ >= target; });
}

RequestLogStats RequestLogWriter::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

// Lines that could not be written are counted (stats().failed); the log says when writing
// starts failing and when it works again, not once per line.
void RequestLogWriter::report_failures(std::uint64_t failed) {
  if (failed > 0 && !failing_) {
    logging::get("request_log")
        ->error("cannot write the request log: {} lines dropped so far", stats().failed + failed);
  } else if (failed == 0 && failing_) {
    logging::get("request_log")->warn("the request log is written again");
  }
  failing_ = failed > 0;
}

void RequestLogWriter::run() {
  std::deque<RequestLogEntry> batch;
  std::string line;
  RedactHook redactor;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is written
      batch.swap(queue_);
      redactor = redactor_;
    }
    std::uint64_t written = 0;
    std::uint64_t failed = 0;
    const bool keep_prompts = log_prompts_.load(std::memory_order_relaxed);
    const std::size_t max_prompt_bytes = max_prompt_bytes_.load(std::memory_order_relaxed);
    // A hook that throws must not take the thread (or the text) with it.
    const auto redacted = [&](std::string_view text) {
      if (!redactor) return std::string(text);
      try {
        return redactor(text);
      } catch (...) {
        return std::string("[REDACTED:redactor_failed]");
      }
    };
    for (RequestLogEntry& entry : batch) {
      if (!keep_prompts) entry.prompt.reset();  // switched off by a reload while queued
      // The client writes these too: an address as `user`, a key pasted as `model`.
      if (!entry.user.empty()) entry.user = redacted(entry.user);
      if (!entry.model.empty()) entry.model = redacted(entry.model);
      if (entry.prompt) {
        entry.prompt = redacted(*entry.prompt);
        if (entry.prompt->size() > max_prompt_bytes) {
          entry.prompt->resize(truncate_utf8(*entry.prompt, max_prompt_bytes).size());
        }
      }
      line = to_json_line(entry);
      if (sink_->append(line)) {
        ++written;
      } else {
        ++failed;
      }
    }
    if (!sink_->flush()) {
      // The buffered part of the batch is lost; count the batch's lines as failed at most.
      failed += written;
      written = 0;
    }
    const std::uint64_t count = batch.size();
    batch.clear();
    report_failures(failed);
    {
      std::lock_guard lock(mutex_);
      stats_.written += written;
      stats_.failed += failed;
      processed_ += count;
    }
    work_done_.notify_all();
  }
}

}  // namespace llm_router::requestlog
