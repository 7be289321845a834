// Ops that only relabel a tensor's shape: the bytes are the same, so the kernel is a copy from
// the input's slot to the output's.
#include "runtime/cpu/kernel.h"

#include <algorithm>
#include <cstring>

namespace hone::runtime::cpu {

namespace {

class CopyKernel final : public Kernel {
 public:
  CopyKernel(int from, int to, size_t bytes) : from_(from), to_(to), bytes_(bytes) {}
  void run(void* const* ptrs) override {
    if (bytes_ > 0 && ptrs[from_] != ptrs[to_]) std::memcpy(ptrs[to_], ptrs[from_], bytes_);
  }
  std::string name() const override { return "copy"; }

 private:
  int from_, to_;
  size_t bytes_;
};

}  // namespace

std::unique_ptr<Kernel> make_data_movement_kernel(const NodeDesc& n) {
  static const char* const kOps[] = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout"};
  const std::string& op = n.node->op_type;
  if (!n.node->domain.empty() && n.node->domain != "ai.onnx") return nullptr;
  if (std::find(std::begin(kOps), std::end(kOps), op) == std::end(kOps)) return nullptr;
  if (n.inputs.empty() || n.outputs.empty() || n.inputs[0].id < 0 || n.outputs[0].id < 0) return nullptr;
  // Dropout in inference is the identity, unless its mask is asked for.
  if (op == "Dropout" && n.outputs.size() > 1 && n.outputs[1].id >= 0) return nullptr;
  // ...and unless training_mode may be true.
  if (op == "Dropout" && n.inputs.size() > 2 && n.inputs[2].id >= 0) {
    const ir::Tensor* training = n.inputs[2].constant;
    if (!training || training->numel() != 1 || training->dtype() != ir::DType::Bool ||
        *static_cast<const uint8_t*>(training->raw()) != 0) {
      return nullptr;
    }
  }
  if (op != "Dropout" && n.outputs.size() != 1) return nullptr;
  const ValueDesc& in = n.inputs[0];
  const ValueDesc& out = n.outputs[0];
  if (in.dtype != out.dtype || in.bytes() != out.bytes()) return nullptr;
  return std::make_unique<CopyKernel>(in.id, out.id, static_cast<size_t>(out.bytes()));
}

}  // namespace hone::runtime::cpu
