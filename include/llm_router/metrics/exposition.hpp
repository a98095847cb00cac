#pragma once

#include <string>
#include <string_view>

// Pieces of the Prometheus text exposition format (version 0.0.4).
namespace llm_router::metrics {

// Shortest text that reads back as the same double; "+Inf", "-Inf", "NaN" for the specials.
std::string format_value(double value);
// Label values escape backslash, double quote and newline.
void append_escaped_label_value(std::string& out, std::string_view value);
// HELP text escapes backslash and newline.
void append_escaped_help(std::string& out, std::string_view help);
// [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_metric_name(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, and not starting with "__" (reserved).
bool valid_label_name(std::string_view name);

}  // namespace llm_router::metrics
