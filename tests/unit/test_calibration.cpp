// Calibration observers: exact values for minmax / ema, histogram percentiles against the exact
// (sorted) percentile, outlier clipping of mse / entropy, near-optimality of mse measured by
// real quantize-dequantize error, batching invariance, zero / one-sided / non-finite data, and
// parameter validation.
#include "passes/calibration.h"
#include "support/error.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace hone;
using passes::CalibrationMethod;
using passes::CalibrationOptions;

namespace {

const std::vector<CalibrationMethod> kAllMethods{CalibrationMethod::MinMax, CalibrationMethod::Ema,
                                                 CalibrationMethod::Percentile, CalibrationMethod::Mse,
                                                 CalibrationMethod::Entropy};
const std::vector<CalibrationMethod> kHistogramMethods{CalibrationMethod::Percentile, CalibrationMethod::Mse,
                                                       CalibrationMethod::Entropy};

CalibrationOptions options(CalibrationMethod m) {
  CalibrationOptions o;
  o.method = m;
  return o;
}

std::pair<float, float> calibrate(const CalibrationOptions& o, const std::vector<float>& v, int batches = 1) {
  auto obs = passes::make_observer(o);
  const size_t n = v.size();
  for (int b = 0; b < batches; ++b) {
    const size_t begin = n * static_cast<size_t>(b) / static_cast<size_t>(batches);
    const size_t end = n * static_cast<size_t>(b + 1) / static_cast<size_t>(batches);
    obs->observe(v.data() + begin, static_cast<int64_t>(end - begin));
  }
  return obs->range();
}

std::vector<float> gaussian(size_t n, unsigned seed, float mean = 0, float sigma = 1) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(mean, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

std::vector<float> uniform(size_t n, unsigned seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// The exact p-th percentile of a sample: any value between the order statistics around rank
// q*N, i.e. the k-th and (k+1)-th smallest values, k = round(q*N) (numpy's "linear" rule picks
// one point of that interval; in the sparse tails the interval can be several bins wide).
std::pair<double, double> exact_percentile(std::vector<float> v, double p) {
  std::sort(v.begin(), v.end());
  const auto k = static_cast<size_t>(std::llround(p / 100.0 * static_cast<double>(v.size())));
  return {v[std::max<size_t>(k, 1) - 1], v[std::min(k, v.size() - 1)]};
}

// Bin width of the observer's half-histogram covering max_abs: 2^e / bins, 2^e > max_abs.
double bin_width(double max_abs, int64_t bins) {
  int e = 0;
  std::frexp(max_abs, &e);
  return std::ldexp(1.0, e) / static_cast<double>(bins);
}

// Mean squared error of asymmetric uniform quantize-dequantize with `levels` levels on [lo, hi].
double quant_mse(const std::vector<float>& v, double lo, double hi, int64_t levels) {
  const double s = (hi - lo) / static_cast<double>(levels - 1);
  const double zp = std::round(-lo / s);
  double err = 0;
  for (float x : v) {
    const double q = std::clamp(std::round(x / s) + zp, 0.0, static_cast<double>(levels - 1));
    const double d = (q - zp) * s - x;
    err += d * d;
  }
  return err / static_cast<double>(v.size());
}

}  // namespace

TEST_CASE("calibration: parse_calibration_method maps names and rejects unknown ones", "[passes][calibration]") {
  CHECK(passes::parse_calibration_method("minmax") == CalibrationMethod::MinMax);
  CHECK(passes::parse_calibration_method("ema") == CalibrationMethod::Ema);
  CHECK(passes::parse_calibration_method("percentile") == CalibrationMethod::Percentile);
  CHECK(passes::parse_calibration_method("mse") == CalibrationMethod::Mse);
  CHECK(passes::parse_calibration_method("entropy") == CalibrationMethod::Entropy);
  for (const char* bad : {"kl", "MinMax", "", "minmax "}) {
    try {
      passes::parse_calibration_method(bad);
      FAIL("accepted '" << bad << "'");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::BadInput);
    }
  }
}

TEST_CASE("calibration: make_observer rejects out-of-range options", "[passes][calibration]") {
  auto expect_bad = [](CalibrationOptions o) {
    try {
      passes::make_observer(o);
      FAIL("accepted bad options");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::BadInput);
    }
  };
  CalibrationOptions o;
  o.ema_decay = 1.5;
  expect_bad(o);
  o = {};
  o.percentile = 101;
  expect_bad(o);
  o = {};
  o.percentile = 10;
  expect_bad(o);
  o = {};
  o.bins = 1;
  expect_bad(o);
  o = {};
  o.levels = 1;
  expect_bad(o);
  o = {};
  o.ema_decay = std::numeric_limits<double>::quiet_NaN();
  expect_bad(o);
}

TEST_CASE("calibration: minmax is the exact running min/max and ignores NaN/inf", "[passes][calibration]") {
  auto obs = passes::make_observer(options(CalibrationMethod::MinMax));
  const std::vector<float> a{0.5f, -1.25f, 3.0f};
  const std::vector<float> b{std::numeric_limits<float>::quiet_NaN(), -2.5f, std::numeric_limits<float>::infinity(),
                             -std::numeric_limits<float>::infinity(), 7.75f};
  obs->observe(a.data(), 3);
  CHECK(obs->range() == std::pair<float, float>{-1.25f, 3.0f});
  obs->observe(b.data(), 5);
  CHECK(obs->range() == std::pair<float, float>{-2.5f, 7.75f});
  // positive-only data still contains zero
  const std::vector<float> pos{2.0f, 3.0f};
  CHECK(calibrate(options(CalibrationMethod::MinMax), pos) == std::pair<float, float>{0.0f, 3.0f});
}

TEST_CASE("calibration: ema follows range = decay*range + (1-decay)*batch range", "[passes][calibration]") {
  CalibrationOptions o = options(CalibrationMethod::Ema);
  o.ema_decay = 0.9;
  auto obs = passes::make_observer(o);
  const std::vector<float> b1{-1.0f, 0.5f, 2.0f}, b2{-3.0f, 1.0f}, b3{0.5f, 4.0f, 1.5f};
  const std::vector<float> nan_batch{std::numeric_limits<float>::quiet_NaN()};
  obs->observe(b1.data(), 3);
  CHECK(obs->range() == std::pair<float, float>{-1.0f, 2.0f});  // first batch initialises
  obs->observe(b2.data(), 2);
  obs->observe(nan_batch.data(), 1);  // no finite value: not a batch
  obs->observe(b3.data(), 3);
  const double lo = 0.9 * (0.9 * -1.0 + 0.1 * -3.0) + 0.1 * 0.5;  // -1.03
  const double hi = 0.9 * (0.9 * 2.0 + 0.1 * 1.0) + 0.1 * 4.0;   // 2.11
  CHECK(obs->range().first == Approx(lo).epsilon(1e-6));
  CHECK(obs->range().second == Approx(hi).epsilon(1e-6));
  // lo is widened to 0 when every batch minimum is positive
  auto pos = passes::make_observer(o);
  pos->observe(b3.data(), 3);
  CHECK(pos->range() == std::pair<float, float>{0.0f, 4.0f});
}

TEST_CASE("calibration: percentile is within one bin width of the exact percentile", "[passes][calibration]") {
  struct Case {
    std::vector<float> data;
    double p;
  };
  const std::vector<Case> cases{{uniform(100000, 11, -3.0f, 5.0f), 99.99},
                                {uniform(100000, 12, -3.0f, 5.0f), 99.0},
                                {gaussian(100000, 13, 0.5f, 2.0f), 99.99},
                                {gaussian(100000, 14, 0.5f, 2.0f), 99.9}};
  for (const auto& c : cases) {
    CalibrationOptions o = options(CalibrationMethod::Percentile);
    o.percentile = c.p;
    const auto [lo, hi] = calibrate(o, c.data, 7);
    const auto [mn, mx] = std::minmax_element(c.data.begin(), c.data.end());
    const double w_hi = bin_width(*mx, o.bins), w_lo = bin_width(-*mn, o.bins);
    const auto [e_lo0, e_lo1] = exact_percentile(c.data, 100 - c.p);
    const auto [e_hi0, e_hi1] = exact_percentile(c.data, c.p);
    INFO("p=" << c.p << " hi=" << hi << " exact [" << e_hi0 << ", " << e_hi1 << "] lo=" << lo << " exact [" << e_lo0
              << ", " << e_lo1 << "]");
    CHECK(hi >= e_hi0 - w_hi);
    CHECK(hi <= e_hi1 + w_hi);
    CHECK(lo >= e_lo0 - w_lo);
    CHECK(lo <= e_lo1 + w_lo);
    CHECK(hi <= *mx);
    CHECK(lo >= *mn);
  }
  // p = 100 is min/max
  CalibrationOptions o = options(CalibrationMethod::Percentile);
  o.percentile = 100;
  const auto g = gaussian(5000, 15);
  const auto [mn, mx] = std::minmax_element(g.begin(), g.end());
  CHECK(calibrate(o, g) == std::pair<float, float>{*mn, *mx});
}

TEST_CASE("calibration: entropy clips huge outliers of Gaussian data", "[passes][calibration]") {
  auto v = gaussian(100000, 21);
  for (int k = 0; k < 5; ++k) v.push_back(1000.0f);
  v.push_back(-1000.0f);
  const auto [lo, hi] = calibrate(options(CalibrationMethod::Entropy), v);
  INFO("entropy range [" << lo << ", " << hi << "]");
  // 2048 bins over |x| < 1024 are 0.5 wide and TensorRT's search starts at 128 bins, so the
  // smallest threshold it can pick is 64: far below the 1000 outliers, far above 2 sigma.
  CHECK(hi > 2.0f);
  CHECK(hi <= 64.0f);
  CHECK(lo == -hi);  // symmetric threshold for two-sided data
  // Without outliers and with a fine histogram the threshold is between 2 sigma and the max.
  const auto g = gaussian(100000, 22);
  const auto [glo, ghi] = calibrate(options(CalibrationMethod::Entropy), g);
  const float gmax = *std::max_element(g.begin(), g.end());
  INFO("plain gaussian entropy range [" << glo << ", " << ghi << "], max " << gmax);
  CHECK(ghi > 2.0f);
  CHECK(ghi <= gmax);
  CHECK(glo < -2.0f);
  // ReLU output (half zeros): the zero spike is not in the KL histogram, so it does not drag
  // the threshold down (with zeros in bin 0 this data gives ~2 sigma).
  auto relu = gaussian(100000, 23);
  for (auto& x : relu) x = std::max(x, 0.0f);
  const auto [rlo, rhi] = calibrate(options(CalibrationMethod::Entropy), relu);
  INFO("relu entropy range [" << rlo << ", " << rhi << "]");
  CHECK(rlo == 0.0f);
  CHECK(rhi > 3.0f);
  // Fewer occupied bins than quantized bins: nothing to search, no clipping.
  CalibrationOptions few = options(CalibrationMethod::Entropy);
  few.bins = 64;
  const auto [flo, fhi] = calibrate(few, g);
  CHECK(fhi == gmax);
  CHECK(flo == *std::min_element(g.begin(), g.end()));
}

TEST_CASE("calibration: mse clips outliers when that lowers the quantization error", "[passes][calibration]") {
  auto v = gaussian(100000, 31);
  for (int k = 0; k < 5; ++k) v.push_back(30.0f);
  // 4 bits: keeping the outliers makes s = 2.3, costing ~0.3 per Gaussian value (3e4 in all);
  // clipping them at ~3 costs 5 * 27^2 ~ 3.6e3, so mse clips -- far below the max, above 2 sigma.
  CalibrationOptions o = options(CalibrationMethod::Mse);
  o.levels = 16;
  const auto [lo, hi] = calibrate(o, v);
  const double chosen = quant_mse(v, lo, hi, 16), full = quant_mse(v, -4.5, 30, 16);
  INFO("mse 4-bit range [" << lo << ", " << hi << "] mse " << chosen << " vs minmax " << full);
  CHECK(hi > 2.0f);
  CHECK(hi < 6.0f);
  CHECK(lo < -2.0f);
  CHECK(chosen < 0.5 * full);
  // 8 bits: the rounding noise of the full range (s^2/12 ~ 1.5e-3 per value, ~150 in all) is
  // cheaper than clipping the outliers (~3.6e3), so mse keeps them -- the real error agrees.
  o.levels = 256;
  const auto [lo8, hi8] = calibrate(o, v);
  const double chosen8 = quant_mse(v, lo8, hi8, 256), clipped8 = quant_mse(v, lo8, 4.5, 256);
  INFO("mse 8-bit range [" << lo8 << ", " << hi8 << "] mse " << chosen8 << " vs clipped at 4.5 " << clipped8);
  CHECK(hi8 > 28.0f);  // at most a bin or two below the outliers, where the levels align best
  CHECK(chosen8 < 0.1 * clipped8);
  CHECK(chosen8 <= 1.02 * quant_mse(v, *std::min_element(v.begin(), v.end()), 30, 256));
  // Huge outliers (1e3) among 1e5 values are kept even at 4 bits: the whole Gaussian rounding
  // to zero costs sigma^2 per value (1e5 in all), clipping 5 * 1e6.
  auto huge = gaussian(100000, 32);
  for (int k = 0; k < 5; ++k) huge.push_back(1000.0f);
  o.levels = 16;
  const auto [hlo, hhi] = calibrate(o, huge);
  INFO("mse 4-bit range with 1e3 outliers [" << hlo << ", " << hhi << "]");
  CHECK(hhi > 950.0f);
  CHECK(quant_mse(huge, hlo, hhi, 16) < quant_mse(huge, hlo, 4.0, 16));
}

TEST_CASE("calibration: mse range is near the best range of a brute-force grid", "[passes][calibration]") {
  // Laplace data (heavy tails): the optimal 8-bit range clips noticeably.
  std::mt19937 rng(41);
  std::exponential_distribution<float> e(1.0f);
  std::vector<float> v(10000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = (i % 2 ? 1.0f : -1.0f) * e(rng) + 0.5f;
  for (int64_t levels : {int64_t{16}, int64_t{256}}) {
    CalibrationOptions o = options(CalibrationMethod::Mse);
    o.levels = levels;
    const auto [lo, hi] = calibrate(o, v);
    const auto [mn, mx] = std::minmax_element(v.begin(), v.end());
    double best = std::numeric_limits<double>::infinity();
    constexpr int kGrid = 32;
    for (int i = 1; i <= kGrid; ++i) {
      for (int j = 1; j <= kGrid; ++j) {
        best = std::min(best, quant_mse(v, *mn * i / kGrid, *mx * j / kGrid, levels));
      }
    }
    const double chosen = quant_mse(v, lo, hi, levels);
    const double minmax = quant_mse(v, *mn, *mx, levels);
    INFO("levels " << levels << ": [" << lo << ", " << hi << "] mse " << chosen << ", grid best " << best
                   << ", minmax " << minmax);
    CHECK(hi < *mx);
    CHECK(chosen < minmax);
    CHECK(chosen <= 1.05 * best);
  }
}

TEST_CASE("calibration: histogram methods give the same range for 1 or 10 batches", "[passes][calibration]") {
  auto v = gaussian(50000, 51, 0.3f, 1.5f);
  for (int k = 0; k < 3; ++k) v.push_back(200.0f + static_cast<float>(k));
  // Sort by magnitude so the range grows batch after batch (exercises histogram widening),
  // and also try the shuffled order.
  auto grow = v;
  std::sort(grow.begin(), grow.end(), [](float a, float b) { return std::abs(a) < std::abs(b); });
  for (auto m : kHistogramMethods) {
    const auto one = calibrate(options(m), v, 1);
    const auto ten = calibrate(options(m), v, 10);
    const auto ten_growing = calibrate(options(m), grow, 10);
    INFO("method " << static_cast<int>(m) << " one [" << one.first << ", " << one.second << "]");
    // Power-of-two histogram ranges make the histograms bit-identical, so the ranges are too
    // (stronger than the required 'within a bin width').
    CHECK(one == ten);
    CHECK(one == ten_growing);
    CHECK(one.first < 0);
    CHECK(one.second > 0);
  }
}

TEST_CASE("calibration: histograms widen across many octaves between batches", "[passes][calibration]") {
  // A first batch of tiny values fixes a tiny histogram range; later batches are 1e35 times
  // larger, so the range grows by ~116 doublings at once (all old bins merge into bin 0).
  std::vector<float> tiny(1000), big = gaussian(20000, 81, 0.0f, 1e5f);
  for (size_t i = 0; i < tiny.size(); ++i) tiny[i] = (static_cast<float>(i) - 500.0f) * 1e-33f;
  std::vector<float> all = tiny;
  all.insert(all.end(), big.begin(), big.end());
  const auto [mn, mx] = std::minmax_element(all.begin(), all.end());
  for (auto m : kHistogramMethods) {
    INFO("method " << static_cast<int>(m));
    auto obs = passes::make_observer(options(m));
    obs->observe(tiny.data(), static_cast<int64_t>(tiny.size()));
    obs->observe(big.data(), static_cast<int64_t>(big.size()));
    const auto r = obs->range();
    CHECK(r == calibrate(options(m), all));
    CHECK(r.first < -1e5f);
    CHECK(r.second > 1e5f);
    CHECK(r.first >= *mn);
    CHECK(r.second <= *mx);
  }
}

TEST_CASE("calibration: no data, only zeros or only NaN give {0, 0}", "[passes][calibration]") {
  const std::vector<float> zeros(1000, 0.0f), nans(10, std::numeric_limits<float>::quiet_NaN());
  for (auto m : kAllMethods) {
    INFO("method " << static_cast<int>(m));
    CHECK(passes::make_observer(options(m))->range() == std::pair<float, float>{0.0f, 0.0f});
    CHECK(calibrate(options(m), zeros, 3) == std::pair<float, float>{0.0f, 0.0f});
    CHECK(calibrate(options(m), nans) == std::pair<float, float>{0.0f, 0.0f});
    auto obs = passes::make_observer(options(m));
    obs->observe(nullptr, 0);
    CHECK(obs->range() == std::pair<float, float>{0.0f, 0.0f});
  }
}

TEST_CASE("calibration: one-sided (ReLU) data gives lo == 0, non-positive data hi == 0", "[passes][calibration]") {
  auto relu = gaussian(20000, 61);
  for (auto& x : relu) x = std::max(x, 0.0f);
  auto neg = gaussian(20000, 62);
  for (auto& x : neg) x = -std::abs(x);
  const float relu_max = *std::max_element(relu.begin(), relu.end());
  const float neg_min = *std::min_element(neg.begin(), neg.end());
  for (auto m : kAllMethods) {
    INFO("method " << static_cast<int>(m));
    const auto [lo, hi] = calibrate(options(m), relu, 4);
    CHECK(lo == 0.0f);
    CHECK(hi > 1.5f);
    CHECK(hi <= relu_max);
    const auto [nlo, nhi] = calibrate(options(m), neg, 4);
    CHECK(nhi == 0.0f);
    CHECK(nlo < -1.5f);
    CHECK(nlo >= neg_min);
  }
}

TEST_CASE("calibration: histogram methods ignore NaN and inf values", "[passes][calibration]") {
  auto v = gaussian(10000, 71);
  auto dirty = v;
  dirty.push_back(std::numeric_limits<float>::infinity());
  dirty.push_back(-std::numeric_limits<float>::infinity());
  dirty.push_back(std::numeric_limits<float>::quiet_NaN());
  for (auto m : kAllMethods) {
    INFO("method " << static_cast<int>(m));
    CHECK(calibrate(options(m), dirty) == calibrate(options(m), v));
  }
}
