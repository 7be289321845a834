// What the CPU runtime's kernels implement. A kernel is made at prepare for one node (or one
// fused group of nodes) with every shape known; run() then only reads and writes memory through
// the pointer table: ptrs[value id] is the value's data (constants and arena slots fixed at
// prepare, graph inputs and outputs set per run).
#pragma once

#include "ir/graph.h"
#include "ir/tensor.h"
#include "runtime/reference/kernel.h"

#include <memory>
#include <string>
#include <vector>

namespace hone::runtime::cpu {

struct ValueDesc {
  int id = -1;
  ir::DType dtype = ir::DType::Undefined;
  ir::Shape shape;
  const ir::Tensor* constant = nullptr;  // an initializer: its bytes are fixed at prepare
  int64_t bytes() const { return ir::checked_numel(shape) * static_cast<int64_t>(ir::dtype_size(dtype)); }
};

// One node as prepare sees it.
struct NodeDesc {
  const ir::Node* node = nullptr;
  int64_t since_version = 0;
  std::vector<ValueDesc> inputs;   // id -1 for an omitted optional input
  std::vector<ValueDesc> outputs;  // id -1 for an omitted optional output
  const reference::KernelEntry* reference = nullptr;
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual void run(void* const* ptrs) = 0;
  // Shown in describe() and the profile: "reference", "memcpy", ...
  virtual std::string name() const = 0;
  // True when run() may allocate (reference fallbacks build tensors).
  virtual bool allocates() const { return false; }
};

// The golden-model kernel of `n` over the pointer table: correct for every op the reference
// interpreter runs, and the fallback of every node no fast kernel takes.
std::unique_ptr<Kernel> make_reference_kernel(const NodeDesc& n);

// Fast kernels, tried in order; each returns nullptr when the node is outside its fast path.
std::unique_ptr<Kernel> make_data_movement_kernel(const NodeDesc& n);  // Reshape, Flatten, Identity, ...

}  // namespace hone::runtime::cpu
