// Calibration observers: estimate the range [lo, hi] an activation tensor is quantized to by
// streaming over calibration batches (seed 000, "post-training quantization": alpha = lo,
// beta = hi, S = (beta - alpha) / (2^b - 1)). Every observer ends with lo <= 0 <= hi so zero
// is exactly representable, returns {0, 0} when it saw no finite value, and is deterministic:
// the result depends only on the multiset of values, not on how they were split into batches
// (exception: `ema`, which is defined per batch).
//
// Non-finite values: NaN and +-inf are IGNORED by all methods (an infinite range cannot be
// quantized; an inf activation is an overflow, not a statistic worth clipping to).
//
//   minmax      lo = min(x), hi = max(x)                                   (running, O(1) memory)
//   ema         per observe() call ("batch") t: m_t = min(batch), M_t = max(batch);
//               lo_1 = m_1, hi_1 = M_1;  lo_t = d*lo_{t-1} + (1-d)*m_t (same for hi),
//               d = ema_decay -- PyTorch's MovingAverageMinMaxObserver, seed 000's EMA slide.
//   percentile  lo = the (100-p)-th and hi = the p-th percentile of x (p = `percentile`), read
//               from the histogram with linear interpolation inside the bin that holds the
//               rank q*N; then clamped to [min x, max x] and widened to contain 0 (so data
//               that is all >= 0, e.g. after ReLU, gives lo = 0).
//   mse         the clipping range [lo', hi'] (bin edges within the observed range, lo' <= 0 <=
//               hi') minimising the expected squared error of quantize-dequantize on the
//               histogram with L = `levels` levels, modelling the quantizer a runtime applies:
//                 s = (hi' - lo') / (L - 1),  zp = round(-lo'/s),  levels k*s, k = -zp..L-1-zp,
//                 E(lo', hi') = sum_k sum_{x in cell k} (x - k*s)^2,
//               where cell k holds the values nearest to level k and the end cells also hold
//               everything clipped beyond them (clipping error). The sum is exact for values
//               spread uniformly within each histogram bin (cumulative moments sum 1, x, x^2);
//               exact zeros cost nothing (zero is a level). When there are over 4x more levels
//               than occupied bins, the in-range rounding error is taken as s^2/12 per
//               non-zero value (the textbook approximation, exact in that regime); the
//               approximation is NOT used otherwise because it overstates the error of values
//               that all round to the same level (e.g. a narrow bulk plus far outliers).
//               Search: shrink both sides proportionally (256 steps from the observed range),
//               then coordinate descent (best hi' edge for the current lo', then best lo' for
//               that hi', until stable; each 1-D search scans every ~K/128-th edge and then
//               every edge around the best). Note the criterion: k outliers at distance D are
//               clipped only when k*D^2 is below the rounding error saved, so a few huge
//               outliers among many values are often kept, notably at 8 bits.
//   entropy     TensorRT's KL-divergence calibration (Migacz, "8-bit Inference with TensorRT",
//               GTC 2017; seed 000's "Kullback-Leibler divergence" loss), in the variant of
//               MXNet/TVM's open port of it:
//                 H = histogram of |x| (two-sided data) or of |x| of the one side that occurs
//                     (one-sided data), bins of width w; K = index of the last non-empty bin + 1.
//                     Deviation: exact zeros are NOT counted (TensorRT puts them in bin 0).
//                     Zero is a quantization level, so they are reproduced exactly, while
//                     Q would smear a ReLU's zero spike over the whole first merged group and
//                     the KL term of that artefact drives the threshold down (half-Gaussian
//                     ReLU data, 1e6 samples: T = 2.0 sigma with zeros, no clipping without).
//                 nq = L/2 (two-sided, symmetric range) or L (one-sided: all levels on one side).
//                 for each candidate i = nq .. K:
//                   P = H[0..i), P[i-1] += sum H[i..)            (outliers clipped into last bin)
//                   merge H[0..i) (without the outliers) into nq groups of floor(i/nq) bins,
//                     the last group also taking the remainder;
//                   Q = each group's sum spread evenly over the bins of the group whose P is
//                     non-zero; bins with P = 0 stay 0 in Q;
//                   a bin with P > 0 but Q = 0 (the clipped-outlier bin of an otherwise empty
//                     group) gets Q = eps = 1e-4 counts (MXNet's smoothing) so clipping it costs
//                     a large but finite divergence;
//                   D(i) = KL(P||Q) = sum_{P_k > 0} p_k ln(p_k / q_k), p, q = P, Q normalised.
//                 threshold T = i* * w for the first i* minimising D (upper edge of the last
//                 kept bin). If K < nq no clipping is possible and T = max |x|.
//               The range is [-T, T] for two-sided data (clamped to [min x, max x]) and [0, T]
//               (or [-T, 0]) for one-sided data.
//
// Histograms (percentile, mse, entropy): two half-histograms, one for x > 0 and one for |x| of
// x < 0, plus an exact count of zeros; each side keeps `bins` bins over [0, R) with R a power
// of two (the smallest 2^e > max |x| of that side). When a batch exceeds R, R is doubled (bins
// merged in pairs; several doublings at once merge 2^k bins) until it fits. Because R is always
// the smallest power of two above the running max and bin edges are exact binary fractions,
// the final histogram is bit-identical whatever the batching; memory is 2*bins counters per
// tensor, independent of the number of samples. The price of power-of-two ranges is that the
// bin width is up to 2*max/bins (between 1x and 2x the tight width). bins <= 2^24 keeps the
// binning arithmetic exact in double precision.
#include "passes/calibration.h"

#include "support/error.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace hone::passes {

CalibrationMethod parse_calibration_method(const std::string& name) {
  const auto& n = calibration_method_names();
  const auto it = std::find(n.begin(), n.end(), name);
  if (it == n.end()) {
    throw bad_input("unknown calibration method '{}' (expected one of: minmax, ema, percentile, mse, entropy)", name);
  }
  return static_cast<CalibrationMethod>(it - n.begin());
}

namespace {

constexpr int64_t kMaxBins = int64_t{1} << 24;
constexpr int64_t kMaxLevels = int64_t{1} << 24;

// Widen to contain 0 (and never return -0.0).
std::pair<float, float> with_zero(double lo, double hi) {
  return {lo < 0 ? static_cast<float>(lo) : 0.0f, hi > 0 ? static_cast<float>(hi) : 0.0f};
}

// ------------------------------------------------------------------------------------------
// minmax / ema

class MinMaxObserver final : public RangeObserver {
 public:
  void observe(const float* d, int64_t n) override {
    for (int64_t i = 0; i < n; ++i) {
      if (!std::isfinite(d[i])) continue;
      lo_ = std::min(lo_, d[i]);
      hi_ = std::max(hi_, d[i]);
    }
  }
  std::pair<float, float> range() const override { return {lo_, hi_}; }  // starts at {0, 0}

 private:
  float lo_ = 0, hi_ = 0;
};

class EmaObserver final : public RangeObserver {
 public:
  explicit EmaObserver(double decay) : decay_(decay) {}
  void observe(const float* d, int64_t n) override {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (int64_t i = 0; i < n; ++i) {
      if (!std::isfinite(d[i])) continue;
      lo = std::min(lo, static_cast<double>(d[i]));
      hi = std::max(hi, static_cast<double>(d[i]));
    }
    if (lo > hi) return;  // no finite value in this batch: it does not count as a batch
    if (!seen_) {
      lo_ = lo, hi_ = hi, seen_ = true;
    } else {
      lo_ = decay_ * lo_ + (1 - decay_) * lo;
      hi_ = decay_ * hi_ + (1 - decay_) * hi;
    }
  }
  std::pair<float, float> range() const override { return seen_ ? with_zero(lo_, hi_) : std::pair<float, float>{0, 0}; }

 private:
  double decay_;
  bool seen_ = false;
  double lo_ = 0, hi_ = 0;
};

// ------------------------------------------------------------------------------------------
// Streaming histogram: one half-histogram per sign, power-of-two ranges (see header comment).

struct HalfHistogram {
  int exp = 0;        // range R = 2^exp (valid when !counts.empty())
  std::vector<double> counts;  // empty until the first value arrives; counts are integers

  bool empty() const { return counts.empty(); }
  double range() const { return std::ldexp(1.0, exp); }
  double width() const { return range() / static_cast<double>(counts.size()); }

  // Make the range cover `max_abs` (> 0): the smallest power of two strictly above it.
  void cover(double max_abs, int64_t bins) {
    int e = 0;
    std::frexp(max_abs, &e);  // max_abs = m * 2^e, m in [0.5, 1)  =>  max_abs < 2^e
    if (counts.empty()) {
      counts.assign(static_cast<size_t>(bins), 0.0);
      exp = e;
      return;
    }
    if (e <= exp) return;
    merge_by(e - exp);
    exp = e;
  }

  // Bin j of the result holds old bins [j*2^k, (j+1)*2^k).
  void merge_by(int k) {
    const size_t n = counts.size();
    if (k >= 40 || (size_t{1} << k) >= n) {
      double total = 0;
      for (double c : counts) total += c;
      std::fill(counts.begin(), counts.end(), 0.0);
      counts[0] = total;
      return;
    }
    std::vector<double> merged(n, 0.0);
    for (size_t j = 0; j < n; ++j) merged[j >> k] += counts[j];
    counts = std::move(merged);
  }

  // bins / R: multiplying a float by it is exact in double for bins <= 2^24 (24-bit mantissa
  // times a <= 24-bit integer), so the bin of a value never depends on rounding.
  double scale() const { return counts.empty() ? 0.0 : std::ldexp(static_cast<double>(counts.size()), -exp); }

  // Index of the last non-empty bin + 1 (0 when empty).
  size_t used() const {
    size_t k = counts.size();
    while (k > 0 && counts[k - 1] == 0) --k;
    return k;
  }
  double total() const {
    double t = 0;
    for (double c : counts) t += c;
    return t;
  }

  // The counts re-binned to range 2^target_exp (>= exp) without changing the bin count.
  std::vector<double> rebinned(int target_exp) const {
    HalfHistogram h = *this;
    if (target_exp > exp) h.merge_by(target_exp - exp);
    return h.counts;
  }
};

class HistogramObserver : public RangeObserver {
 public:
  explicit HistogramObserver(const CalibrationOptions& o) : opt_(o) {}

  void observe(const float* d, int64_t n) override {
    float lo = std::numeric_limits<float>::infinity(), hi = -lo;
    for (int64_t i = 0; i < n; ++i) {
      if (!std::isfinite(d[i])) continue;
      lo = std::min(lo, d[i]);
      hi = std::max(hi, d[i]);
    }
    if (lo > hi) return;  // no finite value
    min_ = std::min(min_, static_cast<double>(lo));
    max_ = std::max(max_, static_cast<double>(hi));
    if (hi > 0) pos_.cover(hi, opt_.bins);
    if (lo < 0) neg_.cover(-static_cast<double>(lo), opt_.bins);
    // Branch-free binning: side 0 = x >= 0 (zeros land in its bin 0 and are moved to zeros_
    // afterwards), side 1 = x < 0. A side without storage only ever receives zeros.
    double dummy = 0;
    double* base[2] = {pos_.empty() ? &dummy : pos_.counts.data(), neg_.empty() ? &dummy : neg_.counts.data()};
    const double scale[2] = {pos_.scale(), neg_.scale()};
    const size_t last[2] = {pos_.empty() ? 0 : pos_.counts.size() - 1, neg_.empty() ? 0 : neg_.counts.size() - 1};
    double zeros = 0;
    for (int64_t i = 0; i < n; ++i) {
      const float x = d[i];
      if (!std::isfinite(x)) continue;
      const int side = x < 0 ? 1 : 0;
      const size_t idx = std::min(static_cast<size_t>(std::fabs(static_cast<double>(x)) * scale[side]), last[side]);
      base[side][idx] += 1;
      zeros += x == 0 ? 1 : 0;
    }
    if (!pos_.empty()) pos_.counts[0] -= zeros;
    zeros_ += zeros;
  }

  std::pair<float, float> range() const override {
    if (pos_.empty() && neg_.empty()) return {0, 0};  // nothing, or only zeros
    const auto [lo, hi] = estimate();
    return with_zero(std::max(lo, min_), std::min(hi, max_));
  }

 protected:
  // The method's [lo, hi] before clamping to the observed range and widening to 0.
  virtual std::pair<double, double> estimate() const = 0;

  CalibrationOptions opt_;
  HalfHistogram pos_, neg_;
  double zeros_ = 0;
  double min_ = 0, max_ = 0;  // observed extremes (start at 0: the range contains 0 anyway)
};

// ---- percentile

class PercentileObserver final : public HistogramObserver {
 public:
  using HistogramObserver::HistogramObserver;

 protected:
  std::pair<double, double> estimate() const override {
    const double q = opt_.percentile / 100.0;
    return {quantile(1.0 - q), quantile(q)};
  }

 private:
  // Value at rank q*N walking the cells in increasing x: negative bins from the outermost,
  // the zeros (a point mass), positive bins; linear interpolation within a bin.
  double quantile(double q) const {
    const double total = pos_.total() + neg_.total() + zeros_;
    const double rank = q * total;
    double cum = 0;
    if (!neg_.empty()) {
      const double w = neg_.width();
      for (size_t i = neg_.counts.size(); i-- > 0;) {
        const double c = neg_.counts[i];
        if (c > 0 && cum + c >= rank) return -(static_cast<double>(i + 1) * w) + (rank - cum) / c * w;
        cum += c;
      }
    }
    if (zeros_ > 0 && cum + zeros_ >= rank) return 0.0;
    cum += zeros_;
    if (!pos_.empty()) {
      const double w = pos_.width();
      for (size_t i = 0; i < pos_.counts.size(); ++i) {
        const double c = pos_.counts[i];
        if (c > 0 && cum + c >= rank) return static_cast<double>(i) * w + (rank - cum) / c * w;
        cum += c;
      }
    }
    return max_;  // rank == total after rounding: the top
  }
};

// ---- mse

struct Moments {
  double m0 = 0, m1 = 0, m2 = 0;  // count, sum x, sum x^2
  Moments operator-(const Moments& o) const { return {m0 - o.m0, m1 - o.m1, m2 - o.m2}; }
};

// Cumulative moments of one half-histogram with every bin's values spread uniformly over it:
// below(t) = moments of the |v| < t.
class HalfMoments {
 public:
  explicit HalfMoments(const HalfHistogram& h) : counts_(&h.counts) {
    if (h.empty()) return;
    w_ = h.width();
    const size_t n = h.counts.size();
    cum_.resize(n + 1);
    for (size_t k = 0; k < n; ++k) {
      const double c = h.counts[k], centre = (static_cast<double>(k) + 0.5) * w_;
      cum_[k + 1] = {cum_[k].m0 + c, cum_[k].m1 + c * centre, cum_[k].m2 + c * (centre * centre + w_ * w_ / 12.0)};
    }
  }
  Moments total() const { return cum_.empty() ? Moments{} : cum_.back(); }
  Moments below(double t) const {
    if (cum_.empty() || t <= 0) return {};
    const double pos = t / w_;
    if (pos >= static_cast<double>(counts_->size())) return cum_.back();
    const size_t k = static_cast<size_t>(pos);
    Moments m = cum_[k];
    const double c = (*counts_)[k];
    if (c > 0) {
      const double l = static_cast<double>(k) * w_, f = (t - l) / w_;
      m.m0 += c * f;
      m.m1 += c * f * (l + t) / 2.0;
      m.m2 += c * f * (t * t + t * l + l * l) / 3.0;
    }
    return m;
  }

 private:
  const std::vector<double>* counts_;
  double w_ = 0;
  std::vector<Moments> cum_;
};

// Expected squared quantization error of the histogram for a candidate range, modelling the
// quantizer exactly: s = (b - a)/(L - 1), zero point zp = round(-a/s), levels k*s for
// k = -zp .. L-1-zp; every value goes to its nearest level, values beyond the end levels are
// clipped to them. Error = sum over levels of the values' squared distance to the level
// (from the cumulative moments, uniform within each histogram bin).
class QuantError {
 public:
  QuantError(const HalfHistogram& pos, const HalfHistogram& neg, double zeros, int64_t levels)
      : pos_(pos), neg_(neg), zeros_(zeros), levels_(levels) {
    const Moments n = neg_.total(), p = pos_.total();
    all_ = {n.m0 + zeros_ + p.m0, p.m1 - n.m1, n.m2 + p.m2};
    nonzero_ = n.m0 + p.m0;
    bins_ = static_cast<double>(pos.used() + neg.used() + 1);
  }

  double operator()(double a, double b) const {
    if (b - a <= 0) return all_.m2;  // everything quantized to 0
    const double s = (b - a) / static_cast<double>(levels_ - 1);
    const double zp = std::clamp(std::round(-a / s), 0.0, static_cast<double>(levels_ - 1));
    const double first = -zp, last = static_cast<double>(levels_ - 1) - zp;
    if (last - first + 1 > 4 * bins_) return coarse(first * s, last * s, s);
    double err = 0;
    Moments prev;  // moments of the values below the current level's cell
    for (double k = first; k <= last; k += 1) {
      const Moments upper = k == last ? all_ : upto((k + 0.5) * s);
      const Moments cell = upper - prev;
      const double c = k * s;
      err += std::max(0.0, cell.m2 - 2 * c * cell.m1 + c * c * cell.m0);
      prev = upper;
    }
    return err;
  }

 private:
  // Moments of the values v <= x.
  Moments upto(double x) const {
    if (x < 0) {
      const Moments t = neg_.total(), p = neg_.below(-x);
      return {t.m0 - p.m0, -(t.m1 - p.m1), t.m2 - p.m2};
    }
    const Moments n = neg_.total(), p = pos_.below(x);
    return {n.m0 + zeros_ + p.m0, p.m1 - n.m1, n.m2 + p.m2};
  }
  // Many more levels than histogram bins: the histogram cannot resolve the rounding, which is
  // then s^2/12 per non-zero in-range value; plus the exact clipping error of the tails.
  double coarse(double lo, double hi, double s) const {
    const Moments below = upto(lo), above = all_ - upto(hi);
    const double clip = std::max(0.0, below.m2 - 2 * lo * below.m1 + lo * lo * below.m0) +
                        std::max(0.0, above.m2 - 2 * hi * above.m1 + hi * hi * above.m0);
    return clip + (nonzero_ - below.m0 - above.m0) * s * s / 12.0;
  }

  HalfMoments pos_, neg_;
  double zeros_;
  int64_t levels_;
  Moments all_;
  double nonzero_ = 0, bins_ = 1;
};

// Best edge index on one axis (0..k_max) for `cost(k)`: a scan with stride ~k_max/128, then
// every edge within one stride of the coarse best. Ties keep the smaller index.
template <typename Cost>
size_t best_edge(size_t k_max, size_t current, const Cost& cost) {
  const size_t stride = std::max<size_t>(1, k_max / 128);
  size_t best_k = current;
  double best = cost(current);
  auto consider = [&](size_t k) {
    const double c = cost(k);
    if (c < best || (c == best && k < best_k)) best = c, best_k = k;
  };
  for (size_t k = 0; k <= k_max; k += stride) consider(k);
  consider(k_max);
  const size_t centre = best_k;
  for (size_t k = centre > stride ? centre - stride : 0; k <= std::min(k_max, centre + stride); ++k) consider(k);
  return best_k;
}

class MseObserver final : public HistogramObserver {
 public:
  using HistogramObserver::HistogramObserver;

 protected:
  std::pair<double, double> estimate() const override {
    const QuantError error(pos_, neg_, zeros_, opt_.levels);
    const size_t kp = pos_.used(), kn = neg_.used();
    const double wp = pos_.empty() ? 0.0 : pos_.width(), wn = neg_.empty() ? 0.0 : neg_.width();
    auto cost = [&](size_t ka, size_t kb) { return error(-static_cast<double>(ka) * wn, static_cast<double>(kb) * wp); };
    // 1. shrink both sides proportionally from the observed range (ka, kb) = t * (kn, kp)
    size_t ka = kn, kb = kp;
    const size_t steps = std::max<size_t>(1, std::min<size_t>(std::max(kp, kn), 256));
    double best = cost(ka, kb);
    for (size_t j = 1; j < steps; ++j) {
      const double t = static_cast<double>(j) / static_cast<double>(steps);
      const auto a = static_cast<size_t>(std::lround(t * static_cast<double>(kn)));
      const auto b = static_cast<size_t>(std::lround(t * static_cast<double>(kp)));
      const double c = cost(a, b);
      if (c < best) best = c, ka = a, kb = b;
    }
    // 2. coordinate descent: best hi edge for this lo edge, best lo edge for that hi edge, ...
    for (int round = 0; round < 8; ++round) {
      const size_t new_b = best_edge(kp, kb, [&](size_t k) { return cost(ka, k); });
      const size_t new_a = best_edge(kn, ka, [&](size_t k) { return cost(k, new_b); });
      if (new_a == ka && new_b == kb) break;
      ka = new_a, kb = new_b;
    }
    return {-static_cast<double>(ka) * wn, static_cast<double>(kb) * wp};
  }
};

// ---- entropy

// KL(P||Q) of every candidate i in O(nq) each, from prefix sums over the histogram h:
//   H[k] = sum_{j<k} h_j, NZ[k] = #{j<k : h_j > 0}, HL[k] = sum_{j<k} h_j ln h_j.
// With p, q the normalised P, Q (totals Pt = sum h, Qt) and q_g = Q's value in group g:
//   KL = (1/Pt) (sum_k P_k ln P_k - sum_g ln(q_g) * (P's mass in g)) + ln(Qt / Pt).
// (Checked during development against the direct O(i) construction of P and Q: same values.)
class KlSearch {
 public:
  KlSearch(const std::vector<double>& h, size_t used) : h_(h), sum_(used + 1, 0.0), nz_(used + 1, 0.0), hl_(used + 1, 0.0) {
    for (size_t k = 0; k < used; ++k) {
      sum_[k + 1] = sum_[k] + h[k];
      nz_[k + 1] = nz_[k] + (h[k] > 0 ? 1 : 0);
      hl_[k + 1] = hl_[k] + (h[k] > 0 ? h[k] * std::log(h[k]) : 0.0);
    }
  }

  double divergence(size_t i, size_t nq) const {
    constexpr double kEps = 1e-4;
    const double total = sum_.back(), outliers = total - sum_[i];
    const double last = h_[i - 1] + outliers;  // P[i-1]
    double plogp = hl_[i - 1] + (last > 0 ? last * std::log(last) : 0.0);
    double plogq = 0, q_total = 0;
    const size_t merged = i / nq;
    for (size_t g = 0; g < nq; ++g) {
      const size_t start = g * merged, stop = (g + 1 == nq) ? i : start + merged;
      const double sum = sum_[stop] - sum_[start];
      double nonzero = nz_[stop] - nz_[start], mass = sum;
      if (stop == i) {  // the group holding P[i-1]: it is non-zero when outliers were clipped into it
        nonzero += (h_[i - 1] == 0 && last > 0) ? 1 : 0;
        mass += outliers;
      }
      if (nonzero == 0) continue;
      const double q = sum > 0 ? sum / nonzero : kEps;
      q_total += q * nonzero;
      plogq += std::log(q) * mass;
    }
    return (plogp - plogq) / total + std::log(q_total / total);
  }

 private:
  const std::vector<double>& h_;
  std::vector<double> sum_, nz_, hl_;
};

class EntropyObserver final : public HistogramObserver {
 public:
  using HistogramObserver::HistogramObserver;

 protected:
  std::pair<double, double> estimate() const override {
    const bool one_sided = pos_.empty() || neg_.empty();
    const int exp = pos_.empty() ? neg_.exp : neg_.empty() ? pos_.exp : std::max(pos_.exp, neg_.exp);
    std::vector<double> h(static_cast<size_t>(opt_.bins), 0.0);
    for (const HalfHistogram* side : {&pos_, &neg_}) {
      if (side->empty()) continue;
      const auto c = side->rebinned(exp);
      for (size_t k = 0; k < h.size(); ++k) h[k] += c[k];
    }
    // exact zeros are left out (see the header comment)
    const double w = std::ldexp(1.0, exp) / static_cast<double>(h.size());
    size_t used = h.size();
    while (used > 0 && h[used - 1] == 0) --used;
    const size_t nq = static_cast<size_t>(one_sided ? opt_.levels : opt_.levels / 2);

    double threshold = std::max(max_, -min_);  // fallback: no clipping possible
    if (nq >= 1 && used >= nq) {
      double best = std::numeric_limits<double>::infinity();
      size_t best_i = used;
      const KlSearch kl(h, used);
      for (size_t i = nq; i <= used; ++i) {
        const double d = kl.divergence(i, nq);
        if (d < best) best = d, best_i = i;
      }
      threshold = static_cast<double>(best_i) * w;
    }
    return {-threshold, threshold};  // one side is clamped away by the observed range
  }
};

void validate(const CalibrationOptions& o) {
  if (!(o.ema_decay >= 0.0 && o.ema_decay <= 1.0)) {
    throw bad_input("calibration: ema_decay must be in [0, 1], got {}", o.ema_decay);
  }
  if (!(o.percentile >= 50.0 && o.percentile <= 100.0)) {
    throw bad_input("calibration: percentile must be in [50, 100], got {}", o.percentile);
  }
  if (o.bins < 2 || o.bins > kMaxBins) {
    throw bad_input("calibration: bins must be in [2, {}], got {}", kMaxBins, o.bins);
  }
  if (o.levels < 2 || o.levels > kMaxLevels) {
    throw bad_input("calibration: levels must be in [2, {}], got {}", kMaxLevels, o.levels);
  }
}

}  // namespace

std::unique_ptr<RangeObserver> make_observer(const CalibrationOptions& options) {
  validate(options);
  switch (options.method) {
    case CalibrationMethod::MinMax: return std::make_unique<MinMaxObserver>();
    case CalibrationMethod::Ema: return std::make_unique<EmaObserver>(options.ema_decay);
    case CalibrationMethod::Percentile: return std::make_unique<PercentileObserver>(options);
    case CalibrationMethod::Mse: return std::make_unique<MseObserver>(options);
    case CalibrationMethod::Entropy: return std::make_unique<EntropyObserver>(options);
  }
  throw internal_error("calibration: unknown method {}", static_cast<int>(options.method));
}

}  // namespace hone::passes
