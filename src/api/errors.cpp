#include "llm_router/api/errors.hpp"

#include <nlohmann/json.hpp>

namespace llm_router::api {

std::string error_body(std::string_view message, std::string_view type, std::string_view param,
                       std::string_view code) {
  nlohmann::json error = {{"message", message}, {"type", type}};
  error["param"] = param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param);
  error["code"] = code.empty() ? nlohmann::json(nullptr) : nlohmann::json(code);
  return nlohmann::json{{"error", std::move(error)}}.dump(-1, ' ', false,
                                                          nlohmann::json::error_handler_t::replace);
}

std::string error_body(const Failure& failure, std::string_view param) {
  const auto& t = traits(failure.kind);
  return error_body(failure.message, failure.type.empty() ? t.type : std::string_view(failure.type),
                    param.empty() ? failure.param : param,
                    failure.code.empty() ? t.code : std::string_view(failure.code));
}

}  // namespace llm_router::api
