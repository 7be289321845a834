// QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear reference kernels.
// Rounding and saturation: quantized_common.h.
#include "runtime/reference/kernel_util.h"
#include "runtime/reference/kernels/quantized_common.h"

#include <algorithm>

namespace hone::runtime::reference::kernels {

namespace {
using ir::DType;

// Scale and zero point of QuantizeLinear / DequantizeLinear (inputs 1 and 2): one value, or
// (opset >= 13) one per index along `axis` of x. Element i of x uses index (i / inner) % size.
struct AxisQuantParams {
  quant::ChannelParam<float> scale;
  quant::ChannelParam<int32_t> zero_point;
  int64_t inner = 1;  // elements after the axis

  int64_t channel(int64_t i) const {
    return scale.size() == 1 ? 0 : (i / inner) % static_cast<int64_t>(scale.size());
  }
};

AxisQuantParams read_axis_params(const KernelArgs& a, const char* scale_name, const char* zp_name,
                                 quant::ScaleRule rule, DType zp_dtype) {
  const ir::Tensor& x = a.in(0);
  const ir::Tensor& scale = a.in(1);
  AxisQuantParams p;
  int64_t n = 0;  // 0: per-tensor only
  // The axis is "ignored for per-tensor quantization", so it is only resolved for a 1-D scale.
  if (a.since_version >= 13 && scale.rank() == 1 && scale.numel() != 1) {
    const int64_t rank = static_cast<int64_t>(x.rank());
    if (rank == 0) throw bad_input("per-axis {} needs x of rank >= 1", scale_name);
    const int64_t axis = normalize_axis(a.node.attr_int("axis", 1), rank);
    n = x.dim(axis);
    for (int64_t d = axis + 1; d < rank; ++d) p.inner *= x.dim(d);
  }
  p.scale = quant::read_scale(scale, scale_name, n, rule);
  p.zero_point = quant::read_zero_point(a.opt(2), zp_name, zp_dtype, n);
  quant::require_same_count(p.scale, p.zero_point, a.opt(2), scale_name, zp_name);
  return p;
}

// x / scale as ONNX's numpy reference computes it: float32 x in float32; int32 x in double
// (numpy promotes int32 / float32 to float64). Either quotient is then rounded exactly.
double quotient(const ir::Tensor& x, int64_t i, float scale) {
  if (x.dtype() == DType::Float32) return static_cast<double>(x.data<float>()[i] / scale);
  return static_cast<double>(x.data<int32_t>()[i]) / static_cast<double>(scale);
}
}  // namespace

// ------------------------------------------------------------------------------ QuantizeLinear
// y = saturate(round_half_even(x / y_scale) + y_zero_point); y has y_zero_point's dtype (uint8
// when it is omitted).
void check_QuantizeLinear(const KernelInfo& info) {
  require_dtype(info, 0, {DType::Float32, DType::Int32});
  require_dtype(info, 1, {DType::Float32});
  require_dtype(info, 2, {DType::Int8, DType::UInt8});
  info.node.attr_int("axis", 1);  // BadInput now if present with the wrong kind
}

void run_QuantizeLinear(KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  require_dtype(x, "x", {DType::Float32, DType::Int32});
  const ir::Tensor* zp = a.opt(2);
  const DType out = zp ? zp->dtype() : DType::UInt8;
  if (zp) require_dtype(*zp, "y_zero_point", {DType::Int8, DType::UInt8});
  const AxisQuantParams p =
      read_axis_params(a, "y_scale", "y_zero_point", quant::ScaleRule::Positive, out);
  const quant::QRange range = quant::qrange(out);
  std::vector<int32_t> y(static_cast<size_t>(x.numel()));
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t c = p.channel(i);
    y[static_cast<size_t>(i)] =
        quant::quantize_value(quotient(x, i, p.scale[c]), p.zero_point[c], range);
  }
  a.outputs[0] = quant::from_int32(out, x.shape(), y);
}

// ---------------------------------------------------------------------------- DequantizeLinear
// y = float32(x - x_zero_point) * x_scale, the product in float32. int32 x has no zero point
// ("supposed to be 0"): a given one must be all zeros.
void check_DequantizeLinear(const KernelInfo& info) {
  require_dtype(info, 0, {DType::Int8, DType::UInt8, DType::Int32});
  require_dtype(info, 1, {DType::Float32});
  quant::require_same_dtype(info, 2, 0);
  info.node.attr_int("axis", 1);  // BadInput now if present with the wrong kind
}

void run_DequantizeLinear(KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  require_dtype(x, "x", {DType::Int8, DType::UInt8, DType::Int32});
  const AxisQuantParams p =
      read_axis_params(a, "x_scale", "x_zero_point", quant::ScaleRule::Finite, x.dtype());
  if (x.dtype() == DType::Int32 &&
      std::any_of(p.zero_point.values.begin(), p.zero_point.values.end(),
                  [](int32_t z) { return z != 0; })) {
    throw bad_input("x_zero_point must be 0 when x is int32");
  }
  const std::vector<int32_t> q = quant::to_int32(x);  // int32 x: q - 0 cannot overflow
  ir::Tensor y = ir::Tensor::zeros(DType::Float32, x.shape());
  float* out = y.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t c = p.channel(i);
    out[i] = static_cast<float>(q[static_cast<size_t>(i)] - p.zero_point[c]) * p.scale[c];
  }
  a.outputs[0] = std::move(y);
}

// ----------------------------------------------------------------------- DynamicQuantizeLinear
// uint8 only (opset 11). All float32, following ONNX's numpy reference:
//   lo = min(0, min(x)), hi = max(0, max(x))             (NaN elements are skipped)
//   y_scale = (hi - lo) / 255, or 1 / 255 when hi == lo    (all-zero or empty x; the spec's formula
//                                                         divides by zero there, ONNX's reference
//                                                         uses 1/255, ONNX Runtime 1.0)
//   y_zero_point = saturate(round_half_even(0 - lo / y_scale))
//   y = saturate(round_half_even(x / y_scale) + y_zero_point)
void check_DynamicQuantizeLinear(const KernelInfo& info) {
  require_dtype(info, 0, {DType::Float32});
}

void run_DynamicQuantizeLinear(KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  require_dtype(x, "x", {DType::Float32});
  const quant::QRange range = quant::qrange(DType::UInt8);
  float lo = 0.0f, hi = 0.0f;
  for (float v : x.span<float>()) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const float span = hi == lo ? 1.0f : hi - lo;
  const float scale = span / static_cast<float>(range.hi - range.lo);
  const int32_t zp = quant::quantize_value(static_cast<double>(0.0f - lo / scale), 0, range);
  std::vector<int32_t> y(static_cast<size_t>(x.numel()));
  for (int64_t i = 0; i < x.numel(); ++i) {
    y[static_cast<size_t>(i)] = quant::quantize_value(quotient(x, i, scale), zp, range);
  }
  a.outputs[0] = quant::from_int32(DType::UInt8, x.shape(), y);
  if (a.wants_output(1)) a.outputs[1] = ir::Tensor::scalar(scale);
  if (a.wants_output(2)) a.outputs[2] = ir::Tensor::scalar(static_cast<uint8_t>(zp));
}

}  // namespace hone::runtime::reference::kernels
