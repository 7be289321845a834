// Model statistics (`hone inspect`): MACs, parameters, weight bytes, sparsity and peak activation
// memory on small graphs built in code, with every expected number worked out by hand in the
// comments; plus the torchvision exports when the test script provides them.
#include "analysis/model_stats.h"
#include "ir/onnx_io.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <string>
#include <vector>

using namespace hone;
using analysis::compute_model_stats;
using analysis::ModelStats;

namespace {

ir::Dim dim(int64_t v) { return ir::Dim{v, ""}; }
ir::Dim sym(const std::string& name) { return ir::Dim{-1, name}; }

// Builds a graph in code with explicit value infos (no shape inference involved).
struct ModelBuilder {
  ir::Model model;

  ModelBuilder() { model.graph.opset_imports[""] = 13; }

  ModelBuilder& value_dims(const std::string& name, std::vector<ir::Dim> dims,
                           ir::DType dt = ir::DType::Float32) {
    model.graph.values[name] = ir::ValueInfo{dt, std::move(dims)};
    return *this;
  }
  ModelBuilder& value(const std::string& name, const ir::Shape& shape,
                      ir::DType dt = ir::DType::Float32) {
    std::vector<ir::Dim> dims;
    for (int64_t d : shape) dims.push_back(dim(d));
    return value_dims(name, std::move(dims), dt);
  }
  ModelBuilder& input(const std::string& name, const ir::Shape& shape) {
    model.graph.inputs.push_back(name);
    return value(name, shape);
  }
  ModelBuilder& output(const std::string& name) {
    model.graph.outputs.push_back(name);
    return *this;
  }
  ModelBuilder& weight(const std::string& name, ir::Tensor t) {
    value(name, t.shape(), t.dtype());
    model.graph.initializers[name] = std::move(t);
    return *this;
  }
  ModelBuilder& weight(const std::string& name, const ir::Shape& shape) {
    return weight(name, ir::Tensor::zeros(ir::DType::Float32, shape));
  }
  ModelBuilder& node(const std::string& op, std::vector<std::string> inputs,
                     std::vector<std::string> outputs,
                     std::map<std::string, ir::Attribute> attrs = {}, std::string name = "") {
    ir::Node n;
    n.name = name.empty() ? op + std::to_string(model.graph.nodes.size()) : std::move(name);
    n.op_type = op;
    n.inputs = std::move(inputs);
    n.outputs = std::move(outputs);
    n.attrs = std::move(attrs);
    model.graph.add_node(std::move(n));
    return *this;
  }
};

ir::Attribute ints(std::vector<int64_t> v) { return ir::Attribute::of_ints(std::move(v)); }
ir::Attribute one(int64_t v) { return ir::Attribute::of_int(v); }

const analysis::NodeStats& node_named(const ModelStats& st, const std::string& name) {
  for (const auto& n : st.nodes) {
    if (n.name == name) return n;
  }
  FAIL("no node " << name);
  return st.nodes.front();
}

// Conv (groups 2, stride 2) -> Relu -> ConvTranspose (stride 2) -> Flatten -> Gemm (transB).
ModelBuilder conv_chain() {
  ModelBuilder b;
  b.input("x", {1, 4, 8, 8})
      .weight("w1", {6, 2, 3, 3})
      .weight("b1", {6})
      .weight("wt", {6, 3, 2, 2})
      .weight("wg", {10, 192})
      .weight("bg", {10})
      .value("a", {1, 6, 4, 4})
      .value("r", {1, 6, 4, 4})
      .value("t", {1, 3, 8, 8})
      .value("f", {1, 192})
      .value("y", {1, 10})
      .output("y");
  b.node("Conv", {"x", "w1", "b1"}, {"a"},
         {{"group", one(2)}, {"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}}, "conv")
      .node("Relu", {"a"}, {"r"}, {}, "relu")
      .node("ConvTranspose", {"r", "wt"}, {"t"}, {{"strides", ints({2, 2})}}, "deconv")
      .node("Flatten", {"t"}, {"f"}, {}, "flatten")
      .node("Gemm", {"f", "wg", "bg"}, {"y"}, {{"transB", one(1)}}, "fc");
  return b;
}

}  // namespace

TEST_CASE("Conv, ConvTranspose and Gemm MACs and parameters follow the documented formulas",
          "[stats]") {
  const ModelStats st = compute_model_stats(conv_chain().model);
  // Conv: out = floor((8 + 1 + 1 - 3) / 2) + 1 = 4; N*Cout*Ho*Wo*(Cin/g)*kH*kW = 1*6*4*4*2*3*3.
  CHECK(node_named(st, "conv").macs == 1728);
  CHECK(node_named(st, "conv").params == 6 * 2 * 3 * 3 + 6);
  // ConvTranspose: N*Cin*Hin*Win*(Cout/g)*kH*kW = 1*6*4*4*3*2*2.
  CHECK(node_named(st, "deconv").macs == 1152);
  CHECK(node_named(st, "deconv").params == 72);
  // Gemm: M*N*K = 1*10*192; the bias add is not a MAC.
  CHECK(node_named(st, "fc").macs == 1920);
  CHECK(node_named(st, "fc").params == 1930);
  CHECK(node_named(st, "relu").macs == 0);
  CHECK(node_named(st, "relu").macs_known);
  CHECK(st.macs == 1728 + 1152 + 1920);
  CHECK(st.macs_unknown_nodes.empty());
  CHECK(st.parameters == 114 + 72 + 1930);
  CHECK(st.node_count == 5);
  CHECK_FALSE(st.assumed_batch.has_value());
}

TEST_CASE("Peak activation memory of the sequential schedule", "[stats]") {
  const ModelStats st = compute_model_stats(conv_chain().model);
  // float32 bytes: x 1024, a 384, r 384, t 768, f 768, y 40. Live sets per step:
  //   conv {x,a} 1408, relu {a,r} 768, deconv {r,t} 1152, flatten {t,f} 1536, fc {f,y} 808.
  REQUIRE(st.peak_activation_bytes.has_value());
  CHECK(*st.peak_activation_bytes == 1536);
  CHECK(st.peak_activation_node == "flatten");
  CHECK(st.activation_size_unknown.empty());
}

TEST_CASE("A graph output stays live to the end, a graph input from the start", "[stats]") {
  ModelBuilder b;
  b.input("x", {256})  // 1024 bytes, read by the last node only
      .value("a", {16})
      .value("b", {16})
      .value("c", {256})
      .output("a")
      .output("c");
  b.node("Relu", {"a_src"}, {"a"}).node("Relu", {"a"}, {"b"}).node("Add", {"x", "b"}, {"c"});
  b.input("a_src", {16});
  // a_src 64 (step 0), x 1024 (steps 0-2), a 64 (0-2, graph output), b 64 (1-2), c 1024 (2).
  // Step 2: x + a + b + c = 1024 + 64 + 64 + 1024.
  const ModelStats st = compute_model_stats(b.model);
  CHECK(*st.peak_activation_bytes == 2176);
  CHECK(st.peak_activation_node == "Add2");
}

TEST_CASE("Batched and 1-D MatMul MACs", "[stats]") {
  ModelBuilder b;
  b.input("a", {2, 3, 4, 5})
      .weight("w", {3, 5, 6})
      .input("v", {5})
      .weight("m", {5, 6})
      .value("y", {2, 3, 4, 6})
      .value("z", {6})
      .output("y")
      .output("z");
  b.node("MatMul", {"a", "w"}, {"y"}, {}, "batched").node("MatMul", {"v", "m"}, {"z"}, {}, "vec");
  const ModelStats st = compute_model_stats(b.model);
  // batch broadcast([2,3], [3]) = [2,3]; 2*3 * M*N*K = 6 * 4*6*5.
  CHECK(node_named(st, "batched").macs == 720);
  // [5] x [5,6]: M = 1, N = 6, K = 5.
  CHECK(node_named(st, "vec").macs == 30);
  CHECK(st.macs == 750);
}

TEST_CASE("Quantized conv and matmul ops count like their float ops", "[stats]") {
  ModelBuilder b;
  const auto u8 = [](const ir::Shape& s) { return ir::Tensor::zeros(ir::DType::UInt8, s); };
  b.input("x", {1, 4, 8, 8})
      .weight("w", u8({6, 2, 3, 3}))
      .weight("s", ir::Shape{})
      .weight("zp", u8({}))
      .input("a", {3, 5})
      .weight("bm", u8({5, 7}));
  const std::map<std::string, ir::Attribute> conv_attrs = {
      {"group", one(2)}, {"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}};
  b.node("QLinearConv", {"x", "s", "zp", "w", "s", "zp", "s", "zp"}, {"q"}, conv_attrs, "qconv")
      .node("ConvInteger", {"x", "w"}, {"ci"}, conv_attrs, "iconv")
      .node("QLinearMatMul", {"a", "s", "zp", "bm", "s", "zp", "s", "zp"}, {"qm"}, {}, "qmm")
      .node("MatMulInteger", {"a", "bm"}, {"im"}, {}, "imm");
  const ModelStats st = compute_model_stats(b.model);
  CHECK(node_named(st, "qconv").macs == 1728);  // same geometry as the float Conv test
  CHECK(node_named(st, "iconv").macs == 1728);
  CHECK(node_named(st, "qmm").macs == 3 * 7 * 5);
  CHECK(node_named(st, "imm").macs == 3 * 7 * 5);
  // Shared initializers go to their first reader: qconv gets w (108), s (1), zp (1).
  CHECK(node_named(st, "qconv").params == 110);
  CHECK(node_named(st, "iconv").params == 0);
  CHECK(node_named(st, "qmm").params == 35);
  CHECK(st.parameters == 108 + 1 + 1 + 35);
}

TEST_CASE("Conv1D and Conv3D generalise the formula", "[stats]") {
  ModelBuilder b;
  b.input("x1", {2, 3, 10}).weight("w1", {4, 3, 3});
  b.input("x3", {1, 2, 4, 4, 4}).weight("w3", {5, 2, 2, 2, 2});
  b.node("Conv", {"x1", "w1"}, {"y1"}, {{"dilations", ints({2})}}, "c1")
      .node("Conv", {"x3", "w3"}, {"y3"}, {{"auto_pad", ir::Attribute::of_string("SAME_UPPER")}},
            "c3");
  const ModelStats st = compute_model_stats(b.model);
  // 1-D: effective kernel (3-1)*2+1 = 5, out = 10-5+1 = 6; 2*4*6 * 3*3.
  CHECK(node_named(st, "c1").macs == 432);
  // 3-D SAME_UPPER stride 1: out 4x4x4; 1*5*64 * 2*2*2*2.
  CHECK(node_named(st, "c3").macs == 5120);
}

TEST_CASE("Weight bytes per dtype and the zero fraction", "[stats]") {
  ModelBuilder b;
  b.weight("f", ir::Tensor::from_vector<float>({4}, {0.0f, -0.0f, 1.0f, 2.0f}))
      .weight("i8", ir::Tensor::from_vector<int8_t>({3}, {0, 5, -5}))
      .weight("shape", ir::Tensor::from_vector<int64_t>({2}, {1, -1}))
      .weight("mask", ir::Tensor::zeros(ir::DType::Bool, {2}))
      .weight("h", ir::Tensor::from_vector<ir::Float16>({2}, {{0x8000}, {0x3c00}}));  // -0, 1
  // No nodes: every initializer is unused, and still counted.
  const ModelStats st = compute_model_stats(b.model);
  CHECK(st.parameters == 4 + 3 + 2 + 2 + 2);
  CHECK(st.weight_bytes.at(ir::DType::Float32) == 16);
  CHECK(st.weight_bytes.at(ir::DType::Int8) == 3);
  CHECK(st.weight_bytes.at(ir::DType::Int64) == 16);
  CHECK(st.weight_bytes.at(ir::DType::Bool) == 2);
  CHECK(st.weight_bytes.at(ir::DType::Float16) == 4);
  CHECK(st.weight_bytes_total == 41);
  // Zeros: f {0, -0}, i8 {0}, h {-0}; bool is not a weight dtype: 4 of 4+3+2+2.
  CHECK(st.zero_weights == 4);
  CHECK(st.counted_weights == 11);
  CHECK(st.zero_weight_fraction() == Approx(4.0 / 11.0));
  CHECK(*st.peak_activation_bytes == 0);
}

TEST_CASE("A symbolic leading batch dim is taken as 1 and reported", "[stats]") {
  ModelBuilder b;
  b.model.graph.inputs.push_back("x");
  b.value_dims("x", {sym("N"), dim(4), dim(8), dim(8)})
      .weight("w1", {6, 2, 3, 3})
      .weight("shape", ir::Tensor::from_vector<int64_t>({2}, {-1, 96}))
      .weight("wg", {96, 10})
      .output("y");
  b.node("Conv", {"x", "w1"}, {"a"},
         {{"group", one(2)}, {"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}}, "conv")
      .node("Reshape", {"a", "shape"}, {"f"}, {}, "reshape")
      .node("MatMul", {"f", "wg"}, {"y"}, {}, "fc");
  ir::infer_shapes(b.model);  // ONNX propagates N through Conv; Reshape's -1 leaves an unknown dim
  const ModelStats st = compute_model_stats(b.model);
  REQUIRE(st.assumed_batch == 1);
  CHECK(node_named(st, "conv").macs == 1728);
  CHECK(node_named(st, "fc").macs == 96 * 10);
  CHECK(st.macs == 1728 + 960);
  CHECK(st.inputs.at(0).bytes == 1024);
  const nlohmann::json j = analysis::to_json(st);
  CHECK(j["assumed_batch"] == 1);
  CHECK(j["inputs"][0]["shape"] == nlohmann::json::parse(R"(["N", 4, 8, 8])"));
}

TEST_CASE("Unknown shapes and odd attributes make numbers unknown, never throw", "[stats]") {
  ModelBuilder b;
  b.model.graph.inputs = {"x", "r"};                                  // x: no value info at all
  b.model.graph.values["r"] = ir::ValueInfo{ir::DType::Float32, std::nullopt};  // rank unknown
  b.weight("w", {6, 4, 3, 3}).weight("w1d", {6, 4, 3});
  b.input("z", {0, 4, 8, 8}).input("s", {1, 4, 2, 2});
  b.node("Conv", {"x", "w"}, {"y1"}, {}, "no_info")  // x has no value info
      .node("Conv", {"z", "w1d"}, {"y2"}, {}, "rank_mismatch")
      .node("Conv", {"z", "w"}, {"y3"}, {{"auto_pad", ir::Attribute::of_string("BOGUS")}},
            "bad_pad")
      .node("Conv", {"s", "w"}, {"y4"}, {}, "too_small")  // 3x3 kernel on a 2x2 input
      .node("Conv", {"z", "w"}, {"y5"}, {{"pads", ints({1, 1, 1, 1})}}, "zero_batch")
      .node("Gemm", {"r", "w"}, {"y6"}, {}, "gemm_no_rank")
      .node("MatMul", {"x"}, {"y7"}, {}, "missing_input");
  b.value("y5", {0, 6, 8, 8});
  b.model.graph.inputs.push_back("c");
  b.value_dims("c", {dim(1), sym("C")}).node("Relu", {"c"}, {"y8"}, {}, "channels_symbolic");
  ModelStats st;
  REQUIRE_NOTHROW(st = compute_model_stats(b.model));
  for (const char* n : {"no_info", "rank_mismatch", "bad_pad", "too_small", "gemm_no_rank",
                        "missing_input"}) {
    INFO(n);
    CHECK_FALSE(node_named(st, n).macs_known);
  }
  CHECK(node_named(st, "zero_batch").macs_known);
  CHECK(node_named(st, "zero_batch").macs == 0);
  CHECK(st.macs_unknown_nodes.size() == 6);
  CHECK(st.macs == 0);
  // Sizes known: z (0 bytes), s (64 bytes), y5 (0 bytes); everything else is listed.
  CHECK(*st.peak_activation_bytes == 64);
  // Only a leading dim is taken as the batch: c's symbolic channel dim stays unknown.
  CHECK(st.activation_size_unknown ==
        std::vector<std::string>{"c", "r", "x", "y1", "y2", "y3", "y4", "y6", "y7", "y8"});
  CHECK_FALSE(st.assumed_batch.has_value());
  const nlohmann::json j = analysis::to_json(st);
  CHECK(j["nodes"][0]["macs"].is_null());
  CHECK(j["nodes"][4]["macs"] == 0);
  const std::string table = analysis::to_table(st);
  CHECK(table.find("unknown for no_info, rank_mismatch, bad_pad and 3 more") != std::string::npos);
  CHECK(table.find("64 B at node 'no_info', without values of unknown size: c, r, x and 7 more") !=
        std::string::npos);
}

TEST_CASE("int64 overflow in a MAC count makes it unknown", "[stats]") {
  ModelBuilder b;
  const int64_t big = int64_t{1} << 31;
  b.input("a", {big, big}).input("bm", {big, big});
  b.node("MatMul", {"a", "bm"}, {"y"}, {}, "huge");
  const ModelStats st = compute_model_stats(b.model);
  CHECK_FALSE(node_named(st, "huge").macs_known);  // 2^93
  // a and bm: 2^62 elements * 4 bytes does not fit int64 either; y has no value info.
  CHECK(st.activation_size_unknown == std::vector<std::string>{"a", "bm", "y"});
  CHECK_FALSE(st.inputs[0].bytes.has_value());
}

TEST_CASE("Op-type histogram, opsets, JSON and table", "[stats]") {
  ModelBuilder b = conv_chain();
  b.model.graph.opset_imports["com.microsoft"] = 1;
  b.value("r2", {1, 10}).node("Relu", {"y"}, {"r2"}, {}, "relu2");
  const ModelStats st = compute_model_stats(b.model);
  REQUIRE(st.op_types.size() == 5);
  CHECK(st.op_types[0].op_type == "Relu");  // 2 nodes first, then by name
  CHECK(st.op_types[0].count == 2);
  CHECK(st.op_types[1].op_type == "Conv");
  CHECK(st.op_types[1].macs == 1728);
  CHECK(st.op_types[2].op_type == "ConvTranspose");
  CHECK(st.op_types[4].op_type == "Gemm");

  const nlohmann::json j = analysis::to_json(st);
  CHECK(j["opset_imports"] == nlohmann::json::parse(R"({"ai.onnx": 13, "com.microsoft": 1})"));
  CHECK(j["totals"]["macs"] == 4800);
  CHECK(j["totals"]["parameters"] == 2116);
  CHECK(j["totals"]["weight_bytes"]["float32"] == 2116 * 4);
  CHECK(j["totals"]["peak_activation_bytes"] == 1536);
  CHECK(j["assumed_batch"].is_null());
  CHECK(j["nodes"][0]["outputs"][0] ==
        nlohmann::json::parse(
            R"({"name": "a", "dtype": "float32", "shape": [1, 6, 4, 4], "bytes": 384})"));

  const std::string table = analysis::to_table(st);
  CHECK(table.find("4.80 K (4800)") != std::string::npos);
  CHECK(table.find("ai.onnx 13, com.microsoft 1") != std::string::npos);
  CHECK(table.find("1.50 KiB at node 'flatten'") != std::string::npos);
}

// ------------------------------------------------------------------ torchvision exports
// scripts/export_torchvision.py writes these; the test script passes their paths.
namespace {

// Sum of initializer elements, counted here independently of compute_model_stats.
int64_t initializer_elements(const ir::Model& m) {
  int64_t n = 0;
  for (const auto& [name, t] : m.graph.initializers) n += t.numel();
  return n;
}

const char* exported_model(const char* env) {
  const char* path = std::getenv(env);
  if (!path || !*path) WARN("skipped: set " << env << " to an exported .onnx file");
  return path && *path ? path : nullptr;
}

}  // namespace

TEST_CASE("torchvision ResNet-18: 1.81 GMACs, 11.69 M parameters", "[stats][torchvision]") {
  const char* path = exported_model("HONE_RESNET18_ONNX");
  if (!path) return;
  const ir::Model m = ir::load_onnx(path);
  const ModelStats st = compute_model_stats(m);
  CHECK(st.macs_unknown_nodes.empty());
  CHECK(st.macs == Approx(1.81e9).epsilon(0.01));
  CHECK(st.parameters == initializer_elements(m));
  CHECK(st.parameters == Approx(11.69e6).epsilon(0.01));  // torchvision's count: 11689512
  CHECK(st.activation_size_unknown.empty());
  // Peak at the first Relu (batch 1): conv1's output and the Relu's, 2 * 64*112*112*4 bytes.
  CHECK(*st.peak_activation_bytes == 2 * 64 * 112 * 112 * 4);
}

TEST_CASE("torchvision MobileNetV2: 0.30 GMACs, 3.50 M parameters", "[stats][torchvision]") {
  const char* path = exported_model("HONE_MOBILENETV2_ONNX");
  if (!path) return;
  const ir::Model m = ir::load_onnx(path);
  const ModelStats st = compute_model_stats(m);
  CHECK(st.macs_unknown_nodes.empty());
  CHECK(st.macs == Approx(0.30e9).epsilon(0.02));
  CHECK(st.parameters == initializer_elements(m));
  CHECK(st.parameters == Approx(3.50e6).epsilon(0.01));  // torchvision's count: 3504872
  CHECK(st.activation_size_unknown.empty());
}
