// QuantizeLinear and DequantizeLinear (per tensor) between float32 and int8 / uint8, with the
// reference's exact arithmetic (quantized_common.h): q = saturate(round_half_even(fl32(x / s)) + zp)
// (NaN -> zp) and x = fl32(q - zp) * s. Elementwise, so they read and write either layout.
#include "runtime/cpu/kernel.h"

#include "runtime/reference/kernels/quantized_common.h"

#include <algorithm>
#include <cmath>

namespace hone::runtime::cpu {

namespace {

namespace quant = reference::quant;

// clamp(round_half_even(fl32(x / s)), lo, hi), NaN -> 0 (then + zp): nearbyint rounds half to
// even in the default rounding mode, which hone never changes; GCC vectorises it.
__attribute__((target_clones("avx512f", "avx2", "default"))) void quantize_round(const float* __restrict x,
                                                                                 int32_t* __restrict q, size_t n,
                                                                                 float scale, float lo, float hi) {
  for (size_t i = 0; i < n; ++i) {
    float v = __builtin_nearbyintf(x[i] / scale);
    v = v == v ? v : 0.0f;
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    q[i] = static_cast<int32_t>(v);
  }
}

template <typename Q>
__attribute__((target_clones("avx512f", "avx2", "default"))) void narrow(const int32_t* __restrict q, Q* __restrict y,
                                                                         size_t n, int32_t zp) {
  for (size_t i = 0; i < n; ++i) y[i] = static_cast<Q>(q[i] + zp);
}

template <typename Q>
void quantize(const float* x, Q* q, size_t n, float scale, int32_t zp, quant::QRange r, int32_t* tmp) {
  const float lo = static_cast<float>(r.lo - zp), hi = static_cast<float>(r.hi - zp);
  constexpr size_t kBlock = 1024;
  for (size_t i = 0; i < n; i += kBlock) {
    const size_t b = std::min(kBlock, n - i);
    quantize_round(x + i, tmp, b, scale, lo, hi);
    narrow(tmp, q + i, b, zp);
  }
}

template <typename Q>
__attribute__((target_clones("avx512f", "avx2", "default"))) void dequantize(const Q* __restrict q, float* __restrict x,
                                                                             size_t n, float scale, int32_t zp) {
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<float>(static_cast<int32_t>(q[i]) - zp) * scale;
}

class QuantizeKernel final : public Kernel {
 public:
  QuantizeKernel(bool to_int, ir::DType qtype, size_t n, float scale, int32_t zp)
      : to_int_(to_int), qtype_(qtype), n_(n), scale_(scale), zp_(zp), range_(quant::qrange(qtype)) {}
  void run(void* const* ptrs) override {
    const bool s8 = qtype_ == ir::DType::Int8;
    if (to_int_) {
      const auto* x = static_cast<const float*>(ptrs[in[0]]);
      if (s8) quantize(x, static_cast<int8_t*>(ptrs[out[0]]), n_, scale_, zp_, range_, tmp_);
      else quantize(x, static_cast<uint8_t*>(ptrs[out[0]]), n_, scale_, zp_, range_, tmp_);
    } else {
      auto* x = static_cast<float*>(ptrs[out[0]]);
      if (s8) dequantize(static_cast<const int8_t*>(ptrs[in[0]]), x, n_, scale_, zp_);
      else dequantize(static_cast<const uint8_t*>(ptrs[in[0]]), x, n_, scale_, zp_);
    }
  }
  std::string name() const override { return to_int_ ? "quantize" : "dequantize"; }

 private:
  bool to_int_;
  ir::DType qtype_;
  size_t n_;
  float scale_;
  int32_t zp_;
  quant::QRange range_;
  int32_t tmp_[1024];  // one block of rounded values
};

}  // namespace

std::unique_ptr<Kernel> make_quantize_kernel(const NodeDesc& d, const Context&) {
  const ir::Node& node = *d.node;
  const bool q = node.op_type == "QuantizeLinear", dq = node.op_type == "DequantizeLinear";
  if ((!q && !dq) || !onnx_domain(node) || d.inputs.size() < 2 ||
      d.outputs.size() != 1 || !d.fused.empty()) {
    return nullptr;
  }
  if (node.has_attr("saturate") || node.has_attr("output_dtype") || node.has_attr("block_size")) return nullptr;
  const ValueDesc& x = d.inputs[0];
  const ValueDesc& y = d.outputs[0];
  const ValueDesc& s = d.inputs[1];
  if (x.id < 0 || !s.constant || s.dtype != ir::DType::Float32 || s.constant->numel() != 1) return nullptr;
  const float scale = s.constant->data<float>()[0];
  if (!std::isfinite(scale) || (q && !(scale > 0))) return nullptr;
  const ir::DType qtype = q ? y.dtype : x.dtype;
  if (qtype != ir::DType::Int8 && qtype != ir::DType::UInt8) return nullptr;
  if ((q ? x.dtype : y.dtype) != ir::DType::Float32) return nullptr;
  int32_t zp = 0;
  if (d.inputs.size() > 2 && d.inputs[2].id >= 0) {
    const ir::Tensor* z = d.inputs[2].constant;
    if (!z || z->numel() != 1 || z->dtype() != qtype) return nullptr;
    zp = qtype == ir::DType::Int8 ? z->data<int8_t>()[0] : z->data<uint8_t>()[0];
  }
  auto k = std::make_unique<QuantizeKernel>(q, qtype, static_cast<size_t>(ir::checked_numel(y.shape)), scale, zp);
  k->input_layouts.assign(d.inputs.size(), Layout::Nchw);
  k->input_layouts[0] = x.layout;
  k->output_layouts = {x.layout};
  return k;
}

}  // namespace hone::runtime::cpu
