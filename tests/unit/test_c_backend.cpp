// The C backend's emitter against the reference interpreter: every generated model is built with
// the host's C compiler in strict C99 (-Wall -Wextra -Werror -pedantic), run through its
// generated harness (samples on stdin, outputs on stdout), and compared with the reference
// running the same prepared graph: float within 1e-4 relative, integer ops byte for byte.
#include "test_paths.h"
#include "compilers/c/emit.h"
#include "graph_builder.h"
#include "ir/onnx_io.h"
#include "passes/passes.h"
#include "passes/qdq_fusion.h"
#include "pipeline/registry.h"
#include "platforms/platform.h"
#include "runtime/reference/interpreter.h"
#include "support/error.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <unistd.h>

using namespace hone;
using test::GraphBuilder;
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// Emits, builds and runs `graph` (prepared) on `samples` (each: the inputs in order); returns
// each sample's outputs.
// The toolchain and run command of a platform file ("" = the host's cc, run natively).
struct Target {
  std::vector<std::string> build;  // the compile command without sources and output
  std::vector<std::string> run_prefix;
};

Target target_of(const std::string& platform) {
  if (platform.empty()) return {{"cc", "-std=c99", "-pedantic", "-O1"}, {}};
  const auto& reg = pipeline::Registry::global().get(pipeline::ComponentKind::Platform, platform);
  const auto p = pipeline::create<platforms::Platform>(reg, nlohmann::json::object(), {});
  const platforms::PlatformInfo* info = p->info();
  REQUIRE(info);
  Target t;
  t.build = {info->toolchain.cc, "-std=c99", "-pedantic"};
  t.build.insert(t.build.end(), info->toolchain.cflags.begin(), info->toolchain.cflags.end());
  t.build.insert(t.build.end(), info->toolchain.ldflags.begin(), info->toolchain.ldflags.end());
  t.run_prefix = info->run.argv("./model");
  t.run_prefix.pop_back();
  return t;
}

std::vector<std::vector<ir::Tensor>> run_c(const ir::Graph& graph, const std::vector<std::vector<ir::Tensor>>& samples,
                                           const std::string& platform = "") {
  const Target target = target_of(platform);
  const compilers::c::CSource src = compilers::c::emit_c(graph);
  static int counter = 0;
  const fs::path dir = fs::temp_directory_path() / ("hone-c-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::create_directories(dir);
  std::ofstream(dir / "model.h") << src.header;
  std::ofstream(dir / "model.c") << src.source;
  std::ofstream(dir / "main.c") << compilers::c::emit_harness(src);
  std::string cc = "cd '" + dir.string() + "' &&";
  for (const auto& a : target.build) cc += " " + a;
  cc += " -Wall -Wextra -Werror main.c model.c -lm -o model 2> build.log";
  if (std::system(cc.c_str()) != 0) FAIL("the generated C does not build (" << dir.string() << "):\n" << read_file(dir / "build.log"));
  {
    std::ofstream in(dir / "in.bin", std::ios::binary);
    for (const auto& s : samples) {
      REQUIRE(s.size() == src.inputs.size());
      in.put('S');
      for (size_t i = 0; i < s.size(); ++i) {
        REQUIRE(static_cast<int64_t>(s[i].nbytes()) == src.inputs[i].bytes);
        in.write(static_cast<const char*>(s[i].raw()), static_cast<std::streamsize>(s[i].nbytes()));
      }
    }
  }
  std::string run = "cd '" + dir.string() + "' &&";
  for (const auto& a : target.run_prefix) run += " " + a;
  REQUIRE(std::system((run + " ./model < in.bin > out.bin 2> run.log").c_str()) == 0);
  const std::string bytes = read_file(dir / "out.bin");
  std::vector<std::vector<ir::Tensor>> out;
  size_t pos = 0;
  for (size_t s = 0; s < samples.size(); ++s) {
    std::vector<ir::Tensor> outs;
    for (const auto& p : src.outputs) {
      REQUIRE(pos + static_cast<size_t>(p.bytes) <= bytes.size());
      ir::Tensor t = ir::Tensor::zeros(p.dtype, p.shape);
      std::memcpy(t.raw(), bytes.data() + pos, static_cast<size_t>(p.bytes));
      pos += static_cast<size_t>(p.bytes);
      outs.push_back(std::move(t));
    }
    out.push_back(std::move(outs));
  }
  REQUIRE(pos == bytes.size());
  fs::remove_all(dir);
  return out;
}

void require_matches(const ir::Tensor& got, const ir::Tensor& want) {
  REQUIRE(got.shape() == want.shape());
  REQUIRE(got.dtype() == want.dtype());
  if (got.dtype() == ir::DType::Float32) {
    const auto a = got.span<float>(), b = want.span<float>();
    for (size_t k = 0; k < a.size(); ++k) {
      if (!(std::abs(a[k] - b[k]) <= 1e-4f * std::max(1.0f, std::abs(b[k])))) {
        FAIL("element " << k << ": C " << a[k] << ", reference " << b[k]);
      }
    }
  } else {
    REQUIRE(std::memcmp(got.raw(), want.raw(), got.nbytes()) == 0);
  }
}

// The prepared graph run by the C code and by the reference on `count` random samples.
void require_c_matches_reference(const ir::Model& m, std::mt19937& rng, int count = 3, const std::string& platform = "") {
  const ir::Graph g = compilers::c::prepare_graph(m.graph);
  std::vector<std::vector<ir::Tensor>> samples;
  for (int s = 0; s < count; ++s) {
    std::vector<ir::Tensor> in;
    for (const auto& name : g.inputs) {
      const ir::ValueInfo* vi = g.value_info(name);
      ir::Tensor t = ir::Tensor::zeros(vi->dtype, *vi->static_shape());
      if (vi->dtype == ir::DType::Float32) {
        std::uniform_real_distribution<float> u(-2.0f, 2.0f);
        for (float& v : t.span<float>()) v = u(rng);
      } else {
        auto* b = static_cast<uint8_t*>(t.raw());
        for (size_t i = 0; i < t.nbytes(); ++i) b[i] = static_cast<uint8_t>(rng());
      }
      in.push_back(std::move(t));
    }
    samples.push_back(std::move(in));
  }
  const auto got = run_c(g, samples, platform);
  runtime::ReferenceInterpreter ref(g);
  for (size_t s = 0; s < samples.size(); ++s) {
    const auto want = ref.run(samples[s]);
    REQUIRE(got[s].size() == want.size());
    for (size_t o = 0; o < want.size(); ++o) require_matches(got[s][o], want[o]);
  }
}

ir::Tensor q_scalar(ir::DType dt, int v) {
  return dt == ir::DType::Int8 ? ir::Tensor::scalar<int8_t>(static_cast<int8_t>(v))
                               : ir::Tensor::scalar<uint8_t>(static_cast<uint8_t>(v));
}

}  // namespace

TEST_CASE("C backend: float ops match the reference", "[c_backend]") {
  std::mt19937 rng(1);
  {  // Conv (groups, stride, dilation, pads) + broadcast Add + Relu + MaxPool + Flatten + Gemm + Softmax
    GraphBuilder b(1);
    b.input("x", {1, 4, 11, 9});
    b.node("Conv", {"x", b.random_init("w", {6, 2, 3, 3}), b.random_init("bias", {6})}, {"c"},
           {{"group", ir::Attribute::of_int(2)}, {"strides", ir::Attribute::of_ints({2, 1})},
            {"dilations", ir::Attribute::of_ints({1, 2})}, {"pads", ir::Attribute::of_ints({1, 2, 0, 1})}});
    b.node("Add", {"c", b.random_init("shift", {6, 1, 1})}, {"a"});
    b.node("Relu", {"a"}, {"r"});
    b.node("MaxPool", {"r"}, {"p"},
           {{"kernel_shape", ir::Attribute::of_ints({2, 2})}, {"strides", ir::Attribute::of_ints({2, 2})},
            {"ceil_mode", ir::Attribute::of_int(1)}});
    b.node("Flatten", {"p"}, {"f"});
    b.node("Gemm", {"f", b.random_init("fw", {5, 6 * 3 * 4}), b.random_init("fb", {5})}, {"g"},
           {{"transB", ir::Attribute::of_int(1)}, {"alpha", ir::Attribute::of_float(0.5f)}});
    b.node("Softmax", {"g"}, {"y"}, {{"axis", ir::Attribute::of_int(1)}});
    b.output("y");
    require_c_matches_reference(b.build(), rng);
  }
  {  // pools, Clip, Sigmoid, Concat, Mul by a scalar, MatMul, Sub with a row
    GraphBuilder b(2);
    b.input("x", {1, 3, 8, 8});
    b.node("AveragePool", {"x"}, {"a0"}, {{"kernel_shape", ir::Attribute::of_ints({3, 3})}, {"pads", ir::Attribute::of_ints({1, 1, 1, 1})}});
    b.node("AveragePool", {"x"}, {"a1"},
           {{"kernel_shape", ir::Attribute::of_ints({3, 3})}, {"pads", ir::Attribute::of_ints({1, 1, 1, 1})},
            {"count_include_pad", ir::Attribute::of_int(1)}});
    b.node("Concat", {"a0", "a1", "x"}, {"cat"}, {{"axis", ir::Attribute::of_int(1)}});
    b.node("Clip", {"cat", b.init("lo", ir::Tensor::scalar<float>(-0.5f)), b.init("hi", ir::Tensor::scalar<float>(0.7f))}, {"cl"});
    b.node("Mul", {"cl", b.init("two", ir::Tensor::scalar<float>(2.0f))}, {"m"});
    b.node("Sigmoid", {"m"}, {"s"});
    b.node("GlobalAveragePool", {"s"}, {"gap"});
    b.node("Flatten", {"gap"}, {"f"});
    b.node("MatMul", {"f", b.random_init("mw", {9, 4})}, {"mm"});
    b.node("Sub", {"mm", b.random_init("row", {1, 4})}, {"y"});
    b.output("y");
    require_c_matches_reference(b.build(), rng);
  }
}

TEST_CASE("C backend: integer ops are bit-exact with the reference", "[c_backend]") {
  std::mt19937 rng(2);
  for (const bool int8_x : {false, true}) {
    INFO("x " << (int8_x ? "int8" : "uint8"));
    const ir::DType xt = int8_x ? ir::DType::Int8 : ir::DType::UInt8;
    GraphBuilder b(3);
    b.input("x", {1, 3, 9, 10});
    b.node("QuantizeLinear", {"x", b.init("xs", ir::Tensor::scalar<float>(0.02f)), b.init("xz", q_scalar(xt, int8_x ? -3 : 120))},
           {"xq"});
    // Per-channel int8 weights, int32 bias (one large enough to saturate), pads and stride.
    ir::Tensor w = ir::Tensor::zeros(ir::DType::Int8, {8, 3, 3, 3});
    for (auto& v : w.span<int8_t>()) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    ir::Tensor ws = ir::Tensor::zeros(ir::DType::Float32, {8});
    for (int i = 0; i < 8; ++i) ws.data<float>()[i] = 0.001f * static_cast<float>(i + 1);
    ir::Tensor bias = ir::Tensor::zeros(ir::DType::Int32, {8});
    for (int i = 0; i < 8; ++i) bias.data<int32_t>()[i] = static_cast<int32_t>(rng() % 2001) - 1000;
    bias.data<int32_t>()[3] = 5'000'000;
    b.node("QLinearConv",
           {"xq", "xs", "xz", b.init("w", std::move(w)), b.init("ws", std::move(ws)), b.init("wz", ir::Tensor::zeros(ir::DType::Int8, {8})),
            b.init("ys", ir::Tensor::scalar<float>(0.03f)), b.init("yz", q_scalar(ir::DType::UInt8, 7)),
            b.init("b", std::move(bias))},
           {"c1"}, {{"pads", ir::Attribute::of_ints({1, 1, 1, 1})}, {"strides", ir::Attribute::of_ints({1, 2})}});
    b.node("MaxPool", {"c1"}, {"p"}, {{"kernel_shape", ir::Attribute::of_ints({2, 2})}, {"strides", ir::Attribute::of_ints({2, 2})}});
    // Depthwise, int8 output, per-tensor weight scale.
    ir::Tensor w2 = ir::Tensor::zeros(ir::DType::Int8, {8, 1, 3, 3});
    for (auto& v : w2.span<int8_t>()) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    b.node("QLinearConv",
           {"p", "ys", "yz", b.init("w2", std::move(w2)), b.init("ws2", ir::Tensor::scalar<float>(0.004f)), b.init("wz2", q_scalar(ir::DType::Int8, 0)),
            b.init("ys2", ir::Tensor::scalar<float>(0.01f)), b.init("yz2", q_scalar(ir::DType::Int8, -5))},
           {"c2"}, {{"group", ir::Attribute::of_int(8)}, {"pads", ir::Attribute::of_ints({1, 1, 1, 1})}});
    b.node("DequantizeLinear", {"c2", "ys2", "yz2"}, {"y"});
    b.output("y");
    b.output("c1");
    require_c_matches_reference(b.build(), rng, 4);
  }
}

TEST_CASE("C backend: requantization rounds exact ties to even, as the reference does", "[c_backend]") {
  // M = 1 * 1 / 2 = 0.5 and a 1x1 weight of 1: y = round_half_even(x / 2), a tie for every odd
  // x; int8 input covers negative ties. M = 3 / 4 with weight 2 gives ties at x = 1 mod 2 as well.
  std::mt19937 rng(3);
  for (const float w_scale : {1.0f, 0.75f}) {
    for (const ir::DType xt : {ir::DType::UInt8, ir::DType::Int8}) {
      GraphBuilder b(5);
      b.input("xq", {1, 1, 16, 16}, xt);
      b.node("QLinearConv",
             {"xq", b.init("xs", ir::Tensor::scalar<float>(1.0f)), b.init("xz", q_scalar(xt, 0)),
              b.init("w", ir::Tensor::from_vector<int8_t>({1, 1, 1, 1}, {static_cast<int8_t>(w_scale == 1.0f ? 1 : 2)})),
              b.init("ws", ir::Tensor::scalar<float>(w_scale)), b.init("wz", q_scalar(ir::DType::Int8, 0)),
              b.init("ys", ir::Tensor::scalar<float>(2.0f)), b.init("yz", q_scalar(ir::DType::Int8, 0))},
             {"y"});
      b.output("y");
      require_c_matches_reference(b.build(), rng, 2);
    }
  }
}

TEST_CASE("C backend: an op outside the list is Unsupported naming the node", "[c_backend]") {
  GraphBuilder b(4);
  b.input("x", {1, 4});
  b.node("Hardmax", {"x"}, {"y"});
  b.output("y");
  const ir::Model m = b.build();
  const ir::Graph g = compilers::c::prepare_graph(m.graph);
  try {
    compilers::c::emit_c(g);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Unsupported);
    CHECK(std::string(e.what()).find("Hardmax") != std::string::npos);
  }
}

namespace {

// x -> Q -> QLinearConv -> DQ -> Flatten -> Q(params) -> DQ -> y: integer from end to end once
// the data movement between the DQ and the Q is fused (it is when `params` equal the DQ's).
ir::Model integer_chain(float flatten_scale) {
  GraphBuilder b(7);
  b.input("x", {1, 2, 5, 5});
  b.node("QuantizeLinear", {"x", b.init("xs", ir::Tensor::scalar<float>(0.02f)), b.init("xz", q_scalar(ir::DType::UInt8, 100))},
         {"xq"}, {}, "quantize_input");
  ir::Tensor w = ir::Tensor::zeros(ir::DType::Int8, {3, 2, 3, 3});
  int k = 0;
  for (auto& v : w.span<int8_t>()) v = static_cast<int8_t>((k++ * 37) % 255 - 127);
  b.node("QLinearConv",
         {"xq", "xs", "xz", b.init("w", std::move(w)), b.init("ws", ir::Tensor::scalar<float>(0.01f)),
          b.init("wz", q_scalar(ir::DType::Int8, 0)), b.init("ys", ir::Tensor::scalar<float>(0.05f)),
          b.init("yz", q_scalar(ir::DType::UInt8, 3))},
         {"c"}, {{"pads", ir::Attribute::of_ints({1, 1, 1, 1})}}, "conv");
  b.node("DequantizeLinear", {"c", "ys", "yz"}, {"cf"}, {}, "dq_conv");
  b.node("Flatten", {"cf"}, {"f"}, {}, "flatten");
  b.node("QuantizeLinear", {"f", b.init("fs", ir::Tensor::scalar<float>(flatten_scale)), "yz"}, {"fq"}, {}, "q_flat");
  b.node("DequantizeLinear", {"fq", "fs", "yz"}, {"y"}, {}, "dequantize_output");
  b.output("y");
  return b.build();
}

}  // namespace

TEST_CASE("QDQ rewrite: data movement between equal Q/DQ parameters runs on the quantized values, exactly",
          "[c_backend][qdq_fusion]") {
  const ir::Model m = integer_chain(0.05f);
  ir::Graph fused = m.graph;
  passes::fuse_qdq_to_qlinear(fused);
  const ir::Node* flatten = fused.producer("fq");
  REQUIRE(flatten);
  CHECK(flatten->op_type == "Flatten");
  CHECK(flatten->input(0) == "c");
  // Byte-equal outputs: Q(DQ(v)) == v.
  std::mt19937 rng(9);
  GraphBuilder b(1);
  const ir::Tensor x = b.random({1, 2, 5, 5}, -2.0f, 2.0f);
  runtime::ReferenceInterpreter before(m.graph), after(fused);
  const std::vector<ir::Tensor> in{x};
  const auto a = before.run(in), c = after.run(in);
  REQUIRE(a[0].nbytes() == c[0].nbytes());
  CHECK(std::memcmp(a[0].raw(), c[0].raw(), a[0].nbytes()) == 0);
  // Different parameters on the two sides: left alone.
  ir::Graph other = integer_chain(0.07f).graph;
  passes::fuse_qdq_to_qlinear(other);
  CHECK(other.producer("fq")->op_type == "QuantizeLinear");
}

TEST_CASE("C backend: integer_only moves the quantization boundary out and leaves no floating point", "[c_backend]") {
  const ir::Graph prepared = compilers::c::prepare_graph(integer_chain(0.05f).graph);
  ir::Graph g = prepared;
  const nlohmann::json boundary = compilers::c::strip_quantization_boundary(g);
  CHECK(boundary["inputs"] == nlohmann::json::parse(R"([{"name": "x", "quantized": "xq", "node": "quantize_input"}])"));
  CHECK(boundary["outputs"] == nlohmann::json::parse(R"([{"name": "y", "quantized": "fq", "node": "dequantize_output"}])"));
  CHECK(g.inputs == std::vector<std::string>{"xq"});
  CHECK(g.outputs == std::vector<std::string>{"fq"});
  const auto src = compilers::c::emit_c(g);
  CHECK(src.inputs[0].dtype == ir::DType::UInt8);
  CHECK(src.outputs[0].dtype == ir::DType::UInt8);
  for (const char* word : {"float", "double", "math.h"}) {
    INFO(word);
    CHECK(src.source.find(word) == std::string::npos);
  }

  // Float compute in the middle (the Flatten between different parameters stays DQ -> Q).
  ir::Graph mixed = compilers::c::prepare_graph(integer_chain(0.07f).graph);
  try {
    compilers::c::strip_quantization_boundary(mixed);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Unsupported);
    CHECK(std::string(e.what()) ==
          "node 'dq_conv' (DequantizeLinear): integer_only: the model still computes in floating point here ('cf' is "
          "float32)");
  }
  // A float model has no boundary to move.
  GraphBuilder b(2);
  b.input("x", {1, 4});
  b.node("Relu", {"x"}, {"y"});
  b.output("y");
  ir::Graph plain = compilers::c::prepare_graph(b.build().graph);
  try {
    compilers::c::strip_quantization_boundary(plain);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Unsupported);
    CHECK(std::string(e.what()).find("graph input 'x' must be read by exactly one QuantizeLinear") != std::string::npos);
  }
}

TEST_CASE("C backend: fmnist_cnn (BN folded) agrees with the reference", "[c_backend][fmnist]") {
  ir::Model m = ir::load_onnx(std::string(HONE_SOURCE_DIR) + "/models/fmnist_cnn.onnx");
  test::run_pass(passes::fold_batch_norm_registration(), m);
  std::mt19937 rng(5);
  require_c_matches_reference(m, rng, 2);
}

TEST_CASE("C backend: aarch64 and riscv64 builds under qemu-user give the reference's outputs", "[c_backend][cross]") {
  // The integer graph byte for byte, the float graph within 1e-4, on the cross toolchains and
  // emulators of platforms/aarch64-linux.json and riscv64-linux.json (installed by bootstrap).
  for (const char* platform : {"aarch64-linux", "riscv64-linux"}) {
    INFO(platform);
    std::mt19937 rng(6);
    GraphBuilder b(7);
    b.input("x", {1, 3, 9, 10});
    b.node("QuantizeLinear", {"x", b.init("xs", ir::Tensor::scalar<float>(0.02f)), b.init("xz", q_scalar(ir::DType::UInt8, 120))}, {"xq"});
    ir::Tensor w = ir::Tensor::zeros(ir::DType::Int8, {8, 3, 3, 3});
    for (auto& v : w.span<int8_t>()) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    b.node("QLinearConv",
           {"xq", "xs", "xz", b.init("w", std::move(w)), b.init("ws", ir::Tensor::scalar<float>(0.003f)),
            b.init("wz", q_scalar(ir::DType::Int8, 0)), b.init("ys", ir::Tensor::scalar<float>(0.05f)),
            b.init("yz", q_scalar(ir::DType::Int8, -3)), b.init("b", ir::Tensor::from_vector<int32_t>({8}, {5, -7, 300, -4000, 0, 1, 2, 3}))},
           {"y"}, {{"pads", ir::Attribute::of_ints({1, 1, 1, 1})}});
    b.output("y");
    require_c_matches_reference(b.build(), rng, 3, platform);
    ir::Model m = ir::load_onnx(std::string(HONE_SOURCE_DIR) + "/models/fmnist_cnn.onnx");
    test::run_pass(passes::fold_batch_norm_registration(), m);
    require_c_matches_reference(m, rng, 2, platform);
  }
}
