#include "runtime/cpu/conv_params.h"

#include "runtime/cpu/xnnpack_util.h"
#include "runtime/reference/kernels/quantized_common.h"

#include <algorithm>
#include <cmath>

namespace hone::runtime::cpu {

namespace {

using xnn::is_float;

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

namespace {

// The constant per-tensor (one value) or per-channel (n values) contents of input `i`: empty
// when the input is omitted, nullopt when it is not such a constant of T.
template <typename T>
std::optional<std::vector<T>> constant_values(const NodeDesc& d, size_t i, int64_t n) {
  if (d.inputs.size() <= i || d.inputs[i].id < 0) return std::vector<T>{};
  const ir::Tensor* t = d.inputs[i].constant;
  if (!t || ir::dtype_size(t->dtype()) != sizeof(T) || !(t->numel() == 1 || t->numel() == n)) return std::nullopt;
  return std::vector<T>(t->data<T>(), t->data<T>() + t->numel());
}

bool is8(ir::DType t) { return t == ir::DType::Int8 || t == ir::DType::UInt8; }

}  // namespace

std::optional<QConvParams> qlinear_conv_params(const NodeDesc& d) {
  const ir::Node& node = *d.node;
  if (!onnx_op(node, "QLinearConv") || d.inputs.size() < 8 || d.outputs.size() != 1 || !d.fused.empty()) return std::nullopt;
  const ValueDesc& x = d.inputs[0];
  const ValueDesc& w = d.inputs[3];
  const ValueDesc& y = d.outputs[0];
  if (x.id < 0 || x.constant || !is8(x.dtype) || x.shape.size() != 4 || !w.constant || w.dtype != ir::DType::Int8 ||
      w.shape.size() != 4 || !is8(y.dtype) || y.shape.size() != 4) {
    return std::nullopt;
  }
  for (size_t i : {1u, 2u, 4u, 5u, 6u, 7u}) {
    if (d.inputs[i].id >= 0 && !d.inputs[i].constant) return std::nullopt;
  }
  const int64_t M = w.shape[0], groups = node.attr_int("group", 1);
  if (groups < 1 || M % groups != 0 || w.shape[1] * groups != x.shape[1] || y.shape[1] != M ||
      y.shape[0] != x.shape[0]) {
    return std::nullopt;
  }
  const auto sx = constant_values<float>(d, 1, 1), sw = constant_values<float>(d, 4, M);
  const auto sy = constant_values<float>(d, 6, 1);
  const auto wzp = constant_values<int8_t>(d, 5, M);
  const auto bias = constant_values<int32_t>(d, 8, M);
  if (!sx || !sw || !sy || !wzp || !bias || sx->size() != 1 || sy->size() != 1 || sw->empty()) return std::nullopt;
  if (!bias->empty() && static_cast<int64_t>(bias->size()) != M) return std::nullopt;
  if (std::any_of(wzp->begin(), wzp->end(), [](int8_t z) { return z != 0; })) return std::nullopt;
  for (size_t i : {2u, 7u}) {
    if (d.inputs[i].id >= 0 && (d.inputs[i].constant->numel() != 1 || d.inputs[i].dtype != (i == 2 ? x.dtype : y.dtype))) {
      return std::nullopt;
    }
  }
  QConvParams p;
  p.geometry = reference::window_geometry(node, {x.shape[2], x.shape[3]}, {w.shape[2], w.shape[3]});
  if (p.geometry.out_spatial != std::vector<int64_t>{y.shape[2], y.shape[3]}) return std::nullopt;
  for (int64_t v : p.geometry.pads_begin) if (v < 0) return std::nullopt;
  for (int64_t v : p.geometry.pads_end) if (v < 0) return std::nullopt;
  for (int64_t m = 0; m < M; ++m) {
    const float s = (*sw)[sw->size() == 1 ? 0 : static_cast<size_t>(m)];
    if (!(s > 0) || !std::isfinite(s) || !((*sx)[0] > 0) || !((*sy)[0] > 0)) return std::nullopt;
    const float mult = reference::quant::requant_multiplier((*sx)[0], s, (*sy)[0]);
    if (!std::isfinite(mult)) return std::nullopt;
    p.multipliers.push_back(mult);
  }
  const auto zero_point = [&](size_t i) -> int32_t {
    if (d.inputs[i].id < 0) return 0;
    const ir::Tensor& t = *d.inputs[i].constant;
    return t.dtype() == ir::DType::Int8 ? t.data<int8_t>()[0] : t.data<uint8_t>()[0];
  };
  const auto u = [](int64_t v) { return static_cast<size_t>(v); };
  p.n = u(x.shape[0]), p.c = u(x.shape[1]), p.h = u(x.shape[2]), p.w = u(x.shape[3]);
  p.m = u(M), p.cg = u(w.shape[1]), p.kh = u(w.shape[2]), p.kw = u(w.shape[3]);
  p.oh = u(y.shape[2]), p.ow = u(y.shape[3]);
  p.groups = u(groups);
  p.weights = w.constant->data<int8_t>();
  p.bias = bias->empty() ? std::vector<int32_t>(p.m, 0) : *bias;
  p.x_zp = zero_point(2);
  p.y_zp = zero_point(7);
  p.x_type = x.dtype;
  p.y_type = y.dtype;
  return p;
}

}  // namespace hone::runtime::cpu
