// Ops that rearrange elements without looking at them: Transpose, Concat, Split, Slice,
// Expand, Tile, DepthToSpace, SpaceToDepth, ReverseSequence, Trilu. Most are a StridedView
// over the input.
#include "runtime/reference/kernels/tensor_common.h"

#include <algorithm>
#include <limits>

namespace hone::runtime::reference::kernels {

using namespace tensor_common;

namespace {

// Transpose of x viewed as `as_shape` (same element count): output dim i is input dim perm[i].
ir::Tensor permute(const ir::Tensor& x, const ir::Shape& as_shape,
                   const std::vector<int64_t>& perm) {
  const std::vector<int64_t> in_strides = contiguous_strides(as_shape);
  StridedView v;
  for (int64_t p : perm) {
    v.shape.push_back(as_shape[static_cast<size_t>(p)]);
    v.strides.push_back(in_strides[static_cast<size_t>(p)]);
  }
  return materialize(x, v);
}

void check_permutation(const std::vector<int64_t>& perm, size_t rank) {
  std::vector<bool> seen(rank, false);
  bool ok = perm.size() == rank;
  for (size_t i = 0; ok && i < rank; ++i) {
    ok =
        perm[i] >= 0 && perm[i] < static_cast<int64_t>(rank) && !seen[static_cast<size_t>(perm[i])];
    if (ok) seen[static_cast<size_t>(perm[i])] = true;
  }
  if (!ok) throw bad_input("perm {} is not a permutation of {} dims", ir::shape_str(perm), rank);
}

// Split: `sizes` consecutive pieces of x along `axis`.
std::vector<ir::Tensor> split_pieces(const ir::Tensor& x, int64_t axis,
                                     const std::vector<int64_t>& sizes) {
  StridedView v = contiguous_view(x.shape());
  const auto ax = static_cast<size_t>(axis);
  std::vector<ir::Tensor> pieces;
  for (int64_t size : sizes) {
    v.shape[ax] = size;
    pieces.push_back(materialize(x, v));
    v.offset += size * v.strides[ax];
  }
  return pieces;
}

// Split's piece sizes: given (they must be >= 0 and sum to the dim) or equal parts.
std::vector<int64_t> split_sizes(const std::optional<std::vector<int64_t>>& given, int64_t dim,
                                 size_t outputs) {
  if (outputs == 0) throw bad_input("Split has no outputs");
  if (!given || given->empty()) {
    const auto n = static_cast<int64_t>(outputs);
    if (dim % n != 0) throw bad_input("dim {} cannot be split into {} equal parts", dim, n);
    return std::vector<int64_t>(outputs, dim / n);
  }
  if (given->size() != outputs) {
    throw bad_input("split {} has {} entries for {} outputs", ir::shape_str(*given), given->size(),
                    outputs);
  }
  int64_t sum = 0;
  for (int64_t s : *given) {
    if (s < 0 || s > dim - sum)
      throw bad_input("split {} does not add up to dim {}", ir::shape_str(*given), dim);
    sum += s;
  }
  if (sum != dim) throw bad_input("split {} does not add up to dim {}", ir::shape_str(*given), dim);
  return *given;
}

// One axis of a Slice after the spec's clamping: `count` elements from `start` by `step`.
struct SliceAxis {
  int64_t start = 0;
  int64_t step = 1;
  int64_t count = 0;
};

// Negative starts/ends count from the end; starts clamp to [0, dim] (step > 0) or
// [0, dim - 1] (step < 0), ends to [0, dim] or [-1, dim - 1] (ONNX Slice-13).
SliceAxis slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step) {
  if (step == 0) throw bad_input("slice step is 0");
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  SliceAxis s;
  s.step = step;
  if (step > 0) {
    s.start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    if (end > s.start) s.count = (end - s.start - 1) / step + 1;
  } else if (dim > 0) {
    s.start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
    // |step| without negating INT64_MIN; only counts up to dim matter.
    const int64_t mag = step == std::numeric_limits<int64_t>::min() ? dim + 1 : -step;
    if (s.start > end) s.count = (s.start - end - 1) / mag + 1;
  }
  return s;
}

struct SliceParams {
  std::vector<int64_t> starts, ends, axes, steps;
};

SliceParams slice_params(const KernelArgs& a, int64_t rank) {
  SliceParams p;
  bool has_axes = false;
  if (a.since_version < 10) {  // Slice-1: attributes, unit steps
    p.starts = a.node.attr_ints("starts");
    p.ends = a.node.attr_ints("ends");
    has_axes = a.node.has_attr("axes");
    if (has_axes) p.axes = a.node.attr_ints("axes");
  } else {
    p.starts = int_list(a.in(1), "starts");
    p.ends = int_list(a.in(2), "ends");
    has_axes = a.opt(3) != nullptr;
    if (has_axes) p.axes = int_list(*a.opt(3), "axes");
    if (const ir::Tensor* t = a.opt(4)) p.steps = int_list(*t, "steps");
  }
  const size_t n = p.starts.size();
  if (!has_axes) {
    for (size_t i = 0; i < n; ++i) p.axes.push_back(static_cast<int64_t>(i));
  }
  if (p.steps.empty()) p.steps.assign(n, 1);
  if (p.ends.size() != n || p.axes.size() != n || p.steps.size() != n) {
    throw bad_input("slice starts, ends, axes and steps have {}, {}, {} and {} entries", n,
                    p.ends.size(), p.axes.size(), p.steps.size());
  }
  p.axes = normalize_axes(p.axes, rank);
  return p;
}

// Tile: output dim d is in[d] * repeats[d]; BadInput before anything overflows.
ir::Shape tiled_shape(const ir::Shape& in, const std::vector<int64_t>& repeats) {
  if (repeats.size() != in.size()) {
    throw bad_input("repeats {} has {} entries for rank {}", ir::shape_str(repeats), repeats.size(),
                    in.size());
  }
  ir::Shape out(in.size());
  for (size_t d = 0; d < in.size(); ++d) {
    if (repeats[d] < 0) throw bad_input("repeats {} has a negative entry", ir::shape_str(repeats));
    if (in[d] != 0 && repeats[d] > ir::kMaxElements / in[d]) {
      throw bad_input("tiling {} by {} is too large", ir::shape_str(in), ir::shape_str(repeats));
    }
    out[d] = in[d] * repeats[d];
  }
  ir::checked_numel(out);
  return out;
}

int64_t block_size(const ir::Node& node) {
  const int64_t b = node.attr_int("blocksize", 0);
  if (b <= 0 || b > (int64_t{1} << 16)) throw bad_input("blocksize {} must be in [1, 65536]", b);
  return b;
}

const ir::Tensor& rank4_input(const KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  if (x.rank() != 4)
    throw bad_input("input must be 4-D [N, C, H, W], got {}", ir::shape_str(x.shape()));
  return x;
}

}  // namespace

// ------------------------------------------------------------------------------ Transpose
void check_Transpose(const KernelInfo& info) { reject_strings(info); }

void run_Transpose(KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  std::vector<int64_t> perm(x.rank());
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(perm.size() - 1 - i);
  if (a.node.has_attr("perm")) perm = a.node.attr_ints("perm");  // default: reverse the dims
  check_permutation(perm, x.rank());
  a.outputs[0] = permute(x, x.shape(), perm);
}

// --------------------------------------------------------------------------------- Concat
void check_Concat(const KernelInfo& info) {
  reject_strings(info);
  if (!info.node.has_attr("axis")) throw bad_input("Concat needs the 'axis' attribute");
}

void run_Concat(KernelArgs& a) {
  const ir::Tensor& first = a.in(0);
  if (first.rank() == 0) throw bad_input("cannot concatenate scalars");
  const int64_t axis =
      normalize_axis(a.node.attr_int("axis", 0), static_cast<int64_t>(first.rank()));
  const auto ax = static_cast<size_t>(axis);
  ir::Shape out_shape = first.shape();
  out_shape[ax] = 0;
  for (size_t i = 0; i < a.num_inputs(); ++i) {
    const ir::Tensor& t = a.in(i);
    bool ok = t.dtype() == first.dtype() && t.rank() == first.rank();
    for (size_t d = 0; ok && d < t.rank(); ++d) ok = d == ax || t.shape()[d] == first.shape()[d];
    if (!ok) {
      throw bad_input("input {} ({} {}) does not match input 0 ({} {}) off axis {}", i,
                      ir::dtype_name(t.dtype()), ir::shape_str(t.shape()),
                      ir::dtype_name(first.dtype()), ir::shape_str(first.shape()), axis);
    }
    out_shape[ax] += t.shape()[ax];
  }
  element_size(first);
  ir::Tensor y = ir::Tensor::zeros(first.dtype(), out_shape);
  // Row-major: each input contributes one contiguous chunk of dims[axis:] per outer index.
  const int64_t outer = ir::checked_numel(ir::Shape(out_shape.begin(), out_shape.begin() + axis));
  int64_t dst = 0;
  for (int64_t o = 0; o < outer; ++o) {  // outer > 0 here, so the division is safe
    for (size_t i = 0; i < a.num_inputs(); ++i) {
      const int64_t chunk = a.in(i).numel() / outer;
      copy_elements(a.in(i), o * chunk, y, dst, chunk);
      dst += chunk;
    }
  }
  a.outputs[0] = std::move(y);
}

// ---------------------------------------------------------------------------------- Split
void check_Split(const KernelInfo& info) { reject_strings(info); }

void run_Split(KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  const int64_t axis = normalize_axis(a.node.attr_int("axis", 0), static_cast<int64_t>(x.rank()));
  const auto sizes = split_sizes(ints_attr_or_input(a, "split", 1, 13),
                                 x.shape()[static_cast<size_t>(axis)], a.num_outputs());
  std::vector<ir::Tensor> pieces = split_pieces(x, axis, sizes);
  for (size_t i = 0; i < pieces.size(); ++i) a.outputs[i] = std::move(pieces[i]);
}

// ---------------------------------------------------------------------------------- Slice
void check_Slice(const KernelInfo& info) {
  reject_strings(info);
  if (info.since_version < 10 && (!info.node.has_attr("starts") || !info.node.has_attr("ends"))) {
    throw bad_input("Slice-1 needs the 'starts' and 'ends' attributes");
  }
}

void run_Slice(KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  const SliceParams p = slice_params(a, static_cast<int64_t>(x.rank()));
  StridedView v = contiguous_view(x.shape());
  for (size_t i = 0; i < p.axes.size(); ++i) {
    const auto ax = static_cast<size_t>(p.axes[i]);
    const SliceAxis s = slice_axis(x.shape()[ax], p.starts[i], p.ends[i], p.steps[i]);
    v.offset += s.start * v.strides[ax];
    // With one element the step never applies (and step * stride could overflow).
    v.strides[ax] = s.count > 1 ? s.step * v.strides[ax] : 0;
    v.shape[ax] = s.count;
  }
  a.outputs[0] = materialize(x, v);
}

// --------------------------------------------------------------------------------- Expand
void check_Expand(const KernelInfo& info) {
  reject_strings(info);
  require_dtype(info, 1, {ir::DType::Int64});
}

void run_Expand(KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  const std::vector<int64_t> shape = int_list(a.in(1), "shape");
  for (int64_t d : shape) {
    if (d < 0) throw bad_input("shape {} has a negative dim", ir::shape_str(shape));
  }
  // Bidirectional (numpy) broadcast: dims of 1 in `shape` keep the input's dim.
  const ir::Shape out = broadcast_shapes(x.shape(), shape);
  a.outputs[0] = materialize(x, StridedView{out, broadcast_strides(x.shape(), out), 0});
}

// ----------------------------------------------------------------------------------- Tile
void check_Tile(const KernelInfo& info) {
  reject_strings(info);
  require_dtype(info, 1, {ir::DType::Int64});
}

void run_Tile(KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  const ir::Shape out_shape = tiled_shape(x.shape(), int_list(a.in(1), "repeats"));
  ir::Tensor y = ir::Tensor::zeros(x.dtype(), out_shape);
  const std::vector<int64_t> in_strides = contiguous_strides(x.shape());
  std::vector<int64_t> src(x.rank());
  int64_t i = 0;
  for_each_index(out_shape, [&](const std::vector<int64_t>& idx) {
    for (size_t d = 0; d < idx.size(); ++d) src[d] = idx[d] % x.shape()[d];
    copy_elements(x, flat_index(src, in_strides), y, i++);
  });
  a.outputs[0] = std::move(y);
}

// --------------------------------------------------------------------------- DepthToSpace
void check_DepthToSpace(const KernelInfo& info) {
  reject_strings(info);
  block_size(info.node);
  const std::string mode = info.node.attr_string("mode", "DCR");
  if (mode != "DCR" && mode != "CRD") throw bad_input("mode '{}' is not DCR or CRD", mode);
}

void run_DepthToSpace(KernelArgs& a) {
  const ir::Tensor& x = rank4_input(a);
  const int64_t b = block_size(a.node);
  const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  if (c % (b * b) != 0)
    throw bad_input("channels {} are not a multiple of blocksize^2 = {}", c, b * b);
  const int64_t cb = c / (b * b);
  // DCR: [N, b, b, C/b^2, H, W] -> [N, C/b^2, H, b, W, b]; CRD: [N, C/b^2, b, b, H, W] -> same.
  const bool crd = a.since_version >= 11 && a.node.attr_string("mode", "DCR") == "CRD";
  const ir::Tensor y = crd ? permute(x, {n, cb, b, b, h, w}, {0, 1, 4, 2, 5, 3})
                           : permute(x, {n, b, b, cb, h, w}, {0, 3, 4, 1, 5, 2});
  a.outputs[0] = y.reshaped({n, cb, h * b, w * b});
}

// --------------------------------------------------------------------------- SpaceToDepth
void check_SpaceToDepth(const KernelInfo& info) {
  reject_strings(info);
  block_size(info.node);
}

void run_SpaceToDepth(KernelArgs& a) {
  const ir::Tensor& x = rank4_input(a);
  const int64_t b = block_size(a.node);
  const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  if (h % b != 0 || w % b != 0) {
    throw bad_input("spatial dims {}x{} are not multiples of blocksize {}", h, w, b);
  }
  // [N, C, H/b, b, W/b, b] -> [N, b, b, C, H/b, W/b]
  const ir::Tensor y = permute(x, {n, c, h / b, b, w / b, b}, {0, 3, 5, 1, 2, 4});
  a.outputs[0] = y.reshaped({n, c * b * b, h / b, w / b});
}

// ------------------------------------------------------------------------ ReverseSequence
void check_ReverseSequence(const KernelInfo& info) {
  reject_strings(info);
  require_dtype(info, 1, {ir::DType::Int64});
  const int64_t batch = info.node.attr_int("batch_axis", 1);
  const int64_t time = info.node.attr_int("time_axis", 0);
  if ((batch != 0 && batch != 1) || (time != 0 && time != 1) || batch == time) {
    throw bad_input("batch_axis {} and time_axis {} must be 0 and 1 in some order", batch, time);
  }
}

// Along time, the first sequence_lens[b] elements of batch entry b are reversed; the rest kept.
void run_ReverseSequence(KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  if (x.rank() < 2) throw bad_input("input must have rank >= 2, got {}", ir::shape_str(x.shape()));
  const auto batch = static_cast<size_t>(a.node.attr_int("batch_axis", 1));
  const auto time = 1 - batch;
  const std::vector<int64_t> lens = int_list(a.in(1), "sequence_lens");
  if (static_cast<int64_t>(lens.size()) != x.shape()[batch]) {
    throw bad_input("sequence_lens has {} entries for batch size {}", lens.size(),
                    x.shape()[batch]);
  }
  for (int64_t len : lens) {
    if (len < 0 || len > x.shape()[time]) {
      throw bad_input("sequence length {} is out of range [0, {}]", len, x.shape()[time]);
    }
  }
  ir::Tensor y = ir::Tensor::zeros(x.dtype(), x.shape());
  const std::vector<int64_t> strides = contiguous_strides(x.shape());
  std::vector<int64_t> src;
  int64_t i = 0;
  for_each_index(x.shape(), [&](const std::vector<int64_t>& idx) {
    src = idx;
    const int64_t len = lens[static_cast<size_t>(idx[batch])];
    if (idx[time] < len) src[time] = len - 1 - idx[time];
    copy_elements(x, flat_index(src, strides), y, i++);
  });
  a.outputs[0] = std::move(y);
}

// ---------------------------------------------------------------------------------- Trilu
void check_Trilu(const KernelInfo& info) {
  reject_strings(info);
  require_dtype(info, 1, {ir::DType::Int64});
}

// Keeps element (i, j) of each trailing matrix where j - i >= k (upper) or j - i <= k (lower);
// the rest become zero (all-zero bytes in every dtype).
void run_Trilu(KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  if (x.rank() < 2) throw bad_input("input must have rank >= 2, got {}", ir::shape_str(x.shape()));
  const int64_t k = a.opt(1) ? int_scalar(*a.opt(1), "k") : 0;
  const bool upper = a.node.attr_int("upper", 1) != 0;
  ir::Tensor y = ir::Tensor::zeros(x.dtype(), x.shape());
  const int64_t rows = x.dim(-2), cols = x.dim(-1);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t diag = (i % cols) - (i / cols) % rows;  // j - i, bounded; k is never shifted
    if (upper ? diag >= k : diag <= k) copy_elements(x, i, y, i);
  }
  a.outputs[0] = std::move(y);
}

}  // namespace hone::runtime::reference::kernels
