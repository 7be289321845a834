#include "runtime/cpu/conv_params.h"

#include "runtime/cpu/xnnpack_util.h"

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

}  // namespace hone::runtime::cpu
