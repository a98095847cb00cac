#include "llm_router/classifier/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace llm_router::classifier {
namespace {

double trapezoid(std::span<const double> y, std::span<const double> x) {
  double area = 0;
  for (size_t i = 1; i < y.size(); ++i) area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
  return area;
}

CurvePoint route_at(std::span<const RoutingRow> rows, double threshold, bool strict, double scale) {
  size_t strong_calls = 0;
  double quality = 0;
  for (const auto& row : rows) {
    const bool strong = strict ? row.score > threshold : row.score >= threshold;
    strong_calls += strong ? 1 : 0;
    quality += strong ? row.strong_quality : row.weak_quality;
  }
  const auto n = static_cast<double>(rows.size());
  return {threshold, static_cast<double>(strong_calls) / n * 100, quality / n * scale};
}

}  // namespace

double quantile(std::vector<double> values, double q) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  const double position = q * static_cast<double>(values.size() - 1);
  const auto lower = static_cast<size_t>(std::floor(position));
  const size_t upper = std::min(lower + 1, values.size() - 1);
  const double fraction = position - static_cast<double>(lower);
  return values[lower] + (values[upper] - values[lower]) * fraction;
}

double interp(double x, std::span<const double> xp, std::span<const double> fp) {
  const size_t n = xp.size();
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  if (x > xp[n - 1]) return fp[n - 1];
  if (x < xp[0]) return fp[0];
  // Largest j with xp[j] <= x (bisection, as numpy does for increasing xp).
  size_t lo = 0;
  size_t hi = n;
  while (hi - lo > 1) {
    const size_t mid = (lo + hi) / 2;
    if (xp[mid] <= x) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  if (lo == n - 1 || xp[lo] == x) return fp[lo];
  const double slope = (fp[lo + 1] - fp[lo]) / (xp[lo + 1] - xp[lo]);
  return fp[lo] + slope * (x - xp[lo]);
}

RoutingMetrics evaluate_routing(std::span<const RoutingRow> rows, int bins, double quality_scale) {
  RoutingMetrics m;
  m.rows = rows.size();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (rows.empty() || bins < 1) {
    m.apgr = m.cpt20 = m.cpt50 = m.cpt80 = nan;
    return m;
  }
  std::vector<double> scores;
  for (const auto& row : rows) {
    scores.push_back(row.score);
    m.strong += row.strong_quality;
    m.weak += row.weak_quality;
  }
  const auto n = static_cast<double>(rows.size());
  m.strong = m.strong / n * quality_scale;
  m.weak = m.weak / n * quality_scale;
  for (int i = 0; i <= bins; ++i) {
    const double threshold = quantile(scores, static_cast<double>(i) / bins);
    m.curve.push_back(route_at(rows, threshold, i == bins, quality_scale));
  }
  std::stable_sort(m.curve.begin(), m.curve.end(), [](const CurvePoint& a, const CurvePoint& b) {
    return a.strong_percent < b.strong_percent;
  });
  std::vector<double> x;
  std::vector<double> quality;
  std::vector<double> percent;
  for (const auto& point : m.curve) {
    x.push_back(point.strong_percent / 100);
    quality.push_back(point.quality);
    percent.push_back(point.strong_percent);
  }
  const double span = x.back() - x.front();
  const double gap = m.strong - m.weak;
  m.apgr = (gap == 0 || span == 0) ? nan : (trapezoid(quality, x) - m.weak * span) / (gap * span);
  m.cpt20 = interp(m.weak + 0.2 * gap, quality, percent);
  m.cpt50 = interp(m.weak + 0.5 * gap, quality, percent);
  m.cpt80 = interp(m.weak + 0.8 * gap, quality, percent);
  return m;
}

double threshold_for_strong_share(std::vector<double> scores, double strong_share) {
  return quantile(std::move(scores), std::clamp(1.0 - strong_share, 0.0, 1.0));
}

ClassificationMetrics evaluate_classification(std::span<const int> truth,
                                              std::span<const int> predicted, size_t labels) {
  ClassificationMetrics m;
  m.rows = truth.size();
  std::vector<size_t> true_positive(labels), predicted_count(labels);
  m.support.assign(labels, 0);
  size_t correct = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    const auto t = static_cast<size_t>(truth[i]);
    const auto p = static_cast<size_t>(predicted[i]);
    ++m.support[t];
    ++predicted_count[p];
    if (t == p) {
      ++true_positive[t];
      ++correct;
    }
  }
  m.accuracy = truth.empty() ? 0 : static_cast<double>(correct) / static_cast<double>(m.rows);
  m.f1.assign(labels, 0);
  size_t counted = 0;
  for (size_t k = 0; k < labels; ++k) {
    if (m.support[k] == 0 && predicted_count[k] == 0) continue;
    m.f1[k] = 2.0 * static_cast<double>(true_positive[k]) /
              static_cast<double>(m.support[k] + predicted_count[k]);
    m.macro_f1 += m.f1[k];
    ++counted;
  }
  if (counted > 0) m.macro_f1 /= static_cast<double>(counted);
  return m;
}

}  // namespace llm_router::classifier
