#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace llm_router::cli {

// "--name value" / "--name=value" / "--flag" parsing for the subcommands.
class Options {
 public:
  explicit Options(const std::vector<std::string>& args);

  std::optional<std::string> value(const std::string& name);
  bool flag(const std::string& name);
  // True when every argument was asked for by value() or flag() and none was malformed.
  bool ok() const;
  std::string problems() const;  // one line per unknown or malformed argument

 private:
  std::vector<std::string> args_;
  std::set<size_t> consumed_;
};

// "a,b,,c" -> {"a", "b", "c"}: the items of a comma-separated option, empty ones dropped.
std::vector<std::string> split_list(const std::string& text);

// "support=8,tweets=2" (a --repeat style option): KEY=N with N from 1 to 1000. Throws
// std::runtime_error naming `option` on anything else.
std::map<std::string, int> parse_repeat_counts(const std::string& text, const std::string& option);

}  // namespace llm_router::cli
