// Tensor family: shape-only ops (Identity, Flatten, Reshape, Squeeze, Unsqueeze, Shape, Size).
#include "test_tensor_common.h"

using namespace hone;
using namespace hone::test;

namespace {

ir::Shape reshape(const ir::Shape& in, std::vector<int64_t> shape, int64_t allowzero = 0) {
  auto y = run_node(make_node("Reshape", {{"allowzero", ir::Attribute::of_int(allowzero)}}, 2),
                    {iota_f32(in), i64(std::move(shape))});
  CHECK(values<float>(y[0]) == values<float>(iota_f32(in)));
  return y[0].shape();
}

}  // namespace

TEST_CASE("Identity passes the tensor through, any dtype", "[tensor][Identity]") {
  auto x = bools({3}, {1, 0, 1});
  auto y = run_node(make_node("Identity"), {x});
  CHECK(y[0].identical(x));
}

TEST_CASE("Flatten splits the dims at axis, negative axes count from the end",
          "[tensor][Flatten]") {
  auto x = iota_f32({2, 3, 4});
  auto flat = [&](int64_t axis) {
    return run_node(make_node("Flatten", {{"axis", ir::Attribute::of_int(axis)}}), {x})[0].shape();
  };
  CHECK(flat(0) == ir::Shape{1, 24});
  CHECK(flat(1) == ir::Shape{2, 12});
  CHECK(flat(3) == ir::Shape{24, 1});
  CHECK(flat(-1) == ir::Shape{6, 4});
  CHECK_THROWS_AS(flat(4), Error);
  CHECK_THROWS_AS(flat(-4), Error);
  // Before opset 11 a negative axis is invalid.
  CHECK_THROWS_AS(run_node(make_node("Flatten", {{"axis", ir::Attribute::of_int(-1)}}), {x}, 9),
                  Error);
}

TEST_CASE("Reshape: 0 copies a dim, -1 is inferred", "[tensor][Reshape]") {
  CHECK(reshape({2, 3, 4}, {4, -1}) == ir::Shape{4, 6});
  CHECK(reshape({2, 3, 4}, {0, -1}) == ir::Shape{2, 12});
  CHECK(reshape({2, 3, 4}, {0, 0, 2, 2}) == ir::Shape{2, 3, 2, 2});
  CHECK(reshape({2, 3, 4}, {-1}) == ir::Shape{24});
  CHECK(reshape({1}, {}) == ir::Shape{});
}

TEST_CASE("Reshape allowzero keeps a literal 0 dim", "[tensor][Reshape]") {
  CHECK(reshape({0, 3}, {3, 0}, 1) == ir::Shape{3, 0});
  // Without allowzero the 0 copies input dim 1 (3), so {3, 3} does not hold 0 elements.
  CHECK_THROWS_AS(reshape({0, 3}, {3, 0}, 0), Error);
  // allowzero with both 0 and -1 is invalid.
  CHECK_THROWS_AS(reshape({0, 3}, {0, -1}, 1), Error);
}

TEST_CASE("Reshape rejects bad shapes", "[tensor][Reshape]") {
  CHECK_THROWS_AS(reshape({2, 3}, {-1, -1}), Error);
  CHECK_THROWS_AS(reshape({2, 3}, {4, -1}), Error);
  CHECK_THROWS_AS(reshape({2, 3}, {5}), Error);
  CHECK_THROWS_AS(reshape({2, 3}, {-2, 3}), Error);
  CHECK_THROWS_AS(reshape({2, 3}, {2, 3, 0}), Error);  // 0 copies a dim that does not exist
  CHECK_THROWS_AS(reshape({2, 3}, {int64_t{1} << 40, int64_t{1} << 40}), Error);
}

TEST_CASE("Squeeze with and without axes", "[tensor][Squeeze]") {
  auto x = iota_f32({1, 3, 1, 2});
  CHECK(run_node(make_node("Squeeze"), {x})[0].shape() == ir::Shape{3, 2});
  auto y = run_node(make_node("Squeeze", {}, 2), {x, i64({-2})});
  CHECK(y[0].shape() == ir::Shape{1, 3, 2});
  CHECK(values<float>(y[0]) == values<float>(x));
  // Opset 11: axes is an attribute.
  auto z = run_node(make_node("Squeeze", {{"axes", ir::Attribute::of_ints({0})}}), {x}, 11);
  CHECK(z[0].shape() == ir::Shape{3, 1, 2});
  CHECK_THROWS_AS(run_node(make_node("Squeeze", {}, 2), {x, i64({1})}), Error);  // dim is 3
  CHECK_THROWS_AS(run_node(make_node("Squeeze", {}, 2), {x, i64({4})}), Error);
}

TEST_CASE("Unsqueeze inserts dims at output positions", "[tensor][Unsqueeze]") {
  auto x = iota_f32({3, 4});
  auto unsq = [&](std::vector<int64_t> axes) {
    return run_node(make_node("Unsqueeze", {}, 2), {x, i64(std::move(axes))})[0].shape();
  };
  CHECK(unsq({0}) == ir::Shape{1, 3, 4});
  CHECK(unsq({2, 0}) == ir::Shape{1, 3, 1, 4});
  CHECK(unsq({-1}) == ir::Shape{3, 4, 1});
  CHECK(unsq({1, 3}) == ir::Shape{3, 1, 4, 1});
  CHECK_THROWS_AS(unsq({0, 0}), Error);
  CHECK_THROWS_AS(unsq({3}), Error);
  auto y = run_node(make_node("Unsqueeze", {{"axes", ir::Attribute::of_ints({1})}}), {x}, 11);
  CHECK(y[0].shape() == ir::Shape{3, 1, 4});
}

TEST_CASE("Shape with start and end (opset 15) and Size", "[tensor][Shape][Size]") {
  auto x = iota_f32({2, 3, 4, 5});
  auto shape = [&](std::map<std::string, ir::Attribute> attrs) {
    return values<int64_t>(run_node(make_node("Shape", std::move(attrs)), {x})[0]);
  };
  CHECK(shape({}) == std::vector<int64_t>{2, 3, 4, 5});
  CHECK(shape({{"start", ir::Attribute::of_int(1)}, {"end", ir::Attribute::of_int(-1)}}) ==
        std::vector<int64_t>{3, 4});
  CHECK(shape({{"start", ir::Attribute::of_int(-10)}}) == std::vector<int64_t>{2, 3, 4, 5});
  CHECK(shape({{"end", ir::Attribute::of_int(10)}}) == std::vector<int64_t>{2, 3, 4, 5});
  CHECK(shape({{"start", ir::Attribute::of_int(3)}, {"end", ir::Attribute::of_int(1)}}).empty());
  auto n = run_node(make_node("Size"), {x});
  CHECK(n[0].rank() == 0);
  CHECK(values<int64_t>(n[0]) == std::vector<int64_t>{120});
}
