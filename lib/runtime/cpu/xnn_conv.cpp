// Conv, Gemm and MatMul with constant weights on XNNPACK (f32), with a following Relu / Clip
// fused into the output clamp. Convolutions read and write Nhwc; weights are repacked from
// ONNX's [M, C/g, kh, kw] to XNNPACK's [g][M/g][kh][kw][C/g] once, at prepare, and XNNPACK
// packs them again into its microkernel layout when the operator is created.
#include "runtime/cpu/conv_params.h"
#include "runtime/cpu/xnnpack_util.h"
#include "runtime/reference/kernel_util.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace hone::runtime::cpu {

namespace {

using xnn::is_float;

// Largest packed-weight slice of one convolution operator (see make_xnn_conv_kernel).
const size_t kSliceWeightBytes = [] {
  const char* e = std::getenv("HONE_CONV_SLICE_KB");
  return static_cast<size_t>(e ? std::atol(e) : 512) * 1024;
}();

}  // namespace

std::unique_ptr<Kernel> make_xnn_conv_kernel(const NodeDesc& d, const Context& c) {
  if (!xnn::available()) return nullptr;
  const auto params = float_conv_params(d, c);
  if (!params) return nullptr;
  const ir::Node& node = *d.node;
  const ConvParams& p = *params;
  const xnn::Nchw xd{p.n, p.c, p.h, p.w};
  const size_t M = p.m, Cg = p.cg, kh = p.kh, kw = p.kw;
  const auto& g = p.geometry;
  const size_t groups = p.groups;
  const float* bias = p.bias.data();
  // [M][Cg][kh][kw] -> [M][kh][kw][Cg] (M is already group-major).
  const float* src = p.weights.data();
  std::vector<float> packed(M * kh * kw * Cg);
  for (size_t m = 0; m < M; ++m) {
    for (size_t ci = 0; ci < Cg; ++ci) {
      for (size_t i = 0; i < kh * kw; ++i) packed[(m * kh * kw + i) * Cg + ci] = src[(m * Cg + ci) * kh * kw + i];
    }
  }
  const auto G = static_cast<uint32_t>(groups);
  // Split a large ungrouped convolution into output-channel slices whose packed weights stay in
  // L2: XNNPACK walks output pixels in tiles of a few rows and streams the whole weight matrix
  // once per tile, so for ResNet-18's last stage (9.4 MB of weights, 49 pixels) one operator
  // re-reads them 7 times from L3. Each slice writes its channels into the shared Nhwc output
  // through XNNPACK's output channel stride.
  const size_t slice_bytes = kh * kw * Cg * sizeof(float);
  size_t slice = M;
  if (G == 1 && M * slice_bytes > kSliceWeightBytes && p.oh * p.ow > 8) {
    slice = std::max<size_t>(16, kSliceWeightBytes / slice_bytes / 16 * 16);
  }
  std::vector<xnn::Op> ops;
  std::vector<size_t> first_channel;
  for (size_t m0 = 0; m0 < M; m0 += slice) {
    const size_t mc = std::min(slice, M - m0);
    xnn_operator_t op = nullptr;
    const xnn_status s = xnn_create_convolution2d_nhwc_f32(
        static_cast<uint32_t>(g.pads_begin[0]), static_cast<uint32_t>(g.pads_end[1]), static_cast<uint32_t>(g.pads_end[0]),
        static_cast<uint32_t>(g.pads_begin[1]), static_cast<uint32_t>(kh), static_cast<uint32_t>(kw),
        static_cast<uint32_t>(g.strides[0]), static_cast<uint32_t>(g.strides[1]), static_cast<uint32_t>(g.dilations[0]),
        static_cast<uint32_t>(g.dilations[1]), G, Cg, slice == M ? M / G : mc, xd.c, M, packed.data() + m0 * kh * kw * Cg,
        bias ? bias + m0 : nullptr, d.activation.min, d.activation.max, 0, &op);
    xnn::Op created = xnn::created(s, op, node, "xnn_create_convolution2d_nhwc_f32");
    if (!created) return nullptr;
    ops.push_back(std::move(created));
    first_channel.push_back(m0);
  }
  const std::string name = G > 1 && Cg == 1 ? "xnnpack:dwconv" : "xnnpack:conv";
  auto k = std::make_unique<xnn::XnnKernel>(
      ops.size() > 1 ? fmt::format("{}x{}", name, ops.size()) : name, std::move(ops),
      [xd, first_channel](const xnn::XnnKernel& k, void* const* p, pthreadpool_t pool) {
        xnn_status s = xnn_status_success;
        for (size_t i = 0; i < first_channel.size() && s == xnn_status_success; ++i) {
          s = xnn_setup_convolution2d_nhwc_f32(k.op(i), xd.n, xd.h, xd.w, static_cast<const float*>(p[k.in[0]]),
                                              static_cast<float*>(p[k.out[0]]) + first_channel[i], pool);
        }
        return s;
      },
      c.threadpool);
  k->input_layouts.assign(d.inputs.size(), Layout::Nchw);
  k->input_layouts[0] = Layout::Nhwc;
  k->output_layouts = {Layout::Nhwc};
  return k;
}

// Gemm (transA = 0, constant B, constant C broadcast along rows) and MatMul with a constant
// 2-D B: a fully connected operator over the rows of A. alpha and beta are folded into the
// packed weights and bias.
std::unique_ptr<Kernel> make_xnn_dense_kernel(const NodeDesc& d, const Context& c) {
  const ir::Node& node = *d.node;
  const bool gemm = onnx_op(node, "Gemm"), matmul = onnx_op(node, "MatMul");
  if ((!gemm && !matmul) || !xnn::available() || d.inputs.size() < 2 || d.outputs.size() != 1) return nullptr;
  const ValueDesc& a = d.inputs[0];
  const ValueDesc& b = d.inputs[1];
  const ValueDesc& y = d.outputs[0];
  if (!is_float(a) || !is_float(y) || !constant_floats(b) || b.shape.size() != 2 || a.shape.size() < 2) return nullptr;
  if (gemm && (a.shape.size() != 2 || node.attr_int("transA", 0) != 0)) return nullptr;
  const bool trans_b = gemm && node.attr_int("transB", 0) != 0;
  const auto K = static_cast<size_t>(trans_b ? b.shape[1] : b.shape[0]);
  const auto N = static_cast<size_t>(trans_b ? b.shape[0] : b.shape[1]);
  if (static_cast<size_t>(a.shape.back()) != K || static_cast<size_t>(y.shape.back()) != N) return nullptr;
  const size_t rows = static_cast<size_t>(ir::checked_numel(a.shape)) / std::max<size_t>(K, 1);
  const float alpha = gemm ? node.attr_float("alpha", 1.0f) : 1.0f;
  const float beta = gemm ? node.attr_float("beta", 1.0f) : 1.0f;

  // XNNPACK wants [N][K]; ONNX's B is [K][N] unless transB.
  const float* src = constant_floats(b);
  std::vector<float> packed(N * K);
  for (size_t n = 0; n < N; ++n) {
    for (size_t k = 0; k < K; ++k) packed[n * K + k] = alpha * (trans_b ? src[n * K + k] : src[k * N + n]);
  }
  std::vector<float> bias;
  if (gemm && d.inputs.size() > 2 && d.inputs[2].id >= 0) {
    const ValueDesc& cv = d.inputs[2];
    const float* cb = constant_floats(cv);
    const int64_t cn = cb ? ir::checked_numel(cv.shape) : -1;
    // C broadcast along rows: [N], [1, N], or one value.
    const bool row = cn == static_cast<int64_t>(N) && (cv.shape.size() == 1 || (cv.shape.size() == 2 && cv.shape[0] == 1));
    if (!row && cn != 1) return nullptr;
    bias.resize(N);
    for (size_t n = 0; n < N; ++n) bias[n] = beta * cb[row ? n : 0];
  }
  xnn_operator_t op = nullptr;
  const xnn_status s = xnn_create_fully_connected_nc_f32(K, N, K, N, packed.data(), bias.empty() ? nullptr : bias.data(),
                                                         d.activation.min, d.activation.max, 0, &op);
  xnn::Op created = xnn::created(s, op, node, "xnn_create_fully_connected_nc_f32");
  if (!created) return nullptr;
  std::vector<xnn::Op> ops;
  ops.push_back(std::move(created));
  auto k = std::make_unique<xnn::XnnKernel>(
      "xnnpack:fully_connected", std::move(ops),
      [rows](const xnn::XnnKernel& k, void* const* p, pthreadpool_t pool) {
        return xnn_setup_fully_connected_nc_f32(k.op(), rows, static_cast<const float*>(p[k.in[0]]),
                                                static_cast<float*>(p[k.out[0]]), pool);
      },
      c.threadpool);
  k->input_layouts.assign(d.inputs.size(), Layout::Nchw);
  k->output_layouts = {Layout::Nchw};
  return k;
}

}  // namespace hone::runtime::cpu
