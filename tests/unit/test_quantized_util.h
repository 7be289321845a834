// Helpers shared by the quantized-family unit tests (test_quantized_*.cpp).
#pragma once

#include "op_test_util.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace hone::test {

// The kind of hone::Error that f throws; Internal when it throws nothing (so a check on
// BadInput / Unsupported fails).
inline ErrorKind thrown_kind(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.kind();
  }
  return ErrorKind::Internal;
}

inline ir::Tensor u8(ir::Shape shape, std::vector<uint8_t> v) {
  return ir::Tensor::from_vector(std::move(shape), v);
}
inline ir::Tensor i8(ir::Shape shape, std::vector<int8_t> v) {
  return ir::Tensor::from_vector(std::move(shape), v);
}
inline ir::Tensor i32(ir::Shape shape, std::vector<int32_t> v) {
  return ir::Tensor::from_vector(std::move(shape), v);
}
inline ir::Tensor f32(ir::Shape shape, std::vector<float> v) {
  return ir::Tensor::from_vector(std::move(shape), v);
}

// Values of an int8 / uint8 / int32 tensor as int (so CHECKs print numbers, not characters).
inline std::vector<int> ints(const ir::Tensor& t) {
  std::vector<int> v;
  for (int64_t i = 0; i < t.numel(); ++i) v.push_back(static_cast<int>(t.get_as_int64(i)));
  return v;
}

}  // namespace hone::test
