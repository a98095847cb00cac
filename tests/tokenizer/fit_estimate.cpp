// Fits the token estimate's ASCII weights (src/tokenizer/estimate.cpp) to the exact counts.
//
//   fit_estimate CORPUS.json TABLES_DIR [FEATURE=WEIGHT ...]
//
// CORPUS.json is a list of {"kind": ..., "text": ...}. The target of each text is the geometric
// mean of its cl100k_base and o200k_base counts; the fit minimizes the squared relative error,
// each kind weighted alike, with the weights of other scripts' characters held where they are,
// no weight below zero, and the weights named on the command line (by index) held at their
// values, as are those of features no text has. Texts at even places fit, the others check; prints
// the weights and, per kind, estimate / target before and after.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "llm_router/tokenizer/tokenizer.hpp"

namespace tok = llm_router::tokenizer;

namespace {

constexpr std::size_t kAsciiFeatures = tok::detail::kEstimateAsciiFeatures;

struct Sample {
  std::string kind;
  std::vector<double> features;
  double target = 0;
  double weight = 0;  // 1 / (texts of its kind)
};

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
  return sum;
}

// Solves A x = b (A symmetric positive definite or close) by Gaussian elimination with pivoting.
std::vector<double> solve(std::vector<std::vector<double>> a, std::vector<double> b) {
  const std::size_t n = b.size();
  for (std::size_t col = 0; col < n; ++col) {
    std::size_t pivot = col;
    for (std::size_t row = col + 1; row < n; ++row)
      if (std::fabs(a[row][col]) > std::fabs(a[pivot][col])) pivot = row;
    std::swap(a[col], a[pivot]);
    std::swap(b[col], b[pivot]);
    for (std::size_t row = col + 1; row < n; ++row) {
      const double factor = a[row][col] / a[col][col];
      for (std::size_t k = col; k < n; ++k) a[row][k] -= factor * a[col][k];
      b[row] -= factor * b[col];
    }
  }
  std::vector<double> x(n);
  for (std::size_t i = n; i-- > 0;) {
    double sum = b[i];
    for (std::size_t k = i + 1; k < n; ++k) sum -= a[i][k] * x[k];
    x[i] = sum / a[i][i];
  }
  return x;
}

// Least squares over the free ASCII weights; a weight that comes out negative is pinned at 0
// and the rest fit again.
std::vector<double> fit(const std::vector<Sample>& samples, std::vector<double> weights,
                        const std::map<std::size_t, double>& held) {
  std::vector<bool> free(kAsciiFeatures, true);
  // A feature no text has (control characters, say) keeps the weight it has.
  for (std::size_t f = 0; f < kAsciiFeatures; ++f) {
    free[f] = std::any_of(samples.begin(), samples.end(),
                          [f](const Sample& s) { return s.features[f] > 0; });
  }
  for (const auto& [feature, weight] : held) {
    free[feature] = false;
    weights[feature] = weight;
  }
  for (;;) {
    std::vector<std::size_t> columns;
    for (std::size_t f = 0; f < kAsciiFeatures; ++f)
      if (free[f]) columns.push_back(f);
    const std::size_t n = columns.size();
    std::vector<std::vector<double>> normal(n, std::vector<double>(n));
    std::vector<double> rhs(n);
    for (const Sample& s : samples) {
      double fixed = 0;  // held weights and other scripts' characters
      for (std::size_t f = 0; f < weights.size(); ++f)
        if (f >= kAsciiFeatures || !free[f]) fixed += weights[f] * s.features[f];
      // Row scaled by 1/target: relative error.
      const double scale = s.weight / (s.target * s.target);
      for (std::size_t i = 0; i < n; ++i) {
        rhs[i] += scale * s.features[columns[i]] * (s.target - fixed);
        for (std::size_t k = 0; k < n; ++k)
          normal[i][k] += scale * s.features[columns[i]] * s.features[columns[k]];
      }
    }
    for (std::size_t i = 0; i < n; ++i) normal[i][i] += 1e-9;
    const std::vector<double> x = solve(normal, rhs);
    bool pinned = false;
    for (std::size_t f = 0; f < kAsciiFeatures; ++f)
      if (free[f]) weights[f] = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (x[i] < 0) {
        free[columns[i]] = false;
        pinned = true;
      } else {
        weights[columns[i]] = x[i];
      }
    }
    if (!pinned) return weights;
  }
}

void report(const std::vector<Sample>& samples, const std::vector<double>& weights) {
  std::map<std::string, std::pair<double, int>> log_ratio_by_kind;
  double squares = 0;
  for (const Sample& s : samples) {
    const double log_ratio = std::log(dot(weights, s.features) / s.target);
    auto& [sum, n] = log_ratio_by_kind[s.kind];
    sum += log_ratio;
    ++n;
    squares += log_ratio * log_ratio;
  }
  for (const auto& [kind, sum_n] : log_ratio_by_kind)
    std::printf("  %-18s %5.2f  (%d texts)\n", kind.c_str(), std::exp(sum_n.first / sum_n.second),
                sum_n.second);
  std::printf("  RMS of the log ratio: %.3f\n",
              std::sqrt(squares / static_cast<double>(samples.size())));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: fit_estimate CORPUS.json TABLES_DIR [FEATURE=WEIGHT ...]\n");
    return 2;
  }
  std::map<std::size_t, double> held;
  for (int i = 3; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto equals = arg.find('=');
    held[std::stoul(arg.substr(0, equals))] = std::stod(arg.substr(equals + 1));
  }
  const auto cl100k = tok::Encoder::load_from_directory(tok::Encoding::cl100k_base, argv[2]);
  const auto o200k = tok::Encoder::load_from_directory(tok::Encoding::o200k_base, argv[2]);
  std::ifstream in(argv[1]);
  const nlohmann::json corpus = nlohmann::json::parse(in);
  std::vector<Sample> fitting, checking;
  std::map<std::string, int> texts_of_kind;
  bool odd = false;
  for (const auto& item : corpus) {
    const std::string text = item.at("text");
    const double target =
        std::sqrt(static_cast<double>(cl100k.count(text)) * static_cast<double>(o200k.count(text)));
    if (target < 1) continue;
    auto& into = (odd = !odd) ? fitting : checking;
    into.push_back({item.at("kind"), tok::detail::estimate_features(text), target, 0});
    ++texts_of_kind[into.back().kind];
  }
  for (Sample& s : fitting) s.weight = 1.0 / texts_of_kind[s.kind];
  const std::vector<double> now = tok::detail::estimate_weights();
  std::printf("estimate / target with the weights now, on the texts left out of the fit:\n");
  report(checking, now);
  const std::vector<double> fitted = fit(fitting, now, held);
  std::printf("fitted ASCII weights:");
  for (std::size_t f = 0; f < kAsciiFeatures; ++f) std::printf(" %.3f", fitted[f]);
  std::printf("\nestimate / target with them, on the texts left out of the fit:\n");
  report(checking, fitted);
}
