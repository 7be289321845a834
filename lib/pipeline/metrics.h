// Measurements a pipeline reports per target: classification quality (top-1/top-5, confusion
// matrix, per-class P/R/F1), latency statistics, and compressed model size. Each is a small
// accumulator or pure function whose JSON goes straight into the measurement file.
#pragma once

#include "ir/tensor.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hone::pipeline {

// Accumulates predictions batch by batch. Scores are float32 [n, num_classes], logits or
// probabilities (only their order matters); NaN scores rank below every number.
class ClassificationMetrics {
 public:
  // A dense confusion matrix is kept, so the class count is capped.
  static constexpr int64_t kMaxClasses = 4096;

  // BadInput if num_classes < 1, Unsupported above kMaxClasses.
  explicit ClassificationMetrics(int64_t num_classes);

  // One batch: scores [n, num_classes] float32, one label per row in [0, num_classes).
  // Validates the whole batch before counting any of it (BadInput naming the shape, or the
  // label value and its sample number counted from the first add()).
  void add(const ir::Tensor& scores, std::span<const int64_t> labels);

  struct ClassStats {
    double precision = 0;  // tp / predicted as this class; 0 if never predicted
    double recall = 0;     // tp / support; 0 if the class never occurs
    double f1 = 0;         // harmonic mean; 0 if precision + recall == 0
    int64_t support = 0;   // samples whose true class is this one
  };

  int64_t num_classes() const { return num_classes_; }
  int64_t samples() const { return samples_; }
  int64_t top5_k() const { return top_k_; }  // min(5, num_classes)
  double top1() const;                       // accuracy; 0 with no samples
  double accuracy() const { return top1(); }
  double top5() const;  // label among the top5_k() scores, ties broken by lower index
  // Count of samples with true class `truth` predicted (top-1) as `predicted`.
  int64_t confusion(int64_t truth, int64_t predicted) const;
  ClassStats class_stats(int64_t c) const;
  // Unweighted mean of F1 over all num_classes classes (as sklearn's f1_score(average="macro",
  // labels=range(C), zero_division=0)): a class that never occurs contributes 0.
  double macro_f1() const;

  // Keys: samples, num_classes, top1, top5, top5_k, macro_f1, class_names, per_class (array of
  // {class, name, precision, recall, f1, support}), confusion_matrix (rows = true class,
  // columns = predicted). `class_names` may be empty (names become "0", "1", ...); otherwise
  // it must have num_classes entries (BadInput).
  nlohmann::json to_json(const std::vector<std::string>& class_names) const;

 private:
  int64_t num_classes_;
  int64_t top_k_;
  int64_t samples_ = 0;
  int64_t top1_hits_ = 0;
  int64_t topk_hits_ = 0;
  std::vector<int64_t> confusion_;  // [truth * num_classes + predicted]
};

// Latency summary over per-inference times (seconds in, seconds out).
struct LatencyStats {
  int64_t count = 0;
  double mean = 0, std = 0, min = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
};

// The p-th percentile (0..100) of ascending `sorted`, interpolating linearly between the closest
// ranks (numpy.percentile's default "linear" method); 0 for an empty vector.
double percentile_of_sorted(const std::vector<double>& sorted, double p);

// Percentiles interpolate linearly between the closest ranks (numpy.percentile's default
// "linear" method); std is the population standard deviation (numpy.std, ddof=0).
// Empty input gives all zeros and count 0.
LatencyStats latency_stats(std::vector<double> seconds);

// Keys: unit ("ms"), batch_size, count, mean_ms, std_ms, min_ms, p50_ms, p90_ms, p99_ms, max_ms,
// throughput_per_s (samples per second: batch_size / mean; 0 when mean is 0), samples_ms (every
// time in `seconds`, in ms rounded to 1 ns, in the given order, for box plots).
nlohmann::json latency_json(const LatencyStats& stats, int64_t batch_size,
                            const std::vector<double>& seconds);

// Size of `bytes` after zstd compression at `level` (a proxy for how well weights compress
// after pruning/clustering). BadInput for a level outside zstd's range.
int64_t zstd_compressed_size(std::string_view bytes, int level);

}  // namespace hone::pipeline
