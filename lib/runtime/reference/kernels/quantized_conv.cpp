// ConvInteger and QLinearConv reference kernels: a naive direct N-D convolution on
// zero-point-shifted 8-bit data with an int32 accumulator; QLinearConv adds the int32 bias and
// requantizes (quantized_common.h). Geometry (pads, strides, dilations, auto_pad) comes from
// window_geometry().
#include "runtime/reference/kernel_util.h"
#include "runtime/reference/kernels/quantized_common.h"

namespace hone::runtime::reference::kernels {

namespace {
using ir::DType;

struct ConvDims {
  int64_t batch = 0, in_channels = 0, out_channels = 0, group = 1;
  int64_t in_per_group = 0, out_per_group = 0;
  WindowGeometry geo;
  ir::Shape out;  // [N, M, out_spatial...]
};

ConvDims conv_dims(const ir::Node& node, const ir::Shape& x, const ir::Shape& w) {
  if (x.size() < 3 || w.size() != x.size()) {
    throw bad_input(
        "x has shape {} and w {}; expected [N, C, D1, ...] and [M, C/group, k1, ...] of the same "
        "rank >= 3",
        ir::shape_str(x), ir::shape_str(w));
  }
  ConvDims d;
  d.batch = x[0];
  d.in_channels = x[1];
  d.out_channels = w[0];
  d.group = node.attr_int("group", 1);
  if (d.group <= 0 || d.in_channels % d.group != 0 || d.out_channels % d.group != 0 ||
      w[1] != d.in_channels / d.group) {
    throw bad_input("group {} does not fit C = {} input channels and w of shape {}", d.group,
                    d.in_channels, ir::shape_str(w));
  }
  d.in_per_group = w[1];
  d.out_per_group = d.out_channels / d.group;
  const std::vector<int64_t> in_spatial(x.begin() + 2, x.end());
  const std::vector<int64_t> kernel(w.begin() + 2, w.end());
  if (node.has_attr("kernel_shape") && node.attr_ints("kernel_shape") != kernel) {
    throw bad_input("kernel_shape {} does not match w of shape {}",
                    ir::shape_str(node.attr_ints("kernel_shape")), ir::shape_str(w));
  }
  d.geo = window_geometry(node, in_spatial, kernel);
  d.out = {d.batch, d.out_channels};
  d.out.insert(d.out.end(), d.geo.out_spatial.begin(), d.geo.out_spatial.end());
  return d;
}

// Row-major multi-index of `flat` within `dims`.
void unravel(int64_t flat, const std::vector<int64_t>& dims, std::vector<int64_t>& index) {
  for (size_t i = dims.size(); i-- > 0;) {
    index[i] = flat % dims[i];
    flat /= dims[i];
  }
}

// Flat spatial offset in x of output position `out` and kernel tap `tap`:
// in_i = out_i * stride_i + tap_i * dilation_i - pad_begin_i; -1 when it falls in the padding.
int64_t input_offset(const WindowGeometry& g, const std::vector<int64_t>& out,
                     const std::vector<int64_t>& tap) {
  int64_t offset = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    const int64_t pos = out[i] * g.strides[i] + tap[i] * g.dilations[i] - g.pads_begin[i];
    if (pos < 0 || pos >= g.in_spatial[i]) return -1;
    offset = offset * g.in_spatial[i] + pos;
  }
  return offset;
}

// acc[n, m, o] = sum over c in m's group, taps k of xs[n, c, in(o, k)] * ws[m, c, k], where xs
// and ws are already zero-point shifted and a tap in the padding contributes 0 (the padding
// holds x_zero_point). Products of shifted 8-bit values fit in int32; the sum wraps.
std::vector<int32_t> conv_int32(const std::vector<int32_t>& xs, const std::vector<int32_t>& ws,
                                const ConvDims& d) {
  const int64_t in_size = ir::checked_numel(d.geo.in_spatial);
  const int64_t out_size = ir::checked_numel(d.geo.out_spatial);
  const int64_t taps = ir::checked_numel(d.geo.kernel);
  std::vector<int32_t> acc(static_cast<size_t>(ir::checked_numel(d.out)));
  std::vector<int64_t> out_index(d.geo.out_spatial.size()), tap_index(d.geo.kernel.size());
  size_t o = 0;
  for (int64_t n = 0; n < d.batch; ++n) {
    for (int64_t m = 0; m < d.out_channels; ++m) {
      const int64_t first_c = (m / d.out_per_group) * d.in_per_group;
      for (int64_t p = 0; p < out_size; ++p, ++o) {
        unravel(p, d.geo.out_spatial, out_index);
        int32_t sum = 0;
        for (int64_t k = 0; k < taps; ++k) {
          unravel(k, d.geo.kernel, tap_index);
          const int64_t at = input_offset(d.geo, out_index, tap_index);
          if (at < 0) continue;
          for (int64_t c = 0; c < d.in_per_group; ++c) {
            const int32_t xv =
                xs[static_cast<size_t>((n * d.in_channels + first_c + c) * in_size + at)];
            const int32_t wv = ws[static_cast<size_t>((m * d.in_per_group + c) * taps + k)];
            sum = quant::wrapping_add(sum, xv * wv);
          }
        }
        acc[o] = sum;
      }
    }
  }
  return acc;
}

// x - x_zero_point (per tensor) as int32.
std::vector<int32_t> shift_input(const ir::Tensor& x, const ir::Tensor* zp) {
  const int32_t z = quant::read_zero_point(zp, "x_zero_point", x.dtype(), 0)[0];
  std::vector<int32_t> v = quant::to_int32(x);
  for (int32_t& e : v) e -= z;
  return v;
}

// w[m, ...] - w_zero_point[m] as int32; the zero point is per tensor or per output channel.
std::vector<int32_t> shift_weights(const ir::Tensor& w, const quant::ChannelParam<int32_t>& zp) {
  std::vector<int32_t> v = quant::to_int32(w);
  const int64_t per_channel = w.dim(0) == 0 ? 0 : w.numel() / w.dim(0);
  for (int64_t i = 0; i < w.numel(); ++i) v[static_cast<size_t>(i)] -= zp[i / per_channel];
  return v;
}

void check_conv_attrs(const KernelInfo& info) {
  check_window_attrs(info.node, -1);
  if (info.node.attr_int("group", 1) <= 0) throw bad_input("group must be >= 1");
}
}  // namespace

// -------------------------------------------------------------------------------- ConvInteger
// y = conv(x - x_zero_point, w - w_zero_point) in int32; x_zero_point per tensor, w_zero_point
// per tensor or per output channel, both default 0.
void check_ConvInteger(const KernelInfo& info) {
  require_dtype(info, 0, {DType::Int8, DType::UInt8});
  require_dtype(info, 1, {DType::Int8, DType::UInt8});
  quant::require_same_dtype(info, 2, 0);
  quant::require_same_dtype(info, 3, 1);
  check_conv_attrs(info);
}

void run_ConvInteger(KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  const ir::Tensor& w = a.in(1);
  require_dtype(x, "x", {DType::Int8, DType::UInt8});
  require_dtype(w, "w", {DType::Int8, DType::UInt8});
  const ConvDims d = conv_dims(a.node, x.shape(), w.shape());
  const auto w_zp = quant::read_zero_point(a.opt(3), "w_zero_point", w.dtype(), d.out_channels);
  const std::vector<int32_t> y = conv_int32(shift_input(x, a.opt(2)), shift_weights(w, w_zp), d);
  a.outputs[0] = quant::from_int32(DType::Int32, d.out, y);
}

// -------------------------------------------------------------------------------- QLinearConv
// acc = conv(x - x_zero_point, w - w_zero_point[m]) + B[m] in int32 (wrapping), then
//   y = saturate(round_half_even(acc * M[m]) + y_zero_point)          (quant::requantize)
//   M[m] = fl32(fl32(x_scale * w_scale[m]) / y_scale)
// x and y parameters are per tensor; w's per tensor or per output channel.
void check_QLinearConv(const KernelInfo& info) {
  require_dtype(info, 0, {DType::Int8, DType::UInt8});
  require_dtype(info, 3, {DType::Int8, DType::UInt8});
  require_dtype(info, 7, {DType::Int8, DType::UInt8});
  for (size_t s : {1, 4, 6}) require_dtype(info, s, {DType::Float32});
  require_dtype(info, 8, {DType::Int32});
  quant::require_same_dtype(info, 2, 0);
  quant::require_same_dtype(info, 5, 3);
  check_conv_attrs(info);
}

void run_QLinearConv(KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  const ir::Tensor& w = a.in(3);
  const ir::Tensor& y_zp_t = a.in(7);
  require_dtype(x, "x", {DType::Int8, DType::UInt8});
  require_dtype(w, "w", {DType::Int8, DType::UInt8});
  require_dtype(y_zp_t, "y_zero_point", {DType::Int8, DType::UInt8});
  const ConvDims d = conv_dims(a.node, x.shape(), w.shape());
  const int64_t m_count = d.out_channels;

  const auto x_scale = quant::read_scale(a.in(1), "x_scale", 0, quant::ScaleRule::Positive);
  const auto w_scale = quant::read_scale(a.in(4), "w_scale", m_count, quant::ScaleRule::Positive);
  const auto w_zp = quant::read_zero_point(&a.in(5), "w_zero_point", w.dtype(), m_count);
  quant::require_same_count(w_scale, w_zp, &a.in(5), "w_scale", "w_zero_point");
  const auto y_scale = quant::read_scale(a.in(6), "y_scale", 0, quant::ScaleRule::Positive);
  const auto y_zp = quant::read_zero_point(&y_zp_t, "y_zero_point", y_zp_t.dtype(), 0);

  std::vector<int32_t> bias(static_cast<size_t>(m_count), 0);
  if (const ir::Tensor* b = a.opt(8)) {
    if (b->dtype() != DType::Int32 || b->shape() != ir::Shape{m_count}) {
      throw bad_input("B has dtype {} and shape {}; expected int32 [{}]",
                      ir::dtype_name(b->dtype()), ir::shape_str(b->shape()), m_count);
    }
    bias = quant::to_int32(*b);
  }
  std::vector<float> multiplier(static_cast<size_t>(m_count));
  for (int64_t m = 0; m < m_count; ++m) {
    multiplier[static_cast<size_t>(m)] =
        quant::checked_multiplier(x_scale[0], w_scale[m], y_scale[0]);
  }

  std::vector<int32_t> y = conv_int32(shift_input(x, &a.in(2)), shift_weights(w, w_zp), d);
  const quant::QRange range = quant::qrange(y_zp_t.dtype());
  const int64_t plane = ir::checked_numel(d.geo.out_spatial);
  for (size_t i = 0; i < y.size(); ++i) {
    const auto m = static_cast<size_t>((static_cast<int64_t>(i) / plane) % m_count);
    y[i] = quant::requantize(quant::wrapping_add(y[i], bias[m]), multiplier[m], y_zp[0], range);
  }
  a.outputs[0] = quant::from_int32(y_zp_t.dtype(), d.out, y);
}

}  // namespace hone::runtime::reference::kernels
