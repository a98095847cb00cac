#include "llm_router/api/embeddings.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "llm_router/core/base64.hpp"

namespace llm_router::api {
namespace {

using nlohmann::json;

template <typename Json>
std::optional<std::vector<float>> finite_numbers(const Json& array) {
  if (!array.is_array() || array.empty()) return std::nullopt;
  std::vector<float> out;
  out.reserve(array.size());
  for (const auto& value : array) {
    if (!value.is_number()) return std::nullopt;
    const double x = value.template get<double>();
    if (!std::isfinite(x) || std::fabs(x) > 3.0e38) return std::nullopt;
    out.push_back(static_cast<float>(x));
  }
  return out;
}

// The item's position: its `index` when present, else where it stands.
std::optional<std::size_t> position_of(const json& item, std::size_t at, std::size_t expected) {
  const auto index = item.find("index");
  if (index == item.end()) return at;
  if (!index->is_number_unsigned() && !index->is_number_integer()) return std::nullopt;
  const auto value = index->get<long long>();
  if (value < 0 || static_cast<std::size_t>(value) >= expected) return std::nullopt;
  return static_cast<std::size_t>(value);
}

}  // namespace

std::string embeddings_request(std::string_view model, std::string_view input) {
  const json body = {{"model", model}, {"input", input}};
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string embeddings_request(std::string_view model, const std::vector<std::string>& inputs) {
  const json body = {{"model", model}, {"input", inputs}};
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<std::string> embeddings_as_base64(std::string_view body) {
  if (body.find('[') == std::string_view::npos) return std::nullopt;  // no array at all
  // In the backend's key order: only the vectors change.
  auto parsed = nlohmann::ordered_json::parse(body, nullptr, false);
  if (!parsed.is_object()) return std::nullopt;
  const auto data = parsed.find("data");
  if (data == parsed.end() || !data->is_array()) return std::nullopt;
  bool changed = false;
  for (auto& item : *data) {
    if (!item.is_object()) continue;
    const auto embedding = item.find("embedding");
    if (embedding == item.end()) continue;
    const auto numbers = finite_numbers(*embedding);
    if (!numbers) continue;
    std::string bytes(numbers->size() * sizeof(float), '\0');
    for (std::size_t i = 0; i < numbers->size(); ++i) {
      std::uint32_t bits = 0;
      std::memcpy(&bits, &(*numbers)[i], sizeof bits);
      for (int b = 0; b < 4; ++b) bytes[i * 4 + b] = static_cast<char>((bits >> (8 * b)) & 0xFF);
    }
    *embedding = core::base64_encode(bytes);
    changed = true;
  }
  if (!changed) return std::nullopt;
  return parsed.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<std::vector<std::vector<float>>> parse_embeddings(std::string_view body,
                                                                std::size_t expected) {
  const json parsed = json::parse(body, nullptr, false);
  if (!parsed.is_object()) return std::nullopt;
  const auto data = parsed.find("data");
  if (data == parsed.end() || !data->is_array() || data->size() != expected || expected == 0) {
    return std::nullopt;
  }
  std::vector<std::vector<float>> out(expected);
  for (std::size_t at = 0; at < expected; ++at) {
    const json& item = (*data)[at];
    if (!item.is_object()) return std::nullopt;
    const auto position = position_of(item, at, expected);
    const auto embedding = item.find("embedding");
    if (!position || !out[*position].empty() || embedding == item.end()) return std::nullopt;
    auto vector = finite_numbers(*embedding);
    if (!vector) return std::nullopt;
    out[*position] = std::move(*vector);
  }
  for (const auto& vector : out) {
    if (vector.size() != out.front().size()) return std::nullopt;
  }
  return out;
}

}  // namespace llm_router::api
