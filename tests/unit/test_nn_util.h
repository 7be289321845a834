// Helpers for the nn family's unit tests: attribute shorthands, seeded random tensors, error
// kinds, and multi-index loops for the independent textbook references the kernels are
// compared against.
#pragma once

#include "op_test_util.h"

#include <functional>
#include <random>

namespace hone::test::nn {

// Element-wise |actual - expected| <= margin (plus Catch's default relative epsilon).
template <typename T>
auto close_to(const std::vector<T>& expected, double margin = 1e-5) {
  return Catch::Matchers::Approx(expected).margin(margin);
}

inline ir::Attribute ints(std::vector<int64_t> v) { return ir::Attribute::of_ints(std::move(v)); }
inline ir::Attribute i(int64_t v) { return ir::Attribute::of_int(v); }
inline ir::Attribute f(float v) { return ir::Attribute::of_float(v); }
inline ir::Attribute s(std::string v) { return ir::Attribute::of_string(std::move(v)); }

inline ir::Tensor f32(ir::Shape shape, std::vector<float> v) {
  return ir::Tensor::from_vector<float>(std::move(shape), v);
}

inline ir::Tensor random_f32(ir::Shape shape, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(ir::checked_numel(shape)));
  for (float& x : v) x = dist(rng);
  return f32(std::move(shape), std::move(v));
}

// The kind of hone::Error `fn` throws; fails the test if it throws nothing.
inline ErrorKind error_kind(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.kind();
  }
  FAIL("no hone::Error was thrown");
  return ErrorKind::Internal;
}

// Row-major multi-index over `shape`: for (auto idx = zeros; ...; next_index(idx, shape)).
inline bool next_index(std::vector<int64_t>& idx, const ir::Shape& shape) {
  for (size_t d = idx.size(); d-- > 0;) {
    if (++idx[d] < shape[d]) return true;
    idx[d] = 0;
  }
  return false;
}

inline int64_t flat_index(const std::vector<int64_t>& idx, const ir::Shape& shape) {
  int64_t at = 0;
  for (size_t d = 0; d < idx.size(); ++d) at = at * shape[d] + idx[d];
  return at;
}

// Calls fn(idx) for every multi-index of `shape` (none when a dim is 0).
inline void for_each_index(const ir::Shape& shape,
                           const std::function<void(const std::vector<int64_t>&)>& fn) {
  for (int64_t d : shape) {
    if (d == 0) return;
  }
  std::vector<int64_t> idx(shape.size(), 0);
  do {
    fn(idx);
  } while (next_index(idx, shape));
}

}  // namespace hone::test::nn
