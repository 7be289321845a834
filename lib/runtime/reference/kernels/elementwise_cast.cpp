// Cast and CastLike: every numeric dtype, bool, float16 and bfloat16 to every other. String
// tensors are not supported.
#include "runtime/reference/kernel_util.h"
#include "runtime/reference/kernels/elementwise_types.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>

namespace hone::runtime::reference::kernels {

using namespace elementwise;  // NOLINT(google-build-using-namespace): this family's helpers

namespace {

// double -> float rounding to odd: truncate, then set the last bit if anything was dropped.
// A second rounding from this float to a narrower format (float16, bfloat16: at most 11
// significant bits, 24 >= 11 + 2) is then the correctly rounded double -> narrow result,
// where double -> float -> narrow with two round-to-nearest steps can be off by one ulp.
float to_float_round_odd(double d) {
  float f = static_cast<float>(d);
  if (std::isnan(d) || static_cast<double>(f) == d) return f;
  if (std::fabs(static_cast<double>(f)) > std::fabs(d)) f = std::nextafter(f, 0.0f);
  return std::bit_cast<float>(std::bit_cast<uint32_t>(f) | 1u);
}

// One element of From converted to To:
//   -> bool:           x != 0 (NaN is true)
//   float -> integer:  truncate toward zero, saturate out of range, NaN -> 0
//   integer -> integer: wrap modulo 2^bits (numpy's astype)
//   -> float types:    round to nearest even
template <typename To, typename From> To convert(From v) {
  if constexpr (is_half_v<From>) {
    return convert<To>(load(v));
  } else if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (is_half_v<To>) {
    if constexpr (std::is_same_v<From, float>) return store<To>(v);
    else return store<To>(to_float_round_odd(static_cast<double>(v)));
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<From>) {
    return saturate_cast<To>(static_cast<double>(v));
  } else {
    return static_cast<To>(v);
  }
}

template <typename From, typename To>
void convert_all(const ir::Tensor& x, ir::Tensor& y) {
  const From* in = x.data<From>();
  To* out = y.data<To>();
  for (int64_t i = 0; i < x.numel(); ++i) out[i] = convert<To>(in[i]);
}

ir::Tensor cast_to(const ir::Tensor& x, ir::DType to) {
  require_type(x, "input 0", kAll);
  ir::Tensor y = ir::Tensor::zeros(to, x.shape());
  visit_dtype(x.dtype(), [&]<typename From>() {
    visit_dtype(to, [&]<typename To>() { convert_all<From, To>(x, y); });
  });
  return y;
}

// The target dtype of Cast's `to`: Unsupported for string and for ONNX types hone cannot
// hold (complex), BadInput for codes that are no ONNX type at all.
ir::DType target_dtype(const ir::Node& node) {
  if (!node.has_attr("to")) throw bad_input("Cast requires the 'to' attribute");
  const int64_t to = node.attr_int("to", 0);
  if (to == static_cast<int64_t>(ir::DType::String)) {
    throw unsupported("Cast to string is not supported");
  }
  if (to >= 1 && to <= 16 && ir::dtype_is_known(static_cast<int32_t>(to))) {
    return static_cast<ir::DType>(to);
  }
  if (to >= 1 && to <= 16) throw unsupported("Cast to ONNX dtype {} is not supported", to);
  throw bad_input("Cast 'to' = {} is not an ONNX dtype", to);
}

void reject_string(const KernelInfo& info, size_t i, const char* what) {
  if (info.input_dtype(i) == ir::DType::String) throw unsupported("{} is not supported", what);
  check_input_type(info, i, kAll);
}

}  // namespace

void check_Cast(const KernelInfo& info) {
  reject_string(info, 0, "Cast from string");
  target_dtype(info.node);
}
void run_Cast(KernelArgs& a) { a.outputs[0] = cast_to(a.in(0), target_dtype(a.node)); }

// CastLike(input, target_type): Cast to target_type's dtype (its values are not read).
void check_CastLike(const KernelInfo& info) {
  reject_string(info, 0, "CastLike from string");
  reject_string(info, 1, "CastLike to string");
}
void run_CastLike(KernelArgs& a) {
  require_type(a.in(1), "target_type", kAll);
  a.outputs[0] = cast_to(a.in(0), a.in(1).dtype());
}

}  // namespace hone::runtime::reference::kernels
