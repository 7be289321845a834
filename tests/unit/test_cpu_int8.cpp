// The CPU runtime's integer path, bit-exact against the reference interpreter's integer
// semantics (quantized_common.h): QLinearConv on hone's kernels and on oneDNN with hone's
// requantisation, over seeded
// shapes, groups (depthwise too), pads, strides, dilations, int8 / uint8, zero points, per-channel
// scales and saturation; and the QDQ rewrite (passes/qdq_fusion.h) on Conv, Gemm and MatMul
// patterns: the runtime's output equals the reference running the rewritten graph, and stays
// within one quantization step of the reference running the float QDQ graph.
#include "graph_builder.h"
#include "passes/qdq_fusion.h"
#include "runtime/cpu/cpu_executor.h"
#include "runtime/reference/interpreter.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <random>
#include <set>

using namespace hone;
using hone::runtime::cpu::CpuExecutor;
using test::GraphBuilder;

namespace {

int pick(std::mt19937& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }

ir::Tensor random_q(std::mt19937& rng, ir::DType dt, const ir::Shape& shape) {
  ir::Tensor t = ir::Tensor::zeros(dt, shape);
  auto* b = static_cast<uint8_t*>(t.raw());
  for (size_t i = 0; i < t.nbytes(); ++i) b[i] = static_cast<uint8_t>(pick(rng, 0, 255));
  return t;
}

ir::Tensor q_scalar(ir::DType dt, int v) {
  return dt == ir::DType::Int8 ? ir::Tensor::scalar<int8_t>(static_cast<int8_t>(v))
                               : ir::Tensor::scalar<uint8_t>(static_cast<uint8_t>(v));
}

std::vector<std::string> kernels_of(const CpuExecutor& cpu) {
  std::vector<std::string> k;
  const auto d = cpu.describe();
  for (const auto& s : d["steps"]) k.push_back(s["kernel"]);
  return k;
}

void require_bytes_equal(const ir::Tensor& a, const ir::Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  REQUIRE(a.dtype() == b.dtype());
  const auto* x = static_cast<const uint8_t*>(a.raw());
  const auto* y = static_cast<const uint8_t*>(b.raw());
  for (size_t i = 0; i < a.nbytes(); ++i) {
    if (x[i] != y[i]) FAIL("byte " << i << ": cpu " << int(x[i]) << ", reference " << int(y[i]));
  }
}

}  // namespace

namespace {

struct QConvCase {
  int64_t C, M, groups, H, W, kh, kw, stride, dilation;
  std::vector<int64_t> pads;
  ir::DType xt, yt;
  int x_zp, y_zp;
  float y_scale;
  bool per_channel, has_bias;
  int32_t bias_offset = 0;  // added to every bias value (2^29 and more exercises the int64 path)
};

std::string describe(const QConvCase& c) {
  return fmt::format("C{} M{} g{} {}x{} k{}x{} s{} d{} pads {} x {} zp {} y {} zp {} scale {} bias+{}", c.C, c.M, c.groups,
                     c.H, c.W, c.kh, c.kw, c.stride, c.dilation, fmt::join(c.pads, ","), ir::dtype_name(c.xt), c.x_zp,
                     ir::dtype_name(c.yt), c.y_zp, c.y_scale, c.bias_offset);
}

// One QLinearConv node with random int8 weights, weight scales and bias; and a random input.
std::pair<ir::Model, ir::Tensor> qconv_model(const QConvCase& c, std::mt19937& rng, uint32_t seed) {
  std::vector<float> w_scale(static_cast<size_t>(c.M));
  for (float& v : w_scale) v = std::uniform_real_distribution<float>(0.001f, 0.02f)(rng);
  std::vector<int32_t> bias(static_cast<size_t>(c.M));
  for (int32_t& v : bias) v = pick(rng, -5000, 5000) + c.bias_offset;
  GraphBuilder b(seed);
  b.input("x", {1, c.C, c.H, c.W}, c.xt);
  std::vector<std::string> in{"x",
                              b.init("xs", ir::Tensor::scalar<float>(0.02f)),
                              b.init("xz", q_scalar(c.xt, c.x_zp)),
                              b.init("w", random_q(rng, ir::DType::Int8, {c.M, c.C / c.groups, c.kh, c.kw})),
                              b.init("ws", c.per_channel ? ir::Tensor::from_vector<float>({c.M}, w_scale)
                                                         : ir::Tensor::scalar<float>(w_scale[0])),
                              b.init("wz", c.per_channel ? ir::Tensor::zeros(ir::DType::Int8, {c.M})
                                                         : q_scalar(ir::DType::Int8, 0)),
                              b.init("ys", ir::Tensor::scalar<float>(c.y_scale)),
                              b.init("yz", q_scalar(c.yt, c.y_zp))};
  if (c.has_bias) in.push_back(b.init("bias", ir::Tensor::from_vector<int32_t>({c.M}, bias)));
  b.node("QLinearConv", in, {"y"},
         {{"group", ir::Attribute::of_int(c.groups)},
          {"strides", ir::Attribute::of_ints({c.stride, c.stride})},
          {"dilations", ir::Attribute::of_ints({c.dilation, c.dilation})},
          {"pads", ir::Attribute::of_ints(c.pads)}});
  b.output("y");
  return {b.build(), random_q(rng, c.xt, {1, c.C, c.H, c.W})};
}

// Runs the case on 1 and 2 threads with hone's int8 kernels allowed (HONE_QCONV unset) and with
// oneDNN only; every run must equal the reference byte for byte. Returns the kernel names used.
std::set<std::string> require_qconv_exact(const QConvCase& c, std::mt19937& rng, uint32_t seed) {
  const auto [m, x] = qconv_model(c, rng, seed);
  INFO(describe(c));
  const auto want = runtime::ReferenceInterpreter(m.graph).run({&x, 1});
  std::set<std::string> used;
  for (const bool onednn_only : {false, true}) {
    if (onednn_only) {
      setenv("HONE_QCONV", "onednn", 1);
    } else {
      unsetenv("HONE_QCONV");
    }
    for (const int threads : {1, 2}) {
      CpuExecutor cpu(m.graph, {.threads = threads});
      const auto got = cpu.run({&x, 1});
      std::vector<std::string> k = kernels_of(cpu);
      std::erase_if(k, [](const std::string& s) { return s.starts_with("layout:"); });
      REQUIRE(k.size() == 1);
      if (onednn_only) REQUIRE(k[0] == "onednn:qconv");
      used.insert(k[0]);
      require_bytes_equal(got[0], want[0]);
    }
  }
  unsetenv("HONE_QCONV");
  return used;
}

}  // namespace

TEST_CASE("cpu int8: QLinearConv is bit-exact with the reference", "[cpu_runtime][int8]") {
  std::mt19937 rng(42);
  int made = 0;
  for (int seed = 0; made < 80; ++seed) {
    QConvCase c{};
    const int kind = seed % 3;  // dense, grouped, depthwise
    c.groups = kind == 0 ? 1 : kind == 1 ? 2 : pick(rng, 2, 8);
    const int64_t cg = kind == 2 ? 1 : pick(rng, 1, 9);
    c.C = c.groups * cg;
    c.M = c.groups * (kind == 2 ? 1 : pick(rng, 1, 7));
    c.H = pick(rng, 1, 9), c.W = pick(rng, 1, 9), c.kh = pick(rng, 1, 3), c.kw = pick(rng, 1, 3);
    c.stride = pick(rng, 1, 2), c.dilation = pick(rng, 1, 2);
    c.pads = {pick(rng, 0, 1), pick(rng, 0, 1), pick(rng, 0, 1), pick(rng, 0, 1)};
    if (c.H + c.pads[0] + c.pads[2] < (c.kh - 1) * c.dilation + 1 ||
        c.W + c.pads[1] + c.pads[3] < (c.kw - 1) * c.dilation + 1) {
      continue;
    }
    ++made;
    c.xt = seed % 2 ? ir::DType::UInt8 : ir::DType::Int8;
    c.yt = seed % 4 < 2 ? ir::DType::Int8 : ir::DType::UInt8;
    c.x_zp = c.xt == ir::DType::UInt8 ? pick(rng, 0, 255) : pick(rng, -128, 127);
    c.y_zp = c.yt == ir::DType::UInt8 ? pick(rng, 0, 255) : pick(rng, -128, 127);
    // Small output scales saturate often; large ones round many values to the zero point.
    c.y_scale = seed % 5 == 0 ? 0.01f : std::uniform_real_distribution<float>(0.05f, 2.0f)(rng);
    c.per_channel = seed % 3 != 0;
    c.has_bias = seed % 4 != 3;
    require_qconv_exact(c, rng, static_cast<uint32_t>(seed));
  }
}

// hone's own kernels (vnni_qconv.cpp) on the shapes they take, sized to cross their tiles:
// pointwise (tiles of 6 pixels x 64 channels, K in steps of 4, channel tails) and depthwise
// (64- and 32-channel blocks with tails, taps in fours, padding, strides, dilations, int8 and
// uint8 inputs).
TEST_CASE("cpu int8: hone's 1x1 and depthwise kernels are bit-exact with the reference", "[cpu_runtime][int8]") {
  std::mt19937 rng(7);
  std::set<std::string> used;
  for (int seed = 0; seed < 48; ++seed) {
    QConvCase c{};
    const bool pointwise = seed % 2 == 0;
    c.H = pick(rng, 1, 11), c.W = pick(rng, 1, 11);
    c.dilation = 1;
    c.stride = 1;
    c.pads = {0, 0, 0, 0};
    if (pointwise) {
      c.groups = 1;
      c.C = pick(rng, 1, 70), c.M = pick(rng, 1, 150);
      c.kh = c.kw = 1;
      c.xt = ir::DType::UInt8;
    } else {
      c.groups = c.C = c.M = pick(rng, 1, 100);
      c.kh = pick(rng, 1, 5), c.kw = pick(rng, 1, 5);
      c.stride = pick(rng, 1, 2), c.dilation = pick(rng, 1, 2);
      c.pads = {pick(rng, 0, 2), pick(rng, 0, 2), pick(rng, 0, 2), pick(rng, 0, 2)};
      if (c.H + c.pads[0] + c.pads[2] < (c.kh - 1) * c.dilation + 1 ||
          c.W + c.pads[1] + c.pads[3] < (c.kw - 1) * c.dilation + 1) {
        c.pads = {c.kh, c.kw, c.kh, c.kw};
        c.dilation = 1;
      }
      c.xt = seed % 4 == 1 ? ir::DType::Int8 : ir::DType::UInt8;
    }
    c.yt = seed % 3 == 0 ? ir::DType::Int8 : ir::DType::UInt8;
    c.x_zp = c.xt == ir::DType::UInt8 ? pick(rng, 0, 255) : pick(rng, -128, 127);
    c.y_zp = c.yt == ir::DType::UInt8 ? pick(rng, 0, 255) : pick(rng, -128, 127);
    c.y_scale = seed % 5 == 0 ? 0.01f : std::uniform_real_distribution<float>(0.05f, 2.0f)(rng);
    c.per_channel = seed % 3 != 2;
    c.has_bias = seed % 6 != 5;
    // Accumulators of 2^29 and beyond leave the double product's exact range.
    if (c.has_bias && seed % 8 == 4) c.bias_offset = (seed % 16 == 4 ? 1 : -1) * ((1 << 29) + pick(rng, -3, 3));
    if (c.has_bias && seed % 8 == 6) c.bias_offset = 2100000000;  // wraps in int32 on the way
    for (const auto& k : require_qconv_exact(c, rng, static_cast<uint32_t>(seed))) used.insert(k);
  }
  if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw")) {
    CHECK(used.count("hone:qconv_1x1") == 1);
    CHECK(used.count("hone:qconv_depthwise") == 1);
  }
}

namespace {

// x (float) -> Q -> DQ -> op(DQ(W_q), DQ(B_q)) [-> Relu] -> Q -> y (uint8), as quantize_static writes it.
ir::Model qdq_graph(const std::string& op, bool relu, std::mt19937& rng) {
  GraphBuilder b(5);
  const bool conv = op == "Conv";
  const ir::Shape x_shape = conv ? ir::Shape{1, 4, 6, 6} : ir::Shape{3, 12};
  const int64_t M = conv ? 6 : 5, K = conv ? 4 * 3 * 3 : 12;
  b.input("x", x_shape);
  const float xs = 0.03f;
  b.node("QuantizeLinear", {"x", b.init("xs", ir::Tensor::scalar<float>(xs)), b.init("xz", ir::Tensor::scalar<uint8_t>(120))}, {"xq"});
  b.node("DequantizeLinear", {"xq", "xs", "xz"}, {"xd"});
  std::vector<float> ws(static_cast<size_t>(M));
  for (float& v : ws) v = std::uniform_real_distribution<float>(0.002f, 0.01f)(rng);
  const ir::Shape w_shape = conv ? ir::Shape{M, 4, 3, 3} : op == "Gemm" ? ir::Shape{M, K} : ir::Shape{K, M};
  b.init("wq", random_q(rng, ir::DType::Int8, w_shape));
  b.init("ws", ir::Tensor::from_vector<float>({M}, ws));
  b.node("DequantizeLinear", {"wq", "ws"}, {"wd"}, {{"axis", ir::Attribute::of_int(op == "MatMul" ? 1 : 0)}});
  std::vector<std::string> in{"xd", "wd"};
  if (op != "MatMul") {
    std::vector<float> bs(static_cast<size_t>(M));
    std::vector<int32_t> bq(static_cast<size_t>(M));
    for (size_t m = 0; m < bs.size(); ++m) {
      bs[m] = xs * ws[m];
      bq[m] = pick(rng, -3000, 3000);
    }
    b.init("bq", ir::Tensor::from_vector<int32_t>({M}, bq));
    b.init("bs", ir::Tensor::from_vector<float>({M}, bs));
    b.node("DequantizeLinear", {"bq", "bs"}, {"bd"}, {{"axis", ir::Attribute::of_int(0)}});
    in.push_back("bd");
  }
  std::map<std::string, ir::Attribute> attrs;
  if (conv) attrs["pads"] = ir::Attribute::of_ints({1, 1, 1, 1});
  if (op == "Gemm") attrs["transB"] = ir::Attribute::of_int(1);
  b.node(op, in, {"o"}, attrs);
  if (relu) b.node("Relu", {"o"}, {"r"});
  b.node("QuantizeLinear", {relu ? "r" : "o", b.init("ys", ir::Tensor::scalar<float>(0.05f)),
                            b.init("yz", ir::Tensor::scalar<uint8_t>(relu ? 0 : 128))},
         {"y"});
  b.output("y");
  return b.build();
}

}  // namespace

TEST_CASE("cpu int8: QDQ Conv / Gemm / MatMul run on the integer kernel, bit-exact with the rewritten graph",
          "[cpu_runtime][int8]") {
  std::mt19937 rng(8);
  for (const char* op : {"Conv", "Gemm", "MatMul"}) {
    for (const bool relu : {false, true}) {
      INFO(op << (relu ? " + Relu" : ""));
      const ir::Model m = qdq_graph(op, relu, rng);
      ir::Graph rewritten = m.graph;
      REQUIRE(passes::fuse_qdq_to_qlinear(rewritten) == 1);
      for (const auto& n : rewritten.nodes) CHECK(n->op_type != "DequantizeLinear");  // the weights' DQ are gone
      std::uniform_real_distribution<float> u(-3.f, 3.f);
      const ir::Shape shape = std::string(op) == "Conv" ? ir::Shape{1, 4, 6, 6} : ir::Shape{3, 12};
      ir::Tensor x = ir::Tensor::zeros(ir::DType::Float32, shape);
      for (float& v : x.span<float>()) v = u(rng);
      CpuExecutor cpu(m.graph, {.threads = 1});
      const auto got = cpu.run({&x, 1});
      const auto k = kernels_of(cpu);
      REQUIRE(std::count_if(k.begin(), k.end(), [](const std::string& s) { return s.find("qconv") != std::string::npos; }) == 1);
      require_bytes_equal(got[0], runtime::ReferenceInterpreter(rewritten).run({&x, 1})[0]);
      // The float QDQ graph rounds once, after a float sum: at most one step apart.
      const auto qdq = runtime::ReferenceInterpreter(m.graph).run({&x, 1})[0];
      const auto a = got[0].span<uint8_t>(), b = qdq.span<uint8_t>();
      int differ = 0;
      for (size_t i = 0; i < a.size(); ++i) {
        REQUIRE(std::abs(int(a[i]) - int(b[i])) <= 1);
        differ += a[i] != b[i];
      }
      CHECK(differ <= static_cast<int>(a.size() / 20));
    }
  }
}

TEST_CASE("cpu int8: patterns the integer kernel cannot take stay in float", "[cpu_runtime][int8]") {
  std::mt19937 rng(9);
  // An activation that saturation does not imply (Relu, but y's zero point is not at the bottom).
  ir::Model m = qdq_graph("Conv", true, rng);
  m.graph.initializers["yz"] = ir::Tensor::scalar<uint8_t>(128);
  ir::Graph g = m.graph;
  CHECK(passes::fuse_qdq_to_qlinear(g) == 0);
  // A bias whose scale is not s_x * s_w.
  ir::Model m2 = qdq_graph("Gemm", false, rng);
  m2.graph.initializers["bs"].span<float>()[0] *= 2.0f;
  ir::Graph g2 = m2.graph;
  CHECK(passes::fuse_qdq_to_qlinear(g2) == 0);
  // Both still run on the cpu runtime (float kernels), equal to the reference.
  for (const ir::Model* model : {&m, &m2}) {
    const ir::Shape shape = model == &m ? ir::Shape{1, 4, 6, 6} : ir::Shape{3, 12};
    ir::Tensor x = ir::Tensor::zeros(ir::DType::Float32, shape);
    std::uniform_real_distribution<float> u(-3.f, 3.f);
    for (float& v : x.span<float>()) v = u(rng);
    CpuExecutor cpu(model->graph, {.threads = 1});
    const auto got = cpu.run({&x, 1})[0];
    const auto want = runtime::ReferenceInterpreter(model->graph).run({&x, 1})[0];
    const auto a = got.span<uint8_t>(), b = want.span<uint8_t>();
    for (size_t i = 0; i < a.size(); ++i) REQUIRE(std::abs(int(a[i]) - int(b[i])) <= 1);
  }
}

TEST_CASE("cpu int8: QDQ MaxPool runs on the quantized values, exactly equal to the float QDQ graph", "[cpu_runtime][int8]") {
  std::mt19937 rng(10);
  struct Case {
    ir::DType x_type, y_type;
    float x_scale, y_scale;
    int x_zp, y_zp;
    bool relu;
    int64_t opset;
    int nodes_after;  // the rewritten graph's node count (0: no rewrite)
  };
  const auto u8 = ir::DType::UInt8, s8 = ir::DType::Int8;
  for (const Case& k : {Case{u8, u8, 0.05f, 0.05f, 3, 3, false, 13, 1}, Case{s8, s8, 0.02f, 0.02f, -5, -5, false, 12, 1},
                        Case{u8, u8, 0.05f, 0.07f, 3, 0, true, 13, 3}, Case{s8, u8, 0.03f, 0.03f, 0, 0, false, 13, 3},
                        Case{u8, u8, 0.05f, 0.05f, 3, 3, false, 11, 0}}) {
    INFO("x " << ir::dtype_name(k.x_type) << " y " << ir::dtype_name(k.y_type) << " scales " << k.x_scale << " "
              << k.y_scale << " zero points " << k.x_zp << " " << k.y_zp << " relu " << k.relu << " opset " << k.opset);
    GraphBuilder b(21, k.opset);
    b.input("xq", {1, 24, 15, 17}, k.x_type);
    b.node("DequantizeLinear", {"xq", b.init("xs", ir::Tensor::scalar<float>(k.x_scale)), b.init("xz", q_scalar(k.x_type, k.x_zp))},
           {"x"});
    b.node("MaxPool", {"x"}, {"p"},
           {{"kernel_shape", ir::Attribute::of_ints({3, 3})}, {"strides", ir::Attribute::of_ints({2, 2})},
            {"pads", ir::Attribute::of_ints({1, 1, 1, 1})}});
    if (k.relu) b.node("Relu", {"p"}, {"r"});
    b.node("QuantizeLinear", {k.relu ? "r" : "p", b.init("ys", ir::Tensor::scalar<float>(k.y_scale)), b.init("yz", q_scalar(k.y_type, k.y_zp))},
           {"y"});
    b.output("y");
    const ir::Model m = b.build();
    ir::Graph rewritten = m.graph;
    REQUIRE(passes::fuse_qdq_to_qlinear(rewritten) == (k.nodes_after > 0 ? 1 : 0));
    if (k.nodes_after > 0) REQUIRE(static_cast<int>(rewritten.nodes.size()) == k.nodes_after);
    const ir::Tensor x = random_q(rng, k.x_type, {1, 24, 15, 17});
    CpuExecutor cpu(m.graph, {.threads = 2});
    const auto got = cpu.run({&x, 1});
    const auto kernels = kernels_of(cpu);
    const std::string pool = k.x_type == u8 ? "xnnpack:max_pool_u8" : "xnnpack:max_pool_s8";
    CHECK((std::find(kernels.begin(), kernels.end(), pool) != kernels.end()) == (k.nodes_after > 0));
    // Exact against the float QDQ graph, not only against the rewritten one.
    require_bytes_equal(got[0], runtime::ReferenceInterpreter(m.graph).run({&x, 1})[0]);
  }
}
