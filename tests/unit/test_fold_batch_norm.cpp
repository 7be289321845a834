// fold_batch_norm: the folded graph computes what the unfolded one did (within 1e-5 relative),
// for every mode: backward into Conv (grouped), ConvTranspose, Gemm and MatMul(+Add); forward
// into an unpadded Conv / Gemm; the Mul+Add fallback. BNs left alone are reported with reasons;
// the committed fmnist models lose every BN with logits within 1e-4.
#include "test_paths.h"
#include "graph_builder.h"
#include "ir/graph.h"
#include "ir/onnx_io.h"
#include "passes/pass.h"
#include "passes/passes.h"
#include "pipeline/component.h"
#include "runtime/reference/interpreter.h"

#include <catch2/catch.hpp>

#include <random>

using namespace hone;
using hone::test::count_op;
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

json fold(ir::Model& m, const json& user_params = json::object()) {
  return test::run_pass(passes::fold_batch_norm_registration(), m, user_params);
}

void check_same_outputs(const ir::Model& before, const ir::Model& after, ir::Shape x_shape) {
  const ir::Tensor x = random_tensor(x_shape, -1.0f, 1.0f);
  test::check_close(test::run_reference(before, {x})[0], test::run_reference(after, {x})[0], 1e-5);
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
    const json r = fold(m, {{"fallback_mul_add", false}});
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
    const json r = fold(m, {{"fallback_mul_add", false}});
    CHECK(r["skipped"][0]["reason"] == "it follows Sigmoid, not Conv, ConvTranspose, Gemm or MatMul");
    CHECK(r["skipped"][0]["not_forward"] == "its output feeds Relu, not Conv or Gemm");
    CHECK(r["skipped"][0]["not_mul_add"] == "fallback_mul_add is false");
  }
}

// ------------------------------------------------------------------ MatMul, forward, Mul+Add

namespace {

// BN parameters named "<prefix>gamma" ... with `channels` entries, added to `g`.
std::vector<std::string> add_bn_params(ir::Graph& g, int64_t channels, const std::string& prefix = "") {
  g.initializers[prefix + "gamma"] = random_tensor({channels}, 0.5f, 2.0f);
  g.initializers[prefix + "beta"] = random_tensor({channels}, -1.0f, 1.0f);
  g.initializers[prefix + "mean"] = random_tensor({channels}, -0.5f, 0.5f);
  g.initializers[prefix + "var"] = random_tensor({channels}, 0.1f, 3.0f);
  return {prefix + "gamma", prefix + "beta", prefix + "mean", prefix + "var"};
}

ir::Node make_node(const std::string& name, const std::string& op, std::vector<std::string> in,
                   std::vector<std::string> out, std::map<std::string, ir::Attribute> attrs = {}) {
  ir::Node n;
  n.name = name;
  n.op_type = op;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.attrs = std::move(attrs);
  return n;
}

ir::Node bn_node(const std::string& name, const std::string& x, const std::string& y,
                 const std::vector<std::string>& p) {
  ir::Node n = make_node(name, "BatchNormalization", {x, p[0], p[1], p[2], p[3]}, {y});
  n.attrs["epsilon"] = ir::Attribute::of_float(1e-3f);
  return n;
}

ir::Model new_model(ir::Shape x_shape) {
  ir::Model m;
  m.graph.opset_imports[""] = 13;
  m.graph.inputs = {"x"};
  m.graph.outputs = {"y"};
  add_value(m.graph, "x", x_shape);
  return m;
}

// Shapes inferred, the pass run, the result exported (checker) and re-imported, and its
// outputs compared with the unfolded model's.
json fold_checked(ir::Model& m, ir::Shape x_shape, const json& params = json::object()) {
  ir::infer_shapes(m);
  const ir::Model before = m;
  const json r = fold(m, params);
  const ir::Model reloaded = ir::load_onnx_bytes(ir::serialize_onnx(m), "folded.onnx", "");
  check_same_outputs(before, reloaded, x_shape);
  return r;
}

}  // namespace

TEST_CASE("fold_batch_norm folds into MatMul with and without a bias Add", "[passes][fold_batch_norm]") {
  // 0: no Add; 1: Add(mm, b[C]); 2: Add(b[1, C], mm) with the bias first.
  for (int variant : {0, 1, 2}) {
    ir::Model m = new_model({4, 6});
    ir::Graph& g = m.graph;
    g.initializers["w"] = random_tensor({6, 5}, -1, 1);
    const auto p = add_bn_params(g, 5);
    g.add_node(make_node("mm", "MatMul", {"x", "w"}, {"mm_out"}));
    std::string bn_in = "mm_out";
    if (variant > 0) {
      g.initializers["b"] = variant == 1 ? random_tensor({5}, -1, 1) : random_tensor({1, 5}, -1, 1);
      g.add_node(make_node("add", "Add", variant == 1 ? std::vector<std::string>{"mm_out", "b"}
                                                      : std::vector<std::string>{"b", "mm_out"},
                           {"add_out"}));
      bn_in = "add_out";
    }
    g.add_node(bn_node("bn", bn_in, "bn_out", p));
    g.add_node(make_node("relu", "Relu", {"bn_out"}, {"y"}));
    const json r = fold_checked(m, {4, 6});
    INFO("variant " << variant);
    REQUIRE(r["folded"].size() == 1);
    CHECK(r["folded"][0]["mode"] == "backward");
    CHECK(r["folded"][0]["into"] == "mm");
    CHECK(r["folded"][0]["op_type"] == "MatMul");
    CHECK(count_op(m.graph, "BatchNormalization") == 0);
    CHECK(count_op(m.graph, "MatMul") == 1);
    CHECK(count_op(m.graph, "Add") == 1);
    CHECK(m.graph.nodes.size() == 3);
    CHECK(m.graph.producer("bn_out")->op_type == "Add");
  }
}

TEST_CASE("fold_batch_norm does not fold a MatMul on a 3-D activation backward", "[passes][fold_batch_norm]") {
  ir::Model m = new_model({2, 5, 6});  // BN channel axis 1 has 5 entries, the MatMul output axis 4
  ir::Graph& g = m.graph;
  g.initializers["w"] = random_tensor({6, 5}, -1, 1);
  const auto p = add_bn_params(g, 5);
  g.add_node(make_node("mm", "MatMul", {"x", "w"}, {"mm_out"}));
  g.add_node(bn_node("bn", "mm_out", "y", p));
  const json r = fold_checked(m, {2, 5, 6});
  REQUIRE(r["folded"].size() == 1);
  CHECK(r["folded"][0]["mode"] == "mul_add");
  CHECK(r["folded"][0]["not_backward"] ==
        "the MatMul output is not 2-D, so the BN channel axis is not the MatMul's output axis");
  CHECK(count_op(m.graph, "BatchNormalization") == 0);
}

TEST_CASE("fold_batch_norm folds a BN after Relu forward into an unpadded Conv", "[passes][fold_batch_norm]") {
  for (int64_t group : {1, 2}) {
    for (bool with_bias : {false, true}) {
      ir::Model m = new_model({2, 4, 6, 6});
      ir::Graph& g = m.graph;
      const auto p = add_bn_params(g, 4);
      g.initializers["w"] = random_tensor({6, 4 / group, 3, 3}, -1, 1);
      std::vector<std::string> conv_in{"bn_out", "w"};
      if (with_bias) {
        g.initializers["b"] = random_tensor({6}, -1, 1);
        conv_in.push_back("b");
      }
      g.add_node(make_node("relu", "Relu", {"x"}, {"r"}));
      g.add_node(bn_node("bn", "r", "bn_out", p));
      g.add_node(make_node("conv", "Conv", conv_in, {"y"},
                           {{"group", ir::Attribute::of_int(group)}, {"strides", ir::Attribute::of_ints({2, 2})},
                            {"pads", ir::Attribute::of_ints({0, 0, 0, 0})}}));
      const json r = fold_checked(m, {2, 4, 6, 6});
      INFO("group " << group << " bias " << with_bias);
      REQUIRE(r["folded"].size() == 1);
      CHECK(r["folded"][0]["mode"] == "forward");
      CHECK(r["folded"][0]["into"] == "conv");
      CHECK(r["folded"][0]["not_backward"] == "it follows Relu, not Conv, ConvTranspose, Gemm or MatMul");
      REQUIRE(m.graph.nodes.size() == 2);
      CHECK(m.graph.nodes[1]->inputs[0] == "r");
      CHECK(m.graph.initializers.count("gamma") == 0);
    }
  }
}

TEST_CASE("fold_batch_norm folds forward into Gemm with transB, alpha and beta", "[passes][fold_batch_norm]") {
  for (int trans_b : {0, 1}) {
    for (bool with_c : {false, true}) {
      ir::Model m = new_model({3, 8});
      ir::Graph& g = m.graph;
      const auto p = add_bn_params(g, 8);
      g.initializers["w"] = trans_b ? random_tensor({5, 8}, -1, 1) : random_tensor({8, 5}, -1, 1);
      std::vector<std::string> in{"bn_out", "w"};
      if (with_c) {
        g.initializers["c"] = random_tensor({5}, -1, 1);
        in.push_back("c");
      }
      g.add_node(make_node("relu", "Relu", {"x"}, {"r"}));
      g.add_node(bn_node("bn", "r", "bn_out", p));
      g.add_node(make_node("fc", "Gemm", in, {"y"},
                           {{"transB", ir::Attribute::of_int(trans_b)}, {"alpha", ir::Attribute::of_float(0.5f)},
                            {"beta", ir::Attribute::of_float(2.0f)}}));
      const json r = fold_checked(m, {3, 8});
      INFO("transB " << trans_b << " C " << with_c);
      REQUIRE(r["folded"].size() == 1);
      CHECK(r["folded"][0]["mode"] == "forward");
      CHECK(count_op(m.graph, "BatchNormalization") == 0);
      CHECK(m.graph.nodes.size() == 2);
    }
  }
}

TEST_CASE("fold_batch_norm prefers backward and composes forward and backward folds into one Conv",
          "[passes][fold_batch_norm]") {
  // conv1 (padded) -> bn1 -> relu -> bn2 -> conv2 (unpadded) -> bn3 -> y
  ir::Model m = new_model({1, 3, 6, 6});
  ir::Graph& g = m.graph;
  const auto p1 = add_bn_params(g, 4, "bn1_");
  const auto p2 = add_bn_params(g, 4, "bn2_");
  const auto p3 = add_bn_params(g, 5, "bn3_");
  g.initializers["w1"] = random_tensor({4, 3, 3, 3}, -1, 1);
  g.initializers["w2"] = random_tensor({5, 4, 1, 1}, -1, 1);
  g.add_node(make_node("conv1", "Conv", {"x", "w1"}, {"c1"}, {{"pads", ir::Attribute::of_ints({1, 1, 1, 1})}}));
  g.add_node(bn_node("bn1", "c1", "b1", p1));
  g.add_node(make_node("relu", "Relu", {"b1"}, {"r"}));
  g.add_node(bn_node("bn2", "r", "b2", p2));
  g.add_node(make_node("conv2", "Conv", {"b2", "w2"}, {"c2"}));
  g.add_node(bn_node("bn3", "c2", "y", p3));
  const json r = fold_checked(m, {1, 3, 6, 6});
  REQUIRE(r["folded"].size() == 3);
  CHECK(r["folded"][0]["mode"] == "backward");
  CHECK(r["folded"][0]["into"] == "conv1");
  CHECK(r["folded"][1]["mode"] == "forward");
  CHECK(r["folded"][1]["into"] == "conv2");
  CHECK(r["folded"][2]["mode"] == "backward");
  CHECK(r["folded"][2]["into"] == "conv2");
  CHECK(m.graph.nodes.size() == 3);
  CHECK(m.graph.outputs == std::vector<std::string>{"y"});
}

TEST_CASE("fold_batch_norm does not fold forward into a padded Conv; it becomes Mul+Add", "[passes][fold_batch_norm]") {
  ir::Model m = new_model({2, 3, 5, 5});
  ir::Graph& g = m.graph;
  const auto p = add_bn_params(g, 3);
  g.initializers["w"] = random_tensor({4, 3, 3, 3}, -1, 1);
  g.add_node(make_node("relu", "Relu", {"x"}, {"r"}));
  g.add_node(bn_node("bn", "r", "bn_out", p));
  g.add_node(make_node("conv", "Conv", {"bn_out", "w"}, {"y"}, {{"pads", ir::Attribute::of_ints({1, 1, 1, 1})}}));
  const json r = fold_checked(m, {2, 3, 5, 5});
  REQUIRE(r["folded"].size() == 1);
  CHECK(r["folded"][0]["mode"] == "mul_add");
  CHECK(r["folded"][0]["not_forward"] ==
        "the Conv has nonzero pads, which would pad the BN output with 0 instead of BN(0)");
  CHECK(count_op(m.graph, "BatchNormalization") == 0);
  CHECK(count_op(m.graph, "Mul") == 1);
  CHECK(count_op(m.graph, "Add") == 1);
  const ir::Node* mul = nullptr;
  for (const auto& n : m.graph.nodes) if (n->op_type == "Mul") mul = n.get();
  REQUIRE(mul);
  CHECK(m.graph.initializer(mul->input(1))->shape() == ir::Shape{3, 1, 1});
}

TEST_CASE("fold_batch_norm turns an unfoldable BN into Mul+Add for every rank, or skips it",
          "[passes][fold_batch_norm]") {
  SECTION("rank 2, 3 and 4 after Sigmoid, output is a graph output") {
    for (ir::Shape shape : {ir::Shape{3, 4}, ir::Shape{2, 4, 5}, ir::Shape{2, 4, 3, 3}}) {
      ir::Model m = new_model(shape);
      ir::Graph& g = m.graph;
      const auto p = add_bn_params(g, 4);
      g.add_node(make_node("sig", "Sigmoid", {"x"}, {"s"}));
      g.add_node(bn_node("bn", "s", "y", p));
      const json r = fold_checked(m, shape);
      REQUIRE(r["folded"].size() == 1);
      CHECK(r["folded"][0]["mode"] == "mul_add");
      CHECK(count_op(m.graph, "BatchNormalization") == 0);
      CHECK(m.graph.producer("y")->op_type == "Add");
      CHECK(m.graph.outputs == std::vector<std::string>{"y"});
    }
  }
  SECTION("the input rank is unknown") {
    ir::Model m = new_model({3, 4});
    ir::Graph& g = m.graph;
    const auto p = add_bn_params(g, 4);
    g.add_node(make_node("sig", "Sigmoid", {"x"}, {"s"}));
    g.add_node(bn_node("bn", "s", "y", p));
    const json r = fold(m);  // no shape inference: "s" has no value info
    CHECK(r["folded"].empty());
    REQUIRE(r["skipped"].size() == 1);
    CHECK(r["skipped"][0]["not_mul_add"] == "the rank of its input is unknown");
    CHECK(count_op(m.graph, "BatchNormalization") == 1);
  }
  SECTION("training mode is never touched") {
    ir::Model m = new_model({3, 4});
    ir::Graph& g = m.graph;
    const auto p = add_bn_params(g, 4);
    ir::Node bn = bn_node("bn", "x", "y", p);
    bn.attrs["training_mode"] = ir::Attribute::of_int(1);
    g.add_node(bn);
    ir::infer_shapes(m);
    const json r = fold(m);
    REQUIRE(r["skipped"].size() == 1);
    CHECK(r["skipped"][0]["reason"] == "training_mode is set");
  }
}

TEST_CASE("fold_batch_norm registration declares fallback_mul_add", "[passes][fold_batch_norm]") {
  const auto reg = passes::fold_batch_norm_registration();
  const auto* param = reg.spec.param("fallback_mul_add");
  REQUIRE(param);
  CHECK(param->type == pipeline::ParamType::Bool);
  CHECK(param->default_value == true);
  CHECK_THROWS(pipeline::validate_parameters(reg.spec, {{"fallback_mul_add", "yes"}}, "/optimizers/0/parameters"));
}

TEST_CASE("fold_batch_norm removes every BN of the committed models with logits within 1e-4",
          "[passes][fold_batch_norm]") {
  for (const char* name : {"fmnist_cnn", "fmnist_mobilenet"}) {
    INFO(name);
    ir::Model m = ir::load_onnx(std::string(HONE_SOURCE_DIR) + "/models/" + name + ".onnx");
    const ir::Model before = m;
    const int bns = count_op(m.graph, "BatchNormalization");
    CHECK(bns > 0);
    const json r = fold(m);
    CHECK(r["folded"].size() == static_cast<size_t>(bns));
    CHECK(r["skipped"].empty());
    for (const auto& e : r["folded"]) CHECK(e["mode"] == "backward");
    CHECK(count_op(m.graph, "BatchNormalization") == 0);
    CHECK(count_op(m.graph, "Mul") == count_op(before.graph, "Mul"));
    const ir::Model reloaded = ir::load_onnx_bytes(ir::serialize_onnx(m), "folded.onnx", "");
    const ir::Tensor x = random_tensor({4, 1, 28, 28}, 0.0f, 1.0f);
    std::vector<ir::Tensor> in{x};
    const auto a = runtime::ReferenceInterpreter(before.graph).run(in);
    const auto b = runtime::ReferenceInterpreter(reloaded.graph).run(in);
    REQUIRE(a[0].shape() == b[0].shape());
    double max_diff = 0;
    for (int64_t i = 0; i < a[0].numel(); ++i)
      max_diff = std::max(max_diff, double(std::fabs(a[0].data<float>()[i] - b[0].data<float>()[i])));
    INFO("max |logit difference| " << max_diff);
    CHECK(max_diff <= 1e-4);
  }
}

TEST_CASE("fold_batch_norm handles nodes without names", "[passes][fold_batch_norm]") {
  ir::Model m = new_model({4, 6});
  ir::Graph& g = m.graph;
  g.initializers["w"] = random_tensor({6, 5}, -1, 1);
  g.initializers["w2"] = random_tensor({5, 3, 1, 1}, -1, 1);
  const auto p = add_bn_params(g, 5);
  const auto p2 = add_bn_params(g, 5, "second_");
  g.add_node(make_node("", "MatMul", {"x", "w"}, {"mm_out"}));
  g.add_node(bn_node("", "mm_out", "bn_out", p));
  g.add_node(make_node("", "Sigmoid", {"bn_out"}, {"s"}));
  g.add_node(bn_node("", "s", "y", p2));
  const json r = fold_checked(m, {4, 6});
  REQUIRE(r["folded"].size() == 2);
  CHECK(r["folded"][0]["batch_norm"] == "(BatchNormalization writing bn_out)");
  CHECK(r["folded"][0]["into"] == "(MatMul writing mm_out)");
  CHECK(r["folded"][1]["mode"] == "mul_add");
  CHECK(count_op(m.graph, "BatchNormalization") == 0);
}
