// Reduce* and ArgMax/ArgMin.
#include "test_reduce_util.h"

#include <limits>

using namespace hone;
using namespace hone::test::reduce;
using hone::test::values;

namespace {
const ir::Tensor k2x3 = f32({2, 3}, {1, 2, 3, 4, 5, 6});
const float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();
}  // namespace

TEST_CASE("ReduceSum over one axis, keepdims 1 and 0, attribute and input axes", "[reduce][ReduceSum]") {
  SECTION("opset 11: axes attribute, keepdims default 1") {
    auto y = run("ReduceSum", {{"axes", ints({1})}}, {k2x3}, 11);
    CHECK(y[0].shape() == ir::Shape{2, 1});
    CHECK(values<float>(y[0]) == std::vector<float>{6, 15});
  }
  SECTION("opset 13: axes input, negative axis, keepdims 0") {
    auto y = run("ReduceSum", {{"keepdims", i(0)}}, {k2x3, i64({1}, {-2})}, 13);
    CHECK(y[0].shape() == ir::Shape{3});
    CHECK(values<float>(y[0]) == std::vector<float>{5, 7, 9});
  }
  SECTION("opset 13: axes omitted reduces every axis") {
    auto y = run("ReduceSum", {}, {k2x3}, 13);
    CHECK(y[0].shape() == ir::Shape{1, 1});
    CHECK(values<float>(y[0]) == std::vector<float>{21});
  }
  SECTION("opset 13: empty axes reduce every axis unless noop_with_empty_axes") {
    auto all = run("ReduceSum", {{"keepdims", i(0)}}, {k2x3, i64({0}, {})}, 13);
    CHECK(all[0].shape() == ir::Shape{});
    CHECK(values<float>(all[0]) == std::vector<float>{21});
    auto noop = run("ReduceSum", {{"noop_with_empty_axes", i(1)}}, {k2x3, i64({0}, {})}, 13);
    CHECK(noop[0].identical(k2x3));
  }
  SECTION("opset 11: every axis listed, keepdims 0 gives a scalar") {
    auto y = run("ReduceSum", {{"axes", ints({0, 1})}, {"keepdims", i(0)}}, {k2x3}, 11);
    CHECK(y[0].shape() == ir::Shape{});
    CHECK(values<float>(y[0]) == std::vector<float>{21});
  }
  SECTION("a rank-0 input is its own sum") {
    auto y = run("ReduceSum", {}, {ir::Tensor::scalar(5.0f)}, 17);
    CHECK(y[0].shape() == ir::Shape{});
    CHECK(values<float>(y[0]) == std::vector<float>{5});
  }
}

TEST_CASE("ReduceSum over a middle axis of a 3-D tensor keeps the others in order", "[reduce][ReduceSum]") {
  // x[i][j][k] = 100i + 10j + k over shape [2, 3, 2]; sum over j = 300i + 30 + 3k.
  std::vector<int64_t> v;
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t b = 0; b < 3; ++b)
      for (int64_t c = 0; c < 2; ++c) v.push_back(100 * a + 10 * b + c);
  auto y = run("ReduceSum", {{"keepdims", i(0)}}, {i64({2, 3, 2}, v), i64({1}, {1})}, 13);
  CHECK(y[0].shape() == ir::Shape{2, 2});
  CHECK(values<int64_t>(y[0]) == std::vector<int64_t>{30, 33, 330, 333});
}

TEST_CASE("Every Reduce op over all axes of a small tensor", "[reduce]") {
  const ir::Tensor x = f32({2, 2}, {1, -2, 3, 4});
  const auto reduce_all = [&](const char* op) {
    auto y = run(op, {{"keepdims", i(0)}}, {x}, 13);
    REQUIRE(y[0].shape() == ir::Shape{});
    return values<float>(y[0]);
  };
  CHECK_THAT(reduce_all("ReduceSum"), close_to({6}));
  CHECK_THAT(reduce_all("ReduceMean"), close_to({1.5f}));
  CHECK_THAT(reduce_all("ReduceMax"), close_to({4}));
  CHECK_THAT(reduce_all("ReduceMin"), close_to({-2}));
  CHECK_THAT(reduce_all("ReduceProd"), close_to({-24}));
  CHECK_THAT(reduce_all("ReduceL1"), close_to({10}));
  CHECK_THAT(reduce_all("ReduceL2"), close_to({5.4772256f}));  // sqrt(30)
  CHECK_THAT(reduce_all("ReduceLogSum"), close_to({1.7917595f}));  // log(6)
  CHECK_THAT(reduce_all("ReduceLogSumExp"), close_to({4.3507592f}));
  CHECK_THAT(reduce_all("ReduceSumSquare"), close_to({30}));
}

TEST_CASE("Reduce ops keep the reduced axes of a 3-D tensor with negative axes", "[reduce]") {
  const ir::Tensor x = f32({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  auto y = run("ReduceMean", {{"axes", ints({-1, 0})}}, {x}, 13);
  CHECK(y[0].shape() == ir::Shape{1, 2, 1});
  CHECK_THAT(values<float>(y[0]), close_to({(1 + 2 + 5 + 6) / 4.0f, (3 + 4 + 7 + 8) / 4.0f}));
  auto m = run("ReduceMax", {{"axes", ints({1})}, {"keepdims", i(0)}}, {x}, 13);
  CHECK(m[0].shape() == ir::Shape{2, 2});
  CHECK(values<float>(m[0]) == std::vector<float>{3, 4, 7, 8});
}

TEST_CASE("ReduceLogSumExp is stable for large values", "[reduce][ReduceLogSumExp]") {
  auto y = run("ReduceLogSumExp", {{"keepdims", i(0)}}, {f32({2}, {1000, 1000})}, 13);
  CHECK_THAT(values<float>(y[0]), close_to({1000.6931472f}));  // 1000 + log 2
  auto neg = run("ReduceLogSumExp", {{"keepdims", i(0)}}, {f32({2}, {-kInf, -kInf})}, 13);
  CHECK_THAT(values<float>(neg[0]), close_to({-kInf}));
}

TEST_CASE("ReduceMax and ReduceMin propagate NaN", "[reduce][ReduceMax]") {
  auto mx = run("ReduceMax", {{"keepdims", i(0)}}, {f32({3}, {1, kNaN, 3})}, 13);
  CHECK(std::isnan(values<float>(mx[0])[0]));
  auto mn = run("ReduceMin", {{"keepdims", i(0)}}, {f32({3}, {1, 2, kNaN})}, 13);
  CHECK(std::isnan(values<float>(mn[0])[0]));
}

TEST_CASE("Integer reductions use integer arithmetic", "[reduce]") {
  const auto i32 = [](std::vector<int32_t> v) {
    return ir::Tensor::from_vector<int32_t>({int64_t(v.size())}, v);
  };
  const Attrs all = {{"keepdims", i(0)}};
  SECTION("ReduceMean truncates toward zero") {
    CHECK(values<int32_t>(run("ReduceMean", all, {i32({-3, -4})}, 13)[0]) == std::vector<int32_t>{-3});
    CHECK(values<int32_t>(run("ReduceMean", all, {i32({3, 4})}, 13)[0]) == std::vector<int32_t>{3});
  }
  SECTION("sums and products wrap like numpy's") {
    const int32_t big = std::numeric_limits<int32_t>::max();
    CHECK(values<int32_t>(run("ReduceSum", all, {i32({big, 1})}, 13)[0]) ==
          std::vector<int32_t>{std::numeric_limits<int32_t>::min()});
    CHECK(values<int32_t>(run("ReduceProd", all, {i32({65536, 65536})}, 13)[0]) ==
          std::vector<int32_t>{0});
  }
  SECTION("ReduceL1 of the most negative value wraps instead of overflowing") {
    const int32_t lo = std::numeric_limits<int32_t>::min();
    CHECK(values<int32_t>(run("ReduceL1", all, {i32({lo})}, 13)[0]) == std::vector<int32_t>{lo});
    CHECK(values<int32_t>(run("ReduceL1", all, {i32({-5, 7})}, 13)[0]) == std::vector<int32_t>{12});
  }
  SECTION("ReduceMax on int8 (opset 12+)") {
    auto x = ir::Tensor::from_vector<int8_t>({3}, {-7, 5, -128});
    CHECK(values<int8_t>(run("ReduceMax", all, {x}, 13)[0]) == std::vector<int8_t>{5});
  }
  SECTION("ReduceL2 of integers is rejected at load") {
    CHECK(error_kind([&] { run("ReduceL2", all, {i32({3, 4})}, 13); }) == ErrorKind::Unsupported);
  }
}

TEST_CASE("ReduceSum on float16 accumulates in float", "[reduce][ReduceSum]") {
  std::vector<ir::Float16> h;
  for (float v : {0.5f, 0.25f, 1024.0f, 1.0f}) h.push_back(ir::f32_to_f16(v));
  auto y = run("ReduceSum", {{"keepdims", i(0)}}, {ir::Tensor::from_vector<ir::Float16>({4}, h)}, 13);
  REQUIRE(y[0].dtype() == ir::DType::Float16);
  CHECK(ir::f16_to_f32(y[0].data<ir::Float16>()[0]) == 1026.0f);  // 1025.75 rounds to 1026 in fp16
}

TEST_CASE("Reductions over an empty axis give the identity", "[reduce]") {
  const ir::Tensor x = f32({2, 0}, {});
  const Attrs axis1 = {{"axes", ints({1})}, {"keepdims", i(0)}};
  CHECK(values<float>(run("ReduceSum", axis1, {x}, 11)[0]) == std::vector<float>{0, 0});
  CHECK(values<float>(run("ReduceProd", axis1, {x}, 11)[0]) == std::vector<float>{1, 1});
  CHECK(values<float>(run("ReduceMax", axis1, {x}, 11)[0]) == std::vector<float>{-kInf, -kInf});
  auto none = run("ReduceSum", {{"axes", ints({0})}}, {x}, 11);
  CHECK(none[0].shape() == ir::Shape{1, 0});
}

TEST_CASE("Reduce rejects bad axes", "[reduce]") {
  CHECK(error_kind([&] { run("ReduceSum", {}, {k2x3, i64({2}, {1, -1})}, 13); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] { run("ReduceSum", {}, {k2x3, i64({1}, {2})}, 13); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] { run("ReduceMean", {{"axes", ints({-3})}}, {k2x3}, 13); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] { run("ReduceMean", {{"axes", ints({0, 0})}}, {k2x3}, 13); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] { run("ReduceSum", {}, {k2x3, f32({1}, {0})}, 13); }) == ErrorKind::Unsupported);
}

TEST_CASE("ArgMax and ArgMin: axis, keepdims, negative axis", "[reduce][ArgMax]") {
  const ir::Tensor x = f32({2, 3}, {2, 9, 1, 7, 0, 8});
  auto y = run("ArgMax", {}, {x}, 13);
  CHECK(y[0].dtype() == ir::DType::Int64);
  CHECK(y[0].shape() == ir::Shape{1, 3});
  CHECK(values<int64_t>(y[0]) == std::vector<int64_t>{1, 0, 1});
  auto z = run("ArgMin", {{"axis", i(-1)}, {"keepdims", i(0)}}, {x}, 13);
  CHECK(z[0].shape() == ir::Shape{2});
  CHECK(values<int64_t>(z[0]) == std::vector<int64_t>{2, 1});
  CHECK(error_kind([&] { run("ArgMax", {{"axis", i(2)}}, {x}, 13); }) == ErrorKind::BadInput);
}

TEST_CASE("ArgMax and ArgMin break ties by select_last_index", "[reduce][ArgMax]") {
  const ir::Tensor x = f32({5}, {3, 1, 3, 1, 2});
  const Attrs last = {{"select_last_index", i(1)}, {"keepdims", i(0)}};
  CHECK(values<int64_t>(run("ArgMax", {{"keepdims", i(0)}}, {x}, 13)[0]) == std::vector<int64_t>{0});
  CHECK(values<int64_t>(run("ArgMax", last, {x}, 13)[0]) == std::vector<int64_t>{2});
  CHECK(values<int64_t>(run("ArgMin", {{"keepdims", i(0)}}, {x}, 13)[0]) == std::vector<int64_t>{1});
  CHECK(values<int64_t>(run("ArgMin", last, {x}, 13)[0]) == std::vector<int64_t>{3});
  // select_last_index arrived in opset 12; opset 11 always picks the first.
  CHECK(values<int64_t>(run("ArgMax", {{"keepdims", i(0)}}, {x}, 11)[0]) == std::vector<int64_t>{0});
}

TEST_CASE("ArgMax works on integers and picks the first NaN like numpy", "[reduce][ArgMax]") {
  auto xi = ir::Tensor::from_vector<uint8_t>({4}, {3, 250, 250, 7});
  CHECK(values<int64_t>(run("ArgMax", {}, {xi}, 13)[0]) == std::vector<int64_t>{1});
  CHECK(values<int64_t>(run("ArgMax", {}, {f32({3}, {1, kNaN, kNaN})}, 13)[0]) ==
        std::vector<int64_t>{1});
  CHECK(error_kind([&] { run("ArgMax", {}, {f32({0, 2}, {})}, 13); }) == ErrorKind::BadInput);
}
