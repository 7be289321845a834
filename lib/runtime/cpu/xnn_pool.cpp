// MaxPool (f32, int8, uint8), AveragePool and GlobalAveragePool (f32) on XNNPACK, Nhwc. ceil_mode becomes extra
// end padding, which both XNNPACK pools leave out of the window (max ignores it; average
// divides by the taps inside the input, ONNX's count_include_pad = 0).
#include "runtime/cpu/xnnpack_util.h"
#include "runtime/reference/kernel_util.h"

namespace hone::runtime::cpu {

namespace {

std::unique_ptr<Kernel> nhwc_kernel(const char* name, xnn::Op op, const Context& c, size_t inputs,
                                    xnn::XnnKernel::Setup setup) {
  std::vector<xnn::Op> ops;
  ops.push_back(std::move(op));
  auto k = std::make_unique<xnn::XnnKernel>(name, std::move(ops), std::move(setup), c.threadpool);
  k->input_layouts.assign(inputs, Layout::Nhwc);
  k->output_layouts = {Layout::Nhwc};
  return k;
}

}  // namespace

std::unique_ptr<Kernel> make_xnn_pool_kernel(const NodeDesc& d, const Context& c) {
  const ir::Node& node = *d.node;
  const bool max = onnx_op(node, "MaxPool"), avg = onnx_op(node, "AveragePool");
  const bool global = onnx_op(node, "GlobalAveragePool");
  if ((!max && !avg && !global) || !xnn::available() || d.inputs.size() != 1 || d.outputs.empty()) return nullptr;
  for (size_t o = 1; o < d.outputs.size(); ++o) {
    if (d.outputs[o].id >= 0) return nullptr;  // MaxPool's Indices
  }
  const ValueDesc& x = d.inputs[0];
  const ValueDesc& y = d.outputs[0];
  // MaxPool also on int8 / uint8 values (what a QDQ model's pools become, passes/qdq_fusion.h).
  const bool bytes = max && x.dtype == y.dtype && (x.dtype == ir::DType::UInt8 || x.dtype == ir::DType::Int8) &&
                     d.activation.none();
  if ((!bytes && (!xnn::is_float(x) || !xnn::is_float(y))) || x.shape.size() != 4 || y.shape.size() != 4) return nullptr;
  const auto xd = xnn::dims4(x);
  const float lo = d.activation.min, hi = d.activation.max;

  if (global) {
    xnn_operator_t op = nullptr;
    const xnn_status s = xnn_create_global_average_pooling_nwc_f32(xd.c, xd.c, xd.c, lo, hi, 0, &op);
    xnn::Op made = xnn::created(s, op, node, "xnn_create_global_average_pooling_nwc_f32");
    if (!made) return nullptr;
    return nhwc_kernel("xnnpack:global_average_pool", std::move(made), c, 1,
                       [xd](const xnn::XnnKernel& k, void* const* p, pthreadpool_t pool) {
                         return xnn_setup_global_average_pooling_nwc_f32(k.op(), xd.n, xd.h * xd.w,
                                                                         static_cast<const float*>(p[k.in[0]]),
                                                                         static_cast<float*>(p[k.out[0]]), pool);
                       });
  }

  const auto kernel = node.attr_ints("kernel_shape");
  if (kernel.size() != 2) return nullptr;
  const bool ceil_mode = node.attr_int("ceil_mode", 0) != 0;
  const auto g = reference::window_geometry(node, {x.shape[2], x.shape[3]}, kernel, ceil_mode);
  if (g.out_spatial != std::vector<int64_t>{y.shape[2], y.shape[3]}) return nullptr;
  if (avg && (node.attr_int("count_include_pad", 0) != 0 || g.dilations != std::vector<int64_t>{1, 1})) return nullptr;
  int64_t pad[4];  // top, right, bottom, left
  pad[0] = g.pads_begin[0];
  pad[3] = g.pads_begin[1];
  for (int i = 0; i < 2; ++i) {
    // The end padding floor((in + pb + pe - eff) / s) + 1 needs to give the planned output size.
    const int64_t eff = (g.kernel[static_cast<size_t>(i)] - 1) * g.dilations[static_cast<size_t>(i)] + 1;
    const int64_t need = (g.out_spatial[static_cast<size_t>(i)] - 1) * g.strides[static_cast<size_t>(i)] + eff -
                         g.in_spatial[static_cast<size_t>(i)] - g.pads_begin[static_cast<size_t>(i)];
    pad[i == 0 ? 2 : 1] = std::max(g.pads_end[static_cast<size_t>(i)], need);
  }
  for (int64_t p : pad) if (p < 0) return nullptr;
  // ceil_mode's extra padding must not leave a window with no input tap in it (ONNX drops such
  // windows from the output, so they never occur in a planned shape; stay safe anyway).
  for (int i = 0; i < 2; ++i) {
    const int64_t last_start = (g.out_spatial[static_cast<size_t>(i)] - 1) * g.strides[static_cast<size_t>(i)] -
                               g.pads_begin[static_cast<size_t>(i)];
    if (last_start >= g.in_spatial[static_cast<size_t>(i)]) return nullptr;
  }
  const auto u = [](int64_t v) { return static_cast<uint32_t>(v); };
  xnn_operator_t op = nullptr;
  xnn_status s;
  if (bytes) {
    const bool u8 = x.dtype == ir::DType::UInt8;
    s = u8 ? xnn_create_max_pooling2d_nhwc_u8(u(pad[0]), u(pad[1]), u(pad[2]), u(pad[3]), u(g.kernel[0]), u(g.kernel[1]),
                                              u(g.strides[0]), u(g.strides[1]), u(g.dilations[0]), u(g.dilations[1]),
                                              xd.c, xd.c, xd.c, 0, 255, 0, &op)
           : xnn_create_max_pooling2d_nhwc_s8(u(pad[0]), u(pad[1]), u(pad[2]), u(pad[3]), u(g.kernel[0]), u(g.kernel[1]),
                                              u(g.strides[0]), u(g.strides[1]), u(g.dilations[0]), u(g.dilations[1]),
                                              xd.c, xd.c, xd.c, -128, 127, 0, &op);
    xnn::Op made = xnn::created(s, op, node, u8 ? "xnn_create_max_pooling2d_nhwc_u8" : "xnn_create_max_pooling2d_nhwc_s8");
    if (!made) return nullptr;
    return nhwc_kernel(u8 ? "xnnpack:max_pool_u8" : "xnnpack:max_pool_s8", std::move(made), c, 1,
                       [xd, u8](const xnn::XnnKernel& k, void* const* p, pthreadpool_t pool) {
                         return u8 ? xnn_setup_max_pooling2d_nhwc_u8(k.op(), xd.n, xd.h, xd.w,
                                                                     static_cast<const uint8_t*>(p[k.in[0]]),
                                                                     static_cast<uint8_t*>(p[k.out[0]]), pool)
                                   : xnn_setup_max_pooling2d_nhwc_s8(k.op(), xd.n, xd.h, xd.w,
                                                                     static_cast<const int8_t*>(p[k.in[0]]),
                                                                     static_cast<int8_t*>(p[k.out[0]]), pool);
                       });
  }
  if (max) {
    s = xnn_create_max_pooling2d_nhwc_f32(u(pad[0]), u(pad[1]), u(pad[2]), u(pad[3]), u(g.kernel[0]), u(g.kernel[1]),
                                          u(g.strides[0]), u(g.strides[1]), u(g.dilations[0]), u(g.dilations[1]), xd.c,
                                          xd.c, xd.c, lo, hi, 0, &op);
  } else {
    s = xnn_create_average_pooling2d_nhwc_f32(u(pad[0]), u(pad[1]), u(pad[2]), u(pad[3]), u(g.kernel[0]),
                                              u(g.kernel[1]), u(g.strides[0]), u(g.strides[1]), xd.c, xd.c, xd.c, lo,
                                              hi, 0, &op);
  }
  xnn::Op made = xnn::created(s, op, node, max ? "xnn_create_max_pooling2d_nhwc_f32" : "xnn_create_average_pooling2d_nhwc_f32");
  if (!made) return nullptr;
  auto setup = [xd, max](const xnn::XnnKernel& k, void* const* p, pthreadpool_t pool) {
    const auto* in = static_cast<const float*>(p[k.in[0]]);
    auto* out = static_cast<float*>(p[k.out[0]]);
    return max ? xnn_setup_max_pooling2d_nhwc_f32(k.op(), xd.n, xd.h, xd.w, in, out, pool)
               : xnn_setup_average_pooling2d_nhwc_f32(k.op(), xd.n, xd.h, xd.w, in, out, pool);
  };
  return nhwc_kernel(max ? "xnnpack:max_pool" : "xnnpack:average_pool", std::move(made), c, 1, setup);
}

}  // namespace hone::runtime::cpu
