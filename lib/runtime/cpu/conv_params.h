// A float Conv with constant weights as the cpu runtime's convolution kernels take it (XNNPACK's
// dense one, the sparse one): shapes checked against the plan, a fused BatchNormalization folded
// into the weights and bias.
#pragma once

#include "runtime/cpu/kernel.h"
#include "runtime/reference/kernel_util.h"

#include <optional>

namespace hone::runtime::cpu {

struct ConvParams {
  size_t n, c, h, w;        // input
  size_t m, cg, kh, kw;     // weights [M, C/g, kh, kw]
  size_t oh, ow;            // output
  size_t groups;
  reference::WindowGeometry geometry;  // strides, dilations, pads (all >= 0)
  std::vector<float> weights;          // [M][C/g][kh][kw], BatchNormalization folded in
  std::vector<float> bias;             // [M]; zeros when the Conv has none
  size_t zeros = 0;                    // weights equal to 0
};

// nullopt when the node is not a 2-D float Conv with constant weights (and bias) whose planned
// shapes agree with its attributes.
std::optional<ConvParams> float_conv_params(const NodeDesc& d, const Context& c);

}  // namespace hone::runtime::cpu

namespace hone::runtime::cpu {

// A QLinearConv as the cpu runtime's int8 kernels take it: 2-D, int8 / uint8 activations, int8
// weights with zero point 0 (symmetric, what quantize_static writes), constant per-tensor
// activation scales and zero points, per-tensor or per-channel weight scales, constant int32 bias.
struct QConvParams {
  size_t n, c, h, w;     // input
  size_t m, cg, kh, kw;  // weights [M, C/g, kh, kw]
  size_t oh, ow;         // output
  size_t groups;
  reference::WindowGeometry geometry;  // strides, dilations, pads (all >= 0)
  const int8_t* weights = nullptr;     // [M][C/g][kh][kw], the constant's bytes
  std::vector<int32_t> bias;           // [M]; zeros when the node has none
  std::vector<float> multipliers;      // [M]: quant::requant_multiplier(s_x, s_w[m], s_y)
  int32_t x_zp = 0, y_zp = 0;
  ir::DType x_type = ir::DType::UInt8, y_type = ir::DType::UInt8;
};

// nullopt when the node is outside that fast path or its planned shapes disagree with its
// attributes (the reference kernel then runs it and reports what is wrong).
std::optional<QConvParams> qlinear_conv_params(const NodeDesc& d);

}  // namespace hone::runtime::cpu
