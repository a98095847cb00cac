// The command-line tools as a user runs them: classify (the interface anyone evaluates the
// analyzer with), train and eval.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/fixtures.hpp"
#include "support/process.hpp"

namespace test_support {
namespace {

using nlohmann::json;

const std::string kConfig = std::string(LLM_ROUTER_SOURCE_DIR) + "/config/llm-router.yaml";

struct CliRun {
  int exit_code = -1;
  std::vector<std::string> lines;  // stdout
};

// Runs `command` through bash (for stdin redirection); stdout lines and the exit code.
CliRun run(const std::string& command) {
  ChildProcess process({"/bin/bash", "-c", command});
  CliRun result;
  while (auto line = process.wait_for_line("", std::chrono::seconds(60))) {
    result.lines.push_back(*line);
  }
  result.exit_code = process.wait(std::chrono::seconds(60)).value_or(-1);
  return result;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(ClassifyCli, OneLinePerInputWithCategoryScoresComplexityAndSentiment) {
  TempFile input(
      "classify-in.jsonl",
      R"({"prompt": "Write a Python function that reverses a linked list.", "id": 7})"
      "\n"
      R"({"model":"auto","messages":[{"role":"user","content":"I hate waiting, this is awful!"}]})"
      "\n\n"
      "not json\n"
      R"({"prompt": 42, "id": "q9"})"
      "\n"
      R"({"prompt": "  ", "id": 8})"
      "\n");
  const CliRun result = run(std::string(LLM_ROUTER_BIN) + " classify --config " + kConfig + " < " +
                            input.path() + " 2>/dev/null");
  EXPECT_EQ(result.exit_code, 0);
  ASSERT_EQ(result.lines.size(), 5u);  // the blank line is not an input
  for (int i = 0; i < 2; ++i) {
    const json out = json::parse(result.lines[i]);
    ASSERT_TRUE(out.contains("category")) << result.lines[i];
    double sum = 0;
    for (const auto& [label, p] : out["scores"].items()) sum += p.get<double>();
    // Each score is printed rounded to 3 decimals: up to 0.0005 off.
    EXPECT_NEAR(sum, 1.0, 0.0005 * static_cast<double>(out["scores"].size())) << result.lines[i];
    EXPECT_GE(out["complexity"].get<double>(), 0.0);
    EXPECT_LE(out["complexity"].get<double>(), 1.0);
    EXPECT_GE(out["sentiment"].get<double>(), -1.0);
    EXPECT_LE(out["sentiment"].get<double>(), 1.0);
  }
  EXPECT_EQ(json::parse(result.lines[0])["category"], "code");
  EXPECT_EQ(json::parse(result.lines[0])["id"], 7);
  EXPECT_LT(json::parse(result.lines[1])["sentiment"].get<double>(), 0.0);
  EXPECT_EQ(json::parse(result.lines[2])["line"], 4);
  EXPECT_TRUE(json::parse(result.lines[2]).contains("error"));
  EXPECT_EQ(json::parse(result.lines[3])["line"], 5);
  EXPECT_EQ(json::parse(result.lines[3])["id"], "q9");  // an error line names its input too
  EXPECT_EQ(json::parse(result.lines[4])["category"], "other");  // no text, no task
}

// What legacy completions and embeddings requests carry is read too: a prompt as an array of
// strings, an `input`; `messages` that are not an array are an error, not "other".
TEST(ClassifyCli, PromptArraysAndInputsAreReadMessagesMustBeAnArray) {
  TempFile input("classify-shapes.jsonl",
                 R"({"prompt": ["Write a Python function", "that reverses a linked list."]})"
                 "\n"
                 R"({"input": "Write a Python function that reverses a linked list."})"
                 "\n"
                 R"({"messages": "hello"})"
                 "\n");
  const CliRun result = run(std::string(LLM_ROUTER_BIN) + " classify --config " + kConfig + " < " +
                            input.path() + " 2>/dev/null");
  EXPECT_EQ(result.exit_code, 0);
  ASSERT_EQ(result.lines.size(), 3u);
  EXPECT_EQ(json::parse(result.lines[0])["category"], "code") << result.lines[0];
  EXPECT_EQ(json::parse(result.lines[1])["category"], "code") << result.lines[1];
  EXPECT_TRUE(json::parse(result.lines[2]).contains("error")) << result.lines[2];
}

// classify --config scores what the config's routes test too: their keyword lists and their
// semantic examples (it had shown only the analyzer: section's own sets).
TEST(ClassifyCli, TheRoutesKeywordsAndSemanticExamplesAreScored) {
  const std::string models = std::string(LLM_ROUTER_SOURCE_DIR) + "/config/models/";
  const std::string analyzer =
      "analyzer:\n  category_model: " + models + "category.model\n  complexity_model: " + models +
      "complexity.model\n  sentiment_lexicon: " + models +
      "vader_lexicon.txt\n  sentiment_model: " + models + "sentiment.json\n";
  TempFile config("classify-routes.yaml",
                  "backends:\n"
                  "  - {name: m, provider: mock}\n" +
                      analyzer +
                      "routes:\n"
                      "  - name: auto\n"
                      "    use: [m]\n"
                      "    rules:\n"
                      "      - {name: crash, when: {keywords: [segfault]}, use: [m]}\n"
                      "      - name: closure\n"
                      "        when: {semantic: {examples: [\"I want to close my account\"], "
                      "threshold: 0.6}}\n"
                      "        use: [m]\n");
  TempFile input("classify-routes.jsonl", R"({"prompt": "I got a segfault in my c++ code"})"
                                          "\n"
                                          R"({"prompt": "Please, I want to close my account."})"
                                          "\n");
  const CliRun result = run(std::string(LLM_ROUTER_BIN) + " classify --config " + config.path() +
                            " < " + input.path());
  EXPECT_EQ(result.exit_code, 0);
  ASSERT_EQ(result.lines.size(), 2u);
  const json crash = json::parse(result.lines[0]);
  EXPECT_NE(crash["keyword_hits"].dump().find("crash"), std::string::npos) << result.lines[0];
  const json closure = json::parse(result.lines[1]);
  ASSERT_TRUE(closure["semantic_scores"].is_object()) << result.lines[1];
  ASSERT_FALSE(closure["semantic_scores"].empty()) << result.lines[1];
  EXPECT_GT(closure["semantic_scores"].begin()->get<double>(), 0.6) << result.lines[1];
}

// calibrate --config reads each prompt as the router does (record ids blanked, ...), so its
// threshold is the one to put in a route; the same share of the same rows is sent strong.
TEST(CalibrateCli, WithAConfigTheThresholdIsOnTheRoutersComplexity) {
  std::string rows;
  const char* prompts[] = {"Is part 1234-A-56-X the 12V version?",
                           "Prove that there are infinitely many primes.",
                           "hi there",
                           "Where is order 88812-Q-7 now?",
                           "Derive the closed form of the sum of k^2 for k = 1..n.",
                           "thanks!",
                           "Write a compiler for a small Lisp in C++ with tail calls.",
                           "What is the capital of France?",
                           "Ticket 55-1234-XX still open?",
                           "Explain the proof of the Cook-Levin theorem in detail."};
  for (const char* p : prompts) {
    rows += json{{"prompt", p}, {"strong_correct", true}, {"weak_correct", false}}.dump() + "\n";
  }
  TempFile data("calibrate.jsonl", rows);
  const CliRun result = run(std::string(LLM_ROUTER_BIN) + " calibrate --data " + data.path() +
                            " --config " + kConfig + " --strong-share 0.3 --split all");
  EXPECT_EQ(result.exit_code, 0);
  ASSERT_EQ(result.lines.size(), 1u);
  const std::string& line = result.lines[0];
  ASSERT_TRUE(line.starts_with("threshold ")) << line;
  const double threshold = std::stod(line.substr(10));
  // The rows classify puts at or above it: as many as calibrate says.
  const CliRun classified =
      run(std::string(LLM_ROUTER_BIN) + " classify --config " + kConfig + " < " + data.path());
  ASSERT_EQ(classified.lines.size(), 10u);
  int strong = 0;
  for (const auto& out : classified.lines) {
    strong += json::parse(out)["complexity"].get<double>() >= threshold ? 1 : 0;
  }
  EXPECT_NE(line.find("strong: " + std::to_string(strong) + "/10"), std::string::npos) << line;
  // Neither or both of --config and --model: the usage.
  EXPECT_EQ(run(std::string(LLM_ROUTER_BIN) + " calibrate --data " + data.path() +
                " --strong-share 0.3 2>/dev/null")
                .exit_code,
            2);
}

// The router's own traffic calibrates what it compares: a request log line counts with the
// complexity recorded for it, ties included, and the threshold printed (six decimals, rounded
// down) keeps every row counted as strong at or above it. Chat bodies are read as classify
// reads them; a log line of an unanalyzed request is left out, a score outside 0..1 refused.
TEST(CalibrateCli, RequestLogLinesAndChatBodiesCalibrateAsTheRouterReadsThem) {
  std::string rows;
  for (int i = 0; i < 3; ++i) {
    rows += R"({"id":"req-)" + std::to_string(i) +
            R"(","route":"auto","complexity":0.2947377860546112})"
            "\n";
  }
  for (int i = 0; i < 6; ++i)
    rows += R"({"id":"low","complexity":0.1})"
            "\n";
  rows += R"({"id":"direct","complexity":null})"
          "\n";
  rows += R"({"messages":[{"role":"user","content":"hi there"}]})"
          "\n";
  TempFile data("calibrate-log.jsonl", rows);
  const std::string calibrate = std::string(LLM_ROUTER_BIN) + " calibrate --config " + kConfig +
                                " --data " + data.path() + " --strong-share ";
  const CliRun result = run(calibrate + "0.3 2>/dev/null");
  EXPECT_EQ(result.exit_code, 0);
  ASSERT_EQ(result.lines.size(), 1u);
  EXPECT_NE(result.lines[0].find("strong: 3/10"), std::string::npos) << result.lines[0];
  // Every row strong: the threshold is the lowest score, which 0.294738 would leave out.
  TempFile tied("calibrate-tied.jsonl", R"({"complexity":0.2947377860546112})"
                                        "\n"
                                        R"({"complexity":0.2947377860546112})"
                                        "\n");
  const CliRun all = run(std::string(LLM_ROUTER_BIN) + " calibrate --config " + kConfig +
                         " --data " + tied.path() + " --strong-share 1");
  ASSERT_EQ(all.lines.size(), 1u);
  EXPECT_TRUE(all.lines[0].starts_with("threshold 0.294737 ")) << all.lines[0];
  EXPECT_NE(all.lines[0].find("strong: 2/2"), std::string::npos) << all.lines[0];
  EXPECT_NE(run(calibrate + "30 2>&1").lines.at(0).find("(0.3 for 30%)"), std::string::npos);

  // --route: the log lines of one route (the three tied ones), the rest left out and counted.
  const CliRun one_route = run(calibrate + "1 --route auto 2>&1");
  ASSERT_EQ(one_route.lines.size(), 2u);
  EXPECT_NE(one_route.lines[0].find("8 rows left out: their \"route\" is not auto"),
            std::string::npos)
      << one_route.lines[0];
  EXPECT_NE(one_route.lines[1].find("strong: 3/3"), std::string::npos) << one_route.lines[1];
  EXPECT_EQ(run(calibrate + "0.3 --route nowhere 2>/dev/null").exit_code, 1);

  TempFile bad("calibrate-bad.jsonl", R"({"complexity":5})"
                                      "\n");
  EXPECT_EQ(run(std::string(LLM_ROUTER_BIN) + " calibrate --config " + kConfig + " --data " +
                bad.path() + " --strong-share 0.3 2>/dev/null")
                .exit_code,
            1);
  // A config whose analyzer has no complexity model: every row would score 0.5.
  TempFile no_model("calibrate-nomodel.yaml",
                    "backends: [{name: m, provider: mock}]\nroutes: [{name: auto, use: [m]}]\n"
                    "analyzer:\n  detectors: {sentiment: false}\n  category_model: " +
                        std::string(LLM_ROUTER_SOURCE_DIR) + "/config/models/category.model\n");
  TempFile prompt("calibrate-prompt.jsonl", R"({"prompt":"hi"})"
                                            "\n");
  const CliRun refused =
      run(std::string(LLM_ROUTER_BIN) + " calibrate --config " + no_model.path() + " --data " +
          prompt.path() + " --strong-share 0.3 2>&1");
  EXPECT_EQ(refused.exit_code, 1);
  ASSERT_FALSE(refused.lines.empty());
  EXPECT_NE(refused.lines.back().find("no complexity model"), std::string::npos)
      << refused.lines.back();
}

// Without --config and without config/llm-router.yaml where it runs, every line would read
// "other": a clear error instead.
TEST(ClassifyCli, WithoutAConfigToFindItAsksForOne) {
  const CliRun result = run("cd / && echo '{\"prompt\": \"hi\"}' | " + std::string(LLM_ROUTER_BIN) +
                            " classify 2>&1");
  EXPECT_EQ(result.exit_code, 1);
  std::string text;
  for (const auto& line : result.lines) text += line + "\n";
  EXPECT_NE(text.find("--config"), std::string::npos) << text;
}

// Two classes of short prompts, five times over, plus `extra` rows.
std::string two_class_rows(const std::string& extra = "") {
  std::string rows;
  const char* code[] = {"write a function",      "fix this python bug", "compile the code",
                        "sort an array in java", "refactor this class", "a sql query please"};
  const char* chat[] = {"hello there",      "how are you", "good morning friend",
                        "nice to meet you", "what's up",   "have a nice day"};
  for (int round = 0; round < 5; ++round) {
    for (const char* p : code) rows += json{{"prompt", p}, {"label", "code"}}.dump() + "\n";
    for (const char* p : chat) rows += json{{"prompt", p}, {"label", "chat"}}.dump() + "\n";
  }
  return rows + extra;
}

std::string joined(const CliRun& run) {
  std::string text;
  for (const auto& line : run.lines) text += line + "\n";
  return text;
}

TEST(TrainCli, SameSeedSameModelAndEvalReadsIt) {
  TempFile data("train-data.jsonl", two_class_rows());
  const std::string first = data.path() + ".a.model";
  const std::string second = data.path() + ".b.model";
  const std::string train = std::string(LLM_ROUTER_BIN) + " train --data " + data.path() +
                            " --target label --seed 3 --out ";
  ASSERT_EQ(run(train + first + " >/dev/null").exit_code, 0);
  ASSERT_EQ(run(train + second + " >/dev/null").exit_code, 0);
  const std::string bytes = read_bytes(first);
  EXPECT_FALSE(bytes.empty());
  EXPECT_EQ(bytes, read_bytes(second));

  const CliRun eval = run(std::string(LLM_ROUTER_BIN) + " eval --data " + data.path() +
                          " --model " + first + " --split all");
  EXPECT_EQ(eval.exit_code, 0);
  ASSERT_FALSE(eval.lines.empty());
  EXPECT_NE(joined(eval).find("macro"), std::string::npos) << joined(eval);
  std::remove(first.c_str());
  std::remove(second.c_str());
}

// Cross-validation on category data prints out-of-fold metrics and still writes the model (it
// had stopped at a missing field of the fold report); rows without a label (other data in the
// same files) are no class of their own.
TEST(TrainCli, CrossValidationOnLabelsAndRowsWithoutALabel) {
  TempFile data(
      "train-cv.jsonl",
      two_class_rows(R"({"prompt":"what is 2+2","weak_correct":true,"strong_correct":true})"
                     "\n"));
  const std::string out = data.path() + ".model";
  const CliRun result = run(std::string(LLM_ROUTER_BIN) + " train --data " + data.path() +
                            " --target label --cv 3 --out " + out + " 2>&1");
  const std::string text = joined(result);
  EXPECT_EQ(result.exit_code, 0) << text;
  EXPECT_NE(text.find("3-fold cross-validation"), std::string::npos) << text;
  EXPECT_NE(text.find("2 labels"), std::string::npos) << text;
  EXPECT_NE(text.find("wrote"), std::string::npos) << text;
  EXPECT_FALSE(read_bytes(out).empty());
  std::remove(out.c_str());
}

// Numbers are read whole and checked: "-1" epochs had wrapped to four billion, "1.5" and
// "3x" read as 1 and 3, a learning rate of nan trained a model of NaN weights.
TEST(TrainCli, BadNumbersAreRefused) {
  TempFile data("train-numbers.jsonl", two_class_rows());
  const std::string out = data.path() + ".model";
  for (const std::string bad : {"--epochs -1", "--epochs 0", "--epochs 3x", "--seed 1.5",
                                "--seed -1", "--lr nan", "--lr -1", "--l2 inf", "--cv x"}) {
    const CliRun result = run(std::string(LLM_ROUTER_BIN) + " train --data " + data.path() +
                              " --target label --out " + out + " " + bad + " 2>&1");
    EXPECT_EQ(result.exit_code, 1) << bad << "\n" << joined(result);
    EXPECT_TRUE(read_bytes(out).empty()) << bad;
  }
}

// Output that never reached its file is a failure, not exit 0.
TEST(ClassifyCli, AnOutputThatCannotBeWrittenFails) {
  const CliRun result = run("yes '{\"prompt\":\"write a sort in python\"}' | head -3000 | " +
                            std::string(LLM_ROUTER_BIN) + " classify --config " + kConfig +
                            " > /dev/full 2>/dev/null; echo \"exit=$?\"");
  ASSERT_FALSE(result.lines.empty());
  EXPECT_EQ(result.lines.back(), "exit=1");
}

TEST(TrainCli, DataWithoutTheTargetIsAnError) {
  TempFile data("train-no-target.jsonl", R"({"prompt":"a","label":"x"})"
                                         "\n");
  const std::string out = data.path() + ".model";
  const CliRun result = run(std::string(LLM_ROUTER_BIN) + " train --data " + data.path() +
                            " --target weak_fails --out " + out + " 2>&1");
  EXPECT_EQ(result.exit_code, 1);
  std::string text;
  for (const auto& line : result.lines) text += line + "\n";
  EXPECT_NE(text.find("nothing to learn"), std::string::npos) << text;
  EXPECT_TRUE(read_bytes(out).empty());  // no model written
}

// Anchor rows (category data pinned at a "weak fails" rate) teach the complexity model about
// prompts the strong-vs-weak rows never show.
TEST(TrainCli, AnchorRowsPullTheirKindOfPromptTowardsTheirRate) {
  std::string routing, anchors;
  for (int i = 0; i < 40; ++i) {
    routing += json{{"prompt", "exam question " + std::to_string(i) + " about chemistry"},
                    {"strong_correct", true},
                    {"weak_correct", i % 2 == 0},
                    {"benchmark", "mmlu"}}
                   .dump() +
               "\n";
    anchors += json{{"prompt", "hello there, nice weather today"}, {"label", "chit_chat"}}.dump() +
               "\n" +
               json{{"prompt", "implement a lock free queue with atomics"},
                    {"label", "code"},
                    {"source", "humaneval"}}
                   .dump() +
               "\n";
  }
  TempFile routing_data("anchor-routing.jsonl", routing);
  TempFile anchor_data("anchor-rows.jsonl", anchors);
  const std::string model = routing_data.path() + ".model";
  const std::string train = std::string(LLM_ROUTER_BIN) + " train --data " + routing_data.path() +
                            " --target weak_fails --holdout 0 --out " + model + " --anchor-data " +
                            anchor_data.path();
  ASSERT_EQ(
      run(train + " --anchor-rates chit_chat=0,humaneval=1 --anchor-weight 1 >/dev/null").exit_code,
      0);
  const std::string models = std::string(LLM_ROUTER_SOURCE_DIR) + "/config/models/";
  TempFile config("anchor-config.yaml",
                  "analyzer:\n  complexity_model: " + model + "\n  sentiment_lexicon: " + models +
                      "vader_lexicon.txt\n  sentiment_model: " + models + "sentiment.json\n");
  TempFile prompts("anchor-prompts.jsonl",
                   R"({"prompt": "hello there, nice weather today"})"
                   "\n"
                   R"({"prompt": "implement a lock free queue with atomics"})"
                   "\n");
  const CliRun scored = run(std::string(LLM_ROUTER_BIN) + " classify --config " + config.path() +
                            " < " + prompts.path() + " 2>/dev/null");
  ASSERT_EQ(scored.lines.size(), 2u);
  EXPECT_LT(json::parse(scored.lines[0])["complexity"].get<double>(), 0.3) << scored.lines[0];
  EXPECT_GT(json::parse(scored.lines[1])["complexity"].get<double>(), 0.7) << scored.lines[1];

  EXPECT_EQ(run(train + " 2>/dev/null").exit_code, 2);  // rates missing
  EXPECT_EQ(run(train + " --anchor-rates chit_chat=2 2>/dev/null").exit_code, 1);
  EXPECT_EQ(
      run(train + " --anchor-rates chit_chat=0 --anchor-repeat humaneval=0 2>/dev/null").exit_code,
      1);
  const CliRun unnamed = run(train + " --anchor-rates nothing_here=0.5 2>&1");
  EXPECT_EQ(unnamed.exit_code, 1);
  std::string text;
  for (const auto& line : unnamed.lines) text += line + "\n";
  EXPECT_NE(text.find("names no row"), std::string::npos) << text;
  std::remove(model.c_str());
}

}  // namespace
}  // namespace test_support
