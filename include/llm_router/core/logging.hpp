#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace llm_router::logging {

// Sets the default logger (stderr, one line per event) and its level ("info", "debug", ...).
void setup(const std::string& level);
// Changes the level of every logger (a reload).
void set_level(const std::string& level);

// `text` on one log line: line breaks (a config's list of errors) become "; ", so every line
// of the log starts with its time and level.
std::string one_line(std::string text);

// A named logger per module, sharing the default sink.
std::shared_ptr<spdlog::logger> get(const std::string& module);

}  // namespace llm_router::logging
