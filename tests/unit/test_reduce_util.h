// Shorthands for the reduce family's unit tests (test_reduce*.cpp).
#pragma once

#include "op_test_util.h"

#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace hone::test::reduce {

using Attrs = std::map<std::string, ir::Attribute>;

inline ir::Attribute i(int64_t v) { return ir::Attribute::of_int(v); }
inline ir::Attribute ints(std::vector<int64_t> v) { return ir::Attribute::of_ints(std::move(v)); }
inline ir::Attribute str(std::string v) { return ir::Attribute::of_string(std::move(v)); }

inline ir::Tensor f32(ir::Shape shape, std::vector<float> v) {
  return ir::Tensor::from_vector<float>(std::move(shape), v);
}
inline ir::Tensor i64(ir::Shape shape, std::vector<int64_t> v) {
  return ir::Tensor::from_vector<int64_t>(std::move(shape), v);
}

// Runs a one-node graph of `op` and returns its outputs.
inline std::vector<ir::Tensor> run(const std::string& op, Attrs attrs,
                                   const std::vector<ir::Tensor>& inputs, int64_t opset = 17,
                                   size_t num_outputs = 1) {
  return run_node(make_node(op, std::move(attrs), inputs.size()), inputs, opset, num_outputs);
}

// The ErrorKind `f` throws (Internal with a marker message if it throws none).
inline ErrorKind error_kind(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.kind();
  }
  FAIL("expected an error");
  return ErrorKind::Internal;
}

// Element-wise |got - want| <= 1e-6 + 1e-5 * |want|; NaN matches NaN, inf matches inf.
class CloseTo : public Catch::MatcherBase<std::vector<float>> {
 public:
  explicit CloseTo(std::vector<float> want) : want_(std::move(want)) {}
  bool match(const std::vector<float>& got) const override {
    if (got.size() != want_.size()) return false;
    for (size_t k = 0; k < got.size(); ++k) {
      const float g = got[k], w = want_[k];
      if (std::isnan(w) || std::isinf(w)) {
        if (!(std::isnan(w) ? std::isnan(g) : g == w)) return false;
      } else if (!(std::fabs(g - w) <= 1e-6f + 1e-5f * std::fabs(w))) {
        return false;
      }
    }
    return true;
  }
  std::string describe() const override { return "is close to " + Catch::Detail::stringify(want_); }

 private:
  std::vector<float> want_;
};
inline CloseTo close_to(std::vector<float> want) { return CloseTo(std::move(want)); }

}  // namespace hone::test::reduce
