// Tensor family: Resize and Upsample.
#include "test_tensor_common.h"

using namespace hone;
using namespace hone::test;

namespace {

ir::Tensor f32(std::vector<float> v) {
  const auto n = static_cast<int64_t>(v.size());
  return ir::Tensor::from_vector<float>({n}, v);
}

// Resize-13 of x with `sizes` (or `scales` when sizes is empty).
ir::Tensor resize(const ir::Tensor& x, std::map<std::string, ir::Attribute> attrs,
                  std::vector<float> scales, std::vector<int64_t> sizes = {}) {
  ir::Node n = make_node("Resize", std::move(attrs), 4);
  n.inputs[1] = "";  // no roi
  if (sizes.empty()) {
    n.inputs.resize(3);
    return run_node(n, {x, ir::Tensor(), f32(std::move(scales))})[0];
  }
  n.inputs[2] = "";
  return run_node(n, {x, ir::Tensor(), ir::Tensor(), i64(std::move(sizes))})[0];
}

std::vector<int32_t> nearest_1d(const char* rounding) {
  auto x = ir::Tensor::from_vector<int32_t>({2}, {10, 20});
  auto y = resize(
      x, {{"coordinate_transformation_mode", str("asymmetric")}, {"nearest_mode", str(rounding)}},
      {}, {4});
  return values<int32_t>(y);
}

}  // namespace

TEST_CASE("Resize nearest: each nearest_mode on ties, any dtype", "[tensor][Resize]") {
  // asymmetric, scale 2: source coordinates 0, 0.5, 1, 1.5 (the last clamps to the edge).
  CHECK(nearest_1d("round_prefer_floor") == std::vector<int32_t>{10, 10, 20, 20});
  CHECK(nearest_1d("round_prefer_ceil") == std::vector<int32_t>{10, 20, 20, 20});
  CHECK(nearest_1d("floor") == std::vector<int32_t>{10, 10, 20, 20});
  CHECK(nearest_1d("ceil") == std::vector<int32_t>{10, 20, 20, 20});
  auto img = ir::Tensor::from_vector<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  auto y = resize(img, {}, {1, 1, 2, 3});
  REQUIRE(y.shape() == ir::Shape{1, 1, 4, 6});
  CHECK(values<float>(y) ==
        std::vector<float>{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4});
}

TEST_CASE("Resize linear with half_pixel clamps at the edges", "[tensor][Resize]") {
  // Source coordinates -0.25, 0.25, 0.75, 1.25.
  auto y = resize(f32({1, 2}), {{"mode", str("linear")}}, {}, {4});
  CHECK(values<float>(y) == std::vector<float>{1, 1.25f, 1.75f, 2});
  auto corners = resize(
      f32({1, 2}),
      {{"mode", str("linear")}, {"coordinate_transformation_mode", str("align_corners")}}, {}, {3});
  CHECK(values<float>(corners) == std::vector<float>{1, 1.5f, 2});
}

TEST_CASE("Resize cubic: Keys weights at ratio 0.5, exclude_outside", "[tensor][Resize]") {
  // asymmetric, scale 2: odd outputs sit halfway, weights (-0.09375, 0.59375, 0.59375, -0.09375).
  auto x = f32({0, 10, 20, 100});
  auto y = resize(
      x, {{"mode", str("cubic")}, {"coordinate_transformation_mode", str("asymmetric")}}, {2});
  CHECK(values<float>(y) == std::vector<float>{0, 4.0625f, 10, 8.4375f, 20, 60.9375f, 100, 107.5f});
  auto ex = resize(x,
                   {{"mode", str("cubic")},
                    {"coordinate_transformation_mode", str("asymmetric")},
                    {"exclude_outside", one(1)}},
                   {2});
  // Tap -1 is dropped and the rest renormalised: 4.0625 / 1.09375.
  CHECK(values<float>(ex)[1] == Approx(4.0625 / 1.09375));
}

TEST_CASE("Resize tf_crop_and_resize uses roi and the extrapolation value", "[tensor][Resize]") {
  ir::Node n = make_node("Resize",
                         {{"mode", str("linear")},
                          {"coordinate_transformation_mode", str("tf_crop_and_resize")},
                          {"extrapolation_value", ir::Attribute::of_float(10)}},
                         4);
  n.inputs[2] = "";
  // roi [0.5, 1.5] of a length-3 axis: source coordinates 1, 2, 3 (past the end).
  auto y = run_node(n, {f32({1, 2, 3}), f32({0.5f, 1.5f}), ir::Tensor(), i64({3})})[0];
  CHECK(values<float>(y) == std::vector<float>{2, 3, 10});
}

TEST_CASE("Resize rejects bad scales, sizes and modes", "[tensor][Resize]") {
  auto x = f32({1, 2});
  CHECK_THROWS_AS(resize(x, {}, {0}), Error);
  CHECK_THROWS_AS(resize(x, {}, {-1}), Error);
  CHECK_THROWS_AS(resize(x, {}, {1e30f}), Error);
  CHECK_THROWS_AS(resize(x, {}, {1, 1}), Error);
  CHECK_THROWS_AS(resize(x, {}, {}, {-1}), Error);
  CHECK_THROWS_AS(resize(x, {{"mode", str("bicubic")}}, {2}), Error);
  CHECK_THROWS_AS(resize(x, {{"nearest_mode", str("nearest")}}, {2}), Error);
  CHECK_THROWS_AS(
      resize(ir::Tensor::from_vector<int32_t>({2}, {1, 2}), {{"mode", str("linear")}}, {2}), Error);
  ir::Node both = make_node("Resize", {}, 4);
  both.inputs[1] = "";
  CHECK_THROWS_AS(run_node(both, {x, ir::Tensor(), f32({2}), i64({4})}), Error);
}

TEST_CASE("Upsample-7 and -9: asymmetric, nearest floors", "[tensor][Upsample]") {
  auto x = ir::Tensor::from_vector<float>({1, 2}, {1, 2});
  auto lin = run_node(make_node("Upsample", {{"mode", str("linear")},
                                             {"scales", ir::Attribute::of_floats({1, 2})}}),
                      {x}, 7)[0];
  CHECK(values<float>(lin) == std::vector<float>{1, 1.5f, 2, 2});
  auto near = run_node(make_node("Upsample", {}, 2), {x, f32({2, 3})}, 9)[0];
  REQUIRE(near.shape() == ir::Shape{2, 6});
  CHECK(values<float>(near) == std::vector<float>{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2});
  CHECK_THROWS_AS(run_node(make_node("Upsample", {{"mode", str("cubic")}}, 2), {x, f32({1, 2})}, 9),
                  Error);
}
