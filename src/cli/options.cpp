#include "llm_router/cli/options.hpp"

namespace llm_router::cli {

Options::Options(const std::vector<std::string>& args) : args_(args) {}

std::optional<std::string> Options::value(const std::string& name) {
  for (size_t i = 0; i < args_.size(); ++i) {
    if (args_[i] == name && i + 1 < args_.size()) {
      consumed_.insert(i);
      consumed_.insert(i + 1);
      return args_[i + 1];
    }
    if (args_[i].starts_with(name + "=")) {
      consumed_.insert(i);
      return args_[i].substr(name.size() + 1);
    }
  }
  return std::nullopt;
}

bool Options::flag(const std::string& name) {
  for (size_t i = 0; i < args_.size(); ++i) {
    if (args_[i] == name) {
      consumed_.insert(i);
      return true;
    }
  }
  return false;
}

bool Options::ok() const {
  return consumed_.size() == args_.size();
}

std::string Options::problems() const {
  std::string text;
  for (size_t i = 0; i < args_.size(); ++i) {
    if (!consumed_.contains(i)) text += "unexpected argument '" + args_[i] + "'\n";
  }
  return text;
}

}  // namespace llm_router::cli
