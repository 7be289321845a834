// Shared by the elementwise kernels (elementwise*.cpp): dtype sets as bit masks, usable both
// in `if constexpr` (to instantiate a kernel only for the dtypes it accepts) and at run time;
// the type each storage type computes in; and the conversions that are exact or saturating
// instead of undefined behaviour.
#pragma once

#include "runtime/reference/kernel_util.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace hone::runtime::reference::elementwise {

// ------------------------------------------------------------------------------ dtype sets
using TypeSet = uint32_t;
constexpr TypeSet type_bit(ir::DType d) { return TypeSet{1} << static_cast<int>(d); }
template <typename T> constexpr bool in_set(TypeSet s) {
  return (s & type_bit(ir::dtype_of<T>())) != 0;
}

inline constexpr TypeSet kFloat = type_bit(ir::DType::Float32) | type_bit(ir::DType::Float64) |
                                  type_bit(ir::DType::Float16) | type_bit(ir::DType::BFloat16);
inline constexpr TypeSet kSigned = type_bit(ir::DType::Int8) | type_bit(ir::DType::Int16) |
                                   type_bit(ir::DType::Int32) | type_bit(ir::DType::Int64);
inline constexpr TypeSet kUnsigned = type_bit(ir::DType::UInt8) | type_bit(ir::DType::UInt16) |
                                     type_bit(ir::DType::UInt32) | type_bit(ir::DType::UInt64);
inline constexpr TypeSet kInteger = kSigned | kUnsigned;
inline constexpr TypeSet kBool = type_bit(ir::DType::Bool);
inline constexpr TypeSet kNumeric = kFloat | kInteger;
inline constexpr TypeSet kAll = kNumeric | kBool;

// Load time: Unsupported when input `i`'s inferred dtype is outside `allowed` (Undefined and
// omitted inputs pass; the run-time check catches them).
void check_input_type(const KernelInfo& info, size_t i, TypeSet allowed);
// Load time: BadInput when two inputs' inferred dtypes are both known and differ.
void check_same_type(const KernelInfo& info, size_t i, size_t j);
// Run time: Unsupported when `t`'s dtype is outside `allowed`.
void require_type(const ir::Tensor& t, const char* what, TypeSet allowed);

// ------------------------------------------------------------------------- compute types
// float16 / bfloat16 / float32 compute in float, float64 in double, integers and bool in
// themselves.
template <typename T> struct ComputeType { using type = T; };
template <> struct ComputeType<ir::Float16> { using type = float; };
template <> struct ComputeType<ir::BFloat16> { using type = float; };
template <typename T> using compute_t = typename ComputeType<T>::type;

template <typename T> constexpr bool is_half_v =
    std::is_same_v<T, ir::Float16> || std::is_same_v<T, ir::BFloat16>;

template <typename T> compute_t<T> load(T v) {
  if constexpr (is_half_v<T>) return to_float(v); else return v;
}
template <typename T> T store(compute_t<T> c) {
  if constexpr (is_half_v<T>) return from_float<T>(c); else return c;
}

// Largest finite value of a storage type, in its compute type (numeric_limits knows nothing
// of the 16-bit float storage types).
template <typename T> compute_t<T> type_max() {
  if constexpr (std::is_same_v<T, ir::Float16>) return 65504.0f;
  else if constexpr (std::is_same_v<T, ir::BFloat16>) return ir::bf16_to_f32(ir::BFloat16{0x7f7f});
  else return std::numeric_limits<T>::max();
}
template <typename T> compute_t<T> type_lowest() {
  if constexpr (is_half_v<T>) return -type_max<T>();
  else return std::numeric_limits<T>::lowest();
}

// --------------------------------------------------------------------------- conversions
// Float to integer, truncating toward zero like C; out-of-range values saturate and NaN
// gives 0 (C leaves both undefined, and ONNX does not define them).
template <typename I> I saturate_cast(double v) {
  static_assert(std::is_integral_v<I> && !std::is_same_v<I, bool>);
  if (std::isnan(v)) return 0;
  // 2^digits is the first value above the range; -2^digits is exact for signed types.
  const double limit = std::ldexp(1.0, std::numeric_limits<I>::digits);
  if (v >= limit) return std::numeric_limits<I>::max();
  if (std::is_signed_v<I> ? v < -limit : v <= -1.0) return std::numeric_limits<I>::min();
  return static_cast<I>(v);
}

// Two's-complement wrap-around arithmetic for every integer width: computed in uint64_t (no
// promotion to int, so no signed overflow), then narrowed modulo 2^bits (defined in C++20).
template <typename I> I wrap_add(I a, I b) {
  return static_cast<I>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
template <typename I> I wrap_sub(I a, I b) {
  return static_cast<I>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
template <typename I> I wrap_mul(I a, I b) {
  return static_cast<I>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}
template <typename I> I wrap_neg(I a) { return wrap_sub(I{0}, a); }

// min(max(v, lo), hi), keeping a NaN v (std::min/max drop it in some argument orders);
// lo > hi gives hi, as ONNX Clip requires.
template <typename C> C clamp_keep_nan(C v, C lo, C hi) {
  const C at_least_lo = v < lo ? lo : v;
  return hi < at_least_lo ? hi : at_least_lo;
}

}  // namespace hone::runtime::reference::elementwise
