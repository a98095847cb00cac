// Prompt text and request bodies through the whole analyzer with the shipped models:
// categories, complexity, sentiment, PII and secrets, code, script, keywords, semantic sets.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>

#include "fuzz_target.hpp"
#include "llm_router/analyzer/analyzer.hpp"
#include "llm_router/analyzer/detectors.hpp"
#include "llm_router/analyzer/factory.hpp"

namespace {

const llm_router::analyzer::Analyzer& shipped_analyzer() {
  static const auto instance = [] {
    llm_router::analyzer::AnalyzerSettings settings;
    settings.category_model = "models/category.model";
    settings.complexity_model = "models/complexity.model";
    settings.sentiment_lexicon = "models/vader_lexicon.txt";
    settings.sentiment_model = "models/sentiment.json";
    std::vector<llm_router::analyzer::KeywordSet> keywords{
        {"billing", {"refund", "chargeback", "invoice"}, {R"(order\s+#?\d{5,})"}}};
    std::vector<llm_router::analyzer::SemanticSet> semantic{
        {"greeting", {"hello there", "good morning", "hi, how are you"}, 0.5}};
    return llm_router::analyzer::make_analyzer(settings,
                                               std::string(LLM_ROUTER_SOURCE_DIR) + "/config",
                                               std::move(keywords), std::move(semantic));
  }();
  return *instance;
}

void check(const llm_router::analyzer::Analysis& a) {
  const bool finite = std::isfinite(a.complexity) && std::isfinite(a.sentiment);
  if (!finite || a.complexity < 0 || a.complexity > 1 || a.sentiment < -1 || a.sentiment > 1) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto& analyzer = shipped_analyzer();
  // As the user's message...
  nlohmann::json body{{"model", "auto"}, {"messages", {{{"role", "user"}, {"content", text}}}}};
  check(analyzer.analyze(body, {}));
  // ...as a whole body's text, read as the router reads it (JSON or not)...
  check(analyzer.analyze(std::string_view(text), {}));
  // ...and as a DOM, when it is JSON.
  const auto parsed = nlohmann::json::parse(text, nullptr, false);
  if (!parsed.is_discarded()) check(analyzer.analyze(parsed, {}));
  // Every PII match lies inside the text, in order, and agrees with the counts.
  const auto counts = llm_router::analyzer::detect_pii(text);
  const auto matches = llm_router::analyzer::find_pii(text);
  int total = 0;
  for (int count : counts) total += count;
  if (static_cast<int>(matches.size()) != total) std::abort();
  for (std::size_t k = 0; k < matches.size(); ++k) {
    const auto& m = matches[k];
    if (m.begin >= m.end || m.end > text.size()) std::abort();
    if (k > 0 && matches[k - 1].begin > m.begin) std::abort();
  }
  return 0;
}

std::vector<std::string> fuzz_seeds() {
  return {
      "Write a Python function that reverses a linked list.",
      "I want a refund NOW!!! This is the third time :( order #123456",
      "My card is 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, mail a@b.co, "
      "key sk-ABCDEFGHIJKLMNOPQRSTUVWX123456, SSN 123-45-6789, phone +1 (555) 010-9999",
      "Если x^2 = 16, чему равен x? 答えてください。 مرحبا",
      "```js\nconst f = (a) => a.map(x => x * 2);\n```\nWhy does this fail?",
      R"({"model":"auto","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"hi"}]}],"tools":[]})",
      "",
  };
}

std::vector<std::string> fuzz_dictionary() {
  return {" ",     "\n",           "```",    "def ",    "SELECT ", "!!!", "not ", "but ",
          "VERY ", ":)",           "$",      "\\frac{", "4111",    "@",   "sk-",  "http://",
          "\t",    "\xe2\x80\x8b", "refund", "NOT"};
}
