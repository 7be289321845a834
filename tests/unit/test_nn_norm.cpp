// Normalizations (BatchNormalization, InstanceNormalization, LayerNormalization, LRN,
// MeanVarianceNormalization) and Dropout: hand-computed values and the version-specific modes.
#include "test_nn_util.h"

#include <cmath>

using namespace hone;
using namespace hone::test::nn;
using hone::test::make_node;
using hone::test::run_node;
using hone::test::values;

namespace {

std::vector<ir::Tensor> batch_norm(std::map<std::string, ir::Attribute> attrs, ir::Tensor x,
                                   std::vector<float> scale, std::vector<float> b,
                                   std::vector<float> mean, std::vector<float> var,
                                   int64_t opset = 15, ir::Shape param_shape = {}) {
  if (param_shape.empty()) param_shape = {static_cast<int64_t>(scale.size())};
  return run_node(make_node("BatchNormalization", std::move(attrs), 5),
                  {std::move(x), f32(param_shape, scale), f32(param_shape, b),
                   f32(param_shape, mean), f32(param_shape, var)},
                  opset);
}

// One-node graph whose inputs after the first are initializers (constants known at load).
std::vector<ir::Tensor> run_with_constants(ir::Node node, const ir::Tensor& x,
                                           const std::vector<ir::Tensor>& constants,
                                           int64_t opset) {
  ir::Graph g;
  g.opset_imports[""] = opset;
  g.inputs = {"x"};
  g.values["x"].dtype = x.dtype();
  node.inputs = {"x"};
  for (size_t k = 0; k < constants.size(); ++k) {
    node.inputs.push_back("c" + std::to_string(k));
    g.initializers[node.inputs.back()] = constants[k];
  }
  node.outputs = {"y"};
  node.name = "n0";
  g.outputs = {"y"};
  g.add_node(std::move(node));
  runtime::ReferenceInterpreter interp(g);
  return interp.run(std::vector<ir::Tensor>{x});
}

}  // namespace

TEST_CASE("BatchNormalization inference by hand", "[nn][BatchNormalization]") {
  auto x = f32({1, 2, 1, 2}, {1, 2, 3, 4});
  auto y = batch_norm({{"epsilon", f(0)}}, x, {1, 2}, {0, 1}, {1, 3}, {4, 0.25f});
  CHECK(values<float>(y[0]) == std::vector<float>{0, 0.5f, 1, 5});
  // Default epsilon 1e-5.
  y = batch_norm({}, x, {1, 1}, {0, 0}, {0, 0}, {1, 1});
  CHECK_THAT(values<float>(y[0]),
             close_to<float>({1 / std::sqrt(1.00001f), 2 / std::sqrt(1.00001f),
                              3 / std::sqrt(1.00001f), 4 / std::sqrt(1.00001f)}));
  // Rank 1: N samples of one channel (opset 15); rank 2: N x C.
  y = batch_norm({{"epsilon", f(0)}}, f32({3}, {1, 2, 3}), {2}, {1}, {2}, {1});
  CHECK(values<float>(y[0]) == std::vector<float>{-1, 1, 3});
  y = batch_norm({{"epsilon", f(0)}}, f32({2, 2}, {1, 2, 3, 4}), {1, 1}, {0, 0}, {1, 2}, {1, 1});
  CHECK(values<float>(y[0]) == std::vector<float>{0, 0, 2, 2});
}

TEST_CASE("BatchNormalization opset 6/7 modes", "[nn][BatchNormalization]") {
  auto x = f32({1, 2, 2}, {2, 2, 2, 2});
  // spatial=0 (opset 7): one parameter per activation, shape C x D.
  auto y = batch_norm({{"epsilon", f(0)}, {"spatial", i(0)}}, x, {1, 1, 1, 1}, {0, 0, 0, 0},
                      {1, 2, 3, 4}, {1, 1, 1, 1}, 7, {2, 2});
  CHECK(values<float>(y[0]) == std::vector<float>{1, 0, -1, -2});
  // Opset 6 runs only in test mode.
  y = batch_norm({{"epsilon", f(0)}, {"is_test", i(1)}}, x, {1, 1}, {0, 0}, {1, 2}, {1, 1}, 6);
  CHECK(values<float>(y[0]) == std::vector<float>{1, 1, 0, 0});
  CHECK(error_kind([&] {
          batch_norm({}, x, {1, 1}, {0, 0}, {1, 2}, {1, 1}, 6);
        }) == ErrorKind::Unsupported);
}

TEST_CASE("BatchNormalization rejects training mode and bad parameters",
          "[nn][BatchNormalization]") {
  auto x = f32({1, 2, 2}, {1, 2, 3, 4});
  CHECK(error_kind([&] {
          batch_norm({{"training_mode", i(1)}}, x, {1, 1}, {0, 0}, {0, 0}, {1, 1});
        }) == ErrorKind::Unsupported);
  auto p = f32({2}, {1, 1});
  CHECK(error_kind([&] {
          run_node(make_node("BatchNormalization", {}, 5), {x, p, p, p, p}, 15, 3);
        }) == ErrorKind::Unsupported);
  CHECK(error_kind([&] {
          batch_norm({}, x, {1, 1, 1}, {0, 0, 0}, {0, 0, 0}, {1, 1, 1});
        }) == ErrorKind::BadInput);
}

TEST_CASE("InstanceNormalization normalizes each (n, c) plane", "[nn][InstanceNormalization]") {
  auto x = f32({1, 2, 2}, {1, 3, 2, 2});
  auto y =
      run_node(make_node("InstanceNormalization", {}, 3), {x, f32({2}, {1, 2}), f32({2}, {0, 1})});
  const float inv = 1 / std::sqrt(1.00001f);
  CHECK_THAT(values<float>(y[0]), close_to<float>({-inv, inv, 1, 1}));
  CHECK(error_kind([&] {
          run_node(make_node("InstanceNormalization", {}, 3), {x, f32({1}, {1}), f32({1}, {0})});
        }) == ErrorKind::BadInput);
}

TEST_CASE("LayerNormalization over trailing axes with Mean and InvStdDev",
          "[nn][LayerNormalization]") {
  auto x = f32({2, 3}, {1, 2, 3, 2, 4, 6});
  auto y = run_node(make_node("LayerNormalization", {}, 3),
                    {x, f32({3}, {1, 1, 2}), f32({3}, {0, 0, 1})}, 17, 3);
  const float r0 = 1 / std::sqrt(2.0f / 3 + 1e-5f), r1 = 1 / std::sqrt(8.0f / 3 + 1e-5f);
  CHECK_THAT(values<float>(y[0]), close_to<float>({-r0, 0, 2 * r0 + 1, -2 * r1, 0, 4 * r1 + 1}));
  REQUIRE(y[1].shape() == ir::Shape{2, 1});
  CHECK_THAT(values<float>(y[1]), close_to<float>({2, 4}));
  CHECK_THAT(values<float>(y[2]), close_to<float>({r0, r1}));
  // axis 0: one group over everything; Scale broadcasts from [1, 3]; B omitted.
  auto node = make_node("LayerNormalization", {{"axis", i(0)}, {"epsilon", f(0)}}, 2);
  y = run_node(node, {f32({2, 2}, {1, 1, 3, 3}), f32({1, 2}, {1, 2})}, 17, 2);
  CHECK(values<float>(y[0]) == std::vector<float>{-1, -2, 1, 2});
  CHECK(y[1].shape() == ir::Shape{1, 1});
  CHECK(values<float>(y[1]) == std::vector<float>{2});
}

TEST_CASE("LayerNormalization rejects bad axis, Scale and stash_type", "[nn][LayerNormalization]") {
  auto x = f32({2, 3}, {1, 2, 3, 2, 4, 6});
  auto scale = f32({3}, {1, 1, 1});
  CHECK(error_kind([&] {
          run_node(make_node("LayerNormalization", {{"axis", i(3)}}, 2), {x, scale});
        }) == ErrorKind::BadInput);
  CHECK(error_kind([&] {
          run_node(make_node("LayerNormalization", {}, 2), {x, f32({2}, {1, 1})});
        }) == ErrorKind::BadInput);
  CHECK(error_kind([&] {
          run_node(make_node("LayerNormalization", {{"stash_type", i(11)}}, 2), {x, scale});
        }) == ErrorKind::Unsupported);
}

TEST_CASE("LRN sums squares over a clipped channel window", "[nn][LRN]") {
  auto x = f32({1, 3, 1, 1}, {1, 2, 3});
  // alpha / size = 1, beta = 1, bias = 1: y = x / (1 + square_sum).
  auto y = run_node(make_node("LRN", {{"size", i(3)}, {"alpha", f(3)}, {"beta", f(1)}}), {x});
  CHECK_THAT(values<float>(y[0]), close_to<float>({1.0f / 6, 2.0f / 15, 3.0f / 14}));
  // Even size 2: window [c, c + 1].
  y = run_node(make_node("LRN", {{"size", i(2)}, {"alpha", f(2)}, {"beta", f(1)}}), {x});
  CHECK_THAT(values<float>(y[0]), close_to<float>({1.0f / 6, 2.0f / 14, 3.0f / 10}));
  // Defaults alpha 1e-4, beta 0.75, bias 1.
  y = run_node(make_node("LRN", {{"size", i(1)}}), {x});
  CHECK_THAT(values<float>(y[0]),
             close_to<float>({1 / std::pow(1 + 1e-4f, 0.75f), 2 / std::pow(1 + 4e-4f, 0.75f),
                              3 / std::pow(1 + 9e-4f, 0.75f)}));
  CHECK(error_kind([&] { run_node(make_node("LRN"), {x}); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] {
          run_node(make_node("LRN", {{"size", i(0)}}), {x});
        }) == ErrorKind::BadInput);
}

TEST_CASE("MeanVarianceNormalization over default and custom axes",
          "[nn][MeanVarianceNormalization]") {
  // Default axes [0, 2, 3]: statistics per channel across the batch.
  auto y = run_node(make_node("MeanVarianceNormalization"), {f32({2, 1, 1, 2}, {1, 2, 3, 4})});
  const float sd = std::sqrt(1.25f);
  CHECK_THAT(values<float>(y[0]), close_to<float>({-1.5f / sd, -0.5f / sd, 0.5f / sd, 1.5f / sd}));
  y = run_node(make_node("MeanVarianceNormalization", {{"axes", ints({-1})}}),
               {f32({2, 2}, {1, 3, 5, 5})});
  CHECK_THAT(values<float>(y[0]), close_to<float>({-1, 1, 0, 0}));
  CHECK(error_kind([&] {
          run_node(make_node("MeanVarianceNormalization", {{"axes", ints({1, -1})}}),
                   {f32({2, 2}, {1, 3, 5, 5})});
        }) == ErrorKind::BadInput);
}

TEST_CASE("Dropout in inference is the identity with an all-true mask", "[nn][Dropout]") {
  auto x = f32({2}, {1.5f, -2});
  auto y = run_node(make_node("Dropout"), {x}, 13, 2);
  CHECK(values<float>(y[0]) == std::vector<float>{1.5f, -2});
  REQUIRE(y[1].dtype() == ir::DType::Bool);
  CHECK(values<bool>(y[1]) == std::vector<bool>{true, true});
  // Before opset 10 the mask has X's type.
  y = run_node(make_node("Dropout", {{"ratio", f(0.3f)}}), {x}, 7, 2);
  REQUIRE(y[1].dtype() == ir::DType::Float32);
  CHECK(values<float>(y[1]) == std::vector<float>{1, 1});
  // A ratio input alone does not train.
  y = run_node(make_node("Dropout", {}, 2), {x, f32({}, {0.5f})}, 13);
  CHECK(values<float>(y[0]) == std::vector<float>{1.5f, -2});
}

TEST_CASE("Dropout training mode is supported only when deterministic", "[nn][Dropout]") {
  auto x = f32({2}, {1.5f, -2});
  CHECK(error_kind([&] { run_node(make_node("Dropout"), {x}, 6); }) == ErrorKind::Unsupported);
  CHECK(values<float>(run_node(make_node("Dropout", {{"is_test", i(1)}}), {x}, 6)[0]) ==
        std::vector<float>{1.5f, -2});
  CHECK(values<float>(run_node(make_node("Dropout", {{"ratio", f(0)}}), {x}, 6)[0]) ==
        std::vector<float>{1.5f, -2});
  // training_mode from a graph input could be true at run time with a random result.
  CHECK(
      error_kind([&] {
        run_node(make_node("Dropout", {}, 3), {x, f32({}, {0.0f}), ir::Tensor::scalar(false)}, 13);
      }) == ErrorKind::Unsupported);
  // Constants: training with ratio 0 is the identity; constant false is inference.
  auto y =
      run_with_constants(make_node("Dropout"), x, {f32({}, {0.0f}), ir::Tensor::scalar(true)}, 13);
  CHECK(values<float>(y[0]) == std::vector<float>{1.5f, -2});
  y = run_with_constants(make_node("Dropout"), x, {f32({}, {0.5f}), ir::Tensor::scalar(false)}, 13);
  CHECK(values<float>(y[0]) == std::vector<float>{1.5f, -2});
  CHECK(error_kind([&] {
          run_with_constants(make_node("Dropout"), x, {f32({}, {0.5f}), ir::Tensor::scalar(true)},
                             13);
        }) == ErrorKind::Unsupported);
}
