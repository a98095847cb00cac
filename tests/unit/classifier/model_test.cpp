#include <gtest/gtest.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "llm_router/classifier/linear_model.hpp"
#include "llm_router/classifier/trainer.hpp"

namespace llm_router::classifier {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

void expect_distribution(std::span<const float> p) {
  float sum = 0;
  for (const float v : p) {
    EXPECT_TRUE(std::isfinite(v));
    EXPECT_GE(v, 0.0F);
    sum += v;
  }
  EXPECT_NEAR(sum, 1.0F, 1e-5F);
}

TEST(Softmax, FiniteForAnyInput) {
  struct Case {
    std::vector<float> logits;
    std::vector<float> expected;  // empty: only check it is a distribution
  };
  const std::vector<Case> cases = {
      {{0, 0}, {0.5F, 0.5F}},
      {{1000, -1000}, {1, 0}},
      {{-1000, -1000, -1000, -1000}, {0.25F, 0.25F, 0.25F, 0.25F}},
      {{kNaN, 1}, {0, 1}},
      {{kNaN, kNaN}, {0.5F, 0.5F}},
      {{kInf, 0, kInf}, {0.5F, 0, 0.5F}},
      {{-kInf, -kInf}, {0.5F, 0.5F}},
      {{3e38F, 3e38F, -3e38F}, {0.5F, 0.5F, 0}},
      {{1, 2, 3}, {}},
  };
  for (const auto& c : cases) {
    auto values = c.logits;
    softmax(values);
    expect_distribution(values);
    for (size_t i = 0; i < c.expected.size(); ++i) EXPECT_NEAR(values[i], c.expected[i], 1e-6F);
  }
}

FeaturizerConfig small_config() {
  FeaturizerConfig c;
  c.bucket_bits = 10;
  return c;
}

std::vector<TrainingExample> toy_examples() {
  static const std::vector<std::string> texts = {
      "write a python function to sort a list",
      "fix this javascript code please",
      "implement a class in c++ with a method",
      "what is the derivative of x squared",
      "solve for x: 3x + 5 = 20",
      "compute the integral of sin x",
      "hi there how are you",
      "tell me a joke",
      "good morning my friend",
  };
  std::vector<TrainingExample> examples;
  for (size_t i = 0; i < texts.size(); ++i) {
    examples.push_back({texts[i], static_cast<uint32_t>(i / 3)});
  }
  return examples;
}

std::shared_ptr<LinearModel> toy_model(uint64_t seed = 7) {
  TrainOptions options;
  options.seed = seed;
  options.epochs = 20;
  options.featurizer = small_config();
  options.metadata = "toy";
  const auto examples = toy_examples();
  return train_linear_model({"code", "math", "chit_chat"}, examples, options);
}

TEST(LinearModel, PredictIsADistributionForEdgeInputs) {
  const auto model = toy_model();
  std::string huge(1 << 20, 'x');
  for (size_t i = 0; i < huge.size(); i += 7) huge[i] = ' ';
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  for (const std::string& text : {std::string(), std::string(" \n\t "), huge, binary}) {
    std::vector<float> p(3);
    model->predict(text, p);
    expect_distribution(p);
  }
}

TEST(LinearModel, OutputSpanSizes) {
  const auto model = toy_model();
  std::vector<float> wider(5, -1.0F);
  model->predict("tell me a joke", wider);
  expect_distribution(std::span(wider).first(3));
  EXPECT_EQ(wider[3], 0.0F);
  std::vector<float> narrower(2, -1.0F);
  model->predict("tell me a joke", narrower);  // contract violation: zeros, no throw
  EXPECT_EQ(narrower[0], 0.0F);
}

TEST(Trainer, LearnsTheToyProblem) {
  const auto model = toy_model();
  struct Case {
    const char* text;
    size_t label;
  };
  const Case cases[] = {{"write a python function", 0}, {"solve for x", 1}, {"hi there", 2}};
  for (const auto& c : cases) {
    std::vector<float> p(3);
    model->predict(c.text, p);
    EXPECT_EQ(static_cast<size_t>(std::max_element(p.begin(), p.end()) - p.begin()), c.label)
        << c.text;
  }
}

TEST(Trainer, SameSeedSameBytes) {
  EXPECT_EQ(serialize_model(*toy_model(7)), serialize_model(*toy_model(7)));
  EXPECT_NE(serialize_model(*toy_model(7)), serialize_model(*toy_model(8)));
}

TEST(Trainer, SoftTargetsAndWeights) {
  TrainOptions options;
  options.featurizer = small_config();
  options.epochs = 30;
  options.balance_classes = true;
  std::vector<TrainingExample> examples = {
      {"easy question", 0, 1.0F, 0.1F}, {"hard question", 1, 1.0F, 0.9F}, {"easy one", 0, 2.0F}};
  const auto model = train_linear_model({"weak_ok", "weak_fails"}, examples, options);
  std::vector<float> easy(2), hard(2);
  model->predict("easy question", easy);
  model->predict("hard question", hard);
  EXPECT_LT(easy[1], hard[1]);
  EXPECT_THROW(train_linear_model({"only"}, examples, options), std::invalid_argument);
  examples.push_back({"bad", 5});
  EXPECT_THROW(train_linear_model({"a", "b"}, examples, options), std::invalid_argument);
}

class ModelFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("classifier_model_file_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    bytes_ = serialize_model(*toy_model());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::vector<unsigned char>& bytes) {
    const auto path = (dir_ / name).string();
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    return path;
  }

  std::filesystem::path dir_;
  std::vector<unsigned char> bytes_;
};

TEST_F(ModelFile, RoundTrip) {
  const auto original = toy_model();
  const auto path = (dir_ / "toy.model").string();
  save_model(*original, path);
  const auto loaded = load_linear_model(path);
  EXPECT_EQ(loaded->labels(), original->labels());
  EXPECT_EQ(loaded->featurizer_config(), original->featurizer_config());
  EXPECT_EQ(loaded->weights(), original->weights());
  EXPECT_EQ(loaded->bias(), original->bias());
  EXPECT_EQ(loaded->metadata(), "toy");
  std::vector<float> a(3), b(3);
  original->predict("solve for x", a);
  load_text_model(path)->predict("solve for x", b);
  EXPECT_EQ(a, b);
}

TEST_F(ModelFile, LoadErrorsNameFileAndProblem) {
  auto wrong_magic = bytes_;
  wrong_magic[0] = 'X';
  auto wrong_version = bytes_;
  wrong_version[8] = 99;
  auto bad_checksum = bytes_;
  bad_checksum[bytes_.size() / 2] ^= 0x40;
  auto trailing = bytes_;
  trailing.insert(trailing.end() - 8, 0);
  struct Case {
    std::string name;
    std::vector<unsigned char> bytes;  // not written when name is "missing"
    std::string problem;
  };
  const std::vector<Case> cases = {
      {"missing", {}, "no such file"},
      {"directory", {}, "is a directory"},  // `models/` for `models/category.model`
      {"empty", {}, "truncated"},
      {"magic", wrong_magic, "wrong magic"},
      {"version", wrong_version, "unsupported model format version 99"},
      {"header_cut", {bytes_.begin(), bytes_.begin() + 20}, "truncated"},
      {"weights_cut",
       {bytes_.begin(), bytes_.begin() + static_cast<long>(bytes_.size() / 2)},
       "truncated"},
      {"checksum_cut", {bytes_.begin(), bytes_.end() - 3}, "truncated"},
      {"checksum", bad_checksum, "checksum mismatch"},
      {"trailing", trailing, "unexpected bytes"},
  };
  for (const auto& c : cases) {
    const auto path = c.name == "missing"     ? (dir_ / "does_not_exist.model").string()
                      : c.name == "directory" ? dir_.string()
                                              : write(c.name, c.bytes);
    try {
      load_text_model(path);
      ADD_FAILURE() << c.name << ": no exception";
    } catch (const std::runtime_error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(path), std::string::npos) << c.name << ": " << message;
      EXPECT_NE(message.find(c.problem), std::string::npos) << c.name << ": " << message;
    }
  }
}

TEST(ShippedModels, LoadAndAnswerObviousPrompts) {
  const std::string dir = std::string(LLM_ROUTER_SOURCE_DIR) + "/config/models/";
  const auto category = load_text_model(dir + "category.model");
  ASSERT_EQ(category->labels().size(), 11U);
  struct Case {
    const char* text;
    const char* label;
  };
  const Case cases[] = {
      {"Write a python function that returns the n-th Fibonacci number.", "code"},
      {"Natalia sold clips to 48 of her friends in April, and then she sold half as many clips "
       "in May. How many clips did Natalia sell altogether in April and May?",
       "math"},
      {"hey there, how are you doing today", "chit_chat"},
  };
  std::vector<float> p(category->labels().size());
  for (const auto& c : cases) {
    category->predict(c.text, p);
    const auto best = std::max_element(p.begin(), p.end()) - p.begin();
    EXPECT_EQ(category->labels()[static_cast<size_t>(best)], c.label) << c.text;
  }
  const auto complexity = load_text_model(dir + "complexity.model");
  EXPECT_EQ(complexity->labels(), (std::vector<std::string>{"weak_ok", "weak_fails"}));
}

// The analyzer featurizes once for both shipped models; that must not change a single bit.
TEST(ShippedModels, SharedFeaturesGiveBitIdenticalProbabilities) {
  const std::string dir = std::string(LLM_ROUTER_SOURCE_DIR) + "/config/models/";
  const auto category = load_linear_model(dir + "category.model");
  const auto complexity = load_linear_model(dir + "complexity.model");
  const auto shared =
      shared_featurizer_config(category->featurizer_config(), complexity->featurizer_config());
  ASSERT_TRUE(shared.has_value());
  std::string long_text;
  while (long_text.size() < 6000) {
    long_text += "Compute the SUM of 1,200 and 3.5%; then explain why `fn main() {}` fails.\n";
  }
  const std::vector<std::string> texts = {
      "",
      "?",
      "hello",
      "Write a python function that returns the n-th Fibonacci number.",
      "A. 1\nB. 2\nC. 3\nD. 4\nAnswer:",
      "caf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd 42",
      long_text};
  FeatureScratch scratch;
  for (const auto& text : texts) {
    featurize(*shared, text, scratch);
    for (const auto* model : {category.get(), complexity.get()}) {
      std::vector<float> own(model->labels().size());
      std::vector<float> reused(model->labels().size());
      model->predict(text, own);
      model->predict_shared(scratch, reused);
      for (size_t i = 0; i < own.size(); ++i) {
        EXPECT_EQ(std::bit_cast<uint32_t>(own[i]), std::bit_cast<uint32_t>(reused[i]))
            << text.substr(0, 40) << " label " << i;
      }
    }
    // Both models in one pass over features without values, as the analyzer predicts them.
    FeatureScratch unscaled;
    featurize_unscaled(*shared, text, unscaled);
    std::vector<float> category_own(category->labels().size());
    std::vector<float> complexity_own(complexity->labels().size());
    category->predict(text, category_own);
    complexity->predict(text, complexity_own);
    std::vector<float> category_paired(category_own.size());
    std::vector<float> complexity_paired(complexity_own.size());
    predict_shared_pair(unscaled, *category, category_paired, *complexity, complexity_paired);
    for (size_t i = 0; i < category_own.size(); ++i) {
      EXPECT_EQ(std::bit_cast<uint32_t>(category_own[i]),
                std::bit_cast<uint32_t>(category_paired[i]))
          << text.substr(0, 40) << " category label " << i;
    }
    for (size_t i = 0; i < complexity_own.size(); ++i) {
      EXPECT_EQ(std::bit_cast<uint32_t>(complexity_own[i]),
                std::bit_cast<uint32_t>(complexity_paired[i]))
          << text.substr(0, 40) << " complexity label " << i;
    }
  }
}

// predict_shared_pair with any label counts (paired in one pass or not) equals predict_shared.
TEST(SharedFeatures, PairEqualsTwoPredictions) {
  FeaturizerConfig config;
  config.bucket_bits = 10;
  const size_t rows = size_t{1} << config.bucket_bits;
  // b without bigrams and with its own n-gram weight, as the shipped complexity model.
  FeaturizerConfig config_b = config;
  config_b.use_bigrams = 0;
  config_b.char_ngram_weight_pct = 10;
  auto model_with = [&](size_t labels, uint32_t seed, const FeaturizerConfig& own) {
    std::vector<std::string> names;
    for (size_t k = 0; k < labels; ++k) names.push_back("l" + std::to_string(k));
    std::vector<float> weights(rows * labels);
    uint32_t state = seed;
    for (float& w : weights) {
      state = state * 1664525U + 1013904223U;
      w = static_cast<float>(static_cast<int32_t>(state >> 8) % 2000) / 997.0F;
    }
    std::vector<float> bias(labels, 0.25F);
    return LinearModel(names, own, std::move(weights), std::move(bias));
  };
  FeatureScratch scratch;
  featurize(config, "Why does my C++ code crash with 1,200 threads? Explain std::mutex.", scratch);
  for (size_t ka : {1, 2, 3, 5, 11, 16, 17}) {
    for (size_t kb : {1, 2, 3}) {
      const LinearModel a = model_with(ka, 7, config);
      const LinearModel b = model_with(kb, 11, config_b);
      std::vector<float> a_alone(ka), b_alone(kb), a_paired(ka), b_paired(kb);
      a.predict_shared(scratch, a_alone);
      b.predict_shared(scratch, b_alone);
      predict_shared_pair(scratch, a, a_paired, b, b_paired);
      for (size_t i = 0; i < ka; ++i) {
        EXPECT_EQ(std::bit_cast<uint32_t>(a_alone[i]), std::bit_cast<uint32_t>(a_paired[i]))
            << ka << "/" << kb;
      }
      for (size_t i = 0; i < kb; ++i) {
        EXPECT_EQ(std::bit_cast<uint32_t>(b_alone[i]), std::bit_cast<uint32_t>(b_paired[i]))
            << ka << "/" << kb;
      }
    }
  }
}

TEST(SharedFeatures, CompatibleSettings) {
  FeaturizerConfig a;
  FeaturizerConfig b = a;
  b.use_bigrams = 0;
  b.char_ngram_weight_pct = 10;
  const auto shared = shared_featurizer_config(a, b);
  ASSERT_TRUE(shared.has_value());
  EXPECT_EQ(shared->use_bigrams, 1U);
  EXPECT_TRUE(shared_featurizer_config(b, a).has_value());
  b.bucket_bits = 17;
  EXPECT_FALSE(shared_featurizer_config(a, b).has_value());
  b = a;
  b.char_ngram_chars = 100;
  EXPECT_FALSE(shared_featurizer_config(a, b).has_value());
  // Features without bigrams cannot serve a model that has them.
  FeaturizerConfig no_bigrams = a;
  no_bigrams.use_bigrams = 0;
  EXPECT_FALSE(can_share_features(no_bigrams, a));
  EXPECT_TRUE(can_share_features(a, no_bigrams));
}

}  // namespace
}  // namespace llm_router::classifier
