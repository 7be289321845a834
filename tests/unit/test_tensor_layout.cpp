// Tensor family: layout ops (Transpose, Concat, Split, Slice, Expand, Tile, DepthToSpace,
// SpaceToDepth).
#include "test_tensor_common.h"

#include <limits>

using namespace hone;
using namespace hone::test;

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

// Slice-13 of a 1-D iota of length n.
std::vector<float> slice1d(int64_t n, int64_t start, int64_t end, int64_t step) {
  auto y = run_node(make_node("Slice", {}, 5),
                    {iota_f32({n}), i64({start}), i64({end}), i64({0}), i64({step})});
  return values<float>(y[0]);
}

}  // namespace

TEST_CASE("Transpose default reverses dims; perm permutes", "[tensor][Transpose]") {
  auto y = run_node(make_node("Transpose"), {iota_f32({2, 3})});
  CHECK(y[0].shape() == ir::Shape{3, 2});
  CHECK(values<float>(y[0]) == std::vector<float>{0, 3, 1, 4, 2, 5});

  // y[i, j, k] = x[k, i, j] for perm [1, 2, 0] of x [2, 3, 4].
  auto z = run_node(make_node("Transpose", {{"perm", ints({1, 2, 0})}}), {iota_f32({2, 3, 4})});
  REQUIRE(z[0].shape() == ir::Shape{3, 4, 2});
  std::vector<float> want;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 2; ++k) want.push_back(static_cast<float>(k * 12 + i * 4 + j));
  CHECK(values<float>(z[0]) == want);

  CHECK_THROWS_AS(run_node(make_node("Transpose", {{"perm", ints({0, 0})}}), {iota_f32({2, 3})}),
                  Error);
  CHECK_THROWS_AS(run_node(make_node("Transpose", {{"perm", ints({0})}}), {iota_f32({2, 3})}),
                  Error);
  CHECK_THROWS_AS(run_node(make_node("Transpose", {{"perm", ints({-1, 0})}}), {iota_f32({2, 3})}),
                  Error);
}

TEST_CASE("Transpose moves float16 and int8 elements as bytes", "[tensor][Transpose]") {
  auto x = ir::Tensor::from_vector<int8_t>({2, 2}, {1, -2, 3, -4});
  CHECK(values<int8_t>(run_node(make_node("Transpose"), {x})[0]) ==
        std::vector<int8_t>{1, 3, -2, -4});
  auto h =
      ir::Tensor::from_vector<ir::Float16>({1, 2}, {ir::f32_to_f16(1.5f), ir::f32_to_f16(-2.0f)});
  auto hy = run_node(make_node("Transpose"), {h})[0];
  CHECK(hy.shape() == ir::Shape{2, 1});
  CHECK(ir::f16_to_f32(hy.data<ir::Float16>()[1]) == -2.0f);
}

TEST_CASE("Concat along an axis, negative axis, empty input", "[tensor][Concat]") {
  auto a = iota_f32({2, 2});
  auto b = ir::Tensor::from_vector<float>({2, 1}, {4, 5});
  auto cat = [](std::vector<ir::Tensor> in, int64_t axis) {
    return run_node(make_node("Concat", {{"axis", one(axis)}}, in.size()), in)[0];
  };
  auto y = cat({a, b}, 1);
  CHECK(y.shape() == ir::Shape{2, 3});
  CHECK(values<float>(y) == std::vector<float>{0, 1, 4, 2, 3, 5});
  CHECK(values<float>(cat({a, b}, -1)) == values<float>(y));
  auto z = cat({a, ir::Tensor::zeros(ir::DType::Float32, {0, 2}), iota_f32({1, 2})}, 0);
  CHECK(z.shape() == ir::Shape{3, 2});
  CHECK(values<float>(z) == std::vector<float>{0, 1, 2, 3, 0, 1});
  CHECK_THROWS_AS(cat({a, b}, 0), Error);  // dim 1 differs off the axis
  CHECK_THROWS_AS(cat({a, b}, 2), Error);
}

TEST_CASE("Split: given sizes, equal parts, zero-size piece", "[tensor][Split]") {
  auto x = iota_f32({6});
  auto y = run_node(make_node("Split", {}, 2), {x, i64({2, 4})}, 17, 2);
  CHECK(values<float>(y[0]) == std::vector<float>{0, 1});
  CHECK(values<float>(y[1]) == std::vector<float>{2, 3, 4, 5});
  auto eq = run_node(make_node("Split"), {x}, 17, 3);
  CHECK(values<float>(eq[2]) == std::vector<float>{4, 5});
  auto z = run_node(make_node("Split", {}, 2), {x, i64({0, 6})}, 17, 2);
  CHECK(z[0].shape() == ir::Shape{0});
  CHECK(z[1].shape() == ir::Shape{6});
  // Opset 11: split is an attribute; axis 1 of a [2, 3].
  auto w = run_node(make_node("Split", {{"axis", one(1)}, {"split", ints({1, 2})}}),
                    {iota_f32({2, 3})}, 11, 2);
  CHECK(values<float>(w[0]) == std::vector<float>{0, 3});
  CHECK(values<float>(w[1]) == std::vector<float>{1, 2, 4, 5});
  CHECK_THROWS_AS(run_node(make_node("Split"), {x}, 17, 4), Error);  // 6 is not 4 equal parts
  CHECK_THROWS_AS(run_node(make_node("Split", {}, 2), {x, i64({2, 3})}, 17, 2), Error);
  CHECK_THROWS_AS(run_node(make_node("Split", {}, 2), {x, i64({-1, 7})}, 17, 2), Error);
}

TEST_CASE("Slice: the spec's examples", "[tensor][Slice]") {
  auto data = ir::Tensor::from_vector<float>({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  auto y = run_node(make_node("Slice", {}, 5),
                    {data, i64({1, 0}), i64({2, 3}), i64({0, 1}), i64({1, 2})});
  CHECK(y[0].shape() == ir::Shape{1, 2});
  CHECK(values<float>(y[0]) == std::vector<float>{5, 7});
  auto z = run_node(make_node("Slice", {}, 3), {data, i64({0, 1}), i64({-1, 1000})});
  CHECK(z[0].shape() == ir::Shape{1, 3});
  CHECK(values<float>(z[0]) == std::vector<float>{2, 3, 4});
}

TEST_CASE("Slice: negative steps and clamped starts/ends", "[tensor][Slice]") {
  CHECK(slice1d(10, -1, kMin, -3) == std::vector<float>{9, 6, 3, 0});
  CHECK(slice1d(5, 100, -100, -1) == std::vector<float>{4, 3, 2, 1, 0});
  CHECK(slice1d(5, 3, 1, -1) == std::vector<float>{3, 2});
  CHECK(slice1d(5, 100, kMax, 1).empty());
  CHECK(slice1d(5, -100, 2, 1) == std::vector<float>{0, 1});
  CHECK(slice1d(5, 1, 4, kMax) == std::vector<float>{1});
  CHECK(slice1d(5, 4, 0, kMin) == std::vector<float>{4});
  CHECK(slice1d(5, 1, 3, -1).empty());
  CHECK(slice1d(0, -1, kMin, -1).empty());
  CHECK_THROWS_AS(slice1d(5, 0, 5, 0), Error);
}

TEST_CASE("Slice: default axes, negative axes and Slice-1 attributes", "[tensor][Slice]") {
  auto x = iota_f32({3, 4});
  auto y = run_node(make_node("Slice", {}, 4), {x, i64({-1}), i64({kMax}), i64({-2})});
  CHECK(values<float>(y[0]) == std::vector<float>{8, 9, 10, 11});
  auto z = run_node(
      make_node("Slice", {{"starts", ints({1})}, {"ends", ints({3})}, {"axes", ints({1})}}), {x},
      9);
  CHECK(z[0].shape() == ir::Shape{3, 2});
  CHECK(values<float>(z[0]) == std::vector<float>{1, 2, 5, 6, 9, 10});
  CHECK_THROWS_AS(run_node(make_node("Slice", {}, 4), {x, i64({0}), i64({1}), i64({2})}), Error);
  CHECK_THROWS_AS(run_node(make_node("Slice", {}, 4), {x, i64({0, 0}), i64({1, 1}), i64({1, -1})}),
                  Error);
}

TEST_CASE("Expand broadcasts both ways", "[tensor][Expand]") {
  auto x = ir::Tensor::from_vector<int32_t>({3, 1}, {1, 2, 3});
  auto y = run_node(make_node("Expand", {}, 2), {x, i64({2, 1, 2})});
  REQUIRE(y[0].shape() == ir::Shape{2, 3, 2});
  CHECK(values<int32_t>(y[0]) == std::vector<int32_t>{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3});
  CHECK(run_node(make_node("Expand", {}, 2), {x, i64({1})})[0].shape() == ir::Shape{3, 1});
  CHECK_THROWS_AS(run_node(make_node("Expand", {}, 2), {x, i64({2, 2})}), Error);
  CHECK_THROWS_AS(run_node(make_node("Expand", {}, 2), {x, i64({-1, 1})}), Error);
  CHECK_THROWS_AS(run_node(make_node("Expand", {}, 2), {x, i64({int64_t{1} << 40, 1, 1 << 20})}),
                  Error);
}

TEST_CASE("Tile repeats each dim", "[tensor][Tile]") {
  auto y = run_node(make_node("Tile", {}, 2), {iota_f32({2, 2}), i64({2, 2})});
  REQUIRE(y[0].shape() == ir::Shape{4, 4});
  CHECK(values<float>(y[0]) == std::vector<float>{0, 1, 0, 1, 2, 3, 2, 3, 0, 1, 0, 1, 2, 3, 2, 3});
  CHECK(run_node(make_node("Tile", {}, 2), {iota_f32({2, 2}), i64({0, 3})})[0].shape() ==
        ir::Shape{0, 6});
  CHECK_THROWS_AS(run_node(make_node("Tile", {}, 2), {iota_f32({2, 2}), i64({2})}), Error);
  CHECK_THROWS_AS(run_node(make_node("Tile", {}, 2), {iota_f32({2, 2}), i64({-1, 1})}), Error);
  CHECK_THROWS_AS(run_node(make_node("Tile", {}, 2), {iota_f32({2, 2}), i64({kMax, kMax})}), Error);
}

TEST_CASE("DepthToSpace DCR and CRD; SpaceToDepth inverts DCR",
          "[tensor][DepthToSpace][SpaceToDepth]") {
  auto x = iota_f32({1, 8, 1, 1});
  auto d2s = [&](const char* mode) {
    return run_node(make_node("DepthToSpace", {{"blocksize", one(2)}, {"mode", str(mode)}}),
                    {x})[0];
  };
  auto dcr = d2s("DCR");
  REQUIRE(dcr.shape() == ir::Shape{1, 2, 2, 2});
  // DCR: out[c, i, j] = x[(i * b + j) * C/b^2 + c]; CRD: out[c, i, j] = x[c * b^2 + i * b + j].
  CHECK(values<float>(dcr) == std::vector<float>{0, 2, 4, 6, 1, 3, 5, 7});
  CHECK(values<float>(d2s("CRD")) == std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7});

  auto s =
      run_node(make_node("SpaceToDepth", {{"blocksize", one(2)}}), {iota_f32({1, 2, 2, 2})})[0];
  REQUIRE(s.shape() == ir::Shape{1, 8, 1, 1});
  CHECK(values<float>(s) == std::vector<float>{0, 4, 1, 5, 2, 6, 3, 7});
  auto back = run_node(make_node("DepthToSpace", {{"blocksize", one(2)}}), {s})[0];
  CHECK(values<float>(back) == values<float>(iota_f32({1, 2, 2, 2})));

  CHECK_THROWS_AS(run_node(make_node("DepthToSpace", {{"blocksize", one(3)}}), {x}), Error);
  CHECK_THROWS_AS(run_node(make_node("DepthToSpace", {{"blocksize", one(0)}}), {x}), Error);
  CHECK_THROWS_AS(
      run_node(make_node("SpaceToDepth", {{"blocksize", one(2)}}), {iota_f32({1, 1, 3, 2})}),
      Error);
}

TEST_CASE("Zero-size tensors pass through layout ops", "[tensor][Transpose][Slice][Gather]") {
  auto empty = ir::Tensor::zeros(ir::DType::Float32, {0, 3});
  CHECK(run_node(make_node("Transpose"), {empty})[0].shape() == ir::Shape{3, 0});
  CHECK(run_node(make_node("Slice", {}, 3), {empty, i64({1}), i64({2})})[0].shape() ==
        ir::Shape{0, 3});
  auto g = run_node(make_node("Gather", {{"axis", one(0)}}, 2),
                    {iota_f32({3, 2}), ir::Tensor::zeros(ir::DType::Int64, {0})})[0];
  CHECK(g.shape() == ir::Shape{0, 2});
  CHECK(run_node(make_node("Expand", {}, 2), {empty, i64({2, 1, 1})})[0].shape() ==
        ir::Shape{2, 0, 3});
}
