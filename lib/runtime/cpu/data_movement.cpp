// Kernels that only move bytes: shape-only ops (a copy from the input's slot to the output's),
// layout conversions between Nchw and Nhwc storage, and Concat.
#include "runtime/cpu/kernel.h"

#include <algorithm>
#include <cstring>

namespace hone::runtime::cpu {

namespace {

class CopyKernel final : public Kernel {
 public:
  explicit CopyKernel(size_t bytes) : bytes_(bytes) {}
  void run(void* const* ptrs) override {
    if (bytes_ > 0 && ptrs[in[0]] != ptrs[out[0]]) std::memcpy(ptrs[out[0]], ptrs[in[0]], bytes_);
  }
  std::string name() const override { return "copy"; }

 private:
  size_t bytes_;
};

// [n][a][b] -> [n][b][a] for each of n images, in 8x8 blocks whose rows are written whole.
template <typename T>
void transpose_planes(const T* src, T* dst, size_t n, size_t a, size_t b) {
  constexpr size_t kBlock = 8;
  for (size_t i = 0; i < n; ++i, src += a * b, dst += a * b) {
    size_t y0 = 0;
    for (; y0 + kBlock <= a; y0 += kBlock) {
      for (size_t x = 0; x < b; ++x) {
        T* d = dst + x * a + y0;
        for (size_t y = 0; y < kBlock; ++y) d[y] = src[(y0 + y) * b + x];
      }
    }
    for (; y0 < a; ++y0) {
      for (size_t x = 0; x < b; ++x) dst[x * a + y0] = src[y0 * b + x];
    }
  }
}

class LayoutKernel final : public Kernel {
 public:
  LayoutKernel(const ValueDesc& v, Layout from, Layout to) : elem_(ir::dtype_size(v.dtype)) {
    n_ = static_cast<size_t>(v.shape[0]);
    const auto c = static_cast<size_t>(v.shape[1]), hw = static_cast<size_t>(v.shape[2] * v.shape[3]);
    // Nchw -> Nhwc transposes each image's [C][HW] plane; Nhwc -> Nchw its [HW][C] plane.
    a_ = from == Layout::Nchw ? c : hw;
    b_ = from == Layout::Nchw ? hw : c;
    to_nhwc_ = to == Layout::Nhwc;
  }
  void run(void* const* ptrs) override {
    const void* s = ptrs[in[0]];
    void* d = ptrs[out[0]];
    switch (elem_) {
      case 1: transpose_planes(static_cast<const uint8_t*>(s), static_cast<uint8_t*>(d), n_, a_, b_); break;
      case 2: transpose_planes(static_cast<const uint16_t*>(s), static_cast<uint16_t*>(d), n_, a_, b_); break;
      case 4: transpose_planes(static_cast<const uint32_t*>(s), static_cast<uint32_t*>(d), n_, a_, b_); break;
      default: transpose_planes(static_cast<const uint64_t*>(s), static_cast<uint64_t*>(d), n_, a_, b_); break;
    }
  }
  std::string name() const override { return to_nhwc_ ? "layout:nchw_to_nhwc" : "layout:nhwc_to_nchw"; }

 private:
  size_t elem_, n_ = 0, a_ = 0, b_ = 0;
  bool to_nhwc_ = false;
};

// Concat as blocked copies: for each of `outer` rows, each input contributes a contiguous run.
class ConcatKernel final : public Kernel {
 public:
  ConcatKernel(size_t outer, std::vector<size_t> run_bytes) : outer_(outer), run_bytes_(std::move(run_bytes)) {
    for (size_t b : run_bytes_) row_bytes_ += b;
  }
  void run(void* const* ptrs) override {
    auto* dst = static_cast<std::byte*>(ptrs[out[0]]);
    size_t offset = 0;
    for (size_t i = 0; i < run_bytes_.size(); ++i) {
      const auto* src = static_cast<const std::byte*>(ptrs[in[i]]);
      const size_t rb = run_bytes_[i];
      if (rb == 0) continue;
      for (size_t r = 0; r < outer_; ++r) std::memcpy(dst + r * row_bytes_ + offset, src + r * rb, rb);
      offset += rb;
    }
  }
  std::string name() const override { return "concat"; }

 private:
  size_t outer_;
  std::vector<size_t> run_bytes_;
  size_t row_bytes_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_layout_kernel(const ValueDesc& v, Layout from, Layout to) {
  HONE_ASSERT(v.shape.size() == 4 && from != to);
  auto k = std::make_unique<LayoutKernel>(v, from, to);
  k->input_layouts = {from};
  k->output_layouts = {to};
  return k;
}

std::unique_ptr<Kernel> make_data_movement_kernel(const NodeDesc& n, const Context&) {
  static const char* const kOps[] = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout"};
  const std::string& op = n.node->op_type;
  if (!onnx_domain(*n.node)) return nullptr;
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
  auto k = std::make_unique<CopyKernel>(static_cast<size_t>(out.bytes()));
  // Identity and inference Dropout keep the shape, so they may copy either layout.
  const bool same_shape = in.shape == out.shape;
  k->input_layouts.assign(n.inputs.size(), Layout::Nchw);
  k->input_layouts[0] = same_shape ? in.layout : Layout::Nchw;
  k->output_layouts.assign(n.outputs.size(), Layout::Nchw);
  k->output_layouts[0] = same_shape ? in.layout : Layout::Nchw;
  return k;
}

std::unique_ptr<Kernel> make_concat_kernel(const NodeDesc& n, const Context&) {
  if (!onnx_domain(*n.node) || n.node->op_type != "Concat" || n.outputs.size() != 1 || n.inputs.empty()) return nullptr;
  const ValueDesc& y = n.outputs[0];
  const auto rank = static_cast<int64_t>(y.shape.size());
  int64_t axis = n.node->attr_int("axis", 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return nullptr;
  for (const ValueDesc& v : n.inputs) {
    if (v.id < 0 || v.dtype != y.dtype || static_cast<int64_t>(v.shape.size()) != rank) return nullptr;
  }
  // Channel concat of Nhwc inputs stays Nhwc: channels are the innermost axis there.
  bool nhwc = rank == 4 && axis == 1;
  if (nhwc) {
    nhwc = false;
    for (const ValueDesc& v : n.inputs) nhwc = nhwc || (v.layout == Layout::Nhwc && !layout_free(v));
  }
  ir::Shape phys = y.shape;
  int64_t pa = axis;
  if (nhwc) {
    phys = {y.shape[0], y.shape[2], y.shape[3], y.shape[1]};
    pa = 3;
  }
  size_t outer = 1;
  for (int64_t k = 0; k < pa; ++k) outer *= static_cast<size_t>(phys[static_cast<size_t>(k)]);
  size_t inner = ir::dtype_size(y.dtype);
  for (int64_t k = pa + 1; k < rank; ++k) inner *= static_cast<size_t>(phys[static_cast<size_t>(k)]);
  std::vector<size_t> runs;
  for (const ValueDesc& v : n.inputs) runs.push_back(static_cast<size_t>(v.shape[static_cast<size_t>(axis)]) * inner);
  auto k = std::make_unique<ConcatKernel>(outer, std::move(runs));
  const Layout l = nhwc ? Layout::Nhwc : Layout::Nchw;
  k->input_layouts.assign(n.inputs.size(), l);
  k->output_layouts = {l};
  return k;
}

}  // namespace hone::runtime::cpu
