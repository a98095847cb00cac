// classify: JSONL in (a "prompt" field or a chat-completions body per line), one Analysis per
// line out. Bad lines produce {"error": ...} and the run goes on.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "llm_router/analyzer/analyzer.hpp"
#include "llm_router/api/json_parse.hpp"
#include "llm_router/cli/analyzer_commands.hpp"
#include "llm_router/cli/options.hpp"
#include "llm_router/config/diagnostics.hpp"
#include "llm_router/proxy/runtime.hpp"

namespace llm_router::cli {
namespace {

constexpr const char* kDefaultConfig = "config/llm-router.yaml";

analyzer::AnalyzerSettings read_settings(const std::string& path) {
  config::ReadContext context{path, config::process_env(), {}};
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
  // Looked up by iteration: operator[] on an absent key yields a node yaml-cpp later rejects.
  YAML::Node section;
  if (root.IsMap()) {
    for (const auto& entry : root) {
      if (entry.first.as<std::string>() == "analyzer") section = entry.second;
    }
  }
  auto settings =
      analyzer::read_analyzer_settings(config::NodeReader(section, "analyzer", context));
  if (!context.diagnostics.empty()) throw config::ConfigError(context.diagnostics);
  return settings;
}

// Without --config: the defaults, plus the conventional model files when they exist.
void use_default_models(analyzer::AnalyzerSettings& settings, const std::string& config_dir) {
  namespace fs = std::filesystem;
  for (auto [field, file] : {std::pair{&settings.category_model, "models/category.model"},
                             std::pair{&settings.complexity_model, "models/complexity.model"}}) {
    if (field->empty() && fs::exists(fs::path(config_dir) / file)) *field = file;
  }
  if (!fs::exists(analyzer::resolve_model_path(config_dir, settings.sentiment_model))) {
    settings.sentiment_model.clear();
  }
}

// The line's JSON (our parser: UTF-8 checked, depth-limited, errors that say where).
nlohmann::json parse_line(const std::string& line) {
  nlohmann::json input;
  if (const auto parsed = api::parse_json(line, input); !parsed.ok) {
    throw std::runtime_error("not JSON " + parsed.error.describe(line));
  }
  if (!input.is_object()) throw std::runtime_error("each line must be a JSON object");
  return input;
}

// Whether the member `name` is a `prompt` or `input` as a legacy completion or an embeddings
// request sends it: a string or an array of strings (the analyzer reads them as the router does).
bool prompt_like(const nlohmann::json& input, const char* name) {
  const auto it = input.find(name);
  if (it == input.end()) return false;
  if (it->is_string()) return true;
  return it->is_array() && !it->empty() &&
         std::all_of(it->begin(), it->end(), [](const auto& item) { return item.is_string(); });
}

nlohmann::json classify_line(const analyzer::Analyzer& analyzer, const nlohmann::json& input) {
  nlohmann::json out = analyze_row(analyzer, input).to_json();
  out["scores"] = out["category_scores"];
  if (input.contains("id")) out["id"] = input["id"];
  return out;
}

}  // namespace

analyzer::Analysis analyze_row(const analyzer::Analyzer& analyzer, const nlohmann::json& row) {
  analyzer::RequestMeta meta;
  if (const auto messages = row.find("messages"); messages != row.end()) {
    if (!messages->is_array()) throw std::runtime_error("\"messages\" must be an array");
    return analyzer.analyze(row, meta);
  }
  if (prompt_like(row, "prompt")) {
    const auto& prompt = row["prompt"];
    if (prompt.is_string()) return analyzer.analyze_text(prompt.get_ref<const std::string&>());
    meta.endpoint = analyzer::EndpointKind::completions;
    return analyzer.analyze(row, meta);
  }
  if (prompt_like(row, "input")) {
    meta.endpoint = analyzer::EndpointKind::embeddings;
    return analyzer.analyze(row, meta);
  }
  throw std::runtime_error(
      "expected a \"prompt\" (a string or an array of strings), an \"input\" or a "
      "\"messages\" array");
}

// The router's own analyzer for a whole config (the routes' keyword, regex and semantic sets
// included), or null with a note when the config does not load as a whole (an API key's
// environment variable unset, say): its analyzer: section alone is read then.
std::shared_ptr<const analyzer::Analyzer> routers_analyzer(const std::string& path) {
  try {
    return proxy::analyzer_for(config::load_config_file(path), path);
  } catch (const config::ConfigError& e) {
    std::cerr << "note: " << path << " does not load as a whole ("
              << (e.diagnostics().empty() ? std::string("invalid")
                                          : e.diagnostics().front().format())
              << "): its routes' keyword, regex and semantic conditions are not scored\n";
    return nullptr;
  }
}

std::shared_ptr<const analyzer::Analyzer> analyzer_from_config(
    const std::optional<std::string>& config_path) {
  if (config_path && std::filesystem::exists(*config_path)) {
    if (auto analyzer = routers_analyzer(*config_path)) return analyzer;
  }
  const std::string path = config_path.value_or(kDefaultConfig);
  if (!std::filesystem::exists(path)) {
    // Without the models every line would read "other", 0.5: say so instead.
    throw std::runtime_error(
        config_path ? "cannot read " + path
                    : path + " not found from " + std::filesystem::current_path().string() +
                          ": pass --config FILE (a config whose analyzer: section names the "
                          "models, e.g. the shipped config/llm-router.yaml)");
  }
  const std::string config_dir = std::filesystem::path(path).parent_path().string();
  auto settings = read_settings(path);
  if (!config_path) use_default_models(settings, config_dir);
  return analyzer::make_analyzer(settings, config_dir, {}, {});
}

int run_classify(const std::vector<std::string>& args) {
  Options options(args);
  const auto config_path = options.value("--config");
  if (!options.ok()) {
    std::cerr << "usage: llm-router classify [--config FILE] < prompts.jsonl\n"
              << options.problems();
    return 2;
  }
  std::shared_ptr<const analyzer::Analyzer> analyzer;
  try {
    analyzer = analyzer_from_config(config_path);
  } catch (const config::ConfigError& e) {
    for (const auto& d : e.diagnostics()) std::cerr << d.format() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "classify: " << e.what() << "\n";
    return 1;
  }
  std::string line;
  std::size_t number = 0;
  while (std::getline(std::cin, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json out;
    nlohmann::json input;
    try {
      input = parse_line(line);
      out = classify_line(*analyzer, input);
    } catch (const std::exception& e) {
      out = {{"error", e.what()}, {"line", number}};
      if (input.is_object() && input.contains("id")) out["id"] = input["id"];
    }
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  return 0;
}

}  // namespace llm_router::cli
