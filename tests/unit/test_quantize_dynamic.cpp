// quantize_dynamic: differential tests against the float graph on the reference interpreter
// (every output within the rounding bound derived from the scales, and within 2% of the largest
// output), structure (MatMulInteger / ConvInteger on 8-bit weights, no float weight left), ONNX
// validity (checker, strict type inference, reload), exclude / skip reasons, sharing.
#include "graph_builder.h"
#include "passes/passes.h"

#include <algorithm>

using namespace hone;
using namespace hone::test;
using nlohmann::json;

namespace {

json quantize(ir::Model& m, json params = json::object()) {
  return run_pass(passes::quantize_dynamic_registration(), m, std::move(params));
}

// Checker, strict ONNX type/shape inference (what ONNX Runtime applies on load), then a reload.
const ir::Node* find_op(const ir::Graph& g, const std::string& op) {
  for (const auto& n : g.nodes)
    if (n->op_type == op) return n.get();
  return nullptr;
}

double max_abs(const ir::Tensor& t) {
  double m = 0;
  for (int64_t i = 0; i < t.numel(); ++i) m = std::max(m, std::fabs(t.get_as_double(i)));
  return m;
}

// DynamicQuantizeLinear's scale for x.
double activation_scale(const ir::Tensor& x) {
  float lo = 0, hi = 0;
  for (float v : x.span<float>()) lo = std::min(lo, v), hi = std::max(hi, v);
  return (hi - lo) / 255.0;
}

// y = x [M, K] * W [K, N]: every |y_q - y| <= sum_k |x_k| s_w / 2 + |W_kn| s_x + s_x s_w / 2.
void check_matmul_bound(const ir::Tensor& x, const ir::Tensor& w, double s_w, const ir::Tensor& y,
                        const ir::Tensor& yq) {
  const int64_t m = x.dim(0), k = x.dim(1), n = w.dim(1);
  const double s_x = activation_scale(x);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double bound = 0;
      for (int64_t q = 0; q < k; ++q) {
        bound += std::fabs(x.data<float>()[i * k + q]) * s_w / 2 + std::fabs(w.data<float>()[q * n + j]) * s_x +
                 s_x * s_w / 2;
      }
      CHECK(std::fabs(yq.data<float>()[i * n + j] - y.data<float>()[i * n + j]) <= bound);
    }
  }
}

}  // namespace

TEST_CASE("quantize_dynamic MatMul: int8/uint8, per tensor/per channel, within the scale bound",
          "[passes][quantize_dynamic]") {
  for (const char* type : {"int8", "uint8"}) {
    for (bool per_channel : {false, true}) {
      GraphBuilder b(11);
      b.input("x", {4, 32}).output("y");
      b.random_init("w", {32, 8});
      b.node("MatMul", {"x", "w"}, {"mm"});
      b.node("Relu", {"mm"}, {"y"});
      ir::Model m = b.build();
      const ir::Model before = m;
      const ir::Tensor w = m.graph.initializers.at("w");
      const json r = quantize(m, {{"per_channel", per_channel}, {"weight_type", type}});
      INFO(type << " per_channel=" << per_channel << " " << r.dump());
      REQUIRE(r["quantized"].size() == 1);
      CHECK(r["quantized"][0]["node"] == "mm");
      CHECK(r["quantized"][0]["per_channel"] == per_channel);
      CHECK(count_op(m.graph, "MatMul") == 0);
      CHECK(count_op(m.graph, "MatMulInteger") == 1);
      CHECK(count_op(m.graph, "DynamicQuantizeLinear") == 1);
      CHECK(m.graph.initializers.count("w") == 0);  // the float weight is gone
      const ir::Node* mmi = find_op(m.graph, "MatMulInteger");
      const ir::Tensor& wq = m.graph.initializers.at(mmi->input(1));
      CHECK(wq.dtype() == (std::string(type) == "int8" ? ir::DType::Int8 : ir::DType::UInt8));
      CHECK(wq.shape() == ir::Shape{32, 8});
      CHECK(m.graph.initializers.at(mmi->input(3)).numel() == (per_channel ? 8 : 1));
      if (std::string(type) == "int8") {  // symmetric: scale = max|w| / 127, zero point 0
        if (!per_channel) CHECK(r["quantized"][0]["weight_scale_max"].get<double>() == Approx(max_abs(w) / 127));
        for (int64_t i = 0; i < 8; ++i) CHECK(m.graph.initializers.at(mmi->input(3)).get_as_double(i % (per_channel ? 8 : 1)) == 0);
      }
      require_valid_onnx(m);

      const ir::Tensor x = b.random({4, 32}, -2, 2);
      const ir::Tensor yf = run_reference(before, {x})[0];
      // Before the Relu: compare the MatMul itself against the bound.
      ir::Model before_mm = before, after_mm = m;
      before_mm.graph.outputs = {"mm"};
      after_mm.graph.outputs = {"mm"};
      check_matmul_bound(x, w, r["quantized"][0]["weight_scale_max"].get<double>(),
                         run_reference(before_mm, {x})[0], run_reference(after_mm, {x})[0]);
      check_close(yf, run_reference(m, {x})[0], 0.02);
    }
  }
}

TEST_CASE("quantize_dynamic Gemm with transA, transB, alpha, beta and bias C", "[passes][quantize_dynamic]") {
  for (int trans_a : {0, 1}) {
    for (int trans_b : {0, 1}) {
      for (bool per_channel : {false, true}) {
        GraphBuilder b(21, 13);
        b.input("x", trans_a ? ir::Shape{24, 3} : ir::Shape{3, 24}).output("y");
        b.random_init("w", trans_b ? ir::Shape{6, 24} : ir::Shape{24, 6});
        b.random_init("c", {6});
        b.node("Gemm", {"x", "w", "c"}, {"y"},
               {{"transA", ir::Attribute::of_int(trans_a)},
                {"transB", ir::Attribute::of_int(trans_b)},
                {"alpha", ir::Attribute::of_float(0.5f)},
                {"beta", ir::Attribute::of_float(2.0f)}},
               "fc");
        ir::Model m = b.build();
        const ir::Model before = m;
        const json r = quantize(m, {{"per_channel", per_channel}});
        INFO("transA=" << trans_a << " transB=" << trans_b << " per_channel=" << per_channel);
        REQUIRE(r["quantized"].size() == 1);
        CHECK(r["quantized"][0]["op"] == "Gemm");
        CHECK(count_op(m.graph, "Gemm") == 0);
        CHECK(count_op(m.graph, "MatMulInteger") == 1);
        CHECK(count_op(m.graph, "Transpose") == trans_a);
        const ir::Node* mmi = find_op(m.graph, "MatMulInteger");
        CHECK(m.graph.initializers.at(mmi->input(1)).shape() == ir::Shape{24, 6});  // transB folded
        CHECK(m.graph.initializers.at(mmi->input(1)).dtype() == ir::DType::Int8);
        for (const auto& [name, t] : m.graph.initializers) {  // no float weight left
          CHECK_FALSE((t.dtype() == ir::DType::Float32 && t.numel() == 24 * 6));
        }
        require_valid_onnx(m);
        const ir::Tensor x = b.random(trans_a ? ir::Shape{24, 3} : ir::Shape{3, 24}, -1, 1);
        check_close(run_reference(before, {x})[0], run_reference(m, {x})[0], 0.02);
      }
    }
  }
}

TEST_CASE("quantize_dynamic Conv with groups, pads, strides and bias", "[passes][quantize_dynamic]") {
  for (bool per_channel : {false, true}) {
    GraphBuilder b(31);
    b.input("x", {2, 4, 7, 7}).output("y");
    b.random_init("w", {6, 2, 3, 3});
    b.random_init("bias", {6});
    b.node("Conv", {"x", "w", "bias"}, {"y"},
           {{"group", ir::Attribute::of_int(2)},
            {"pads", ir::Attribute::of_ints({1, 0, 1, 2})},
            {"strides", ir::Attribute::of_ints({2, 1})},
            {"kernel_shape", ir::Attribute::of_ints({3, 3})}},
           "conv");
    ir::Model m = b.build();
    const ir::Model before = m;
    const json r = quantize(m, {{"per_channel", per_channel}});
    REQUIRE(r["quantized"].size() == 1);
    CHECK(count_op(m.graph, "Conv") == 0);
    const ir::Node* ci = find_op(m.graph, "ConvInteger");
    REQUIRE(ci);
    CHECK(ci->attr_int("group", 1) == 2);
    CHECK(ci->attr_ints("pads") == std::vector<int64_t>{1, 0, 1, 2});
    CHECK(ci->attr_ints("strides") == std::vector<int64_t>{2, 1});
    const ir::Tensor& wq = m.graph.initializers.at(ci->input(1));
    CHECK(wq.dtype() == ir::DType::Int8);
    CHECK(wq.shape() == ir::Shape{6, 2, 3, 3});
    CHECK(m.graph.initializers.at(ci->input(3)).shape() == (per_channel ? ir::Shape{6} : ir::Shape{}));
    if (per_channel) CHECK(r["quantized"][0]["weight_scale_min"] < r["quantized"][0]["weight_scale_max"]);
    require_valid_onnx(m);
    const ir::Tensor x = b.random({2, 4, 7, 7}, -1, 1);
    check_close(run_reference(before, {x})[0], run_reference(m, {x})[0], 0.02);
  }
}

TEST_CASE("quantize_dynamic Conv with uint8 weights (asymmetric weights)", "[passes][quantize_dynamic]") {
  GraphBuilder b(33);
  b.input("x", {1, 3, 6, 6}).output("y");
  b.random_init("w", {4, 3, 3, 3}, -0.2f, 1.0f);  // asymmetric range
  b.node("Conv", {"x", "w"}, {"c"}, {{"auto_pad", ir::Attribute::of_string("SAME_UPPER")}}, "conv");
  b.node("Relu", {"c"}, {"y"});
  ir::Model m = b.build();
  const ir::Model before = m;
  const json r = quantize(m, {{"weight_type", "uint8"}, {"per_channel", true}});
  REQUIRE(r["quantized"].size() == 1);
  const ir::Node* ci = find_op(m.graph, "ConvInteger");
  REQUIRE(ci);
  CHECK(ci->attr_string("auto_pad", "") == "SAME_UPPER");
  CHECK(m.graph.initializers.at(ci->input(1)).dtype() == ir::DType::UInt8);
  const ir::Tensor& zp = m.graph.initializers.at(ci->input(3));
  CHECK(zp.dtype() == ir::DType::UInt8);
  CHECK(zp.shape() == ir::Shape{4});
  require_valid_onnx(m);
  const ir::Tensor x = b.random({1, 3, 6, 6});
  check_close(run_reference(before, {x})[0], run_reference(m, {x})[0], 0.02);
}

TEST_CASE("quantize_dynamic per-channel scales fit each channel", "[passes][quantize_dynamic]") {
  // Output channel 1 is 100x smaller: per channel keeps its precision, per tensor does not.
  GraphBuilder b(41);
  b.input("x", {3, 16}).output("y");
  ir::Tensor w = b.random({16, 2});
  for (int64_t k = 0; k < 16; ++k) w.data<float>()[k * 2 + 1] *= 0.01f;
  b.init("w", w);
  b.node("MatMul", {"x", "w"}, {"y"});
  const ir::Model before = b.build();
  const ir::Tensor x = b.random({3, 16});
  const ir::Tensor yf = run_reference(before, {x})[0];
  double err[2];
  for (bool per_channel : {false, true}) {
    ir::Model m = before;
    const json r = quantize(m, {{"per_channel", per_channel}});
    const ir::Tensor yq = run_reference(m, {x})[0];
    double e = 0, ref = 0;
    for (int64_t i = 0; i < 3; ++i) {
      e = std::max(e, std::fabs(double(yq.data<float>()[i * 2 + 1]) - yf.data<float>()[i * 2 + 1]));
      ref = std::max(ref, std::fabs(double(yf.data<float>()[i * 2 + 1])));
    }
    err[per_channel] = e / ref;
    if (per_channel) CHECK(r["quantized"][0]["weight_scale_max"].get<double>() > 50 * r["quantized"][0]["weight_scale_min"].get<double>());
  }
  CHECK(err[1] < 0.02);
  CHECK(err[1] < err[0] / 3);
}

TEST_CASE("quantize_dynamic exclude, op_types and skip reasons", "[passes][quantize_dynamic]") {
  GraphBuilder b(51);
  b.input("x", {2, 8}).output("y");
  b.random_init("w1", {8, 8});
  b.random_init("w2", {8, 8});
  b.random_init("w3", {8, 4});
  b.node("MatMul", {"x", "w1"}, {"a"}, {}, "first");
  b.node("MatMul", {"a", "w2"}, {"b"}, {}, "second");
  b.node("Gemm", {"b", "w3"}, {"c"}, {}, "head");
  b.node("Transpose", {"c"}, {"c_t"});
  b.node("MatMul", {"c", "c_t"}, {"y"}, {}, "activations");
  ir::Model m = b.build();
  const ir::Model before = m;

  SECTION("by name and by op type") {
    const json r = quantize(m, {{"exclude", {"second", "Gemm"}}});
    REQUIRE(r["quantized"].size() == 1);
    CHECK(r["quantized"][0]["node"] == "first");
    CHECK(r["counts"]["skipped"] == 3);
    std::map<std::string, std::string> why;
    for (const auto& s : r["skipped"]) why[s["node"]] = s["reason"];
    CHECK(why["second"] == "excluded");
    CHECK(why["head"] == "excluded");
    CHECK(why["activations"] == "its weight is not a 2-D float32 constant");
    CHECK(m.graph.initializers.at("w2").dtype() == ir::DType::Float32);  // untouched
    CHECK(count_op(m.graph, "Gemm") == 1);
    CHECK(count_op(m.graph, "MatMul") == 2);
    require_valid_onnx(m);
    const ir::Tensor x = b.random({2, 8});
    check_close(run_reference(before, {x})[0], run_reference(m, {x})[0], 0.05);
  }
  SECTION("op_types") {
    const json r = quantize(m, {{"op_types", {"Gemm"}}});
    REQUIRE(r["quantized"].size() == 1);
    CHECK(r["quantized"][0]["node"] == "head");
    CHECK(r["skipped"][0]["reason"] == "MatMul is not in op_types");
  }
  SECTION("opset 10 has no DynamicQuantizeLinear") {
    m.graph.opset_imports[""] = 10;
    const json r = quantize(m);
    CHECK(r["quantized"].empty());
    CHECK(r["skipped"][0]["reason"] == "DynamicQuantizeLinear needs opset >= 11, the model imports opset 10");
    CHECK(count_op(m.graph, "MatMulInteger") == 0);
  }
  SECTION("an unknown op type is rejected by validation") {
    CHECK_THROWS_WITH(quantize(m, {{"op_types", {"ConvTranspose"}}}), Catch::Contains("op_types"));
  }
}

TEST_CASE("quantize_dynamic shares the activation quantization and a shared weight",
          "[passes][quantize_dynamic]") {
  // Two MatMuls read the same x and the same w; a third graph output reads w's consumer.
  GraphBuilder b(61);
  b.input("x", {5, 12}).output("y1").output("y2");
  b.random_init("w", {12, 3});
  b.node("MatMul", {"x", "w"}, {"y1"});
  b.node("Sigmoid", {"x"}, {"s"});
  b.node("MatMul", {"s", "w"}, {"y2"});
  ir::Model m = b.build();
  const ir::Model before = m;
  const json r = quantize(m);
  CHECK(r["quantized"].size() == 2);
  CHECK(r["counts"]["dynamic_quantize_nodes"] == 2);  // x and s
  int int8_weights = 0;
  for (const auto& [_, t] : m.graph.initializers) int8_weights += t.dtype() == ir::DType::Int8 && t.numel() == 36;
  CHECK(int8_weights == 1);
  require_valid_onnx(m);
  const ir::Tensor x = b.random({5, 12});
  const auto yf = run_reference(before, {x});
  const auto yq = run_reference(m, {x});
  check_close(yf[0], yq[0], 0.02);
  check_close(yf[1], yq[1], 0.02);

  SECTION("an activation feeding two quantized nodes gets one DynamicQuantizeLinear") {
    GraphBuilder c(62);
    c.input("x", {5, 12}).output("y1").output("y2");
    c.random_init("w1", {12, 3});
    c.random_init("w2", {12, 4});
    c.node("MatMul", {"x", "w1"}, {"y1"});
    c.node("MatMul", {"x", "w2"}, {"y2"});
    ir::Model m2 = c.build();
    CHECK(quantize(m2)["counts"]["dynamic_quantize_nodes"] == 1);
    CHECK(count_op(m2.graph, "DynamicQuantizeLinear") == 1);
    require_valid_onnx(m2);
  }
}

TEST_CASE("quantize_dynamic handles unnamed nodes, batched MatMul and an all-zero weight",
          "[passes][quantize_dynamic]") {
  GraphBuilder b(71);
  b.input("x", {2, 3, 10}).output("y");
  b.random_init("w", {10, 5});
  b.init("z", ir::Tensor::zeros(ir::DType::Float32, {5, 5}));
  b.node("MatMul", {"x", "w"}, {"h"}, {}, "").name.clear();
  b.node("MatMul", {"h", "z"}, {"h2"}, {}, "").name.clear();
  b.node("Add", {"h", "h2"}, {"y"});
  ir::Model m = b.build();
  const ir::Model before = m;
  const json r = quantize(m);
  CHECK(r["quantized"].size() == 2);
  require_valid_onnx(m);
  const ir::Tensor x = b.random({2, 3, 10});
  check_close(run_reference(before, {x})[0], run_reference(m, {x})[0], 0.02);
}
