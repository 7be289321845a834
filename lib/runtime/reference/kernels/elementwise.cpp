// Elementwise unary reference kernels: math functions, activations, Clip, predicates.
// Every op is a functor handed to one driver, map_unary; binary ops are in
// elementwise_binary.cpp, Cast / CastLike in elementwise_cast.cpp.
#include "runtime/reference/kernel_util.h"
#include "runtime/reference/kernels/elementwise_types.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>

namespace hone::runtime::reference::kernels {

using namespace elementwise;  // NOLINT(google-build-using-namespace): this family's helpers

namespace {

// y[i] = op(x[i]) computed in compute_t<T>. An op returning bool gives a bool output;
// any other op gives an output of the input's dtype.
template <typename T, typename Op>
ir::Tensor apply_unary(const ir::Tensor& x, Op op) {
  using C = compute_t<T>;
  using Out = std::conditional_t<std::is_same_v<decltype(op(std::declval<C>())), bool>, bool, T>;
  ir::Tensor y = ir::Tensor::zeros(ir::dtype_of<Out>(), x.shape());
  const T* in = x.data<T>();
  Out* out = y.data<Out>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    out[i] = store<Out>(static_cast<compute_t<Out>>(op(load(in[i]))));
  }
  return y;
}

// The unary driver. `make_op.template operator()<T>()` is called once with the input's
// storage type T (one of Types) and returns the element function of compute_t<T>; ops whose
// parameters depend on T (Clip's bounds) build them there.
template <TypeSet Types, typename MakeOp>
void map_unary_with(KernelArgs& a, MakeOp make_op) {
  const ir::Tensor& x = a.in(0);
  require_type(x, "input 0", Types);
  visit_dtype(x.dtype(), [&]<typename T>() {
    if constexpr (in_set<T>(Types)) {
      a.outputs[0] = apply_unary<T>(x, make_op.template operator()<T>());
    }
  });
}

// The common case: one generic element function for every dtype.
template <TypeSet Types, typename F>
void map_unary(KernelArgs& a, F f) {
  map_unary_with<Types>(a, [&]<typename>() { return f; });
}

// Round half to even (ONNX Round, numpy.round), independent of the FP rounding mode.
template <typename C> C round_half_even(C x) {
  const C lower = std::floor(x);
  const C frac = x - lower;  // exact: lower and x are within one unit of each other
  C r = lower;
  if (frac > C(0.5) || (frac == C(0.5) && std::fmod(lower, C(2)) != 0)) r = lower + C(1);
  return std::copysign(r, x);  // keeps -0.0 for -0.4, like numpy
}

// softplus(x) = log(exp(x) + 1), rearranged so exp never overflows for large x.
template <typename C> C softplus(C x) {
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

// -x and |x| in two's complement: -INT_MIN wraps to INT_MIN (numpy) instead of overflowing.
template <typename C> C negate(C x) {
  if constexpr (std::is_integral_v<C>) return wrap_neg(x); else return -x;
}
template <typename C> C absolute(C x) {
  if constexpr (std::is_unsigned_v<C>) return x;
  else return x < 0 ? negate(x) : x;
}

// Relu for float and (from opset 14) signed integers; a NaN stays NaN.
TypeSet relu_types(int64_t since) { return since >= 14 ? kFloat | kSigned : kFloat; }
// Clip gained integer types at opset 12.
TypeSet clip_types(int64_t since) { return since >= 12 ? kNumeric : kFloat; }

}  // namespace

// ------------------------------------------------------ attribute-free float math functions
// One line per op: check = float dtypes only, run = map_unary with the formula.
#define HONE_FLOAT_UNARY(Op, expr)                                                 \
  void check_##Op(const KernelInfo& info) { check_input_type(info, 0, kFloat); }   \
  void run_##Op(KernelArgs& a) {                                                   \
    map_unary<kFloat>(a, [](auto x) {                                              \
      using C [[maybe_unused]] = decltype(x);                                      \
      return expr;                                                                 \
    });                                                                            \
  }

HONE_FLOAT_UNARY(Sigmoid, C(1) / (C(1) + std::exp(-x)))
HONE_FLOAT_UNARY(Tanh, std::tanh(x))
HONE_FLOAT_UNARY(Sqrt, std::sqrt(x))
HONE_FLOAT_UNARY(Exp, std::exp(x))
HONE_FLOAT_UNARY(Log, std::log(x))
HONE_FLOAT_UNARY(Erf, std::erf(x))
HONE_FLOAT_UNARY(Reciprocal, C(1) / x)
HONE_FLOAT_UNARY(Floor, std::floor(x))
HONE_FLOAT_UNARY(Ceil, std::ceil(x))
HONE_FLOAT_UNARY(Round, round_half_even(x))
HONE_FLOAT_UNARY(Sin, std::sin(x))
HONE_FLOAT_UNARY(Cos, std::cos(x))
HONE_FLOAT_UNARY(Tan, std::tan(x))
HONE_FLOAT_UNARY(Asin, std::asin(x))
HONE_FLOAT_UNARY(Acos, std::acos(x))
HONE_FLOAT_UNARY(Atan, std::atan(x))
HONE_FLOAT_UNARY(Sinh, std::sinh(x))
HONE_FLOAT_UNARY(Cosh, std::cosh(x))
HONE_FLOAT_UNARY(Asinh, std::asinh(x))
HONE_FLOAT_UNARY(Acosh, std::acosh(x))
HONE_FLOAT_UNARY(Atanh, std::atanh(x))
HONE_FLOAT_UNARY(Softplus, softplus(x))
HONE_FLOAT_UNARY(Softsign, x / (C(1) + std::abs(x)))
// HardSwish(x) = x * max(0, min(1, x/6 + 1/2))
HONE_FLOAT_UNARY(HardSwish, x * clamp_keep_nan(x / C(6) + C(0.5), C(0), C(1)))
HONE_FLOAT_UNARY(IsNaN, static_cast<bool>(std::isnan(x)))

#undef HONE_FLOAT_UNARY

// ------------------------------------------------------------- float activations with attrs
void check_LeakyRelu(const KernelInfo& info) { check_input_type(info, 0, kFloat); }
void run_LeakyRelu(KernelArgs& a) {
  const float alpha = a.node.attr_float("alpha", 0.01f);
  map_unary<kFloat>(a, [alpha](auto x) {
    using C = decltype(x);
    return x < 0 ? C(alpha) * x : x;
  });
}

void check_ThresholdedRelu(const KernelInfo& info) { check_input_type(info, 0, kFloat); }
void run_ThresholdedRelu(KernelArgs& a) {
  const float alpha = a.node.attr_float("alpha", 1.0f);
  map_unary<kFloat>(a, [alpha](auto x) {
    using C = decltype(x);
    return x > C(alpha) ? x : C(0);
  });
}

// HardSigmoid(x) = max(0, min(1, alpha * x + beta))
void check_HardSigmoid(const KernelInfo& info) { check_input_type(info, 0, kFloat); }
void run_HardSigmoid(KernelArgs& a) {
  const float alpha = a.node.attr_float("alpha", 0.2f);
  const float beta = a.node.attr_float("beta", 0.5f);
  map_unary<kFloat>(a, [alpha, beta](auto x) {
    using C = decltype(x);
    return clamp_keep_nan(C(alpha) * x + C(beta), C(0), C(1));
  });
}

// Elu(x) = x for x >= 0, alpha * (exp(x) - 1) otherwise.
void check_Elu(const KernelInfo& info) { check_input_type(info, 0, kFloat); }
void run_Elu(KernelArgs& a) {
  const float alpha = a.node.attr_float("alpha", 1.0f);
  map_unary<kFloat>(a, [alpha](auto x) {
    using C = decltype(x);
    return x < 0 ? C(alpha) * std::expm1(x) : x;
  });
}

// Selu(x) = gamma * x for x > 0, gamma * (alpha * exp(x) - alpha) otherwise. The defaults are
// the float32 values the ONNX spec lists.
void check_Selu(const KernelInfo& info) { check_input_type(info, 0, kFloat); }
void run_Selu(KernelArgs& a) {
  const float alpha = a.node.attr_float("alpha", 1.67326319217681884765625f);
  const float gamma = a.node.attr_float("gamma", 1.05070102214813232421875f);
  map_unary<kFloat>(a, [alpha, gamma](auto x) {
    using C = decltype(x);
    return x > 0 ? C(gamma) * x : C(gamma) * (C(alpha) * std::exp(x) - C(alpha));
  });
}

// Celu(x) = max(0, x) + min(0, alpha * (exp(x / alpha) - 1)); alpha = 0 divides by zero.
void check_Celu(const KernelInfo& info) {
  check_input_type(info, 0, kFloat);
  if (info.node.attr_float("alpha", 1.0f) == 0.0f) throw bad_input("Celu alpha must not be 0");
}
void run_Celu(KernelArgs& a) {
  const float alpha = a.node.attr_float("alpha", 1.0f);
  if (alpha == 0.0f) throw bad_input("Celu alpha must not be 0");
  map_unary<kFloat>(a, [alpha](auto x) {
    using C = decltype(x);
    return std::max(C(0), x) + std::min(C(0), C(alpha) * std::expm1(x / C(alpha)));
  });
}

void check_IsInf(const KernelInfo& info) { check_input_type(info, 0, kFloat); }
void run_IsInf(KernelArgs& a) {
  const bool negative = a.node.attr_int("detect_negative", 1) != 0;
  const bool positive = a.node.attr_int("detect_positive", 1) != 0;
  map_unary<kFloat>(a, [negative, positive](auto x) {
    return std::isinf(x) && (x > 0 ? positive : negative);
  });
}

// ------------------------------------------------------------- ops that also take integers
void check_Relu(const KernelInfo& info) {
  check_input_type(info, 0, relu_types(info.since_version));
}
void run_Relu(KernelArgs& a) {
  require_type(a.in(0), "input 0", relu_types(a.since_version));
  map_unary<kFloat | kSigned>(a, [](auto x) {
    using C = decltype(x);
    return x < 0 ? C(0) : x;
  });
}

void check_Neg(const KernelInfo& info) { check_input_type(info, 0, kFloat | kSigned); }
void run_Neg(KernelArgs& a) {
  map_unary<kFloat | kSigned>(a, [](auto x) { return negate(x); });
}

void check_Abs(const KernelInfo& info) { check_input_type(info, 0, kNumeric); }
void run_Abs(KernelArgs& a) {
  map_unary<kNumeric>(a, [](auto x) { return absolute(x); });
}

// Sign: -1, 0 or 1; NaN stays NaN.
void check_Sign(const KernelInfo& info) { check_input_type(info, 0, kNumeric); }
void run_Sign(KernelArgs& a) {
  map_unary<kNumeric>(a, [](auto x) {
    using C = decltype(x);
    if constexpr (std::is_unsigned_v<C>) return C(x > 0 ? 1 : 0);
    else return x > 0 ? C(1) : x < 0 ? C(-1) : x;
  });
}

// Shrink: x + bias below -lambd, x - bias above lambd, 0 between. Integer inputs are computed
// in double and converted back truncating (saturating out of range).
void check_Shrink(const KernelInfo& info) { check_input_type(info, 0, kNumeric); }
void run_Shrink(KernelArgs& a) {
  const double lambd = a.node.attr_float("lambd", 0.5f);
  const double bias = a.node.attr_float("bias", 0.0f);
  map_unary<kNumeric>(a, [lambd, bias](auto x) {
    using C = decltype(x);
    using W = std::conditional_t<std::is_integral_v<C>, double, C>;
    const W v = static_cast<W>(x);
    const W y = v < W(-lambd) ? v + W(bias) : v > W(lambd) ? v - W(bias) : W(0);
    if constexpr (std::is_integral_v<C>) return saturate_cast<C>(y); else return y;
  });
}

void check_Not(const KernelInfo& info) { check_input_type(info, 0, kBool); }
void run_Not(KernelArgs& a) {
  map_unary<kBool>(a, [](bool x) { return !x; });
}

// -------------------------------------------------------------------------------------- Clip
// Opset 6: bounds are the float attributes min / max (default -/+FLT_MAX). Opset 11+: bounds
// are optional scalar inputs 1 and 2 of the input's dtype (default lowest / max of the dtype).
void check_Clip(const KernelInfo& info) {
  check_input_type(info, 0, clip_types(info.since_version));
  if (info.since_version >= 11) {
    check_same_type(info, 0, 1);
    check_same_type(info, 0, 2);
  }
}

namespace {
const ir::Tensor* clip_bound(const KernelArgs& a, size_t i, const char* name) {
  const ir::Tensor* t = a.since_version >= 11 ? a.opt(i) : nullptr;
  if (!t) return nullptr;
  if (t->dtype() != a.in(0).dtype()) {
    throw bad_input("Clip {} has dtype {}, input has {}", name, ir::dtype_name(t->dtype()),
                    ir::dtype_name(a.in(0).dtype()));
  }
  if (t->numel() != 1) {
    throw bad_input("Clip {} must be a scalar, got shape {}", name, ir::shape_str(t->shape()));
  }
  return t;
}
}  // namespace

void run_Clip(KernelArgs& a) {
  require_type(a.in(0), "input 0", clip_types(a.since_version));
  const ir::Tensor* lo_t = clip_bound(a, 1, "min");
  const ir::Tensor* hi_t = clip_bound(a, 2, "max");
  const float flt_max = std::numeric_limits<float>::max();
  const float lo_attr = a.node.attr_float("min", -flt_max);
  const float hi_attr = a.node.attr_float("max", flt_max);
  map_unary_with<kNumeric>(a, [&]<typename T>() {
    using C = compute_t<T>;
    C lo = type_lowest<T>();
    C hi = type_max<T>();
    if (a.since_version < 11) {  // float dtypes only (clip_types)
      lo = static_cast<C>(lo_attr);
      hi = static_cast<C>(hi_attr);
    }
    if (lo_t) lo = load(lo_t->data<T>()[0]);
    if (hi_t) hi = load(hi_t->data<T>()[0]);
    return [lo, hi](C x) { return clamp_keep_nan(x, lo, hi); };
  });
}

}  // namespace hone::runtime::reference::kernels
