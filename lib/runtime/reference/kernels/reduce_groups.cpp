#include "runtime/reference/kernels/reduce_groups.h"

namespace hone::runtime::reference::reduction {

namespace {
// Flat offsets of every multi-index over the dims where mask[d] == select, in row-major order
// of those dims (e.g. the bases of all groups, or the members of one group).
std::vector<int64_t> offsets_over(const ir::Shape& shape, const std::vector<bool>& mask,
                                  bool select) {
  // A zero-size tensor has no element to address, and its other dims may be huge enough for
  // row-major strides to overflow: give it zero strides.
  const bool empty = ir::checked_numel(shape) == 0;
  const std::vector<int64_t> strides =
      empty ? std::vector<int64_t>(shape.size(), 0) : contiguous_strides(shape);
  ir::Shape dims;
  std::vector<int64_t> dim_strides;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (mask[d] != select) continue;
    dims.push_back(shape[d]);
    dim_strides.push_back(strides[d]);
  }
  const int64_t n = ir::checked_numel(dims);
  std::vector<int64_t> offsets;
  offsets.reserve(static_cast<size_t>(n));
  std::vector<int64_t> index(dims.size(), 0);
  int64_t offset = 0;
  for (int64_t i = 0; i < n; ++i) {
    offsets.push_back(offset);
    for (size_t d = dims.size(); d-- > 0;) {  // odometer step over `dims`
      offset += dim_strides[d];
      if (++index[d] < dims[d]) break;
      offset -= dim_strides[d] * dims[d];
      index[d] = 0;
    }
  }
  return offsets;
}
}  // namespace

std::vector<bool> axes_mask(const std::vector<int64_t>& axes, int64_t rank) {
  std::vector<bool> mask(static_cast<size_t>(rank), false);
  for (int64_t axis : axes) {
    if (axis < -rank || axis >= rank) {
      throw bad_input("axis {} is out of range for rank {}", axis, rank);
    }
    const size_t a = static_cast<size_t>(axis < 0 ? axis + rank : axis);
    if (mask[a]) throw bad_input("axis {} is listed more than once", axis);
    mask[a] = true;
  }
  return mask;
}

std::vector<bool> single_axis_mask(int64_t axis, int64_t rank) { return axes_mask({axis}, rank); }

std::vector<bool> trailing_axes_mask(int64_t axis, int64_t rank) {
  std::vector<bool> mask = single_axis_mask(axis, rank);
  bool on = false;
  for (size_t d = 0; d < mask.size(); ++d) {
    on = on || mask[d];
    mask[d] = on;
  }
  return mask;
}

ir::Shape reduced_shape(const ir::Shape& shape, const std::vector<bool>& mask, bool keepdims) {
  ir::Shape out;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (!mask[d]) out.push_back(shape[d]);
    else if (keepdims) out.push_back(1);
  }
  return out;
}

ir::Shape resized_shape(const ir::Shape& shape, int64_t axis, int64_t size) {
  ir::Shape out = shape;
  out.at(static_cast<size_t>(axis)) = size;
  return out;
}

AxisGroups::AxisGroups(const ir::Shape& shape, const std::vector<bool>& mask)
    : bases_(offsets_over(shape, mask, false)), members_(offsets_over(shape, mask, true)) {}

}  // namespace hone::runtime::reference::reduction
