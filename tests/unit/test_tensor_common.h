// Small input builders shared by the tensor-family unit tests.
#pragma once

#include "op_test_util.h"

#include <cstdint>
#include <vector>

namespace hone::test {

// 0, 1, 2, ... in row-major order.
inline ir::Tensor iota_f32(ir::Shape shape) {
  std::vector<float> v(static_cast<size_t>(ir::checked_numel(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  return ir::Tensor::from_vector<float>(std::move(shape), v);
}

// A 1-D int64 tensor (shapes, axes, indices, pads...).
inline ir::Tensor i64(std::vector<int64_t> v) {
  const auto n = static_cast<int64_t>(v.size());
  return ir::Tensor::from_vector<int64_t>({n}, v);
}

// A bool tensor (std::vector<bool> has no data(), so this goes through bytes).
inline ir::Tensor bools(ir::Shape shape, std::vector<uint8_t> bits) {
  return ir::Tensor::from_bytes(ir::DType::Bool, std::move(shape), bits.data(), bits.size());
}

inline ir::Attribute ints(std::vector<int64_t> v) { return ir::Attribute::of_ints(std::move(v)); }
inline ir::Attribute one(int64_t v) { return ir::Attribute::of_int(v); }
inline ir::Attribute str(const char* v) { return ir::Attribute::of_string(v); }

}  // namespace hone::test
