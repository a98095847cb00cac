#include "llm_router/analyzer/settings.hpp"

#include <re2/re2.h>

namespace llm_router::analyzer {
namespace {

void read_text(config::NodeReader reader, TextSelection& text) {
  if (auto v = reader.boolean("include_system")) text.include_system = *v;
  if (auto v = reader.integer("history_messages", 0, 1000))
    text.history_messages = static_cast<int>(*v);
  if (auto v = reader.boolean("follow_up_context")) text.follow_up_context = *v;
  if (auto v = reader.integer("max_chars", 16, 10'000'000))
    text.max_chars = static_cast<std::size_t>(*v);
  if (auto v = reader.integer("model_chars", 16, 10'000'000))
    text.model_chars = static_cast<std::size_t>(*v);
  if (auto v = reader.integer("pii_chars", 0, 1LL << 32))
    text.pii_chars = static_cast<std::size_t>(*v);
  reader.finish();
}

void read_detectors(config::NodeReader reader, DetectorToggles& detectors) {
  if (auto v = reader.boolean("pii")) detectors.pii = *v;
  if (auto v = reader.boolean("code")) detectors.code = *v;
  if (auto v = reader.boolean("language")) detectors.language = *v;
  if (auto v = reader.boolean("sentiment")) detectors.sentiment = *v;
  if (auto v = reader.boolean("instructions")) detectors.instructions = *v;
  if (auto v = reader.boolean("math")) detectors.math = *v;
  reader.finish();
}

// Calls read(item_reader) for each mapping of a list-valued key.
template <typename Read>
void read_list(config::NodeReader& reader, std::string_view key, Read&& read) {
  if (!reader.has(key)) {
    reader.raw(key);
    return;
  }
  const YAML::Node list = reader.raw(key);
  if (!list.IsSequence()) {
    reader.error(key, "must be a list");
    return;
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    read(config::NodeReader(list[i], reader.path_of(key) + "[" + std::to_string(i) + "]",
                            reader.context()),
         list[i]);
  }
}

void check_patterns(config::NodeReader& item, const YAML::Node& node,
                    const std::vector<std::string>& patterns) {
  const YAML::Node list = node["patterns"];
  for (std::size_t p = 0; p < patterns.size(); ++p) {
    RE2::Options options;
    options.set_log_errors(false);
    const RE2 regex(patterns[p], options);
    if (!regex.ok()) {
      item.error_at(list.IsSequence() && p < list.size() ? list[p] : node,
                    item.path_of("patterns") + "[" + std::to_string(p) + "]",
                    "invalid regular expression: " + regex.error());
    }
  }
}

EmbeddingsSettings read_embeddings(config::NodeReader reader) {
  EmbeddingsSettings e;
  e.model = reader.string("model", true).value_or("");
  if (auto v = reader.integer("timeout_ms", 1, 60'000)) e.timeout = std::chrono::milliseconds(*v);
  if (auto v = reader.integer("cache_size", 0, 10'000'000)) e.cache_size = std::size_t(*v);
  reader.finish();
  return e;
}

void read_semantic(config::NodeReader reader, AnalyzerSettings& s) {
  if (reader.has("embeddings")) s.embeddings = read_embeddings(reader.object("embeddings"));
  reader.raw("embeddings");
  reader.finish();
}

}  // namespace

AnalyzerSettings read_analyzer_settings(config::NodeReader reader) {
  AnalyzerSettings s;
  if (auto v = reader.string("category_model")) s.category_model = *v;
  if (auto v = reader.string("complexity_model")) s.complexity_model = *v;
  if (auto v = reader.string("complexity_label")) s.complexity_label = *v;
  if (auto v = reader.string("sentiment_lexicon")) s.sentiment_lexicon = *v;
  if (auto v = reader.string("sentiment_model")) s.sentiment_model = *v;
  if (auto v = reader.number("other_threshold", 0.0, 1.0)) s.other_threshold = *v;
  // object() on an absent key would wrap yaml-cpp's invalid "zombie" node, so only present
  // sections are opened.
  if (reader.has("text")) read_text(reader.object("text"), s.text);
  if (reader.has("detectors")) read_detectors(reader.object("detectors"), s.detectors);
  if (reader.has("semantic")) read_semantic(reader.object("semantic"), s);
  reader.raw("text");
  reader.raw("detectors");
  reader.raw("semantic");
  read_list(reader, "keyword_sets", [&](config::NodeReader item, const YAML::Node& node) {
    KeywordSet set;
    set.name = item.string("name", true).value_or("");
    set.words = item.string_list("words").value_or(std::vector<std::string>{});
    set.patterns = item.string_list("patterns").value_or(std::vector<std::string>{});
    if (set.words.empty() && set.patterns.empty()) item.error("words", "needs words or patterns");
    check_patterns(item, node, set.patterns);
    item.finish();
    s.keyword_sets.push_back(std::move(set));
  });
  read_list(reader, "semantic_sets", [&](config::NodeReader item, const YAML::Node&) {
    SemanticSet set;
    set.name = item.string("name", true).value_or("");
    set.utterances = item.string_list("utterances").value_or(std::vector<std::string>{});
    if (set.utterances.empty()) item.error("utterances", "needs at least one utterance");
    set.threshold = item.number("threshold", 0.0, 1.0);
    item.finish();
    s.semantic_sets.push_back(std::move(set));
  });
  reader.finish();
  return s;
}

}  // namespace llm_router::analyzer
