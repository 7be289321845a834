// QDQ -> integer operators: the rewrite that lets a runtime run a QDQ model (what
// quantize_static and ONNX Runtime's quantizer write) on integer kernels.
//
//   DequantizeLinear(x_q) ┐
//   DequantizeLinear(W_q) ├─ Conv ─ [Relu | Clip] ─ QuantizeLinear ─ y_q
//   DequantizeLinear(B_q) ┘
// becomes  QLinearConv(x_q, s_x, z_x, W_q, s_w, 0, s_y, z_y, B_q) -> y_q, and Gemm / MatMul with a
// constant 2-D weight becomes Reshape -> 1x1 QLinearConv -> Reshape (QLinearMatMul has no bias).
// The integer semantics are QLinearConv's (quantized_common.h: int32 accumulation of
// zero-point-shifted values, + B_q, requantization by M = fl32(fl32(s_x * s_w) / s_y), round half
// to even, saturation), so the runtime's integer kernel is bit-exact with the reference
// interpreter running the rewritten graph. The float QDQ graph computes the same convolution in
// float and rounds once at QuantizeLinear; the two differ by at most one quantization step where
// the float sum lands next to a rounding boundary.
//
// A pattern is rewritten only when:
//   - x and y are per-tensor (scale, zero point constants), int8 or uint8;
//   - W_q is a constant int8 tensor with per-tensor or per-output-channel scales and all-zero
//     zero points (symmetric, as quantize_static writes);
//   - B_q (optional) is a constant int32 vector with zero point 0 and scale fl32(s_x * s_w[m]),
//     exactly the bias scale QLinearConv implies;
//   - the activation between the op and QuantizeLinear (if any) is implied by saturation: Relu
//     with z_y at the bottom of y's range; Clip(lo, hi) whose bounds quantize outside y's range;
//   - each intermediate value has exactly one reader and is not a graph output.
// DequantizeLinear nodes left without readers are removed.
//
// Also DequantizeLinear -> MaxPool -> [Relu | Clip] -> QuantizeLinear (per-tensor, opset >= 12)
// becomes MaxPool on the quantized values (+ DequantizeLinear -> QuantizeLinear after it when
// the two sides' parameters differ); exact, since max commutes with an increasing map. And
// DequantizeLinear -> Flatten / Reshape / Squeeze / Unsqueeze / Transpose / Identity ->
// QuantizeLinear with equal per-tensor parameters becomes the op on the quantized values (exact:
// Q(DQ(v)) == v), so data movement between integer ops stays integer.
#pragma once

#include "ir/graph.h"

namespace hone::passes {

// Rewrites every matching pattern in place; returns how many were rewritten.
int fuse_qdq_to_qlinear(ir::Graph& graph);

}  // namespace hone::passes
