// Pooling: window placement (pads, auto_pad, ceil_mode, dilations), divisors, Indices, dtypes,
// global forms, and random cases against a textbook loop.
#include "test_nn_util.h"

#include <cmath>
#include <limits>

using namespace hone;
using namespace hone::test::nn;
using hone::test::make_node;
using hone::test::run_node;
using hone::test::values;

namespace {

std::vector<float> pool1d(const std::string& op, std::map<std::string, ir::Attribute> attrs,
                          std::vector<float> x, int64_t opset = 17) {
  const auto n = static_cast<int64_t>(x.size());
  return values<float>(run_node(make_node(op, std::move(attrs)), {f32({1, 1, n}, x)}, opset)[0]);
}

struct PoolCase {
  ir::Shape x;
  std::vector<int64_t> kernel, strides, dilations, pads;
};

// Textbook pooling over 2-D windows: max, or average with/without pads in the divisor.
std::vector<float> pool_reference(const PoolCase& c, const ir::Tensor& x, const ir::Shape& y_shape,
                                  bool max, bool include_pad) {
  std::vector<float> y;
  const float* in = x.data<float>();
  for_each_index(y_shape, [&](const std::vector<int64_t>& yi) {
    double best = -std::numeric_limits<double>::infinity(), sum = 0;
    int64_t count = 0;
    for_each_index(ir::Shape(c.kernel), [&](const std::vector<int64_t>& k) {
      std::vector<int64_t> xi{yi[0], yi[1]};
      bool in_pads = true;
      for (size_t d = 0; d < c.kernel.size(); ++d) {
        const int64_t at = yi[2 + d] * c.strides[d] - c.pads[d] + k[d] * c.dilations[d];
        in_pads = in_pads && at < c.x[2 + d] + c.pads[d + c.kernel.size()];
        xi.push_back(at);
      }
      bool inside = true;
      for (size_t d = 0; d < c.kernel.size(); ++d)
        inside = inside && xi[2 + d] >= 0 && xi[2 + d] < c.x[2 + d];
      count += include_pad ? in_pads : inside;
      if (!inside) return;
      const double v = in[flat_index(xi, c.x)];
      best = std::max(best, v);
      sum += v;
    });
    y.push_back(static_cast<float>(max ? best : sum / static_cast<double>(count)));
  });
  return y;
}

}  // namespace

TEST_CASE("MaxPool 2-D by hand with strides", "[nn][MaxPool]") {
  std::vector<float> v(16);
  for (size_t k = 0; k < v.size(); ++k) v[k] = static_cast<float>(k + 1);
  auto x = f32({1, 1, 4, 4}, v);
  auto y = run_node(make_node("MaxPool", {{"kernel_shape", ints({2, 2})}}), {x});
  REQUIRE(y[0].shape() == ir::Shape{1, 1, 3, 3});
  CHECK(values<float>(y[0]) == std::vector<float>{6, 7, 8, 10, 11, 12, 14, 15, 16});
  y = run_node(make_node("MaxPool", {{"kernel_shape", ints({2, 2})}, {"strides", ints({2, 2})}}),
               {x});
  CHECK(values<float>(y[0]) == std::vector<float>{6, 8, 14, 16});
}

TEST_CASE("MaxPool ceil_mode, dilations, pads, auto_pad", "[nn][MaxPool]") {
  const std::vector<float> x5{1, 2, 3, 4, 5};
  CHECK(pool1d("MaxPool", {{"kernel_shape", ints({2})}, {"strides", ints({2})}}, x5) ==
        std::vector<float>{2, 4});
  CHECK(pool1d("MaxPool",
               {{"kernel_shape", ints({2})}, {"strides", ints({2})}, {"ceil_mode", i(1)}},
               x5) == std::vector<float>{2, 4, 5});
  CHECK(pool1d("MaxPool", {{"kernel_shape", ints({2})}, {"dilations", ints({2})}}, x5) ==
        std::vector<float>{3, 4, 5});
  CHECK(pool1d("MaxPool", {{"kernel_shape", ints({2})}, {"pads", ints({1, 1})}}, {3, 1, 2}) ==
        std::vector<float>{3, 3, 2, 2});
  const std::vector<float> x4{1, 5, 2, 4};
  CHECK(pool1d("MaxPool", {{"kernel_shape", ints({2})}, {"auto_pad", s("SAME_UPPER")}}, x4) ==
        std::vector<float>{5, 5, 4, 4});
  CHECK(pool1d("MaxPool", {{"kernel_shape", ints({2})}, {"auto_pad", s("SAME_LOWER")}}, x4) ==
        std::vector<float>{1, 5, 5, 4});
  CHECK(pool1d("MaxPool", {{"kernel_shape", ints({3})}, {"auto_pad", s("VALID")}}, x4) ==
        std::vector<float>{5, 5});
}

TEST_CASE("MaxPool Indices in row- and column-major order", "[nn][MaxPool]") {
  // Two identical channels of [[1,2,7],[4,5,3]]; 2x2 windows: max 5 at (1,1), then 7 at (0,2).
  auto x = f32({1, 2, 2, 3}, {1, 2, 7, 4, 5, 3, 1, 2, 7, 4, 5, 3});
  auto node = make_node("MaxPool", {{"kernel_shape", ints({2, 2})}});
  auto y = run_node(node, {x}, 17, 2);
  CHECK(values<float>(y[0]) == std::vector<float>{5, 7, 5, 7});
  REQUIRE(y[1].dtype() == ir::DType::Int64);
  CHECK(values<int64_t>(y[1]) == std::vector<int64_t>{4, 2, 10, 8});
  node.attrs["storage_order"] = i(1);  // h + w * H within the plane
  y = run_node(node, {x}, 17, 2);
  CHECK(values<int64_t>(y[1]) == std::vector<int64_t>{3, 4, 9, 10});
  // Ties keep the first element of the window.
  auto tie = run_node(make_node("MaxPool", {{"kernel_shape", ints({2})}}), {f32({1, 1, 2}, {2, 2})},
                      17, 2);
  CHECK(values<int64_t>(tie[1]) == std::vector<int64_t>{0});
}

TEST_CASE("MaxPool propagates NaN and pools int8 / uint8", "[nn][MaxPool]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto y = pool1d("MaxPool", {{"kernel_shape", ints({2})}}, {1, nan, 3});
  CHECK(std::isnan(y[0]));
  CHECK(std::isnan(y[1]));
  auto i8 = ir::Tensor::from_vector<int8_t>({1, 1, 3}, {-5, -3, -7});
  CHECK(values<int8_t>(run_node(make_node("MaxPool", {{"kernel_shape", ints({2})}}), {i8})[0]) ==
        std::vector<int8_t>{-3, -3});
  auto u8 = ir::Tensor::from_vector<uint8_t>({1, 1, 3}, {200, 7, 255});
  CHECK(values<uint8_t>(run_node(make_node("MaxPool", {{"kernel_shape", ints({2})}}), {u8})[0]) ==
        std::vector<uint8_t>{200, 255});
}

TEST_CASE("AveragePool divisor: count_include_pad and ceil_mode overhang", "[nn][AveragePool]") {
  auto attrs =
      std::map<std::string, ir::Attribute>{{"kernel_shape", ints({2})}, {"pads", ints({1, 1})}};
  CHECK(pool1d("AveragePool", attrs, {1, 2, 3}) == std::vector<float>{1, 1.5f, 2.5f, 3});
  attrs["count_include_pad"] = i(1);
  CHECK(pool1d("AveragePool", attrs, {1, 2, 3}) == std::vector<float>{0.5f, 1.5f, 2.5f, 1.5f});
  // kernel 3, stride 2, pads [0, 1], ceil_mode: the last window [5, pad, beyond] counts the pad
  // but not the part beyond it when count_include_pad is set.
  attrs = {{"kernel_shape", ints({3})},
           {"strides", ints({2})},
           {"pads", ints({0, 1})},
           {"ceil_mode", i(1)}};
  CHECK(pool1d("AveragePool", attrs, {1, 2, 3, 4, 5}) == std::vector<float>{2, 4, 5});
  attrs["count_include_pad"] = i(1);
  CHECK(pool1d("AveragePool", attrs, {1, 2, 3, 4, 5}) == std::vector<float>{2, 4, 2.5f});
  // A window entirely in padding averages zeros when pads count, and has no divisor otherwise.
  attrs = {{"kernel_shape", ints({1})}, {"pads", ints({1, 1})}, {"count_include_pad", i(1)}};
  CHECK(pool1d("AveragePool", attrs, {5}) == std::vector<float>{0, 5, 0});
  attrs["count_include_pad"] = i(0);
  CHECK(error_kind([&] { pool1d("AveragePool", attrs, {5}); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] { pool1d("MaxPool", attrs, {5}); }) == ErrorKind::BadInput);
}

TEST_CASE("LpPool p-norms with zero padding", "[nn][LpPool]") {
  CHECK_THAT(pool1d("LpPool", {{"kernel_shape", ints({2})}}, {3, -4}), close_to<float>({5}));
  CHECK_THAT(pool1d("LpPool", {{"kernel_shape", ints({2})}, {"p", i(1)}}, {3, -4}),
             close_to<float>({7}));
  CHECK_THAT(pool1d("LpPool", {{"kernel_shape", ints({2})}, {"pads", ints({1, 0})}}, {3, -4}),
             close_to<float>({3, 5}));
  CHECK_THAT(pool1d("LpPool", {{"kernel_shape", ints({2})}, {"p", i(3)}}, {1, 2}),
             close_to<float>({std::cbrt(9.0f)}));
  CHECK(error_kind([&] {
          pool1d("LpPool", {{"kernel_shape", ints({2})}, {"p", i(0)}}, {1, 2});
        }) == ErrorKind::BadInput);
}

TEST_CASE("Global pools reduce every spatial position", "[nn][GlobalPool]") {
  auto x = f32({1, 2, 2, 2}, {1, 2, 3, 4, -1, -2, -3, -4});
  auto avg = run_node(make_node("GlobalAveragePool"), {x});
  REQUIRE(avg[0].shape() == ir::Shape{1, 2, 1, 1});
  CHECK(values<float>(avg[0]) == std::vector<float>{2.5f, -2.5f});
  CHECK(values<float>(run_node(make_node("GlobalMaxPool"), {x})[0]) == std::vector<float>{4, -1});
  CHECK_THAT(values<float>(run_node(make_node("GlobalLpPool"), {x})[0]),
             close_to<float>({std::sqrt(30.0f), std::sqrt(30.0f)}));
  CHECK_THAT(values<float>(run_node(make_node("GlobalLpPool", {{"p", i(1)}}), {x})[0]),
             close_to<float>({10, 10}));
  auto x3 = f32({1, 1, 2, 1, 2}, {1, 2, 3, 6});
  CHECK(run_node(make_node("GlobalAveragePool"), {x3})[0].shape() == ir::Shape{1, 1, 1, 1, 1});
  CHECK(error_kind([&] {
          run_node(make_node("GlobalMaxPool"), {f32({1, 1, 0}, {})});
        }) == ErrorKind::BadInput);
  CHECK(error_kind([&] {
          run_node(make_node("GlobalAveragePool"), {f32({1, 2}, {1, 2})});
        }) == ErrorKind::BadInput);
}

TEST_CASE("Pools match a textbook loop on random 2-D cases", "[nn][MaxPool][AveragePool]") {
  const std::vector<PoolCase> cases = {
      {{1, 2, 6, 5}, {3, 2}, {1, 2}, {1, 1}, {1, 0, 1, 1}},
      {{2, 1, 7, 7}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}},
      {{1, 1, 8, 6}, {2, 2}, {3, 1}, {2, 2}, {0, 1, 2, 0}},
  };
  auto output_shape = [](const PoolCase& c) {
    ir::Shape y{c.x[0], c.x[1]};
    for (size_t d = 0; d < 2; ++d) {
      const int64_t eff = (c.kernel[d] - 1) * c.dilations[d] + 1;
      y.push_back((c.x[2 + d] + c.pads[d] + c.pads[d + 2] - eff) / c.strides[d] + 1);
    }
    return y;
  };
  std::mt19937 rng(3);
  for (const PoolCase& c : cases) {
    auto x = random_f32(c.x, rng);
    std::map<std::string, ir::Attribute> attrs{
        {"kernel_shape", ints(c.kernel)}, {"strides", ints(c.strides)}, {"pads", ints(c.pads)}};
    INFO("case X " << ir::shape_str(c.x));
    PoolCase undilated = c;  // AveragePool has no dilations before opset 19
    undilated.dilations = {1, 1};
    for (int64_t include : {0, 1}) {
      attrs["count_include_pad"] = i(include);
      auto y = run_node(make_node("AveragePool", attrs), {x});
      REQUIRE(y[0].shape() == output_shape(undilated));
      CHECK_THAT(values<float>(y[0]),
                 close_to(pool_reference(undilated, x, output_shape(undilated), false, include)));
    }
    attrs.erase("count_include_pad");
    attrs["dilations"] = ints(c.dilations);
    auto y = run_node(make_node("MaxPool", attrs), {x});
    REQUIRE(y[0].shape() == output_shape(c));
    CHECK(values<float>(y[0]) == pool_reference(c, x, output_shape(c), true, false));
  }
}

TEST_CASE("Pools reject malformed and version-foreign attributes", "[nn][MaxPool][AveragePool]") {
  auto x = f32({1, 1, 4}, {1, 2, 3, 4});
  CHECK(error_kind([&] { run_node(make_node("MaxPool"), {x}); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] {
          run_node(make_node("MaxPool", {{"kernel_shape", ints({2, 2})}}), {x});
        }) == ErrorKind::BadInput);
  CHECK(error_kind([&] {
          run_node(make_node("MaxPool", {{"kernel_shape", ints({2})}, {"dilations", ints({2})}}),
                   {x}, 8);
        }) == ErrorKind::BadInput);
  CHECK(error_kind([&] {
          run_node(
              make_node("AveragePool", {{"kernel_shape", ints({2})}, {"dilations", ints({2})}}),
              {x});
        }) == ErrorKind::BadInput);
  CHECK(
      error_kind([&] {
        run_node(make_node("MaxPool", {{"kernel_shape", ints({2})}, {"storage_order", i(2)}}), {x});
      }) == ErrorKind::BadInput);
  CHECK(
      error_kind([&] {
        run_node(make_node("MaxPool", {{"kernel_shape", ints({2})}, {"auto_pad", s("SAME")}}), {x});
      }) == ErrorKind::BadInput);
  CHECK(
      error_kind([&] {
        run_node(make_node("MaxPool", {{"kernel_shape", ints({2})}, {"pads", ints({-1, 0})}}), {x});
      }) == ErrorKind::BadInput);
  CHECK(
      error_kind([&] {
        run_node(make_node("MaxPool", {{"kernel_shape", ints({2})}, {"strides", ints({0})}}), {x});
      }) == ErrorKind::BadInput);
  CHECK(error_kind([&] {
          run_node(make_node("MaxPool", {{"kernel_shape", ints({1 << 20, 1 << 20, 1 << 20})}}),
                   {f32({1, 1, 1, 1, 1}, {1})});
        }) == ErrorKind::BadInput);
  auto i32 = ir::Tensor::from_vector<int32_t>({1, 1, 2}, {1, 2});
  CHECK(error_kind([&] {
          run_node(make_node("MaxPool", {{"kernel_shape", ints({2})}}), {i32});
        }) == ErrorKind::Unsupported);
  auto i8 = ir::Tensor::from_vector<int8_t>({1, 1, 2}, {1, 2});
  CHECK(error_kind([&] {
          run_node(make_node("AveragePool", {{"kernel_shape", ints({2})}}), {i8});
        }) == ErrorKind::Unsupported);
}
