#include "runtime/reference/kernel_util.h"

#include <algorithm>

namespace hone::runtime::reference {

namespace {
std::string dtype_list(std::initializer_list<ir::DType> allowed) {
  std::string s;
  for (ir::DType d : allowed) {
    if (!s.empty()) s += ", ";
    s += ir::dtype_name(d);
  }
  return s;
}
}  // namespace

void require_dtype(const KernelInfo& info, size_t input, std::initializer_list<ir::DType> allowed) {
  const ir::DType dt = info.input_dtype(input);
  if (dt == ir::DType::Undefined) return;
  if (std::find(allowed.begin(), allowed.end(), dt) == allowed.end()) {
    throw unsupported("input {} has dtype {}; supported: {}", input, ir::dtype_name(dt),
                      dtype_list(allowed));
  }
}

void require_dtype(const ir::Tensor& t, const char* what, std::initializer_list<ir::DType> allowed) {
  if (std::find(allowed.begin(), allowed.end(), t.dtype()) == allowed.end()) {
    throw unsupported("{} has dtype {}; supported: {}", what, ir::dtype_name(t.dtype()),
                      dtype_list(allowed));
  }
}

int64_t normalize_axis(int64_t axis, int64_t rank) {
  const int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= std::max<int64_t>(rank, 1)) {
    throw bad_input("axis {} is out of range for rank {}", axis, rank);
  }
  return a;
}

ir::Shape broadcast_shapes(const ir::Shape& a, const ir::Shape& b) {
  const size_t r = std::max(a.size(), b.size());
  ir::Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1) {
      throw bad_input("shapes {} and {} cannot be broadcast", ir::shape_str(a), ir::shape_str(b));
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

std::vector<int64_t> contiguous_strides(const ir::Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

std::vector<int64_t> broadcast_strides(const ir::Shape& in, const ir::Shape& out) {
  HONE_ASSERT(in.size() <= out.size());
  std::vector<int64_t> s(out.size(), 0);
  const std::vector<int64_t> cs = contiguous_strides(in);
  const size_t off = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) s[off + i] = in[i] == 1 ? 0 : cs[i];
  return s;
}

BroadcastIter::BroadcastIter(const ir::Shape& shape, std::vector<std::vector<int64_t>> strides)
    : shape_(shape), strides_(std::move(strides)), index_(shape.size(), 0),
      offsets_(strides_.size(), 0) {
  done_ = std::any_of(shape_.begin(), shape_.end(), [](int64_t d) { return d == 0; });
}

void BroadcastIter::next() {
  for (size_t d = shape_.size(); d-- > 0;) {
    ++index_[d];
    for (size_t k = 0; k < offsets_.size(); ++k) offsets_[k] += strides_[k][d];
    if (index_[d] < shape_[d]) return;
    for (size_t k = 0; k < offsets_.size(); ++k) offsets_[k] -= strides_[k][d] * shape_[d];
    index_[d] = 0;
  }
  done_ = true;  // wrapped around every dim (also the rank-0 case after one element)
}

void check_window_attrs(const ir::Node& node, int64_t n) {
  const std::string ap = node.attr_string("auto_pad", "NOTSET");
  if (ap != "NOTSET" && ap != "SAME_UPPER" && ap != "SAME_LOWER" && ap != "VALID") {
    throw bad_input("auto_pad '{}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", ap);
  }
  // Bounded so that (k-1)*d + 1, the padded extent and (out-1)*stride cannot overflow int64.
  constexpr int64_t kMaxExtent = int64_t{1} << 30;
  for (const char* key : {"strides", "dilations", "kernel_shape", "pads", "output_padding"}) {
    if (!node.has_attr(key)) continue;
    for (int64_t v : node.attr_ints(key)) {
      if (v < 0 || v > kMaxExtent) {
        throw bad_input("attribute '{}' value {} is outside [0, 2^30]", key, v);
      }
    }
  }
  if (n < 0) return;
  auto check_len = [&](const char* key, size_t want) {
    if (node.has_attr(key) && node.attr_ints(key).size() != want) {
      throw bad_input("attribute '{}' has {} values, expected {}", key,
                      node.attr_ints(key).size(), want);
    }
  };
  check_len("strides", static_cast<size_t>(n));
  check_len("dilations", static_cast<size_t>(n));
  check_len("kernel_shape", static_cast<size_t>(n));
  check_len("pads", static_cast<size_t>(2 * n));
}

WindowGeometry window_geometry(const ir::Node& node, const std::vector<int64_t>& in_spatial,
                               const std::vector<int64_t>& kernel, bool ceil_mode) {
  const size_t n = in_spatial.size();
  check_window_attrs(node, static_cast<int64_t>(n));
  WindowGeometry g;
  g.kernel = kernel;
  g.in_spatial = in_spatial;
  g.strides = node.attr_ints("strides", std::vector<int64_t>(n, 1));
  g.dilations = node.attr_ints("dilations", std::vector<int64_t>(n, 1));
  std::vector<int64_t> pads = node.attr_ints("pads", std::vector<int64_t>(2 * n, 0));
  const std::string ap = node.attr_string("auto_pad", "NOTSET");
  g.pads_begin.assign(n, 0);
  g.pads_end.assign(n, 0);
  g.out_spatial.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    // check_window_attrs bounded the attributes; W's kernel dims come from a tensor.
    constexpr int64_t kMaxExtent = int64_t{1} << 30;
    if (g.strides[i] <= 0 || g.dilations[i] <= 0 || kernel[i] <= 0 || kernel[i] > kMaxExtent) {
      throw bad_input("strides, dilations and kernel sizes must be in [1, 2^30]");
    }
    const int64_t eff_k = (kernel[i] - 1) * g.dilations[i] + 1;
    if (ap == "SAME_UPPER" || ap == "SAME_LOWER") {
      const int64_t out = (in_spatial[i] + g.strides[i] - 1) / g.strides[i];
      const int64_t total = std::max<int64_t>(0, (out - 1) * g.strides[i] + eff_k - in_spatial[i]);
      const int64_t small = total / 2;
      g.pads_begin[i] = ap == "SAME_UPPER" ? small : total - small;
      g.pads_end[i] = total - g.pads_begin[i];
      g.out_spatial[i] = out;
      continue;
    }
    if (ap == "NOTSET") {
      g.pads_begin[i] = pads[i];
      g.pads_end[i] = pads[i + n];
      if (g.pads_begin[i] < 0 || g.pads_end[i] < 0) throw bad_input("negative pads");
    }
    const int64_t span = in_spatial[i] + g.pads_begin[i] + g.pads_end[i] - eff_k;
    if (span < 0) {
      throw bad_input("window of size {} does not fit input size {} with pads {}+{}", eff_k,
                      in_spatial[i], g.pads_begin[i], g.pads_end[i]);
    }
    int64_t out = ceil_mode ? (span + g.strides[i] - 1) / g.strides[i] + 1 : span / g.strides[i] + 1;
    // ceil_mode: the last window must start inside the input or left padding (ONNX/PyTorch).
    if (ceil_mode && (out - 1) * g.strides[i] >= in_spatial[i] + g.pads_begin[i]) --out;
    g.out_spatial[i] = out;
  }
  return g;
}

}  // namespace hone::runtime::reference
