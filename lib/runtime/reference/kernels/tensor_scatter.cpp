// Ops that write updates into a copy of data at given indices: ScatterElements (and its
// deprecated name Scatter), ScatterND. Opset 16 adds reduction = add | mul; updates apply in
// index order, so with duplicate indices the last write wins for reduction = none.
#include "runtime/reference/kernels/tensor_common.h"

#include <type_traits>

namespace hone::runtime::reference::kernels {

using namespace tensor_common;

namespace {

enum class Reduction { None, Add, Mul };

Reduction parse_reduction(const ir::Node& node, int64_t since_version) {
  if (since_version < 16) return Reduction::None;  // the attribute arrived in opset 16
  const std::string r = node.attr_string("reduction", "none");
  if (r == "none") return Reduction::None;
  if (r == "add") return Reduction::Add;
  if (r == "mul") return Reduction::Mul;
  throw bad_input("reduction '{}' is not none, add or mul", r);
}

void check_scatter(const KernelInfo& info) {
  reject_strings(info);
  require_dtype(info, 1, {ir::DType::Int32, ir::DType::Int64});
  const Reduction r = parse_reduction(info.node, info.since_version);
  if (r != Reduction::None && info.input_dtype(0) == ir::DType::Bool) {
    throw unsupported("reduction '{}' on bool", info.node.attr_string("reduction", ""));
  }
}

// dst = dst (+|*) src. Integers wrap (two's complement, computed unsigned: no UB);
// float16/bfloat16 compute in float.
template <typename T>
T combine(T dst, T src, Reduction r) {
  if constexpr (std::is_same_v<T, bool>) {
    throw unsupported("scatter reduction on bool");
  } else if constexpr (std::is_integral_v<T>) {
    const auto a = static_cast<uint64_t>(dst), b = static_cast<uint64_t>(src);
    return static_cast<T>(r == Reduction::Add ? a + b : a * b);
  } else if constexpr (std::is_floating_point_v<T>) {
    return r == Reduction::Add ? dst + src : dst * src;
  } else {
    const float a = to_float(dst), b = to_float(src);
    return from_float<T>(r == Reduction::Add ? a + b : a * b);
  }
}

// Applies `count` consecutive update elements at updates[src...] to out[dst...].
void apply(const ir::Tensor& updates, int64_t src, ir::Tensor& out, int64_t dst, int64_t count,
           Reduction r) {
  if (r == Reduction::None) {
    copy_elements(updates, src, out, dst, count);
    return;
  }
  visit_dtype(out.dtype(), [&]<typename T>() {
    const T* u = updates.data<T>();
    T* o = out.data<T>();
    for (int64_t i = 0; i < count; ++i) o[dst + i] = combine(o[dst + i], u[src + i], r);
  });
}

const ir::Tensor& matching_updates(const KernelArgs& a, const ir::Shape& want) {
  const ir::Tensor& updates = a.in(2);
  if (updates.dtype() != a.in(0).dtype() || updates.shape() != want) {
    throw bad_input("updates ({} {}) must have data's dtype {} and shape {}",
                    ir::dtype_name(updates.dtype()), ir::shape_str(updates.shape()),
                    ir::dtype_name(a.in(0).dtype()), ir::shape_str(want));
  }
  return updates;
}

// out = data; out[..., indices[i...], ...] (op)= updates[i...] along `axis`.
void scatter_elements(KernelArgs& a) {
  const ir::Tensor& data = a.in(0);
  const ir::Tensor& indices = a.in(1);
  if (data.rank() == 0) throw bad_input("cannot scatter into a scalar");
  const auto axis = static_cast<size_t>(
      normalize_axis(a.node.attr_int("axis", 0), static_cast<int64_t>(data.rank())));
  check_elementwise_indices(data.shape(), indices.shape(), axis);
  const ir::Tensor& updates = matching_updates(a, indices.shape());
  const Reduction r = parse_reduction(a.node, a.since_version);
  const std::vector<int64_t> idx = index_values(indices, "indices");
  const std::vector<int64_t> strides = contiguous_strides(data.shape());
  ir::Tensor out = data.clone();
  int64_t i = 0;
  for_each_index(indices.shape(), [&](const std::vector<int64_t>& pos) {
    std::vector<int64_t> dst = pos;
    dst[axis] = checked_index(idx[static_cast<size_t>(i)], data.shape()[axis], "index");
    apply(updates, i, out, flat_index(dst, strides), 1, r);
    ++i;
  });
  a.outputs[0] = std::move(out);
}

}  // namespace

// ------------------------------------------------------------------ ScatterElements, Scatter
void check_ScatterElements(const KernelInfo& info) { check_scatter(info); }
void run_ScatterElements(KernelArgs& a) { scatter_elements(a); }
void check_Scatter(const KernelInfo& info) { check_scatter(info); }
void run_Scatter(KernelArgs& a) { scatter_elements(a); }

// ------------------------------------------------------------------------------ ScatterND
void check_ScatterND(const KernelInfo& info) {
  check_scatter(info);
  require_dtype(info, 1, {ir::DType::Int64});
}

// indices [m..., k] address slices data[i_1..i_k, :]; updates is [m..., data.shape[k:]].
void run_ScatterND(KernelArgs& a) {
  const ir::Tensor& data = a.in(0);
  const ir::Tensor& indices = a.in(1);
  if (indices.rank() == 0) throw bad_input("indices must have rank >= 1");
  const int64_t k = indices.shape().back();
  if (k < 1 || k > static_cast<int64_t>(data.rank())) {
    throw bad_input("indices' last dim {} must be in [1, {}]", k, data.rank());
  }
  const auto uk = static_cast<size_t>(k);
  ir::Shape want(indices.shape().begin(), indices.shape().end() - 1);
  want.insert(want.end(), data.shape().begin() + k, data.shape().end());
  const ir::Tensor& updates = matching_updates(a, want);
  const Reduction r = parse_reduction(a.node, a.since_version);
  const std::vector<int64_t> idx = index_values(indices, "indices");
  const std::vector<int64_t> strides = contiguous_strides(data.shape());
  const int64_t slice = dims_product(data.shape(), uk, data.rank());
  const int64_t tuples = dims_product(indices.shape(), 0, indices.rank() - 1);
  ir::Tensor out = data.clone();
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t dst = 0;
    for (size_t j = 0; j < uk; ++j) {
      const int64_t i = idx[static_cast<size_t>(t * k) + j];
      dst += checked_index(i, data.shape()[j], "index") * strides[j];
    }
    apply(updates, t * slice, out, dst, slice, r);
  }
  a.outputs[0] = std::move(out);
}

}  // namespace hone::runtime::reference::kernels
