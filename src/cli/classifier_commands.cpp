#include "llm_router/cli/classifier_commands.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <deque>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <sstream>
#include <stdexcept>

#include "llm_router/analyzer/analyzer.hpp"
#include "llm_router/api/json_parse.hpp"
#include "llm_router/classifier/dataset.hpp"
#include "llm_router/classifier/featurizer.hpp"
#include "llm_router/classifier/linear_model.hpp"
#include "llm_router/classifier/metrics.hpp"
#include "llm_router/classifier/trainer.hpp"
#include "llm_router/cli/analyzer_commands.hpp"
#include "llm_router/cli/options.hpp"

namespace llm_router::cli {
namespace {

using classifier::Record;

constexpr const char* kWeakOk = "weak_ok";
constexpr const char* kWeakFails = "weak_fails";

enum class Split { kAll, kTrain, kValidation };

std::vector<Record> read_all(const std::string& files) {
  std::vector<Record> records;
  for (const auto& path : split_list(files)) {
    auto part = classifier::read_jsonl_file(path);
    records.insert(records.end(), std::make_move_iterator(part.begin()),
                   std::make_move_iterator(part.end()));
  }
  return records;
}

Split parse_split(const std::optional<std::string>& text) {
  if (!text || *text == "all") return Split::kAll;
  if (*text == "train") return Split::kTrain;
  if (*text == "val" || *text == "validation") return Split::kValidation;
  throw std::runtime_error("--split must be all, train or val");
}

std::vector<Record> select(std::vector<Record> records, Split split, double holdout) {
  if (split == Split::kAll) return records;
  std::erase_if(records, [&](const Record& r) {
    return classifier::in_validation(r.prompt, holdout) != (split == Split::kValidation);
  });
  return records;
}

bool is_routing_target(const std::string& target) {
  return target == kWeakFails;
}

// Rows usable for the routing target: both qualities known and not flagged by RouteLLM.
std::vector<Record> routing_rows(std::vector<Record> records) {
  std::erase_if(records, [](const Record& r) {
    return !classifier::has_routing_labels(r) || r.contaminated;
  });
  return records;
}

size_t positive_index(const classifier::TextModel& model) {
  const auto& labels = model.labels();
  const auto it = std::find(labels.begin(), labels.end(), kWeakFails);
  return it == labels.end() ? labels.size() - 1 : static_cast<size_t>(it - labels.begin());
}

std::vector<double> complexity_scores(const classifier::TextModel& model,
                                      const std::vector<Record>& records) {
  std::vector<float> probabilities(model.labels().size());
  const size_t positive = positive_index(model);
  std::vector<double> scores;
  scores.reserve(records.size());
  for (const auto& r : records) {
    model.predict(r.prompt, probabilities);
    scores.push_back(probabilities[positive]);
  }
  return scores;
}

double json_number(double v) {
  return std::isfinite(v) ? v : std::nan("");
}

nlohmann::json routing_report(const classifier::TextModel& model,
                              const std::vector<Record>& records) {
  std::map<std::string, std::vector<const Record*>> by_benchmark;
  for (const auto& r : records)
    by_benchmark[r.benchmark.empty() ? "data" : r.benchmark].push_back(&r);
  nlohmann::json report = nlohmann::json::object();
  std::vector<float> probabilities(model.labels().size());
  const size_t positive = positive_index(model);
  for (const auto& [benchmark, rows] : by_benchmark) {
    std::vector<classifier::RoutingRow> routing;
    for (const auto* r : rows) {
      model.predict(r->prompt, probabilities);
      routing.push_back({probabilities[positive], *r->strong_quality, *r->weak_quality});
    }
    const double scale = rows.front()->scored ? 1.0 : 100.0;
    const auto m = classifier::evaluate_routing(routing, 10, scale);
    report[benchmark] = {{"rows", m.rows},
                         {"strong", m.strong},
                         {"weak", m.weak},
                         {"apgr", json_number(m.apgr)},
                         {"cpt20", json_number(m.cpt20)},
                         {"cpt50", json_number(m.cpt50)},
                         {"cpt80", json_number(m.cpt80)}};
  }
  return report;
}

nlohmann::json classification_report(const classifier::TextModel& model,
                                     const std::vector<Record>& records) {
  const auto& labels = model.labels();
  std::vector<int> truth;
  std::vector<int> predicted;
  std::vector<float> probabilities(labels.size());
  size_t unknown = 0;
  for (const auto& r : records) {
    const auto it = std::find(labels.begin(), labels.end(), r.label);
    if (it == labels.end()) {
      ++unknown;
      continue;
    }
    model.predict(r.prompt, probabilities);
    truth.push_back(static_cast<int>(it - labels.begin()));
    predicted.push_back(static_cast<int>(
        std::max_element(probabilities.begin(), probabilities.end()) - probabilities.begin()));
  }
  if (truth.empty()) {
    throw std::runtime_error("no row has a label of this model (" + std::to_string(unknown) +
                             " rows skipped); for strong-vs-weak rows evaluate a complexity model");
  }
  const auto m = classifier::evaluate_classification(truth, predicted, labels.size());
  nlohmann::json per_label = nlohmann::json::object();
  for (size_t k = 0; k < labels.size(); ++k) {
    per_label[labels[k]] = {{"f1", m.f1[k]}, {"support", m.support[k]}};
  }
  return {{"rows", m.rows},
          {"skipped_unknown_label", unknown},
          {"accuracy", m.accuracy},
          {"macro_f1", m.macro_f1},
          {"per_label", per_label}};
}

nlohmann::json report_for(const classifier::TextModel& model, const std::vector<Record>& records,
                          const std::string& target) {
  if (is_routing_target(target)) return routing_report(model, routing_rows(records));
  return classification_report(model, records);
}

std::string format_number(const nlohmann::json& value, int digits = 4) {
  if (!value.is_number()) return "n/a";
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << value.get<double>();
  return out.str();
}

void print_report(const nlohmann::json& report, const std::string& target) {
  std::cout << std::fixed << std::setprecision(4);
  if (is_routing_target(target)) {
    for (const auto& [benchmark, m] : report.items()) {
      std::cout << benchmark << ": rows " << m["rows"].get<size_t>() << "  strong "
                << m["strong"].get<double>() << "  weak " << m["weak"].get<double>() << "  APGR "
                << format_number(m["apgr"]) << "  CPT(50%) " << format_number(m["cpt50"], 2)
                << "%  CPT(80%) " << format_number(m["cpt80"], 2) << "%\n";
    }
    return;
  }
  std::cout << "rows " << report["rows"].get<size_t>() << "  accuracy "
            << report["accuracy"].get<double>() << "  macro-F1 " << report["macro_f1"].get<double>()
            << "\n";
  if (const auto skipped = report.value("skipped_unknown_label", std::size_t{0}); skipped > 0) {
    std::cout << "  (" << skipped << " rows skipped: their label is not one of the model's)\n";
  }
  for (const auto& [label, m] : report["per_label"].items()) {
    std::cout << "  " << std::left << std::setw(24) << label << std::right << " F1 "
              << m["f1"].get<double>() << "  (" << m["support"].get<size_t>() << ")\n";
  }
}

// The option's value, all of it a number: finite for a real, a whole number in T's range for
// an integer ("-1", "1.5" and "3x" are refused, not read as 2^64-1, 1 and 3).
template <typename T>
T number_option(Options& options, const std::string& name, T fallback) {
  const auto text = options.value(name);
  if (!text) return fallback;
  const char* end = text->data() + text->size();
  if constexpr (std::is_floating_point_v<T>) {
    double value = 0;
    const auto [stop, error] = std::from_chars(text->data(), end, value);
    if (error != std::errc() || stop != end || !std::isfinite(value)) {
      throw std::runtime_error(name + ": not a finite number: '" + *text + "'");
    }
    return static_cast<T>(value);
  } else {
    T value = 0;
    const auto [stop, error] = std::from_chars(text->data(), end, value);
    if (error != std::errc() || stop != end) {
      throw std::runtime_error(name + ": not a whole number from 0 to " +
                               std::to_string(std::numeric_limits<T>::max()) + ": '" + *text + "'");
    }
    return value;
  }
}

// A share such as --holdout or --strong-share: a number in [0, 1].
double fraction_option(Options& options, const std::string& name, double fallback) {
  const double value = number_option<double>(options, name, fallback);
  if (!(value >= 0 && value <= 1)) {
    std::ostringstream message;
    message << name << " must be a fraction from 0 to 1, got " << options.value(name).value_or("");
    if (value > 1 && value <= 100) message << " (" << value / 100 << " for " << value << "%)";
    throw std::runtime_error(message.str());
  }
  return value;
}

// Correctness labels are noisy (a model gets a question right by luck); the rate of the
// positive class over the row's subject in the training part is a steadier target. Each row
// with a domain learns alpha * shrunk subject rate + (1 - alpha) * its own label.
void smooth_by_domain(const std::vector<Record>& records,
                      std::vector<classifier::TrainingExample>& examples, double alpha) {
  constexpr double kPriorRows = 10;
  std::map<std::string, std::pair<double, double>> counts;  // positives, rows
  double positives = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].domain.empty()) continue;
    auto& [pos, rows] = counts[records[i].benchmark + "/" + records[i].domain];
    pos += examples[i].label;
    rows += 1;
    positives += examples[i].label;
  }
  double total = 0;
  for (const auto& [key, c] : counts) total += c.second;
  if (total == 0) return;
  const double prior = positives / total;
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].domain.empty()) continue;
    const auto& [pos, rows] = counts[records[i].benchmark + "/" + records[i].domain];
    const double rate = (pos + kPriorRows * prior) / (rows + kPriorRows);
    examples[i].soft_target = static_cast<float>(alpha * rate + (1 - alpha) * examples[i].label);
  }
}

// A row without strong-vs-weak outcomes given a fixed complexity target: what the benchmarks
// cannot teach (small talk, everyday tasks, code exercises, everyday prompts labelled easy or
// hard) pinned at a rate set from the routing data's analogues.
struct Anchor {
  std::string_view text;
  float rate;
};

// "key=rate,...": a key is a row's label, its source, or source:level ("math:level5").
std::map<std::string, float> parse_anchor_rates(const std::string& text) {
  std::map<std::string, float> rates;
  for (const auto& item : split_list(text)) {
    const auto equals = item.find('=');
    float rate = -1;
    if (equals != std::string::npos) {
      try {
        rate = std::stof(item.substr(equals + 1));
      } catch (const std::exception&) {
      }
    }
    if (equals == 0 || !(rate >= 0 && rate <= 1)) {
      throw std::runtime_error("--anchor-rates: expected key=rate with a rate from 0 to 1, got " +
                               item);
    }
    rates[item.substr(0, equals)] = rate;
  }
  return rates;
}

std::string level_key(const std::string& level) {
  std::string key;
  for (const char c : level) {
    if (std::isalnum(static_cast<unsigned char>(c)))
      key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return key;
}

// The most specific key that names the row: source:level, then source, then label.
std::optional<float> anchor_rate(const Record& row, const std::map<std::string, float>& rates) {
  std::vector<std::string> keys;
  if (!row.source.empty() && !row.level.empty())
    keys.push_back(row.source + ":" + level_key(row.level));
  if (!row.source.empty()) keys.push_back(row.source);
  if (!row.label.empty()) keys.push_back(row.label);
  for (const auto& key : keys) {
    if (const auto it = rates.find(key); it != rates.end()) return it->second;
  }
  return std::nullopt;
}

// Rows of a source in `repeats` count that many times: a small set among larger ones.
std::vector<Anchor> make_anchors(const std::vector<Record>& rows,
                                 const std::map<std::string, float>& rates,
                                 const std::map<std::string, int>& repeats) {
  std::vector<Anchor> anchors;
  for (const auto& row : rows) {
    const auto rate = anchor_rate(row, rates);
    if (!rate) continue;
    const auto repeat = repeats.find(row.source);
    anchors.insert(anchors.end(), repeat == repeats.end() ? 1 : repeat->second,
                   Anchor{row.prompt, *rate});
  }
  return anchors;
}

struct TrainSet {
  std::vector<std::string> labels;
  std::vector<classifier::TrainingExample> examples;
  std::deque<std::string> copies;  // texts of the restyled copies the examples point into
};

// How the training examples are built from the rows.
struct ExampleOptions {
  bool style_copies = false;  // category rows: add each prompt's restyled() copy
  // weak_fails rows:
  classifier::PositiveRule rule = classifier::PositiveRule::kStrongWins;
  bool balance_benchmarks = false;
  double domain_smoothing = 0;
  std::span<const Anchor> anchors;
  double anchor_weight = 0;  // all anchors together, as a share of the routing rows' weight
};

void add_anchors(const ExampleOptions& routing,
                 std::vector<classifier::TrainingExample>& examples) {
  if (routing.anchors.empty() || routing.anchor_weight <= 0) return;
  double routing_weight = 0;
  for (const auto& e : examples) routing_weight += e.weight;
  const auto weight = static_cast<float>(routing.anchor_weight * routing_weight /
                                         static_cast<double>(routing.anchors.size()));
  for (const auto& a : routing.anchors) {
    examples.push_back({a.text, a.rate >= 0.5F ? 1U : 0U, weight, a.rate});
  }
}

// The labels rows carry, sorted; a row without one (other data) adds none.
std::vector<std::string> labels_of(const std::vector<Record>& records) {
  std::vector<std::string> labels;
  for (const auto& r : records) {
    if (!r.label.empty()) labels.push_back(r.label);
  }
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  return labels;
}

TrainSet make_train_set(const std::vector<Record>& records, const std::string& target,
                        const std::optional<std::string>& label_list,
                        const ExampleOptions& routing) {
  TrainSet set;
  if (is_routing_target(target)) {
    set.labels = {kWeakOk, kWeakFails};
    std::map<std::string, double> rows_per_benchmark;
    for (const auto& r : records) rows_per_benchmark[r.benchmark] += 1;
    for (const auto& r : records) {
      // Equal total weight per benchmark, so the small ones are not drowned by MMLU.
      const double weight = routing.balance_benchmarks
                                ? static_cast<double>(records.size()) /
                                      (static_cast<double>(rows_per_benchmark.size()) *
                                       rows_per_benchmark[r.benchmark])
                                : 1.0;
      set.examples.push_back({r.prompt, classifier::weak_fails(r, routing.rule) ? 1U : 0U,
                              static_cast<float>(weight)});
    }
    if (routing.domain_smoothing > 0) {
      smooth_by_domain(records, set.examples, routing.domain_smoothing);
    }
    add_anchors(routing, set.examples);
    return set;
  }
  if (label_list) {
    set.labels = split_list(*label_list);
  } else {
    set.labels = labels_of(records);
  }
  for (const auto& r : records) {
    if (r.label.empty()) continue;  // a row of other data (a routing row): nothing to learn
    const auto it = std::find(set.labels.begin(), set.labels.end(), r.label);
    if (it == set.labels.end())
      throw std::runtime_error("row with label '" + r.label + "' not in --labels");
    const auto label = static_cast<uint32_t>(it - set.labels.begin());
    set.examples.push_back({r.prompt, label});
    if (routing.style_copies) {
      set.copies.push_back(classifier::restyled(r.prompt));
      if (set.copies.back() != r.prompt) set.examples.push_back({set.copies.back(), label});
    }
  }
  return set;
}

classifier::TrainOptions train_options(Options& options, const std::string& target) {
  classifier::TrainOptions t;
  t.seed = number_option<uint64_t>(options, "--seed", t.seed);
  t.epochs = number_option<uint32_t>(options, "--epochs", t.epochs);
  t.learning_rate = number_option<float>(options, "--lr", t.learning_rate);
  t.l2 = number_option<float>(options, "--l2", t.l2);
  t.balance_classes = options.flag("--balance");
  auto& f = t.featurizer;
  f.bucket_bits = number_option<uint32_t>(options, "--bits", f.bucket_bits);
  f.char_ngram_min = number_option<uint32_t>(options, "--minn", f.char_ngram_min);
  f.char_ngram_max = number_option<uint32_t>(options, "--maxn", f.char_ngram_max);
  f.max_chars = number_option<uint32_t>(options, "--max-chars", f.max_chars);
  f.char_ngram_chars = number_option<uint32_t>(options, "--char-ngram-chars", f.char_ngram_chars);
  f.char_ngram_weight_pct =
      number_option<uint32_t>(options, "--char-ngram-weight", f.char_ngram_weight_pct);
  if (options.flag("--no-bigrams")) f.use_bigrams = 0;
  if (options.flag("--no-dense")) f.use_dense = 0;
  if (f.bucket_bits < 8 || f.bucket_bits > 26 || f.char_ngram_min > f.char_ngram_max ||
      f.char_ngram_max > 7) {
    throw std::runtime_error("invalid --bits / --minn / --maxn");
  }
  if (t.epochs < 1 || t.epochs > 10'000) throw std::runtime_error("--epochs must be 1 to 10000");
  if (!(t.learning_rate > 0)) throw std::runtime_error("--lr must be above 0");
  if (!(t.l2 >= 0)) throw std::runtime_error("--l2 must be 0 or more");
  std::ostringstream meta;
  meta << "target=" << target << " seed=" << t.seed << " epochs=" << t.epochs
       << " lr=" << t.learning_rate << " l2=" << t.l2 << " balance=" << t.balance_classes;
  t.metadata = meta.str();
  return t;
}

int usage(const char* text, const Options& options) {
  std::cerr << text << options.problems();
  return 2;
}

constexpr const char* kTrainUsage =
    "usage: llm-router train --data FILE.jsonl[,FILE2...] --target label|weak_fails --out MODEL\n"
    "  [--seed N] [--epochs N] [--holdout 0.2] [--lr X] [--l2 X] [--balance] [--labels a,b,...]\n"
    "  [--bits 18] [--minn 3] [--maxn 5] [--max-chars 4000] [--char-ngram-chars N]\n"
    "  [--char-ngram-weight PERCENT]\n"
    "  [--no-bigrams] [--no-dense] [--positive strong_wins|weak_wrong]\n"
    "  [--balance-benchmarks] [--domain-smoothing ALPHA] [--style-copies] [--cv FOLDS]\n"
    "  [--anchor-data FILE.jsonl[,...] --anchor-rates KEY=RATE,... [--anchor-weight W]\n"
    "   [--anchor-repeat SOURCE=N,...]]\n";
constexpr const char* kEvalUsage =
    "usage: llm-router eval --data FILE.jsonl[,...] --model MODEL [--target label|weak_fails]\n"
    "  [--split all|train|val] [--holdout 0.2] [--json]\n";
constexpr const char* kCalibrateUsage =
    "usage: llm-router calibrate --data FILE.jsonl[,...] --config FILE | --model MODEL\n"
    "  --strong-share 0.3 [--split all|train|val] [--holdout 0.2] [--route NAME]\n"
    "  --config: the complexity the router sees: its analyzer's reading of each row (a\n"
    "    \"prompt\", or a request body as classify reads it), or a request log line's own\n"
    "    \"complexity\" (request_log: the router's traffic); --route keeps the lines of one\n"
    "    route (their \"route\")\n"
    "  --model: the model's raw score of each row's \"prompt\"\n";

std::string default_target(const classifier::TextModel& model) {
  const auto& labels = model.labels();
  return labels.size() == 2 && labels[1] == kWeakFails ? kWeakFails : "label";
}

// Out-of-fold metrics on the train part: a steadier signal than a small validation part for
// choosing options (GSM8K's validation part has ~210 rows, where APGR varies by +-0.05).
nlohmann::json cross_validate(const std::vector<Record>& records, const std::string& target,
                              const std::optional<std::string>& label_list,
                              const ExampleOptions& routing, const classifier::TrainOptions& train,
                              uint32_t folds) {
  constexpr uint64_t kFoldSeed = 0xf01d;
  std::vector<Record> out_of_fold;
  std::vector<double> scores;
  std::vector<int> truth, predicted;
  // Every fold's predictions are counted against one list of labels (a fold's own list lacks
  // a label none of its rows has, and its indexes would mean other labels).
  const std::vector<std::string> labels = label_list ? split_list(*label_list) : labels_of(records);
  const auto index_of = [&](const std::string& label) {
    return static_cast<int>(std::find(labels.begin(), labels.end(), label) - labels.begin());
  };
  std::size_t unknown = 0;
  for (uint32_t fold = 0; fold < folds; ++fold) {
    std::vector<Record> fit, held;
    for (const auto& r : records) {
      (classifier::hash_bytes(r.prompt, kFoldSeed) % folds == fold ? held : fit).push_back(r);
    }
    const auto set = make_train_set(fit, target, label_list, routing);
    if (set.labels.size() < 2) throw std::runtime_error("a fold has fewer than two labels");
    const auto model = classifier::train_linear_model(set.labels, set.examples, train);
    std::vector<float> p(set.labels.size());
    for (const auto& r : held) {
      if (!is_routing_target(target) && r.label.empty()) continue;
      model->predict(r.prompt, p);
      if (is_routing_target(target)) {
        scores.push_back(p[positive_index(*model)]);
        out_of_fold.push_back(r);
        continue;
      }
      const int actual = index_of(r.label);
      if (actual == static_cast<int>(labels.size())) {
        ++unknown;
        continue;
      }
      truth.push_back(actual);
      predicted.push_back(index_of(
          set.labels[static_cast<std::size_t>(std::max_element(p.begin(), p.end()) - p.begin())]));
    }
  }
  if (!is_routing_target(target)) {
    const auto m = classifier::evaluate_classification(truth, predicted, labels.size());
    return {{"rows", m.rows},
            {"accuracy", m.accuracy},
            {"macro_f1", m.macro_f1},
            {"skipped_unknown_label", unknown},
            {"per_label", nlohmann::json::object()}};
  }
  std::map<std::string, std::vector<classifier::RoutingRow>> by_benchmark;
  std::map<std::string, bool> scored;
  for (size_t i = 0; i < out_of_fold.size(); ++i) {
    const auto& r = out_of_fold[i];
    by_benchmark[r.benchmark].push_back({scores[i], *r.strong_quality, *r.weak_quality});
    scored[r.benchmark] = r.scored;
  }
  nlohmann::json report = nlohmann::json::object();
  for (const auto& [benchmark, rows] : by_benchmark) {
    const auto m = classifier::evaluate_routing(rows, 10, scored[benchmark] ? 1.0 : 100.0);
    report[benchmark] = {{"rows", m.rows},
                         {"strong", m.strong},
                         {"weak", m.weak},
                         {"apgr", json_number(m.apgr)},
                         {"cpt20", json_number(m.cpt20)},
                         {"cpt50", json_number(m.cpt50)},
                         {"cpt80", json_number(m.cpt80)}};
  }
  return report;
}

}  // namespace

int run_train(const std::vector<std::string>& args) {
  Options options(args);
  try {
    const auto data = options.value("--data");
    const auto target = options.value("--target");
    const auto out = options.value("--out");
    const auto label_list = options.value("--labels");
    ExampleOptions routing;
    routing.balance_benchmarks = options.flag("--balance-benchmarks");
    routing.domain_smoothing = number_option<double>(options, "--domain-smoothing", 0.0);
    routing.style_copies = options.flag("--style-copies");
    const auto anchor_data = options.value("--anchor-data");
    const auto anchor_rates = options.value("--anchor-rates");
    const auto anchor_repeat = options.value("--anchor-repeat");
    routing.anchor_weight = number_option<double>(options, "--anchor-weight", 0.25);
    const auto positive = options.value("--positive").value_or("strong_wins");
    if (positive != "strong_wins" && positive != "weak_wrong") return usage(kTrainUsage, options);
    if (positive == "weak_wrong") routing.rule = classifier::PositiveRule::kWeakWrong;
    const double holdout = fraction_option(options, "--holdout", 0.2);
    const auto folds = number_option<uint32_t>(options, "--cv", 0);
    auto train = train_options(options, target.value_or(""));
    if (!data || !target || !out || !options.ok() || folds == 1) {
      return usage(kTrainUsage, options);
    }
    if (*target != "label" && !is_routing_target(*target)) return usage(kTrainUsage, options);

    auto records = read_all(*data);
    if (is_routing_target(*target)) records = routing_rows(std::move(records));
    if (anchor_data.has_value() != anchor_rates.has_value() ||
        (anchor_data && !is_routing_target(*target))) {
      std::cerr << "llm-router train: --anchor-data and --anchor-rates go together, with "
                   "--target weak_fails\n";
      return usage(kTrainUsage, options);
    }
    // Anchors come from the train part of their data too, so its validation part stays unseen.
    const auto anchor_records = anchor_data ? select(read_all(*anchor_data), Split::kTrain, holdout)
                                            : std::vector<Record>{};
    const auto anchors =
        anchor_rates
            ? make_anchors(anchor_records, parse_anchor_rates(*anchor_rates),
                           anchor_repeat ? parse_repeat_counts(*anchor_repeat, "--anchor-repeat")
                                         : std::map<std::string, int>{})
            : std::vector<Anchor>{};
    if (anchor_data && anchors.empty()) {
      throw std::runtime_error("--anchor-rates names no row of --anchor-data");
    }
    routing.anchors = anchors;
    const auto train_records = select(records, Split::kTrain, holdout);
    const auto validation = select(records, Split::kValidation, holdout);
    if (folds > 1) {
      std::cout << folds << "-fold cross-validation on the train part:\n";
      print_report(cross_validate(train_records, *target, label_list, routing, train, folds),
                   *target);
    }
    const auto set = make_train_set(train_records, *target, label_list, routing);
    if (set.examples.empty() || set.labels.size() < 2) {
      std::cerr << "llm-router train: nothing to learn from " << *data << ": "
                << set.examples.size() << " training rows, " << set.labels.size()
                << " labels (--target label needs a \"label\" field in two or more classes; "
                   "--target weak_fails needs strong_correct/weak_correct or "
                   "strong_score/weak_score)\n";
      return 1;
    }
    if (!anchors.empty()) std::cout << anchors.size() << " anchor rows\n";
    std::cout << "training on " << set.examples.size() << " rows, " << set.labels.size()
              << " labels; validation " << validation.size() << " rows\n";
    const auto model = classifier::train_linear_model(set.labels, set.examples, train);
    classifier::save_model(*model, *out);
    std::cout << "wrote " << *out << "\n";
    if (!validation.empty()) {
      std::cout << "validation (holdout " << std::defaultfloat << holdout << "):\n";
      print_report(report_for(*model, validation, *target), *target);
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "llm-router train: " << e.what() << "\n";
    return 1;
  }
}

int run_eval(const std::vector<std::string>& args) {
  Options options(args);
  try {
    const auto data = options.value("--data");
    const auto model_path = options.value("--model");
    const auto target_option = options.value("--target");
    const auto split = parse_split(options.value("--split"));
    const double holdout = fraction_option(options, "--holdout", 0.2);
    const bool json = options.flag("--json");
    if (!data || !model_path || !options.ok()) return usage(kEvalUsage, options);
    const auto model = classifier::load_text_model(*model_path);
    const auto target = target_option.value_or(default_target(*model));
    if (is_routing_target(target) != (default_target(*model) == kWeakFails)) {
      throw std::runtime_error(*model_path + " is a " +
                               (default_target(*model) == kWeakFails ? "complexity" : "category") +
                               " model: it cannot be evaluated with --target " + target);
    }
    const auto records = select(read_all(*data), split, holdout);
    const auto report = report_for(*model, records, target);
    if (is_routing_target(target) && report.empty()) {
      throw std::runtime_error(*data +
                               " has no rows with strong/weak outcomes (strong_correct and "
                               "weak_correct, or strong_score and weak_score) to evaluate");
    }
    if (json) {
      std::cout << report.dump(2) << "\n";
    } else {
      print_report(report, target);
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "llm-router eval: " << e.what() << "\n";
    return 1;
  }
}

// Whether a row is in the part of the data `split` selects, as select() decides for a record.
bool selected(const nlohmann::json& row, const std::string& line, Split split, double holdout) {
  if (split == Split::kAll) return true;
  const auto prompt = row.find("prompt");
  const std::string& key =
      prompt != row.end() && prompt->is_string() ? prompt->get_ref<const std::string&>() : line;
  return classifier::in_validation(key, holdout) == (split == Split::kValidation);
}

bool is_route(const nlohmann::json& row, const std::string& route) {
  const auto found = row.find("route");
  return found != row.end() && found->is_string() && found->get_ref<const std::string&>() == route;
}

// The complexity the router gives each row of `files`: a request log's own reading of the
// request (its `complexity`; a request it did not analyze, `null`, is left out), else the
// config's analyzer reading the row as `classify` reads it (a prompt, or a request body).
// With `route`, only the rows whose "route" names it (a request log's lines of that route).
std::vector<double> router_complexities(const std::string& files, const std::string& config_path,
                                        const std::optional<std::string>& route, Split split,
                                        double holdout) {
  std::shared_ptr<const analyzer::Analyzer> analyzer;  // loaded for the first row it reads
  std::vector<double> scores;
  std::size_t unanalyzed = 0;  // request log lines of requests the router did not analyze
  std::size_t other_routes = 0;
  for (const auto& path : split_list(files)) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error(path + ": cannot open data file");
    std::string line;
    for (std::size_t number = 1; std::getline(in, line); ++number) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string where = path + ":" + std::to_string(number) + ": ";
      // The project's parser, as classify reads its lines: UTF-8 checked, depth-limited.
      nlohmann::json row;
      if (!api::parse_json(line, row).ok || !row.is_object()) {
        throw std::runtime_error(where + "not a JSON object");
      }
      const auto contaminated = row.find("routellm_contaminated");
      if (contaminated != row.end() && contaminated->is_boolean() && contaminated->get<bool>()) {
        continue;
      }
      if (!selected(row, line, split, holdout)) continue;
      if (route && !is_route(row, *route)) {
        ++other_routes;
        continue;
      }
      if (const auto recorded = row.find("complexity"); recorded != row.end()) {
        if (recorded->is_null()) {
          ++unanalyzed;
          continue;
        }
        const double value = recorded->is_number() ? recorded->get<double>() : -1;
        if (!(value >= 0 && value <= 1)) {
          throw std::runtime_error(where + "\"complexity\" must be a number from 0 to 1 (or null)");
        }
        scores.push_back(value);
        continue;
      }
      if (!analyzer) {
        analyzer = analyzer_from_config(config_path);
        if (!analyzer->has_complexity_model()) {
          throw std::runtime_error(config_path +
                                   ": its analyzer loads no complexity model "
                                   "(analyzer.complexity_model), so every prompt scores 0.5");
        }
      }
      try {
        scores.push_back(analyze_row(*analyzer, row).complexity);
      } catch (const std::runtime_error& e) {
        throw std::runtime_error(where + e.what());
      }
    }
  }
  if (unanalyzed > 0) {
    std::cerr << "note: " << unanalyzed
              << " request log lines left out: the router did not analyze those requests "
                 "(\"complexity\": null)\n";
  }
  if (other_routes > 0) {
    std::cerr << "note: " << other_routes << " rows left out: their \"route\" is not " << *route
              << "\n";
  }
  return scores;
}

int run_calibrate(const std::vector<std::string>& args) {
  Options options(args);
  try {
    const auto data = options.value("--data");
    const auto model_path = options.value("--model");
    const auto config_path = options.value("--config");
    const auto share_text = options.value("--strong-share");
    const auto route = options.value("--route");
    const auto split = parse_split(options.value("--split"));
    const double holdout = fraction_option(options, "--holdout", 0.2);
    if (!data || model_path.has_value() == config_path.has_value() || !share_text ||
        (route && !config_path) || !options.ok()) {
      return usage(kCalibrateUsage, options);
    }
    const double share = fraction_option(options, "--strong-share", 0);
    std::vector<double> scores;
    if (config_path) {
      // What routes compare with their threshold: the analyzer's complexity, read after its
      // blanking of record ids and PII, its English glosses and its trailing-request reading.
      scores = router_complexities(*data, *config_path, route, split, holdout);
    } else {
      auto records = select(read_all(*data), split, holdout);
      std::erase_if(records, [](const Record& r) { return r.contaminated; });
      const auto model = classifier::load_text_model(*model_path);
      if (default_target(*model) != kWeakFails) {
        throw std::runtime_error(*model_path +
                                 " is not a complexity model (trained with --target " +
                                 std::string(kWeakFails) + ")");
      }
      scores = complexity_scores(*model, records);
    }
    if (scores.empty()) throw std::runtime_error("no rows to calibrate on");
    // A share of 0: above every score, so no row goes to the strong model. Printed to six
    // decimals as written into a rule: rounded down, or the rows at the threshold (a request
    // log's scores tie there) would fall below what is printed; the share is of that value.
    constexpr double kDecimals = 1e6;
    const double exact = share == 0 ? *std::max_element(scores.begin(), scores.end())
                                    : classifier::threshold_for_strong_share(scores, share);
    const double threshold = share == 0 ? (std::floor(exact * kDecimals) + 1) / kDecimals
                                        : std::floor(exact * kDecimals) / kDecimals;
    const auto strong =
        std::count_if(scores.begin(), scores.end(), [&](double s) { return s >= threshold; });
    std::cout << std::fixed << std::setprecision(6) << "threshold " << threshold
              << std::defaultfloat << "  (score >= threshold -> strong: " << strong << "/"
              << scores.size() << " rows = " << std::setprecision(4)
              << 100.0 * static_cast<double>(strong) / static_cast<double>(scores.size()) << "%)\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "llm-router calibrate: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace llm_router::cli
