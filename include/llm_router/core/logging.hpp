#pragma once

#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <memory>
#include <string>

namespace llm_router::logging {

// Sets the default logger (stderr, one line per event) and its level ("info", "debug", ...);
// `json`: each line one JSON object (time, level, logger, message) for a log collector.
void setup(const std::string& level, bool json = false);
// Changes the level of every logger (a reload).
void set_level(const std::string& level);

// `text` on one log line: line breaks (a config's list of errors) become "; ", so every line
// of the log starts with its time and level.
std::string one_line(std::string text);

// Writes "%Y-%m-%dT%H:%M:%S.%e%z %l [%n] %v" as spdlog's pattern_formatter does (local time,
// offset "+hh:mm"), by hand: the generic formatter was a third of an access line's cost. With
// `json`: {"time":"...","level":"info","logger":"proxy","message":"..."} with the same time.
class LineFormatter final : public spdlog::formatter {
 public:
  explicit LineFormatter(bool json = false) : json_(json) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;

 private:
  void cache_second(std::int64_t second);
  void append_time(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest);

  bool json_;

  std::int64_t cached_second_ = INT64_MIN;
  char time_[20] = {};   // "2026-12-01T16:06:37" of cached_second_
  char offset_[7] = {};  // "+00:00"
};

// A named logger per module, sharing the default sink.
std::shared_ptr<spdlog::logger> get(const std::string& module);

}  // namespace llm_router::logging
