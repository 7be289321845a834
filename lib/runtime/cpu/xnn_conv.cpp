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

bool onnx_op(const ir::Node& node, const char* op) {
  return (node.domain.empty() || node.domain == "ai.onnx") && node.op_type == op;
}

const float* constant_floats(const ValueDesc& v) {
  return v.constant && v.dtype == ir::DType::Float32 ? static_cast<const float*>(v.constant->raw()) : nullptr;
}

// A bias of `n` values, or nullptr when the input is absent; false when present but not a
// constant float vector of n.
bool bias_values(const NodeDesc& d, size_t index, size_t n, const float** bias) {
  *bias = nullptr;
  if (d.inputs.size() <= index || d.inputs[index].id < 0) return true;
  const ValueDesc& b = d.inputs[index];
  if (!constant_floats(b) || static_cast<size_t>(ir::checked_numel(b.shape)) != n) return false;
  *bias = constant_floats(b);
  return true;
}

// BatchNormalization's four parameter tensors, each a float vector of n constants.
bool batch_norm_params(const ir::Node& bn, const ir::Graph& graph, int64_t n, const float* p[4]) {
  if (bn.inputs.size() != 5) return false;
  for (size_t i = 0; i < 4; ++i) {
    const ir::Tensor* t = graph.initializer(bn.inputs[i + 1]);
    if (!t || t->dtype() != ir::DType::Float32 || t->shape().size() != 1 || (n >= 0 && t->shape()[0] != n)) return false;
    p[i] = static_cast<const float*>(t->raw());
  }
  return true;
}

}  // namespace

bool foldable_batch_norm(const ir::Node& node, const ir::Graph& graph) {
  const float* p[4];
  // Inference mode only: one output, no training_mode (opset 14+) set.
  return onnx_op(node, "BatchNormalization") && node.outputs.size() == 1 && node.attr_int("training_mode", 0) == 0 &&
         batch_norm_params(node, graph, -1, p);
}

std::optional<ConvParams> float_conv_params(const NodeDesc& d, const Context& c) {
  const ir::Node& node = *d.node;
  if (!onnx_op(node, "Conv") || d.inputs.size() < 2 || d.outputs.size() != 1) return std::nullopt;
  const ValueDesc& x = d.inputs[0];
  const ValueDesc& w = d.inputs[1];
  const ValueDesc& y = d.outputs[0];
  if (!is_float(x) || !is_float(y) || !constant_floats(w) || x.shape.size() != 4 || w.shape.size() != 4 ||
      y.shape.size() != 4) {
    return std::nullopt;
  }
  ConvParams p;
  const auto xd = xnn::dims4(x), yd = xnn::dims4(y);
  p.n = xd.n, p.c = xd.c, p.h = xd.h, p.w = xd.w, p.oh = yd.h, p.ow = yd.w;
  const int64_t groups = node.attr_int("group", 1);
  p.m = static_cast<size_t>(w.shape[0]), p.cg = static_cast<size_t>(w.shape[1]);
  p.kh = static_cast<size_t>(w.shape[2]), p.kw = static_cast<size_t>(w.shape[3]);
  if (groups < 1 || p.m % static_cast<size_t>(groups) != 0 || p.cg * static_cast<size_t>(groups) != xd.c || yd.c != p.m) {
    return std::nullopt;
  }
  p.groups = static_cast<size_t>(groups);
  const float* bias = nullptr;
  if (!bias_values(d, 2, p.m, &bias)) return std::nullopt;
  p.geometry = reference::window_geometry(node, {x.shape[2], x.shape[3]}, {w.shape[2], w.shape[3]});
  if (p.geometry.out_spatial != std::vector<int64_t>{y.shape[2], y.shape[3]}) return std::nullopt;
  for (int64_t v : p.geometry.pads_begin) if (v < 0) return std::nullopt;
  for (int64_t v : p.geometry.pads_end) if (v < 0) return std::nullopt;
  p.bias.assign(p.m, 0.0f);
  if (bias) p.bias.assign(bias, bias + p.m);
  const float* src = constant_floats(w);
  p.weights.assign(src, src + p.m * p.cg * p.kh * p.kw);
  // A folded BatchNormalization: y = (conv - mean) * scale / sqrt(var + eps) + B, per channel,
  // becomes weights * s and bias (b - mean) * s + B with s = scale / sqrt(var + eps).
  if (d.batch_norm) {
    const float* bn[4];  // scale, B, mean, var
    if (!c.graph || !batch_norm_params(*d.batch_norm, *c.graph, static_cast<int64_t>(p.m), bn)) return std::nullopt;
    const double eps = d.batch_norm->attr_float("epsilon", 1e-5f);
    const size_t per = p.cg * p.kh * p.kw;
    for (size_t m = 0; m < p.m; ++m) {
      const double sc = static_cast<double>(bn[0][m]) / std::sqrt(static_cast<double>(bn[3][m]) + eps);
      for (size_t i = 0; i < per; ++i) p.weights[m * per + i] = static_cast<float>(p.weights[m * per + i] * sc);
      p.bias[m] = static_cast<float>((static_cast<double>(p.bias[m]) - bn[2][m]) * sc + bn[1][m]);
    }
  }
  for (float v : p.weights) p.zeros += v == 0.0f;
  return p;
}

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
  struct {
    size_t h, w;
  } yd{p.oh, p.ow};
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
  if (G == 1 && M * slice_bytes > kSliceWeightBytes && yd.h * yd.w > 8) {
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
