// The CPU runtime against the reference interpreter (the golden model): the same outputs on
// generated graphs and on the committed Fashion-MNIST models, an arena planned once, the
// steady-state run_into allocating nothing, and a profile that names every step.
#include "test_paths.h"
#include "graph_builder.h"
#include "ir/onnx_io.h"
#include "runtime/cpu/cpu_executor.h"
#include "runtime/reference/interpreter.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <new>
#include <random>
#include <set>

using namespace hone;
using hone::runtime::cpu::CpuExecutor;

// Counts heap allocations while `g_counting` is set, C and C++ alike (XNNPACK allocates with
// posix_memalign, the rest of hone with operator new, which calls malloc). Release builds
// interpose glibc's malloc family (forwarding to its __libc_* entry points); under
// AddressSanitizer, which owns malloc, the sanitizer's own hook counts instead.
namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
void count_allocation() {
  if (g_counting) ++g_allocations;
}
}  // namespace
#if defined(__SANITIZE_ADDRESS__)
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*, size_t),
                                                         void (*free_hook)(const volatile void*));
namespace {
void count_malloc(const volatile void*, size_t) { count_allocation(); }
void ignore_free(const volatile void*) {}
const int g_hooks_installed = __sanitizer_install_malloc_and_free_hooks(&count_malloc, &ignore_free);
}  // namespace
#else
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
void* malloc(size_t n) {
  count_allocation();
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) {
  count_allocation();
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
  count_allocation();
  return __libc_realloc(p, n);
}
void* memalign(size_t alignment, size_t n) {
  count_allocation();
  return __libc_memalign(alignment, n);
}
void* aligned_alloc(size_t alignment, size_t n) { return memalign(alignment, n); }
int posix_memalign(void** p, size_t alignment, size_t n) {
  *p = memalign(alignment, n);
  return *p || n == 0 ? 0 : ENOMEM;
}
void free(void* p) { __libc_free(p); }
}
#endif

namespace {

ir::Tensor random_input(const ir::Shape& shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  ir::Tensor t = ir::Tensor::zeros(ir::DType::Float32, shape);
  for (float& v : t.span<float>()) v = u(rng);
  return t;
}

void require_same_as_reference(const ir::Graph& g, const std::vector<ir::Tensor>& inputs, float tol) {
  runtime::ReferenceInterpreter ref(g);
  CpuExecutor cpu(g, {});
  const auto want = ref.run(inputs);
  const auto got = cpu.run(inputs);
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    REQUIRE(got[i].shape() == want[i].shape());
    REQUIRE(got[i].dtype() == want[i].dtype());
    const auto a = got[i].span<float>(), b = want[i].span<float>();
    for (size_t k = 0; k < a.size(); ++k) {
      INFO("output " << i << " element " << k);
      REQUIRE(std::abs(a[k] - b[k]) <= tol * (1.0f + std::abs(b[k])));
    }
  }
}

}  // namespace

TEST_CASE("cpu runtime: the Fashion-MNIST models give the reference's outputs", "[cpu_runtime]") {
  for (const char* name : {"fmnist_cnn", "fmnist_mobilenet"}) {
    INFO(name);
    const ir::Model m = ir::load_onnx(std::string(HONE_SOURCE_DIR) + "/models/" + name + ".onnx");
    require_same_as_reference(m.graph, {random_input({1, 1, 28, 28}, 1)}, 1e-5f);
    require_same_as_reference(m.graph, {random_input({3, 1, 28, 28}, 2)}, 1e-5f);  // another batch: re-prepared
  }
}

TEST_CASE("cpu runtime: plans one arena, reuses it across runs, and profiles every step", "[cpu_runtime]") {
  const ir::Model m = ir::load_onnx(std::string(HONE_SOURCE_DIR) + "/models/fmnist_cnn.onnx");
  CpuExecutor cpu(m.graph, {.threads = 1, .profile = true});
  const ir::Tensor x = random_input({1, 1, 28, 28}, 3);
  const auto first = cpu.run({&x, 1});
  const auto second = cpu.run({&x, 1});
  CHECK(std::memcmp(first[0].raw(), second[0].raw(), first[0].nbytes()) == 0);
  const auto d = cpu.describe();
  CHECK(d["prepared"] == true);
  // Every node runs in exactly one step: Conv + BatchNormalization + Relu fuse into one XNNPACK
  // convolution, Gemm + Relu into one fully connected operator, and one layout conversion
  // (Nhwc -> Nchw before Flatten) is added.
  std::multiset<std::string> nodes, want;
  for (const auto& n : m.graph.nodes) want.insert(n->name);
  std::vector<std::string> ops, kernels;
  for (const auto& s : d["steps"]) {
    ops.push_back(s["op_type"]);
    kernels.push_back(s["kernel"]);
    if (s["op_type"] != "LayoutConversion") {
      for (const auto& n : s["nodes"]) nodes.insert(n.get<std::string>());
    }
  }
  CHECK(nodes == want);
  CHECK(ops == std::vector<std::string>{"Conv+BatchNormalization+Relu", "MaxPool", "Conv+BatchNormalization+Relu",
                                        "MaxPool", "Conv+BatchNormalization+Relu", "MaxPool", "LayoutConversion",
                                        "Flatten", "Gemm+Relu", "Gemm"});
  CHECK(kernels[0] == "xnnpack:conv");
  CHECK(kernels[1] == "xnnpack:max_pool");
  CHECK(kernels[6] == "layout:nhwc_to_nchw");
  CHECK(kernels[8] == "xnnpack:fully_connected");
  CHECK(d["reference_fallbacks"].empty());
  // The largest live set is conv1's 32x28x28 float output and the max pool's 32x14x14 output
  // it is read into; the planner fits the arena within 25 % of that bound.
  const int64_t bound = (32 * 28 * 28 + 32 * 14 * 14) * 4;
  CHECK(d["arena_bytes"].get<int64_t>() >= bound);
  CHECK(d["arena_bytes"].get<int64_t>() <= bound * 5 / 4);
  const auto p = cpu.profile();
  REQUIRE(p.size() == d["steps"].size());
  double share = 0;
  for (const auto& l : p) {
    CHECK(l["calls"] == 2);
    share += l["share"].get<double>();
  }
  CHECK(share == Approx(1.0));
}

TEST_CASE("cpu runtime: run_into allocates nothing when no node falls back", "[cpu_runtime]") {
  test::GraphBuilder b;
  b.input("x", {2, 3, 4});
  b.node("Reshape", {"x", b.init("shape", ir::Tensor::from_vector<int64_t>({2}, {6, 4}))}, {"r"});
  b.node("Flatten", {"r"}, {"y"}, {{"axis", ir::Attribute::of_int(1)}});
  b.output("y");
  const ir::Graph g = b.build().graph;
  CpuExecutor cpu(g, {});
  const ir::Tensor x = random_input({2, 3, 4}, 4);
  auto out = cpu.run({&x, 1});
  REQUIRE(cpu.describe()["reference_fallbacks"].empty());
  g_allocations = 0;
  g_counting = true;
  void* volatile probe = ::operator new(16);  // the counter works: this allocation is seen
  ::operator delete(probe);
  const long after_probe_ref = g_allocations;
  g_allocations = 0;
  cpu.run_into({&x, 1}, out);
  g_counting = false;
  CHECK(after_probe_ref == 1);
  CHECK(g_allocations == 0);
  CHECK(std::memcmp(out[0].raw(), x.raw(), x.nbytes()) == 0);
}

TEST_CASE("cpu runtime: the Fashion-MNIST models run without allocating, on 1 and 2 threads", "[cpu_runtime]") {
  for (const char* name : {"fmnist_cnn", "fmnist_mobilenet"}) {
    for (const int threads : {1, 2}) {
      INFO(name << ", " << threads << " threads");
      const ir::Model m = ir::load_onnx(std::string(HONE_SOURCE_DIR) + "/models/" + name + ".onnx");
      CpuExecutor cpu(m.graph, {.threads = threads});
      const ir::Tensor x = random_input({1, 1, 28, 28}, 7);
      auto out = cpu.run({&x, 1});
      const auto first = out[0].clone();
      REQUIRE(cpu.describe()["reference_fallbacks"].empty());
      g_allocations = 0;
      g_counting = true;
      void* volatile probe = std::malloc(16);  // the counter sees C allocations too
      std::free(probe);
      const long probe_count = g_allocations;
      g_allocations = 0;
      for (int i = 0; i < 5; ++i) cpu.run_into({&x, 1}, out);
      g_counting = false;
      CHECK(probe_count == 1);
      CHECK(g_allocations == 0);
      CHECK(std::memcmp(out[0].raw(), first.raw(), first.nbytes()) == 0);
    }
  }
}

TEST_CASE("cpu runtime: wrong inputs are bad input, not a crash", "[cpu_runtime]") {
  const ir::Model m = ir::load_onnx(std::string(HONE_SOURCE_DIR) + "/models/fmnist_cnn.onnx");
  CpuExecutor cpu(m.graph, {});
  const ir::Tensor good = random_input({1, 1, 28, 28}, 5);
  cpu.run({&good, 1});
  const ir::Tensor wrong_shape = random_input({1, 1, 27, 28}, 6);
  const ir::Tensor wrong_dtype = ir::Tensor::zeros(ir::DType::Float64, {1, 1, 28, 28});
  for (const ir::Tensor* t : {&wrong_shape, &wrong_dtype}) {
    try {
      cpu.run({t, 1});
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::BadInput);
      CHECK(std::string(e.what()).find("input 'input' expects") != std::string::npos);
    }
  }
  CHECK_THROWS_AS(cpu.run({}), Error);
  // Still usable afterwards.
  CHECK(cpu.run({&good, 1}).size() == 1);
}
