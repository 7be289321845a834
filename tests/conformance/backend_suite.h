// Runs ONNX's backend test data (Debian's libonnx-testdata) against any Executor.
// A test is skipped only when loading the model (import + executor preparation) reports the
// model as Unsupported; every other error, and every output outside tolerance, is a failure.
#pragma once

#include "ir/graph.h"
#include "runtime/executor.h"

#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <vector>

namespace hone::conformance {

using ExecutorFactory = std::function<std::unique_ptr<runtime::Executor>(const ir::Model&)>;

struct SuiteOptions {
  std::string root = "/usr/share/libonnx-testdata/data";
  std::vector<std::string> groups = {"node", "pytorch-converted", "pytorch-operator", "simple"};
  std::string filter = ".*";  // regex over "group/test_name"
  double rtol = 1e-3;         // ONNX's backend-test defaults (onnx/backend/test/runner)
  double atol = 1e-7;
  bool verbose = false;
};

struct TestOutcome {
  std::string name;  // "node/test_relu"
  enum class Status { Passed, Failed, Skipped } status;
  std::string reason;  // why it failed or was skipped
};

struct SuiteResult {
  std::vector<TestOutcome> outcomes;
  size_t count(TestOutcome::Status s) const;
};

SuiteResult run_backend_suite(const SuiteOptions& options, const ExecutorFactory& make_executor);

// Compare one output against the expected tensor with numpy.testing.assert_allclose semantics
// (|a - e| <= atol + rtol * |e|, NaN equals NaN) for floats, exact equality otherwise.
// Returns "" when equal, else a description of the first mismatch.
std::string compare_tensors(const ir::Tensor& actual, const ir::Tensor& expected, double rtol,
                            double atol);

}  // namespace hone::conformance
