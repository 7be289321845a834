// Tensor family: index-driven ops (Gather, GatherElements, GatherND, Compress, NonZero,
// ScatterElements, Scatter, ScatterND).
#include "test_tensor_common.h"

#include <cmath>

using namespace hone;
using namespace hone::test;
using Catch::Matchers::Contains;

namespace {

ir::Tensor gather(const ir::Tensor& data, const ir::Tensor& indices, int64_t axis) {
  return run_node(make_node("Gather", {{"axis", one(axis)}}, 2), {data, indices})[0];
}

}  // namespace

TEST_CASE("Gather along axis 0 and 1, negative indices, scalar index", "[tensor][Gather]") {
  auto data = iota_f32({3, 2});
  auto y = gather(data, ir::Tensor::from_vector<int64_t>({2, 2}, {0, -1, 1, 0}), 0);
  REQUIRE(y.shape() == ir::Shape{2, 2, 2});
  CHECK(values<float>(y) == std::vector<float>{0, 1, 4, 5, 2, 3, 0, 1});
  auto z = gather(data, ir::Tensor::from_vector<int32_t>({1}, {1}), -1);
  CHECK(z.shape() == ir::Shape{3, 1});
  CHECK(values<float>(z) == std::vector<float>{1, 3, 5});
  auto s = gather(data, ir::Tensor::scalar<int64_t>(2), 0);
  CHECK(s.shape() == ir::Shape{2});
  CHECK(values<float>(s) == std::vector<float>{4, 5});
}

TEST_CASE("Gather rejects out-of-range indices, naming them", "[tensor][Gather]") {
  auto data = iota_f32({3, 2});
  CHECK_THROWS_WITH(gather(data, i64({0, 3}), 0), Contains("index 3"));
  CHECK_THROWS_WITH(gather(data, i64({-4}), 0), Contains("index -4"));
  CHECK_THROWS_AS(gather(data, i64({0}), 2), Error);
  CHECK_THROWS_AS(gather(data, iota_f32({1}), 0), Error);  // float indices
}

TEST_CASE("GatherElements picks along the axis", "[tensor][GatherElements]") {
  auto data = ir::Tensor::from_vector<int32_t>({2, 2}, {1, 2, 3, 4});
  auto ge = [&](std::vector<int64_t> idx, ir::Shape shape, int64_t axis) {
    return run_node(make_node("GatherElements", {{"axis", one(axis)}}, 2),
                    {data, ir::Tensor::from_vector<int64_t>(std::move(shape), idx)})[0];
  };
  CHECK(values<int32_t>(ge({0, 0, 1, 0}, {2, 2}, 1)) == std::vector<int32_t>{1, 1, 4, 3});
  auto y = ge({-1, 0}, {1, 2}, 0);
  CHECK(y.shape() == ir::Shape{1, 2});
  CHECK(values<int32_t>(y) == std::vector<int32_t>{3, 2});
  CHECK_THROWS_WITH(ge({2, 0}, {1, 2}, 0), Contains("index 2"));
  CHECK_THROWS_AS(ge({0, 0, 0}, {1, 3}, 0), Error);  // wider than data off the axis
}

TEST_CASE("GatherND with and without batch_dims", "[tensor][GatherND]") {
  auto gnd = [](const ir::Tensor& data, std::vector<int64_t> idx, ir::Shape shape, int64_t b = 0) {
    return run_node(make_node("GatherND", {{"batch_dims", one(b)}}, 2),
                    {data, ir::Tensor::from_vector<int64_t>(std::move(shape), idx)})[0];
  };
  auto d2 = iota_f32({2, 2});
  CHECK(values<float>(gnd(d2, {0, 0, 1, 1}, {2, 2})) == std::vector<float>{0, 3});
  auto rows = gnd(d2, {1, 0}, {2, 1});
  CHECK(rows.shape() == ir::Shape{2, 2});
  CHECK(values<float>(rows) == std::vector<float>{2, 3, 0, 1});
  // batch_dims = 1: batch 0 picks data[0][1], batch 1 picks data[1][0].
  auto batched = gnd(iota_f32({2, 2, 2}), {1, 0}, {2, 1}, 1);
  CHECK(batched.shape() == ir::Shape{2, 2});
  CHECK(values<float>(batched) == std::vector<float>{2, 3, 4, 5});
  CHECK(values<float>(gnd(d2, {-1, -2}, {1, 2})) == std::vector<float>{2});
  CHECK_THROWS_WITH(gnd(d2, {0, 2}, {1, 2}), Contains("index 2"));
  CHECK_THROWS_AS(gnd(d2, {0, 0, 0}, {1, 3}), Error);  // k > rank
  CHECK_THROWS_AS(gnd(d2, {0}, {1, 1}, 1), Error);     // batch dims differ (2 vs 1)
}

TEST_CASE("Compress along an axis and flattened", "[tensor][Compress]") {
  auto x = iota_f32({3, 2});
  auto compress = [&](std::vector<uint8_t> cond, std::map<std::string, ir::Attribute> attrs) {
    const auto n = static_cast<int64_t>(cond.size());
    return run_node(make_node("Compress", std::move(attrs), 2),
                    {x, bools({n}, std::move(cond))})[0];
  };
  auto y = compress({0, 1, 1}, {{"axis", one(0)}});
  CHECK(y.shape() == ir::Shape{2, 2});
  CHECK(values<float>(y) == std::vector<float>{2, 3, 4, 5});
  auto z = compress({0, 1}, {{"axis", one(-1)}});
  CHECK(z.shape() == ir::Shape{3, 1});
  CHECK(values<float>(z) == std::vector<float>{1, 3, 5});
  // No axis: flattened; a short condition drops the rest.
  CHECK(values<float>(compress({0, 1, 0, 0, 1}, {})) == std::vector<float>{1, 4});
  CHECK_THROWS_AS(compress({0, 0, 0, 1}, {{"axis", one(0)}}), Error);
}

TEST_CASE("NonZero lists indices in row-major order", "[tensor][NonZero]") {
  auto y =
      run_node(make_node("NonZero"), {ir::Tensor::from_vector<int32_t>({2, 2}, {1, 0, 1, 1})})[0];
  REQUIRE(y.shape() == ir::Shape{2, 3});
  CHECK(values<int64_t>(y) == std::vector<int64_t>{0, 1, 1, 0, 0, 1});
  auto f = ir::Tensor::from_vector<float>({3}, {-0.0f, std::nanf(""), 2.0f});
  CHECK(values<int64_t>(run_node(make_node("NonZero"), {f})[0]) == std::vector<int64_t>{1, 2});
  auto s = run_node(make_node("NonZero"), {ir::Tensor::scalar<float>(5.0f)})[0];
  CHECK(s.shape() == ir::Shape{0, 1});
}

TEST_CASE("ScatterElements: the spec example, negative indices", "[tensor][ScatterElements]") {
  auto data = ir::Tensor::zeros(ir::DType::Float32, {3, 3});
  auto idx = ir::Tensor::from_vector<int64_t>({2, 3}, {1, 0, 2, 0, 2, 1});
  auto upd = ir::Tensor::from_vector<float>({2, 3}, {1.0f, 1.1f, 1.2f, 2.0f, 2.1f, 2.2f});
  auto y = run_node(make_node("ScatterElements", {}, 3), {data, idx, upd})[0];
  CHECK(values<float>(y) == std::vector<float>{2.0f, 1.1f, 0, 1.0f, 0, 2.2f, 0, 2.1f, 1.2f});
  auto neg = ir::Tensor::from_vector<int64_t>({2, 3}, {-2, 0, -1, 0, -1, 1});
  CHECK(values<float>(run_node(make_node("ScatterElements", {}, 3), {data, neg, upd})[0]) ==
        values<float>(y));
  // The deprecated name behaves the same (opset 10).
  CHECK(values<float>(run_node(make_node("Scatter", {}, 3), {data, idx, upd}, 10)[0]) ==
        values<float>(y));
  CHECK_THROWS_WITH(run_node(make_node("ScatterElements", {}, 3),
                             {data, ir::Tensor::from_vector<int64_t>({1, 1}, {3}),
                              ir::Tensor::from_vector<float>({1, 1}, {1})}),
                    Contains("index 3"));
}

TEST_CASE("ScatterElements reductions apply every duplicate, integers wrap",
          "[tensor][ScatterElements]") {
  auto data = ir::Tensor::from_vector<int32_t>({1, 5}, {1, 2, 3, 4, 5});
  auto idx = ir::Tensor::from_vector<int64_t>({1, 2}, {1, 1});
  auto upd = ir::Tensor::from_vector<int32_t>({1, 2}, {10, 20});
  auto scatter = [&](const char* reduction, const ir::Tensor& d, const ir::Tensor& u) {
    return run_node(
        make_node("ScatterElements", {{"axis", one(1)}, {"reduction", str(reduction)}}, 3),
        {d, idx, u})[0];
  };
  CHECK(values<int32_t>(scatter("none", data, upd)) == std::vector<int32_t>{1, 20, 3, 4, 5});
  CHECK(values<int32_t>(scatter("add", data, upd)) == std::vector<int32_t>{1, 32, 3, 4, 5});
  CHECK(values<int32_t>(scatter("mul", data, upd)) == std::vector<int32_t>{1, 400, 3, 4, 5});
  auto i8 = ir::Tensor::from_vector<int8_t>({1, 2}, {0, 100});
  auto u8 = ir::Tensor::from_vector<int8_t>({1, 2}, {20, 10});
  CHECK(values<int8_t>(scatter("add", i8, u8)) == std::vector<int8_t>{0, -126});
  CHECK_THROWS_AS(scatter("max", data, upd), Error);  // opset 18, not 16/17
}

TEST_CASE("ScatterND writes slices; add and mul reductions", "[tensor][ScatterND]") {
  auto data = ir::Tensor::from_vector<int64_t>({8}, {1, 2, 3, 4, 5, 6, 7, 8});
  auto idx = ir::Tensor::from_vector<int64_t>({4, 1}, {4, 3, 1, 7});
  auto upd = ir::Tensor::from_vector<int64_t>({4}, {9, 10, 11, 12});
  auto y = run_node(make_node("ScatterND", {}, 3), {data, idx, upd})[0];
  CHECK(values<int64_t>(y) == std::vector<int64_t>{1, 11, 3, 10, 9, 6, 7, 12});

  auto d2 = ir::Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4});
  auto dup = ir::Tensor::from_vector<int64_t>({2, 1}, {0, 0});
  auto rows = ir::Tensor::from_vector<float>({2, 2}, {5, 6, 7, 8});
  auto nd = [&](const char* reduction) {
    return values<float>(
        run_node(make_node("ScatterND", {{"reduction", str(reduction)}}, 3), {d2, dup, rows})[0]);
  };
  CHECK(nd("add") == std::vector<float>{13, 16, 3, 4});
  CHECK(nd("mul") == std::vector<float>{35, 96, 3, 4});
  CHECK_THROWS_AS(run_node(make_node("ScatterND", {}, 3),
                           {d2, ir::Tensor::from_vector<int64_t>({1, 1}, {-3}), iota_f32({1, 2})}),
                  Error);
  CHECK_THROWS_AS(run_node(make_node("ScatterND", {}, 3), {d2, dup, iota_f32({2, 3})}), Error);
}
