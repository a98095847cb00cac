// Kept apart from loading.cpp: this is the only analyzer file that needs the classifier's
// load_text_model, so binaries and tests that do not call make_analyzer link without it.
#include "llm_router/analyzer/factory.hpp"

#include "llm_router/analyzer/analyzer.hpp"
#include "llm_router/classifier/text_model.hpp"

namespace llm_router::analyzer {

std::shared_ptr<const Analyzer> make_analyzer(const AnalyzerSettings& settings,
                                              const std::string& config_dir,
                                              std::vector<KeywordSet> keyword_sets,
                                              std::vector<SemanticSet> semantic_sets) {
  static ReusingModelLoader loaded(&classifier::load_text_model);
  return make_analyzer_with_loader(settings, config_dir, std::move(keyword_sets),
                                   std::move(semantic_sets),
                                   [](const std::string& path) { return loaded.load(path); });
}

}  // namespace llm_router::analyzer
