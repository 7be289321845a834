// Pad: constant / reflect / edge, as numpy.pad. pads = [x1_begin, x2_begin, ..., x1_end, ...]
// (attribute before opset 11, input from 11). Negative pads crop first; the positive pads then
// extend the cropped region, reflecting or replicating its values.
#include "runtime/reference/kernels/tensor_common.h"

#include <algorithm>

namespace hone::runtime::reference::kernels {

using namespace tensor_common;

namespace {

enum class PadMode { Constant, Reflect, Edge };

PadMode parse_mode(const ir::Node& node) {
  const std::string mode = node.attr_string("mode", "constant");
  if (mode == "constant") return PadMode::Constant;
  if (mode == "reflect") return PadMode::Reflect;
  if (mode == "edge") return PadMode::Edge;
  throw bad_input("mode '{}' is not constant, reflect or edge", mode);
}

// One dim: the input region [lo, lo + size) kept after cropping, `before` elements added in
// front of it and `out` elements in all.
struct PadAxis {
  int64_t lo = 0;
  int64_t size = 0;
  int64_t before = 0;
  int64_t out = 0;
};

PadAxis pad_axis(int64_t dim, int64_t begin, int64_t end, PadMode mode) {
  // Bound the pads first so nothing below can overflow.
  if (begin < -dim || end < -dim || begin > ir::kMaxElements || end > ir::kMaxElements) {
    throw bad_input("pads ({}, {}) are out of range for a dim of size {}", begin, end, dim);
  }
  PadAxis p;
  p.lo = std::max<int64_t>(-begin, 0);
  p.size = dim - p.lo - std::max<int64_t>(-end, 0);
  p.before = std::max<int64_t>(begin, 0);
  p.out = dim + begin + end;
  if (p.size < 0)
    throw bad_input("pads ({}, {}) crop more than the dim of size {}", begin, end, dim);
  if (mode != PadMode::Constant && p.size == 0 && p.out > 0) {
    throw bad_input("cannot reflect or replicate an empty dim");
  }
  return p;
}

// Source index along one dim for output index o, or -1 for the constant.
int64_t source_index(const PadAxis& p, int64_t o, PadMode mode) {
  int64_t r = o - p.before;  // position relative to the kept region
  if (r < 0 || r >= p.size) {
    if (mode == PadMode::Constant) return -1;
    if (mode == PadMode::Edge || p.size == 1) {
      r = std::clamp<int64_t>(r, 0, p.size - 1);
    } else {  // reflect about the first and last element: period 2 * (size - 1)
      const int64_t period = 2 * (p.size - 1);
      r %= period;
      if (r < 0) r += period;
      if (r >= p.size) r = period - r;
    }
  }
  return p.lo + r;
}

std::vector<int64_t> pads_of(const KernelArgs& a) {
  if (a.since_version < 11) return a.node.attr_ints("pads");
  return int_list(a.in(1), "pads");
}

// The constant as a one-element tensor of data's dtype (0 when not given).
ir::Tensor fill_value(const KernelArgs& a, ir::DType dtype) {
  ir::Tensor fill = ir::Tensor::zeros(dtype, {});
  if (a.since_version < 11) {  // Pad-2: float attribute on float tensors
    const float v = a.node.attr_float("value", 0.0f);
    visit_dtype(dtype, [&]<typename T>() {
      if constexpr (std::is_floating_point_v<T> || std::is_same_v<T, ir::Float16> ||
                    std::is_same_v<T, ir::BFloat16>) {
        fill.data<T>()[0] = from_float<T>(v);
      } else {
        throw unsupported("Pad-2 pads only float tensors, got {}", ir::dtype_name(dtype));
      }
    });
  } else if (const ir::Tensor* c = a.opt(2)) {
    if (c->dtype() != dtype || c->numel() != 1) {
      throw bad_input("constant_value must be one {} value, got {} {}", ir::dtype_name(dtype),
                      ir::dtype_name(c->dtype()), ir::shape_str(c->shape()));
    }
    copy_elements(*c, 0, fill, 0);
  }
  return fill;
}

}  // namespace

void check_Pad(const KernelInfo& info) {
  reject_strings(info);
  parse_mode(info.node);
  if (info.since_version < 11) {
    if (!info.node.has_attr("pads")) throw bad_input("Pad-2 needs the 'pads' attribute");
    require_dtype(info, 0, kFloatTypes);
  } else {
    require_dtype(info, 1, {ir::DType::Int64});
  }
}

void run_Pad(KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  const PadMode mode = parse_mode(a.node);
  const std::vector<int64_t> pads = pads_of(a);
  const size_t rank = x.rank();
  if (pads.size() != 2 * rank) {
    throw bad_input("pads {} has {} entries, expected 2 * rank = {}", ir::shape_str(pads),
                    pads.size(), 2 * rank);
  }
  std::vector<PadAxis> axes;
  ir::Shape out_shape;
  for (size_t d = 0; d < rank; ++d) {
    axes.push_back(pad_axis(x.shape()[d], pads[d], pads[d + rank], mode));
    out_shape.push_back(axes.back().out);
  }
  const ir::Tensor fill = fill_value(a, x.dtype());
  ir::Tensor y = ir::Tensor::zeros(x.dtype(), out_shape);
  const std::vector<int64_t> in_strides = contiguous_strides(x.shape());
  int64_t i = 0;
  for_each_index(out_shape, [&](const std::vector<int64_t>& idx) {
    int64_t src = 0;
    for (size_t d = 0; d < rank && src >= 0; ++d) {
      const int64_t s = source_index(axes[d], idx[d], mode);
      src = s < 0 ? -1 : src + s * in_strides[d];
    }
    if (src < 0) {
      copy_elements(fill, 0, y, i);
    } else {
      copy_elements(x, src, y, i);
    }
    ++i;
  });
  a.outputs[0] = std::move(y);
}

}  // namespace hone::runtime::reference::kernels
