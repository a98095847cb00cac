#pragma once

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

}  // namespace llm_router::cli
