#pragma once

#include <span>
#include <string>
#include <vector>

namespace llm_router::classifier {

// One evaluated prompt: the router's strong-win score and the quality each model got on it
// (correctness 0/1, or a judge score).
struct RoutingRow {
  double score;
  double strong_quality;
  double weak_quality;
};

struct CurvePoint {
  double threshold;
  double strong_percent;  // 0..100
  double quality;         // mean quality of the routed answers (x100 for correctness)
};

// RouteLLM's evaluate.py / benchmarks.py: thresholds at the 0,10..100% quantiles of the scores
// (linear interpolation, like pd.qcut), ">= threshold" goes strong except "> max" for the last;
// APGR = trapezoid area of the quality curve over strong%/100, normalised between weak and
// strong; CPT(p) = np.interp(weak + p (strong - weak), quality, strong%).
struct RoutingMetrics {
  size_t rows = 0;
  double strong = 0;  // quality with every prompt on the strong model
  double weak = 0;
  double apgr = 0;   // NaN when strong == weak
  double cpt20 = 0;  // percent of strong calls
  double cpt50 = 0;
  double cpt80 = 0;
  std::vector<CurvePoint> curve;  // by increasing strong_percent
};
RoutingMetrics evaluate_routing(std::span<const RoutingRow> rows, int bins = 10,
                                double quality_scale = 100.0);

// numpy.quantile's default ("linear") on a copy of `values`.
double quantile(std::vector<double> values, double q);
// numpy.interp on (xp, fp) as given; exact numpy behaviour for increasing xp.
double interp(double x, std::span<const double> xp, std::span<const double> fp);
// The score threshold at which "score >= threshold" selects `strong_share` of the rows.
double threshold_for_strong_share(std::vector<double> scores, double strong_share);

struct ClassificationMetrics {
  size_t rows = 0;
  double accuracy = 0;
  double macro_f1 = 0;     // unweighted mean over labels that occur in truth or prediction
  std::vector<double> f1;  // per label index
  std::vector<size_t> support;
};
ClassificationMetrics evaluate_classification(std::span<const int> truth,
                                              std::span<const int> predicted, size_t labels);

}  // namespace llm_router::classifier
