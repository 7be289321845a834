// Calibration: the range [lo, hi] each activation tensor is quantized to, estimated by
// streaming over calibration batches. An observer keeps per-tensor statistics or a bounded
// histogram -- never the activations themselves -- so memory does not grow with the number
// of samples.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace hone::passes {

enum class CalibrationMethod { MinMax, Ema, Percentile, Mse, Entropy };

// "minmax", "ema", "percentile", "mse", "entropy": the names of the `calibration` parameter.
inline const std::vector<std::string>& calibration_method_names() {
  static const std::vector<std::string> names{"minmax", "ema", "percentile", "mse", "entropy"};
  return names;
}
CalibrationMethod parse_calibration_method(const std::string& name);  // BadInput on others

struct CalibrationOptions {
  CalibrationMethod method = CalibrationMethod::MinMax;
  double ema_decay = 0.9;      // ema: range = decay * range + (1 - decay) * batch range
  double percentile = 99.99;   // percentile: clip at this percentile of |x| (symmetric) or of x
  int64_t bins = 2048;         // histogram methods: bins kept per tensor (bounded memory)
  // Number of quantization levels the range will be divided into (256 for 8 bits): mse and
  // entropy search the clipping range that serves these levels best.
  int64_t levels = 256;
};

class RangeObserver {
 public:
  virtual ~RangeObserver() = default;
  // One batch of values of this tensor (any number, any order).
  virtual void observe(const float* data, int64_t n) = 0;
  // The calibrated range; always lo <= 0 <= hi (zero must be representable). {0, 0} when
  // nothing was observed.
  virtual std::pair<float, float> range() const = 0;
};

std::unique_ptr<RangeObserver> make_observer(const CalibrationOptions& options);

}  // namespace hone::passes
