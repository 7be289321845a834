// The reference kernel interface. A reference kernel is two plain functions:
//   check_<Op>(const KernelInfo&)  -- at load: throws Unsupported / BadInput for anything the
//                                     kernel cannot compute exactly (attribute value, dtype).
//   run_<Op>(KernelArgs&)          -- at run: reads inputs, assigns every output.
// ops.def is the one list of reference ops; kernels live one family per file in kernels/.
// Reference kernels are the golden model: naive, readable, exactly as the ONNX spec says.
#pragma once

#include "ir/graph.h"
#include "ir/tensor.h"

#include <span>
#include <vector>

namespace hone::runtime::reference {

// What a kernel may look at when a model is loaded.
struct KernelInfo {
  const ir::Node& node;
  int64_t since_version;                  // the ONNX schema version this node resolves to
  std::vector<ir::DType> input_dtypes;    // Undefined when omitted or not inferred
  std::vector<ir::DType> output_dtypes;   // Undefined when not inferred
  const ir::Graph& graph;                 // e.g. to see whether an input is an initializer

  ir::DType input_dtype(size_t i) const {
    return i < input_dtypes.size() ? input_dtypes[i] : ir::DType::Undefined;
  }
};

struct KernelArgs {
  const ir::Node& node;
  int64_t since_version;
  std::span<const ir::Tensor* const> inputs;  // nullptr for an omitted optional input
  std::span<ir::Tensor> outputs;              // the kernel assigns each (Tensor::zeros(...))

  size_t num_inputs() const { return inputs.size(); }
  // Optional input: nullptr when omitted.
  const ir::Tensor* opt(size_t i) const { return i < inputs.size() ? inputs[i] : nullptr; }
  // Required input: BadInput when missing.
  const ir::Tensor& in(size_t i) const;
  size_t num_outputs() const { return outputs.size(); }
  // True when output i is requested by the graph (optional outputs may be omitted: "").
  bool wants_output(size_t i) const {
    return i < node.outputs.size() && !node.outputs[i].empty();
  }
};

using CheckFn = void (*)(const KernelInfo&);
using RunFn = void (*)(KernelArgs&);

struct KernelEntry {
  const char* op_type;
  const char* domain;
  int64_t min_since_version;  // oldest schema version implemented
  CheckFn check;
  RunFn run;
};

// All reference kernels, in ops.def order.
std::span<const KernelEntry> kernel_table();
// nullptr when hone has no reference kernel for (domain, op_type).
const KernelEntry* find_kernel(const std::string& domain, const std::string& op_type);

namespace kernels {
#define HONE_REFERENCE_OP(op, domain, min_since) \
  void check_##op(const KernelInfo&);            \
  void run_##op(KernelArgs&);
#include "runtime/reference/ops.def"
#undef HONE_REFERENCE_OP
}  // namespace kernels

}  // namespace hone::runtime::reference
