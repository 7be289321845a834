// QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear and the shared rounding /
// requantization primitives (quantized_common.h).
#include "runtime/reference/kernels/quantized_common.h"
#include "test_quantized_util.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

using namespace hone;
using namespace hone::test;  // f32, i8, u8, i32, ints, make_node, run_node, ...
namespace quant = hone::runtime::reference::quant;

namespace {
ir::Node quantize_node(int64_t axis = 1, size_t inputs = 3) {
  return make_node("QuantizeLinear", {{"axis", ir::Attribute::of_int(axis)}}, inputs);
}
ir::Node dequantize_node(int64_t axis = 1, size_t inputs = 3) {
  return make_node("DequantizeLinear", {{"axis", ir::Attribute::of_int(axis)}}, inputs);
}
const quant::QRange kInt8{-128, 127};
const quant::QRange kUInt8{0, 255};
}  // namespace

// ----------------------------------------------------------------------------- primitives
TEST_CASE("round_half_even rounds ties to the even neighbour", "[quantized]") {
  CHECK(quant::round_half_even(0.5) == 0.0);
  CHECK(quant::round_half_even(1.5) == 2.0);
  CHECK(quant::round_half_even(2.5) == 2.0);
  CHECK(quant::round_half_even(-0.5) == 0.0);
  CHECK(quant::round_half_even(-1.5) == -2.0);
  CHECK(quant::round_half_even(-2.5) == -2.0);
  CHECK(quant::round_half_even(2.5000001) == 3.0);
  CHECK(quant::round_half_even(0.49999999999999994) == 0.0);
  CHECK(quant::round_half_even(-7.0) == -7.0);
  CHECK(quant::round_half_even(1e300) == 1e300);
  CHECK(std::isinf(quant::round_half_even(-INFINITY)));
}

TEST_CASE("quantize_value saturates and maps NaN to the zero point", "[quantized]") {
  CHECK(quant::quantize_value(126.5, 0, kInt8) == 126);
  CHECK(quant::quantize_value(127.5, 0, kInt8) == 127);
  CHECK(quant::quantize_value(-1e30, 0, kInt8) == -128);
  CHECK(quant::quantize_value(INFINITY, 0, kUInt8) == 255);
  CHECK(quant::quantize_value(-0.5, 0, kUInt8) == 0);
  CHECK(quant::quantize_value(std::nan(""), 37, kUInt8) == 37);
}

TEST_CASE("requantize rounds the exact product half to even and saturates", "[quantized]") {
  // M = 0.5: acc * M lands exactly on .5 for odd acc.
  CHECK(quant::requantize(1, 0.5f, 0, kInt8) == 0);
  CHECK(quant::requantize(3, 0.5f, 0, kInt8) == 2);
  CHECK(quant::requantize(5, 0.5f, 0, kInt8) == 2);
  CHECK(quant::requantize(-1, 0.5f, 0, kInt8) == 0);
  CHECK(quant::requantize(-3, 0.5f, 0, kInt8) == -2);
  CHECK(quant::requantize(-3, 0.5f, 10, kUInt8) == 8);
  CHECK(quant::requantize(1000, 0.5f, 0, kInt8) == 127);
  CHECK(quant::requantize(-1000, 0.5f, 0, kInt8) == -128);
  CHECK(quant::requantize(0, 1e30f, 5, kInt8) == 5);
  CHECK(quant::requantize(std::numeric_limits<int32_t>::max(), 1.0f, 0, kUInt8) == 255);
  CHECK(quant::requantize(std::numeric_limits<int32_t>::min(), 1e-10f, 3, kUInt8) == 3);
  CHECK(quant::requantize(1, 300.0f, -128, kInt8) == 127);
  CHECK(quant::requantize(1, std::ldexp(1.0f, 24), -128, kInt8) == 127);  // M >= 2^23
  CHECK(quant::requantize(-1, std::ldexp(1.0f, 24), 255, kUInt8) == 0);
  CHECK(quant::requantize(7, 1.5f, 0, kInt8) == 10);  // 10.5 -> 10
  // acc = 5 * 2^24 + 1, M = 2^-25: exactly 2.5 + 2^-25 -> 3. A float32 product would first
  // round acc to 5 * 2^24 and then tie to 2.
  CHECK(quant::requantize(83886081, std::ldexp(1.0f, -25), 0, kInt8) == 3);
  // A subnormal multiplier is still exact: 2^30 * 2^-140 rounds to 0.
  CHECK(quant::requantize(1 << 30, std::ldexp(1.0f, -140), 0, kInt8) == 0);
}

TEST_CASE("requantize equals the double product while |acc| < 2^29", "[quantized]") {
  // For |acc| < 2^29, double(acc) * double(M) has at most 29 + 24 significant bits, so it is
  // exact and rounding it must agree with the int64 shift path for every multiplier. Small
  // accumulators and power-of-two multipliers make ties frequent.
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> acc_dist(-(1 << 29) + 1, (1 << 29) - 1);
  std::uniform_real_distribution<float> mant(1.0f, 2.0f);
  std::uniform_int_distribution<int> exp_dist(-40, 40);
  const quant::QRange wide{std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
  for (int i = 0; i < 20000; ++i) {
    const int32_t acc = i % 4 == 0 ? acc_dist(rng) % 4096 : acc_dist(rng);
    const float m = std::ldexp(i % 3 == 0 ? 1.0f : mant(rng), exp_dist(rng));
    const double expect = std::clamp(quant::round_half_even(double(acc) * double(m)) + 7.0,
                                     double(wide.lo), double(wide.hi));
    REQUIRE(quant::requantize(acc, m, 7, wide) == static_cast<int32_t>(expect));
  }
}

TEST_CASE("requant_multiplier is fl32(fl32(a * b) / y) as numpy computes it", "[quantized]") {
  // numpy: np.float32(np.float32(0.0066) * np.float32(0.00705)) / np.float32(0.0107)
  const float m = quant::requant_multiplier(0.0066f, 0.00705f, 0.0107f);
  uint32_t bits = 0;
  std::memcpy(&bits, &m, sizeof bits);
  CHECK(bits == 999194287u);
}

// -------------------------------------------------------------------------- QuantizeLinear
TEST_CASE("QuantizeLinear per-tensor uint8 saturates (ONNX example)", "[quantized]") {
  auto y = run_node(quantize_node(), {f32({6}, {0, 2, 3, 1000, -254, -1000}),
                                      ir::Tensor::scalar(2.0f), ir::Tensor::scalar<uint8_t>(128)});
  REQUIRE(y[0].dtype() == ir::DType::UInt8);
  CHECK(ints(y[0]) == std::vector<int>{128, 129, 130, 255, 1, 0});
}

TEST_CASE("QuantizeLinear rounds x / scale half to even", "[quantized]") {
  auto y = run_node(quantize_node(),
                    {f32({9}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 5.0f, 7.0f, -5.0f}),
                     ir::Tensor::scalar(1.0f), ir::Tensor::scalar<int8_t>(0)});
  // 5/1, 7/1 are integers; with scale 2 they would be the ties 2.5 and 3.5 (next case).
  CHECK(ints(y[0]) == std::vector<int>{0, 2, 2, 0, -2, -2, 5, 7, -5});
  auto y2 = run_node(quantize_node(), {f32({3}, {5.0f, 7.0f, -5.0f}), ir::Tensor::scalar(2.0f),
                                       ir::Tensor::scalar<int8_t>(0)});
  CHECK(ints(y2[0]) == std::vector<int>{2, 4, -2});
}

TEST_CASE("QuantizeLinear saturates at int8 and uint8 limits with zero points at range ends",
          "[quantized]") {
  auto y = run_node(quantize_node(),
                    {f32({8}, {-1.0f, 0.0f, 254.4f, 255.5f, 1e9f, INFINITY, -INFINITY, NAN}),
                     ir::Tensor::scalar(1.0f), ir::Tensor::scalar<int8_t>(-128)});
  CHECK(ints(y[0]) == std::vector<int>{-128, -128, 126, 127, 127, 127, -128, -128});
  auto z = run_node(quantize_node(), {f32({5}, {-255.0f, -256.0f, 0.5f, 1.0f, -255.5f}),
                                      ir::Tensor::scalar(1.0f), ir::Tensor::scalar<uint8_t>(255)});
  CHECK(ints(z[0]) == std::vector<int>{0, 0, 255, 255, 0});
}

TEST_CASE("QuantizeLinear without a zero point produces uint8 around 0", "[quantized]") {
  auto y =
      run_node(quantize_node(1, 2), {f32({3}, {-1.0f, 1.5f, 300.0f}), ir::Tensor::scalar(1.0f)});
  REQUIRE(y[0].dtype() == ir::DType::UInt8);
  CHECK(ints(y[0]) == std::vector<int>{0, 2, 255});
}

TEST_CASE("QuantizeLinear per-axis with a negative axis", "[quantized]") {
  auto x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  auto y = run_node(quantize_node(-1), {x, f32({3}, {1.0f, 2.0f, 4.0f}), i8({3}, {0, 10, -10})});
  // column scales 1, 2, 4: 2/2 = 1, 3/4 = 0.75 -> 1, 5/2 = 2.5 -> 2, 6/4 = 1.5 -> 2
  CHECK(ints(y[0]) == std::vector<int>{1, 11, -9, 4, 12, -8});
  auto rows = run_node(quantize_node(0), {x, f32({2}, {1.0f, 0.5f}), u8({2}, {0, 100})});
  CHECK(ints(rows[0]) == std::vector<int>{1, 2, 3, 108, 110, 112});
}

TEST_CASE("QuantizeLinear of int32 input divides in double", "[quantized]") {
  auto y = run_node(quantize_node(), {i32({3}, {7, -7, 2147483647}), ir::Tensor::scalar(2.0f),
                                      ir::Tensor::scalar<int8_t>(0)});
  CHECK(ints(y[0]) == std::vector<int>{4, -4, 127});
}

TEST_CASE("QuantizeLinear rejects malformed scales, zero points and axes", "[quantized]") {
  auto x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  auto run = [&](ir::Node n, std::vector<ir::Tensor> in, int64_t opset = 13) {
    return thrown_kind([&] { run_node(std::move(n), in, opset); });
  };
  auto zp3 = u8({3}, {0, 0, 0});
  CHECK(run(quantize_node(1), {x, f32({2}, {1, 1}), u8({2}, {0, 0})}) == ErrorKind::BadInput);
  CHECK(run(quantize_node(1), {x, f32({3}, {1, 1, 1}), ir::Tensor::scalar<uint8_t>(0)}) ==
        ErrorKind::BadInput);
  CHECK(run(quantize_node(2), {x, f32({3}, {1, 1, 1}), zp3}) == ErrorKind::BadInput);
  CHECK(run(quantize_node(-3), {x, f32({3}, {1, 1, 1}), zp3}) == ErrorKind::BadInput);
  CHECK(run(quantize_node(1), {x, f32({1, 3}, {1, 1, 1}), u8({1, 3}, {0, 0, 0})}) ==
        ErrorKind::BadInput);
  CHECK(run(quantize_node(), {x, ir::Tensor::scalar(0.0f), ir::Tensor::scalar<uint8_t>(0)}) ==
        ErrorKind::BadInput);
  CHECK(run(quantize_node(), {x, ir::Tensor::scalar(-1.0f), ir::Tensor::scalar<uint8_t>(0)}) ==
        ErrorKind::BadInput);
  CHECK(run(quantize_node(), {x, ir::Tensor::scalar(NAN), ir::Tensor::scalar<uint8_t>(0)}) ==
        ErrorKind::BadInput);
  // Opset 10 has no axis: a 1-D scale of several values is malformed there.
  CHECK(run(quantize_node(1), {x, f32({3}, {1, 1, 1}), zp3}, 10) == ErrorKind::BadInput);
  CHECK(run(quantize_node(), {u8({1}, {1}), ir::Tensor::scalar(1.0f),
                              ir::Tensor::scalar<uint8_t>(0)}) == ErrorKind::Unsupported);
  CHECK(run(quantize_node(), {x, ir::Tensor::scalar(1.0f), i32({}, {0})}) ==
        ErrorKind::Unsupported);
}

// ------------------------------------------------------------------------ DequantizeLinear
TEST_CASE("DequantizeLinear per-tensor uint8 (ONNX example)", "[quantized]") {
  auto y = run_node(dequantize_node(), {u8({4}, {0, 3, 128, 255}), ir::Tensor::scalar(2.0f),
                                        ir::Tensor::scalar<uint8_t>(128)});
  CHECK(values<float>(y[0]) == std::vector<float>{-256, -250, 0, 254});
}

TEST_CASE("DequantizeLinear per-axis int8, positive and negative axis", "[quantized]") {
  auto x = i8({2, 2}, {-128, 127, 0, 5});
  for (int64_t axis : {0, -2}) {
    auto y = run_node(dequantize_node(axis), {x, f32({2}, {0.5f, 2.0f}), i8({2}, {-128, 5})});
    CHECK(values<float>(y[0]) == std::vector<float>{0.0f, 127.5f, -10.0f, 0.0f});
  }
}

TEST_CASE("DequantizeLinear of int32 has no zero point", "[quantized]") {
  auto x = i32({2}, {100, -2000000000});
  auto y = run_node(dequantize_node(1, 2), {x, ir::Tensor::scalar(0.5f)});
  CHECK(values<float>(y[0]) == std::vector<float>{50.0f, -1e9f});
  auto y0 = run_node(dequantize_node(), {x, ir::Tensor::scalar(0.5f), i32({}, {0})});
  CHECK(values<float>(y0[0]) == std::vector<float>{50.0f, -1e9f});
  CHECK(thrown_kind([&] {
          run_node(dequantize_node(), {x, ir::Tensor::scalar(0.5f), i32({}, {1})});
        }) == ErrorKind::BadInput);
}

TEST_CASE("DequantizeLinear rejects mismatched zero points and scales", "[quantized]") {
  auto x = u8({2, 2}, {1, 2, 3, 4});
  CHECK(thrown_kind([&] {
          run_node(dequantize_node(), {x, ir::Tensor::scalar(1.0f), ir::Tensor::scalar<int8_t>(0)});
        }) == ErrorKind::BadInput);
  CHECK(thrown_kind([&] {
          run_node(dequantize_node(), {x, f32({3}, {1, 1, 1}), u8({3}, {0, 0, 0})});
        }) == ErrorKind::BadInput);
  CHECK(thrown_kind([&] {
          run_node(dequantize_node(1, 2), {x, ir::Tensor::scalar(INFINITY)});
        }) == ErrorKind::BadInput);
}

// ------------------------------------------------------------------- DynamicQuantizeLinear
namespace {
struct DynamicResult {
  std::vector<int> y;
  float scale;
  int zero_point;
};
DynamicResult dynamic_quantize(ir::Tensor x) {
  auto out = run_node(make_node("DynamicQuantizeLinear"), {std::move(x)}, 17, 3);
  REQUIRE(out[0].dtype() == ir::DType::UInt8);
  REQUIRE(out[1].shape().empty());
  REQUIRE(out[2].dtype() == ir::DType::UInt8);
  return {ints(out[0]), out[1].data<float>()[0], static_cast<int>(out[2].data<uint8_t>()[0])};
}
}  // namespace

TEST_CASE("DynamicQuantizeLinear on mixed-sign input (ONNX example)", "[quantized]") {
  auto r = dynamic_quantize(f32({6}, {0, 2, -3, -2.5f, 1.34f, 0.5f}));
  CHECK(r.scale == 5.0f / 255.0f);  // 0.0196078438
  CHECK(r.zero_point == 153);       // 3 / scale = 152.99999 -> 153
  CHECK(r.y == std::vector<int>{153, 255, 0, 26, 221, 179});
}

TEST_CASE("DynamicQuantizeLinear on all-positive input has zero point 0", "[quantized]") {
  auto r = dynamic_quantize(
      f32({3, 4}, {1, 2.1f, 1.3f, 2.5f, 3.34f, 4, 1.5f, 2.6f, 3.9f, 4, 3, 2.345f}));
  CHECK(r.scale == 4.0f / 255.0f);
  CHECK(r.zero_point == 0);
  CHECK(r.y == std::vector<int>{64, 134, 83, 159, 213, 255, 96, 166, 249, 255, 191, 149});
}

TEST_CASE("DynamicQuantizeLinear on all-negative input has zero point 255", "[quantized]") {
  auto r = dynamic_quantize(f32({6}, {-1.0f, -2.1f, -1.3f, -2.5f, -3.34f, -4.0f}));
  CHECK(r.scale == 4.0f / 255.0f);
  CHECK(r.zero_point == 255);
  CHECK(r.y == std::vector<int>{191, 121, 172, 96, 42, 0});
}

TEST_CASE("DynamicQuantizeLinear on all-zero input uses scale 1/255", "[quantized]") {
  auto r = dynamic_quantize(f32({3}, {0, 0, 0}));
  CHECK(r.scale == 1.0f / 255.0f);
  CHECK(r.zero_point == 0);
  CHECK(r.y == std::vector<int>{0, 0, 0});
}
