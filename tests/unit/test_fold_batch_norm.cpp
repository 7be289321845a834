// fold_batch_norm: the folded graph computes what the unfolded one did (within 1e-5 relative),
// for Conv (grouped), ConvTranspose and Gemm producers; BNs that cannot fold are reported.
#include "ir/graph.h"
#include "passes/pass.h"
#include "passes/passes.h"
#include "pipeline/component.h"
#include "runtime/reference/interpreter.h"

#include <catch2/catch.hpp>

#include <random>

using namespace hone;
using nlohmann::json;

namespace {

std::mt19937 rng(7);

ir::Tensor random_tensor(ir::Shape shape, float lo, float hi) {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = u(rng);
  return ir::Tensor::from_vector<float>(shape, v);
}

void add_value(ir::Graph& g, const std::string& name, ir::Shape shape) {
  ir::ValueInfo vi;
  vi.dtype = ir::DType::Float32;
  std::vector<ir::Dim> dims;
  for (auto d : shape) dims.push_back({d, ""});
  vi.shape = dims;
  g.values[name] = vi;
}

// x -> producer -> BatchNormalization -> Relu -> y
ir::Model producer_bn_model(ir::Node producer, ir::Shape x_shape, int64_t channels) {
  ir::Model m;
  ir::Graph& g = m.graph;
  g.opset_imports[""] = 13;
  g.inputs = {"x"};
  g.outputs = {"y"};
  add_value(g, "x", x_shape);
  g.initializers["gamma"] = random_tensor({channels}, 0.5f, 2.0f);
  g.initializers["beta"] = random_tensor({channels}, -1.0f, 1.0f);
  g.initializers["mean"] = random_tensor({channels}, -0.5f, 0.5f);
  g.initializers["var"] = random_tensor({channels}, 0.1f, 3.0f);
  producer.name = "p";
  producer.inputs[0] = "x";
  producer.outputs = {"p_out"};
  g.add_node(producer);
  ir::Node bn;
  bn.name = "bn";
  bn.op_type = "BatchNormalization";
  bn.inputs = {"p_out", "gamma", "beta", "mean", "var"};
  bn.outputs = {"bn_out"};
  bn.attrs["epsilon"] = ir::Attribute::of_float(1e-3f);
  g.add_node(bn);
  ir::Node relu;
  relu.name = "relu";
  relu.op_type = "Relu";
  relu.inputs = {"bn_out"};
  relu.outputs = {"y"};
  g.add_node(relu);
  return m;
}

json fold(ir::Model& m) {
  auto reg = passes::fold_batch_norm_registration();
  const json params = pipeline::validate_parameters(reg.spec, json::object(), "/optimizers/0/parameters");
  auto pass = pipeline::create<passes::Pass>(reg, params, {});
  return pass->run(m, {});
}

void check_same_outputs(const ir::Model& before, const ir::Model& after, ir::Shape x_shape) {
  const ir::Tensor x = random_tensor(x_shape, -1.0f, 1.0f);
  std::vector<ir::Tensor> in{x};
  const auto a = runtime::ReferenceInterpreter(before.graph).run(in);
  const auto b = runtime::ReferenceInterpreter(after.graph).run(in);
  REQUIRE(a[0].shape() == b[0].shape());
  double max_abs = 0;
  for (int64_t i = 0; i < a[0].numel(); ++i) max_abs = std::max(max_abs, double(std::fabs(a[0].data<float>()[i])));
  for (int64_t i = 0; i < a[0].numel(); ++i) {
    CHECK(b[0].data<float>()[i] == Approx(a[0].data<float>()[i]).epsilon(1e-5).margin(1e-5 * max_abs));
  }
}

int count_op(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const auto& node : g.nodes) n += node->op_type == op;
  return n;
}

}  // namespace

TEST_CASE("fold_batch_norm folds into a grouped Conv with and without bias", "[passes][fold_batch_norm]") {
  for (bool with_bias : {false, true}) {
    ir::Node conv;
    conv.op_type = "Conv";
    conv.inputs = {"x", "w"};
    conv.attrs["group"] = ir::Attribute::of_int(2);
    conv.attrs["pads"] = ir::Attribute::of_ints({1, 1, 1, 1});
    ir::Model m = producer_bn_model(conv, {2, 4, 5, 5}, 6);
    m.graph.initializers["w"] = random_tensor({6, 2, 3, 3}, -1, 1);
    if (with_bias) {
      m.graph.initializers["b"] = random_tensor({6}, -1, 1);
      m.graph.nodes[0]->inputs.push_back("b");
    }
    const ir::Model before = m;
    const json report = fold(m);
    CHECK(count_op(m.graph, "BatchNormalization") == 0);
    REQUIRE(report["folded"].size() == 1);
    CHECK(report["folded"][0]["into"] == "p");
    CHECK(report["folded"][0]["channels"] == 6);
    CHECK(m.graph.initializers.count("gamma") == 0);  // unused BN parameters are dropped
    check_same_outputs(before, m, {2, 4, 5, 5});
  }
}

TEST_CASE("fold_batch_norm folds into ConvTranspose with groups", "[passes][fold_batch_norm]") {
  ir::Node ct;
  ct.op_type = "ConvTranspose";
  ct.inputs = {"x", "w", "b"};
  ct.attrs["group"] = ir::Attribute::of_int(2);
  ct.attrs["strides"] = ir::Attribute::of_ints({2, 2});
  ir::Model m = producer_bn_model(ct, {1, 4, 3, 3}, 6);
  m.graph.initializers["w"] = random_tensor({4, 3, 2, 2}, -1, 1);  // [C, M/group, kh, kw]
  m.graph.initializers["b"] = random_tensor({6}, -1, 1);
  const ir::Model before = m;
  CHECK(fold(m)["folded"].size() == 1);
  CHECK(count_op(m.graph, "BatchNormalization") == 0);
  check_same_outputs(before, m, {1, 4, 3, 3});
}

TEST_CASE("fold_batch_norm folds into Gemm with transB, alpha and beta", "[passes][fold_batch_norm]") {
  for (int trans_b : {0, 1}) {
    ir::Node gemm;
    gemm.op_type = "Gemm";
    gemm.inputs = {"x", "w", "c"};
    gemm.attrs["transB"] = ir::Attribute::of_int(trans_b);
    gemm.attrs["alpha"] = ir::Attribute::of_float(0.5f);
    gemm.attrs["beta"] = ir::Attribute::of_float(2.0f);
    ir::Model m = producer_bn_model(gemm, {3, 8}, 5);
    m.graph.initializers["w"] = trans_b ? random_tensor({5, 8}, -1, 1) : random_tensor({8, 5}, -1, 1);
    m.graph.initializers["c"] = random_tensor({5}, -1, 1);
    const ir::Model before = m;
    CHECK(fold(m)["folded"].size() == 1);
    check_same_outputs(before, m, {3, 8});
  }
}

TEST_CASE("fold_batch_norm leaves a BN it cannot fold and says why", "[passes][fold_batch_norm]") {
  SECTION("the producer's output has another consumer") {
    ir::Node conv;
    conv.op_type = "Conv";
    conv.inputs = {"x", "w"};
    ir::Model m = producer_bn_model(conv, {1, 2, 4, 4}, 3);
    m.graph.initializers["w"] = random_tensor({3, 2, 1, 1}, -1, 1);
    m.graph.outputs.push_back("p_out");
    add_value(m.graph, "p_out", {1, 3, 4, 4});
    const json r = fold(m);
    CHECK(r["folded"].empty());
    REQUIRE(r["skipped"].size() == 1);
    CHECK(r["skipped"][0]["reason"] == "the Conv output is also used elsewhere");
    CHECK(count_op(m.graph, "BatchNormalization") == 1);
  }
  SECTION("the producer is not a Conv/ConvTranspose/Gemm") {
    ir::Node relu;
    relu.op_type = "Sigmoid";
    relu.inputs = {"x"};
    ir::Model m = producer_bn_model(relu, {1, 3, 4, 4}, 3);
    const json r = fold(m);
    CHECK(r["skipped"][0]["reason"] == "it follows Sigmoid, not Conv, ConvTranspose or Gemm");
  }
}
