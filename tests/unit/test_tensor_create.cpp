// Tensor family: Pad, Constant, ConstantOfShape, Range, EyeLike, OneHot, Trilu, ReverseSequence.
#include "test_tensor_common.h"

#include <cmath>
#include <limits>

using namespace hone;
using namespace hone::test;

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

// Pad-13 of a 1-D float tensor.
std::vector<float> pad1d(std::vector<float> x, int64_t begin, int64_t end, const char* mode) {
  const auto n = static_cast<int64_t>(x.size());
  auto y = run_node(make_node("Pad", {{"mode", str(mode)}}, 2),
                    {ir::Tensor::from_vector<float>({n}, x), i64({begin, end})});
  return values<float>(y[0]);
}

ir::Tensor range(const ir::Tensor& start, const ir::Tensor& limit, const ir::Tensor& delta) {
  return run_node(make_node("Range", {}, 3), {start, limit, delta})[0];
}

}  // namespace

TEST_CASE("Pad constant with a value, any pads per side", "[tensor][Pad]") {
  auto x = ir::Tensor::from_vector<int32_t>({2, 2}, {1, 2, 3, 4});
  auto y =
      run_node(make_node("Pad", {}, 3), {x, i64({0, 1, 1, 0}), ir::Tensor::scalar<int32_t>(9)})[0];
  REQUIRE(y.shape() == ir::Shape{3, 3});
  CHECK(values<int32_t>(y) == std::vector<int32_t>{9, 1, 2, 9, 3, 4, 9, 9, 9});
  CHECK(pad1d({1, 2, 3}, 1, 0, "constant") == std::vector<float>{0, 1, 2, 3});
}

TEST_CASE("Pad reflect and edge, as numpy.pad", "[tensor][Pad]") {
  CHECK(pad1d({1, 2, 3}, 2, 2, "reflect") == std::vector<float>{3, 2, 1, 2, 3, 2, 1});
  CHECK(pad1d({1, 2}, 3, 0, "reflect") == std::vector<float>{2, 1, 2, 1, 2});  // wraps again
  CHECK(pad1d({1, 2, 3}, 4, 0, "reflect") == std::vector<float>{1, 2, 3, 2, 1, 2, 3});
  CHECK(pad1d({7}, 2, 1, "reflect") == std::vector<float>{7, 7, 7, 7});
  CHECK(pad1d({1, 2, 3}, 2, 1, "edge") == std::vector<float>{1, 1, 1, 2, 3, 3});
  // 2-D reflect, the spec's example 2.
  auto x = ir::Tensor::from_vector<float>({3, 2}, {1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f});
  auto y = run_node(make_node("Pad", {{"mode", str("reflect")}}, 2), {x, i64({0, 2, 0, 0})})[0];
  CHECK(values<float>(y) ==
        std::vector<float>{1.0f, 1.2f, 1.0f, 1.2f, 2.3f, 3.4f, 2.3f, 3.4f, 4.5f, 5.7f, 4.5f, 5.7f});
}

TEST_CASE("Pad: negative pads crop, then pad the cropped region", "[tensor][Pad]") {
  CHECK(pad1d({1, 2, 3, 4}, -1, 1, "constant") == std::vector<float>{2, 3, 4, 0});
  CHECK(pad1d({1, 2, 3, 4}, -1, 2, "edge") == std::vector<float>{2, 3, 4, 4, 4});
  CHECK(pad1d({1, 2, 3, 4}, 1, -2, "reflect") == std::vector<float>{2, 1, 2});
  CHECK(pad1d({1, 2, 3, 4}, -2, -2, "constant").empty());
  CHECK_THROWS_AS(pad1d({1, 2}, -3, 0, "constant"), Error);
  CHECK_THROWS_AS(pad1d({1, 2}, -2, 1, "edge"), Error);  // nothing left to replicate
  CHECK_THROWS_AS(pad1d({1, 2}, kMax, 0, "constant"), Error);
  CHECK_THROWS_AS(pad1d({1, 2}, 1, 1, "wrap"), Error);
}

TEST_CASE("Pad-2 takes pads and value as attributes", "[tensor][Pad]") {
  auto x = ir::Tensor::from_vector<float>({2}, {1, 2});
  auto y = run_node(
      make_node("Pad", {{"pads", ints({1, 2})}, {"value", ir::Attribute::of_float(-1.5f)}}), {x},
      10)[0];
  CHECK(values<float>(y) == std::vector<float>{-1.5f, 1, 2, -1.5f, -1.5f});
  CHECK_THROWS_AS(run_node(make_node("Pad", {{"pads", ints({1})}}), {x}, 10), Error);
  CHECK_THROWS_AS(run_node(make_node("Pad", {}, 2), {x, i64({1, 1, 1, 1})}), Error);
}

TEST_CASE("Constant from each kind of attribute", "[tensor][Constant]") {
  auto t = ir::Tensor::from_vector<int8_t>({2}, {-1, 1});
  CHECK(
      run_node(make_node("Constant", {{"value", ir::Attribute::of_tensor(t)}}, 0), {})[0].identical(
          t));
  auto fs = run_node(
      make_node("Constant", {{"value_floats", ir::Attribute::of_floats({1.5f, 2})}}, 0), {})[0];
  CHECK(fs.shape() == ir::Shape{2});
  CHECK(values<float>(fs) == std::vector<float>{1.5f, 2});
  auto i = run_node(make_node("Constant", {{"value_int", one(7)}}, 0), {})[0];
  CHECK(i.rank() == 0);
  CHECK(values<int64_t>(i) == std::vector<int64_t>{7});
  CHECK_THROWS_AS(
      run_node(make_node("Constant", {{"value_int", one(7)}, {"value_ints", ints({1})}}, 0), {}),
      Error);
  CHECK_THROWS_AS(run_node(make_node("Constant", {}, 0), {}), Error);
  ir::Attribute strings;
  strings.kind = ir::Attribute::Kind::Strings;
  strings.strings = {"a"};
  CHECK_THROWS_AS(run_node(make_node("Constant", {{"value_strings", strings}}, 0), {}), Error);
}

TEST_CASE("ConstantOfShape fills with the value's dtype", "[tensor][ConstantOfShape]") {
  auto seven = ir::Attribute::of_tensor(ir::Tensor::from_vector<int32_t>({1}, {7}));
  auto y = run_node(make_node("ConstantOfShape", {{"value", seven}}), {i64({2, 3})})[0];
  CHECK(y.shape() == ir::Shape{2, 3});
  CHECK(values<int32_t>(y) == std::vector<int32_t>(6, 7));
  auto s = run_node(make_node("ConstantOfShape"), {i64({})})[0];
  CHECK(s.dtype() == ir::DType::Float32);
  CHECK(s.rank() == 0);
  CHECK(values<float>(s) == std::vector<float>{0});
  CHECK_THROWS_AS(run_node(make_node("ConstantOfShape"), {i64({2, -1})}), Error);
  CHECK_THROWS_AS(run_node(make_node("ConstantOfShape"), {i64({1 << 20, 1 << 20, 1 << 20})}),
                  Error);
}

TEST_CASE("Range: integer and float, empty and bounded", "[tensor][Range]") {
  auto i32 = [](int32_t v) { return ir::Tensor::scalar<int32_t>(v); };
  auto s64 = [](int64_t v) { return ir::Tensor::scalar<int64_t>(v); };
  auto f = [](float v) { return ir::Tensor::scalar<float>(v); };
  CHECK(values<int32_t>(range(i32(10), i32(4), i32(-2))) == std::vector<int32_t>{10, 8, 6});
  CHECK(values<float>(range(f(3), f(9), f(3))) == std::vector<float>{3, 6});
  CHECK(values<float>(range(f(1), f(2), f(0.25f))) == std::vector<float>{1, 1.25f, 1.5f, 1.75f});
  CHECK(range(i32(5), i32(1), i32(1)).shape() == ir::Shape{0});
  // The full int64 range in steps of 2^62: no overflow on the way.
  CHECK(values<int64_t>(range(s64(kMin), s64(kMax), s64(int64_t{1} << 62))) ==
        std::vector<int64_t>{kMin, kMin + (int64_t{1} << 62), 0, int64_t{1} << 62});
  CHECK_THROWS_AS(range(i32(0), i32(5), i32(0)), Error);
  CHECK_THROWS_AS(range(s64(0), s64(kMax), s64(1)), Error);
  CHECK_THROWS_AS(range(f(0), f(std::nanf("")), f(1)), Error);
  CHECK_THROWS_AS(range(f(0), f(INFINITY), f(1)), Error);
  CHECK_THROWS_AS(range(i32(0), s64(5), i32(1)), Error);  // mixed dtypes
}

TEST_CASE("EyeLike with k and dtype", "[tensor][EyeLike]") {
  auto y = run_node(make_node("EyeLike", {{"k", one(1)}}), {iota_f32({2, 3})})[0];
  CHECK(values<float>(y) == std::vector<float>{0, 1, 0, 0, 0, 1});
  auto z =
      run_node(make_node("EyeLike", {{"k", one(-1)}, {"dtype", one(6)}}), {iota_f32({3, 2})})[0];
  CHECK(z.dtype() == ir::DType::Int32);
  CHECK(values<int32_t>(z) == std::vector<int32_t>{0, 0, 1, 0, 0, 1});
  auto far = run_node(make_node("EyeLike", {{"k", one(kMin)}}), {iota_f32({2, 2})})[0];
  CHECK(values<float>(far) == std::vector<float>{0, 0, 0, 0});
  CHECK_THROWS_AS(run_node(make_node("EyeLike", {{"dtype", one(8)}}), {iota_f32({2, 2})}), Error);
  CHECK_THROWS_AS(run_node(make_node("EyeLike"), {iota_f32({2})}), Error);
}

TEST_CASE("OneHot: axis, negative indices, out-of-range rows", "[tensor][OneHot]") {
  auto indices = ir::Tensor::from_vector<int64_t>({4}, {0, 2, -1, 5});
  auto vals = ir::Tensor::from_vector<float>({2}, {0, 1});
  auto onehot = [&](int64_t axis, int64_t opset, const ir::Tensor& depth) {
    return run_node(make_node("OneHot", {{"axis", one(axis)}}, 3), {indices, depth, vals},
                    opset)[0];
  };
  auto y = onehot(-1, 11, ir::Tensor::scalar<int64_t>(3));
  REQUIRE(y.shape() == ir::Shape{4, 3});
  CHECK(values<float>(y) == std::vector<float>{1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0});
  auto t = onehot(0, 11, ir::Tensor::scalar<float>(3.0f));
  REQUIRE(t.shape() == ir::Shape{3, 4});
  CHECK(values<float>(t) == std::vector<float>{1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0});
  // OneHot-9: negative indices are out of range.
  CHECK(values<float>(onehot(-1, 10, ir::Tensor::scalar<int64_t>(3))) ==
        std::vector<float>{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0});
  CHECK_THROWS_AS(onehot(-1, 11, ir::Tensor::scalar<int64_t>(0)), Error);
  CHECK_THROWS_AS(onehot(-1, 11, ir::Tensor::scalar<float>(NAN)), Error);
  CHECK_THROWS_AS(onehot(2, 11, ir::Tensor::scalar<int64_t>(3)), Error);
}

TEST_CASE("Trilu keeps the upper or lower triangle", "[tensor][Trilu]") {
  auto x = ir::Tensor::from_vector<int32_t>({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  auto trilu = [&](int64_t upper, const ir::Tensor* k) {
    auto n = make_node("Trilu", {{"upper", one(upper)}}, k ? 2 : 1);
    return values<int32_t>(
        run_node(n, k ? std::vector<ir::Tensor>{x, *k} : std::vector<ir::Tensor>{x})[0]);
  };
  CHECK(trilu(1, nullptr) == std::vector<int32_t>{1, 2, 3, 0, 5, 6, 0, 0, 9});
  auto km1 = ir::Tensor::scalar<int64_t>(-1);
  CHECK(trilu(0, &km1) == std::vector<int32_t>{0, 0, 0, 4, 0, 0, 7, 8, 0});
  CHECK(trilu(1, &km1) == std::vector<int32_t>{1, 2, 3, 4, 5, 6, 0, 8, 9});
  auto kmin = ir::Tensor::scalar<int64_t>(kMin);
  CHECK(trilu(1, &kmin) == std::vector<int32_t>{1, 2, 3, 4, 5, 6, 7, 8, 9});
  auto batched = run_node(make_node("Trilu", {{"upper", one(0)}}), {iota_f32({2, 2, 2})})[0];
  CHECK(values<float>(batched) == std::vector<float>{0, 0, 2, 3, 4, 0, 6, 7});
}

TEST_CASE("ReverseSequence: the spec's examples", "[tensor][ReverseSequence]") {
  auto x = iota_f32({4, 4});
  auto rs = [&](int64_t batch, int64_t time, std::vector<int64_t> lens) {
    return values<float>(run_node(
        make_node("ReverseSequence", {{"batch_axis", one(batch)}, {"time_axis", one(time)}}, 2),
        {x, i64(std::move(lens))})[0]);
  };
  CHECK(rs(0, 1, {1, 2, 3, 4}) ==
        std::vector<float>{0, 1, 2, 3, 5, 4, 6, 7, 10, 9, 8, 11, 15, 14, 13, 12});
  // Example 1 layout: time is axis 0, batch axis 1.
  CHECK(rs(1, 0, {4, 3, 2, 1}) ==
        std::vector<float>{12, 9, 6, 3, 8, 5, 2, 7, 4, 1, 10, 11, 0, 13, 14, 15});
  CHECK_THROWS_AS(rs(0, 1, {1, 2, 3, 5}), Error);
  CHECK_THROWS_AS(rs(0, 1, {1, 2, 3}), Error);
  CHECK_THROWS_AS(rs(0, 0, {1, 2, 3, 4}), Error);
}
