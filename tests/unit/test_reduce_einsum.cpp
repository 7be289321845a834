// Einsum, checked against numpy.einsum's results.
#include "test_reduce_util.h"

using namespace hone;
using namespace hone::test::reduce;
using hone::test::values;

namespace {
std::vector<ir::Tensor> einsum(const std::string& eq, const std::vector<ir::Tensor>& xs) {
  return run("Einsum", {{"equation", str(eq)}}, xs, 12);
}
const ir::Tensor kA = f32({2, 3}, {1, 2, 3, 4, 5, 6});
const ir::Tensor kB = f32({3, 2}, {1, 0, 0, 1, 1, 1});
}  // namespace

TEST_CASE("Einsum matrix product, explicit and implicit", "[reduce][Einsum]") {
  auto y = einsum("ij,jk->ik", {kA, kB});
  CHECK(y[0].shape() == ir::Shape{2, 2});
  CHECK(values<float>(y[0]) == std::vector<float>{4, 5, 10, 11});
  CHECK(einsum("ij, jk", {kA, kB})[0].identical(y[0]));  // spaces allowed; implicit -> "ik"
}

TEST_CASE("Einsum transpose, sums, trace and diagonal", "[reduce][Einsum]") {
  auto t = einsum("ij->ji", {kA});
  CHECK(t[0].shape() == ir::Shape{3, 2});
  CHECK(values<float>(t[0]) == std::vector<float>{1, 4, 2, 5, 3, 6});
  // Implicit output is in ASCII order: "ba" -> "ab" is a transpose; 'A' sorts before 'b'.
  CHECK(einsum("ba", {kA})[0].identical(t[0]));
  CHECK(einsum("bA", {kA})[0].identical(t[0]));
  CHECK(values<float>(einsum("ij->i", {kA})[0]) == std::vector<float>{6, 15});
  CHECK(values<float>(einsum("ij->", {kA})[0]) == std::vector<float>{21});
  const ir::Tensor sq = f32({2, 2}, {1, 2, 3, 4});
  CHECK(values<float>(einsum("ii", {sq})[0]) == std::vector<float>{5});
  CHECK(values<float>(einsum("ii->i", {sq})[0]) == std::vector<float>{1, 4});
}

TEST_CASE("Einsum ellipsis broadcasts right-aligned", "[reduce][Einsum]") {
  // Batched dot product: x [2, 1, 3] and y [4, 3] -> [2, 4].
  std::vector<float> xv = {1, 1, 1, 2, 2, 2}, yv;
  for (int r = 0; r < 4; ++r) yv.insert(yv.end(), {float(r), 0, 0});
  auto y = einsum("...i,...i->...", {f32({2, 1, 3}, xv), f32({4, 3}, yv)});
  CHECK(y[0].shape() == ir::Shape{2, 4});
  CHECK(values<float>(y[0]) == std::vector<float>{0, 1, 2, 3, 0, 2, 4, 6});
  auto b = einsum("...ij,...jk", {f32({1, 2, 3}, {1, 2, 3, 4, 5, 6}), kB});
  CHECK(b[0].shape() == ir::Shape{1, 2, 2});
  CHECK(values<float>(b[0]) == std::vector<float>{4, 5, 10, 11});
}

TEST_CASE("Einsum on integers", "[reduce][Einsum]") {
  auto y = einsum("i,i", {i64({3}, {1, 2, 3}), i64({3}, {4, 5, 6})});
  CHECK(values<int64_t>(y[0]) == std::vector<int64_t>{32});
}

TEST_CASE("Einsum rejects malformed equations", "[reduce][Einsum]") {
  CHECK(error_kind([&] { einsum("ij,jk->ik", {kA}); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] { einsum("ij,jk->ik", {kA, kA}); }) == ErrorKind::BadInput);  // j: 3 vs 2
  CHECK(error_kind([&] { einsum("ijk->i", {kA}); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] { einsum("ij->iz", {kA}); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] { einsum("ij->ii", {kA}); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] { einsum("i1->i", {kA}); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] { einsum("...j->j", {kA}); }) == ErrorKind::BadInput);
}
