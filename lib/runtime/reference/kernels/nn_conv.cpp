// Conv and ConvTranspose reference kernels: im2col / col2im around one matrix product per
// (batch, group).
#include "runtime/reference/kernels/nn_gemm.h"
#include "runtime/reference/kernels/nn_im2col.h"

namespace hone::runtime::reference::kernels {

namespace {

// Shapes shared by Conv (W: M x C/group x k...) and ConvTranspose (W: C x M/group x k...).
struct ConvShape {
  int64_t batch = 0, in_channels = 0, out_channels = 0, group = 1;
  std::vector<int64_t> kernel;      // from W's spatial dims
  std::vector<int64_t> in_spatial;  // X's spatial dims
};

void check_conv_attrs(const KernelInfo& info, std::initializer_list<const char*> int_lists) {
  for (size_t i = 0; i < 3; ++i) require_dtype(info, i, kFloatTypes);
  const ir::Node& node = info.node;
  if (node.attr_int("group", 1) < 1) {
    throw bad_input("group {} must be >= 1", node.attr_int("group", 1));
  }
  const int64_t rank = node.has_attr("kernel_shape")
                           ? static_cast<int64_t>(node.attr_ints("kernel_shape").size())
                           : -1;
  check_window_attrs(node, rank);
  nn::check_attr_magnitudes(node, int_lists);
}

// Validates X, W and B; `transposed` selects ConvTranspose's weight layout.
ConvShape conv_shape(const KernelArgs& a, bool transposed) {
  const ir::Tensor& x = a.in(0);
  const ir::Tensor& w = a.in(1);
  const ir::Tensor* b = a.opt(2);
  if (x.rank() < 3 || w.rank() != x.rank()) {
    throw bad_input("X {} must be N x C x D1.. (rank >= 3) and W {} of the same rank",
                    ir::shape_str(x.shape()), ir::shape_str(w.shape()));
  }
  if (w.dtype() != x.dtype() || (b && b->dtype() != x.dtype())) {
    throw bad_input("X, W and B must share one dtype");
  }
  ConvShape s;
  s.group = a.node.attr_int("group", 1);
  s.batch = x.dim(0);
  s.in_channels = x.dim(1);
  s.kernel = nn::spatial_dims(w.shape());
  s.in_spatial = nn::spatial_dims(x.shape());
  if (a.node.has_attr("kernel_shape") && a.node.attr_ints("kernel_shape") != s.kernel) {
    throw bad_input("kernel_shape {} does not match W {}",
                    ir::shape_str(a.node.attr_ints("kernel_shape")), ir::shape_str(w.shape()));
  }
  // Conv: W is M x C/group; ConvTranspose: W is C x M/group.
  const bool divides =
      s.group <= std::max<int64_t>(s.in_channels, 1) && s.in_channels % s.group == 0;
  const int64_t w_in = transposed ? w.dim(0) : w.dim(1);
  const int64_t want_in = transposed ? s.in_channels : s.in_channels / s.group;
  s.out_channels = transposed ? ir::checked_numel({w.dim(1), s.group}) : w.dim(0);
  if (!divides || w_in != want_in || s.out_channels % s.group != 0) {
    throw bad_input("X has {} channels, W {} and group {} do not match it", s.in_channels,
                    ir::shape_str(w.shape()), s.group);
  }
  if (b && (b->rank() != 1 || b->dim(0) != s.out_channels)) {
    throw bad_input("B {} must have shape [{}]", ir::shape_str(b->shape()), s.out_channels);
  }
  return s;
}

// Accumulators for the `channels` output channels from `first`, each `size` long, starting at
// the bias (or zero).
template <typename T>
void fill_bias(const ir::Tensor* b, int64_t first, int64_t channels, int64_t size,
               std::vector<double>& acc) {
  for (int64_t m = 0; m < channels; ++m) {
    const double v = b ? static_cast<double>(nn::load(b->data<T>()[first + m])) : 0.0;
    std::fill_n(acc.begin() + m * size, size, v);
  }
}

template <typename T>
void store_all(const std::vector<double>& acc, T* out) {
  for (size_t i = 0; i < acc.size(); ++i) out[i] = nn::store<T>(acc[i]);
}

// Y[n, g*Mg + m] = B + W_g[m] . im2col(X[n, g*Cg ..])
template <typename T>
void conv(const KernelArgs& a, const ConvShape& s, const WindowGeometry& g, ir::Tensor& y) {
  const int64_t cg = s.in_channels / s.group, mg = s.out_channels / s.group;
  const int64_t k = ir::checked_numel({cg, ir::checked_numel(s.kernel)});
  const int64_t positions = ir::checked_numel(g.out_spatial);
  const int64_t image = ir::checked_numel(s.in_spatial);
  std::vector<T> cols(static_cast<size_t>(ir::checked_numel({k, positions})));
  std::vector<double> acc(static_cast<size_t>(mg * positions));
  const T* x = a.in(0).data<T>();
  const T* w = a.in(1).data<T>();
  T* out = y.data<T>();
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t grp = 0; grp < s.group; ++grp) {
      im2col(x + (n * s.in_channels + grp * cg) * image, cg, g, T{}, cols.data());
      fill_bias<T>(a.opt(2), grp * mg, mg, positions, acc);
      nn::matmul_accumulate(mg, positions, k, nn::row_major(w + grp * mg * k, k),
                            nn::row_major(cols.data(), positions), acc.data());
      store_all(acc, out + (n * s.out_channels + grp * mg) * positions);
    }
  }
}

// ConvTranspose output size and pads per the ONNX spec: the full size is
//   s*(in-1) + output_padding + (k-1)*d + 1;
// output_shape (or auto_pad SAME_*, which asks for in*s) fixes the size and the difference
// becomes pads, the odd one at the end for SAME_UPPER and at the beginning otherwise.
WindowGeometry conv_transpose_geometry(const ir::Node& node, const ConvShape& s) {
  const size_t n = s.kernel.size();
  check_window_attrs(node, static_cast<int64_t>(n));
  WindowGeometry g;
  g.kernel = s.kernel;
  g.out_spatial = s.in_spatial;  // the column grid col2im scatters from is X's
  g.strides = node.attr_ints("strides", std::vector<int64_t>(n, 1));
  g.dilations = node.attr_ints("dilations", std::vector<int64_t>(n, 1));
  const auto pads = node.attr_ints("pads", std::vector<int64_t>(2 * n, 0));
  const auto out_pad = node.attr_ints("output_padding", std::vector<int64_t>(n, 0));
  auto out_shape = node.attr_ints("output_shape");
  const std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  if (out_pad.size() != n) throw bad_input("output_padding needs {} values", n);
  if (out_shape.size() == n + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
  if (!out_shape.empty() && out_shape.size() != n) {
    throw bad_input("output_shape has {} values, expected {}", out_shape.size(), n);
  }
  g.pads_begin.assign(n, 0);
  g.pads_end.assign(n, 0);
  g.in_spatial.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    if (g.strides[i] <= 0 || g.dilations[i] <= 0) {
      throw bad_input("strides and dilations must be positive");
    }
    if (out_pad[i] < 0 || (out_pad[i] >= g.strides[i] && out_pad[i] >= g.dilations[i])) {
      throw bad_input("output_padding {} must be >= 0 and below the stride or dilation",
                      out_pad[i]);
    }
    const int64_t full =
        g.strides[i] * (s.in_spatial[i] - 1) + out_pad[i] + (s.kernel[i] - 1) * g.dilations[i] + 1;
    const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
    if (!out_shape.empty() || same) {
      const int64_t size = !out_shape.empty() ? out_shape[i] : s.in_spatial[i] * g.strides[i];
      const int64_t total = full - size;  // negative when output_shape asks for more
      // The spec's total/2 is Python's floor division (its reference and test data are
      // numpy): an output_shape one larger than `full` extends the end, not the beginning.
      const int64_t half = total >= 0 ? total / 2 : -((1 - total) / 2);
      g.pads_begin[i] = auto_pad == "SAME_UPPER" ? half : total - half;
      g.pads_end[i] = total - g.pads_begin[i];
    } else if (auto_pad == "NOTSET") {
      g.pads_begin[i] = pads[i];
      g.pads_end[i] = pads[i + n];
      if (pads[i] < 0 || pads[i + n] < 0) throw bad_input("negative pads");
    }
    g.in_spatial[i] = full - g.pads_begin[i] - g.pads_end[i];
    if (g.in_spatial[i] < 0) {
      throw bad_input("output size {} along spatial axis {} is negative", g.in_spatial[i], i);
    }
  }
  return g;
}

// Y[n, g*Mg ..] = B + col2im(W_g^T X[n, g*Cg ..])
template <typename T>
void conv_transpose(const KernelArgs& a, const ConvShape& s, const WindowGeometry& g,
                    ir::Tensor& y) {
  const int64_t cg = s.in_channels / s.group, mg = s.out_channels / s.group;
  const int64_t rows = mg * ir::checked_numel(s.kernel);  // (output channel, tap)
  const int64_t positions = ir::checked_numel(s.in_spatial);
  const int64_t image = ir::checked_numel(g.in_spatial);
  std::vector<double> cols(static_cast<size_t>(ir::checked_numel({rows, positions})));
  std::vector<double> acc(static_cast<size_t>(mg * image));
  const T* x = a.in(0).data<T>();
  const T* w = a.in(1).data<T>();
  T* out = y.data<T>();
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t grp = 0; grp < s.group; ++grp) {
      std::fill(cols.begin(), cols.end(), 0.0);
      nn::matmul_accumulate(
          rows, positions, cg, nn::transposed(w + grp * cg * rows, rows),
          nn::row_major(x + (n * s.in_channels + grp * cg) * positions, positions), cols.data());
      fill_bias<T>(a.opt(2), grp * mg, mg, image, acc);
      col2im(cols.data(), mg, g, acc.data());
      store_all(acc, out + (n * s.out_channels + grp * mg) * image);
    }
  }
}

ir::Shape output_shape(const ConvShape& s, const std::vector<int64_t>& spatial) {
  ir::Shape out{s.batch, s.out_channels};
  out.insert(out.end(), spatial.begin(), spatial.end());
  return out;
}

}  // namespace

void check_Conv(const KernelInfo& info) {
  check_conv_attrs(info, {"kernel_shape", "strides", "dilations", "pads"});
}

void run_Conv(KernelArgs& a) {
  nn::require_sane_inputs(a);
  const ConvShape s = conv_shape(a, /*transposed=*/false);
  const WindowGeometry g = window_geometry(a.node, s.in_spatial, s.kernel);
  ir::Tensor y = ir::Tensor::zeros(a.in(0).dtype(), output_shape(s, g.out_spatial));
  if (y.numel() != 0) nn::visit_float(y.dtype(), [&]<typename T>() { conv<T>(a, s, g, y); });
  a.outputs[0] = std::move(y);
}

void check_ConvTranspose(const KernelInfo& info) {
  check_conv_attrs(
      info, {"kernel_shape", "strides", "dilations", "pads", "output_padding", "output_shape"});
}

void run_ConvTranspose(KernelArgs& a) {
  nn::require_sane_inputs(a);
  const ConvShape s = conv_shape(a, /*transposed=*/true);
  const WindowGeometry g = conv_transpose_geometry(a.node, s);
  ir::Tensor y = ir::Tensor::zeros(a.in(0).dtype(), output_shape(s, g.in_spatial));
  if (y.numel() != 0) {
    nn::visit_float(y.dtype(), [&]<typename T>() { conv_transpose<T>(a, s, g, y); });
  }
  a.outputs[0] = std::move(y);
}

}  // namespace hone::runtime::reference::kernels
