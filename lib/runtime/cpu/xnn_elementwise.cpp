// Elementwise ops on XNNPACK (f32): Add / Sub / Mul / Div / Max / Min with ONNX broadcasting
// and a fused Relu / Clip, and the unary Relu, Clip, HardSwish, Sigmoid, LeakyRelu. Unary ops
// read and write whatever layout their input is stored in; binary ops run in Nhwc when an input
// already is (their other inputs must then be 4-D or broadcast only along N / C).
#include "runtime/cpu/xnnpack_util.h"

#include <array>
#include <cmath>
#include <cstring>

namespace hone::runtime::cpu {

namespace {

// A scalar float constant input (Clip's min / max), or `def` when the input is absent.
bool scalar_input(const ir::Graph& graph, const ir::Node& node, size_t i, float def, float* v) {
  *v = def;
  if (node.inputs.size() <= i || node.inputs[i].empty()) return true;
  const ir::Tensor* t = graph.initializer(node.inputs[i]);
  if (!t || t->dtype() != ir::DType::Float32 || t->numel() != 1) return false;
  *v = *static_cast<const float*>(t->raw());
  return true;
}

using Dims = std::array<size_t, XNN_MAX_TENSOR_DIMS>;

}  // namespace

bool fusable_activation(const ir::Node& node, int64_t since_version, const ir::Graph& graph, Activation* act) {
  if (!onnx_domain(node) || node.outputs.size() != 1) return false;
  if (node.op_type == "Relu") {
    *act = {0.0f, std::numeric_limits<float>::infinity()};
    return true;
  }
  if (node.op_type != "Clip") return false;
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  if (since_version < 11) {
    lo = node.attr_float("min", -std::numeric_limits<float>::max());
    hi = node.attr_float("max", std::numeric_limits<float>::max());
  } else if (!scalar_input(graph, node, 1, lo, &lo) || !scalar_input(graph, node, 2, hi, &hi)) {
    return false;
  }
  // XNNPACK needs min < max; NaN bounds and the degenerate min >= max stay on the reference.
  if (!(lo < hi)) return false;
  *act = {lo, hi};
  return true;
}

std::unique_ptr<Kernel> make_xnn_elementwise_kernel(const NodeDesc& d, const Context& c) {
  const ir::Node& node = *d.node;
  if (!onnx_domain(node) || !xnn::available() || d.outputs.size() != 1 || !xnn::is_float(d.outputs[0])) return nullptr;
  const std::string& op_type = node.op_type;
  const ValueDesc& y = d.outputs[0];
  const auto count = static_cast<size_t>(ir::checked_numel(y.shape));
  if (count == 0) return nullptr;

  // ------------------------------------------------------------------------------- binary
  using BinaryCreate = xnn_status (*)(float, float, uint32_t, xnn_operator_t*);
  using BinarySetup = xnn_status (*)(xnn_operator_t, size_t, const size_t*, size_t, const size_t*, const float*,
                                     const float*, float*, pthreadpool_t);
  struct Binary {
    const char* op;
    BinaryCreate create;
    BinarySetup setup;
  };
  static const Binary kBinary[] = {
      {"Add", &xnn_create_add_nd_f32, &xnn_setup_add_nd_f32},
      {"Sub", &xnn_create_subtract_nd_f32, &xnn_setup_subtract_nd_f32},
      {"Mul", &xnn_create_multiply_nd_f32, &xnn_setup_multiply_nd_f32},
      {"Div", &xnn_create_divide_nd_f32, &xnn_setup_divide_nd_f32},
  };
  for (const Binary& b : kBinary) {
    if (op_type != b.op) continue;
    if (d.inputs.size() != 2 || !xnn::is_float(d.inputs[0]) || !xnn::is_float(d.inputs[1])) return nullptr;
    const size_t rank = y.shape.size();
    if (rank > XNN_MAX_TENSOR_DIMS || d.inputs[0].shape.size() > rank || d.inputs[1].shape.size() > rank) return nullptr;
    // Nhwc when every input whose layout matters is stored so (then nothing is converted);
    // otherwise Nchw, converting the Nhwc ones (prepare reuses a conversion made earlier).
    bool nhwc = false, nchw = false;
    for (const ValueDesc& v : d.inputs) {
      if (layout_free(v)) continue;
      (v.layout == Layout::Nhwc ? nhwc : nchw) = true;
    }
    nhwc = nhwc && !nchw;
    Dims shape[2]{};
    for (int i = 0; i < 2; ++i) {
      const ValueDesc& v = d.inputs[static_cast<size_t>(i)];
      // Right-aligned to the output's rank (ONNX broadcasting).
      ir::Shape s(rank - v.shape.size(), 1);
      s.insert(s.end(), v.shape.begin(), v.shape.end());
      if (nhwc) {
        if (rank != 4) return nullptr;
        const bool free = s[1] == 1 || s[2] * s[3] == 1;
        if (v.shape.size() != 4 && !free) return nullptr;  // a lower-rank input stored Nchw
        s = {s[0], s[2], s[3], s[1]};
      }
      for (size_t k = 0; k < rank; ++k) shape[i][k] = static_cast<size_t>(s[k]);
    }
    xnn_operator_t op = nullptr;
    const xnn_status status = b.create(d.activation.min, d.activation.max, 0, &op);
    xnn::Op made = xnn::created(status, op, node, b.op);
    if (!made) return nullptr;
    std::vector<xnn::Op> ops;
    ops.push_back(std::move(made));
    const BinarySetup setup = b.setup;
    auto k = std::make_unique<xnn::XnnKernel>(
        fmt::format("xnnpack:{}", op_type), std::move(ops),
        [setup, rank, a = shape[0], bb = shape[1]](const xnn::XnnKernel& k, void* const* p, pthreadpool_t pool) {
          return setup(k.op(), rank, a.data(), rank, bb.data(), static_cast<const float*>(p[k.in[0]]),
                       static_cast<const float*>(p[k.in[1]]), static_cast<float*>(p[k.out[0]]), pool);
        },
        c.threadpool);
    const Layout l = nhwc ? Layout::Nhwc : Layout::Nchw;
    k->input_layouts = {l, l};
    k->output_layouts = {l};
    return k;
  }

  // -------------------------------------------------------------------------------- unary
  if (d.inputs.empty() || !xnn::is_float(d.inputs[0])) return nullptr;
  const ValueDesc& x = d.inputs[0];
  xnn_operator_t op = nullptr;
  xnn_status s = xnn_status_unsupported_parameter;
  using UnarySetup = xnn_status (*)(xnn_operator_t, size_t, const float*, float*, pthreadpool_t);
  UnarySetup setup = nullptr;
  Activation act;
  if (c.graph && fusable_activation(node, d.since_version, *c.graph, &act)) {
    s = xnn_create_clamp_nc_f32(1, 1, 1, act.min, act.max, 0, &op);
    setup = &xnn_setup_clamp_nc_f32;
  } else if (op_type == "HardSwish" && d.inputs.size() == 1) {
    s = xnn_create_hardswish_nc_f32(1, 1, 1, 0, &op);
    setup = &xnn_setup_hardswish_nc_f32;
  } else if (op_type == "Sigmoid" && d.inputs.size() == 1) {
    s = xnn_create_sigmoid_nc_f32(1, 1, 1, 0, &op);
    setup = &xnn_setup_sigmoid_nc_f32;
  } else if (op_type == "LeakyRelu" && d.inputs.size() == 1) {
    s = xnn_create_leaky_relu_nc_f32(1, 1, 1, node.attr_float("alpha", 0.01f), 0, &op);
    setup = &xnn_setup_leaky_relu_nc_f32;
  } else {
    return nullptr;
  }
  xnn::Op made = xnn::created(s, op, node, op_type.c_str());
  if (!made) return nullptr;
  std::vector<xnn::Op> ops;
  ops.push_back(std::move(made));
  // One channel, batch = every element: XNNPACK treats a contiguous tensor as one long vector
  // and splits it into blocks across the threads.
  auto k = std::make_unique<xnn::XnnKernel>(
      fmt::format("xnnpack:{}", op_type), std::move(ops),
      [setup, count](const xnn::XnnKernel& k, void* const* p, pthreadpool_t pool) {
        return setup(k.op(), count, static_cast<const float*>(p[k.in[0]]), static_cast<float*>(p[k.out[0]]), pool);
      },
      c.threadpool);
  k->input_layouts.assign(d.inputs.size(), Layout::Nchw);
  k->input_layouts[0] = x.layout;
  k->output_layouts = {x.layout};
  return k;
}

}  // namespace hone::runtime::cpu
