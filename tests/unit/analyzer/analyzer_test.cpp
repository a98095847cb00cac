#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "llm_router/analyzer/analyzer.hpp"
#include "llm_router/config/yaml_reader.hpp"

namespace llm_router::analyzer {
namespace {

using nlohmann::json;

const std::string kRoot = LLM_ROUTER_SOURCE_DIR;

class FakeModel : public classifier::TextModel {
 public:
  FakeModel(std::vector<std::string> labels, std::vector<float> output)
      : labels_(std::move(labels)), output_(std::move(output)) {}
  const std::vector<std::string>& labels() const override { return labels_; }
  void predict(std::string_view, std::span<float> probabilities) const override {
    for (std::size_t i = 0; i < probabilities.size(); ++i) probabilities[i] = output_[i];
  }

 private:
  std::vector<std::string> labels_;
  std::vector<float> output_;
};

std::shared_ptr<const classifier::TextModel> category(std::vector<float> p) {
  return std::make_shared<FakeModel>(std::vector<std::string>{"code", "math", "chat"}, p);
}

json user_says(const std::string& text) {
  return json{{"messages", {{{"role", "user"}, {"content", text}}}}};
}

struct CategoryCase {
  std::vector<float> probabilities;
  const char* expected;
};

class CategoryThreshold : public ::testing::TestWithParam<CategoryCase> {};

TEST_P(CategoryThreshold, OtherBelowThreshold) {
  AnalyzerSettings settings;
  settings.other_threshold = 0.5;
  const Analyzer analyzer(settings, {category(GetParam().probabilities), nullptr, nullptr}, {}, {});
  const Analysis a = analyzer.analyze(user_says("hi"), {});
  EXPECT_EQ(a.category, GetParam().expected);
  EXPECT_EQ(a.category_scores.size(), 3u);
}

INSTANTIATE_TEST_SUITE_P(Table, CategoryThreshold,
                         ::testing::Values(CategoryCase{{0.7f, 0.2f, 0.1f}, "code"},
                                           CategoryCase{{0.4f, 0.3f, 0.3f}, "other"},
                                           CategoryCase{{0.1f, 0.5f, 0.4f}, "math"},
                                           CategoryCase{{NAN, 0.2f, 0.8f}, "chat"},
                                           CategoryCase{{NAN, NAN, NAN}, "other"}));

// The model learned "code" from Python only; confident code evidence in another language moves
// 60% of the mass onto "code" (documented in docs/analyzer.md).
TEST(Analyzer, CodeEvidenceOverridesTheModelForOtherLanguages) {
  struct Case {
    const char* text;
    bool code_detector;
    const char* expected;
  };
  const Case cases[] = {
      {"Fix the segfault: #include <vector>\nint main() { std::vector<int> v; v[3] = 1; }", true,
       "code"},
      {"Write a SQL query that returns the top 5 customers by total order amount.", true, "code"},
      {"Write a bash script that renames all .jpeg files to .jpg", true, "code"},
      {"Write a poem about drinking Java coffee on a rainy morning.", true, "math"},
      {"Let $f(x) = x^2$ be a function; find the integer $n$ with $f(n) == 4$.", true, "math"},
      {"Write a SQL query that returns the top 5 customers by total order amount.", false, "math"},
  };
  for (const auto& c : cases) {
    AnalyzerSettings settings;
    settings.detectors.code = c.code_detector;
    settings.detectors.instructions = false;  // "Write a SQL query" is also an instruction cue
    const Analyzer analyzer(settings, {category({0.1f, 0.8f, 0.1f}), nullptr, nullptr}, {}, {});
    const Analysis a = analyzer.analyze(user_says(c.text), {});
    EXPECT_EQ(a.category, c.expected) << c.text;
    float sum = 0;
    for (const auto& [label, p] : a.category_scores) sum += static_cast<float>(p);
    EXPECT_NEAR(sum, 1.0f, 1e-5f) << c.text;
    if (std::string(c.expected) == "code") {
      EXPECT_NEAR(a.category_scores.at("code"), 0.1 * 0.4 + 0.6, 1e-6) << c.text;
      EXPECT_NEAR(a.category_scores.at("math"), 0.8 * 0.4, 1e-6) << c.text;
    }
  }
}

// One language's name makes a question about programming of a chat reading, not of a math
// problem the model reads (a python that eats alligators).
TEST(Analyzer, ALanguagesNameAloneYieldsToAMathReading) {
  AnalyzerSettings settings;
  const auto read = [&](std::vector<float> p, const std::string& text) {
    const Analyzer analyzer(settings, {category(std::move(p)), nullptr, nullptr}, {}, {});
    return analyzer.analyze(user_says(text), {}).category;
  };
  EXPECT_EQ(read({0.1f, 0.1f, 0.8f}, "how do I reverse a list in javascript?"), "code");
  EXPECT_EQ(read({0.1f, 0.8f, 0.1f}, "A python eats 3 alligators a week. How many in 5 weeks?"),
            "math");
  // Two kinds of evidence are code whatever the model reads.
  EXPECT_EQ(read({0.1f, 0.8f, 0.1f}, "Why does my python function return None?"), "code");
}

// The task named by the prompt's first words moves 60% of the mass onto its label, when the
// model has that label and did not already pick it.
TEST(Analyzer, InstructionCueOverridesTheModel) {
  struct Case {
    const char* text;
    bool instructions;
    const char* expected;
  };
  const Case cases[] = {
      {"Summarize the following article in three bullet points: the council voted ...", true,
       "summarization"},
      {"Prove that there are infinitely many primes.", true, "math"},
      {"Summarize the following article in three bullet points: the council voted ...", false,
       "open_qa"},
      {"What is the capital of Australia?", true, "open_qa"},
      {"Write a haiku about rain.", true, "open_qa"},  // the model has no creative_writing
  };
  for (const auto& c : cases) {
    AnalyzerSettings settings;
    settings.detectors.instructions = c.instructions;
    const auto model =
        std::make_shared<FakeModel>(std::vector<std::string>{"open_qa", "math", "summarization"},
                                    std::vector<float>{0.7f, 0.2f, 0.1f});
    const Analyzer analyzer(settings, {model, nullptr, nullptr}, {}, {});
    const Analysis a = analyzer.analyze(user_says(c.text), {});
    EXPECT_EQ(a.category, c.expected) << c.text;
    float sum = 0;
    for (const auto& [label, p] : a.category_scores) sum += static_cast<float>(p);
    EXPECT_NEAR(sum, 1.0f, 1e-5f) << c.text;
  }
}

// A cue naming another task does not overrule a code reading the code evidence backs ("write
// a script" is also a film's).
TEST(Analyzer, ACueDoesNotOverruleCodeTheEvidenceBacks) {
  const auto model =
      std::make_shared<FakeModel>(std::vector<std::string>{"code", "creative_writing", "open_qa"},
                                  std::vector<float>{0.7f, 0.2f, 0.1f});
  const Analyzer analyzer(AnalyzerSettings{}, {model, nullptr, nullptr}, {}, {});
  EXPECT_EQ(
      analyzer.analyze(user_says("Write a script in Python that renames every file"), {}).category,
      "code");
  EXPECT_EQ(analyzer.analyze(user_says("Write a script for a short film about rain"), {}).category,
            "creative_writing");
}

// A rule agreeing with an unsure model still lifts its label: the prompt names its task, so it
// does not end as "other" (a top label at 0.25 is under other_threshold).
TEST(Analyzer, ARuleConfirmsAnUnsureTopLabel) {
  const auto model = std::make_shared<FakeModel>(
      std::vector<std::string>{"open_qa", "math", "summarization", "code", "brainstorming"},
      std::vector<float>{0.19f, 0.25f, 0.19f, 0.18f, 0.19f});
  const Analyzer analyzer(AnalyzerSettings{}, {model, nullptr, nullptr}, {}, {});
  for (const char* text :
       {"Prove that the square root of 2 is irrational.", "What is the derivative of x^2 + 3x?"}) {
    const Analysis a = analyzer.analyze(user_says(text), {});
    EXPECT_EQ(a.category, "math") << text;
    EXPECT_NEAR(a.category_scores.at("math"), 0.25 * 0.4 + 0.6, 1e-6) << text;
  }
  // Nothing names a task: the unsure reading stays "other".
  EXPECT_EQ(analyzer.analyze(user_says("tell me about the weather"), {}).category, "other");
}

// Math notation and words the model misread move 60% of the mass onto "math", unless the
// prompt names another task or the model reads code.
TEST(Analyzer, MathEvidenceOverridesTheModel) {
  struct Case {
    const char* text;
    bool math_detector;
    std::vector<float> scores;  // open_qa, math, code, creative_writing
    const char* expected;
  };
  const std::vector<float> open_qa{0.7f, 0.1f, 0.1f, 0.1f};
  const Case cases[] = {
      {"What is the derivative of sin(x)cos(x)?", true, open_qa, "math"},
      {"How many ways can 5 people sit around a round table?", true, open_qa, "math"},
      {"What is the derivative of sin(x)cos(x)?", false, open_qa, "open_qa"},
      {"Write a poem about the derivative of x^2.", true, open_qa, "creative_writing"},
      {"Compute sin(x)^2 in Python", true, {0.1f, 0.1f, 0.7f, 0.1f}, "code"},
      {"Summarize the plot of The Matrix (1999).", true, open_qa, "open_qa"},
  };
  for (const auto& c : cases) {
    AnalyzerSettings settings;
    settings.detectors.math = c.math_detector;
    const auto model = std::make_shared<FakeModel>(
        std::vector<std::string>{"open_qa", "math", "code", "creative_writing"}, c.scores);
    const Analyzer analyzer(settings, {model, nullptr, nullptr}, {}, {});
    const Analysis a = analyzer.analyze(user_says(c.text), {});
    EXPECT_EQ(a.category, c.expected) << c.text;
    float sum = 0;
    for (const auto& [label, p] : a.category_scores) sum += static_cast<float>(p);
    EXPECT_NEAR(sum, 1.0f, 1e-5f) << c.text;
  }
}

// The model reads everyday text with a figure as math ("after two days"): with no mark of math
// and no number asked for, its math share drops to a quarter, and another label may lead.
TEST(Analyzer, MathTheTextDoesNotBackYieldsToTheNextReading) {
  const std::vector<float> leaning_math{0.35f, 0.55f, 0.05f, 0.05f};  // open_qa, math, ...
  const auto model = std::make_shared<FakeModel>(
      std::vector<std::string>{"open_qa", "math", "code", "creative_writing"}, leaning_math);
  const Analyzer analyzer(AnalyzerSettings{}, {model, nullptr, nullptr}, {}, {});
  const struct {
    const char* text;
    const char* expected;
  } cases[] = {
      {"My phone stopped working after two days, what now?", "open_qa"},
      {"The export fails with error code 1. How do I get it working?", "open_qa"},
      {"A shop sells 3 pens for 2 dollars. How much do 12 pens cost?", "math"},
      {"Prove that there are infinitely many primes.", "math"},
      {"x^2 + 3x = 10", "math"},
      {"Mi teléfono dejó de funcionar después de dos días.", "math"},  // English words only
      // A text to translate or reword asks for no number, whatever figures and prices it holds.
      {"Translate to Spanish: Drill X200, 18 V, 2.0 Ah. Price: $129.99.", "open_qa"},
      {"What is the total price of 3 drills at $129.99?", "math"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(analyzer.analyze(user_says(c.text), {}).category, c.expected) << c.text;
  }
}

// Sure of "code" when the text mentions python, of "chit_chat" for thanks (and for "fix it", as
// the shipped model is), unsure otherwise.
class WordModel : public classifier::TextModel {
 public:
  const std::vector<std::string>& labels() const override { return labels_; }
  void predict(std::string_view text, std::span<float> p) const override {
    const bool code = text.find("python") != std::string_view::npos;
    const bool thanks = text.find("thanks") != std::string_view::npos || text == "fix it" ||
                        text.starts_with("more formal") || text.starts_with("formal");
    const std::array<float, 3> out = thanks ? std::array<float, 3>{0.05f, 0.05f, 0.9f}
                                     : code ? std::array<float, 3>{0.9f, 0.05f, 0.05f}
                                            : std::array<float, 3>{0.3f, 0.3f, 0.4f};
    for (std::size_t i = 0; i < p.size(); ++i) p[i] = out[i];
  }

 private:
  std::vector<std::string> labels_{"code", "math", "chit_chat"};
};

TEST(Analyzer, AnUnsureFollowUpLeansOnThePreviousUserTurn) {
  const auto conversation = [](const std::string& last) {
    return json{{"messages",
                 {{{"role", "user"}, {"content", "Write a python function that reverses a list"}},
                  {{"role", "assistant"}, {"content", "def rev(xs): return xs[::-1]"}},
                  {{"role", "user"}, {"content", last}}}}};
  };
  AnalyzerSettings settings;
  settings.detectors.instructions = false;
  settings.detectors.code = false;
  const Analyzer analyzer(settings, {std::make_shared<WordModel>(), nullptr, nullptr}, {}, {});
  const Analysis follow_up = analyzer.analyze(conversation("please make it recursive"), {});
  EXPECT_EQ(follow_up.category, "code");
  EXPECT_TRUE(follow_up.category_from_context);
  EXPECT_NEAR(follow_up.category_scores.at("code"), 0.4 * 0.3 + 0.6 * 0.9, 1e-6);
  EXPECT_EQ(follow_up.analyzed_chars, 24);  // the other signals read the last message only
  // A fragment ("more formal", "descending?", "in postgres") is read in context only, however
  // sure the model is of it alone; not one about the assistant itself.
  const Analysis fragment = analyzer.analyze(conversation("more formal"), {});
  EXPECT_TRUE(fragment.category_from_context);
  EXPECT_NEAR(fragment.category_scores.at("code"), 0.9, 1e-6);
  EXPECT_FALSE(analyzer.analyze(conversation("formal wear for you?"), {}).category_from_context);
  // A message that announces a new topic is read alone.
  EXPECT_FALSE(
      analyzer.analyze(conversation("Unrelated: and make it recursive"), {}).category_from_context);
  EXPECT_FALSE(
      analyzer.analyze(conversation("New task: and make it recursive"), {}).category_from_context);
  // So is a reply that only acknowledges, however unsure the model is of it.
  EXPECT_FALSE(analyzer.analyze(conversation("got it, thanks"), {}).category_from_context);
  EXPECT_FALSE(analyzer.analyze(conversation("ok cool. good night"), {}).category_from_context);
  // A confident reading of the last message stands ("thanks" is small talk after anything).
  const Analysis closer = analyzer.analyze(conversation("great, thanks"), {});
  EXPECT_EQ(closer.category, "chit_chat");
  EXPECT_FALSE(closer.category_from_context);
  // Unless small talk points back at the task: "fix it" and "thanks, now do it again" continue
  // it; thanks for it, a remark about the answer or a thing of its own close or start anew.
  EXPECT_TRUE(analyzer.analyze(conversation("fix it"), {}).category_from_context);
  EXPECT_TRUE(analyzer.analyze(conversation("thanks, now do it again"), {}).category_from_context);
  for (const char* closer_text :
       {"thanks, that's it", "thanks, it works", "thanks for this", "thanks, that did the trick",
        "thanks! a joke about this weather?", "I'll look at it tomorrow, thanks",
        "thanks, see you tomorrow, same time"}) {
    EXPECT_FALSE(analyzer.analyze(conversation(closer_text), {}).category_from_context)
        << closer_text;
  }
  // No earlier turn, or the option off: the last message alone.
  EXPECT_FALSE(analyzer.analyze(user_says("and make it recursive"), {}).category_from_context);
  settings.text.follow_up_context = false;
  const Analyzer alone(settings, {std::make_shared<WordModel>(), nullptr, nullptr}, {}, {});
  const Analysis off = alone.analyze(conversation("and make it recursive"), {});
  EXPECT_FALSE(off.category_from_context);
  EXPECT_NEAR(off.category_scores.at("code"), 0.3, 1e-6);
}

// "code" for a text that opens with "python", "math" for one that opens with "Specs", so only
// a request read alone can be code and only the passages read as math.
class OpeningWordModel : public classifier::TextModel {
 public:
  const std::vector<std::string>& labels() const override { return labels_; }
  void predict(std::string_view text, std::span<float> p) const override {
    const bool code = text.starts_with("python");
    const bool math = text.starts_with("Specs");
    const std::array<float, 3> out = code   ? std::array<float, 3>{0.9f, 0.05f, 0.05f}
                                     : math ? std::array<float, 3>{0.05f, 0.6f, 0.35f}
                                            : std::array<float, 3>{0.1f, 0.1f, 0.8f};
    for (std::size_t i = 0; i < p.size(); ++i) p[i] = out[i];
  }

 private:
  std::vector<std::string> labels_{"code", "math", "chat"};
};

TEST(Analyzer, AQuestionAfterPassagesThatIsPlainlyCodeMakesThePromptCode) {
  AnalyzerSettings settings;
  settings.detectors.instructions = false;
  settings.detectors.code = false;
  const Analyzer analyzer(settings, {std::make_shared<OpeningWordModel>(), nullptr, nullptr}, {},
                          {});
  std::string passages = "Context:\n";
  for (int i = 0; i < 12; ++i)
    passages += "[Doc] Pension contributions are matched after a year.\n";
  const auto category = [&](const std::string& text) {
    return analyzer.analyze(user_says(text), {}).category;
  };
  EXPECT_EQ(category(passages + "\nQuestion: python function for it, please"), "code");
  EXPECT_EQ(category(passages + "\npython: how would I check that?"), "code");
  // The passage's own last line, or a question not set apart by a blank line, is no request.
  EXPECT_EQ(category(passages + "\npython owns the form."), "chat");
  EXPECT_EQ(category(passages + "python: how would I check that?"), "chat");
  // A short text is read whole anyway.
  EXPECT_EQ(category("Some notes.\n\nQuestion: python for it?"), "chat");
  // Figures in the passages make no math of a question that is not.
  std::string specs = "Specs:\n";
  for (int i = 0; i < 12; ++i) specs += "Voltage 18 V, battery 2.0 Ah, weight 1.6 kg.\n";
  EXPECT_EQ(category(specs), "math");
  EXPECT_EQ(category(specs + "\nHow long is the warranty?"), "chat");
}

TEST(Analyzer, NoModelsMeansOtherAndHalfComplexity) {
  const Analyzer analyzer({}, {}, {}, {});
  const Analysis a = analyzer.analyze(user_says("hello"), {});
  EXPECT_EQ(a.category, "other");
  EXPECT_TRUE(a.category_scores.empty());
  EXPECT_EQ(a.complexity, 0.5);
  EXPECT_EQ(a.sentiment, 0.0);
}

TEST(Analyzer, ComplexityUsesThePositiveLabel) {
  auto complexity = std::make_shared<FakeModel>(std::vector<std::string>{"simple", "complex"},
                                                std::vector<float>{0.2f, 0.8f});
  EXPECT_FLOAT_EQ(
      Analyzer({}, {nullptr, complexity, nullptr}, {}, {}).analyze(user_says("x"), {}).complexity,
      0.8f);
  AnalyzerSettings settings;
  settings.complexity_label = "simple";
  EXPECT_FLOAT_EQ(Analyzer(settings, {nullptr, complexity, nullptr}, {}, {})
                      .analyze(user_says("x"), {})
                      .complexity,
                  0.2f);
  settings.complexity_label = "hard";
  EXPECT_THROW(Analyzer(settings, {nullptr, complexity, nullptr}, {}, {}), std::invalid_argument);
}

TEST(Analyzer, AllSignalsTogetherAndJsonHasNoPromptText) {
  AnalyzerSettings settings;
  settings.keyword_sets = {{"billing", {"refund"}, {}}};
  auto sentiment = load_sentiment_model(kRoot + "/data/sentiment/vader_lexicon.txt", "");
  const Analyzer analyzer(settings, {category({0.9f, 0.05f, 0.05f}), nullptr, sentiment}, {},
                          {{"support", {"i want my money back"}, 0.2}});
  json body = user_says(
      "I am ANGRY, I want a refund and my money back! Mail me at secret.person@example.com");
  body["stream"] = true;
  body["user"] = "u1";
  body["metadata"] = {{"tenant", "acme"}};
  const Analysis a = analyzer.analyze(body, {});
  EXPECT_EQ(a.category, "code");
  EXPECT_LT(a.sentiment, 0);
  EXPECT_TRUE(a.has_pii("email"));
  EXPECT_EQ(a.keyword_hits, std::vector<std::string>{"billing"});
  EXPECT_GT(a.semantic_scores.at("support"), 0.2);
  EXPECT_EQ(a.semantic_hits, std::vector<std::string>{"support"});
  EXPECT_EQ(a.language, "en");
  EXPECT_TRUE(a.stream);
  EXPECT_EQ(a.user, "u1");
  EXPECT_GT(a.elapsed_ns, 0);
  const std::string dumped = a.to_json().dump();
  EXPECT_EQ(dumped.find("secret.person"), std::string::npos);
  EXPECT_EQ(dumped.find("refund and"), std::string::npos);
  EXPECT_EQ(a.to_json()["pii"]["email"], 1);
  EXPECT_EQ(a.to_json()["metadata"]["tenant"], "acme");
}

TEST(Analyzer, PiiIsLookedForInTheWholeRequestNotOnlyTheAnalyzedText) {
  const Analyzer analyzer({}, {}, {}, {});
  const auto pii_of = [&](const json& body) { return analyzer.analyze(body, {}).to_json()["pii"]; };
  const auto conversation = [](json messages) { return json{{"messages", std::move(messages)}}; };
  EXPECT_EQ(
      pii_of(conversation({{{"role", "system"}, {"content", "Customer SSN 123-45-6789"}},
                           {{"role", "user"}, {"content", "summarize the record"}}}))["us_ssn"],
      1);
  EXPECT_EQ(pii_of(conversation({{{"role", "user"}, {"content", "mail a.b@example.com"}},
                                 {{"role", "assistant"}, {"content", "ok"}},
                                 {{"role", "user"}, {"content", "now write it"}}}))["email"],
            1);
  json tool_call = {{"role", "assistant"},
                    {"tool_calls",
                     {{{"type", "function"},
                       {"function", {{"name", "f"}, {"arguments", R"({"to":"c@d.org"})"}}}}}}};
  EXPECT_EQ(pii_of(conversation({{{"role", "user"}, {"content", "hi"}},
                                 tool_call,
                                 {{"role", "tool"}, {"content", "bob@acme.com"}},
                                 {{"role", "user"}, {"content", "draft a reply"}}}))["email"],
            2);
  // Past the analyzed text's cap (max_chars 4000) too.
  EXPECT_EQ(pii_of(user_says(std::string(5000, 'x') + " card 4111 1111 1111 1111"))["credit_card"],
            1);
  // Arguments as objects, the legacy function_call, a refusal, a prediction, `user`.
  json object_arguments = {{"role", "assistant"},
                           {"tool_calls",
                            {{{"type", "function"},
                              {"function", {{"name", "f"}, {"arguments", {{"to", "e@f.org"}}}}}}}}};
  json legacy = {{"role", "assistant"},
                 {"function_call", {{"name", "f"}, {"arguments", R"({"to":"g@h.org"})"}}}};
  json refusal = {{"role", "assistant"}, {"content", nullptr}, {"refusal", "not for i@j.org"}};
  json body =
      conversation({object_arguments, legacy, refusal, {{"role", "user"}, {"content", "ok"}}});
  body["prediction"] = {{"type", "content"}, {"content", "to k@l.org"}};
  body["user"] = "m@n.org";
  EXPECT_EQ(pii_of(body)["email"], 5);
}

// Everything else the backend is sent is scanned too: tool and function descriptions and
// schemas, `stop`, a message's `name`, fields the router does not know, a legacy completion's
// `suffix`, metadata; a file's bytes cannot be read, so a pii rule fails closed on them.
TEST(Analyzer, PiiIsLookedForInEveryStringTheBackendIsSent) {
  const Analyzer analyzer({}, {}, {}, {});
  const auto ssn_in = [&](const std::string& body, EndpointKind endpoint = EndpointKind::chat) {
    RequestMeta meta;
    meta.endpoint = endpoint;
    return analyzer.analyze(std::string_view(body), meta).has_pii("us_ssn");
  };
  const std::string user = R"("messages":[{"role":"user","content":"hi"}])";
  for (
      const std::string extra :
      {R"("tools":[{"type":"function","function":{"name":"f","description":"SSN 123-45-6789"}}])",
       R"("functions":[{"name":"f","parameters":{"enum":["SSN 123-45-6789"]}}])",
       R"("stop":["SSN 123-45-6789"])", R"("x_customer_record":{"ssn":"123-45-6789"})",
       R"("response_format":{"type":"json_schema","json_schema":{"description":"SSN 123-45-6789"}})",
       R"("metadata":{"note":"SSN 123-45-6789"},"store":true)",
       R"("safety_identifier":"SSN 123-45-6789")"}) {
    EXPECT_TRUE(ssn_in("{" + user + "," + extra + "}")) << extra;
  }
  EXPECT_FALSE(ssn_in("{" + user + "}"));
  EXPECT_TRUE(ssn_in(R"({"messages":[{"role":"user","name":"SSN 123-45-6789","content":"hi"}]})"));
  // A repeated "text", or a "type" repeated as something else: every text is scanned.
  EXPECT_TRUE(ssn_in(R"({"messages":[{"role":"user","content":[)"
                     R"({"type":"text","text":"SSN 123-45-6789","text":"hello"}]}]})"));
  EXPECT_TRUE(ssn_in(R"({"messages":[{"role":"user","content":[)"
                     R"({"type":"text","type":"image_url","text":"SSN 123-45-6789"}]}]})"));
  EXPECT_TRUE(ssn_in(R"({"prompt":"Dear customer,","suffix":"SSN 123-45-6789"})",
                     EndpointKind::completions));
  const Analysis file = analyzer.analyze(
      std::string_view(
          R"({"messages":[{"role":"user","content":[{"type":"text","text":"summarize"},)"
          R"({"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERi0="}}]}]})"),
      RequestMeta{});
  EXPECT_TRUE(file.has_pii("unscanned"));
}

TEST(Analyzer, ThePiiScanIsBoundedByPiiCharsAndFailsClosed) {
  AnalyzerSettings settings;
  settings.text.pii_chars = 100;
  const Analyzer analyzer(settings, {}, {}, {});
  // What the cap leaves unread is reported as `unscanned`: a pii rule cannot rule it out.
  const Analysis cut = analyzer.analyze(user_says(std::string(200, 'x') + " a@b.org"), {});
  EXPECT_FALSE(cut.has_pii("email"));
  EXPECT_TRUE(cut.has_pii("unscanned"));
  EXPECT_TRUE(analyzer.analyze(user_says("a@b.org " + std::string(200, 'x')), {}).has_pii("email"));
  EXPECT_TRUE(analyzer.analyze(user_says("a@b.org"), {}).to_json()["pii"].size() == 1);
  // The last user message is scanned first, however long what came before it.
  const json pasted = {{"messages",
                        {{{"role", "tool"}, {"content", std::string(500, 'x')}},
                         {{"role", "user"}, {"content", "refund card 4111 1111 1111 1111"}}}}};
  const Analysis turn = analyzer.analyze(pasted, {});
  EXPECT_TRUE(turn.has_pii("credit_card"));
  EXPECT_TRUE(turn.has_pii("unscanned"));
}

TEST(Analyzer, DisabledDetectorsStayQuiet) {
  AnalyzerSettings settings;
  settings.detectors = {false, false, false, false};
  const Analyzer analyzer(settings, {}, {}, {});
  const Analysis a = analyzer.analyze(user_says("```py\nx=1\n``` bob@example.com"), {});
  EXPECT_TRUE(a.pii.empty());
  EXPECT_FALSE(a.has_code);
  EXPECT_EQ(a.language, "unknown");
}

// ---- settings --------------------------------------------------------------------------

struct Parsed {
  AnalyzerSettings settings;
  config::Diagnostics diagnostics;
};

Parsed parse(const std::string& yaml) {
  config::ReadContext context{"test.yaml", config::process_env(), {}};
  const YAML::Node root = YAML::Load(yaml);
  YAML::Node section;  // root["analyzer"] on an absent key would be an invalid node
  for (const auto& entry : root) {
    if (entry.first.as<std::string>() == "analyzer") section = entry.second;
  }
  Parsed out{read_analyzer_settings(config::NodeReader(section, "analyzer", context)), {}};
  out.diagnostics = context.diagnostics;
  return out;
}

TEST(AnalyzerSettings, ReadsEveryKey) {
  const auto parsed = parse(R"(
analyzer:
  category_model: models/category.model
  complexity_model: models/complexity.model
  complexity_label: complex
  sentiment_model: ""
  other_threshold: 0.35
  text: {include_system: true, history_messages: 2, max_chars: 8000, follow_up_context: false}
  detectors: {pii: false, code: true, language: true, sentiment: false}
  keyword_sets:
    - {name: billing, words: [refund, invoice], patterns: ['order #\d+']}
  semantic_sets:
    - {name: weather, utterances: [will it rain], threshold: 0.4}
)");
  ASSERT_TRUE(parsed.diagnostics.empty()) << parsed.diagnostics[0].format();
  const auto& s = parsed.settings;
  EXPECT_EQ(s.category_model, "models/category.model");
  EXPECT_EQ(s.complexity_label, "complex");
  EXPECT_EQ(s.sentiment_model, "");
  EXPECT_DOUBLE_EQ(s.other_threshold, 0.35);
  EXPECT_TRUE(s.text.include_system);
  EXPECT_EQ(s.text.history_messages, 2);
  EXPECT_FALSE(s.text.follow_up_context);
  EXPECT_EQ(s.text.max_chars, 8000u);
  EXPECT_FALSE(s.detectors.pii);
  EXPECT_FALSE(s.detectors.sentiment);
  ASSERT_EQ(s.keyword_sets.size(), 1u);
  EXPECT_EQ(s.keyword_sets[0].patterns[0], R"(order #\d+)");
  ASSERT_EQ(s.semantic_sets.size(), 1u);
  EXPECT_EQ(s.semantic_sets[0].threshold, 0.4);
}

TEST(AnalyzerSettings, DefaultsWhenAbsent) {
  const auto parsed = parse("other: 1\n");
  EXPECT_TRUE(parsed.diagnostics.empty());
  EXPECT_EQ(parsed.settings.text.max_chars, 4000u);
  EXPECT_DOUBLE_EQ(parsed.settings.other_threshold, 0.35);
  EXPECT_EQ(parsed.settings.sentiment_model, "models/sentiment.json");
}

struct SettingsError {
  const char* yaml;
  const char* located;  // expected "LINE:COL: PATH" part of the diagnostic
  const char* message;
};

class AnalyzerSettingsErrors : public ::testing::TestWithParam<SettingsError> {};

TEST_P(AnalyzerSettingsErrors, AreLocated) {
  const auto parsed = parse(GetParam().yaml);
  ASSERT_EQ(parsed.diagnostics.size(), 1u) << GetParam().yaml;
  const std::string text = parsed.diagnostics[0].format();
  EXPECT_NE(text.find(std::string("test.yaml:") + GetParam().located), std::string::npos) << text;
  EXPECT_NE(text.find(GetParam().message), std::string::npos) << text;
}

INSTANTIATE_TEST_SUITE_P(
    Table, AnalyzerSettingsErrors,
    ::testing::Values(
        SettingsError{"analyzer:\n  max_char: 5\n", "2:3: analyzer.max_char", "unknown key"},
        SettingsError{"analyzer:\n  text:\n    maxchars: 5\n", "3:5: analyzer.text.maxchars",
                      "unknown key"},
        SettingsError{"analyzer:\n  other_threshold: high\n", "2:20: analyzer.other_threshold",
                      "must be a number"},
        SettingsError{"analyzer:\n  other_threshold: 1.5\n", "2:20: analyzer.other_threshold",
                      "between"},
        SettingsError{"analyzer:\n  detectors:\n    pii: maybe\n", "3:10: analyzer.detectors.pii",
                      "true or false"},
        SettingsError{"analyzer:\n  keyword_sets:\n    - name: x\n      patterns: ['(oops']\n",
                      "4:18: analyzer.keyword_sets[0].patterns[0]", "invalid regular expression"},
        SettingsError{"analyzer:\n  semantic_sets:\n    - name: x\n",
                      "3:7: analyzer.semantic_sets[0]", "at least one utterance"},
        SettingsError{"analyzer:\n  semantic:\n    embedding: {model: e}\n",
                      "3:5: analyzer.semantic.embedding", "unknown key"},
        SettingsError{"analyzer:\n  semantic:\n    embeddings: {timeout_ms: 100}\n",
                      "3:17: analyzer.semantic.embeddings.model", "required"},
        SettingsError{"analyzer:\n  semantic:\n    embeddings: {model: e, timeout: 100}\n",
                      "3:28: analyzer.semantic.embeddings.timeout", "unknown key"},
        SettingsError{"analyzer:\n  semantic:\n    embeddings: {model: e, timeout_ms: 0}\n",
                      "3:40: analyzer.semantic.embeddings.timeout_ms", "between"},
        SettingsError{"analyzer:\n  semantic:\n    embeddings: {model: e, cache_size: -1}\n",
                      "3:40: analyzer.semantic.embeddings.cache_size", "between"}));

TEST(AnalyzerSettings, ReadsTheEmbeddingsBackend) {
  const auto parsed = parse(R"(
analyzer:
  semantic:
    embeddings: {model: embedder, timeout_ms: 80, cache_size: 500}
)");
  ASSERT_TRUE(parsed.diagnostics.empty()) << parsed.diagnostics[0].format();
  ASSERT_TRUE(parsed.settings.embeddings);
  EXPECT_EQ(parsed.settings.embeddings->model, "embedder");
  EXPECT_EQ(parsed.settings.embeddings->timeout, std::chrono::milliseconds(80));
  EXPECT_EQ(parsed.settings.embeddings->cache_size, 500u);
}

TEST(AnalyzerSettings, EmbeddingsDefaults) {
  const auto parsed = parse("analyzer:\n  semantic:\n    embeddings: {model: embedder}\n");
  ASSERT_TRUE(parsed.diagnostics.empty()) << parsed.diagnostics[0].format();
  ASSERT_TRUE(parsed.settings.embeddings);
  EXPECT_EQ(parsed.settings.embeddings->timeout, std::chrono::milliseconds(150));
  EXPECT_EQ(parsed.settings.embeddings->cache_size, 10'000u);
  EXPECT_FALSE(parse("analyzer:\n  semantic: {}\n").settings.embeddings);
}

// The lexicon is English: "die" (German "the") and "pain" (French "bread") are not angry
// there, while an emoticon means the same everywhere.
// Outside English the lexicon reads English glosses of the text's words of feeling and the
// text's own symbols, never its words as written ("die" is not a death in German).
TEST(Analyzer, SentimentOutsideEnglishReadsGlossesAndSymbols) {
  AnalyzerSettings settings;
  auto sentiment = load_sentiment_model(kRoot + "/data/sentiment/vader_lexicon.txt", "");
  const Analyzer analyzer(settings, {nullptr, nullptr, sentiment}, {}, {});
  const Analysis german = analyzer.analyze(
      user_says("Wie funktioniert die Photosynthese bei Pflanzen und warum ist sie wichtig?"), {});
  ASSERT_EQ(german.language, "de");
  EXPECT_EQ(german.sentiment, 0.0);
  EXPECT_LT(german.sentiment_vader, 0.0);  // what the English lexicon alone would say
  const Analysis sad = analyzer.analyze(
      user_says("Die Lieferung ist schon wieder nicht angekommen und niemand antwortet :("), {});
  ASSERT_EQ(sad.language, "de");
  EXPECT_LT(sad.sentiment, 0.0);
  // Emoji read as words of their feeling, out of a negation's reach ("pas" glosses "not").
  const Analysis furious =
      analyzer.analyze(user_says("Ça ne marche toujours pas \U0001F621\U0001F621"), {});
  ASSERT_EQ(furious.language, "fr");
  EXPECT_LT(furious.sentiment, -0.3);
}

// ---- factory with an injected loader --------------------------------------------------

TEST(MakeAnalyzer, ResolvesModelPathsAgainstConfigDir) {
  AnalyzerSettings settings;
  settings.category_model = "models/category.model";
  settings.sentiment_lexicon = kRoot + "/data/sentiment/vader_lexicon.txt";
  settings.sentiment_model = kRoot + "/config/models/sentiment.json";
  std::vector<std::string> asked;
  const auto analyzer =
      make_analyzer_with_loader(settings, "/etc/llm-router", {}, {}, [&](const std::string& path) {
        asked.push_back(path);
        return category({0.1f, 0.1f, 0.8f});
      });
  EXPECT_EQ(asked, std::vector<std::string>{"/etc/llm-router/models/category.model"});
  EXPECT_EQ(analyzer->analyze(user_says("hi"), {}).category, "chat");
}

TEST(ReusingModelLoader, ReadsAFileAgainOnlyWhenItChangedOrNoAnalyzerHoldsIt) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("reusing-loader-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "category.model").string();
  std::ofstream(path) << "v1";
  int reads = 0;
  ReusingModelLoader loader([&](const std::string&) {
    ++reads;
    return category({0.1f, 0.1f, 0.8f});
  });
  auto first = loader.load(path);
  EXPECT_EQ(loader.load(path), first);  // unchanged: shared
  EXPECT_EQ(reads, 1);
  std::filesystem::last_write_time(
      path, std::filesystem::last_write_time(path) + std::chrono::seconds(1));  // rewritten
  auto second = loader.load(path);
  EXPECT_NE(second, first);
  EXPECT_EQ(reads, 2);
  second.reset();
  first.reset();
  auto third = loader.load(path);  // nobody held the model any more: read again
  EXPECT_EQ(reads, 3);
  // Replaced by a rename (a new inode), even with the same size and times: read again.
  const std::string staged = (dir / "staged.model").string();
  std::ofstream(staged) << "v2";
  std::filesystem::last_write_time(staged, std::filesystem::last_write_time(path));
  std::filesystem::rename(staged, path);
  EXPECT_NE(loader.load(path), third);
  EXPECT_EQ(reads, 4);
  loader.load((dir / "missing.model").string());  // the loader reports a missing file
  EXPECT_EQ(reads, 5);
  std::filesystem::remove_all(dir);
}

TEST(MakeAnalyzer, FailuresNameThePath) {
  AnalyzerSettings settings;
  settings.sentiment_lexicon = "missing/lexicon.txt";
  try {
    make_analyzer_with_loader(settings, "/nowhere", {}, {}, nullptr);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nowhere/missing/lexicon.txt"), std::string::npos);
  }
  settings.detectors.sentiment = false;
  settings.complexity_model = "c.model";
  try {
    make_analyzer_with_loader(settings, "/cfg", {}, {}, [](const std::string&) { return nullptr; });
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/cfg/c.model"), std::string::npos);
  }
  settings.complexity_model.clear();
  EXPECT_THROW(make_analyzer_with_loader(settings, "", {{"bad", {}, {"("}}}, {}, nullptr),
               std::runtime_error);
}

}  // namespace
}  // namespace llm_router::analyzer

namespace llm_router::analyzer {
namespace {

// ---- make_analyzer with the classifier's real loader and the shipped model files ----------

TEST(MakeAnalyzerWithShippedModels, LoadsCategoryComplexityAndSentiment) {
  AnalyzerSettings settings;
  settings.category_model = "models/category.model";
  settings.complexity_model = "models/complexity.model";
  settings.sentiment_lexicon = "../data/sentiment/vader_lexicon.txt";
  const auto analyzer = make_analyzer(settings, kRoot + "/config", {}, {});
  const Analysis a = analyzer->analyze(
      user_says("Write a Python function that returns the nth Fibonacci number."), {});
  ASSERT_FALSE(a.category_scores.empty());
  double total = 0;
  for (const auto& [label, p] : a.category_scores) total += p;
  EXPECT_NEAR(total, 1.0, 1e-3);
  EXPECT_TRUE(a.category_scores.contains("code"));
  EXPECT_GE(a.complexity, 0.0);
  EXPECT_LE(a.complexity, 1.0);
}

// Personal data in a request does not make it look harder or like another task: the models
// read it blanked out (the PII signal still counts it).
TEST(MakeAnalyzerWithShippedModels, PersonalDataDoesNotChangeTheTaskReading) {
  AnalyzerSettings settings;
  settings.category_model = "models/category.model";
  settings.complexity_model = "models/complexity.model";
  const auto analyzer = make_analyzer(settings, kRoot + "/config", {}, {});
  const Analysis plain = analyzer->analyze(user_says("Please send the refund to my account."), {});
  const Analysis with_iban = analyzer->analyze(
      user_says("Please send the refund to my account DE89 3704 0044 0532 0130 00."), {});
  EXPECT_EQ(with_iban.category, plain.category);
  EXPECT_NEAR(with_iban.complexity, plain.complexity, 0.05);
  ASSERT_EQ(with_iban.pii.size(), 1u);
  EXPECT_EQ(with_iban.pii[0].kind, "iban");
}

// The keyword matcher reads the text as written: words inside personal data, phrases around it,
// and a word running into it ("v10.0.0.1") match as in a text without models.
// A record's id says nothing of how hard a question is: the shipped complexity model reads
// "Where is invoice INV-2024-00817?" as "Where is invoice ?".
TEST(MakeAnalyzerWithShippedModels, RecordIdsDoNotMakeAQuestionHard) {
  AnalyzerSettings settings;
  settings.category_model = "models/category.model";
  settings.complexity_model = "models/complexity.model";
  const auto analyzer = make_analyzer(settings, kRoot + "/config", {}, {});
  const double plain = analyzer->analyze(user_says("Where is my invoice?"), {}).complexity;
  const double with_id =
      analyzer->analyze(user_says("Where is my invoice INV-2024-00817?"), {}).complexity;
  EXPECT_NEAR(with_id, plain, 0.05);
}

// No words, no task: an empty or punctuation-only message is neither hard nor of a category
// (the models' prior for it is 0.2-0.3, past a typical threshold), but a bare "?" after a
// question asks for that question, and is as hard as it is.
TEST(MakeAnalyzerWithShippedModels, AMessageWithoutWordsIsNoHardTask) {
  AnalyzerSettings settings;
  settings.category_model = "models/category.model";
  settings.complexity_model = "models/complexity.model";
  const auto analyzer = make_analyzer(settings, kRoot + "/config", {}, {});
  for (const std::string text : {"", " ", "?", "??", "...", "!!!", "-_-", "\u2026", "\uFF1F",
                                 "\u3002", "\u00BF?", "\u2014", "\U0001F44D"}) {
    const Analysis alone = analyzer->analyze(user_says(text), {});
    EXPECT_EQ(alone.complexity, 0.0) << '"' << text << '"';
    EXPECT_EQ(alone.category, "other") << '"' << text << '"';
  }
  const std::string question =
      "Prove that every bounded monotone sequence of real numbers converges, and explain which "
      "axiom of the reals the proof relies on.";
  const nlohmann::json follow_up = {
      {"messages",
       {{{"role", "user"}, {"content", question}},
        {{"role", "assistant"}, {"content", "Which part do you want first?"}},
        {{"role", "user"}, {"content", "?"}}}}};
  const Analysis asked = analyzer->analyze(user_says(question), {});
  EXPECT_GT(asked.complexity, 0.0);
  const Analysis after = analyzer->analyze(follow_up, {});
  EXPECT_NEAR(after.complexity, asked.complexity, 1e-9);
  EXPECT_EQ(after.category, asked.category);
  EXPECT_TRUE(after.category_from_context);
  // "?" again: still the question's, not the first "?"'s.
  nlohmann::json again = follow_up;
  again["messages"].push_back({{"role", "assistant"}, {"content", "Sorry?"}});
  again["messages"].push_back({{"role", "user"}, {"content", "\u2026"}});
  EXPECT_NEAR(analyzer->analyze(again, {}).complexity, asked.complexity, 1e-9);
}

// A regular expression's symbols are no math notation: the word says what they are. And a
// TL;DR asked for is a summary.
TEST(MakeAnalyzerWithShippedModels, RegexQuestionsAreCodeAndATlDrIsASummary) {
  AnalyzerSettings settings;
  settings.category_model = "models/category.model";
  settings.complexity_model = "models/complexity.model";
  const auto analyzer = make_analyzer(settings, kRoot + "/config", {}, {});
  for (const std::string text :
       {"Explain what this regex does: ^(?=.*\\d)(?=.*[a-z]).{8,}$",
        "What does the regex \\d{3}-\\d{4} match?",
        "Write a regular expression that matches dates like 2024-05-31.",
        "What does ^[a-z0-9_-]{3,16}$ mean?", "Can you explain the pattern (\\w+)@(\\w+)\\.com"}) {
    EXPECT_EQ(analyzer->analyze(user_says(text), {}).category, "code") << text;
  }
  EXPECT_EQ(analyzer
                ->analyze(user_says("Give me a TL;DR of this paragraph: The city council voted "
                                    "on Tuesday to extend the bike lane network by twelve "
                                    "kilometres, funded by parking fees, after months of debate."),
                          {})
                .category,
            "summarization");
  for (const std::string text : {"TLDR of the following email: the offsite moves to Thursday, "
                                 "bring laptops, lunch is provided and parking is free.",
                                 "Give me the gist of this: the offsite moves to Thursday, bring "
                                 "laptops, lunch is provided and parking is free."}) {
    EXPECT_EQ(analyzer->analyze(user_says(text), {}).category, "summarization") << text;
  }
}

TEST(MakeAnalyzerWithShippedModels, KeywordsMatchInAndAroundBlankedPersonalData) {
  AnalyzerSettings settings;
  settings.category_model = "models/category.model";
  settings.complexity_model = "models/complexity.model";
  const std::vector<KeywordSet> sets = {{"mailbox", {"chargeback"}, {}},
                                        {"phrase", {"send the refund"}, {}},
                                        {"host", {"v10"}, {}},
                                        {"card", {"4111"}, {}}};
  const auto with_models = make_analyzer(settings, kRoot + "/config", sets, {});
  const Analyzer without_models(AnalyzerSettings{}, {}, sets, {});
  for (const std::string text :
       {"Mail chargeback@bank.io and send the refund to DE89 3704 0044 0532 0130 00 today.",
        "send the refund 4111 1111 1111 1111", "ping v10.0.0.1, then 10.0.3.17 again",
        "send the 10.0.3.17 refund", "send the refund"}) {
    const Analysis a = with_models->analyze(user_says(text), {});
    EXPECT_EQ(a.keyword_hits, without_models.analyze(user_says(text), {}).keyword_hits) << text;
  }
  const Analysis a = with_models->analyze(
      user_says("Mail chargeback@bank.io and send the refund to DE89 3704 0044 0532 0130 00."), {});
  EXPECT_EQ(a.keyword_hits, (std::vector<std::string>{"mailbox", "phrase"}));
  EXPECT_EQ(with_models->analyze(user_says("ping v10.0.0.1"), {}).keyword_hits,
            std::vector<std::string>{"host"});
  EXPECT_EQ(with_models->analyze(user_says("card 4111 1111 1111 1111"), {}).keyword_hits,
            std::vector<std::string>{"card"});
  EXPECT_TRUE(
      with_models->analyze(user_says("send the 10.0.3.17 refund"), {}).keyword_hits.empty());
}

// The category model named as the complexity model would read small talk as hard (its last
// label, summarization, as "the cheap model fails"): refused unless complexity_label says which
// of its labels means hard.
TEST(MakeAnalyzerWithShippedModels, ACategoryModelIsNoComplexityModel) {
  AnalyzerSettings settings;
  settings.complexity_model = "models/category.model";
  try {
    make_analyzer(settings, kRoot + "/config", {}, {});
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("complexity model has 11 labels"), std::string::npos)
        << e.what();
  }
  settings.complexity_label = "code";
  EXPECT_NO_THROW(make_analyzer(settings, kRoot + "/config", {}, {}));
}

TEST(MakeAnalyzerWithShippedModels, MissingModelFileNamesThePath) {
  AnalyzerSettings settings;
  settings.category_model = "models/does-not-exist.model";
  settings.detectors.sentiment = false;
  try {
    make_analyzer(settings, kRoot + "/config", {}, {});
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("does-not-exist.model"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace llm_router::analyzer
