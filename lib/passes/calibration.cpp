// PLACEHOLDER minmax-only implementation so dependants link; replaced by the full calibration.
#include "passes/calibration.h"

#include "support/error.h"

#include <algorithm>

namespace hone::passes {

CalibrationMethod parse_calibration_method(const std::string& name) {
  const auto& n = calibration_method_names();
  const auto it = std::find(n.begin(), n.end(), name);
  if (it == n.end()) throw bad_input("unknown calibration method '{}'", name);
  return static_cast<CalibrationMethod>(it - n.begin());
}

namespace {
class MinMax final : public RangeObserver {
 public:
  void observe(const float* d, int64_t n) override {
    for (int64_t i = 0; i < n; ++i) {
      lo_ = std::min(lo_, d[i]);
      hi_ = std::max(hi_, d[i]);
    }
  }
  std::pair<float, float> range() const override { return {std::min(lo_, 0.0f), std::max(hi_, 0.0f)}; }

 private:
  float lo_ = 0, hi_ = 0;
};
}  // namespace

std::unique_ptr<RangeObserver> make_observer(const CalibrationOptions&) { return std::make_unique<MinMax>(); }

}  // namespace hone::passes
