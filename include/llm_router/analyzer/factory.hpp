#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "llm_router/analyzer/keywords.hpp"
#include "llm_router/analyzer/semantic.hpp"
#include "llm_router/analyzer/settings.hpp"
#include "llm_router/classifier/text_model.hpp"
#include "llm_router/core/file.hpp"

namespace llm_router::analyzer {

class Analyzer;

using TextModelLoader =
    std::function<std::shared_ptr<const classifier::TextModel>(const std::string& path)>;

// Shares the text models in use, by path: a reload whose model files did not change (same
// device, inode, size, modification and change times) reuses them instead of reading and
// holding a second copy (the category model alone is 11 MB, and freed copies did not all go
// back to the system). A file written again, or replaced by a rename, is read again.
class ReusingModelLoader {
 public:
  explicit ReusingModelLoader(TextModelLoader load) : load_(std::move(load)) {}
  std::shared_ptr<const classifier::TextModel> load(const std::string& path) {
    return models_.get(path, load_);
  }

 private:
  TextModelLoader load_;
  core::SharedByFile<const classifier::TextModel> models_;
};

// A path from the config, resolved against the config file's directory unless absolute.
std::string resolve_model_path(const std::string& config_dir, const std::string& path);

// make_analyzer with the model loader injected (tests, and builds without the classifier).
// Keyword and semantic sets from settings come first, then the ones passed here.
std::shared_ptr<const Analyzer> make_analyzer_with_loader(const AnalyzerSettings& settings,
                                                          const std::string& config_dir,
                                                          std::vector<KeywordSet> keyword_sets,
                                                          std::vector<SemanticSet> semantic_sets,
                                                          const TextModelLoader& load_model);

// Loads the model files named in settings with classifier::load_text_model (paths relative to
// config_dir) and builds the analyzer. Throws std::runtime_error naming the file on failure.
std::shared_ptr<const Analyzer> make_analyzer(const AnalyzerSettings& settings,
                                              const std::string& config_dir,
                                              std::vector<KeywordSet> keyword_sets,
                                              std::vector<SemanticSet> semantic_sets);

}  // namespace llm_router::analyzer
