#pragma once

#include <string>

#include "llm_router/config/routes.hpp"
#include "llm_router/selector/request_facts.hpp"

namespace llm_router::selector {

// Capability tags a backend lists in `tags`. A backend with no tags at all is assumed capable
// of everything (a minimal config works); once it lists any tag, the list is authoritative.
inline constexpr std::string_view kTagVision = "vision";
inline constexpr std::string_view kTagAudio = "audio";
inline constexpr std::string_view kTagTools = "tools";
inline constexpr std::string_view kTagJson = "json";

bool matches(const config::Condition& condition, const RequestFacts& facts);

// What in the facts satisfies a matching condition, for an operator reading a dry run:
// "category math (0.93)", "complexity 0.31 >= 0.25", the first matching branch of an `any`.
std::string why_matched(const config::Condition& condition, const RequestFacts& facts);

// What in the facts fails a condition that does not match: "complexity 0.12 < 0.25",
// "category open_qa (0.93) not in [code, math]", the failing part of an `all`, every branch of
// an `any`.
std::string why_not_matched(const config::Condition& condition, const RequestFacts& facts);

}  // namespace llm_router::selector
