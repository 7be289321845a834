// Unary elementwise ops, Cast and CastLike.
#include "test_elementwise_util.h"

#include <cmath>
#include <limits>

using namespace hone;
using namespace hone::test::elementwise;
using Catch::Matchers::Approx;
using hone::test::values;

namespace {
const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();
}  // namespace

TEST_CASE("Relu zeroes negatives and keeps positives", "[elementwise][Relu]") {
  const ir::Tensor y = run("Relu", {}, {f32({2, 2}, {-1.5f, 0.0f, 2.0f, -0.0f})});
  REQUIRE(y.shape() == ir::Shape{2, 2});
  CHECK(values<float>(y) == std::vector<float>{0.0f, 0.0f, 2.0f, 0.0f});
}

TEST_CASE("Relu takes signed integers from opset 14 only", "[elementwise][Relu]") {
  const ir::Tensor x = tensor<int8_t>({3}, {-128, 0, 127});
  CHECK(values<int8_t>(run("Relu", {}, {x}, 14)) == std::vector<int8_t>{0, 0, 127});
  CHECK(error_kind([&] { run("Relu", {}, {x}, 13); }) == ErrorKind::Unsupported);
}

TEST_CASE("float64 is computed in double, float16 in float", "[elementwise]") {
  const ir::Tensor e = run("Exp", {}, {tensor<double>({2}, {1.0, -0.5})});
  CHECK(values<double>(e) == std::vector<double>{std::exp(1.0), std::exp(-0.5)});
  const ir::Tensor s = run("Sqrt", {}, {f16({2}, {4.0f, 2.0f})});
  REQUIRE(s.dtype() == ir::DType::Float16);
  CHECK(f16_values(s) == std::vector<float>{2.0f, ir::f16_to_f32(ir::f32_to_f16(std::sqrt(2.0f)))});
}

TEST_CASE("math functions match the C library", "[elementwise]") {
  const std::vector<float> x = {0.25f, 0.5f, 0.75f};
  auto check = [&](const char* op, float (*fn)(float)) {
    INFO(op);
    std::vector<float> want;
    for (float v : x) want.push_back(fn(v));
    CHECK_THAT(values<float>(run(op, {}, {f32({3}, x)})), Approx(want).epsilon(1e-6));
  };
  check("Sin", std::sin);
  check("Cos", std::cos);
  check("Tan", std::tan);
  check("Asin", std::asin);
  check("Acos", std::acos);
  check("Atan", std::atan);
  check("Sinh", std::sinh);
  check("Cosh", std::cosh);
  check("Asinh", std::asinh);
  check("Atanh", std::atanh);
  check("Tanh", std::tanh);
  check("Log", std::log);
  check("Erf", std::erf);
  check("Floor", std::floor);
  check("Ceil", std::ceil);
  check("Reciprocal", [](float v) { return 1.0f / v; });
  check("Sigmoid", [](float v) { return 1.0f / (1.0f + std::exp(-v)); });
  CHECK(std::isnan(values<float>(run("Acosh", {}, {f32({1}, {0.5f})}))[0]));
  CHECK(values<float>(run("Acosh", {}, {f32({1}, {1.0f})})) == std::vector<float>{0.0f});
}

TEST_CASE("Round rounds half to even", "[elementwise][Round]") {
  const ir::Tensor y =
      run("Round", {}, {f32({9}, {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, 2.4f, 2.6f, -0.4f})});
  CHECK(values<float>(y) ==
        std::vector<float>{-2.0f, -2.0f, -0.0f, 0.0f, 2.0f, 2.0f, 2.0f, 3.0f, -0.0f});
  CHECK(std::signbit(values<float>(y)[8]));
}

TEST_CASE("Abs and Neg wrap the most negative integer like numpy", "[elementwise]") {
  const ir::Tensor x = tensor<int8_t>({3}, {-128, -5, 7});
  CHECK(values<int8_t>(run("Abs", {}, {x})) == std::vector<int8_t>{-128, 5, 7});
  CHECK(values<int8_t>(run("Neg", {}, {x})) == std::vector<int8_t>{-128, 5, -7});
  const int64_t lo = std::numeric_limits<int64_t>::min();
  CHECK(values<int64_t>(run("Neg", {}, {tensor<int64_t>({2}, {lo, 3})})) ==
        std::vector<int64_t>{lo, -3});
  CHECK(values<uint16_t>(run("Abs", {}, {tensor<uint16_t>({1}, {65535})})) ==
        std::vector<uint16_t>{65535});
  CHECK(error_kind([&] { run("Neg", {}, {tensor<uint8_t>({1}, {1})}); }) ==
        ErrorKind::Unsupported);
}

TEST_CASE("Sign on floats, signed and unsigned integers", "[elementwise][Sign]") {
  const auto y = values<float>(run("Sign", {}, {f32({4}, {-2.0f, 0.0f, 3.0f, kNaN})}));
  CHECK(y[0] == -1.0f);
  CHECK(y[1] == 0.0f);
  CHECK(y[2] == 1.0f);
  CHECK(std::isnan(y[3]));
  CHECK(values<int32_t>(run("Sign", {}, {tensor<int32_t>({2}, {-7, 9})})) ==
        std::vector<int32_t>{-1, 1});
  CHECK(values<uint8_t>(run("Sign", {}, {tensor<uint8_t>({2}, {0, 200})})) ==
        std::vector<uint8_t>{0, 1});
}

TEST_CASE("Clip reads attributes at opset 6 and inputs from opset 11", "[elementwise][Clip]") {
  const ir::Tensor x = f32({4}, {-2.0f, 0.5f, 2.0f, kNaN});
  const auto v6 = values<float>(run("Clip", {{"min", f(-1.0f)}, {"max", f(1.0f)}}, {x}, 6));
  CHECK(v6[0] == -1.0f);
  CHECK(v6[1] == 0.5f);
  CHECK(v6[2] == 1.0f);
  CHECK(std::isnan(v6[3]));  // NaN passes through

  const ir::Tensor lo = f32({}, {-1.0f});
  const ir::Tensor hi = f32({}, {1.0f});
  const ir::Tensor only_min = run("Clip", {}, {x, lo}, 13);
  CHECK(values<float>(only_min)[0] == -1.0f);
  CHECK(values<float>(only_min)[2] == 2.0f);
  const ir::Tensor only_max = run("Clip", {}, {x, ir::Tensor(), hi}, 13);
  CHECK(values<float>(only_max)[0] == -2.0f);
  CHECK(values<float>(only_max)[2] == 1.0f);
}

TEST_CASE("Clip on integers from opset 12; min > max gives max", "[elementwise][Clip]") {
  const ir::Tensor x = tensor<int8_t>({4}, {-128, -3, 5, 127});
  const ir::Tensor lo = tensor<int8_t>({}, {-4});
  const ir::Tensor hi = tensor<int8_t>({}, {4});
  CHECK(values<int8_t>(run("Clip", {}, {x, lo, hi}, 12)) == std::vector<int8_t>{-4, -3, 4, 4});
  CHECK(values<int8_t>(run("Clip", {}, {x, hi, lo}, 13)) == std::vector<int8_t>{-4, -4, -4, -4});
  CHECK(values<int8_t>(run("Clip", {}, {x}, 13)) == std::vector<int8_t>{-128, -3, 5, 127});
  CHECK(error_kind([&] { run("Clip", {}, {x, lo, hi}, 11); }) == ErrorKind::Unsupported);
  CHECK(error_kind([&] { run("Clip", {}, {x, tensor<int8_t>({2}, {0, 1})}, 13); }) ==
        ErrorKind::BadInput);
}

TEST_CASE("activations with attributes", "[elementwise]") {
  auto run1 = [](const char* op, Attrs attrs, std::vector<float> x) {
    const auto n = static_cast<int64_t>(x.size());
    return values<float>(run(op, std::move(attrs), {f32({n}, x)}));
  };
  CHECK_THAT(run1("LeakyRelu", {{"alpha", f(0.1f)}}, {-2.0f, 3.0f}), Approx<float>({-0.2f, 3.0f}));
  CHECK_THAT(run1("HardSigmoid", {}, {-5.0f, 0.0f, 1.0f, 5.0f}),
             Approx<float>({0.0f, 0.5f, 0.7f, 1.0f}));
  CHECK_THAT(run1("HardSwish", {}, {-4.0f, -1.0f, 0.0f, 1.0f, 4.0f}),
             Approx<float>({0.0f, -1.0f / 3.0f, 0.0f, 2.0f / 3.0f, 4.0f}));
  CHECK_THAT(run1("Elu", {{"alpha", f(2.0f)}}, {-1.0f, 2.0f}), Approx<float>({-1.2642411f, 2.0f}));
  CHECK_THAT(run1("Selu", {}, {-1.0f, 2.0f}), Approx<float>({-1.1113307f, 2.101402f}));
  CHECK_THAT(run1("Celu", {{"alpha", f(2.0f)}}, {-2.0f, 3.0f}), Approx<float>({-1.2642411f, 3.0f}));
  // log(1 + exp(x)) without overflow at x = 100.
  CHECK_THAT(run1("Softplus", {}, {0.0f, 100.0f, -20.0f}),
             Approx<float>({0.6931472f, 100.0f, 2.0611537e-09f}));
  CHECK_THAT(run1("Softsign", {}, {-3.0f, 1.0f}), Approx<float>({-0.75f, 0.5f}));
  CHECK(run1("ThresholdedRelu", {}, {0.5f, 1.0f, 2.0f}) == std::vector<float>{0.0f, 0.0f, 2.0f});
  CHECK(error_kind([&] { run1("Celu", {{"alpha", f(0.0f)}}, {1.0f}); }) == ErrorKind::BadInput);
}

TEST_CASE("Shrink on floats and integers", "[elementwise][Shrink]") {
  const Attrs a = {{"lambd", f(1.5f)}, {"bias", f(1.5f)}};
  CHECK(values<float>(run("Shrink", a, {f32({5}, {-2.0f, -1.0f, 0.0f, 1.0f, 2.0f})})) ==
        std::vector<float>{-0.5f, 0.0f, 0.0f, 0.0f, 0.5f});
  // Integers: computed in double, truncated back: -3 + 0.5 -> -2, 3 - 0.5 -> 2.
  const Attrs b = {{"lambd", f(1.0f)}, {"bias", f(0.5f)}};
  CHECK(values<int32_t>(run("Shrink", b, {tensor<int32_t>({3}, {-3, 1, 3})})) ==
        std::vector<int32_t>{-2, 0, 2});
}

TEST_CASE("IsNaN, IsInf and Not produce bool", "[elementwise]") {
  const ir::Tensor x = f32({4}, {1.0f, kNaN, kInf, -kInf});
  const ir::Tensor nan = run("IsNaN", {}, {x});
  REQUIRE(nan.dtype() == ir::DType::Bool);
  CHECK(values<bool>(nan) == std::vector<bool>{false, true, false, false});
  CHECK(values<bool>(run("IsInf", {}, {x})) == std::vector<bool>{false, false, true, true});
  CHECK(values<bool>(run("IsInf", {{"detect_negative", i(0)}}, {x})) ==
        std::vector<bool>{false, false, true, false});
  CHECK(values<bool>(run("IsInf", {{"detect_positive", i(0)}}, {x})) ==
        std::vector<bool>{false, false, false, true});
  CHECK(values<bool>(run("Not", {}, {bools({2}, {1, 0})})) == std::vector<bool>{false, true});
  CHECK(error_kind([&] { run("Not", {}, {x}); }) == ErrorKind::Unsupported);
}

TEST_CASE("unary ops reject dtypes the spec excludes", "[elementwise]") {
  CHECK(error_kind([] { run("Sqrt", {}, {tensor<int32_t>({1}, {4})}); }) == ErrorKind::Unsupported);
  CHECK(error_kind([] { run("IsNaN", {}, {bools({1}, {1})}); }) == ErrorKind::Unsupported);
}

// ------------------------------------------------------------------------------------ Cast
TEST_CASE("Cast float to integer truncates, saturates, and maps NaN to 0", "[elementwise][Cast]") {
  const ir::Tensor x = f32({6}, {300.7f, -300.0f, 3.9f, -3.9f, kNaN, -kInf});
  const int64_t to = static_cast<int64_t>(ir::DType::Int8);
  CHECK(values<int8_t>(run("Cast", {{"to", i(to)}}, {x})) ==
        std::vector<int8_t>{127, -128, 3, -3, 0, -128});
  const int64_t to_u = static_cast<int64_t>(ir::DType::UInt32);
  CHECK(values<uint32_t>(run("Cast", {{"to", i(to_u)}}, {f32({2}, {-5.0f, 7.5f})})) ==
        std::vector<uint32_t>{0, 7});
}

TEST_CASE("Cast between integers wraps; to bool tests != 0", "[elementwise][Cast]") {
  const int64_t to_i8 = static_cast<int64_t>(ir::DType::Int8);
  CHECK(values<int8_t>(run("Cast", {{"to", i(to_i8)}}, {tensor<uint8_t>({2}, {200, 5})})) ==
        std::vector<int8_t>{-56, 5});
  const int64_t to_bool = static_cast<int64_t>(ir::DType::Bool);
  CHECK(values<bool>(run("Cast", {{"to", i(to_bool)}}, {tensor<int32_t>({3}, {0, 2, -1})})) ==
        std::vector<bool>{false, true, true});
  CHECK(values<bool>(run("Cast", {{"to", i(to_bool)}}, {f32({2}, {0.0f, kNaN})})) ==
        std::vector<bool>{false, true});
  const int64_t to_f = static_cast<int64_t>(ir::DType::Float32);
  CHECK(values<float>(run("Cast", {{"to", i(to_f)}}, {bools({2}, {1, 0})})) ==
        std::vector<float>{1.0f, 0.0f});
}

TEST_CASE("Cast rounds to float16 and bfloat16 to nearest even, once", "[elementwise][Cast]") {
  // 1 + 2^-11 + 2^-40 lies just above the float16 midpoint 1 + 2^-11: the correct result is
  // 1 + 2^-10; rounding to float first would land on the midpoint and tie to 1.0.
  const double d = 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);
  const int64_t to_h = static_cast<int64_t>(ir::DType::Float16);
  const ir::Tensor h = run("Cast", {{"to", i(to_h)}}, {tensor<double>({2}, {d, 65520.0})});
  CHECK(f16_values(h) == std::vector<float>{1.0f + std::ldexp(1.0f, -10), kInf});
  // bfloat16 ties: 1 + 2^-8 -> 1, 1 + 3 * 2^-8 -> 1 + 2^-6.
  const int64_t to_b = static_cast<int64_t>(ir::DType::BFloat16);
  const ir::Tensor b = run("Cast", {{"to", i(to_b)}}, {f32({2}, {1.00390625f, 1.01171875f})});
  std::vector<float> got;
  for (ir::BFloat16 v : b.span<ir::BFloat16>()) got.push_back(ir::bf16_to_f32(v));
  CHECK(got == std::vector<float>{1.0f, 1.015625f});
}

TEST_CASE("Cast rejects string and unknown target types", "[elementwise][Cast]") {
  const ir::Tensor x = f32({1}, {1.0f});
  CHECK(error_kind([&] { run("Cast", {{"to", i(8)}}, {x}); }) == ErrorKind::Unsupported);
  CHECK(error_kind([&] { run("Cast", {{"to", i(14)}}, {x}); }) == ErrorKind::Unsupported);
  CHECK(error_kind([&] { run("Cast", {{"to", i(999)}}, {x}); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] { run("Cast", {}, {x}); }) == ErrorKind::BadInput);
}

TEST_CASE("CastLike takes the dtype of its second input", "[elementwise][Cast]") {
  const ir::Tensor y = run("CastLike", {}, {f32({2}, {2.7f, -1.2f}), tensor<int64_t>({}, {0})}, 15);
  REQUIRE(y.dtype() == ir::DType::Int64);
  CHECK(values<int64_t>(y) == std::vector<int64_t>{2, -1});
}
