// An Executor runs a Graph. Every backend (reference interpreter, fast CPU runtime, generated C)
// implements this, so one conformance runner and one differential-test harness serve them all.
#pragma once

#include "ir/graph.h"
#include "ir/tensor.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <span>
#include <string>
#include <vector>

namespace hone::runtime {

class Executor {
 public:
  virtual ~Executor() = default;
  virtual std::string name() const = 0;
  // Inputs in the order of graph.inputs; returns outputs in the order of graph.outputs.
  virtual std::vector<ir::Tensor> run(std::span<const ir::Tensor> inputs) = 0;
  // Per-node timing when the executor was asked to profile (docs/measurements.md "profile"
  // layers); null otherwise.
  virtual nlohmann::json profile() const { return nullptr; }
  // What the executor measured besides outputs over the runs since the last call, then forgets
  // it: an object with "on_target" (timing the target measured itself, a board's cycle counter;
  // measurements "latency.on_target") and "reference_check" (outputs compared with the reference
  // interpreter; "quality.reference_check"), each only when measured; null when nothing.
  virtual nlohmann::json take_measurements() { return nullptr; }
  // Work that belongs to the last run but not to its latency (checking its outputs against the
  // reference); the runner calls it after each timed run, outside the timing.
  virtual void after_run() {}
};

}  // namespace hone::runtime
