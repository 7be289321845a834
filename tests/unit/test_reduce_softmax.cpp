// Softmax, LogSoftmax, Hardmax, LpNormalization, CumSum, TopK.
#include "test_reduce_util.h"

#include <cmath>
#include <limits>

using namespace hone;
using namespace hone::test::reduce;
using hone::test::values;

namespace {
const ir::Tensor k2x2x2 = f32({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
}  // namespace

TEST_CASE("Softmax over the last axis (opset 13 default)", "[reduce][Softmax]") {
  auto y = run("Softmax", {}, {f32({2, 3}, {0, 0, 0, 1, 2, 3})}, 13);
  CHECK(y[0].shape() == ir::Shape{2, 3});
  CHECK_THAT(values<float>(y[0]),
             close_to({1 / 3.0f, 1 / 3.0f, 1 / 3.0f, 0.09003057f, 0.24472847f, 0.66524096f}));
}

TEST_CASE("Softmax axis semantics: opset 11 coerces to 2-D, opset 13 uses one axis", "[reduce][Softmax]") {
  // Opset 11, axis 1: each batch row [1..4] / [5..8] is one softmax over 4 values.
  auto y11 = run("Softmax", {{"axis", i(1)}}, {k2x2x2}, 11);
  CHECK_THAT(values<float>(y11[0]), close_to({0.0320586f, 0.08714432f, 0.2368828f, 0.6439143f,
                                              0.0320586f, 0.08714432f, 0.2368828f, 0.6439143f}));
  // Opset 13, axis 1: pairs (x[b][0][k], x[b][1][k]) differ by 2.
  auto y13 = run("Softmax", {{"axis", i(1)}}, {k2x2x2}, 13);
  CHECK_THAT(values<float>(y13[0]), close_to({0.11920292f, 0.11920292f, 0.880797f, 0.880797f,
                                              0.11920292f, 0.11920292f, 0.880797f, 0.880797f}));
  // Opset 11's default axis is 1, opset 13's is -1.
  CHECK(run("Softmax", {}, {k2x2x2}, 11)[0].identical(y11[0]));
  CHECK(run("Softmax", {}, {k2x2x2}, 13)[0].identical(run("Softmax", {{"axis", i(2)}}, {k2x2x2}, 13)[0]));
}

TEST_CASE("Softmax and LogSoftmax stay finite for large logits", "[reduce][Softmax][LogSoftmax]") {
  const ir::Tensor x = f32({1, 3}, {1000, 1001, 1002});
  CHECK_THAT(values<float>(run("Softmax", {}, {x}, 13)[0]),
             close_to({0.09003057f, 0.24472847f, 0.66524096f}));
  CHECK_THAT(values<float>(run("LogSoftmax", {}, {x}, 13)[0]),
             close_to({-2.407606f, -1.4076059f, -0.40760595f}));
  CHECK_THAT(values<float>(run("LogSoftmax", {}, {f32({2}, {0, 1000})}, 13)[0]), close_to({-1000, 0}));
}

TEST_CASE("LogSoftmax at opset 1 (pytorch-converted models) and on float64", "[reduce][LogSoftmax]") {
  auto y = run("LogSoftmax", {}, {f32({2, 2}, {0, 0, 1, 1})}, 6);
  CHECK_THAT(values<float>(y[0]), close_to({-0.6931472f, -0.6931472f, -0.6931472f, -0.6931472f}));
  auto d = ir::Tensor::from_vector<double>({3}, {1, 2, 3});
  auto yd = run("LogSoftmax", {{"axis", i(0)}}, {d}, 13);
  REQUIRE(yd[0].dtype() == ir::DType::Float64);
  CHECK(values<double>(yd[0])[2] == Approx(-0.40760596444438).epsilon(1e-12));
}

TEST_CASE("Softmax rejects an out-of-range axis and integer input", "[reduce][Softmax]") {
  CHECK(error_kind([&] { run("Softmax", {{"axis", i(3)}}, {k2x2x2}, 13); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] { run("Softmax", {{"axis", i(-4)}}, {k2x2x2}, 11); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] { run("Softmax", {}, {i64({2}, {1, 2})}, 13); }) == ErrorKind::Unsupported);
}

TEST_CASE("Hardmax marks the first maximum", "[reduce][Hardmax]") {
  auto y = run("Hardmax", {}, {f32({2, 3}, {1, 3, 3, -1, -2, -5})}, 13);
  CHECK(values<float>(y[0]) == std::vector<float>{0, 1, 0, 1, 0, 0});
  // Opset 11, axis 0: the whole tensor is one row.
  auto z = run("Hardmax", {{"axis", i(0)}}, {f32({2, 2}, {1, 2, 9, 3})}, 11);
  CHECK(values<float>(z[0]) == std::vector<float>{0, 0, 1, 0});
}

TEST_CASE("LpNormalization with p=1 and p=2", "[reduce][LpNormalization]") {
  const ir::Tensor x = f32({2, 2}, {3, -4, 0, 0});
  CHECK_THAT(values<float>(run("LpNormalization", {}, {x}, 13)[0]), close_to({0.6f, -0.8f, 0, 0}));
  CHECK_THAT(values<float>(run("LpNormalization", {{"p", i(1)}, {"axis", i(0)}}, {x}, 13)[0]),
             close_to({1, -1, 0, 0}));
  CHECK(error_kind([&] { run("LpNormalization", {{"p", i(3)}}, {x}, 13); }) == ErrorKind::Unsupported);
}

TEST_CASE("CumSum inclusive, exclusive, reverse", "[reduce][CumSum]") {
  const ir::Tensor x = f32({5}, {1, 2, 3, 4, 5});
  const ir::Tensor axis = ir::Tensor::scalar<int32_t>(0);
  CHECK(values<float>(run("CumSum", {}, {x, axis}, 14)[0]) == std::vector<float>{1, 3, 6, 10, 15});
  CHECK(values<float>(run("CumSum", {{"exclusive", i(1)}}, {x, axis}, 14)[0]) ==
        std::vector<float>{0, 1, 3, 6, 10});
  CHECK(values<float>(run("CumSum", {{"reverse", i(1)}}, {x, axis}, 14)[0]) ==
        std::vector<float>{15, 14, 12, 9, 5});
  CHECK(values<float>(run("CumSum", {{"reverse", i(1)}, {"exclusive", i(1)}}, {x, axis}, 11)[0]) ==
        std::vector<float>{14, 12, 9, 5, 0});
}

TEST_CASE("CumSum along a negative axis of a matrix, on integers", "[reduce][CumSum]") {
  const ir::Tensor x = i64({2, 3}, {1, 2, 3, 4, 5, 6});
  CHECK(values<int64_t>(run("CumSum", {}, {x, i64({1}, {-1})}, 14)[0]) ==
        std::vector<int64_t>{1, 3, 6, 4, 9, 15});
  CHECK(values<int64_t>(run("CumSum", {}, {x, i64({}, {0})}, 14)[0]) ==
        std::vector<int64_t>{1, 2, 3, 5, 7, 9});
  CHECK(error_kind([&] { run("CumSum", {}, {x, i64({}, {2})}, 14); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] { run("CumSum", {}, {x, i64({2}, {0, 1})}, 14); }) == ErrorKind::BadInput);
}

TEST_CASE("TopK largest and smallest along an axis", "[reduce][TopK]") {
  const ir::Tensor x = f32({2, 4}, {0, 1, 2, 3, 7, 6, 5, 4});
  auto y = run("TopK", {}, {x, i64({1}, {2})}, 11, 2);
  CHECK(y[0].shape() == ir::Shape{2, 2});
  CHECK(values<float>(y[0]) == std::vector<float>{3, 2, 7, 6});
  CHECK(values<int64_t>(y[1]) == std::vector<int64_t>{3, 2, 0, 1});
  auto s = run("TopK", {{"largest", i(0)}, {"axis", i(0)}}, {x, i64({1}, {1})}, 11, 2);
  CHECK(s[0].shape() == ir::Shape{1, 4});
  CHECK(values<float>(s[0]) == std::vector<float>{0, 1, 2, 3});
  CHECK(values<int64_t>(s[1]) == std::vector<int64_t>{0, 0, 0, 0});
}

TEST_CASE("TopK puts the lower index first among equal values", "[reduce][TopK]") {
  const ir::Tensor x = f32({6}, {1, 5, 3, 5, 1, 3});
  auto big = run("TopK", {}, {x, i64({1}, {4})}, 11, 2);
  CHECK(values<float>(big[0]) == std::vector<float>{5, 5, 3, 3});
  CHECK(values<int64_t>(big[1]) == std::vector<int64_t>{1, 3, 2, 5});
  auto small = run("TopK", {{"largest", i(0)}}, {x, i64({1}, {3})}, 11, 2);
  CHECK(values<int64_t>(small[1]) == std::vector<int64_t>{0, 4, 2});
}

TEST_CASE("TopK before opset 10 reads k from the attribute; K is validated", "[reduce][TopK]") {
  auto y = run("TopK", {{"k", i(1)}}, {f32({3}, {2, 8, 4})}, 9, 2);
  CHECK(values<float>(y[0]) == std::vector<float>{8});
  CHECK(values<int64_t>(y[1]) == std::vector<int64_t>{1});
  const ir::Tensor x = f32({3}, {2, 8, 4});
  CHECK(error_kind([&] { run("TopK", {}, {x, i64({1}, {4})}, 11, 2); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] { run("TopK", {}, {x, i64({1}, {-1})}, 11, 2); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] { run("TopK", {}, {x}, 9, 2); }) == ErrorKind::BadInput);  // no k
}

TEST_CASE("Along-axis ops accept zero-size tensors", "[reduce]") {
  const ir::Tensor empty = f32({2, 0}, {});
  CHECK(run("Softmax", {}, {empty}, 13)[0].shape() == ir::Shape{2, 0});
  CHECK(run("LogSoftmax", {{"axis", i(0)}}, {empty}, 11)[0].shape() == ir::Shape{2, 0});
  CHECK(run("CumSum", {}, {empty, i64({}, {1})}, 14)[0].shape() == ir::Shape{2, 0});
  auto top = run("TopK", {{"axis", i(0)}}, {empty, i64({1}, {1})}, 11, 2);
  CHECK(top[0].shape() == ir::Shape{1, 0});
  CHECK(top[1].shape() == ir::Shape{1, 0});
  auto none = run("TopK", {}, {f32({2, 3}, {1, 2, 3, 4, 5, 6}), i64({1}, {0})}, 11, 2);
  CHECK(none[0].shape() == ir::Shape{2, 0});
}
