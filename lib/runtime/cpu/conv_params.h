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
