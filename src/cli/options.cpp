#include "llm_router/cli/options.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

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

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    if (comma > start) items.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return items;
}

std::map<std::string, int> parse_repeat_counts(const std::string& text, const std::string& option) {
  std::map<std::string, int> counts;
  for (const auto& item : split_list(text)) {
    const std::size_t equals = item.find('=');
    int count = 0;
    if (equals != std::string::npos && equals > 0) {
      const auto [end, error] =
          std::from_chars(item.data() + equals + 1, item.data() + item.size(), count);
      if (error != std::errc() || end != item.data() + item.size()) count = 0;
    }
    if (count < 1 || count > 1000) {
      throw std::runtime_error(option + ": expected KEY=N with N from 1 to 1000, got '" + item +
                               "'");
    }
    counts[item.substr(0, equals)] = count;
  }
  return counts;
}

}  // namespace llm_router::cli
