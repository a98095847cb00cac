#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace llm_router::core {

// A URL path segment with its %XX escapes decoded (RFC 3986), as clients send ids that hold
// '/' or spaces ("team%2Fauto"); nullopt when a '%' is not followed by two hex digits. '+' is
// left as it is: it means a space only in query strings.
std::optional<std::string> percent_decode(std::string_view segment);

}  // namespace llm_router::core
