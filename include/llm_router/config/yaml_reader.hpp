#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "llm_router/config/diagnostics.hpp"

namespace llm_router::config {

// Returns the value of an environment variable, or nullopt when it is unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();

// What every reader of one config file shares: the file name, the environment and the problems.
struct ReadContext {
  std::string file;
  EnvLookup env;
  Diagnostics diagnostics;
  std::vector<std::string> other_files;  // read besides `file` (api_key_file): watched too
};

// Reads one YAML mapping with a schema written as calls: each accessor declares a key as known,
// checks its type and range and records a located diagnostic instead of throwing. finish()
// reports the keys nobody asked for, so a typo in a config is an error, never silently ignored.
class NodeReader {
 public:
  NodeReader(const YAML::Node& node, std::string path, ReadContext& context);

  std::optional<std::string> string(std::string_view key, bool required = false);
  std::optional<double> number(std::string_view key, double min, double max);
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max);
  std::optional<bool> boolean(std::string_view key);
  // "250ms", "30s", "5m", "1h", or a bare number of milliseconds.
  std::optional<std::chrono::milliseconds> duration(std::string_view key);
  std::optional<std::vector<std::string>> string_list(std::string_view key);
  std::optional<std::map<std::string, std::string>> string_map(std::string_view key);
  // A nested mapping; an absent key gives a reader over an empty mapping.
  NodeReader object(std::string_view key);
  // The raw node of a key (undefined when absent), marked as known.
  YAML::Node raw(std::string_view key);
  bool has(std::string_view key) const;

  // A key's value for an error message: as the file writes it when it came from the
  // environment ("${OPENAI_KEY}", not the key itself), and with a URL's user:password masked.
  std::string written(std::string_view key, const std::string& value);
  void error(std::string_view key, const std::string& message);
  void error_at(const YAML::Node& node, const std::string& sub_path, const std::string& message);
  void finish();

  const std::string& path() const { return path_; }
  std::string path_of(std::string_view key) const;
  ReadContext& context() { return context_; }

  // ${VAR} and ${VAR:-default} expansion; an unset variable without a default is an error.
  std::optional<std::string> expand_env(const std::string& text, const YAML::Node& at,
                                        const std::string& at_path);

 private:
  YAML::Node node_;
  std::string path_;
  ReadContext& context_;
  std::set<std::string, std::less<>> known_;
  bool valid_ = true;

  // A scalar's text (env expanded); a list or mapping is an error saying it must be `what`.
  std::optional<std::string> scalar(std::string_view key, std::string_view what);
};

// Edits from a to b (case-sensitive): insertions, deletions, substitutions, and two adjacent
// characters swapped (optimal string alignment distance).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The name among `candidates` (projected to names by `name_of`) nearest to `typed`, when
// within a third of its length in edits (at least one): the "did you mean" of config errors.
// "" when none is that near.
template <class Candidates, class NameOf = std::identity>
std::string_view nearest_name(std::string_view typed, const Candidates& candidates,
                              NameOf name_of = {}) {
  std::string_view nearest;
  std::size_t best = std::max<std::size_t>(1, typed.size() / 3) + 1;
  for (const auto& candidate : candidates) {
    const std::string_view name = std::invoke(name_of, candidate);
    if (const std::size_t distance = edit_distance(typed, name); distance < best) {
      best = distance;
      nearest = name;
    }
  }
  return nearest;
}

// The longest duration a config may give (a year): a deadline is now plus a duration, and
// steady_clock's range ends some 292 years out.
inline constexpr std::chrono::milliseconds kMaxDuration{8760LL * 3'600'000};
// Parses "250ms" / "30s" / "5m" / "1h" (and a bare "0"); nullopt when malformed or when a
// non-zero number has no unit.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// Whether `text` is a number and nothing else ("600", "1.5").
bool is_bare_number(std::string_view text);

// A backend or route `name` (what clients put in "model" and what response headers and metrics
// labels carry): 1..200 printable ASCII bytes, no space, quote or backslash. Reports otherwise.
void check_name(NodeReader& reader, const std::string& name);
// What a name clients send as "model" may be: 1 to 200 printable ASCII characters without
// spaces, quotes or backslashes.
bool is_clean_name(std::string_view name);

}  // namespace llm_router::config
