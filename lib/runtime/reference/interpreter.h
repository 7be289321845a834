// The reference interpreter: the golden model every other executor is compared against.
// Prepare (constructor): resolve each node to its ONNX schema version and reference kernel and
// let the kernel check its attributes and dtypes -- so an unsupported op, attribute or dtype
// is reported when the model is loaded, naming node, op type and opset.
// Run: execute nodes in topological order, freeing each value after its last use.
#pragma once

#include "runtime/executor.h"
#include "runtime/reference/kernel.h"

#include <vector>

namespace hone::runtime {

class ReferenceInterpreter final : public Executor {
 public:
  // Keeps a copy of the graph. Throws Unsupported / BadInput (with node context).
  explicit ReferenceInterpreter(const ir::Graph& graph);

  std::string name() const override { return "reference"; }
  std::vector<ir::Tensor> run(std::span<const ir::Tensor> inputs) override;

  // Also returns every intermediate value (for calibration, debugging, per-layer SQNR).
  std::vector<ir::Tensor> run_keep_all(std::span<const ir::Tensor> inputs,
                                       std::map<std::string, ir::Tensor>* all_values);

 private:
  struct Step {
    const ir::Node* node;
    const reference::KernelEntry* kernel;
    int64_t since_version;
    std::vector<std::string> frees;  // values whose last use is this step
  };
  ir::Graph graph_;
  std::vector<Step> steps_;
};

// What the interpreter checks of one node at load, shared with every executor that falls back
// on reference kernels: the schema version it resolves to, its reference kernel, and that
// kernel's own attribute/dtype check. Throws Unsupported / BadInput with node context.
struct CheckedNode {
  int64_t since_version = 0;
  const reference::KernelEntry* kernel = nullptr;
};
CheckedNode check_node(const ir::Graph& graph, const ir::Node& node);

// BadInput unless `inputs` match the graph's inputs in count, dtype and (known) dims.
void check_graph_inputs(const ir::Graph& graph, std::span<const ir::Tensor> inputs);

// ONNX schema version a node resolves to under the graph's opset imports (e.g. Softmax at
// opset 12 resolves to 11). Throws BadInput for an op ONNX does not define at that opset.
int64_t resolve_since_version(const ir::Graph& graph, const ir::Node& node);

}  // namespace hone::runtime
