#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llm_router::requestlog {

// One try of one backend, in the order they were made.
struct AttemptLog {
  std::string backend;
  int status = 0;      // the backend's HTTP status; 0 when it never answered (connect, timeout)
  std::string reason;  // "ok", or the error kind that ended the attempt ("timeout", ...)
  double latency_ms = 0;
};

// A backend the plan left out (ejected, full, over its rpm, ...), and why.
struct ExclusionLog {
  std::string backend;
  std::string reason;
};

// What one finished request leaves in the request log. Filled by the proxy once, at the end.
struct RequestLogEntry {
  std::string id;
  std::chrono::system_clock::time_point time;  // when the request arrived
  std::string client_key_id;                   // the client key's id, never the key; may be empty
  std::string route;
  std::string rule;
  std::string strategy;
  std::string category;
  std::optional<double> complexity;
  std::vector<std::string> candidates;  // backends the plan offered, in order
  std::vector<ExclusionLog> excluded;   // left out of the line when empty
  std::vector<AttemptLog> attempts;
  std::string backend;              // the backend that answered; empty when none did
  std::string upstream_request_id;  // that backend's own x-request-id; left out when empty
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  double cost_usd = 0;
  int status = 0;  // the status the client got
  double latency_ms = 0;
  std::optional<double> ttft_ms;  // empty when no byte reached the client
  bool stream = false;
  bool usage_estimated = false;  // the router counted the tokens: the backend reported none
  std::string user;              // the request's `user` (the end user's id); left out when empty
  std::string model;             // `model` as the client sent it (an alias too); "" if unread
  std::optional<std::string> prompt;  // only with log_prompts, and then redacted
};

// One JSON object and '\n'. Optional numbers are null when empty, "prompt" is left out when
// empty, non-finite numbers are null, invalid UTF-8 becomes U+FFFD. Never throws on content.
std::string to_json_line(const RequestLogEntry& entry);

// "2026-11-28T14:51:57.123Z".
std::string format_utc_time(std::chrono::system_clock::time_point time);

// Appends `text` as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view text);

}  // namespace llm_router::requestlog
