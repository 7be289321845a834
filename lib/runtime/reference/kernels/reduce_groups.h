// The one driver behind the reduce family (Reduce*, ArgMax/ArgMin, Softmax/LogSoftmax/Hardmax,
// CumSum, TopK, LpNormalization, the losses): split a tensor into *groups*, one per index of the
// kept axes, each holding the elements along the grouped axes in row-major order. A reduction
// maps a group to one value; Softmax, CumSum and TopK map it to a group of the same layout.
// Softmax before opset 13 ("coerce to 2-D at axis") is simply the group of axes [axis, rank).
//
// Kernels convert the whole input to its compute type first (float for float16/bfloat16/float32,
// double for float64, the integer type itself for integers), work on std::vector<C>, and convert
// back; float sums accumulate in double (Acc<C>), integer sums wrap like numpy's.
#pragma once

#include "runtime/reference/kernel_util.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <type_traits>
#include <vector>

namespace hone::runtime::reference::reduction {

// ------------------------------------------------------------------------------ type lists
// Every numeric dtype (ArgMax/ArgMin, TopK-11, Einsum).
inline constexpr std::initializer_list<ir::DType> kNumericTypes = {
    ir::DType::Float32, ir::DType::Float64, ir::DType::Float16, ir::DType::BFloat16,
    ir::DType::Int8,    ir::DType::UInt8,   ir::DType::Int16,   ir::DType::UInt16,
    ir::DType::Int32,   ir::DType::UInt32,  ir::DType::Int64,   ir::DType::UInt64};
// Floats and the 32/64-bit integers (ReduceSum and most reductions, CumSum).
inline constexpr std::initializer_list<ir::DType> kSumTypes = {
    ir::DType::Float32, ir::DType::Float64, ir::DType::Float16, ir::DType::BFloat16,
    ir::DType::Int32,   ir::DType::Int64,   ir::DType::UInt32,  ir::DType::UInt64};

// ----------------------------------------------------------------------------- axis handling
// One flag per axis of a rank-`rank` tensor, set for each listed axis (negative counts from the
// back). BadInput naming the axis when one is out of range or listed twice.
std::vector<bool> axes_mask(const std::vector<int64_t>& axes, int64_t rank);
// Mask of the single axis `axis`, or of every axis from `axis` to the end.
std::vector<bool> single_axis_mask(int64_t axis, int64_t rank);
std::vector<bool> trailing_axes_mask(int64_t axis, int64_t rank);
// Shape after reducing the masked axes: kept as 1 (keepdims) or dropped.
ir::Shape reduced_shape(const ir::Shape& shape, const std::vector<bool>& mask, bool keepdims);
// Copy of `shape` with the masked axis resized to `size` (TopK's output).
ir::Shape resized_shape(const ir::Shape& shape, int64_t axis, int64_t size);

// ------------------------------------------------------------------------------ the groups
class AxisGroups {
 public:
  // Groups over `shape`: one per index of the unmasked axes, each over the masked axes.
  // BadInput when the number of groups or their size exceeds ir::kMaxElements (possible when
  // another dimension is 0).
  AxisGroups(const ir::Shape& shape, const std::vector<bool>& mask);

  int64_t count() const { return static_cast<int64_t>(bases_.size()); }
  int64_t size() const { return static_cast<int64_t>(members_.size()); }

  // Group g's elements of `data` (a flat row-major buffer of `shape`) into `out` (size()).
  template <typename T>
  void gather(std::span<const T> data, int64_t g, std::span<T> out) const {
    const int64_t base = bases_[static_cast<size_t>(g)];
    for (size_t k = 0; k < members_.size(); ++k) out[k] = data[static_cast<size_t>(base + members_[k])];
  }
  template <typename T>
  void scatter(std::span<const T> values, int64_t g, std::span<T> data) const {
    const int64_t base = bases_[static_cast<size_t>(g)];
    for (size_t k = 0; k < members_.size(); ++k) data[static_cast<size_t>(base + members_[k])] = values[k];
  }

 private:
  std::vector<int64_t> bases_;    // flat offset of each group's first element
  std::vector<int64_t> members_;  // offsets of a group's elements relative to its base
};

// For every group g: fn(in's group g, out's group g). `in_groups` and `out_groups` describe the
// input and output layouts and must have the same count().
template <typename C, typename O, typename F>
void map_groups(std::span<const C> in, const AxisGroups& in_groups, std::span<O> out,
                const AxisGroups& out_groups, F&& fn) {
  HONE_ASSERT(in_groups.count() == out_groups.count());
  std::vector<C> a(static_cast<size_t>(in_groups.size()));
  std::vector<O> b(static_cast<size_t>(out_groups.size()));
  for (int64_t g = 0; g < in_groups.count(); ++g) {
    in_groups.gather<C>(in, g, a);
    fn(std::span<const C>(a), std::span<O>(b));
    out_groups.scatter<O>(b, g, out);
  }
}

// --------------------------------------------------------------------------- compute types
template <typename T>
inline constexpr bool kIsHalf = std::is_same_v<T, ir::Float16> || std::is_same_v<T, ir::BFloat16>;

// Type arithmetic on T is done in: float for the 16-bit floats, T otherwise.
template <typename T>
using Compute = std::conditional_t<kIsHalf<T>, float, T>;
// Type sums are accumulated in: double for floats, the (wrapping) integer type otherwise.
template <typename C>
using Acc = std::conditional_t<std::is_floating_point_v<C>, double, C>;

template <typename T>
std::vector<Compute<T>> load(const ir::Tensor& t) {
  std::vector<Compute<T>> v(static_cast<size_t>(t.numel()));
  const T* p = t.data<T>();
  for (size_t i = 0; i < v.size(); ++i) {
    if constexpr (kIsHalf<T>) v[i] = to_float(p[i]); else v[i] = p[i];
  }
  return v;
}

template <typename T>
ir::Tensor store(std::span<const Compute<T>> v, ir::Shape shape) {
  ir::Tensor t = ir::Tensor::zeros(ir::dtype_of<T>(), std::move(shape));
  HONE_ASSERT(static_cast<size_t>(t.numel()) == v.size());
  T* p = t.data<T>();
  for (size_t i = 0; i < v.size(); ++i) {
    if constexpr (kIsHalf<T>) p[i] = from_float<T>(v[i]); else p[i] = v[i];
  }
  return t;
}

// visit_dtype without bool: f.template operator()<T>() for every numeric dtype.
template <typename F>
void visit_numeric(ir::DType dt, F&& f) {
  if (dt == ir::DType::Bool) throw unsupported("dtype bool is not supported here");
  visit_dtype(dt, [&]<typename T>() {
    if constexpr (!std::is_same_v<T, bool>) f.template operator()<T>();
  });
}

// y with x's shape and dtype, each group of x mapped by fn(std::span<const C> in,
// std::span<C> out) -- a generic callable, instantiated for every numeric compute type C.
template <typename F>
ir::Tensor transform_groups(const ir::Tensor& x, const std::vector<bool>& mask, F&& fn) {
  const AxisGroups groups(x.shape(), mask);
  ir::Tensor y;
  visit_numeric(x.dtype(), [&]<typename T>() {
    using C = Compute<T>;
    const std::vector<C> xs = load<T>(x);
    std::vector<C> ys(xs.size());
    map_groups<C, C>(xs, groups, ys, groups, fn);
    y = store<T>(ys, x.shape());
  });
  return y;
}

// ------------------------------------------------------------------------ scalar arithmetic
template <typename C>
bool is_nan(C x) {
  if constexpr (std::is_floating_point_v<C>) return std::isnan(x); else return false;
}

// Integer + and * wrap modulo 2^bits as numpy's do (done in uint64 so no signed overflow).
template <typename C>
C add(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    return static_cast<C>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
  } else {
    return a + b;
  }
}
template <typename C>
C mul(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    return static_cast<C>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
  } else {
    return a * b;
  }
}
template <typename C>
C abs_value(C x) {
  if constexpr (std::is_unsigned_v<C>) return x;
  else if constexpr (std::is_integral_v<C>) return x < 0 ? static_cast<C>(0 - static_cast<uint64_t>(x)) : x;
  else return std::fabs(x);
}

// True when x should replace `best` as the running max (want_max) or min. NaN wins over any
// number and the first NaN is kept, as numpy's max/argmax do.
template <typename C>
bool beats(C x, C best, bool want_max) {
  if (is_nan(best)) return false;
  if (is_nan(x)) return true;
  return want_max ? x > best : x < best;
}
template <typename C>
bool ties(C x, C best) {
  return x == best || (is_nan(x) && is_nan(best));
}

// Index of the max (want_max) or min of v; with `last`, the last of equal extremes. v non-empty.
template <typename C>
int64_t arg_extreme(std::span<const C> v, bool want_max, bool last) {
  size_t best = 0;
  for (size_t k = 1; k < v.size(); ++k) {
    if (beats(v[k], v[best], want_max) || (last && ties(v[k], v[best]))) best = k;
  }
  return static_cast<int64_t>(best);
}

}  // namespace hone::runtime::reference::reduction
