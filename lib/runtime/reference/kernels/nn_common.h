// Shared by the nn family's reference kernels: dispatch over the floating dtypes, the
// arithmetic type each storage type is computed in, and bounds for untrusted attributes.
#pragma once

#include "runtime/reference/kernel_util.h"

#include <initializer_list>
#include <type_traits>
#include <vector>

namespace hone::runtime::reference::nn {

// float64 is computed in double; float32, float16 and bfloat16 in float (half types are
// storage only).
template <typename T>
using value_t = std::conditional_t<std::is_same_v<T, double>, double, float>;

template <typename T>
value_t<T> load(T v) {
  if constexpr (std::is_same_v<T, double>) {
    return v;
  } else {
    return to_float(v);
  }
}

// Rounds a value computed in double (an accumulator) to the storage type.
template <typename T>
T store(double v) {
  if constexpr (std::is_same_v<T, double>) {
    return v;
  } else {
    return from_float<T>(static_cast<float>(v));
  }
}

// visit_dtype restricted to the four floating dtypes, so generic float code is only
// instantiated for them.
template <typename F>
decltype(auto) visit_float(ir::DType dt, F&& f) {
  switch (dt) {
    case ir::DType::Float32: return f.template operator()<float>();
    case ir::DType::Float64: return f.template operator()<double>();
    case ir::DType::Float16: return f.template operator()<ir::Float16>();
    case ir::DType::BFloat16: return f.template operator()<ir::BFloat16>();
    default: throw unsupported("dtype {} is not supported here", ir::dtype_name(dt));
  }
}

// Window attributes (strides, pads, dilations, output_padding, output_shape) feed index
// arithmetic such as pos*stride + tap*dilation; bounding them keeps every such product far
// from int64 overflow. No real model comes near 2^24.
inline constexpr int64_t kMaxWindowAttr = int64_t{1} << 24;

inline void check_attr_magnitudes(const ir::Node& node, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    for (int64_t v : node.attr_ints(key)) {
      if (v > kMaxWindowAttr || v < -kMaxWindowAttr) {
        throw bad_input("attribute '{}' value {} is out of range (|v| <= {})", key, v,
                        kMaxWindowAttr);
      }
    }
  }
}

// BadInput unless the product of t's nonzero dims is bounded like a tensor's element count.
// checked_numel stops checking at a zero dim, so an empty [0, 2^40, 2^40] would otherwise let
// products of dims overflow. Run kernels call this on their inputs and return early on empty
// outputs; together that keeps every dim product they form within int64.
inline void require_sane_dims(const ir::Tensor* t) {
  if (!t) return;
  ir::Shape nonzero;
  for (int64_t d : t->shape()) {
    if (d != 0) nonzero.push_back(d);
  }
  ir::checked_numel(nonzero);
}

inline void require_sane_inputs(const KernelArgs& a) {
  for (const ir::Tensor* t : a.inputs) require_sane_dims(t);
}

// Dims 2.. of an (N x C x D1 x ... x Dn) shape.
inline std::vector<int64_t> spatial_dims(const ir::Shape& s) {
  return s.size() > 2 ? std::vector<int64_t>(s.begin() + 2, s.end()) : std::vector<int64_t>{};
}

// BadInput unless an optional output beyond index 0 is absent; `why` names the mode that
// would produce it (these outputs only exist in training modes hone does not execute).
inline void reject_outputs_from(const ir::Node& node, size_t first, const char* why) {
  for (size_t o = first; o < node.outputs.size(); ++o) {
    if (!node.outputs[o].empty()) {
      throw unsupported("output {} ('{}') is only produced {}", o, node.outputs[o], why);
    }
  }
}

}  // namespace hone::runtime::reference::nn
