// convert_float16: weights mode (float16 initializers decoded by Cast: outputs within 1e-3,
// file about half), clamping / underflow counts, what stays float32 and why; activations mode
// (every intermediate value float16 after shape inference, outputs within 1e-2, graph I/O
// float32 unless keep_io_types=false, ops that must stay float32 get Casts around them). Every
// result passes the checker and strict ONNX type inference and runs on the reference interpreter.
#include "graph_builder.h"
#include "passes/passes.h"

using namespace hone;
using namespace hone::test;
using nlohmann::json;

namespace {

json convert(ir::Model& m, json params = json::object()) {
  return run_pass(passes::convert_float16_registration(), m, std::move(params));
}

// x [2, 3, 8, 8] -> Conv(w, b) -> Relu -> Flatten -> Gemm(w2, c) -> y [2, 10]
ir::Model conv_relu_gemm(GraphBuilder& b) {
  b.input("x", {2, 3, 8, 8}).output("y");
  b.random_init("w", {8, 3, 3, 3}, -0.5f, 0.5f);
  b.random_init("b", {8});
  b.random_init("w2", {10, 8 * 6 * 6}, -0.1f, 0.1f);
  b.random_init("c", {10});
  b.node("Conv", {"x", "w", "b"}, {"conv"}, {}, "conv");
  b.node("Relu", {"conv"}, {"relu"});
  b.node("Flatten", {"relu"}, {"flat"});
  b.node("Gemm", {"flat", "w2", "c"}, {"y"}, {{"transB", ir::Attribute::of_int(1)}}, "fc");
  return b.build();
}

int64_t count_float32_initializers(const ir::Graph& g) {
  int64_t n = 0;
  for (const auto& [_, t] : g.initializers) n += t.dtype() == ir::DType::Float32;
  return n;
}

ir::Tensor to_half(const ir::Tensor& f) {
  ir::Tensor h = ir::Tensor::zeros(ir::DType::Float16, f.shape());
  for (int64_t i = 0; i < f.numel(); ++i) h.data<ir::Float16>()[i] = ir::f32_to_f16(f.data<float>()[i]);
  return h;
}

}  // namespace

TEST_CASE("convert_float16 stores Conv/Gemm weights as float16 decoded by Cast", "[passes][convert_float16]") {
  GraphBuilder b(1);
  ir::Model m = conv_relu_gemm(b);
  const ir::Model before = m;
  const size_t bytes_before = ir::serialize_onnx(m).size();
  const json r = convert(m);
  INFO(r.dump());
  CHECK(r["mode"] == "weights");
  CHECK(r["initializers_converted"] == 4);
  CHECK(r["cast_nodes"] == 4);
  CHECK(r["clamped_values"] == 0);
  CHECK(r["bytes_before"] == 4 * (8 * 27 + 8 + 10 * 288 + 10));
  CHECK(r["bytes_after"] == 2 * (8 * 27 + 8 + 10 * 288 + 10));
  CHECK(r["kept_float32"].empty());
  CHECK(count_float32_initializers(m.graph) == 0);
  CHECK(m.graph.initializers.size() == 4);
  CHECK(count_op(m.graph, "Cast") == 4);
  // Graph I/O unchanged.
  CHECK(m.graph.value_info("x")->dtype == ir::DType::Float32);
  CHECK(m.graph.value_info("y")->dtype == ir::DType::Float32);
  require_valid_onnx(m);

  const size_t bytes_after = ir::serialize_onnx(m).size();
  INFO("serialized " << bytes_before << " -> " << bytes_after);
  CHECK(double(bytes_after) < 0.55 * double(bytes_before));
  CHECK(double(bytes_after) > 0.45 * double(bytes_before));

  const ir::Tensor x = b.random({2, 3, 8, 8});
  const ir::Tensor y = run_reference(m, {x})[0];
  CHECK(y.dtype() == ir::DType::Float32);
  check_close(run_reference(before, {x})[0], y, 1e-3);
}

TEST_CASE("convert_float16 clamps out-of-range values and counts underflow", "[passes][convert_float16]") {
  GraphBuilder b(2);
  b.input("x", {4}).output("y");
  b.init("k", ir::Tensor::from_vector<float>({4}, {1e5f, -7e4f, 1e-9f, 0.5f}));
  b.node("Mul", {"x", "k"}, {"y"});
  ir::Model m = b.build();
  const json r = convert(m);
  CHECK(r["clamped_values"] == 2);
  CHECK(r["underflowed_values"] == 1);
  CHECK(r["converted"][0]["clamped"] == 2);
  const ir::Tensor y = run_reference(m, {ir::Tensor::from_vector<float>({4}, {1, 1, 1, 1})})[0];
  CHECK(y.data<float>()[0] == 65504.0f);
  CHECK(y.data<float>()[1] == -65504.0f);
  CHECK(y.data<float>()[2] == 0.0f);
  CHECK(y.data<float>()[3] == 0.5f);
}

TEST_CASE("convert_float16 weights mode keeps small, excluded and scale constants float32", "[passes][convert_float16]") {
  GraphBuilder b(3);
  b.input("x", {1, 2, 4, 4}).output("y").output("z");
  b.random_init("w", {2, 2, 1, 1});
  b.random_init("big", {1, 2, 4, 4});
  b.init("eps", ir::Tensor::from_vector<float>({1}, {1e-3f}));
  b.init("roi", ir::Tensor::from_vector<float>({0}, {}));
  b.init("scales", ir::Tensor::from_vector<float>({4}, {1, 1, 2, 2}));
  b.node("Conv", {"x", "w"}, {"c"}, {}, "conv");
  b.node("Add", {"c", "big"}, {"a"}, {}, "add_big");
  b.node("Add", {"a", "eps"}, {"e"}, {}, "add_eps");
  b.node("Resize", {"e", "roi", "scales"}, {"y"}, {{"mode", ir::Attribute::of_string("nearest")}}, "up");
  b.node("Mul", {"x", "big"}, {"z"}, {}, "scale_big");
  ir::Model m = b.build();
  const ir::Model before = m;
  const json r = convert(m, {{"min_size", 2}, {"exclude", {"scale_big"}}});
  INFO(r.dump());
  std::map<std::string, std::string> why;
  for (const auto& k : r["kept_float32"]) why[k["initializer"]] = k["reason"];
  CHECK(why["eps"] == "it has 1 values, fewer than min_size 2");
  CHECK(why["big"] == "read by excluded node scale_big");
  CHECK(why["scales"] == "input 2 of Resize up must stay float32");
  CHECK(why["roi"] == "it has 0 values, fewer than min_size 2");
  REQUIRE(r["converted"].size() == 1);
  CHECK(r["converted"][0]["initializer"] == "w");
  CHECK(m.graph.initializers.at("scales").dtype() == ir::DType::Float32);
  require_valid_onnx(m);
  const ir::Tensor x = b.random({1, 2, 4, 4});
  const auto a = run_reference(before, {x});
  const auto c = run_reference(m, {x});
  check_close(a[0], c[0], 1e-3);
  CHECK(a[1].identical(c[1]));  // the excluded path is untouched
}

TEST_CASE("convert_float16 activations mode computes in float16", "[passes][convert_float16]") {
  GraphBuilder b(4);
  b.input("x", {2, 3, 8, 8}).output("y");
  b.random_init("w", {8, 3, 3, 3}, -0.5f, 0.5f);
  b.random_init("b", {8});
  b.random_init("gamma", {8}, 0.5f, 1.5f);
  b.random_init("beta", {8});
  b.random_init("mean", {8}, -0.2f, 0.2f);
  b.random_init("var", {8}, 0.5f, 2.0f);
  b.random_init("w2", {10, 8 * 2 * 2}, -0.2f, 0.2f);
  b.random_init("c", {10});
  b.init("shape", ir::Tensor::from_vector<int64_t>({2}, {2, -1}));
  b.node("Conv", {"x", "w", "b"}, {"conv"}, {{"pads", ir::Attribute::of_ints({1, 1, 1, 1})}}, "conv");
  b.node("BatchNormalization", {"conv", "gamma", "beta", "mean", "var"}, {"bn"}, {}, "bn");
  b.node("Relu", {"bn"}, {"relu"});
  b.node("MaxPool", {"relu"}, {"pool"}, {{"kernel_shape", ir::Attribute::of_ints({3, 3})},
                                         {"strides", ir::Attribute::of_ints({3, 3})}});
  b.node("Reshape", {"pool", "shape"}, {"flat"});
  b.node("Gemm", {"flat", "w2", "c"}, {"logits"}, {{"transB", ir::Attribute::of_int(1)}}, "fc");
  b.node("Softmax", {"logits"}, {"y"}, {{"axis", ir::Attribute::of_int(1)}});
  ir::Model m = b.build();
  const ir::Model before = m;
  const json r = convert(m, {{"activations", true}});
  INFO(r.dump());
  CHECK(r["mode"] == "activations");
  CHECK(r["nodes_kept_float32"].empty());
  CHECK(r["nodes_converted"] == 7);
  CHECK(r["initializers_converted"] == 8);
  CHECK(r["cast_nodes"] == 2);  // after the input, before the output
  CHECK(count_op(m.graph, "Cast") == 2);
  CHECK(count_float32_initializers(m.graph) == 0);
  CHECK(m.graph.initializers.at("shape").dtype() == ir::DType::Int64);
  require_valid_onnx(m);

  ir::infer_shapes(m);
  for (const char* v : {"conv", "bn", "relu", "pool", "flat", "logits"}) {
    INFO(v);
    REQUIRE(m.graph.value_info(v));
    CHECK(m.graph.value_info(v)->dtype == ir::DType::Float16);
  }
  CHECK(m.graph.value_info("x")->dtype == ir::DType::Float32);
  CHECK(m.graph.value_info("y")->dtype == ir::DType::Float32);

  for (int trial = 0; trial < 2; ++trial) {
    const ir::Tensor x = b.random({2, 3, 8, 8});
    const ir::Tensor y = run_reference(m, {x})[0];
    CHECK(y.dtype() == ir::DType::Float32);
    check_close(run_reference(before, {x})[0], y, 1e-2);
  }
}

TEST_CASE("convert_float16 activations mode keeps ops that need float32 between Casts", "[passes][convert_float16]") {
  // QuantizeLinear/DequantizeLinear are float32-only; `keep` is excluded by name; Resize's scales
  // stay float32 while Resize runs in float16; `k` is read by a float16 and a float32 node.
  GraphBuilder b(5, 17);  // LayerNormalization
  b.input("x", {1, 2, 4, 4}).output("y").output("mean");
  b.init("s", ir::Tensor::scalar<float>(0.02f));
  b.init("zp", ir::Tensor::scalar<uint8_t>(128));
  b.random_init("k", {1, 2, 1, 1}, 0.5f, 1.5f);
  b.init("roi", ir::Tensor::from_vector<float>({0}, {}));
  b.init("scales", ir::Tensor::from_vector<float>({4}, {1, 1, 2, 2}));
  b.random_init("ln_scale", {8}, 0.5f, 1.5f);
  b.node("Mul", {"x", "k"}, {"m"}, {}, "mul");
  b.node("QuantizeLinear", {"m", "s", "zp"}, {"q"}, {}, "quant");
  b.node("DequantizeLinear", {"q", "s", "zp"}, {"dq"}, {}, "dequant");
  b.node("Sub", {"dq", "k"}, {"d"}, {}, "keep");
  b.node("Resize", {"d", "roi", "scales"}, {"up"}, {{"mode", ir::Attribute::of_string("nearest")}}, "up");
  b.node("Tanh", {"up"}, {"t"});
  b.node("LayerNormalization", {"t", "ln_scale"}, {"y", "mean"}, {{"axis", ir::Attribute::of_int(-1)}}, "ln");
  ir::Model m = b.build();
  const ir::Model before = m;
  const json r = convert(m, {{"activations", true}, {"exclude", {"keep"}}});
  INFO(r.dump());
  std::map<std::string, std::string> why;
  for (const auto& k : r["nodes_kept_float32"]) why[k["node"]] = k["reason"];
  CHECK(why.size() == 3);
  CHECK(why["quant"] == "no float16 kernel in the reference interpreter");
  CHECK(why["dequant"] == "no float16 kernel in the reference interpreter");
  CHECK(why["keep"] == "excluded");
  CHECK(m.graph.initializers.at("scales").dtype() == ir::DType::Float32);
  CHECK(m.graph.initializers.at("s").dtype() == ir::DType::Float32);
  CHECK(m.graph.initializers.at("k").dtype() == ir::DType::Float32);  // read by `keep` as float32
  CHECK(m.graph.initializers.at("k_fp16").dtype() == ir::DType::Float16);  // and by `mul` as float16
  require_valid_onnx(m);

  ir::infer_shapes(m);
  CHECK(m.graph.value_info("up")->dtype == ir::DType::Float16);
  CHECK(m.graph.value_info("t")->dtype == ir::DType::Float16);
  CHECK(m.graph.value_info("d")->dtype == ir::DType::Float32);
  CHECK(m.graph.value_info("mean")->dtype == ir::DType::Float32);  // LayerNormalization's stash type
  CHECK(m.graph.value_info("y")->dtype == ir::DType::Float32);

  const ir::Tensor x = b.random({1, 2, 4, 4});
  const auto a = run_reference(before, {x});
  const auto c = run_reference(m, {x});
  check_close(a[0], c[0], 1e-2);
  check_close(a[1], c[1], 1e-2);
}

TEST_CASE("convert_float16 activations mode with keep_io_types=false", "[passes][convert_float16]") {
  GraphBuilder b(6);
  ir::Model m = conv_relu_gemm(b);
  const ir::Model before = m;
  const json r = convert(m, {{"activations", true}, {"keep_io_types", false}});
  CHECK(r["cast_nodes"] == 0);
  CHECK(count_op(m.graph, "Cast") == 0);
  CHECK(m.graph.value_info("x")->dtype == ir::DType::Float16);
  CHECK(m.graph.value_info("y")->dtype == ir::DType::Float16);
  require_valid_onnx(m);
  const ir::Tensor x = b.random({2, 3, 8, 8});
  const ir::Tensor y = run_reference(m, {to_half(x)})[0];
  CHECK(y.dtype() == ir::DType::Float16);
  check_close(run_reference(before, {x})[0], y, 1e-2);
}

TEST_CASE("convert_float16 activations mode: graph output also read inside, unknown types", "[passes][convert_float16]") {
  GraphBuilder b(7);
  b.input("x", {3, 4}).output("h").output("y");
  b.random_init("w", {4, 4});
  b.node("MatMul", {"x", "w"}, {"h"}, {}, "mm");
  b.node("Sigmoid", {"h"}, {"y"});
  ir::Model m = b.build();
  const ir::Model before = m;
  const json r = convert(m, {{"activations", true}});
  CHECK(r["nodes_kept_float32"].empty());
  CHECK(count_op(m.graph, "Cast") == 3);  // x in; h, y out
  require_valid_onnx(m);
  const ir::Tensor x = b.random({3, 4});
  const auto a = run_reference(before, {x});
  const auto c = run_reference(m, {x});
  check_close(a[0], c[0], 1e-2);
  check_close(a[1], c[1], 1e-2);
}
