// Reduce* (Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare) and ArgMax/ArgMin.
// Every one is the group driver of reduce_groups.h with a different per-group formula.
#include "runtime/reference/kernels/reduce_groups.h"

#include <limits>
#include <optional>

namespace hone::runtime::reference::kernels {

namespace {
using namespace reduction;
using ir::DType;

enum class ReduceKind { Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare };

// The schema's type lists: Max/Min also take 8-bit integers (opset 12+). L2, LogSum and
// LogSumExp are float only here: their integer results (a truncated sqrt / log) are not
// integer arithmetic, and runtimes disagree on them.
constexpr std::initializer_list<DType> kMinMaxTypes = {
    DType::Float32, DType::Float64, DType::Float16, DType::BFloat16, DType::Int32,
    DType::Int64,   DType::UInt32,  DType::UInt64,  DType::Int8,     DType::UInt8};

std::initializer_list<DType> reduce_types(ReduceKind kind) {
  switch (kind) {
    case ReduceKind::Max:
    case ReduceKind::Min: return kMinMaxTypes;
    case ReduceKind::L2:
    case ReduceKind::LogSum:
    case ReduceKind::LogSumExp: return kFloatTypes;
    default: return kSumTypes;
  }
}

// ------------------------------------------------------------------------- group formulas
// sum_i f(x_i), accumulated in Acc<C> (double for floats, wrapping integers otherwise).
template <typename C, typename F>
Acc<C> sum_of(std::span<const C> v, F f) {
  Acc<C> s{};
  for (C x : v) s = add<Acc<C>>(s, f(x));
  return s;
}

// max / min; NaN propagates. Over an empty set: the identity (-inf / lowest for max).
template <typename C>
C extreme(std::span<const C> v, bool want_max) {
  using L = std::numeric_limits<C>;
  if (v.empty()) {
    if constexpr (L::has_infinity) return want_max ? -L::infinity() : L::infinity();
    else return want_max ? L::lowest() : L::max();
  }
  return v[static_cast<size_t>(arg_extreme(v, want_max, false))];
}

template <typename C>
C mean(std::span<const C> v) {
  const Acc<C> s = sum_of(v, [](C x) { return Acc<C>(x); });
  if constexpr (std::is_floating_point_v<C>) {
    return v.empty() ? std::numeric_limits<C>::quiet_NaN() : static_cast<C>(s / double(v.size()));
  } else {
    // numpy's mean(...).astype(int): the quotient truncated toward zero.
    if (v.empty()) throw bad_input("ReduceMean of an integer tensor over an empty set");
    if constexpr (std::is_signed_v<C>) {
      return static_cast<C>(static_cast<int64_t>(s) / static_cast<int64_t>(v.size()));
    } else {
      return static_cast<C>(static_cast<uint64_t>(s) / static_cast<uint64_t>(v.size()));
    }
  }
}

template <typename C>
C product(std::span<const C> v) {
  Acc<C> p = 1;
  for (C x : v) p = mul<Acc<C>>(p, Acc<C>(x));
  return static_cast<C>(p);
}

// log(sum_i exp(x_i)) = m + log(sum_i exp(x_i - m)) with m = max_i x_i, so no exp overflows.
// A non-finite m (all -inf, any +inf or NaN) gives the naive formula's inf / NaN.
template <typename C>
C log_sum_exp(std::span<const C> v) {
  const double m = extreme(v, true);
  if (!std::isfinite(m)) {
    return static_cast<C>(std::log(sum_of(v, [](C x) { return std::exp(double(x)); })));
  }
  return static_cast<C>(m + std::log(sum_of(v, [m](C x) { return std::exp(double(x) - m); })));
}

template <typename C>
C reduce_values(ReduceKind kind, std::span<const C> v) {
  const auto square = [](C x) { return mul<Acc<C>>(Acc<C>(x), Acc<C>(x)); };
  switch (kind) {
    case ReduceKind::Sum: return static_cast<C>(sum_of(v, [](C x) { return Acc<C>(x); }));
    case ReduceKind::Mean: return mean(v);
    case ReduceKind::Max: return extreme(v, true);
    case ReduceKind::Min: return extreme(v, false);
    case ReduceKind::Prod: return product(v);
    case ReduceKind::L1: return static_cast<C>(sum_of(v, [](C x) { return Acc<C>(abs_value(x)); }));
    case ReduceKind::SumSquare: return static_cast<C>(sum_of(v, square));
    default: break;
  }
  if constexpr (std::is_floating_point_v<C>) {
    switch (kind) {
      case ReduceKind::L2: return static_cast<C>(std::sqrt(sum_of(v, square)));
      case ReduceKind::LogSum: return static_cast<C>(std::log(sum_of(v, [](C x) { return Acc<C>(x); })));
      case ReduceKind::LogSumExp: return log_sum_exp(v);
      default: break;
    }
  }
  throw internal_error("reduction not defined for this dtype");
}

// ------------------------------------------------------------------------------ the axes
// ReduceSum takes its axes as an input from opset 13; the others (up to opset 17) as an attribute.
bool axes_from_input(ReduceKind kind, int64_t since_version) {
  return kind == ReduceKind::Sum && since_version >= 13;
}

// Mask of the reduced axes, or nullopt for "no reduction" (empty axes with
// noop_with_empty_axes). Empty axes otherwise mean every axis.
std::optional<std::vector<bool>> reduced_axes(const KernelArgs& a, ReduceKind kind, int64_t rank) {
  std::vector<int64_t> axes;
  bool noop_if_empty = false;
  if (axes_from_input(kind, a.since_version)) {
    if (const ir::Tensor* t = a.opt(1)) {
      require_dtype(*t, "axes", {DType::Int64});
      if (t->rank() > 1) throw bad_input("axes must be 1-D, got shape {}", ir::shape_str(t->shape()));
      axes = t->to_int64_vector();
    }
    noop_if_empty = a.node.attr_int("noop_with_empty_axes", 0) != 0;
  } else {
    axes = a.node.attr_ints("axes");
  }
  if (axes.empty()) {
    if (noop_if_empty) return std::nullopt;
    return std::vector<bool>(static_cast<size_t>(rank), true);
  }
  return axes_mask(axes, rank);
}

void check_reduce(const KernelInfo& info, ReduceKind kind) {
  require_dtype(info, 0, reduce_types(kind));
  if (axes_from_input(kind, info.since_version)) {
    require_dtype(info, 1, {DType::Int64});
    (void)info.node.attr_int("noop_with_empty_axes", 0);
  } else {
    (void)info.node.attr_ints("axes");
  }
  (void)info.node.attr_int("keepdims", 1);
}

void run_reduce(KernelArgs& a, ReduceKind kind) {
  const ir::Tensor& x = a.in(0);
  require_dtype(x, "data", reduce_types(kind));
  const std::optional<std::vector<bool>> mask = reduced_axes(a, kind, int64_t(x.rank()));
  if (!mask) {
    a.outputs[0] = x.clone();  // noop_with_empty_axes: the output is the input
    return;
  }
  const bool keepdims = a.node.attr_int("keepdims", 1) != 0;
  const AxisGroups in(x.shape(), *mask);
  const AxisGroups out(reduced_shape(x.shape(), *mask, true), *mask);  // groups of one
  visit_numeric(x.dtype(), [&]<typename T>() {
    using C = Compute<T>;
    const std::vector<C> xs = load<T>(x);
    std::vector<C> ys(static_cast<size_t>(out.count()));
    map_groups<C, C>(xs, in, ys, out, [&](std::span<const C> v, std::span<C> r) {
      r[0] = reduce_values(kind, v);
    });
    a.outputs[0] = store<T>(ys, reduced_shape(x.shape(), *mask, keepdims));
  });
}

// ---------------------------------------------------------------------------- ArgMax/ArgMin
void check_arg(const KernelInfo& info) {
  require_dtype(info, 0, kNumericTypes);
  (void)info.node.attr_int("axis", 0);
  (void)info.node.attr_int("keepdims", 1);
  (void)info.node.attr_int("select_last_index", 0);
}

void run_arg(KernelArgs& a, bool want_max) {
  const ir::Tensor& x = a.in(0);
  require_dtype(x, "data", kNumericTypes);
  const std::vector<bool> mask = single_axis_mask(a.node.attr_int("axis", 0), int64_t(x.rank()));
  const bool keepdims = a.node.attr_int("keepdims", 1) != 0;
  const bool last = a.since_version >= 12 && a.node.attr_int("select_last_index", 0) != 0;
  const AxisGroups in(x.shape(), mask);
  const AxisGroups out(reduced_shape(x.shape(), mask, true), mask);
  if (in.size() == 0 && in.count() > 0) {
    throw bad_input("{} over an axis of size 0", want_max ? "ArgMax" : "ArgMin");
  }
  std::vector<int64_t> ys(static_cast<size_t>(out.count()));
  visit_numeric(x.dtype(), [&]<typename T>() {
    using C = Compute<T>;
    const std::vector<C> xs = load<T>(x);
    map_groups<C, int64_t>(xs, in, ys, out, [&](std::span<const C> v, std::span<int64_t> r) {
      r[0] = arg_extreme(v, want_max, last);
    });
  });
  a.outputs[0] = ir::Tensor::from_vector<int64_t>(reduced_shape(x.shape(), mask, keepdims), ys);
}
}  // namespace

#define HONE_REDUCE_KERNEL(Op, kind)                                                    \
  void check_##Op(const KernelInfo& info) { check_reduce(info, ReduceKind::kind); }     \
  void run_##Op(KernelArgs& a) { run_reduce(a, ReduceKind::kind); }
HONE_REDUCE_KERNEL(ReduceSum, Sum)
HONE_REDUCE_KERNEL(ReduceMean, Mean)
HONE_REDUCE_KERNEL(ReduceMax, Max)
HONE_REDUCE_KERNEL(ReduceMin, Min)
HONE_REDUCE_KERNEL(ReduceProd, Prod)
HONE_REDUCE_KERNEL(ReduceL1, L1)
HONE_REDUCE_KERNEL(ReduceL2, L2)
HONE_REDUCE_KERNEL(ReduceLogSum, LogSum)
HONE_REDUCE_KERNEL(ReduceLogSumExp, LogSumExp)
HONE_REDUCE_KERNEL(ReduceSumSquare, SumSquare)
#undef HONE_REDUCE_KERNEL

void check_ArgMax(const KernelInfo& info) { check_arg(info); }
void run_ArgMax(KernelArgs& a) { run_arg(a, true); }
void check_ArgMin(const KernelInfo& info) { check_arg(info); }
void run_ArgMin(KernelArgs& a) { run_arg(a, false); }

}  // namespace hone::runtime::reference::kernels
