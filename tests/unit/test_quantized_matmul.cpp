// MatMulInteger and QLinearMatMul.
#include "test_quantized_util.h"

using namespace hone;
using namespace hone::test;  // f32, i8, u8, i32, ints, make_node, run_node, ...

namespace {
std::vector<ir::Tensor> matmul_integer(std::vector<ir::Tensor> in) {
  return run_node(make_node("MatMulInteger", {}, in.size()), in);
}
ir::Tensor one(float s) { return ir::Tensor::scalar(s); }

// QLinearMatMul inputs: a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp.
struct QMatMul {
  ir::Tensor a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp;
  std::vector<ir::Tensor> run() const {
    return run_node(make_node("QLinearMatMul", {}, 8),
                    {a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp});
  }
};
}  // namespace

// --------------------------------------------------------------------------- MatMulInteger
TEST_CASE("MatMulInteger subtracts zero points (ONNX example)", "[quantized]") {
  auto y = matmul_integer({u8({4, 3}, {11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0}),
                           u8({3, 2}, {1, 4, 2, 5, 3, 6}), u8({1}, {12}), u8({1}, {0})});
  REQUIRE(y[0].dtype() == ir::DType::Int32);
  REQUIRE(y[0].shape() == ir::Shape{4, 2});
  CHECK(ints(y[0]) == std::vector<int>{-38, -83, -44, -98, -50, -113, -56, -128});
}

TEST_CASE("MatMulInteger int8 with per-row A and per-column B zero points", "[quantized]") {
  // A - a_zp = [[0, 1], [4, 5]];  B - b_zp = [[4, 4, 4], [7, 8, 9]]
  auto y = matmul_integer({i8({2, 2}, {1, 2, 3, 4}), i8({2, 3}, {5, 6, 7, 8, 10, 12}),
                           i8({2}, {1, -1}), i8({3}, {1, 2, 3})});
  CHECK(ints(y[0]) == std::vector<int>{7, 8, 9, 51, 56, 61});
}

TEST_CASE("MatMulInteger follows numpy.matmul batch broadcasting and 1-D promotion",
          "[quantized]") {
  auto eye = u8({2, 2}, {1, 0, 0, 1});
  auto batched = matmul_integer({u8({2, 1, 2}, {1, 2, 3, 4}), eye});
  CHECK(batched[0].shape() == ir::Shape{2, 1, 2});
  CHECK(ints(batched[0]) == std::vector<int>{1, 2, 3, 4});

  auto m = u8({2, 2}, {1, 2, 3, 4});
  auto vec_a = matmul_integer({u8({2}, {1, 2}), m});
  CHECK(vec_a[0].shape() == ir::Shape{2});
  CHECK(ints(vec_a[0]) == std::vector<int>{7, 10});
  auto vec_b = matmul_integer({m, u8({2}, {1, 1})});
  CHECK(vec_b[0].shape() == ir::Shape{2});
  CHECK(ints(vec_b[0]) == std::vector<int>{3, 7});
  auto dot = matmul_integer({u8({2}, {1, 2}), u8({2}, {3, 4})});
  CHECK(dot[0].shape().empty());
  CHECK(ints(dot[0]) == std::vector<int>{11});

  // N-D per-column zero point [batch, 1, N]: batch 0 subtracts {0, 1}, batch 1 {2, 3}.
  auto nd = matmul_integer({u8({2, 1, 2}, {1, 1, 1, 1}), u8({2, 2, 2}, std::vector<uint8_t>(8, 10)),
                            ir::Tensor::scalar<uint8_t>(0), u8({2, 1, 2}, {0, 1, 2, 3})});
  CHECK(ints(nd[0]) == std::vector<int>{20, 18, 16, 14});
}

TEST_CASE("MatMulInteger int32 accumulation wraps around", "[quantized]") {
  constexpr int64_t k = 33100;  // 255 * 255 * 33100 = 2152327500 > 2^31 - 1
  auto y = matmul_integer(
      {u8({1, k}, std::vector<uint8_t>(k, 255)), u8({k, 1}, std::vector<uint8_t>(k, 255))});
  CHECK(ints(y[0]) == std::vector<int>{static_cast<int>(2152327500LL - 4294967296LL)});
}

TEST_CASE("MatMulInteger rejects malformed zero points and shapes", "[quantized]") {
  auto a = u8({2, 3}, {1, 2, 3, 4, 5, 6});
  auto b = u8({3, 2}, {1, 2, 3, 4, 5, 6});
  auto run = [&](std::vector<ir::Tensor> in) { return thrown_kind([&] { matmul_integer(in); }); };
  CHECK(run({a, b, u8({3}, {0, 0, 0})}) == ErrorKind::BadInput);  // per-row needs M = 2
  CHECK(run({a, b, u8({2, 1}, {0, 0}), u8({2, 1}, {0, 0})}) ==
        ErrorKind::BadInput);                                                 // B needs [1, N]
  CHECK(run({a, b, u8({2, 3}, {0, 0, 0, 0, 0, 0})}) == ErrorKind::BadInput);  // not per row
  CHECK(run({a, b, i8({}, {0})}) == ErrorKind::BadInput);                     // dtype != A's
  CHECK(run({a, a}) == ErrorKind::BadInput);                                  // K mismatch
  CHECK(run({a, f32({3, 2}, {1, 2, 3, 4, 5, 6})}) == ErrorKind::Unsupported);
}

// --------------------------------------------------------------------------- QLinearMatMul
TEST_CASE("QLinearMatMul uint8 (ONNX example)", "[quantized]") {
  QMatMul q{u8({2, 4}, {208, 236, 0, 238, 3, 214, 255, 29}),
            f32({1}, {0.0066f}),
            u8({1}, {113}),
            u8({4, 3}, {152, 51, 244, 60, 26, 255, 0, 127, 246, 127, 254, 247}),
            f32({1}, {0.00705f}),
            u8({1}, {114}),
            f32({1}, {0.0107f}),
            u8({1}, {118})};
  auto y = q.run();
  REQUIRE(y[0].shape() == ir::Shape{2, 3});
  CHECK(ints(y[0]) == std::vector<int>{168, 115, 255, 1, 66, 151});
}

TEST_CASE("QLinearMatMul requantizes half to even", "[quantized]") {
  // M = 1 * 1 / 2: accumulators 1, 3, -1, -3 -> 0.5, 1.5, -0.5, -1.5
  auto zero = ir::Tensor::scalar<int8_t>(0);
  QMatMul q{i8({4, 1}, {1, 3, -1, -3}), one(1), zero, i8({1, 1}, {1}), one(1), zero, one(2), zero};
  CHECK(ints(q.run()[0]) == std::vector<int>{0, 2, 0, -2});
}

TEST_CASE("QLinearMatMul saturates at the output type's limits", "[quantized]") {
  auto u0 = ir::Tensor::scalar<uint8_t>(0);
  QMatMul hi{u8({1, 1}, {255}), one(1), u0, u8({1, 1}, {255}), one(1), u0, one(1), u0};
  CHECK(ints(hi.run()[0]) == std::vector<int>{255});
  // (-128 - 127) * (127 - -128) = -65025 -> int8 -128
  QMatMul lo{i8({1, 1}, {-128}),
             one(1),
             ir::Tensor::scalar<int8_t>(127),
             i8({1, 1}, {127}),
             one(1),
             ir::Tensor::scalar<int8_t>(-128),
             one(1),
             ir::Tensor::scalar<int8_t>(0)};
  CHECK(ints(lo.run()[0]) == std::vector<int>{-128});
}

TEST_CASE("QLinearMatMul per-row a_scale and per-column b_scale", "[quantized]") {
  auto z = ir::Tensor::scalar<int8_t>(0);
  // acc = [6, 6]; column multipliers 1 and 0.5
  QMatMul cols{i8({1, 2}, {2, 4}),     one(1),          z,      i8({2, 2}, {1, 1, 1, 1}),
               f32({2}, {1.0f, 0.5f}), i8({2}, {0, 0}), one(1), z};
  CHECK(ints(cols.run()[0]) == std::vector<int>{6, 3});
  // acc = [5, 5]; row multipliers 1 / 2 and 3 / 2: 2.5 -> 2, 7.5 -> 8
  QMatMul rows{i8({2, 1}, {1, 1}),
               f32({2}, {1.0f, 3.0f}),
               i8({2}, {0, 0}),
               i8({1, 1}, {5}),
               one(1),
               z,
               one(2),
               z};
  CHECK(ints(rows.run()[0]) == std::vector<int>{2, 8});
}

TEST_CASE("QLinearMatMul rejects malformed scales", "[quantized]") {
  auto z = ir::Tensor::scalar<int8_t>(0);
  QMatMul ok{i8({2, 2}, {1, 2, 3, 4}), one(1), z, i8({2, 2}, {1, 2, 3, 4}), one(1), z, one(1), z};
  auto fails = [&](QMatMul q) { return thrown_kind([&] { q.run(); }); };
  QMatMul q = ok;
  q.y_scale = f32({2}, {1, 1});
  CHECK(fails(q) == ErrorKind::BadInput);
  q = ok;
  q.a_scale = one(0);
  CHECK(fails(q) == ErrorKind::BadInput);
  q = ok;
  q.a_scale = f32({2}, {1, 1});  // per row, but a_zero_point is per tensor
  CHECK(fails(q) == ErrorKind::BadInput);
  q = ok;
  q.y_scale = one(1e-30f);
  q.a_scale = one(1e20f);  // M = 1e20 / 1e-30 overflows float32
  CHECK(fails(q) == ErrorKind::BadInput);
  q = ok;
  q.b_zp = ir::Tensor::scalar<uint8_t>(0);
  CHECK(fails(q) == ErrorKind::BadInput);
}
