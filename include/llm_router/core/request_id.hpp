#pragma once

#include <string>
#include <string_view>

namespace llm_router::core {

// A fresh id for a request ("req-" and 16 hex digits), answered as x-request-id and logged.
std::string new_request_id();

// Whether a client's own x-request-id can be kept: 1..128 printable ASCII bytes, no spaces.
bool acceptable_request_id(std::string_view id);

}  // namespace llm_router::core
