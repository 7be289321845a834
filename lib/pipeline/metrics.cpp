#include "pipeline/metrics.h"

#include "support/error.h"

#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace hone::pipeline {

namespace {

// Ordering key for a score: NaN ranks below everything, so a NaN never wins top-1 and a row
// of all NaN predicts class 0 (first max wins).
float rank_key(float v) { return std::isnan(v) ? -std::numeric_limits<float>::infinity() : v; }

double ratio(int64_t num, int64_t den) {
  return den > 0 ? static_cast<double>(num) / static_cast<double>(den) : 0.0;
}

}  // namespace

ClassificationMetrics::ClassificationMetrics(int64_t num_classes)
    : num_classes_(num_classes), top_k_(std::min<int64_t>(5, num_classes)) {
  if (num_classes < 1) throw bad_input("number of classes must be at least 1, got {}", num_classes);
  if (num_classes > kMaxClasses) {
    throw unsupported("{} classes: the confusion matrix supports at most {}", num_classes,
                      kMaxClasses);
  }
  confusion_.assign(static_cast<size_t>(num_classes * num_classes), 0);
}

void ClassificationMetrics::add(const ir::Tensor& scores, std::span<const int64_t> labels) {
  const int64_t c = num_classes_;
  if (scores.rank() != 2 || scores.dim(1) != c) {
    throw bad_input("model output has shape {}, expected [n, {}]", ir::shape_str(scores.shape()), c);
  }
  if (scores.dtype() != ir::DType::Float32) {
    throw bad_input("model output has dtype {}, expected float32", ir::dtype_name(scores.dtype()));
  }
  const int64_t n = scores.dim(0);
  if (static_cast<int64_t>(labels.size()) != n) {
    throw bad_input("got {} labels for {} model outputs", labels.size(), n);
  }
  for (int64_t i = 0; i < n; ++i) {
    const int64_t l = labels[static_cast<size_t>(i)];
    if (l < 0 || l >= c) {
      throw bad_input("label {} of sample {} is outside [0, {})", l, samples_ + i, c);
    }
  }

  const float* s = scores.data<float>();
  for (int64_t i = 0; i < n; ++i, s += c) {
    const int64_t label = labels[static_cast<size_t>(i)];
    int64_t best = 0;
    for (int64_t j = 1; j < c; ++j) {
      if (rank_key(s[j]) > rank_key(s[best])) best = j;  // strict: first max wins
    }
    // The label's rank among the scores: classes ranked above it are those with a higher
    // score, or an equal score and a lower index (the same tie rule as top-1).
    const float mine = rank_key(s[label]);
    int64_t above = 0;
    for (int64_t j = 0; j < c; ++j) {
      const float v = rank_key(s[j]);
      if (v > mine || (v == mine && j < label)) ++above;
    }
    top1_hits_ += best == label;
    topk_hits_ += above < top_k_;
    ++confusion_[static_cast<size_t>(label * c + best)];
  }
  samples_ += n;
}

double ClassificationMetrics::top1() const { return ratio(top1_hits_, samples_); }
double ClassificationMetrics::top5() const { return ratio(topk_hits_, samples_); }

int64_t ClassificationMetrics::confusion(int64_t truth, int64_t predicted) const {
  HONE_ASSERT(truth >= 0 && truth < num_classes_ && predicted >= 0 && predicted < num_classes_);
  return confusion_[static_cast<size_t>(truth * num_classes_ + predicted)];
}

ClassificationMetrics::ClassStats ClassificationMetrics::class_stats(int64_t k) const {
  HONE_ASSERT(k >= 0 && k < num_classes_);
  int64_t support = 0, predicted = 0;
  for (int64_t j = 0; j < num_classes_; ++j) {
    support += confusion(k, j);
    predicted += confusion(j, k);
  }
  ClassStats st;
  const int64_t tp = confusion(k, k);
  st.support = support;
  st.precision = ratio(tp, predicted);
  st.recall = ratio(tp, support);
  const double sum = st.precision + st.recall;
  st.f1 = sum > 0 ? 2 * st.precision * st.recall / sum : 0.0;
  return st;
}

double ClassificationMetrics::macro_f1() const {
  double sum = 0;
  for (int64_t k = 0; k < num_classes_; ++k) sum += class_stats(k).f1;
  return sum / static_cast<double>(num_classes_);
}

nlohmann::json ClassificationMetrics::to_json(const std::vector<std::string>& class_names) const {
  if (!class_names.empty() && static_cast<int64_t>(class_names.size()) != num_classes_) {
    throw bad_input("got {} class names for a model with {} classes", class_names.size(),
                    num_classes_);
  }
  std::vector<std::string> names = class_names;
  for (int64_t k = static_cast<int64_t>(names.size()); k < num_classes_; ++k) {
    names.push_back(std::to_string(k));
  }
  nlohmann::json per_class = nlohmann::json::array();
  nlohmann::json matrix = nlohmann::json::array();
  for (int64_t k = 0; k < num_classes_; ++k) {
    const ClassStats st = class_stats(k);
    per_class.push_back({{"class", k},
                         {"name", names[static_cast<size_t>(k)]},
                         {"precision", st.precision},
                         {"recall", st.recall},
                         {"f1", st.f1},
                         {"support", st.support}});
    const auto row = confusion_.begin() + k * num_classes_;
    matrix.push_back(std::vector<int64_t>(row, row + num_classes_));
  }
  return {{"samples", samples_},     {"num_classes", num_classes_}, {"top1", top1()},
          {"top5", top5()},          {"top5_k", top_k_},            {"macro_f1", macro_f1()},
          {"class_names", names},    {"per_class", per_class},      {"confusion_matrix", matrix}};
}

double percentile_of_sorted(const std::vector<double>& sorted, double p) {
  const size_t n = sorted.size();
  if (n == 0) return 0;
  const double pos = p / 100.0 * static_cast<double>(n - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, n - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

LatencyStats latency_stats(std::vector<double> seconds) {
  LatencyStats st;
  if (seconds.empty()) return st;
  std::sort(seconds.begin(), seconds.end());
  const size_t n = seconds.size();
  st.count = static_cast<int64_t>(n);
  double sum = 0;
  for (double v : seconds) sum += v;
  st.mean = sum / static_cast<double>(n);
  // Two-pass variance: no cancellation when times are large and close together.
  double sq = 0;
  for (double v : seconds) sq += (v - st.mean) * (v - st.mean);
  st.std = std::sqrt(sq / static_cast<double>(n));
  auto percentile = [&](double p) { return percentile_of_sorted(seconds, p); };
  st.min = seconds.front();
  st.max = seconds.back();
  st.p50 = percentile(50);
  st.p90 = percentile(90);
  st.p99 = percentile(99);
  return st;
}

nlohmann::json latency_json(const LatencyStats& stats, int64_t batch_size,
                            const std::vector<double>& seconds) {
  nlohmann::json samples = nlohmann::json::array();
  // ms with 6 decimals = 1 ns resolution: finer digits are timer noise and bloat the file.
  for (double s : seconds) samples.push_back(std::round(s * 1e9) / 1e6);
  const double throughput = stats.mean > 0 ? static_cast<double>(batch_size) / stats.mean : 0.0;
  return {{"unit", "ms"},
          {"batch_size", batch_size},
          {"count", stats.count},
          {"mean_ms", stats.mean * 1e3},
          {"std_ms", stats.std * 1e3},
          {"min_ms", stats.min * 1e3},
          {"p50_ms", stats.p50 * 1e3},
          {"p90_ms", stats.p90 * 1e3},
          {"p99_ms", stats.p99 * 1e3},
          {"max_ms", stats.max * 1e3},
          {"throughput_per_s", throughput},
          {"samples_ms", samples}};
}

int64_t zstd_compressed_size(std::string_view bytes, int level) {
  if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
    throw bad_input("zstd level {} is outside [{}, {}]", level, ZSTD_minCLevel(), ZSTD_maxCLevel());
  }
  std::string out(ZSTD_compressBound(bytes.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), bytes.data(), bytes.size(), level);
  if (ZSTD_isError(n)) throw internal_error("zstd compression failed: {}", ZSTD_getErrorName(n));
  return static_cast<int64_t>(n);
}

}  // namespace hone::pipeline
