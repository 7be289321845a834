// Classification metrics, latency statistics and zstd sizes, against hand-computed values.
#include "pipeline/metrics.h"
#include "support/error.h"
#include "test_util.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>

using namespace hone;
using hone::test::bad_input_message;
using namespace hone::pipeline;

namespace {

// One row per sample: a high score at `predicted`, so top-1 is `predicted`.
ir::Tensor one_hot_scores(int64_t num_classes, const std::vector<int64_t>& predicted) {
  std::vector<float> v(predicted.size() * static_cast<size_t>(num_classes), 0.1f);
  for (size_t i = 0; i < predicted.size(); ++i) {
    v[i * static_cast<size_t>(num_classes) + static_cast<size_t>(predicted[i])] = 3.0f;
  }
  return ir::Tensor::from_vector<float>({static_cast<int64_t>(predicted.size()), num_classes}, v);
}


constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

}  // namespace

TEST_CASE("ClassificationMetrics on a hand-checked 3-class example", "[pipeline][metrics]") {
  // true:      0 0 1 1 2 2 | 0
  // predicted: 0 1 1 1 0 2 | 0     (two add() calls)
  // confusion (rows true): [2 1 0] [0 2 0] [1 0 1]
  // class 0: tp 2, predicted 3, support 3 -> P 2/3, R 2/3, F1 2/3
  // class 1: tp 2, predicted 3, support 2 -> P 2/3, R 1,   F1 0.8
  // class 2: tp 1, predicted 1, support 2 -> P 1,   R 1/2, F1 2/3
  ClassificationMetrics m(3);
  const std::vector<int64_t> labels1 = {0, 0, 1, 1, 2, 2};
  m.add(one_hot_scores(3, {0, 1, 1, 1, 0, 2}), labels1);
  const std::vector<int64_t> labels2 = {0};
  m.add(one_hot_scores(3, {0}), labels2);

  CHECK(m.samples() == 7);
  CHECK(m.top1() == Approx(5.0 / 7));
  CHECK(m.accuracy() == Approx(5.0 / 7));
  CHECK(m.top5_k() == 3);
  CHECK(m.top5() == 1.0);  // k = C: every label is in the top 3
  const std::vector<std::vector<int64_t>> expected = {{2, 1, 0}, {0, 2, 0}, {1, 0, 1}};
  for (int64_t t = 0; t < 3; ++t) {
    for (int64_t p = 0; p < 3; ++p) CHECK(m.confusion(t, p) == expected[t][p]);
  }
  const auto c0 = m.class_stats(0), c1 = m.class_stats(1), c2 = m.class_stats(2);
  CHECK(c0.precision == Approx(2.0 / 3));
  CHECK(c0.recall == Approx(2.0 / 3));
  CHECK(c0.f1 == Approx(2.0 / 3));
  CHECK(c0.support == 3);
  CHECK(c1.precision == Approx(2.0 / 3));
  CHECK(c1.recall == Approx(1.0));
  CHECK(c1.f1 == Approx(0.8));
  CHECK(c1.support == 2);
  CHECK(c2.precision == Approx(1.0));
  CHECK(c2.recall == Approx(0.5));
  CHECK(c2.f1 == Approx(2.0 / 3));
  CHECK(c2.support == 2);
  CHECK(m.macro_f1() == Approx((2.0 / 3 + 0.8 + 2.0 / 3) / 3));  // 0.71111

  const auto j = m.to_json({"cat", "dog", "eel"});
  CHECK(j.at("samples") == 7);
  CHECK(j.at("num_classes") == 3);
  CHECK(j.at("top1").get<double>() == Approx(5.0 / 7));
  CHECK(j.at("top5").get<double>() == 1.0);
  CHECK(j.at("top5_k") == 3);
  CHECK(j.at("macro_f1").get<double>() == Approx(0.711111).epsilon(1e-5));
  CHECK(j.at("class_names") == nlohmann::json({"cat", "dog", "eel"}));
  CHECK(j.at("confusion_matrix") == nlohmann::json({{2, 1, 0}, {0, 2, 0}, {1, 0, 1}}));
  REQUIRE(j.at("per_class").size() == 3);
  const auto& pc1 = j.at("per_class")[1];
  CHECK(pc1.at("class") == 1);
  CHECK(pc1.at("name") == "dog");
  CHECK(pc1.at("precision").get<double>() == Approx(2.0 / 3));
  CHECK(pc1.at("recall").get<double>() == 1.0);
  CHECK(pc1.at("f1").get<double>() == Approx(0.8));
  CHECK(pc1.at("support") == 2);
  CHECK(m.to_json({}).at("class_names") == nlohmann::json({"0", "1", "2"}));
  CHECK_THAT(bad_input_message([&] { (void)m.to_json({"a", "b"}); }),
             Catch::Contains("2 class names") && Catch::Contains("3 classes"));
}

TEST_CASE("ClassificationMetrics: undefined precision/recall are 0", "[pipeline][metrics]") {
  // Class 2 never occurs and is never predicted; class 1 occurs but is never predicted.
  ClassificationMetrics m(3);
  const std::vector<int64_t> labels = {0, 1};
  m.add(one_hot_scores(3, {0, 0}), labels);
  const auto c1 = m.class_stats(1), c2 = m.class_stats(2);
  CHECK(c1.precision == 0.0);
  CHECK(c1.recall == 0.0);
  CHECK(c1.f1 == 0.0);
  CHECK(c1.support == 1);
  CHECK(c2.precision == 0.0);
  CHECK(c2.recall == 0.0);
  CHECK(c2.support == 0);
  // class 0: P 1/2, R 1 -> F1 2/3; macro over all 3 classes.
  CHECK(m.macro_f1() == Approx((2.0 / 3) / 3));
  ClassificationMetrics empty(4);
  CHECK(empty.top1() == 0.0);
  CHECK(empty.top5() == 0.0);
  CHECK(empty.macro_f1() == 0.0);
}

TEST_CASE("top-1 ties and NaN", "[pipeline][metrics]") {
  ClassificationMetrics m(3);
  // Row 0: tie between 1 and 2 -> 1 (first max). Row 1: NaN never wins -> 1.
  // Row 2: all NaN -> class 0.
  const auto scores = ir::Tensor::from_vector<float>(
      {3, 3}, {2.f, 5.f, 5.f, kNaN, 1.f, 0.f, kNaN, kNaN, kNaN});
  const std::vector<int64_t> labels = {2, 0, 0};
  m.add(scores, labels);
  CHECK(m.confusion(2, 1) == 1);
  CHECK(m.confusion(0, 1) == 1);
  CHECK(m.confusion(0, 0) == 1);
  CHECK(m.top1() == Approx(1.0 / 3));
}

TEST_CASE("top-5 counts ties by index", "[pipeline][metrics]") {
  // 7 classes, k = 5, all scores equal: class j ranks j-th, so labels 0..4 count, 5 and 6 not.
  ClassificationMetrics m(7);
  CHECK(m.top5_k() == 5);
  const std::vector<float> row(7, 1.f);
  std::vector<float> v;
  for (int i = 0; i < 7; ++i) v.insert(v.end(), row.begin(), row.end());
  const std::vector<int64_t> labels = {0, 1, 2, 3, 4, 5, 6};
  m.add(ir::Tensor::from_vector<float>({7, 7}, v), labels);
  CHECK(m.top5() == Approx(5.0 / 7));
  CHECK(m.top1() == Approx(1.0 / 7));  // everything predicted as class 0

  // Distinct scores: label 3 (score 0.3) is 4th of [0.9 0.8 0.7 0.3 0.2 0.1 NaN] -> in;
  // label 6 has NaN: ranks last -> out; label 5 (0.1) ranks 6th -> out.
  ClassificationMetrics d(7);
  const std::vector<float> r = {0.9f, 0.8f, 0.7f, 0.3f, 0.2f, 0.1f, kNaN};
  std::vector<float> v3;
  for (int i = 0; i < 3; ++i) v3.insert(v3.end(), r.begin(), r.end());
  const std::vector<int64_t> l3 = {3, 6, 5};
  d.add(ir::Tensor::from_vector<float>({3, 7}, v3), l3);
  CHECK(d.top5() == Approx(1.0 / 3));
}

TEST_CASE("ClassificationMetrics rejects bad shapes and labels", "[pipeline][metrics]") {
  ClassificationMetrics m(10);
  const std::vector<int64_t> four = {0, 1, 2, 3};
  CHECK_THAT(bad_input_message([&] { m.add(ir::Tensor::zeros(ir::DType::Float32, {4, 9}), four); }),
             Catch::Contains("model output has shape [4, 9], expected [n, 10]"));
  CHECK_THAT(bad_input_message([&] { m.add(ir::Tensor::zeros(ir::DType::Float32, {10}), four); }),
             Catch::Contains("model output has shape [10], expected [n, 10]"));
  CHECK_THAT(bad_input_message([&] { m.add(ir::Tensor::zeros(ir::DType::Int64, {4, 10}), four); }),
             Catch::Contains("dtype int64"));
  CHECK_THAT(bad_input_message([&] { m.add(ir::Tensor::zeros(ir::DType::Float32, {3, 10}), four); }),
             Catch::Contains("4 labels for 3"));

  m.add(ir::Tensor::zeros(ir::DType::Float32, {4, 10}), four);
  // Sample numbers count across batches: the bad label is the 2nd of the 2nd batch -> sample 5.
  const std::vector<int64_t> bad = {0, 10};
  CHECK_THAT(bad_input_message([&] { m.add(ir::Tensor::zeros(ir::DType::Float32, {2, 10}), bad); }),
             Catch::Contains("label 10 of sample 5 is outside [0, 10)"));
  const std::vector<int64_t> negative = {-1, 0};
  CHECK_THAT(
      bad_input_message([&] { m.add(ir::Tensor::zeros(ir::DType::Float32, {2, 10}), negative); }),
      Catch::Contains("label -1 of sample 4"));
  CHECK(m.samples() == 4);  // rejected batches count nothing
  CHECK(m.confusion(0, 0) == 1);

  CHECK_THROWS_AS(ClassificationMetrics(0), Error);
  try {
    ClassificationMetrics big(ClassificationMetrics::kMaxClasses + 1);
    FAIL("expected Unsupported");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Unsupported);
  }
}

TEST_CASE("latency_stats matches numpy", "[pipeline][metrics][latency]") {
  // python3 -c "import numpy as np; a=np.array([4,1,3,2,10])*1e-3;
  //   print(a.mean(), a.std(), np.percentile(a,[50,90,99]))"
  //   -> 0.004 0.0031622776601683794 [0.003 0.0076 0.00976]
  // (by hand: sorted 1 2 3 4 10 ms; p90 at rank 3.6 = 4 + 0.6*6; p99 at 3.96 = 4 + 0.96*6;
  //  variance (9+4+1+0+36)/5 = 10 ms^2)
  const LatencyStats s = latency_stats({0.004, 0.001, 0.003, 0.002, 0.010});
  CHECK(s.count == 5);
  CHECK(s.mean == Approx(0.004));
  CHECK(s.std == Approx(0.0031622776601683794));
  CHECK(s.min == 0.001);
  CHECK(s.max == 0.010);
  CHECK(s.p50 == Approx(0.003));
  CHECK(s.p90 == Approx(0.0076));
  CHECK(s.p99 == Approx(0.00976));

  // np.percentile(np.arange(1,101), [50,90,99]) -> [50.5 90.1 99.01]; np.std -> 28.86607004772212
  std::vector<double> hundred;
  for (int i = 100; i >= 1; --i) hundred.push_back(i);
  const LatencyStats h = latency_stats(hundred);
  CHECK(h.p50 == Approx(50.5));
  CHECK(h.p90 == Approx(90.1));
  CHECK(h.p99 == Approx(99.01));
  CHECK(h.std == Approx(28.86607004772212));

  const LatencyStats one = latency_stats({0.5});
  CHECK(one.p99 == 0.5);
  CHECK(one.std == 0.0);
  const LatencyStats none = latency_stats({});
  CHECK(none.count == 0);
  CHECK(none.mean == 0.0);
  CHECK(none.p99 == 0.0);
}

TEST_CASE("latency_json keys and units", "[pipeline][metrics][latency]") {
  const std::vector<double> secs = {0.004, 0.001, 0.003, 0.002, 0.0012345678};
  const auto j = latency_json(latency_stats(secs), 8, secs);
  for (const char* key : {"unit", "batch_size", "count", "mean_ms", "std_ms", "min_ms", "p50_ms",
                          "p90_ms", "p99_ms", "max_ms", "throughput_per_s", "samples_ms"}) {
    CHECK(j.contains(key));
  }
  CHECK(j.size() == 12);
  CHECK(j.at("unit") == "ms");
  CHECK(j.at("batch_size") == 8);
  CHECK(j.at("count") == 5);
  const double mean = (0.004 + 0.001 + 0.003 + 0.002 + 0.0012345678) / 5;
  CHECK(j.at("mean_ms").get<double>() == Approx(mean * 1e3));
  CHECK(j.at("min_ms").get<double>() == Approx(1.0));
  CHECK(j.at("max_ms").get<double>() == Approx(4.0));
  CHECK(j.at("throughput_per_s").get<double>() == Approx(8 / mean));
  REQUIRE(j.at("samples_ms").size() == 5);
  CHECK(j.at("samples_ms")[0].get<double>() == Approx(4.0));
  CHECK(j.at("samples_ms")[4].get<double>() == 1.234568);  // rounded to 1 ns, order kept
  CHECK(latency_json(latency_stats({}), 1, {}).at("throughput_per_s") == 0.0);
}

TEST_CASE("zstd_compressed_size", "[pipeline][metrics][zstd]") {
  const std::string zeros(size_t{1} << 20, '\0');
  const int64_t z = zstd_compressed_size(zeros, 3);
  CHECK(z > 0);
  CHECK(z < 1024);
  std::mt19937 rng(42);
  std::string noise(size_t{1} << 20, '\0');
  for (auto& c : noise) c = static_cast<char>(rng() & 0xff);
  CHECK(zstd_compressed_size(noise, 3) >= static_cast<int64_t>(noise.size()));
  CHECK(zstd_compressed_size("", 3) > 0);  // a frame header even for no input
  CHECK_THAT(bad_input_message([&] { (void)zstd_compressed_size("x", 99); }),
             Catch::Contains("zstd level 99"));
}
