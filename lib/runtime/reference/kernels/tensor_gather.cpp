// Ops that select elements by index or condition: Gather, GatherElements, GatherND, Compress,
// NonZero. Every index read from a tensor is range-checked before it is used.
#include "runtime/reference/kernels/tensor_common.h"

namespace hone::runtime::reference::kernels {

using namespace tensor_common;

namespace {

// Compress: keep the slices along `axis` (of `n`) whose condition is true; a condition
// shorter than the dim drops the rest, as numpy.compress does.
std::vector<int64_t> kept_slices(const ir::Tensor& condition, int64_t n) {
  require_dtype(condition, "condition", {ir::DType::Bool});
  if (condition.rank() != 1)
    throw bad_input("condition must be 1-D, got {}", ir::shape_str(condition.shape()));
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < condition.numel(); ++i) {
    if (!condition.data<bool>()[i]) continue;
    if (i >= n) throw bad_input("condition is true at {}, past the {} slices", i, n);
    kept.push_back(i);
  }
  return kept;
}

// NonZero's test per dtype: -0.0 is zero, NaN is not.
std::vector<bool> nonzero_mask(const ir::Tensor& x) {
  std::vector<bool> mask(static_cast<size_t>(x.numel()));
  visit_dtype(x.dtype(), [&]<typename T>() {
    const T* p = x.data<T>();
    for (size_t i = 0; i < mask.size(); ++i) {
      if constexpr (std::is_same_v<T, ir::Float16> || std::is_same_v<T, ir::BFloat16>) {
        mask[i] = to_float(p[i]) != 0.0f;
      } else {
        mask[i] = p[i] != T{};
      }
    }
  });
  return mask;
}

}  // namespace

// --------------------------------------------------------------------------------- Gather
void check_Gather(const KernelInfo& info) {
  reject_strings(info);
  require_dtype(info, 1, {ir::DType::Int32, ir::DType::Int64});
}

// out[o, i..., r] = data[o, indices[i...], r] with o over dims before the axis, r after it.
void run_Gather(KernelArgs& a) {
  const ir::Tensor& data = a.in(0);
  const ir::Tensor& indices = a.in(1);
  if (data.rank() == 0) throw bad_input("cannot gather from a scalar");
  const auto axis = static_cast<size_t>(
      normalize_axis(a.node.attr_int("axis", 0), static_cast<int64_t>(data.rank())));
  std::vector<int64_t> idx = index_values(indices, "indices");
  const int64_t n = data.shape()[axis];
  for (int64_t& i : idx) i = checked_index(i, n, "index");

  ir::Shape out_shape(data.shape().begin(),
                      data.shape().begin() + static_cast<std::ptrdiff_t>(axis));
  out_shape.insert(out_shape.end(), indices.shape().begin(), indices.shape().end());
  out_shape.insert(out_shape.end(), data.shape().begin() + static_cast<std::ptrdiff_t>(axis) + 1,
                   data.shape().end());
  ir::Tensor y = ir::Tensor::zeros(data.dtype(), out_shape);
  const int64_t outer = dims_product(data.shape(), 0, axis);
  const int64_t inner = dims_product(data.shape(), axis + 1, data.rank());
  int64_t dst = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i : idx) {
      copy_elements(data, (o * n + i) * inner, y, dst, inner);
      dst += inner;
    }
  }
  a.outputs[0] = std::move(y);
}

// ------------------------------------------------------------------------- GatherElements
void check_GatherElements(const KernelInfo& info) { check_Gather(info); }

// out[i][j][k] = data[indices[i][j][k]][j][k] for axis 0 (likewise for other axes).
void run_GatherElements(KernelArgs& a) {
  const ir::Tensor& data = a.in(0);
  const ir::Tensor& indices = a.in(1);
  if (data.rank() == 0) throw bad_input("cannot gather from a scalar");
  const auto axis = static_cast<size_t>(
      normalize_axis(a.node.attr_int("axis", 0), static_cast<int64_t>(data.rank())));
  check_elementwise_indices(data.shape(), indices.shape(), axis);
  const std::vector<int64_t> idx = index_values(indices, "indices");
  const std::vector<int64_t> strides = contiguous_strides(data.shape());
  ir::Tensor y = ir::Tensor::zeros(data.dtype(), indices.shape());
  int64_t i = 0;
  for_each_index(indices.shape(), [&](const std::vector<int64_t>& pos) {
    std::vector<int64_t> src = pos;
    src[axis] = checked_index(idx[static_cast<size_t>(i)], data.shape()[axis], "index");
    copy_elements(data, flat_index(src, strides), y, i);
    ++i;
  });
  a.outputs[0] = std::move(y);
}

// ------------------------------------------------------------------------------- GatherND
void check_GatherND(const KernelInfo& info) {
  reject_strings(info);
  require_dtype(info, 1, {ir::DType::Int64});
}

// indices [b..., m..., k] pick slices data[b..., i_1..i_k, :] (b = batch_dims shared dims).
void run_GatherND(KernelArgs& a) {
  const ir::Tensor& data = a.in(0);
  const ir::Tensor& indices = a.in(1);
  const int64_t b = a.since_version >= 12 ? a.node.attr_int("batch_dims", 0) : 0;
  const auto r = static_cast<int64_t>(data.rank());
  const auto q = static_cast<int64_t>(indices.rank());
  if (b < 0 || b >= std::min(r, q)) throw bad_input("batch_dims {} must be in [0, min(r, q))", b);
  const auto ub = static_cast<size_t>(b);
  const int64_t k = indices.shape().back();
  if (k < 1 || k > r - b) throw bad_input("indices' last dim {} must be in [1, {}]", k, r - b);
  for (size_t d = 0; d < ub; ++d) {
    if (data.shape()[d] != indices.shape()[d]) {
      throw bad_input("batch dims of data {} and indices {} differ", ir::shape_str(data.shape()),
                      ir::shape_str(indices.shape()));
    }
  }
  const auto uk = static_cast<size_t>(k);
  ir::Shape out_shape(indices.shape().begin(), indices.shape().end() - 1);
  out_shape.insert(out_shape.end(), data.shape().begin() + b + k, data.shape().end());
  ir::Tensor y = ir::Tensor::zeros(data.dtype(), out_shape);

  const std::vector<int64_t> idx = index_values(indices, "indices");
  const std::vector<int64_t> strides = contiguous_strides(data.shape());
  const int64_t slice = dims_product(data.shape(), ub + uk, data.rank());
  const int64_t per_batch =
      dims_product(indices.shape(), ub, indices.rank() - 1);  // tuples per batch
  const int64_t tuples = dims_product(indices.shape(), 0, indices.rank() - 1);
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t src = (t / per_batch) * (ub > 0 ? strides[ub - 1] : 0);
    for (size_t j = 0; j < uk; ++j) {
      const int64_t i = idx[static_cast<size_t>(t * k) + j];
      src += checked_index(i, data.shape()[ub + j], "index") * strides[ub + j];
    }
    copy_elements(data, src, y, t * slice, slice);
  }
  a.outputs[0] = std::move(y);
}

// ------------------------------------------------------------------------------- Compress
void check_Compress(const KernelInfo& info) {
  reject_strings(info);
  require_dtype(info, 1, {ir::DType::Bool});
}

void run_Compress(KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  // Without axis the input is flattened first.
  const bool flat = !a.node.has_attr("axis");
  const ir::Shape shape = flat ? ir::Shape{x.numel()} : x.shape();
  int64_t axis = 0;
  if (!flat) {
    axis = a.node.attr_int("axis", 0);
    if (axis < 0 && a.since_version < 11) throw bad_input("negative axis {} needs opset 11", axis);
    axis = normalize_axis(axis, static_cast<int64_t>(shape.size()));
  }
  if (shape.empty()) throw bad_input("cannot compress a scalar along an axis");
  const auto ax = static_cast<size_t>(axis);
  const std::vector<int64_t> kept = kept_slices(a.in(1), shape[ax]);
  ir::Shape out_shape = shape;
  out_shape[ax] = static_cast<int64_t>(kept.size());
  ir::Tensor y = ir::Tensor::zeros(x.dtype(), out_shape);
  const int64_t outer = dims_product(shape, 0, ax);
  const int64_t inner = dims_product(shape, ax + 1, shape.size());
  int64_t dst = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i : kept) {
      copy_elements(x, (o * shape[ax] + i) * inner, y, dst, inner);
      dst += inner;
    }
  }
  a.outputs[0] = std::move(y);
}

// -------------------------------------------------------------------------------- NonZero
void check_NonZero(const KernelInfo& info) { reject_strings(info); }

// Output [rank, nnz]: column j holds the multi-index of the j-th non-zero in row-major order.
// A scalar gives [0, nnz] (the spec departs from numpy there).
void run_NonZero(KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  const std::vector<bool> mask = nonzero_mask(x);
  std::vector<int64_t> found;  // flat positions
  for (size_t i = 0; i < mask.size(); ++i) {
    if (mask[i]) found.push_back(static_cast<int64_t>(i));
  }
  const auto nnz = static_cast<int64_t>(found.size());
  ir::Tensor y = ir::Tensor::zeros(ir::DType::Int64, {static_cast<int64_t>(x.rank()), nnz});
  int64_t* out = y.data<int64_t>();
  const std::vector<int64_t> strides = contiguous_strides(x.shape());
  for (size_t d = 0; d < x.rank(); ++d) {
    for (int64_t j = 0; j < nnz; ++j) {
      out[static_cast<int64_t>(d) * nnz + j] =
          found[static_cast<size_t>(j)] / strides[d] % x.shape()[d];
    }
  }
  a.outputs[0] = std::move(y);
}

}  // namespace hone::runtime::reference::kernels
