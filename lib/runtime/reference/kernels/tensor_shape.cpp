// Ops that only change or report a shape: Identity, Flatten, Reshape, Squeeze, Unsqueeze,
// Shape, Size. The data is shared with the input (tensors are immutable once produced).
#include "runtime/reference/kernels/tensor_common.h"

#include <algorithm>

namespace hone::runtime::reference::kernels {

using namespace tensor_common;

namespace {

// Reshape's target: 0 copies the input dim (unless allowzero), one -1 is inferred from the
// remaining element count.
ir::Shape reshape_target(const ir::Shape& in, const std::vector<int64_t>& spec, bool allowzero) {
  ir::Shape out(spec.size());
  std::optional<size_t> inferred;
  bool has_zero = false;
  for (size_t i = 0; i < spec.size(); ++i) {
    const int64_t s = spec[i];
    if (s == -1) {
      if (inferred) throw bad_input("shape {} has more than one -1", ir::shape_str(spec));
      inferred = i;
      out[i] = 1;
    } else if (s < -1) {
      throw bad_input("shape {} has invalid dim {}", ir::shape_str(spec), s);
    } else if (s == 0 && !allowzero) {
      if (i >= in.size()) {
        throw bad_input("shape {} copies dim {} (0) but the input {} has rank {}",
                        ir::shape_str(spec), i, ir::shape_str(in), in.size());
      }
      out[i] = in[i];
    } else {
      has_zero = has_zero || s == 0;
      out[i] = s;
    }
  }
  if (inferred) {
    if (has_zero) {
      throw bad_input("shape {} has both 0 and -1 with allowzero=1", ir::shape_str(spec));
    }
    const int64_t known = ir::checked_numel(out);
    const int64_t total = ir::checked_numel(in);
    if (known == 0 || total % known != 0) {
      throw bad_input("cannot infer the -1 in shape {} for input {}", ir::shape_str(spec),
                      ir::shape_str(in));
    }
    out[*inferred] = total / known;
  }
  return out;
}

// Squeeze: drop the listed dims (each must be 1), or every dim of size 1 when none are listed.
ir::Shape squeeze_shape(const ir::Shape& in, const std::optional<std::vector<int64_t>>& axes) {
  std::vector<bool> drop(in.size(), false);
  if (axes) {
    for (int64_t a : normalize_axes(*axes, static_cast<int64_t>(in.size()))) {
      if (in[static_cast<size_t>(a)] != 1) {
        throw bad_input("cannot squeeze axis {} of size {}", a, in[static_cast<size_t>(a)]);
      }
      drop[static_cast<size_t>(a)] = true;
    }
  } else {
    for (size_t d = 0; d < in.size(); ++d) drop[d] = in[d] == 1;
  }
  ir::Shape out;
  for (size_t d = 0; d < in.size(); ++d) {
    if (!drop[d]) out.push_back(in[d]);
  }
  return out;
}

// Unsqueeze: axes index the output, whose rank is rank(input) + len(axes).
ir::Shape unsqueeze_shape(const ir::Shape& in, const std::vector<int64_t>& axes) {
  const int64_t out_rank = static_cast<int64_t>(in.size() + axes.size());
  std::vector<bool> inserted(static_cast<size_t>(out_rank), false);
  for (int64_t a : normalize_axes(axes, out_rank)) inserted[static_cast<size_t>(a)] = true;
  ir::Shape out;
  size_t next = 0;
  for (size_t d = 0; d < inserted.size(); ++d) out.push_back(inserted[d] ? 1 : in[next++]);
  return out;
}

}  // namespace

// ------------------------------------------------------------------------------- Identity
void check_Identity(const KernelInfo& info) { reject_strings(info); }
void run_Identity(KernelArgs& a) { a.outputs[0] = a.in(0); }

// -------------------------------------------------------------------------------- Flatten
void check_Flatten(const KernelInfo& info) { reject_strings(info); }

void run_Flatten(KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  const int64_t rank = static_cast<int64_t>(x.rank());
  int64_t axis = a.node.attr_int("axis", 1);
  if (axis < 0 && a.since_version >= 11) axis += rank;  // negative axes from opset 11
  if (axis < 0 || axis > rank) throw bad_input("axis {} is out of range for rank {}", axis, rank);
  const auto split = static_cast<size_t>(axis);
  a.outputs[0] =
      x.reshaped({dims_product(x.shape(), 0, split), dims_product(x.shape(), split, x.rank())});
}

// -------------------------------------------------------------------------------- Reshape
void check_Reshape(const KernelInfo& info) {
  reject_strings(info);
  require_dtype(info, 1, {ir::DType::Int64});
}

void run_Reshape(KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  const bool allowzero = a.since_version >= 14 && a.node.attr_int("allowzero", 0) != 0;
  a.outputs[0] = x.reshaped(reshape_target(x.shape(), int_list(a.in(1), "shape"), allowzero));
}

// -------------------------------------------------------------------------------- Squeeze
void check_Squeeze(const KernelInfo& info) { reject_strings(info); }

void run_Squeeze(KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  a.outputs[0] = x.reshaped(squeeze_shape(x.shape(), ints_attr_or_input(a, "axes", 1, 13)));
}

// ------------------------------------------------------------------------------ Unsqueeze
void check_Unsqueeze(const KernelInfo& info) { reject_strings(info); }

void run_Unsqueeze(KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  const auto axes = ints_attr_or_input(a, "axes", 1, 13);
  if (!axes) throw bad_input("Unsqueeze needs axes");
  a.outputs[0] = x.reshaped(unsqueeze_shape(x.shape(), *axes));
}

// ---------------------------------------------------------------------------------- Shape
void check_Shape(const KernelInfo& info) { reject_strings(info); }

void run_Shape(KernelArgs& a) {
  const ir::Shape& shape = a.in(0).shape();
  const auto rank = static_cast<int64_t>(shape.size());
  // Opset 15: start/end select dims like a Python slice, clamped to [0, rank].
  auto clamp_dim = [&](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t{0}, rank); };
  int64_t start = 0;
  int64_t end = rank;
  if (a.since_version >= 15) {
    start = clamp_dim(a.node.attr_int("start", 0));
    end = clamp_dim(a.node.attr_int("end", rank));
  }
  const std::vector<int64_t> dims(shape.begin() + start, shape.begin() + std::max(start, end));
  a.outputs[0] = ir::Tensor::from_vector<int64_t>({static_cast<int64_t>(dims.size())}, dims);
}

// ----------------------------------------------------------------------------------- Size
void check_Size(const KernelInfo& info) { reject_strings(info); }
void run_Size(KernelArgs& a) { a.outputs[0] = ir::Tensor::scalar<int64_t>(a.in(0).numel()); }

}  // namespace hone::runtime::reference::kernels
