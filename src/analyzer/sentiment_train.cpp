#include "llm_router/analyzer/sentiment_train.hpp"

#include <algorithm>
#include <cmath>

#include "text_util.hpp"

namespace llm_router::analyzer {
namespace {

constexpr std::size_t kDims = kSentimentDenseFeatures + SentimentWeights::kHashBuckets;

// Rows of (feature index, value); the bias is handled by centring.
struct SparseRows {
  std::vector<std::size_t> start{0};
  std::vector<std::uint32_t> index;
  std::vector<double> value;
  std::vector<double> target;

  std::size_t rows() const { return target.size(); }
};

SparseRows featurize(const std::vector<const SentimentExample*>& examples,
                     const VaderLexicon& lexicon) {
  SparseRows rows;
  for (const auto* example : examples) {
    const VaderScores scores = vader_scores(example->text, lexicon);
    std::vector<std::pair<std::uint32_t, double>> row;
    sentiment_features(example->text, scores, [&](std::size_t i, double v) {
      row.emplace_back(static_cast<std::uint32_t>(i), v);
    });
    std::sort(row.begin(), row.end());
    for (std::size_t k = 0; k < row.size(); ++k) {
      if (!rows.index.empty() && rows.index.size() > rows.start.back() &&
          rows.index.back() == row[k].first) {
        rows.value.back() += row[k].second;
        continue;
      }
      rows.index.push_back(row[k].first);
      rows.value.push_back(row[k].second);
    }
    rows.start.push_back(rows.index.size());
    rows.target.push_back(example->rating);
  }
  return rows;
}

struct Standardizer {
  std::vector<double> mean = std::vector<double>(kSentimentDenseFeatures, 0.0);
  std::vector<double> scale = std::vector<double>(kSentimentDenseFeatures, 1.0);
};

Standardizer fit_standardizer(const SparseRows& rows) {
  Standardizer st;
  std::vector<double> sum(kSentimentDenseFeatures, 0.0);
  std::vector<double> sum_sq(kSentimentDenseFeatures, 0.0);
  for (std::size_t r = 0; r < rows.rows(); ++r) {
    for (std::size_t k = rows.start[r]; k < rows.start[r + 1]; ++k) {
      if (rows.index[k] >= kSentimentDenseFeatures) continue;
      sum[rows.index[k]] += rows.value[k];
      sum_sq[rows.index[k]] += rows.value[k] * rows.value[k];
    }
  }
  const double n = static_cast<double>(std::max<std::size_t>(rows.rows(), 1));
  for (std::size_t i = 0; i < kSentimentDenseFeatures; ++i) {
    st.mean[i] = sum[i] / n;
    const double variance = sum_sq[i] / n - st.mean[i] * st.mean[i];
    st.scale[i] = variance > 1e-12 ? std::sqrt(variance) : 1.0;
  }
  return st;
}

// Dense features become standardised in place; every dense feature is present in every row.
void standardize(SparseRows& rows, const Standardizer& st) {
  for (std::size_t k = 0; k < rows.index.size(); ++k) {
    const auto i = rows.index[k];
    if (i < kSentimentDenseFeatures) rows.value[k] = (rows.value[k] - st.mean[i]) / st.scale[i];
  }
}

// Minimises |X w + b - y|^2 + dense_l2 |w_dense|^2 + hashed_l2 |w_hashed|^2 by conjugate
// gradient on the centred normal equations; deterministic for a given input order.
std::pair<std::vector<double>, double> fit_ridge(const SparseRows& rows, double dense_l2,
                                                 double hashed_l2, int iterations) {
  const std::size_t n = rows.rows();
  double y_mean = 0;
  for (double y : rows.target) y_mean += y;
  y_mean /= static_cast<double>(std::max<std::size_t>(n, 1));
  std::vector<double> col_mean(kDims, 0.0);
  for (std::size_t k = 0; k < rows.index.size(); ++k) col_mean[rows.index[k]] += rows.value[k];
  for (double& m : col_mean) m /= static_cast<double>(std::max<std::size_t>(n, 1));

  auto penalty = [&](std::size_t i) { return i < kSentimentDenseFeatures ? dense_l2 : hashed_l2; };
  // A v for A = Xc^T Xc + Lambda, with Xc the column-centred X.
  auto apply = [&](const std::vector<double>& v, std::vector<double>& out) {
    double mean_dot = 0;
    for (std::size_t i = 0; i < kDims; ++i) mean_dot += col_mean[i] * v[i];
    std::fill(out.begin(), out.end(), 0.0);
    double sum_xv = 0;
    for (std::size_t r = 0; r < n; ++r) {
      double xv = -mean_dot;
      for (std::size_t k = rows.start[r]; k < rows.start[r + 1]; ++k) {
        xv += rows.value[k] * v[rows.index[k]];
      }
      for (std::size_t k = rows.start[r]; k < rows.start[r + 1]; ++k) {
        out[rows.index[k]] += rows.value[k] * xv;
      }
      sum_xv += xv;
    }
    for (std::size_t i = 0; i < kDims; ++i) out[i] += -col_mean[i] * sum_xv + penalty(i) * v[i];
  };
  // b = Xc^T (y - y_mean)
  std::vector<double> b(kDims, 0.0);
  double sum_centered = 0;
  for (std::size_t r = 0; r < n; ++r) {
    const double yc = rows.target[r] - y_mean;
    sum_centered += yc;
    for (std::size_t k = rows.start[r]; k < rows.start[r + 1]; ++k) {
      b[rows.index[k]] += rows.value[k] * yc;
    }
  }
  for (std::size_t i = 0; i < kDims; ++i) b[i] -= col_mean[i] * sum_centered;

  std::vector<double> w(kDims, 0.0);
  std::vector<double> r = b;
  std::vector<double> p = r;
  std::vector<double> ap(kDims, 0.0);
  double rr = 0;
  for (double x : r) rr += x * x;
  const double stop = rr * 1e-14;
  for (int it = 0; it < iterations && rr > stop; ++it) {
    apply(p, ap);
    double pap = 0;
    for (std::size_t i = 0; i < kDims; ++i) pap += p[i] * ap[i];
    if (pap <= 0) break;
    const double alpha = rr / pap;
    double rr_next = 0;
    for (std::size_t i = 0; i < kDims; ++i) {
      w[i] += alpha * p[i];
      r[i] -= alpha * ap[i];
      rr_next += r[i] * r[i];
    }
    const double beta = rr_next / rr;
    for (std::size_t i = 0; i < kDims; ++i) p[i] = r[i] + beta * p[i];
    rr = rr_next;
  }
  double bias = y_mean;
  for (std::size_t i = 0; i < kDims; ++i) bias -= col_mean[i] * w[i];
  return {w, bias};
}

SentimentWeights to_weights(const std::vector<double>& w, double bias, const Standardizer& st) {
  SentimentWeights out;
  out.bias = bias;
  out.dense_mean = st.mean;
  out.dense_scale = st.scale;
  out.dense.assign(w.begin(), w.begin() + kSentimentDenseFeatures);
  out.hashed.assign(SentimentWeights::kHashBuckets, 0.0f);
  for (std::size_t i = 0; i < SentimentWeights::kHashBuckets; ++i) {
    out.hashed[i] = static_cast<float>(w[kSentimentDenseFeatures + i]);
  }
  out.quantize();
  return out;
}

SentimentWeights fit(const std::vector<const SentimentExample*>& part, const VaderLexicon& lexicon,
                     double dense_l2, double hashed_l2, int iterations) {
  SparseRows rows = featurize(part, lexicon);
  const Standardizer st = fit_standardizer(rows);
  standardize(rows, st);
  auto [w, bias] = fit_ridge(rows, dense_l2, hashed_l2, iterations);
  return to_weights(w, bias, st);
}

}  // namespace

bool is_validation_example(const SentimentExample& example) {
  return fnv1a(example.source + ":" + example.id) % 5 == 0;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const std::size_t n = std::min(x.size(), y.size());
  if (n < 2) return 0;
  double mx = 0;
  double my = 0;
  for (std::size_t i = 0; i < n; ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= static_cast<double>(n);
  my /= static_cast<double>(n);
  double sxy = 0;
  double sxx = 0;
  double syy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : 0.0;
}

PearsonBySource evaluate_sentiment(const std::vector<SentimentExample>& examples,
                                   const SentimentModel& vader_only,
                                   const SentimentModel& trained) {
  std::map<std::string, std::vector<double>> vader;
  std::map<std::string, std::vector<double>> model;
  std::map<std::string, std::vector<double>> actual;
  for (const auto& example : examples) {
    const double v = vader_only.vader(example.text).compound;
    const double m = trained.score(example.text);
    for (const std::string& key : {example.source, std::string("all")}) {
      vader[key].push_back(v);
      model[key].push_back(m);
      actual[key].push_back(example.rating);
    }
  }
  PearsonBySource out;
  for (const auto& [key, ratings] : actual) {
    out.vader[key] = pearson(vader[key], ratings);
    out.model[key] = pearson(model[key], ratings);
    out.count[key] = ratings.size();
  }
  return out;
}

SentimentTrainResult train_sentiment(const std::vector<SentimentExample>& examples,
                                     const VaderLexicon& lexicon,
                                     const SentimentTrainOptions& options) {
  std::vector<const SentimentExample*> train;
  std::vector<SentimentExample> validation;
  for (const auto& example : examples) {
    if (is_validation_example(example)) {
      validation.push_back(example);
    } else {
      train.push_back(&example);
    }
  }
  const auto repeats = [&](const SentimentExample* example) {
    const auto it = options.source_repeats.find(example->source);
    return it == options.source_repeats.end() ? 1 : std::max(it->second, 1);
  };
  // The L2 strength is chosen on an inner split of the training part, never on validation.
  std::vector<const SentimentExample*> inner_fit;
  std::vector<const SentimentExample*> inner_check;
  for (const auto* example : train) {
    if (fnv1a("inner:" + example->source + ":" + example->id) % 5 == 0) {
      inner_check.push_back(example);
    } else {
      inner_fit.insert(inner_fit.end(), repeats(example), example);
    }
  }
  std::vector<const SentimentExample*> weighted_train;
  for (const auto* example : train)
    weighted_train.insert(weighted_train.end(), repeats(example), example);
  std::vector<SentimentExample> inner_rows;
  for (const auto* example : inner_check) inner_rows.push_back(*example);
  const SentimentModel vader_only(lexicon, std::nullopt);
  SentimentTrainResult result;
  double best_score = -1e9;
  for (double l2 : options.hashed_l2_grid) {
    const SentimentModel candidate(
        lexicon, fit(inner_fit, lexicon, options.dense_l2, l2, options.iterations));
    const PearsonBySource r = evaluate_sentiment(inner_rows, vader_only, candidate);
    bool no_worse = true;
    for (const auto& source : options.guarded_sources) {
      if (r.model.contains(source)) no_worse &= r.model.at(source) >= r.vader.at(source);
    }
    // Candidates that lose to VADER on some source rank below every one that does not.
    const double score = r.model.at("all") + (no_worse ? 10.0 : 0.0);
    if (score > best_score) {
      best_score = score;
      result.chosen_hashed_l2 = l2;
    }
  }
  result.weights =
      fit(weighted_train, lexicon, options.dense_l2, result.chosen_hashed_l2, options.iterations);
  result.train_rows = train.size();
  result.validation_rows = validation.size();
  const SentimentModel trained(lexicon, result.weights);
  result.validation = evaluate_sentiment(validation, vader_only, trained);
  return result;
}

}  // namespace llm_router::analyzer
