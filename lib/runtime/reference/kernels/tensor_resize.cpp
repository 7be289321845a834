// Resize (opset 10, 11, 13) and its predecessor Upsample (opset 7, 9). Interpolation is
// separable: each output coordinate maps to a source coordinate per dim
// (coordinate_transformation_mode), which picks weighted taps on the input (nearest: one tap;
// linear: two; cubic: four, Keys' kernel with coefficient a). Taps past the edge read the edge
// element, as ONNX's reference implementation does (it pads in 'edge' mode). Nearest moves
// elements of any dtype; linear and cubic compute in double on float tensors.
#include "runtime/reference/kernels/tensor_common.h"

#include <algorithm>
#include <cmath>

namespace hone::runtime::reference::kernels {

using namespace tensor_common;

namespace {

enum class Interp { Nearest, Linear, Cubic };
enum class Coord {
  HalfPixel,
  PytorchHalfPixel,
  AlignCorners,
  Asymmetric,
  TfHalfPixelForNN,
  TfCropAndResize
};
enum class Rounding { RoundPreferFloor, RoundPreferCeil, Floor, Ceil };

struct ResizeParams {
  Interp interp = Interp::Nearest;
  Coord coord = Coord::Asymmetric;
  Rounding rounding = Rounding::Floor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation = 0.0;
};

Interp parse_interp(const ir::Node& node, bool cubic_allowed) {
  const std::string mode = node.attr_string("mode", "nearest");
  if (mode == "nearest") return Interp::Nearest;
  if (mode == "linear") return Interp::Linear;
  if (mode == "cubic" && cubic_allowed) return Interp::Cubic;
  throw bad_input("mode '{}' is not nearest, linear{}", mode, cubic_allowed ? " or cubic" : "");
}

Coord parse_coord(const ir::Node& node, int64_t since_version) {
  const std::string m = node.attr_string("coordinate_transformation_mode", "half_pixel");
  if (m == "half_pixel") return Coord::HalfPixel;
  if (m == "pytorch_half_pixel") return Coord::PytorchHalfPixel;
  if (m == "align_corners") return Coord::AlignCorners;
  if (m == "asymmetric") return Coord::Asymmetric;
  if (m == "tf_crop_and_resize") return Coord::TfCropAndResize;
  if (m == "tf_half_pixel_for_nn" && since_version < 13) return Coord::TfHalfPixelForNN;
  throw bad_input("coordinate_transformation_mode '{}' is not valid at this opset", m);
}

Rounding parse_rounding(const ir::Node& node) {
  const std::string m = node.attr_string("nearest_mode", "round_prefer_floor");
  if (m == "round_prefer_floor") return Rounding::RoundPreferFloor;
  if (m == "round_prefer_ceil") return Rounding::RoundPreferCeil;
  if (m == "floor") return Rounding::Floor;
  if (m == "ceil") return Rounding::Ceil;
  throw bad_input("nearest_mode '{}' is not round_prefer_floor, round_prefer_ceil, floor or ceil",
                  m);
}

// Upsample and Resize-10 have no attributes beyond mode: asymmetric coordinates, and nearest
// takes floor(x / scale), which is what repeating each element `scale` times means.
ResizeParams parse_params(const ir::Node& node, int64_t since_version, bool is_resize) {
  ResizeParams p;
  const bool full = is_resize && since_version >= 11;
  p.interp = parse_interp(node, full);
  if (!full) return p;
  p.coord = parse_coord(node, since_version);
  p.rounding = parse_rounding(node);
  p.cubic_a = node.attr_float("cubic_coeff_a", -0.75f);
  p.exclude_outside = node.attr_int("exclude_outside", 0) != 0;
  p.extrapolation = node.attr_float("extrapolation_value", 0.0f);
  return p;
}

void check_resize_like(const KernelInfo& info, bool is_resize) {
  reject_strings(info);
  const ResizeParams p = parse_params(info.node, info.since_version, is_resize);
  if (p.interp != Interp::Nearest || p.coord == Coord::TfCropAndResize) {
    require_dtype(info, 0, kFloatTypes);  // weighted sums and the extrapolation value are float
  }
}

// ------------------------------------------------------------------------ one dim's taps

struct Tap {
  int64_t index;
  double weight;
};

// The taps and whether the coordinate fell outside the tf_crop_and_resize region.
struct Sample {
  std::vector<Tap> taps;
  bool outside = false;
};

// Input coordinate of output coordinate x (ONNX Resize-13's formulas). `out_len` is
// scale * in_len, as in ONNX's reference implementation.
double source_coordinate(const ResizeParams& p, double x, double scale, int64_t in_len,
                         double roi_start, double roi_end) {
  const double out_len = scale * static_cast<double>(in_len);
  const double last = static_cast<double>(in_len - 1);
  switch (p.coord) {
    case Coord::HalfPixel:
      return (x + 0.5) / scale - 0.5;
    case Coord::PytorchHalfPixel:
      return out_len > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case Coord::AlignCorners:
      return out_len == 1 ? 0.0 : x * last / (out_len - 1);
    case Coord::Asymmetric:
      return x / scale;
    case Coord::TfHalfPixelForNN:
      return (x + 0.5) / scale;
    case Coord::TfCropAndResize:
      return out_len > 1 ? roi_start * last + x * (roi_end - roi_start) * last / (out_len - 1)
                         : 0.5 * (roi_start + roi_end) * last;
  }
  return 0.0;
}

// Keys' cubic convolution weights for the taps at -1, 0, 1, 2 around the base (ratio in (0, 1]).
std::vector<double> cubic_weights(double r, double a) {
  auto near = [a](double t) { return ((a + 2) * t - (a + 3)) * t * t + 1; };       // |t| <= 1
  auto far = [a](double t) { return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a; };  // 1 < |t| < 2
  return {far(r + 1), near(r), near(1 - r), far(2 - r)};
}

Sample sample(const ResizeParams& p, double x, int64_t in_len) {
  Sample s;
  if (!std::isfinite(x)) throw bad_input("source coordinate {} is not finite (check roi)", x);
  if (p.coord == Coord::TfCropAndResize && (x < 0 || x > static_cast<double>(in_len - 1))) {
    s.outside = true;
    return s;
  }
  // Far outside the input every tap reads the same edge element; clamping keeps the integer
  // conversion below in range.
  x = std::clamp(x, -4.0, static_cast<double>(in_len) + 4.0);
  // base = the input index left of x, ratio in (0, 1]: an integral x is the right-hand tap.
  const double base_d = std::ceil(x) - 1;
  const double ratio = x - base_d;
  const auto base = static_cast<int64_t>(base_d);
  std::vector<Tap> taps;
  if (p.interp == Interp::Nearest) {
    bool right = true;
    if (ratio < 1) {
      switch (p.rounding) {
        case Rounding::RoundPreferFloor:
          right = ratio > 0.5;
          break;
        case Rounding::RoundPreferCeil:
          right = ratio >= 0.5;
          break;
        case Rounding::Floor:
          right = false;
          break;
        case Rounding::Ceil:
          right = true;
          break;
      }
    }
    taps = {{right ? base + 1 : base, 1.0}};
  } else if (p.interp == Interp::Linear) {
    taps = {{base, 1 - ratio}, {base + 1, ratio}};
  } else {
    const std::vector<double> w = cubic_weights(ratio, p.cubic_a);
    for (int64_t k = 0; k < 4; ++k) taps.push_back({base - 1 + k, w[static_cast<size_t>(k)]});
  }
  if (p.exclude_outside &&
      p.interp != Interp::Nearest) {  // outside taps weigh 0; the rest are renormalised to sum to 1
    double sum = 0;
    for (Tap& t : taps) {
      if (t.index < 0 || t.index >= in_len) t.weight = 0;
      sum += t.weight;
    }
    for (Tap& t : taps) t.weight = sum != 0 ? t.weight / sum : 0;
  }
  for (const Tap& t : taps) {
    if (t.weight != 0) s.taps.push_back({std::clamp<int64_t>(t.index, 0, in_len - 1), t.weight});
  }
  return s;
}

// ------------------------------------------------------------------------ sizes and scales

struct Geometry {
  ir::Shape out_shape;
  std::vector<double> scales;
};

Geometry from_scales(const ir::Shape& in, const std::vector<double>& scales) {
  Geometry g;
  g.scales = scales;
  for (size_t d = 0; d < in.size(); ++d) {
    const double s = scales[d];
    const double out = std::floor(s * static_cast<double>(in[d]));
    if (!(s > 0) || !(out <= static_cast<double>(ir::kMaxElements))) {  // also rejects NaN
      throw bad_input("scale {} for dim {} of size {} is invalid", s, d, in[d]);
    }
    g.out_shape.push_back(static_cast<int64_t>(out));
  }
  return g;
}

Geometry from_sizes(const ir::Shape& in, const std::vector<int64_t>& sizes) {
  Geometry g;
  for (size_t d = 0; d < in.size(); ++d) {
    if (sizes[d] < 0 || (in[d] == 0 && sizes[d] > 0)) {
      throw bad_input("cannot resize dim {} of size {} to {}", d, in[d], sizes[d]);
    }
    g.out_shape.push_back(sizes[d]);
    g.scales.push_back(in[d] == 0 ? 1.0
                                  : static_cast<double>(sizes[d]) / static_cast<double>(in[d]));
  }
  return g;
}

std::vector<double> float_list(const ir::Tensor& t, const char* what) {
  if (!ir::dtype_is_float(t.dtype())) throw bad_input("{} must be a float tensor", what);
  std::vector<double> v;
  for (int64_t i = 0; i < t.numel(); ++i) v.push_back(t.get_as_double(i));
  return v;
}

const ir::Tensor* non_empty(const KernelArgs& a, size_t i) {
  const ir::Tensor* t = a.opt(i);
  return t && t->numel() > 0 ? t : nullptr;
}

// Output shape and per-dim scales from whichever of scales / sizes the node's version uses.
Geometry geometry(const KernelArgs& a, bool is_resize) {
  const ir::Shape& in = a.in(0).shape();
  std::vector<double> scales;
  if (!is_resize && a.since_version < 9) {
    const std::vector<float> s = a.node.attr_floats("scales");
    scales.assign(s.begin(), s.end());
  } else if (!is_resize || a.since_version < 11) {
    scales = float_list(a.in(1), "scales");
  } else {
    const ir::Tensor* sc = non_empty(a, 2);
    const ir::Tensor* sz = non_empty(a, 3);
    if ((sc != nullptr) == (sz != nullptr))
      throw bad_input("exactly one of scales and sizes must be given");
    if (sz) {
      const std::vector<int64_t> sizes = index_values(*sz, "sizes");
      if (sizes.size() != in.size())
        throw bad_input("sizes has {} entries for rank {}", sizes.size(), in.size());
      return from_sizes(in, sizes);
    }
    scales = float_list(*sc, "scales");
  }
  if (scales.size() != in.size())
    throw bad_input("scales has {} entries for rank {}", scales.size(), in.size());
  return from_scales(in, scales);
}

std::vector<double> roi_of(const KernelArgs& a, const ResizeParams& p, size_t rank) {
  if (p.coord != Coord::TfCropAndResize) return std::vector<double>(2 * rank, 0.0);
  const ir::Tensor* roi = non_empty(a, 1);
  if (!roi) throw bad_input("tf_crop_and_resize needs roi");
  std::vector<double> v = float_list(*roi, "roi");
  if (v.size() != 2 * rank)
    throw bad_input("roi has {} entries, expected 2 * rank = {}", v.size(), 2 * rank);
  return v;
}

// ------------------------------------------------------------------------------ the kernel

// Writes v into float tensor y at i.
void store(ir::Tensor& y, int64_t i, double v) {
  visit_dtype(y.dtype(), [&]<typename T>() {
    if constexpr (std::is_same_v<T, double>) {
      y.data<T>()[i] = v;
    } else if constexpr (std::is_same_v<T, float> || std::is_same_v<T, ir::Float16> ||
                         std::is_same_v<T, ir::BFloat16>) {
      y.data<T>()[i] = from_float<T>(static_cast<float>(v));
    } else {
      throw unsupported("interpolating {} tensors", ir::dtype_name(y.dtype()));
    }
  });
}

// Output element i from one Sample per dim: sum over every combination of one tap per dim of
// prod(weights) * x[taps]; nearest copies its single tap.
void write_output(const ir::Tensor& x, const std::vector<int64_t>& strides,
                  const std::vector<const Sample*>& at, bool outside, const ResizeParams& p,
                  ir::Tensor& y, int64_t i) {
  if (outside) return store(y, i, p.extrapolation);
  const size_t rank = at.size();
  for (const Sample* s : at) {
    if (s->taps.empty()) return store(y, i, 0.0);  // exclude_outside left no weight
  }
  std::vector<size_t> k(rank, 0);
  double sum = 0;
  while (true) {
    double w = 1;
    int64_t flat = 0;
    for (size_t d = 0; d < rank; ++d) {
      const Tap& t = at[d]->taps[k[d]];
      w *= t.weight;
      flat += t.index * strides[d];
    }
    if (p.interp == Interp::Nearest) return copy_elements(x, flat, y, i);
    sum += w * x.get_as_double(flat);
    size_t d = rank;
    while (d > 0 && ++k[d - 1] == at[d - 1]->taps.size()) k[--d] = 0;
    if (d == 0) break;
  }
  store(y, i, sum);
}

void resize(KernelArgs& a, bool is_resize) {
  const ir::Tensor& x = a.in(0);
  const ResizeParams p = parse_params(a.node, a.since_version, is_resize);
  const Geometry g = geometry(a, is_resize);
  const size_t rank = x.rank();
  const std::vector<double> roi = roi_of(a, p, rank);
  ir::Tensor y = ir::Tensor::zeros(x.dtype(), g.out_shape);
  if (y.numel() == 0) {
    a.outputs[0] = std::move(y);
    return;
  }
  // samples[d][o]: the taps of output coordinate o along dim d (out dims <= numel here).
  std::vector<std::vector<Sample>> samples(rank);
  for (size_t d = 0; d < rank; ++d) {
    for (int64_t o = 0; o < g.out_shape[d]; ++o) {
      const double src = source_coordinate(p, static_cast<double>(o), g.scales[d], x.shape()[d],
                                           roi[d], roi[d + rank]);
      samples[d].push_back(sample(p, src, x.shape()[d]));
    }
  }
  const std::vector<int64_t> strides = contiguous_strides(x.shape());
  int64_t i = 0;
  for_each_index(g.out_shape, [&](const std::vector<int64_t>& idx) {
    std::vector<const Sample*> at(rank);
    bool outside = false;
    for (size_t d = 0; d < rank; ++d) {
      at[d] = &samples[d][static_cast<size_t>(idx[d])];
      outside = outside || at[d]->outside;
    }
    write_output(x, strides, at, outside, p, y, i++);
  });
  a.outputs[0] = std::move(y);
}

}  // namespace

void check_Resize(const KernelInfo& info) { check_resize_like(info, true); }
void run_Resize(KernelArgs& a) { resize(a, true); }
void check_Upsample(const KernelInfo& info) {
  check_resize_like(info, false);
  if (info.since_version < 9 && !info.node.has_attr("scales")) {
    throw bad_input("Upsample-7 needs the 'scales' attribute");
  }
}
void run_Upsample(KernelArgs& a) { resize(a, false); }

}  // namespace hone::runtime::reference::kernels
