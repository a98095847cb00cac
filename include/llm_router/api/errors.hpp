#pragma once

#include <string>
#include <string_view>

#include "llm_router/core/error.hpp"

namespace llm_router::api {

// OpenAI's error shape: {"error":{"message","type","param","code"}}.
std::string error_body(std::string_view message, std::string_view type, std::string_view param,
                       std::string_view code);
std::string error_body(const Failure& failure, std::string_view param = {});

}  // namespace llm_router::api
