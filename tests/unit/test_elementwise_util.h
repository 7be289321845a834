// Shorthands for the elementwise family's unit tests (test_elementwise*.cpp).
#pragma once

#include "op_test_util.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace hone::test::elementwise {

using Attrs = std::map<std::string, ir::Attribute>;

inline ir::Attribute i(int64_t v) { return ir::Attribute::of_int(v); }
inline ir::Attribute f(float v) { return ir::Attribute::of_float(v); }
inline ir::Attribute str(std::string v) { return ir::Attribute::of_string(std::move(v)); }

template <typename T> ir::Tensor tensor(ir::Shape shape, const std::vector<T>& v) {
  return ir::Tensor::from_vector<T>(std::move(shape), v);
}
inline ir::Tensor f32(ir::Shape shape, const std::vector<float>& v) { return tensor(shape, v); }
// std::vector<bool> has no data(): bool tensors are built from 0/1 bytes.
inline ir::Tensor bools(ir::Shape shape, const std::vector<uint8_t>& v) {
  return ir::Tensor::from_bytes(ir::DType::Bool, std::move(shape), v.data(), v.size());
}
inline ir::Tensor f16(ir::Shape shape, const std::vector<float>& v) {
  std::vector<ir::Float16> h;
  for (float x : v) h.push_back(ir::f32_to_f16(x));
  return tensor(std::move(shape), h);
}
inline std::vector<float> f16_values(const ir::Tensor& t) {
  std::vector<float> out;
  for (ir::Float16 h : t.span<ir::Float16>()) out.push_back(ir::f16_to_f32(h));
  return out;
}

// Runs a one-node graph of `op` and returns output 0. An undefined Tensor in `inputs` leaves
// that (optional) input omitted.
inline ir::Tensor run(const std::string& op, Attrs attrs, const std::vector<ir::Tensor>& inputs,
                      int64_t opset = 17) {
  ir::Node node = make_node(op, std::move(attrs), inputs.size());
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!inputs[k].defined()) node.inputs[k].clear();
  }
  return run_node(std::move(node), inputs, opset).at(0);
}

// The ErrorKind `fn` throws; fails the test if it throws none.
inline ErrorKind error_kind(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.kind();
  }
  FAIL("expected an error");
  return ErrorKind::Internal;
}

}  // namespace hone::test::elementwise
