#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace llm_router::logging {

// Sets the default logger (stderr, one line per event) and its level ("info", "debug", ...).
void setup(const std::string& level);
// Changes the level of every logger (a reload).
void set_level(const std::string& level);

// A named logger per module, sharing the default sink.
std::shared_ptr<spdlog::logger> get(const std::string& module);

}  // namespace llm_router::logging
