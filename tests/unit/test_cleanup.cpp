// cleanup: every rule on a small graph (outputs equal to the reference run of the original
// graph, plus the exact structure left), graph-output names kept, idempotence, the size-growth
// rule, and the committed fmnist_mobilenet (its Constant nodes become initializers).
#include "test_paths.h"
#include "graph_builder.h"
#include "passes/passes.h"

using namespace hone;
using hone::test::check_close;
using hone::test::count_op;
using hone::test::GraphBuilder;
using hone::test::run_reference;
using nlohmann::json;

namespace {

ir::Attribute ints(std::vector<int64_t> v) { return ir::Attribute::of_ints(std::move(v)); }

ir::Tensor i64(std::vector<int64_t> v) {
  const auto n = static_cast<int64_t>(v.size());
  return ir::Tensor::from_vector<int64_t>({n}, v);
}

// The model after export and re-import (the checker runs on export).
ir::Model roundtrip(const ir::Model& m) {
  return ir::load_onnx_bytes(ir::serialize_onnx(m), "cleaned.onnx", "");
}

// Runs cleanup on a copy of `before`, checks the result is valid ONNX and computes exactly
// what `before` computed on `inputs`; returns the report and leaves the result in `after`.
json clean_and_compare(const ir::Model& before, ir::Model& after, const std::vector<ir::Tensor>& inputs) {
  after = before;
  const json r = passes::cleanup(after);
  const ir::Model reloaded = roundtrip(after);
  const auto want = run_reference(before, inputs);
  const auto got = run_reference(reloaded, inputs);
  REQUIRE(want.size() == got.size());
  for (size_t i = 0; i < want.size(); ++i) check_close(want[i], got[i], 0.0);
  return r;
}

bool no_changes(const json& r) {
  return r["constant_nodes"] == 0 && r["folded_constants"] == 0 && r["removed"].empty() && r["dead_nodes"] == 0 &&
         r["removed_nodes"].empty();
}

}  // namespace

TEST_CASE("cleanup turns Constant nodes of every attribute form into initializers", "[passes][cleanup]") {
  GraphBuilder b(11);
  b.input("x", {2, 3}).output("y");
  const ir::Tensor c = b.random({2, 3});
  b.node("Constant", {}, {"c_tensor"}, {{"value", ir::Attribute::of_tensor(c)}});
  b.node("Constant", {}, {"c_float"}, {{"value_float", ir::Attribute::of_float(0.5f)}});
  b.node("Constant", {}, {"c_floats"}, {{"value_floats", ir::Attribute::of_floats({1.f, 2.f, 3.f})}});
  b.node("Constant", {}, {"c_shape"}, {{"value_ints", ints({3, 2})}});
  b.node("Add", {"x", "c_tensor"}, {"a"});
  b.node("Mul", {"a", "c_float"}, {"m"});
  b.node("Add", {"m", "c_floats"}, {"m2"});
  b.node("Reshape", {"m2", "c_shape"}, {"y"});
  const ir::Model before = b.build();
  ir::Model after;
  const json r = clean_and_compare(before, after, {b.random({2, 3})});
  CHECK(r["constant_nodes"] == 4);
  CHECK(r["folded_constants"] == 0);
  CHECK(count_op(after.graph, "Constant") == 0);
  CHECK(after.graph.nodes.size() == 4);
  REQUIRE(after.graph.initializer("c_shape"));
  CHECK(after.graph.initializer("c_shape")->to_int64_vector() == std::vector<int64_t>{3, 2});
  CHECK(after.graph.initializer("c_tensor")->identical(c));
}

TEST_CASE("cleanup folds constant subgraphs and Shape -> Gather -> Concat chains of static shapes",
          "[passes][cleanup]") {
  GraphBuilder b(12);
  b.input("x", {2, 3, 4}).output("y");
  b.random_init("w1", {4});
  b.random_init("w2", {4});
  b.init("idx0", ir::Tensor::scalar<int64_t>(0));
  b.init("axes0", i64({0}));
  b.init("minus1", i64({-1}));
  b.node("Add", {"w1", "w2"}, {"w12"});   // constant: folds
  b.node("Neg", {"w12"}, {"wn"});         // constant once w12 is: folds in the same sweep
  b.node("Shape", {"x"}, {"sh"});         // x's shape is static: folds though x is not constant
  b.node("Gather", {"sh", "idx0"}, {"d0"}, {{"axis", ir::Attribute::of_int(0)}});
  b.node("Unsqueeze", {"d0", "axes0"}, {"d0v"});
  b.node("Concat", {"d0v", "minus1"}, {"target"}, {{"axis", ir::Attribute::of_int(0)}});
  b.node("Mul", {"x", "wn"}, {"xm"});
  b.node("Reshape", {"xm", "target"}, {"y"});
  const ir::Model before = b.build();
  ir::Model after;
  const json r = clean_and_compare(before, after, {b.random({2, 3, 4})});
  CHECK(r["folded_constants"] == 6);
  REQUIRE(after.graph.nodes.size() == 2);
  CHECK(after.graph.nodes[0]->op_type == "Mul");
  CHECK(after.graph.nodes[1]->op_type == "Reshape");
  const ir::Tensor* target = after.graph.initializer(after.graph.nodes[1]->input(1));
  REQUIRE(target);
  CHECK(target->to_int64_vector() == std::vector<int64_t>{2, -1});
  CHECK(after.graph.initializers.count("w1") == 0);  // inputs of folded nodes are dropped
  CHECK(after.graph.initializers.count("sh") == 0);
}

TEST_CASE("cleanup does not fold Shape of a dynamic dimension", "[passes][cleanup]") {
  GraphBuilder b(13);
  b.input("x", {2, 3}).output("y");
  ir::Model m = b.build();
  m.graph.values["x"].shape->at(0) = ir::Dim{-1, "N"};
  m.graph.add_node(ir::Node{"shape", "Shape", "", {"x"}, {"y"}, {}, ""});
  ir::infer_shapes(m);
  ir::Model after;
  const json r = clean_and_compare(m, after, {b.random({2, 3})});
  CHECK(no_changes(r));
  CHECK(r["kept_constant_nodes"].empty());
  CHECK(count_op(after.graph, "Shape") == 1);
}

TEST_CASE("cleanup removes Identity, inference Dropout, same-type Cast and shape no-ops", "[passes][cleanup]") {
  GraphBuilder b(14);
  b.input("x", {2, 12}).output("y");
  b.init("ratio", ir::Tensor::scalar<float>(0.3f));
  b.init("train_false", ir::Tensor::scalar<bool>(false));
  b.init("same_shape", i64({2, 12}));
  b.init("no_axes_1", i64({0}));
  b.node("Identity", {"x"}, {"i1"});
  b.node("Relu", {"i1"}, {"r"});
  b.node("Dropout", {"r", "ratio"}, {"d1"});                         // training_mode absent
  b.node("Dropout", {"d1", "ratio", "train_false"}, {"d2", "mask"});  // mask unused
  b.node("Cast", {"d2"}, {"c"}, {{"to", ir::Attribute::of_int(1)}});
  b.node("Reshape", {"c", "same_shape"}, {"rs"});
  b.node("Flatten", {"rs"}, {"fl"}, {{"axis", ir::Attribute::of_int(1)}});
  b.node("Squeeze", {"fl"}, {"sq"});  // no size-1 dims: no-op
  b.node("Sigmoid", {"sq"}, {"y"});
  const ir::Model before = b.build();
  ir::Model after;
  const json r = clean_and_compare(before, after, {b.random({2, 12})});
  CHECK(r["removed"]["Identity"] == 1);
  CHECK(r["removed"]["Dropout"] == 2);
  CHECK(r["removed"]["Cast"] == 1);
  CHECK(r["removed"]["Reshape"] == 1);
  CHECK(r["removed"]["Flatten"] == 1);
  CHECK(r["removed"]["Squeeze"] == 1);
  CHECK(r["removed_nodes"].size() == 7);
  REQUIRE(after.graph.nodes.size() == 2);
  CHECK(after.graph.nodes[0]->op_type == "Relu");
  CHECK(after.graph.nodes[0]->inputs == std::vector<std::string>{"x"});
  CHECK(after.graph.nodes[1]->op_type == "Sigmoid");
  CHECK(after.graph.nodes[1]->inputs == std::vector<std::string>{"r"});
  CHECK(after.graph.initializers.empty());
}

TEST_CASE("cleanup keeps Dropout in training mode or with a used mask, and real Casts/Reshapes",
          "[passes][cleanup]") {
  GraphBuilder b(15);
  b.input("x", {2, 6}).output("y").output("mask");
  b.init("ratio", ir::Tensor::scalar<float>(0.0f));  // ratio 0: deterministic even in training
  b.init("train_true", ir::Tensor::scalar<bool>(true));
  b.init("other_shape", i64({3, 4}));
  b.node("Dropout", {"x", "ratio"}, {"d1", "mask"});
  b.node("Dropout", {"d1", "ratio", "train_true"}, {"d2"});
  b.node("Cast", {"d2"}, {"c"}, {{"to", ir::Attribute::of_int(11)}});  // float -> double
  b.node("Cast", {"c"}, {"c2"}, {{"to", ir::Attribute::of_int(1)}});
  b.node("Reshape", {"c2", "other_shape"}, {"y"});
  const ir::Model before = b.build();
  ir::Model after = before;
  const json r = passes::cleanup(after);
  CHECK(no_changes(r));
  CHECK(count_op(after.graph, "Dropout") == 2);
  CHECK(count_op(after.graph, "Cast") == 2);
  CHECK(count_op(after.graph, "Reshape") == 1);
}

TEST_CASE("cleanup keeps graph output names when it removes a no-op that writes one", "[passes][cleanup]") {
  SECTION("the producer takes over the output name") {
    GraphBuilder b(16);
    b.input("x", {3, 4}).output("y");
    b.node("Relu", {"x"}, {"r"});
    b.node("Exp", {"r"}, {"e"});  // r has a second consumer
    b.node("Add", {"r", "e"}, {"s"});
    b.node("Identity", {"s"}, {"y"});
    const ir::Model before = b.build();
    ir::Model after;
    const json r = clean_and_compare(before, after, {b.random({3, 4})});
    CHECK(r["removed"]["Identity"] == 1);
    CHECK(after.graph.outputs == std::vector<std::string>{"y"});
    CHECK(count_op(after.graph, "Identity") == 0);
    CHECK(after.graph.producer("y")->op_type == "Add");
    CHECK(after.graph.value_info("s") == nullptr);
  }
  SECTION("an Identity from a graph input, an initializer or another graph output stays") {
    GraphBuilder b(17);
    b.input("x", {3, 4}).output("y1").output("y2").output("r").output("y3");
    b.random_init("w", {3, 4});
    b.node("Identity", {"x"}, {"y1"});
    b.node("Identity", {"w"}, {"y2"});
    b.node("Relu", {"x"}, {"r"});
    b.node("Identity", {"r"}, {"y3"});
    const ir::Model before = b.build();
    ir::Model after;
    const json r = clean_and_compare(before, after, {b.random({3, 4})});
    CHECK(no_changes(r));
    CHECK(count_op(after.graph, "Identity") == 3);
    CHECK(after.graph.outputs == before.graph.outputs);
  }
}

TEST_CASE("cleanup removes dead nodes and their unused initializers", "[passes][cleanup]") {
  GraphBuilder b(18);
  b.input("x", {4}).output("y");
  b.random_init("w", {4});
  b.node("Relu", {"x"}, {"y"});
  b.node("Mul", {"x", "w"}, {"dead1"});
  b.node("Tanh", {"dead1"}, {"dead2"});
  b.node("Split", {"x"}, {"s1", "s2"}, {{"axis", ir::Attribute::of_int(0)}});
  const ir::Model before = b.build();
  ir::Model after;
  const json r = clean_and_compare(before, after, {b.random({4})});
  CHECK(r["dead_nodes"] == 3);
  REQUIRE(after.graph.nodes.size() == 1);
  CHECK(after.graph.nodes[0]->op_type == "Relu");
  CHECK(after.graph.initializers.empty());
  CHECK(after.graph.values.count("dead2") == 0);
}

TEST_CASE("cleanup is idempotent: a second run reports no change", "[passes][cleanup]") {
  GraphBuilder b(19);
  b.input("x", {2, 3, 4}).output("y");
  b.init("idx", ir::Tensor::scalar<int64_t>(2));
  b.init("axes", i64({0}));
  b.init("minus1", i64({-1}));
  b.node("Shape", {"x"}, {"sh"});
  b.node("Gather", {"sh", "idx"}, {"d"});
  b.node("Unsqueeze", {"d", "axes"}, {"dv"});
  b.node("Concat", {"minus1", "dv"}, {"t"}, {{"axis", ir::Attribute::of_int(0)}});
  b.node("Identity", {"x"}, {"xi"});
  b.node("Reshape", {"xi", "t"}, {"r"});
  b.node("Reshape", {"r", "t"}, {"r2"});  // a no-op only once t is a known constant
  b.node("Neg", {"r2"}, {"y"});
  b.node("Abs", {"x"}, {"dead"});
  const ir::Model before = b.build();
  ir::Model after;
  const json first = clean_and_compare(before, after, {b.random({2, 3, 4})});
  CHECK(first["folded_constants"] == 4);
  CHECK(first["removed"]["Reshape"] == 1);
  CHECK(first["dead_nodes"] == 1);
  CHECK(after.graph.nodes.size() == 2);
  const std::string bytes = ir::serialize_onnx(after);
  const json second = passes::cleanup(after);
  CHECK(no_changes(second));
  CHECK(ir::serialize_onnx(after) == bytes);
}

TEST_CASE("cleanup keeps weight-compression patterns that folding would grow", "[passes][cleanup]") {
  GraphBuilder b(20);
  b.input("x", {3, 16}).output("y");
  std::vector<int8_t> q(16 * 8);
  for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<int8_t>(static_cast<int>(i * 37 % 255) - 127);
  b.init("wq", ir::Tensor::from_vector<int8_t>({16, 8}, q));
  b.init("scale", ir::Tensor::scalar<float>(0.02f));
  b.init("zp", ir::Tensor::scalar<int8_t>(0));
  std::vector<ir::Float16> h(8);
  for (size_t i = 0; i < h.size(); ++i) h[i] = ir::f32_to_f16(0.25f * static_cast<float>(i));
  b.init("bias16", ir::Tensor::from_vector<ir::Float16>({8}, h));
  b.init("shape", i64({3, 8}));
  b.node("DequantizeLinear", {"wq", "scale", "zp"}, {"w"});
  b.node("Cast", {"bias16"}, {"bias"}, {{"to", ir::Attribute::of_int(1)}});
  b.node("ConstantOfShape", {"shape"}, {"zeros"},
         {{"value", ir::Attribute::of_tensor(ir::Tensor::from_vector<float>({1}, {1.0f}))}});
  b.node("MatMul", {"x", "w"}, {"mm"});
  b.node("Add", {"mm", "bias"}, {"a"});
  b.node("Add", {"a", "zeros"}, {"y"});
  const ir::Model before = b.build();
  ir::Model after;
  const json r = clean_and_compare(before, after, {b.random({3, 16})});
  CHECK(r["folded_constants"] == 0);
  CHECK(count_op(after.graph, "DequantizeLinear") == 1);
  CHECK(count_op(after.graph, "Cast") == 1);
  CHECK(count_op(after.graph, "ConstantOfShape") == 1);
  CHECK(after.graph.initializer("wq")->dtype() == ir::DType::Int8);
  REQUIRE(r["kept_constant_nodes"].size() == 3);
  CHECK(r["kept_constant_nodes"][1]["reason"] == "folding would grow the model (16 -> 32 bytes)");
  CHECK(r["kept_constant_nodes"][2]["reason"] == "folding would grow the model (16 -> 96 bytes)");
  CHECK(no_changes(passes::cleanup(after)));
}

TEST_CASE("cleanup folds a QuantizeLinear of a float weight (it shrinks) but keeps the DequantizeLinear",
          "[passes][cleanup]") {
  GraphBuilder b(21);
  b.input("x", {2, 8}).output("y");
  b.random_init("w", {8, 4});
  b.init("scale", ir::Tensor::scalar<float>(0.01f));
  b.init("zp", ir::Tensor::scalar<int8_t>(0));
  b.node("QuantizeLinear", {"w", "scale", "zp"}, {"wq"});
  b.node("DequantizeLinear", {"wq", "scale", "zp"}, {"wd"});
  b.node("MatMul", {"x", "wd"}, {"y"});
  const ir::Model before = b.build();
  ir::Model after;
  const json r = clean_and_compare(before, after, {b.random({2, 8})});
  CHECK(r["folded_constants"] == 1);
  CHECK(count_op(after.graph, "QuantizeLinear") == 0);
  CHECK(count_op(after.graph, "DequantizeLinear") == 1);
  REQUIRE(after.graph.initializer("wq"));
  CHECK(after.graph.initializer("wq")->dtype() == ir::DType::Int8);
  CHECK(after.graph.initializers.count("w") == 0);
}

TEST_CASE("cleanup keeps the DequantizeLinear of a per-channel int32 bias although it would not grow",
          "[passes][cleanup]") {
  GraphBuilder b(26);
  b.input("x", {2, 4}).output("y");
  b.init("bq", ir::Tensor::from_vector<int32_t>({4}, {100, -200, 300, -400}));
  b.random_init("bscale", {4}, 0.001f, 0.01f);
  b.init("bzp", ir::Tensor::from_vector<int32_t>({4}, {0, 0, 0, 0}));
  b.node("DequantizeLinear", {"bq", "bscale", "bzp"}, {"bias"}, {{"axis", ir::Attribute::of_int(0)}});
  b.node("Add", {"x", "bias"}, {"y"});
  const ir::Model before = b.build();
  ir::Model after;
  const json r = clean_and_compare(before, after, {b.random({2, 4})});
  CHECK(no_changes(r));
  CHECK(count_op(after.graph, "DequantizeLinear") == 1);
  REQUIRE(r["kept_constant_nodes"].size() == 1);
  CHECK(r["kept_constant_nodes"][0]["reason"] == "DequantizeLinear of a constant is quantized storage (QDQ form)");
}

TEST_CASE("cleanup never folds nondeterministic nodes or nodes writing a graph output", "[passes][cleanup]") {
  GraphBuilder b(22);
  b.input("x", {2, 2}).output("y").output("z");
  b.random_init("w", {2, 2});
  b.node("RandomUniformLike", {"w"}, {"rnd"});
  b.node("Add", {"x", "rnd"}, {"y"});
  b.node("Neg", {"w"}, {"z"});
  ir::Model m = b.build();
  const json r = passes::cleanup(m);
  CHECK(no_changes(r));
  CHECK(count_op(m.graph, "RandomUniformLike") == 1);
  CHECK(count_op(m.graph, "Neg") == 1);
  REQUIRE(r["kept_constant_nodes"].size() == 2);
  CHECK(r["kept_constant_nodes"][0]["reason"] == "nondeterministic");
  CHECK(r["kept_constant_nodes"][1]["reason"] == "writes a graph output");
}

TEST_CASE("cleanup handles nodes without names", "[passes][cleanup]") {
  GraphBuilder b(25);
  b.input("x", {2}).output("y");
  b.node("Constant", {}, {"c"}, {{"value_float", ir::Attribute::of_float(2.0f)}}, "").name = "";
  b.node("Identity", {"x"}, {"i"}).name = "";
  b.node("Mul", {"i", "c"}, {"m"}).name = "";
  b.node("Identity", {"m"}, {"y"}).name = "";
  const ir::Model before = b.build();
  ir::Model after;
  const json r = clean_and_compare(before, after, {b.random({2})});
  CHECK(r["constant_nodes"] == 1);
  CHECK(r["removed"]["Identity"] == 2);
  CHECK(r["removed_nodes"][0] == "(unnamed Identity)");
  REQUIRE(after.graph.nodes.size() == 1);
  CHECK(after.graph.nodes[0]->outputs == std::vector<std::string>{"y"});
}

TEST_CASE("cleanup registration runs the same cleanup as a pass", "[passes][cleanup]") {
  const auto reg = passes::cleanup_registration();
  CHECK(reg.spec.name == "cleanup");
  CHECK(reg.spec.params.empty());
  CHECK(reg.spec.repeatable);
  GraphBuilder b(23);
  b.input("x", {2}).output("y");
  b.node("Identity", {"x"}, {"i"});
  b.node("Relu", {"i"}, {"y"});
  ir::Model m = b.build();
  const json r = hone::test::run_pass(reg, m);
  CHECK(r["removed"]["Identity"] == 1);
  CHECK(m.graph.nodes.size() == 1);
}

TEST_CASE("cleanup on fmnist_mobilenet turns its 32 Constant nodes into initializers, outputs identical",
          "[passes][cleanup]") {
  const ir::Model before = ir::load_onnx(std::string(HONE_SOURCE_DIR) + "/models/fmnist_mobilenet.onnx");
  REQUIRE(count_op(before.graph, "Constant") == 32);
  GraphBuilder rnd(24);
  const ir::Tensor x = rnd.random({2, 1, 28, 28}, 0.0f, 1.0f);
  ir::Model after;
  const json r = clean_and_compare(before, after, {x});
  CHECK(r["constant_nodes"] == 32);
  CHECK(count_op(after.graph, "Constant") == 0);
  CHECK(after.graph.nodes.size() == before.graph.nodes.size() - 32);
  CHECK(after.graph.outputs == before.graph.outputs);
  CHECK(after.graph.inputs == before.graph.inputs);
  const auto want = run_reference(before, {x});
  const auto got = run_reference(after, {x});
  CHECK(want[0].identical(got[0]));
  CHECK(no_changes(passes::cleanup(after)));
}
