#include "llm_router/config/yaml_reader.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <unordered_map>
#include <vector>

namespace llm_router::config {
namespace {

Diagnostic located(const ReadContext& context, const YAML::Node& node, std::string path,
                   std::string message) {
  Diagnostic d{context.file, 0, 0, std::move(path), std::move(message)};
  if (node.IsDefined()) {
    const auto mark = node.Mark();
    if (mark.line >= 0) {
      d.line = mark.line + 1;
      d.column = mark.column + 1;
    }
  }
  return d;
}

bool is_env_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

}  // namespace

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

bool is_bare_number(std::string_view text) {
  double value = 0;
  auto [next, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && next == text.data() + text.size();
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  double value = 0;
  const auto* begin = text.data();
  const auto* end = text.data() + text.size();
  auto [next, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc{} || !std::isfinite(value) || value < 0) return std::nullopt;
  std::string_view unit(next, static_cast<size_t>(end - next));
  double scale = 0;
  if (unit.empty()) {
    // A bare number is ambiguous (LiteLLM's `timeout: 600` means seconds): only 0 reads alike.
    if (value != 0) return std::nullopt;
    scale = 1;
  } else if (unit == "ms") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1000;
  } else if (unit == "m") {
    scale = 60'000;
  } else if (unit == "h") {
    scale = 3'600'000;
  } else {
    return std::nullopt;
  }
  // Past the longest duration allowed, one past it (NodeReader::duration says "at most"); a
  // value past what steady_clock can add to now would wrap every deadline into the past.
  const double ms = std::min(value * scale, static_cast<double>(kMaxDuration.count()) + 1);
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

NodeReader::NodeReader(const YAML::Node& node, std::string path, ReadContext& context)
    // A missing key of a const map is an invalid ("zombie") node whose type queries throw;
    // keep a plain undefined node instead so an absent section reads as empty.
    : node_(node.IsDefined() ? node : YAML::Node(YAML::NodeType::Undefined)),
      path_(std::move(path)),
      context_(context) {
  if (node_.IsDefined() && !node_.IsNull() && !node_.IsMap()) {
    context_.diagnostics.push_back(located(context_, node_, path_, "must be a mapping"));
    valid_ = false;
  }
}

std::string NodeReader::path_of(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

bool NodeReader::has(std::string_view key) const {
  return valid_ && node_.IsMap() && node_[std::string(key)].IsDefined() &&
         !node_[std::string(key)].IsNull();
}

YAML::Node NodeReader::raw(std::string_view key) {
  known_.emplace(key);
  if (!valid_ || !node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  const YAML::Node& map = node_;
  return map[std::string(key)];
}

void NodeReader::error(std::string_view key, const std::string& message) {
  YAML::Node at = has(key) ? raw(key) : node_;
  context_.diagnostics.push_back(located(context_, at, path_of(key), message));
}

void NodeReader::error_at(const YAML::Node& node, const std::string& sub_path,
                          const std::string& message) {
  context_.diagnostics.push_back(located(context_, node.IsDefined() ? node : node_,
                                         sub_path.empty() ? path_ : sub_path, message));
}

std::optional<std::string> NodeReader::expand_env(const std::string& text, const YAML::Node& at,
                                                  const std::string& at_path) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    // "$${" is a literal "${", as in Docker Compose (a password or template holding one).
    if (text.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out += text[i++];
      continue;
    }
    const size_t close = text.find('}', i + 2);
    if (close == std::string::npos) {
      error_at(at, at_path, "unterminated '${' in value");
      return std::nullopt;
    }
    std::string inner = text.substr(i + 2, close - i - 2);
    std::optional<std::string> fallback;
    if (const size_t sep = inner.find(":-"); sep != std::string::npos) {
      fallback = inner.substr(sep + 2);
      inner.resize(sep);
    }
    if (inner.empty() || !std::all_of(inner.begin(), inner.end(), is_env_name_char)) {
      error_at(at, at_path, "malformed environment reference '${" + inner + "}'");
      return std::nullopt;
    }
    auto value = context_.env(inner);
    const bool empty = value && value->empty();
    if (!value || empty) value = fallback;
    if (!value) {
      error_at(at, at_path,
               "environment variable " + inner + (empty ? " is empty" : " is not set") +
                   " (give a default with ${" + inner + ":-default})");
      return std::nullopt;
    }
    out += *value;
    i = close + 1;
  }
  return out;
}

std::string NodeReader::written(std::string_view key, const std::string& value) {
  std::string text = value;
  if (has(key)) {
    const YAML::Node node = raw(key);
    if (node.IsScalar()) text = node.Scalar();
  }
  // A URL's user:password and its query's values (API keys ride in both), with or without
  // the scheme the value may lack.
  const size_t scheme = text.find("://");
  const size_t host = scheme == std::string::npos ? 0 : scheme + 3;
  const size_t at = text.find('@', host);
  if (at != std::string::npos && at < text.find_first_of("/?", host)) {
    text.replace(host, at - host, "***");
  }
  if (const size_t query = text.find('?'); query != std::string::npos) {
    std::string masked = text.substr(0, query + 1);
    for (size_t start = query + 1; start <= text.size();) {
      const size_t end = std::min(text.find('&', start), text.size());
      const size_t equals = text.find('=', start);
      masked += equals < end ? text.substr(start, equals + 1 - start) + "***"
                             : text.substr(start, end - start);
      if (end < text.size()) masked += '&';
      start = end + 1;
    }
    text = std::move(masked);
  }
  return text;
}

std::optional<std::string> NodeReader::string(std::string_view key, bool required) {
  if (!has(key)) {
    known_.emplace(key);
    if (required) error(key, "is required");
    return std::nullopt;
  }
  return scalar(key, "a string");
}

std::optional<std::string> NodeReader::scalar(std::string_view key, std::string_view what) {
  if (!has(key)) {
    known_.emplace(key);
    return std::nullopt;
  }
  YAML::Node value = raw(key);
  if (!value.IsScalar()) {
    error(key, "must be " + std::string(what));
    return std::nullopt;
  }
  return expand_env(value.Scalar(), value, path_of(key));
}

namespace {

// 0.5, 1, 1e+06: the way a person writes the bound, not std::to_string's 0.500000.
std::string shortest(double value) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc{} ? std::string(buffer, end) : std::to_string(value);
}

// Keys of other gateways' configs (Portkey, LiteLLM) and what says the same here, offered when
// the mapping being read has that key: what a config carried over most often gets wrong.
template <class Keys>
std::string foreign_key_hint(const std::string& key, const Keys& known) {
  struct Foreign {
    std::string_view key, ours, hint;
  };
  static constexpr Foreign kForeign[] = {
      {"request_timeout", "timeouts",
       "timeouts: {total: 30s}' per attempt, then the next backend, or 'timeout"},
      {"on_status_codes", "on_status", "on_status"},
      {"then", "use", "use"},
      {"targets", "use", "use"},
      {"num_retries", "retry", "retry: {attempts: N}"},
      {"max_retries", "retry", "retry: {attempts: N}"},
      {"litellm_params", "default_params", "default_params"},
      {"params", "default_params", "default_params' or 'override_params"},
      {"virtual_key", "api_key", "api_key"},
      {"weight", "weights", "weights: {backend: N}' on the pool"},
  };
  for (const auto& foreign : kForeign) {
    if (key == foreign.key && known.contains(foreign.ours)) return std::string(foreign.hint);
  }
  return {};
}

// The known key a typo most likely meant ("fallbacks" -> "fallback"), or "".
template <class Keys>
std::string closest_key(const std::string& key, const Keys& known) {
  std::string lowered = key;
  for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::string(nearest_name(lowered, known));
}

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Three rows of the optimal string alignment distance: Levenshtein's edits, plus two adjacent
  // characters swapped counting as one ("modle" is one edit from "model").
  std::vector<std::size_t> before(b.size() + 1), previous(b.size() + 1), row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      row[j] =
          std::min({previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] != b[j - 1])});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        row[j] = std::min(row[j], before[j - 2] + 1);
      }
    }
    std::swap(before, previous);
    std::swap(previous, row);
  }
  return previous[b.size()];
}

std::optional<double> NodeReader::number(std::string_view key, double min, double max) {
  auto text = scalar(key, "a number");
  if (!text) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || end != text->data() + text->size()) {
    error(key, "must be a number, got '" + written(key, *text) + "'");
    return std::nullopt;
  }
  if (value < min || value > max) {
    error(key, "must be between " + shortest(min) + " and " + shortest(max));
    return std::nullopt;
  }
  return value;
}

std::optional<std::int64_t> NodeReader::integer(std::string_view key, std::int64_t min,
                                                std::int64_t max) {
  auto text = scalar(key, "an integer");
  if (!text) return std::nullopt;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  const bool digits_only = end == text->data() + text->size();
  if (ec == std::errc::result_out_of_range && digits_only) {
    value = text->starts_with('-') ? std::numeric_limits<std::int64_t>::min()
                                   : std::numeric_limits<std::int64_t>::max();
  } else if (ec != std::errc{} || !digits_only) {
    error(key, "must be an integer, got '" + written(key, *text) + "'");
    return std::nullopt;
  }
  if (value < min || value > max) {
    error(key, min == max
                   ? "must be " + std::to_string(min)
                   : "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> NodeReader::boolean(std::string_view key) {
  auto text = scalar(key, "true or false");
  if (!text) return std::nullopt;
  if (*text == "true" || *text == "yes" || *text == "on") return true;
  if (*text == "false" || *text == "no" || *text == "off") return false;
  error(key, "must be true or false, got '" + written(key, *text) + "'");
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> NodeReader::duration(std::string_view key) {
  auto text = scalar(key, "a duration");
  if (!text) return std::nullopt;
  auto value = parse_duration(*text);
  if (value && *value > kMaxDuration) {
    error(key, "must be at most 8760h (a year), got '" + written(key, *text) + "'");
    return std::nullopt;
  }
  if (value) return value;
  if (is_bare_number(*text)) {
    error(key, "needs a unit: write " + written(key, *text) + "s for seconds or " +
                   written(key, *text) + "ms for milliseconds");
  } else {
    error(key, "must be a duration such as 500ms, 30s or 5m, got '" + written(key, *text) + "'");
  }
  return std::nullopt;
}

std::optional<std::vector<std::string>> NodeReader::string_list(std::string_view key) {
  if (!has(key)) {
    known_.emplace(key);
    return std::nullopt;
  }
  YAML::Node list = raw(key);
  if (!list.IsSequence()) {
    error(key, "must be a list");
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string item_path = path_of(key) + "[" + std::to_string(i) + "]";
    if (!list[i].IsScalar()) {
      error_at(list[i], item_path, "must be a string");
      continue;
    }
    if (auto value = expand_env(list[i].Scalar(), list[i], item_path)) out.push_back(*value);
  }
  return out;
}

std::optional<std::map<std::string, std::string>> NodeReader::string_map(std::string_view key) {
  if (!has(key)) {
    known_.emplace(key);
    return std::nullopt;
  }
  YAML::Node map = raw(key);
  if (!map.IsMap()) {
    error(key, "must be a mapping of strings");
    return std::nullopt;
  }
  std::map<std::string, std::string> out;
  for (const auto& entry : map) {
    const std::string name = entry.first.as<std::string>();
    const std::string item_path = path_of(key) + "." + name;
    if (!entry.second.IsScalar()) {
      error_at(entry.second, item_path, "must be a string");
      continue;
    }
    if (auto value = expand_env(entry.second.Scalar(), entry.second, item_path)) {
      out.emplace(name, *value);
    }
  }
  return out;
}

NodeReader NodeReader::object(std::string_view key) {
  return NodeReader(raw(key), path_of(key), context_);
}

void NodeReader::finish() {
  if (!valid_ || !node_.IsMap()) return;
  std::unordered_map<std::string, int> first_line;  // of each key, 1-based
  for (const auto& entry : node_) {
    const std::string key = entry.first.as<std::string>();
    if (!known_.contains(key)) {
      std::string hint = foreign_key_hint(key, known_);
      if (hint.empty()) hint = closest_key(key, known_);
      context_.diagnostics.push_back(located(
          context_, entry.first, path_of(key),
          "unknown key '" + key + "'" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)")));
    }
    // YAML forbids repeated keys, and only the first would be read: say so.
    const int line = entry.first.Mark().line + 1;
    if (const auto [at, added] = first_line.emplace(key, line); !added) {
      context_.diagnostics.push_back(located(
          context_, entry.first, path_of(key),
          "duplicate key '" + key + "' (first at line " + std::to_string(at->second) + ")"));
    }
  }
}

bool is_clean_name(std::string_view name) {
  return !name.empty() && name.size() <= 200 && std::all_of(name.begin(), name.end(), [](char c) {
    return c > ' ' && c < 0x7F && c != '"' && c != '\\';
  });
}

void check_name(NodeReader& reader, const std::string& name) {
  if (!reader.has("name")) return;  // reported as required already
  if (!is_clean_name(name)) {
    reader.error("name",
                 "must be 1 to 200 printable ASCII characters without spaces, quotes or "
                 "backslashes (names are what clients send as \"model\", and what headers, logs "
                 "and metrics carry)");
  }
}

}  // namespace llm_router::config
