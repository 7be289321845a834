// Shared pieces of the tensor family (data-movement ops). Data movement is dtype-agnostic:
// elements move as dtype_size(dtype) bytes, so one implementation serves every numeric dtype,
// bool and float16; string tensors are rejected.
#pragma once

#include "runtime/reference/kernel_util.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace hone::runtime::reference::kernels::tensor_common {

// Load time: Unsupported if any input is known to be a string tensor.
void reject_strings(const KernelInfo& info);
// Bytes per element of t; Unsupported for string (and undefined) tensors.
size_t element_size(const ir::Tensor& t);

// Copies `count` consecutive elements of src from `src_index` into dst at `dst_index` (same
// dtype; the ranges must be in bounds, which is asserted).
void copy_elements(const ir::Tensor& src, int64_t src_index, ir::Tensor& dst, int64_t dst_index,
                   int64_t count = 1);

// A view over a source tensor's elements: element idx of the view is source element
// offset + sum(idx[d] * strides[d]). Transpose, Slice, Split, Expand and DepthToSpace are views.
struct StridedView {
  ir::Shape shape;
  std::vector<int64_t> strides;
  int64_t offset = 0;
};
StridedView contiguous_view(const ir::Shape& shape);
// A new tensor holding the view's elements in row-major order.
ir::Tensor materialize(const ir::Tensor& src, const StridedView& view);

// Calls f(index) for every multi-index of `shape` in row-major order (none if a dim is 0,
// one empty index for rank 0).
template <typename F>
void for_each_index(const ir::Shape& shape, F&& f) {
  for (int64_t d : shape) {
    if (d == 0) return;
  }
  std::vector<int64_t> idx(shape.size(), 0);
  while (true) {
    f(static_cast<const std::vector<int64_t>&>(idx));
    size_t d = shape.size();
    while (d > 0 && ++idx[d - 1] == shape[d - 1]) idx[--d] = 0;
    if (d == 0) return;
  }
}

// Product of shape[begin, end) of a valid tensor shape (so it cannot overflow).
int64_t dims_product(const ir::Shape& shape, size_t begin, size_t end);

// Row-major flat offset of `idx` in `shape`.
int64_t flat_index(const std::vector<int64_t>& idx, const std::vector<int64_t>& strides);

// The integers of a rank-0/1 int32 or int64 tensor (shape, axes, starts, pads, repeats...);
// BadInput naming `what` otherwise.
std::vector<int64_t> int_list(const ir::Tensor& t, const char* what);
// One integer from a one-element int32/int64 tensor.
int64_t int_scalar(const ir::Tensor& t, const char* what);

// Element values of an int32/int64 index tensor of any rank (Gather, Scatter, ...).
std::vector<int64_t> index_values(const ir::Tensor& t, const char* what);
// An index into a dim of size `dim`, negative counting from the end; BadInput naming the
// index otherwise.
int64_t checked_index(int64_t index, int64_t dim, const char* what);

// GatherElements / ScatterElements indices: same rank as data and no larger off `axis`, so
// only the index along the axis needs a range check. BadInput otherwise.
void check_elementwise_indices(const ir::Shape& data, const ir::Shape& indices, size_t axis);

// Normalises axes (negative counts from the end) into [0, rank); BadInput on out-of-range
// or repeated axes.
std::vector<int64_t> normalize_axes(const std::vector<int64_t>& axes, int64_t rank);

// An integer list given as attribute `attr` before schema version `input_since` and as
// optional input `input` from then on (Squeeze/Unsqueeze axes, Split split, ...).
// nullopt when absent.
std::optional<std::vector<int64_t>> ints_attr_or_input(const KernelArgs& a, const char* attr,
                                                       size_t input, int64_t input_since);

}  // namespace hone::runtime::reference::kernels::tensor_common
