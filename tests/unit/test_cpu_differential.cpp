// Differential tests of the CPU runtime's fast kernels against the reference interpreter on
// seeded, generated graphs: convolutions over shapes, strides, pads (explicit and auto),
// dilations and groups (grouped and depthwise), with BatchNormalization and activations fused
// in; pooling with padding and ceil_mode; broadcasting elementwise ops in both layouts; Gemm and
// MatMul variants; Concat. Every case also checks that the fast kernel really ran (a silent
// reference fallback would pass the comparison and test nothing).
#include "graph_builder.h"
#include "runtime/cpu/cpu_executor.h"
#include "runtime/reference/interpreter.h"

#include <catch2/catch.hpp>

#include <array>
#include <random>

using namespace hone;
using hone::runtime::cpu::CpuExecutor;
using test::GraphBuilder;

namespace {

using Attrs = std::map<std::string, ir::Attribute>;

ir::Tensor random_tensor(std::mt19937& rng, const ir::Shape& shape) {
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  ir::Tensor t = ir::Tensor::zeros(ir::DType::Float32, shape);
  for (float& v : t.span<float>()) v = u(rng);
  return t;
}

// Runs `m` on both executors (1 and 2 threads for the cpu runtime) and requires every output
// element within 1e-4 relative (absolute below 1), and a step whose kernel starts with
// `fast_kernel` (unless empty).
void require_matches_reference(const ir::Model& m, const std::vector<ir::Tensor>& inputs, const std::string& fast_kernel,
                               const std::string& what) {
  INFO(what);
  runtime::ReferenceInterpreter ref(m.graph);
  const auto want = ref.run(inputs);
  for (const int threads : {1, 2}) {
    INFO(threads << " threads");
    CpuExecutor cpu(m.graph, {.threads = threads});
    const auto got = cpu.run(inputs);
    if (!fast_kernel.empty()) {
      bool found = false;
      const auto plan = cpu.describe();
      for (const auto& s : plan["steps"]) {
        found = found || s["kernel"].get<std::string>().rfind(fast_kernel, 0) == 0;
      }
      INFO(plan.dump(1));
      REQUIRE(found);
    }
    REQUIRE(got.size() == want.size());
    for (size_t o = 0; o < got.size(); ++o) {
      REQUIRE(got[o].shape() == want[o].shape());
      const auto a = got[o].span<float>(), b = want[o].span<float>();
      for (size_t k = 0; k < a.size(); ++k) {
        if (!(std::abs(a[k] - b[k]) <= 1e-4f * std::max(1.0f, std::abs(b[k])))) {
          FAIL_CHECK("output " << o << " element " << k << ": cpu " << a[k] << ", reference " << b[k]);
          return;
        }
      }
    }
  }
}

// x -> Conv(w, random bias; square strides, dilations, pads) [-> BatchNormalization -> Relu] -> output.
void conv_bn_relu(GraphBuilder& b, ir::Tensor w, int64_t s, int64_t d, int64_t pad, bool bn_relu) {
  const int64_t m = w.shape()[0];
  b.node("Conv", {"x", b.init("w", std::move(w)), b.random_init("bias", {m})}, {"c"},
         {{"strides", ir::Attribute::of_ints({s, s})},
          {"dilations", ir::Attribute::of_ints({d, d})},
          {"pads", ir::Attribute::of_ints({pad, pad, pad, pad})}});
  if (bn_relu) {
    b.node("BatchNormalization",
           {"c", b.random_init("s", {m}, 0.5f, 1.5f), b.random_init("bb", {m}), b.random_init("mu", {m}),
            b.random_init("var", {m}, 0.2f, 2.0f)},
           {"bn"});
    b.node("Relu", {"bn"}, {"r"});
  }
  b.output(bn_relu ? "r" : "c");
}

int pick(std::mt19937& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }

}  // namespace

TEST_CASE("cpu differential: convolutions (shapes, strides, pads, dilations, groups, fused BN and activations)",
          "[cpu_runtime][differential]") {
  std::mt19937 rng(2026);
  int made = 0;
  for (int seed = 0; made < 120; ++seed) {
    const int kind = seed % 3;  // 0 dense, 1 grouped, 2 depthwise
    const int64_t groups = kind == 0 ? 1 : kind == 1 ? pick(rng, 2, 3) : pick(rng, 2, 6);
    const int64_t cg = kind == 2 ? 1 : pick(rng, 1, 5);
    const int64_t C = groups * cg;
    const int64_t M = groups * (kind == 2 ? pick(rng, 1, 2) : pick(rng, 1, 6));
    const int64_t N = pick(rng, 1, 2), H = pick(rng, 1, 11), W = pick(rng, 1, 11);
    const int64_t kh = pick(rng, 1, 5), kw = pick(rng, 1, 3);
    const int64_t sh = pick(rng, 1, 3), sw = pick(rng, 1, 2), dh = pick(rng, 1, 2), dw = pick(rng, 1, 2);
    const int pad_mode = pick(rng, 0, 3);  // explicit, SAME_UPPER, SAME_LOWER, VALID
    std::vector<int64_t> pads{pick(rng, 0, 2), pick(rng, 0, 2), pick(rng, 0, 2), pick(rng, 0, 2)};
    const int64_t eh = (kh - 1) * dh + 1, ew = (kw - 1) * dw + 1;
    const bool fits = pad_mode == 0   ? H + pads[0] + pads[2] >= eh && W + pads[1] + pads[3] >= ew
                      : pad_mode == 3 ? H >= eh && W >= ew
                                      : true;
    if (!fits) continue;
    // SAME_* with dilation is not in every ONNX version's spec; keep SAME to dilation 1.
    const int64_t dil_h = pad_mode == 1 || pad_mode == 2 ? 1 : dh, dil_w = pad_mode == 1 || pad_mode == 2 ? 1 : dw;
    ++made;
    GraphBuilder b(static_cast<uint32_t>(seed));
    b.input("x", {N, C, H, W});
    Attrs attrs{{"group", ir::Attribute::of_int(groups)},
                {"kernel_shape", ir::Attribute::of_ints({kh, kw})},
                {"strides", ir::Attribute::of_ints({sh, sw})},
                {"dilations", ir::Attribute::of_ints({dil_h, dil_w})}};
    if (pad_mode == 0) attrs["pads"] = ir::Attribute::of_ints(pads);
    if (pad_mode > 0) attrs["auto_pad"] = ir::Attribute::of_string(pad_mode == 1 ? "SAME_UPPER" : pad_mode == 2 ? "SAME_LOWER" : "VALID");
    std::vector<std::string> in{"x", b.random_init("w", {M, cg, kh, kw})};
    if (seed % 2) in.push_back(b.random_init("bias", {M}));
    b.node("Conv", in, {"c"}, attrs);
    const char* y = "c";
    const int after = seed % 5;  // none, BN, BN + Relu, Relu, Clip
    if (after == 1 || after == 2) {
      b.node("BatchNormalization",
             {y, b.random_init("s", {M}, 0.5f, 1.5f), b.random_init("bb", {M}), b.random_init("mu", {M}),
              b.random_init("var", {M}, 0.2f, 2.0f)},
             {"bn"}, {{"epsilon", ir::Attribute::of_float(1e-3f)}});
      y = "bn";
    }
    if (after == 2 || after == 3) {
      b.node("Relu", {y}, {"r"});
      y = "r";
    }
    if (after == 4) {
      b.node("Clip", {y, b.init("lo", ir::Tensor::scalar<float>(-0.5f)), b.init("hi", ir::Tensor::scalar<float>(0.7f))},
             {"clip"});
      y = "clip";
    }
    b.output(y);
    const ir::Model m = b.build();
    require_matches_reference(m, {random_tensor(rng, {N, C, H, W})}, kind == 2 && cg == 1 && M == groups ? "xnnpack:dwconv" : "xnnpack:",
                              fmt::format("seed {}: N{} C{} H{} W{} M{} g{} k{}x{} s{}x{} d{}x{} pad_mode {} pads {} after {}", seed,
                                          N, C, H, W, M, groups, kh, kw, sh, sw, dil_h, dil_w, pad_mode, fmt::join(pads, ","), after));
  }
}

TEST_CASE("cpu differential: a large convolution split into output-channel slices", "[cpu_runtime][differential]") {
  GraphBuilder b(11);
  b.input("x", {1, 256, 7, 7});
  b.node("Conv", {"x", b.random_init("w", {320, 256, 3, 3}, -0.05f, 0.05f), b.random_init("bias", {320})}, {"y"},
         {{"pads", ir::Attribute::of_ints({1, 1, 1, 1})}});
  b.output("y");
  std::mt19937 rng(3);
  require_matches_reference(b.build(), {random_tensor(rng, {1, 256, 7, 7})}, "xnnpack:convx", "sliced conv");
}

TEST_CASE("cpu differential: pooling (padding, strides, dilations, ceil_mode)", "[cpu_runtime][differential]") {
  std::mt19937 rng(7);
  int made = 0;
  for (int seed = 0; made < 60; ++seed) {
    const bool max = seed % 2 == 0;
    const int64_t C = pick(rng, 1, 5), H = pick(rng, 2, 10), W = pick(rng, 2, 10);
    const int64_t k = pick(rng, 2, 3), s = pick(rng, 1, 3), d = max ? pick(rng, 1, 2) : 1;
    const int64_t p = pick(rng, 0, k - 1);  // ONNX: pads smaller than the kernel
    const bool ceil = seed % 3 == 0;
    if (H + 2 * p < (k - 1) * d + 1 || W + 2 * p < (k - 1) * d + 1) continue;
    ++made;
    GraphBuilder b(static_cast<uint32_t>(seed), 12);
    b.input("x", {1, C, H, W});
    Attrs attrs{{"kernel_shape", ir::Attribute::of_ints({k, k})},
                {"strides", ir::Attribute::of_ints({s, s})},
                {"pads", ir::Attribute::of_ints({p, p, p, p})},
                {"ceil_mode", ir::Attribute::of_int(ceil)}};
    if (max) attrs["dilations"] = ir::Attribute::of_ints({d, d});
    // A convolution first, so the pool reads Nhwc as in a real network.
    b.node("Conv", {"x", b.random_init("w", {C, C, 1, 1})}, {"c"});
    b.node(max ? "MaxPool" : "AveragePool", {"c"}, {"y"}, attrs);
    b.output("y");
    require_matches_reference(b.build(), {random_tensor(rng, {1, C, H, W})}, max ? "xnnpack:max_pool" : "xnnpack:average_pool",
                              fmt::format("seed {}: {} C{} H{} W{} k{} s{} d{} p{} ceil {}", seed, max ? "max" : "avg", C, H, W, k,
                                          s, d, p, ceil));
  }
  GraphBuilder b(1);
  b.input("x", {2, 6, 5, 3});
  b.node("GlobalAveragePool", {"x"}, {"g"});
  b.node("Relu", {"g"}, {"y"});
  b.output("y");
  require_matches_reference(b.build(), {random_tensor(rng, {2, 6, 5, 3})}, "xnnpack:global_average_pool", "global average pool");
}

TEST_CASE("cpu differential: elementwise ops broadcast in both layouts", "[cpu_runtime][differential]") {
  std::mt19937 rng(9);
  const std::vector<ir::Shape> others{{1, 4, 5, 6}, {4, 1, 1}, {1}, {1, 4, 1, 1}, {6}, {5, 6}, {2, 4, 5, 6}};
  for (const char* op : {"Add", "Sub", "Mul", "Div"}) {
    for (const ir::Shape& other : others) {
      for (const bool after_conv : {false, true}) {
        GraphBuilder b(3);
        b.input("x", {2, 4, 5, 6});
        if (after_conv) b.node("Conv", {"x", b.random_init("w", {4, 4, 1, 1})}, {"c"});  // the left operand stored Nhwc
        const char* a = after_conv ? "c" : "x";
        const std::string c = b.init("k", b.random(other, 0.5f, 1.5f));  // away from 0 for Div
        b.node(op, {a, c}, {"e"});
        b.node("Relu", {"e"}, {"y"});
        b.output("y");
        require_matches_reference(b.build(), {random_tensor(rng, {2, 4, 5, 6})}, fmt::format("xnnpack:{}", op),
                                  fmt::format("{} with {} after conv {}", op, ir::shape_str(other), after_conv));
      }
    }
  }
  for (const char* op : {"Relu", "Sigmoid", "HardSwish", "LeakyRelu"}) {
    GraphBuilder b(4, 14);
    b.input("x", {1, 3, 4, 5});
    b.node("Conv", {"x", b.random_init("w", {3, 3, 1, 1}, -3.f, 3.f)}, {"c"});
    b.node("Add", {"c", "x"}, {"a"});
    b.node(op, {"a"}, {"y"});
    b.output("y");
    b.output("a");  // a graph output too: the activation cannot fuse into the Add
    require_matches_reference(b.build(), {random_tensor(rng, {1, 3, 4, 5})}, fmt::format("xnnpack:{}", op), op);
  }
}

TEST_CASE("cpu differential: Gemm and MatMul with constant weights", "[cpu_runtime][differential]") {
  std::mt19937 rng(5);
  struct Case {
    bool trans_b;
    float alpha, beta;
    ir::Shape c;  // empty: no C
  };
  for (const Case& k : {Case{false, 1, 1, {}}, Case{true, 1, 1, {7}}, Case{true, 0.5f, 2.0f, {1, 7}},
                        Case{false, 1.5f, 0.25f, {1}}, Case{true, 1, 1, {3, 7}}}) {
    GraphBuilder b(8);
    b.input("a", {3, 10});
    std::vector<std::string> in{"a", b.random_init("b", k.trans_b ? ir::Shape{7, 10} : ir::Shape{10, 7})};
    if (!k.c.empty()) in.push_back(b.random_init("c", k.c));
    b.node("Gemm", in, {"y"},
           {{"transB", ir::Attribute::of_int(k.trans_b)}, {"alpha", ir::Attribute::of_float(k.alpha)},
            {"beta", ir::Attribute::of_float(k.beta)}});
    b.output("y");
    // C of [3, 7] (a full matrix) is outside the fast path: the reference runs it, still equal.
    const bool fast = k.c.size() != 2 || k.c[0] == 1;
    require_matches_reference(b.build(), {random_tensor(rng, {3, 10})}, fast ? "xnnpack:fully_connected" : "",
                              fmt::format("Gemm transB {} alpha {} beta {} C {}", k.trans_b, k.alpha, k.beta, ir::shape_str(k.c)));
  }
  GraphBuilder b(9);
  b.input("a", {2, 3, 10});
  b.node("MatMul", {"a", b.random_init("b", {10, 4})}, {"m"});
  b.node("Clip", {"m", b.init("lo", ir::Tensor::scalar<float>(-0.2f)), b.init("hi", ir::Tensor::scalar<float>(0.3f))}, {"y"});
  b.output("y");
  require_matches_reference(b.build(), {random_tensor(rng, {2, 3, 10})}, "xnnpack:fully_connected", "MatMul + Clip");
}

TEST_CASE("cpu differential: Concat in Nhwc and Nchw", "[cpu_runtime][differential]") {
  std::mt19937 rng(6);
  for (const int64_t axis : {1, 2, -1}) {
    GraphBuilder b(10);
    b.input("x", {1, 3, 4, 5});
    b.node("Conv", {"x", b.random_init("w1", {2, 3, 1, 1})}, {"c1"});
    b.node("Conv", {"x", b.random_init("w2", {3, 3, 3, 3}), b.random_init("b2", {3})}, {"c2"},
           {{"pads", ir::Attribute::of_ints({1, 1, 1, 1})}});
    std::vector<std::string> in{"c1", "c2"};
    if (axis == 1) in.push_back("x");
    b.node("Concat", axis == 1 ? in : std::vector<std::string>{"c2", "x"}, {"y"}, {{"axis", ir::Attribute::of_int(axis)}});
    b.output("y");
    require_matches_reference(b.build(), {random_tensor(rng, {1, 3, 4, 5})}, "concat", fmt::format("Concat axis {}", axis));
  }
}

TEST_CASE("cpu differential: sparse convolutions (unstructured, blocked reductions)", "[cpu_runtime][differential]") {
  std::mt19937 rng(12);
  struct Case {
    int64_t n, c, h, w, m, k, s, d, pad;
    double sparsity;
    bool bn_relu;
  };
  // Each layer is large enough for the sparse kernel (>= 8 M MACs, a reduction of >= 128 rows,
  // >= 16 input channels, a kernel of more than one tap); reductions of 144 rows fit one block,
  // the others (216 to 1350 rows) span several 192-row blocks.
  for (const Case& k : {Case{1, 32, 24, 24, 64, 3, 1, 1, 1, 0.8, false}, Case{2, 24, 40, 30, 160, 3, 2, 1, 0, 0.9, true},
                        Case{1, 16, 30, 30, 80, 3, 1, 2, 2, 0.95, false}, Case{1, 16, 60, 60, 70, 3, 1, 1, 1, 0.85, true},
                        Case{1, 128, 14, 14, 48, 3, 1, 1, 1, 0.8, false}, Case{1, 150, 10, 12, 200, 3, 2, 1, 1, 0.9, true}}) {
    GraphBuilder b(17);
    b.input("x", {k.n, k.c, k.h, k.w});
    ir::Tensor w = b.random({k.m, k.c, k.k, k.k});
    std::bernoulli_distribution zero(k.sparsity);
    for (float& v : w.span<float>()) v = zero(rng) ? 0.0f : v;
    conv_bn_relu(b, std::move(w), k.s, k.d, k.pad, k.bn_relu);
    require_matches_reference(b.build(), {random_tensor(rng, {k.n, k.c, k.h, k.w})}, "sparse:conv",
                              fmt::format("sparse conv N{} C{} {}x{} M{} k{} s{} d{} pad{} sparsity {}", k.n, k.c, k.h, k.w,
                                          k.m, k.k, k.s, k.d, k.pad, k.sparsity));
  }
}

TEST_CASE("cpu differential: 2:4 sparse convolutions (pairs, padded pairs, empty groups, blocks, chunks)",
          "[cpu_runtime][differential]") {
  std::mt19937 rng(14);
  struct Case {
    int64_t n, c, h, w, m, k, s, d, pad;
    bool bn_relu;
  };
  // Reductions of 288 to 2304 rows: one gathered block up to 1024 rows (28 channel groups of a
  // 3x3), several beyond; 64-channel chunks with a partial last one (100, 130, 150); 25 to 900
  // output pixels (partial 64-pixel tiles); 7x7 with 130 channels and 2 threads splits the
  // chunks between threads (one tile).
  for (const Case& k : {Case{1, 32, 24, 24, 64, 3, 1, 1, 1, false}, Case{1, 64, 28, 28, 150, 3, 2, 1, 1, true},
                        Case{1, 128, 9, 9, 100, 3, 1, 2, 2, false}, Case{1, 256, 7, 7, 130, 3, 1, 1, 1, true},
                        Case{2, 16, 30, 30, 80, 3, 1, 1, 0, false}, Case{2, 16, 40, 40, 64, 5, 2, 1, 2, true}}) {
    GraphBuilder b(19);
    b.input("x", {k.n, k.c, k.h, k.w});
    ir::Tensor w = b.random({k.m, k.c, k.k, k.k});
    // Per (output channel, 4 input channels, tap): mostly 2 nonzeros, sometimes 1 or none.
    const int64_t taps = k.k * k.k;
    auto v = w.span<float>();
    for (int64_t m = 0; m < k.m; ++m) {
      for (int64_t g = 0; g < k.c / 4; ++g) {
        for (int64_t t = 0; t < taps; ++t) {
          const int keep = std::discrete_distribution<int>({1, 2, 12})(rng);
          std::array<int, 4> order{0, 1, 2, 3};
          std::shuffle(order.begin(), order.end(), rng);
          for (int a = keep; a < 4; ++a) v[static_cast<size_t>(((m * k.c) + 4 * g + order[a]) * taps + t)] = 0.0f;
        }
      }
    }
    conv_bn_relu(b, std::move(w), k.s, k.d, k.pad, k.bn_relu);
    require_matches_reference(b.build(), {random_tensor(rng, {k.n, k.c, k.h, k.w})}, "sparse:conv_2of4",
                              fmt::format("2:4 conv N{} C{} {}x{} M{} k{} s{} d{} pad{}", k.n, k.c, k.h, k.w, k.m, k.k,
                                          k.s, k.d, k.pad));
  }
  // One group with three nonzeros: not 2:4, and at ~50 % zeros below the CSR threshold: dense.
  GraphBuilder b(20);
  b.input("x", {1, 32, 24, 24});
  ir::Tensor w = b.random({64, 32, 3, 3});
  auto v = w.span<float>();
  for (size_t i = 0; i < v.size(); ++i) {
    if ((i / 9) % 4 >= 2) v[i] = 0.0f;  // channels 2, 3 of every group
  }
  v[2 * 9] = 1.0f;  // output channel 0, input channel 2, tap 0
  b.node("Conv", {"x", b.init("w", std::move(w))}, {"y"}, {{"pads", ir::Attribute::of_ints({1, 1, 1, 1})}});
  b.output("y");
  require_matches_reference(b.build(), {random_tensor(rng, {1, 32, 24, 24})}, "xnnpack:conv", "3 of 4 in one group");
}

TEST_CASE("cpu runtime: small or 1x1 sparse layers stay on the dense kernel", "[cpu_runtime][differential]") {
  std::mt19937 rng(13);
  for (const int64_t k : {1, 3}) {
    GraphBuilder b(18);
    b.input("x", {1, 16, 10, 10});
    ir::Tensor w = b.random({32, 16, k, k});
    std::bernoulli_distribution zero(0.9);
    for (float& v : w.span<float>()) v = zero(rng) ? 0.0f : v;
    b.node("Conv", {"x", b.init("w", std::move(w))}, {"y"}, {{"pads", ir::Attribute::of_ints({k / 2, k / 2, k / 2, k / 2})}});
    b.output("y");
    require_matches_reference(b.build(), {random_tensor(rng, {1, 16, 10, 10})}, "xnnpack:conv", fmt::format("{}x{}", k, k));
  }
}
