// Integer semantics shared by the quantized reference kernels (QuantizeLinear, DequantizeLinear,
// DynamicQuantizeLinear, MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv).
//
// These functions ARE the specification that the int8 runtime and the generated C code are
// tested against bit-exactly:
//   quantize    q = saturate(round_half_even(x / scale) + zero_point)   (QuantizeLinear)
//   dequantize  x = float32(q - zero_point) * scale                      (DequantizeLinear)
//   accumulate  acc = sum (x - x_zp) * (w - w_zp) [+ bias], int32, wrapping on overflow
//   requantize  y = saturate(round_half_even(acc * M) + y_zp), M = fl32(fl32(s_x * s_w) / s_y)
// saturate clamps to the output type: int8 [-128, 127], uint8 [0, 255]. Rounding is half to
// even (IEEE roundTiesToEven) and never depends on the floating-point environment.
#pragma once

#include "ir/dtype.h"
#include "ir/tensor.h"
#include "runtime/reference/kernel.h"

#include <cstdint>
#include <vector>

namespace hone::runtime::reference::quant {

// Value range of a quantized type.
struct QRange {
  int32_t lo;
  int32_t hi;
};
// int8 -> [-128, 127], uint8 -> [0, 255]; InternalError for any other dtype.
QRange qrange(ir::DType t);

// Nearest integer to v, ties to even (2.5 -> 2, 3.5 -> 4, -2.5 -> -2). v is returned unchanged
// when it is already integral, infinite or NaN.
double round_half_even(double v);

// saturate(round_half_even(v) + zero_point) into r. The spec leaves NaN undefined; it maps to
// zero_point (the quantized 0.0).
int32_t quantize_value(double v, int32_t zero_point, QRange r);

// The requantization multiplier of QLinearConv / QLinearMatMul, in float32 and in this order
// (as ONNX's numpy reference and ONNX Runtime compute it):
//   M = fl32(fl32(a_scale * b_scale) / y_scale)
float requant_multiplier(float a_scale, float b_scale, float y_scale);

// y = saturate(round_half_even(acc * M) + zero_point), where acc * M is the EXACT real product,
// not a float product: a float32 M is m * 2^-shift with m a 24-bit integer, so acc * m is exact
// in int64 and the result is a round-half-even right shift. A fixed-point implementation that
// keeps M's 24-bit significand reproduces it bit for bit; so does double(acc) * double(M) while
// |acc| < 2^29. M must be finite and >= 0 (the kernels validate their scales).
int32_t requantize(int32_t acc, float multiplier, int32_t zero_point, QRange r);

// The spec lets the int32 accumulator overflow ("accumulation may overflow if and only if in
// 32 bits"); we define that as two's-complement wraparound, what 32-bit hardware does.
inline int32_t wrapping_add(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}

// ------------------------------------------------------------------------ tensor conversion
// Elements of an int8 / uint8 / int32 tensor widened to int32.
std::vector<int32_t> to_int32(const ir::Tensor& t);
// An int8 / uint8 / int32 tensor holding `v`, whose values must already lie in dt's range.
ir::Tensor from_int32(ir::DType dt, ir::Shape shape, const std::vector<int32_t>& v);

// ------------------------------------------------------- scales and zero points (untrusted)
// A per-tensor (one value) or per-axis / per-channel (one value per index) parameter.
template <typename T>
struct ChannelParam {
  std::vector<T> values;
  size_t size() const { return values.size(); }
  T operator[](int64_t c) const {
    return values.size() == 1 ? values[0] : values[static_cast<size_t>(c)];
  }
};

enum class ScaleRule {
  Finite,    // any finite value (DequantizeLinear only multiplies by it)
  Positive,  // finite and > 0 (divided by, or part of a requantization multiplier)
};

// Values of a scale tensor: float32, each finite (and > 0 under ScaleRule::Positive).
std::vector<float> scale_values(const ir::Tensor& t, const char* what, ScaleRule rule);
// BadInput unless a zero point has the dtype of the quantized data it belongs to.
void check_zero_point_dtype(const ir::Tensor& zp, const char* what, ir::DType data_dtype);

// Reads a scale given as one value (rank 0, or 1-D of one element) or, when n > 0, as a 1-D
// tensor of n values. BadInput naming `what` for any other shape, dtype or a value the rule
// rejects.
ChannelParam<float> read_scale(const ir::Tensor& t, const char* what, int64_t n, ScaleRule rule);
// Same shapes for a zero point, whose dtype must equal `data_dtype` (the quantized tensor it
// belongs to). An omitted zero point (nullptr) is 0.
ChannelParam<int32_t> read_zero_point(const ir::Tensor* t, const char* what, ir::DType data_dtype,
                                      int64_t n);
// The spec requires a scale and its zero point to have the same shape.
void require_same_count(const ChannelParam<float>& scale, const ChannelParam<int32_t>& zp,
                        const ir::Tensor* zp_tensor, const char* scale_name, const char* zp_name);
// A requantization multiplier checked to be finite (a huge s_x * s_w / s_y overflows).
float checked_multiplier(float a_scale, float b_scale, float y_scale);

// Load-time check: input `zp` (when present and typed) has the dtype of input `data`.
void require_same_dtype(const KernelInfo& info, size_t zp, size_t data);

}  // namespace hone::runtime::reference::quant
