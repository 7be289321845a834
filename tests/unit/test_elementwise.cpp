#include "op_test_util.h"

using namespace hone;
using hone::test::make_node;
using hone::test::run_node;
using hone::test::values;

TEST_CASE("Relu zeroes negatives and keeps positives", "[op][Relu]") {
  auto x = ir::Tensor::from_vector<float>({2, 2}, {-1.5f, 0.0f, 2.0f, -0.0f});
  auto y = run_node(make_node("Relu"), {x});
  REQUIRE(y[0].shape() == ir::Shape{2, 2});
  CHECK(values<float>(y[0]) == std::vector<float>{0.0f, 0.0f, 2.0f, 0.0f});
}
