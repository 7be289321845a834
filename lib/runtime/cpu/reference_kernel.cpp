// The fallback: a reference kernel run on tensors that borrow the arena. It allocates (the
// reference kernel creates its outputs, copied into the arena afterwards), which is why
// describe() lists every node that takes it.
#include "runtime/cpu/kernel.h"

#include "support/error.h"

#include <cstring>

namespace hone::runtime::cpu {

namespace {

class ReferenceKernel final : public Kernel {
 public:
  explicit ReferenceKernel(const NodeDesc& n) : n_(n) {}

  void run(void* const* ptrs) override {
    inputs_.clear();
    ptrs_in_.clear();
    for (size_t i = 0; i < n_.inputs.size(); ++i) {
      const ValueDesc& v = n_.inputs[i];
      if (in[i] < 0) {
        inputs_.emplace_back();
        continue;
      }
      inputs_.push_back(v.constant ? *v.constant : ir::Tensor::borrow(v.dtype, v.shape, ptrs[in[i]]));
    }
    for (size_t i = 0; i < n_.inputs.size(); ++i) ptrs_in_.push_back(in[i] < 0 ? nullptr : &inputs_[i]);
    outputs_.assign(n_.outputs.size(), ir::Tensor());
    reference::KernelArgs args{*n_.node, n_.since_version, ptrs_in_, outputs_};
    n_.reference->run(args);
    for (size_t o = 0; o < n_.outputs.size(); ++o) {
      const ValueDesc& v = n_.outputs[o];
      if (out[o] < 0) continue;
      const ir::Tensor& t = outputs_[o];
      // Prepare planned this shape; a kernel disagreeing is a bug, not bad input.
      if (!t.defined() || t.shape() != v.shape || t.dtype() != v.dtype) {
        throw internal_error("reference kernel of {} produced {} {}, planned {} {}", n_.node->label(),
                             t.defined() ? ir::dtype_name(t.dtype()) : "nothing", ir::shape_str(t.shape()),
                             ir::dtype_name(v.dtype), ir::shape_str(v.shape));
      }
      if (t.nbytes() > 0) std::memcpy(ptrs[out[o]], t.raw(), t.nbytes());
    }
  }
  std::string name() const override { return "reference"; }
  bool allocates() const override { return true; }

 private:
  NodeDesc n_;
  std::vector<ir::Tensor> inputs_;
  std::vector<const ir::Tensor*> ptrs_in_;
  std::vector<ir::Tensor> outputs_;
};

}  // namespace

std::unique_ptr<Kernel> make_reference_kernel(const NodeDesc& n) {
  HONE_ASSERT(n.reference != nullptr && n.fused.empty());
  auto k = std::make_unique<ReferenceKernel>(n);
  k->input_layouts.assign(n.inputs.size(), Layout::Nchw);
  k->output_layouts.assign(n.outputs.size(), Layout::Nchw);
  return k;
}

}  // namespace hone::runtime::cpu
