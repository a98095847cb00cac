#include <filesystem>
#include <optional>
#include <stdexcept>

#include "llm_router/analyzer/analyzer.hpp"
#include "llm_router/analyzer/factory.hpp"

namespace llm_router::analyzer {

std::string resolve_model_path(const std::string& config_dir, const std::string& path) {
  if (path.empty()) return path;
  const std::filesystem::path p(path);
  if (p.is_absolute() || config_dir.empty()) return path;
  return (std::filesystem::path(config_dir) / p).lexically_normal().string();
}

std::shared_ptr<const Analyzer> make_analyzer_with_loader(const AnalyzerSettings& settings,
                                                          const std::string& config_dir,
                                                          std::vector<KeywordSet> keyword_sets,
                                                          std::vector<SemanticSet> semantic_sets,
                                                          const TextModelLoader& load_model) {
  Analyzer::Models models;
  // A load error names the setting, so a default path nobody wrote is not a mystery.
  const auto naming = [](const char* setting, const auto& load_it) {
    try {
      return load_it();
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string("analyzer.") + setting + ": " + e.what());
    }
  };
  auto load = [&](const std::string& path) -> std::shared_ptr<const classifier::TextModel> {
    if (path.empty()) return nullptr;
    const std::string resolved = resolve_model_path(config_dir, path);
    auto model = load_model(resolved);
    if (!model) throw std::runtime_error("cannot load text model " + resolved);
    return model;
  };
  models.category = naming("category_model", [&] { return load(settings.category_model); });
  models.complexity = naming("complexity_model", [&] { return load(settings.complexity_model); });
  if (settings.detectors.sentiment) {
    models.sentiment = naming(
        "sentiment_lexicon / sentiment_model (defaults models/vader_lexicon.txt and "
        "models/sentiment.json beside the config; detectors.sentiment: false turns sentiment off)",
        [&] {
          return load_sentiment_model(resolve_model_path(config_dir, settings.sentiment_lexicon),
                                      resolve_model_path(config_dir, settings.sentiment_model));
        });
  }
  try {
    return std::make_shared<const Analyzer>(settings, std::move(models), std::move(keyword_sets),
                                            std::move(semantic_sets));
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(std::string("analyzer: ") + e.what());
  }
}

}  // namespace llm_router::analyzer
