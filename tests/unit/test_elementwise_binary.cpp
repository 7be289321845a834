// Binary, variadic and ternary elementwise ops.
#include "test_elementwise_util.h"

#include <cmath>
#include <limits>

using namespace hone;
using namespace hone::test::elementwise;
using Catch::Matchers::Approx;
using hone::test::values;

namespace {
const float kNaN = std::numeric_limits<float>::quiet_NaN();
}  // namespace

TEST_CASE("Add broadcasts numpy-style from opset 7", "[elementwise][Add]") {
  const ir::Tensor a = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  const ir::Tensor y = run("Add", {}, {a, f32({3}, {10, 20, 30})});
  REQUIRE(y.shape() == ir::Shape{2, 3});
  CHECK(values<float>(y) == std::vector<float>{11, 22, 33, 14, 25, 36});
  const ir::Tensor col = run("Sub", {}, {f32({2, 1}, {1, 2}), f32({1, 3}, {1, 2, 3})});
  REQUIRE(col.shape() == ir::Shape{2, 3});
  CHECK(values<float>(col) == std::vector<float>{0, -1, -2, 1, 0, -1});
  const ir::Tensor scalar = run("Mul", {}, {f32({}, {2}), a});
  CHECK(values<float>(scalar) == std::vector<float>{2, 4, 6, 8, 10, 12});
  CHECK(error_kind([&] { run("Add", {}, {a, f32({2}, {1, 2})}); }) == ErrorKind::BadInput);
}

TEST_CASE("binary ops on zero-size tensors give zero-size outputs", "[elementwise][Add]") {
  const ir::Tensor y = run("Add", {}, {f32({0, 3}, {}), f32({3}, {1, 2, 3})});
  CHECK(y.shape() == ir::Shape{0, 3});
  CHECK(y.numel() == 0);
  CHECK(run("Max", {}, {f32({2, 0}, {}), f32({1}, {1})}).shape() == ir::Shape{2, 0});
  CHECK(run("Neg", {}, {f32({0}, {})}).shape() == ir::Shape{0});
}

TEST_CASE("opset-6 broadcast/axis attributes align B onto A", "[elementwise][Add]") {
  const ir::Tensor a = f32({2, 3, 2}, {0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1});
  const ir::Tensor b = f32({3}, {10, 20, 30});
  const ir::Tensor y = run("Add", {{"broadcast", i(1)}, {"axis", i(1)}}, {a, b}, 6);
  REQUIRE(y.shape() == ir::Shape{2, 3, 2});
  CHECK(values<float>(y) == std::vector<float>{10, 10, 20, 20, 30, 30, 11, 11, 21, 21, 31, 31});
  // Without axis B matches A's trailing dims; size-1 dims of B repeat.
  const ir::Tensor t = run("Mul", {{"broadcast", i(1)}}, {a, f32({3, 1}, {1, 2, 3})}, 6);
  CHECK(values<float>(t) == std::vector<float>{0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 3, 3});
  CHECK(error_kind([&] { run("Add", {}, {a, b}, 6); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] { run("Add", {{"broadcast", i(1)}}, {a, b}, 6); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] { run("Add", {{"broadcast", i(1)}, {"axis", i(3)}}, {a, b}, 6); }) ==
        ErrorKind::BadInput);
  CHECK(error_kind([&] { run("Add", {{"broadcast", i(1)}, {"axis", i(-1)}}, {a, b}, 6); }) ==
        ErrorKind::BadInput);
  // Equal at opset 6 resolves to v1, which has the same attributes.
  const ir::Tensor eq = run("Equal", {{"broadcast", i(1)}},
                            {tensor<int32_t>({2, 2}, {1, 2, 3, 2}), tensor<int32_t>({2}, {3, 2})}, 6);
  CHECK(values<bool>(eq) == std::vector<bool>{false, true, true, true});
}

TEST_CASE("integer Add/Sub/Mul wrap around without overflow", "[elementwise]") {
  CHECK(values<int8_t>(run("Add", {}, {tensor<int8_t>({2}, {100, -100}),
                                       tensor<int8_t>({2}, {100, -100})})) ==
        std::vector<int8_t>{-56, 56});
  CHECK(values<uint16_t>(run("Mul", {}, {tensor<uint16_t>({1}, {65535}),
                                         tensor<uint16_t>({1}, {65535})})) ==
        std::vector<uint16_t>{1});
  const int64_t lo = std::numeric_limits<int64_t>::min();
  CHECK(values<int64_t>(run("Sub", {}, {tensor<int64_t>({1}, {lo}), tensor<int64_t>({1}, {1})})) ==
        std::vector<int64_t>{std::numeric_limits<int64_t>::max()});
  CHECK(error_kind([] {
          run("Add", {}, {tensor<int8_t>({1}, {1}), tensor<int16_t>({1}, {1})});
        }) == ErrorKind::BadInput);
}

TEST_CASE("integer Div truncates toward zero and rejects zero divisors", "[elementwise][Div]") {
  const ir::Tensor a = tensor<int32_t>({4}, {-7, 7, -7, std::numeric_limits<int32_t>::min()});
  const ir::Tensor b = tensor<int32_t>({4}, {2, -2, -2, -1});
  CHECK(values<int32_t>(run("Div", {}, {a, b})) ==
        std::vector<int32_t>{-3, -3, 3, std::numeric_limits<int32_t>::min()});
  CHECK(values<uint8_t>(run("Div", {}, {tensor<uint8_t>({1}, {255}), tensor<uint8_t>({1}, {2})})) ==
        std::vector<uint8_t>{127});
  CHECK(error_kind([&] { run("Div", {}, {a, tensor<int32_t>({1}, {0})}); }) == ErrorKind::BadInput);
  const auto fy = values<float>(run("Div", {}, {f32({2}, {1, -1}), f32({1}, {0})}));
  CHECK(std::isinf(fy[0]));
  CHECK(fy[1] < 0);
}

TEST_CASE("Mod follows the divisor's sign, fmod=1 the dividend's", "[elementwise][Mod]") {
  const ir::Tensor a = tensor<int32_t>({4}, {-7, 7, -7, 7});
  const ir::Tensor b = tensor<int32_t>({4}, {3, -3, -3, 3});
  CHECK(values<int32_t>(run("Mod", {}, {a, b})) == std::vector<int32_t>{2, -2, -1, 1});
  CHECK(values<int32_t>(run("Mod", {{"fmod", i(1)}}, {a, b})) ==
        std::vector<int32_t>{-1, 1, -1, 1});
  CHECK(values<int64_t>(run("Mod", {}, {tensor<int64_t>({1}, {std::numeric_limits<int64_t>::min()}),
                                        tensor<int64_t>({1}, {-1})})) ==
        std::vector<int64_t>{0});
  CHECK_THAT(values<float>(run("Mod", {{"fmod", i(1)}}, {f32({2}, {-7.5f, 7.5f}), f32({1}, {2})})),
             Approx<float>({-1.5f, 1.5f}));
  CHECK(error_kind([] { run("Mod", {}, {f32({1}, {1}), f32({1}, {2})}); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] { run("Mod", {}, {a, tensor<int32_t>({1}, {0})}); }) == ErrorKind::BadInput);
}

TEST_CASE("Pow with mixed base and exponent dtypes", "[elementwise][Pow]") {
  CHECK(values<float>(run("Pow", {}, {f32({3}, {2, 3, 4}), tensor<int64_t>({3}, {3, 2, -1})})) ==
        std::vector<float>{8, 9, 0.25f});
  CHECK(values<int32_t>(run("Pow", {}, {tensor<int32_t>({3}, {2, -3, 5}),
                                        tensor<int32_t>({3}, {10, 3, 0})})) ==
        std::vector<int32_t>{1024, -27, 1});
  // Integer base, float exponent: the double result truncated.
  CHECK(values<int64_t>(run("Pow", {}, {tensor<int64_t>({2}, {2, 9}), f32({2}, {0.5f, 0.5f})})) ==
        std::vector<int64_t>{1, 3});
  // Negative integer exponent: 1 / base^|e| truncated.
  CHECK(values<int32_t>(run("Pow", {}, {tensor<int32_t>({3}, {2, 1, -1}),
                                        tensor<int32_t>({3}, {-1, -5, -3})})) ==
        std::vector<int32_t>{0, 1, -1});
  CHECK(error_kind([] {
          run("Pow", {}, {tensor<int32_t>({1}, {0}), tensor<int32_t>({1}, {-1})});
        }) == ErrorKind::BadInput);
  CHECK(error_kind([] {
          run("Pow", {}, {tensor<int8_t>({1}, {2}), tensor<int8_t>({1}, {2})});
        }) == ErrorKind::Unsupported);
}

TEST_CASE("PRelu broadcasts the slope onto X", "[elementwise][PRelu]") {
  const ir::Tensor x = f32({2, 2}, {-1, 2, -3, 4});
  CHECK(values<float>(run("PRelu", {}, {x, f32({2}, {0.5f, 0.25f})})) ==
        std::vector<float>{-0.5f, 2, -1.5f, 4});
  CHECK(values<int32_t>(run("PRelu", {}, {tensor<int32_t>({2}, {-4, 4}), tensor<int32_t>({1}, {3})})) ==
        std::vector<int32_t>{-12, 4});
  // The slope may not grow X.
  CHECK(error_kind([&] { run("PRelu", {}, {x, f32({2, 2, 2}, {1, 1, 1, 1, 1, 1, 1, 1})}); }) ==
        ErrorKind::BadInput);
}

TEST_CASE("PRelu at opset 6 applies a 1-D slope per channel", "[elementwise][PRelu]") {
  // X [1, 2, 3]: channel 0 slope 0.5, channel 1 slope 2 (numpy would need 3 slopes).
  const ir::Tensor x = f32({1, 2, 3}, {-2, -4, 6, -2, -4, 6});
  CHECK(values<float>(run("PRelu", {}, {x, f32({2}, {0.5f, 2})}, 6)) ==
        std::vector<float>{-1, -2, 6, -4, -8, 6});
  CHECK(error_kind([&] { run("PRelu", {}, {x, f32({2}, {0.5f, 2})}, 9); }) == ErrorKind::BadInput);
}

TEST_CASE("comparisons produce bool for every numeric dtype", "[elementwise]") {
  const ir::Tensor a = tensor<int64_t>({3}, {1, 5, 3});
  const ir::Tensor b = tensor<int64_t>({3}, {2, 5, 1});
  const ir::Tensor lt = run("Less", {}, {a, b});
  REQUIRE(lt.dtype() == ir::DType::Bool);
  CHECK(values<bool>(lt) == std::vector<bool>{true, false, false});
  CHECK(values<bool>(run("Greater", {}, {a, b})) == std::vector<bool>{false, false, true});
  CHECK(values<bool>(run("LessOrEqual", {}, {a, b})) == std::vector<bool>{true, true, false});
  CHECK(values<bool>(run("GreaterOrEqual", {}, {a, b})) == std::vector<bool>{false, true, true});
  CHECK(values<bool>(run("Equal", {}, {a, b})) == std::vector<bool>{false, true, false});
  CHECK(values<bool>(run("Equal", {}, {f32({2}, {kNaN, 1}), f32({}, {1})})) ==
        std::vector<bool>{false, true});
  CHECK(values<bool>(run("Equal", {}, {bools({2}, {1, 0}), bools({1}, {0})})) ==
        std::vector<bool>{false, true});
  CHECK(values<bool>(run("Less", {}, {f16({2}, {0.5f, 2}), f16({1}, {1})})) ==
        std::vector<bool>{true, false});
}

TEST_CASE("And, Or, Xor broadcast over bool", "[elementwise]") {
  const ir::Tensor a = bools({2, 2}, {0, 0, 1, 1});
  const ir::Tensor b = bools({2}, {0, 1});
  CHECK(values<bool>(run("And", {}, {a, b})) == std::vector<bool>{false, false, false, true});
  CHECK(values<bool>(run("Or", {}, {a, b})) == std::vector<bool>{false, true, true, true});
  CHECK(values<bool>(run("Xor", {}, {a, b})) == std::vector<bool>{false, true, true, false});
  CHECK(error_kind([] { run("And", {}, {f32({1}, {1}), f32({1}, {1})}); }) ==
        ErrorKind::Unsupported);
}

TEST_CASE("BitShift shifts unsigned integers; wide shifts give 0", "[elementwise][BitShift]") {
  const ir::Tensor x = tensor<uint8_t>({4}, {1, 4, 255, 255});
  const ir::Tensor s = tensor<uint8_t>({4}, {1, 1, 7, 8});
  CHECK(values<uint8_t>(run("BitShift", {{"direction", str("LEFT")}}, {x, s})) ==
        std::vector<uint8_t>{2, 8, 128, 0});
  CHECK(values<uint8_t>(run("BitShift", {{"direction", str("RIGHT")}}, {x, s})) ==
        std::vector<uint8_t>{0, 2, 1, 0});
  CHECK(values<uint64_t>(run("BitShift", {{"direction", str("LEFT")}},
                             {tensor<uint64_t>({1}, {1}), tensor<uint64_t>({1}, {63})})) ==
        std::vector<uint64_t>{uint64_t{1} << 63});
  CHECK(error_kind([&] { run("BitShift", {{"direction", str("UP")}}, {x, s}); }) ==
        ErrorKind::BadInput);
}

TEST_CASE("Max, Min, Sum, Mean fold any number of broadcast inputs", "[elementwise]") {
  const ir::Tensor a = f32({2, 2}, {1, 5, kNaN, 0});
  const ir::Tensor b = f32({2}, {3, 2});
  const ir::Tensor c = f32({}, {4});
  const auto mx = values<float>(run("Max", {}, {a, b, c}));
  CHECK(mx[0] == 4);
  CHECK(mx[1] == 5);
  CHECK(std::isnan(mx[2]));  // numpy.maximum propagates NaN
  CHECK(mx[3] == 4);
  CHECK(values<float>(run("Min", {}, {f32({2}, {1, 5}), b})) == std::vector<float>{1, 2});
  CHECK(values<float>(run("Sum", {}, {f32({2}, {1, 5}), b, c})) == std::vector<float>{8, 11});
  CHECK(values<float>(run("Mean", {}, {f32({2}, {1, 5}), b, c})) ==
        std::vector<float>{8.0f / 3.0f, 11.0f / 3.0f});
  CHECK(values<float>(run("Sum", {}, {b})) == std::vector<float>{3, 2});
  CHECK(values<uint64_t>(run("Max", {}, {tensor<uint64_t>({2}, {1, ~uint64_t{0}}),
                                         tensor<uint64_t>({1}, {7})})) ==
        std::vector<uint64_t>{7, ~uint64_t{0}});
  CHECK(error_kind([&] { run("Max", {}, {a, tensor<int32_t>({1}, {1})}); }) == ErrorKind::BadInput);
  CHECK(error_kind([] { run("Sum", {}, {tensor<int32_t>({1}, {1})}); }) == ErrorKind::Unsupported);
}

TEST_CASE("Where selects with three-way broadcasting", "[elementwise][Where]") {
  const ir::Tensor cond = bools({2, 1}, {1, 0});
  const ir::Tensor x = tensor<int64_t>({2}, {1, 2});
  const ir::Tensor y = tensor<int64_t>({}, {-1});
  const ir::Tensor out = run("Where", {}, {cond, x, y});
  REQUIRE(out.shape() == ir::Shape{2, 2});
  CHECK(values<int64_t>(out) == std::vector<int64_t>{1, 2, -1, -1});
  const ir::Tensor h = run("Where", {}, {bools({2}, {0, 1}), f16({2}, {1, 2}), f16({2}, {3, 4})});
  CHECK(f16_values(h) == std::vector<float>{3, 2});
  CHECK(error_kind([&] { run("Where", {}, {cond, x, f32({}, {1})}); }) == ErrorKind::BadInput);
}
