// Ops that scan or order the elements along one axis: CumSum and TopK.
#include "runtime/reference/kernels/reduce_groups.h"

#include <algorithm>
#include <numeric>

namespace hone::runtime::reference::kernels {

namespace {
using namespace reduction;
using ir::DType;

// A scalar integer input (CumSum's axis, TopK's K): rank 0 or a single element.
int64_t scalar_input(const ir::Tensor& t, const char* what) {
  require_dtype(t, what, {DType::Int32, DType::Int64});
  if (t.numel() != 1 || t.rank() > 1) {
    throw bad_input("{} must hold a single value, got shape {}", what, ir::shape_str(t.shape()));
  }
  return t.get_as_int64(0);
}

// ----------------------------------------------------------------------------------- CumSum
// y_j = sum_{i <= j} x_i; exclusive: sum_{i < j}; reverse: the sums run from the last element.
template <typename C>
void cumsum_values(std::span<const C> x, std::span<C> y, bool exclusive, bool reverse) {
  const size_t n = x.size();
  Acc<C> running{};
  for (size_t k = 0; k < n; ++k) {
    const size_t i = reverse ? n - 1 - k : k;
    const Acc<C> before = running;
    running = add<Acc<C>>(running, Acc<C>(x[i]));
    y[i] = static_cast<C>(exclusive ? before : running);
  }
}

// ------------------------------------------------------------------------------------- TopK
// Order of values as numpy sorts them: ascending, NaN after every number.
template <typename C>
bool sorts_before(C a, C b) {
  return (!is_nan(a) && is_nan(b)) || a < b;
}

// Indices of the k largest (or smallest) of v, best first; equal values keep the lower index
// first, as the spec requires (hence the stable sort).
template <typename C>
void top_k_order(std::span<const C> v, bool largest, std::vector<int64_t>& order) {
  order.resize(v.size());
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t i, int64_t j) {
    const C a = v[static_cast<size_t>(i)], b = v[static_cast<size_t>(j)];
    return largest ? sorts_before(b, a) : sorts_before(a, b);
  });
}

// K: the attribute `k` before opset 10, the input K since; 0 <= K <= the axis' size.
int64_t top_k_count(const KernelArgs& a, int64_t axis_size) {
  const int64_t k = a.since_version >= 10 ? scalar_input(a.in(1), "K") : a.node.attr_int("k", -1);
  if (k < 0 || k > axis_size) {
    throw bad_input("K = {} is out of range for an axis of size {}", k, axis_size);
  }
  return k;
}

std::initializer_list<DType> top_k_types(int64_t since_version) {
  return since_version >= 11 ? kNumericTypes : kFloatTypes;
}
}  // namespace

void check_CumSum(const KernelInfo& info) {
  require_dtype(info, 0, kSumTypes);
  require_dtype(info, 1, {DType::Int32, DType::Int64});
  (void)info.node.attr_int("exclusive", 0);
  (void)info.node.attr_int("reverse", 0);
}

void run_CumSum(KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  require_dtype(x, "x", kSumTypes);
  const std::vector<bool> mask = single_axis_mask(scalar_input(a.in(1), "axis"), int64_t(x.rank()));
  const bool exclusive = a.node.attr_int("exclusive", 0) != 0;
  const bool reverse = a.node.attr_int("reverse", 0) != 0;
  a.outputs[0] = transform_groups(x, mask, [&](auto in, auto out) {
    cumsum_values(in, out, exclusive, reverse);
  });
}

void check_TopK(const KernelInfo& info) {
  require_dtype(info, 0, top_k_types(info.since_version));
  if (info.since_version >= 10) {
    require_dtype(info, 1, {DType::Int64});
  } else if (!info.node.has_attr("k")) {
    throw bad_input("TopK before opset 10 needs the attribute k");
  }
  (void)info.node.attr_int("axis", -1);
  (void)info.node.attr_int("largest", 1);
  (void)info.node.attr_int("sorted", 1);
}

// Values and Indices have x's shape with the axis resized to K. sorted=0 leaves the order
// unspecified; sorting anyway is one valid choice.
void run_TopK(KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  require_dtype(x, "X", top_k_types(a.since_version));
  const int64_t rank = int64_t(x.rank());
  const std::vector<bool> mask = single_axis_mask(a.node.attr_int("axis", -1), rank);
  const int64_t axis = normalize_axis(a.node.attr_int("axis", -1), rank);
  const int64_t k = top_k_count(a, x.dim(axis));
  const bool largest = a.since_version < 11 || a.node.attr_int("largest", 1) != 0;
  const ir::Shape out_shape = resized_shape(x.shape(), axis, k);
  const AxisGroups in(x.shape(), mask), out(out_shape, mask);
  std::vector<int64_t> indices(static_cast<size_t>(ir::checked_numel(out_shape)));
  visit_numeric(x.dtype(), [&]<typename T>() {
    using C = Compute<T>;
    const std::vector<C> xs = load<T>(x);
    std::vector<C> values(indices.size()), group(static_cast<size_t>(in.size()));
    std::vector<C> top_values(static_cast<size_t>(k));
    std::vector<int64_t> order;
    for (int64_t g = 0; g < in.count(); ++g) {
      in.gather<C>(xs, g, group);
      top_k_order<C>(group, largest, order);
      order.resize(static_cast<size_t>(k));
      for (size_t i = 0; i < order.size(); ++i) top_values[i] = group[static_cast<size_t>(order[i])];
      out.scatter<C>(top_values, g, values);
      out.scatter<int64_t>(order, g, indices);
    }
    a.outputs[0] = store<T>(values, out_shape);
  });
  if (a.wants_output(1)) a.outputs[1] = ir::Tensor::from_vector<int64_t>(out_shape, indices);
}

}  // namespace hone::runtime::reference::kernels
