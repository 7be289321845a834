// Gemm and MatMul: transposes, alpha/beta, C broadcasting per opset, numpy matmul shapes,
// integer wrap-around.
#include "test_nn_util.h"

using namespace hone;
using namespace hone::test::nn;
using hone::test::make_node;
using hone::test::run_node;
using hone::test::values;

namespace {
// A = [[1,2,3],[4,5,6]], B = [[1,2],[3,4],[5,6]]: A*B = [[22,28],[49,64]].
const ir::Tensor kA = f32({2, 3}, {1, 2, 3, 4, 5, 6});
const ir::Tensor kB = f32({3, 2}, {1, 2, 3, 4, 5, 6});
const ir::Tensor kAt = f32({3, 2}, {1, 4, 2, 5, 3, 6});
const ir::Tensor kBt = f32({2, 3}, {1, 3, 5, 2, 4, 6});
}  // namespace

TEST_CASE("Gemm transposes A and B", "[nn][Gemm]") {
  const std::vector<float> want{22, 28, 49, 64};
  CHECK(values<float>(run_node(make_node("Gemm", {}, 2), {kA, kB})[0]) == want);
  CHECK(values<float>(run_node(make_node("Gemm", {{"transA", i(1)}}, 2), {kAt, kB})[0]) == want);
  CHECK(values<float>(run_node(make_node("Gemm", {{"transB", i(1)}}, 2), {kA, kBt})[0]) == want);
  auto both = run_node(make_node("Gemm", {{"transA", i(1)}, {"transB", i(1)}}, 2), {kAt, kBt});
  REQUIRE(both[0].shape() == ir::Shape{2, 2});
  CHECK(values<float>(both[0]) == want);
}

TEST_CASE("Gemm alpha, beta and unidirectional broadcast of C", "[nn][Gemm]") {
  auto node = make_node("Gemm", {{"alpha", f(0.5f)}, {"beta", f(2.0f)}}, 3);
  // Scalar, row (N), column (M x 1) and full C.
  CHECK(values<float>(run_node(node, {kA, kB, f32({}, {1})})[0]) ==
        std::vector<float>{13, 16, 26.5f, 34});
  CHECK(values<float>(run_node(node, {kA, kB, f32({2}, {1, 2})})[0]) ==
        std::vector<float>{13, 18, 26.5f, 36});
  CHECK(values<float>(run_node(node, {kA, kB, f32({2, 1}, {1, 2})})[0]) ==
        std::vector<float>{13, 16, 28.5f, 36});
  CHECK(values<float>(run_node(node, {kA, kB, f32({2, 2}, {1, 2, 3, 4})})[0]) ==
        std::vector<float>{13, 18, 30.5f, 40});
  // C of shape [3] does not broadcast to [2, 2].
  CHECK(error_kind([&] { run_node(node, {kA, kB, f32({3}, {1, 2, 3})}); }) == ErrorKind::BadInput);
}

TEST_CASE("Gemm C handling by opset", "[nn][Gemm]") {
  // Opset 11 makes C optional; before, it is required.
  CHECK(values<float>(run_node(make_node("Gemm", {}, 2), {kA, kB}, 11)[0]) ==
        std::vector<float>{22, 28, 49, 64});
  CHECK(error_kind([&] {
          run_node(make_node("Gemm", {}, 2), {kA, kB}, 9);
        }) == ErrorKind::BadInput);
  // Opset 6 broadcasts C only with broadcast=1.
  auto row = f32({2}, {1, 2});
  CHECK(error_kind([&] {
          run_node(make_node("Gemm", {}, 3), {kA, kB, row}, 6);
        }) == ErrorKind::BadInput);
  CHECK(values<float>(run_node(make_node("Gemm", {{"broadcast", i(1)}}, 3), {kA, kB, row}, 6)[0]) ==
        std::vector<float>{23, 30, 50, 66});
  CHECK(values<float>(run_node(make_node("Gemm", {}, 3), {kA, kB, f32({2, 2}, {1, 1, 1, 1})},
                               6)[0]) == std::vector<float>{23, 29, 50, 65});
}

TEST_CASE("Gemm on integers wraps; non-integral alpha is unsupported", "[nn][Gemm]") {
  auto a = ir::Tensor::from_vector<int32_t>({1, 2}, {65536, 3});
  auto b = ir::Tensor::from_vector<int32_t>({2, 1}, {65536, -4});
  auto c = ir::Tensor::from_vector<int32_t>({1}, {5});
  // 2^32 - 12 wraps to -12; + 2 * 5.
  auto y = run_node(make_node("Gemm", {{"beta", f(2.0f)}}, 3), {a, b, c});
  CHECK(values<int32_t>(y[0]) == std::vector<int32_t>{-2});
  CHECK(error_kind([&] {
          run_node(make_node("Gemm", {{"alpha", f(0.5f)}}, 3), {a, b, c});
        }) == ErrorKind::Unsupported);
  CHECK(error_kind([&] { run_node(make_node("Gemm", {}, 2), {kA, kA}); }) == ErrorKind::BadInput);
}

TEST_CASE("MatMul 2-D and 1-D operands follow numpy.matmul", "[nn][MatMul]") {
  auto y = run_node(make_node("MatMul", {}, 2), {kA, kB});
  REQUIRE(y[0].shape() == ir::Shape{2, 2});
  CHECK(values<float>(y[0]) == std::vector<float>{22, 28, 49, 64});
  auto v3 = f32({3}, {1, 0, -1});
  y = run_node(make_node("MatMul", {}, 2), {v3, kB});  // [3] x [3,2] -> [2]
  REQUIRE(y[0].shape() == ir::Shape{2});
  CHECK(values<float>(y[0]) == std::vector<float>{-4, -4});
  y = run_node(make_node("MatMul", {}, 2), {kA, v3});  // [2,3] x [3] -> [2]
  REQUIRE(y[0].shape() == ir::Shape{2});
  CHECK(values<float>(y[0]) == std::vector<float>{-2, -2});
  y = run_node(make_node("MatMul", {}, 2), {v3, f32({3}, {2, 5, 1})});  // dot -> scalar
  REQUIRE(y[0].shape() == ir::Shape{});
  CHECK(values<float>(y[0]) == std::vector<float>{1});
  // 1-D against a batch: [3] x [2,3,2] -> [2,2].
  auto bb = f32({2, 3, 2}, {1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 1, 1});
  y = run_node(make_node("MatMul", {}, 2), {v3, bb});
  REQUIRE(y[0].shape() == ir::Shape{2, 2});
  CHECK(values<float>(y[0]) == std::vector<float>{-4, -4, -1, -1});
  CHECK(error_kind([&] { run_node(make_node("MatMul", {}, 2), {kA, kA}); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] {
          run_node(make_node("MatMul", {}, 2), {f32({}, {1}), kA});
        }) == ErrorKind::BadInput);
}

TEST_CASE("MatMul broadcasts batch dims", "[nn][MatMul]") {
  // [2,1,1,2] x [3,2,1] -> [2,3,1,1]: A batch (2,1) against B batch (3).
  auto a = f32({2, 1, 1, 2}, {1, 2, 3, 4});
  auto b = f32({3, 2, 1}, {1, 0, 0, 1, 1, 1});
  auto y = run_node(make_node("MatMul", {}, 2), {a, b});
  REQUIRE(y[0].shape() == ir::Shape{2, 3, 1, 1});
  CHECK(values<float>(y[0]) == std::vector<float>{1, 2, 3, 3, 4, 7});
  // Zero-size batch.
  y = run_node(make_node("MatMul", {}, 2), {f32({0, 2, 3}, {}), kB});
  CHECK(y[0].shape() == ir::Shape{0, 2, 2});
  // K = 0 gives zeros.
  y = run_node(make_node("MatMul", {}, 2), {f32({2, 0}, {}), f32({0, 3}, {})});
  CHECK(values<float>(y[0]) == std::vector<float>(6, 0.0f));
}

TEST_CASE("MatMul on int64 and uint32 wraps like numpy", "[nn][MatMul]") {
  auto a = ir::Tensor::from_vector<int64_t>({1, 2}, {INT64_MAX, 1});
  auto b = ir::Tensor::from_vector<int64_t>({2, 1}, {2, 3});
  CHECK(values<int64_t>(run_node(make_node("MatMul", {}, 2), {a, b})[0]) ==
        std::vector<int64_t>{1});  // 2*(2^63-1) + 3 = 2^64 + 1
  auto ua = ir::Tensor::from_vector<uint32_t>({1, 1}, {4000000000u});
  auto ub = ir::Tensor::from_vector<uint32_t>({1, 1}, {2u});
  CHECK(values<uint32_t>(run_node(make_node("MatMul", {}, 2), {ua, ub})[0]) ==
        std::vector<uint32_t>{3705032704u});  // 8e9 mod 2^32
  auto i8 = ir::Tensor::from_vector<int8_t>({1, 1}, {1});
  CHECK(error_kind([&] {
          run_node(make_node("MatMul", {}, 2), {i8, i8});
        }) == ErrorKind::Unsupported);
}

TEST_CASE("Empty tensors with absurd other dims cannot even be built", "[nn][MatMul]") {
  // numel is 0, but M * K would overflow int64 if a kernel multiplied them: checked_numel
  // bounds the product of the non-zero dims, so such an operand never reaches MatMul.
  CHECK(error_kind([&] { f32({0, int64_t{1} << 40, int64_t{1} << 40}, {}); }) == ErrorKind::BadInput);
}
