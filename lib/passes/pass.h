// Optimizer passes: take the IR and return a smaller or faster IR with the same meaning (or a
// measured, bounded loss), and say exactly what they did. A pass first matches without
// mutating, then applies; the report lands in the measurements.
#pragma once

#include "datasets/dataset.h"
#include "ir/graph.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>

namespace hone::passes {

// What a pass may ask of the pipeline it runs in.
struct PassContext {
  // Calibration samples (drawn from training data, never from the evaluated samples), already
  // preprocessed into model input by the model wrapper. Unset when the pass runs outside a
  // pipeline (`hone optimize` without a dataset): a pass that needs calibration then throws
  // BadInput saying so.
  std::function<std::unique_ptr<datasets::Dataset>(int64_t count, uint64_t seed)> calibration;
  std::function<ir::Tensor(const ir::Tensor& raw_samples)> preprocess;
};

class Pass {
 public:
  virtual ~Pass() = default;
  virtual std::string name() const = 0;
  // Transforms `model` in place and returns pass-specific detail for the report (e.g. one
  // entry per folded node). The runner adds the common fields (parameters, wall time, node and
  // parameter counts before and after).
  virtual nlohmann::json run(ir::Model& model, const PassContext& ctx) = 0;
  // What decides the result besides the model and the parameters, such as the content of files
  // the pass reads (the external pass hashes the files its command names). Part of the key of
  // the runner's optimized-model cache: a pass whose result depends on anything else must say so
  // here, or a changed input would reuse a stale cached model.
  virtual nlohmann::json fingerprint() const { return nullptr; }
};

}  // namespace hone::passes
