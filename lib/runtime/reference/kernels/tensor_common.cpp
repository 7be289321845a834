#include "runtime/reference/kernels/tensor_common.h"

#include <cstring>

namespace hone::runtime::reference::kernels::tensor_common {

void reject_strings(const KernelInfo& info) {
  for (size_t i = 0; i < info.input_dtypes.size(); ++i) {
    if (info.input_dtypes[i] == ir::DType::String) {
      throw unsupported("input {} is a string tensor", i);
    }
  }
}

size_t element_size(const ir::Tensor& t) {
  const size_t size = ir::dtype_size(t.dtype());
  if (size == 0)
    throw unsupported("tensors of dtype {} are not supported", ir::dtype_name(t.dtype()));
  return size;
}

void copy_elements(const ir::Tensor& src, int64_t src_index, ir::Tensor& dst, int64_t dst_index,
                   int64_t count) {
  HONE_ASSERT(src.dtype() == dst.dtype() && count >= 0);
  HONE_ASSERT(src_index >= 0 && src_index <= src.numel() - count);
  HONE_ASSERT(dst_index >= 0 && dst_index <= dst.numel() - count);
  if (count == 0) return;
  const size_t size = ir::dtype_size(src.dtype());
  std::memcpy(static_cast<std::byte*>(dst.raw()) + static_cast<size_t>(dst_index) * size,
              static_cast<const std::byte*>(src.raw()) + static_cast<size_t>(src_index) * size,
              static_cast<size_t>(count) * size);
}

StridedView contiguous_view(const ir::Shape& shape) {
  return StridedView{shape, contiguous_strides(shape), 0};
}

ir::Tensor materialize(const ir::Tensor& src, const StridedView& view) {
  element_size(src);
  HONE_ASSERT(view.shape.size() == view.strides.size());
  ir::Tensor out = ir::Tensor::zeros(src.dtype(), view.shape);
  int64_t i = 0;
  for (BroadcastIter it(view.shape, {view.strides}); !it.done(); it.next()) {
    copy_elements(src, view.offset + it.offset(0), out, i++);
  }
  return out;
}

int64_t dims_product(const ir::Shape& shape, size_t begin, size_t end) {
  HONE_ASSERT(begin <= end && end <= shape.size());
  int64_t n = 1;
  for (size_t d = begin; d < end; ++d) n *= shape[d];
  return n;
}

int64_t flat_index(const std::vector<int64_t>& idx, const std::vector<int64_t>& strides) {
  int64_t flat = 0;
  for (size_t d = 0; d < idx.size(); ++d) flat += idx[d] * strides[d];
  return flat;
}

std::vector<int64_t> int_list(const ir::Tensor& t, const char* what) {
  if (t.dtype() != ir::DType::Int64 && t.dtype() != ir::DType::Int32) {
    throw bad_input("{} must be an int64 or int32 tensor, got {}", what, ir::dtype_name(t.dtype()));
  }
  if (t.rank() > 1) {
    throw bad_input("{} must be a 1-D tensor, got shape {}", what, ir::shape_str(t.shape()));
  }
  return t.to_int64_vector();
}

int64_t int_scalar(const ir::Tensor& t, const char* what) {
  const std::vector<int64_t> v = int_list(t, what);
  if (v.size() != 1) throw bad_input("{} must hold one value, got {}", what, v.size());
  return v[0];
}

std::vector<int64_t> index_values(const ir::Tensor& t, const char* what) {
  if (t.dtype() != ir::DType::Int64 && t.dtype() != ir::DType::Int32) {
    throw bad_input("{} must be an int64 or int32 tensor, got {}", what, ir::dtype_name(t.dtype()));
  }
  return t.to_int64_vector();
}

int64_t checked_index(int64_t index, int64_t dim, const char* what) {
  const int64_t i = index < 0 ? index + dim : index;
  if (i < 0 || i >= dim)
    throw bad_input("{} {} is out of range for a dim of size {}", what, index, dim);
  return i;
}

void check_elementwise_indices(const ir::Shape& data, const ir::Shape& indices, size_t axis) {
  bool ok = indices.size() == data.size() && axis < data.size();
  for (size_t d = 0; ok && d < data.size(); ++d) ok = d == axis || indices[d] <= data[d];
  if (!ok) {
    throw bad_input("indices {} do not fit data {} off axis {}", ir::shape_str(indices),
                    ir::shape_str(data), axis);
  }
}

std::vector<int64_t> normalize_axes(const std::vector<int64_t>& axes, int64_t rank) {
  std::vector<int64_t> out;
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (int64_t axis : axes) {
    const int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank) throw bad_input("axis {} is out of range for rank {}", axis, rank);
    if (seen[static_cast<size_t>(a)]) throw bad_input("axis {} is repeated", axis);
    seen[static_cast<size_t>(a)] = true;
    out.push_back(a);
  }
  return out;
}

std::optional<std::vector<int64_t>> ints_attr_or_input(const KernelArgs& a, const char* attr,
                                                       size_t input, int64_t input_since) {
  if (a.since_version < input_since) {
    if (!a.node.has_attr(attr)) return std::nullopt;
    return a.node.attr_ints(attr);
  }
  const ir::Tensor* t = a.opt(input);
  if (!t) return std::nullopt;
  return int_list(*t, attr);
}

}  // namespace hone::runtime::reference::kernels::tensor_common
