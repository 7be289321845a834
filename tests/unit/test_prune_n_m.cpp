// prune_n_m: every group of m weights along the reduction dimension keeps at most n nonzeros,
// the kept ones are the largest of their group and unchanged, dense layers reach exactly
// 1 - n/m, skipped/excluded layers stay bit-identical, and the pruned model computes exactly
// what the float model with the same weights zeroed computes (reference interpreter).
#include "test_paths.h"
#include "datasets/datasets.h"
#include "graph_builder.h"
#include "passes/passes.h"
#include "test_util.h"

#include <algorithm>
#include <cmath>

using namespace hone;
using nlohmann::json;

namespace {

const pipeline::Registration& reg() {
  static const pipeline::Registration r = passes::prune_n_m_registration();
  return r;
}

json prune(ir::Model& m, json params = json::object()) { return test::run_pass(reg(), m, std::move(params)); }

const ir::Shape kInput = {2, 3, 6, 6};

// x[2,3,6,6] -> conv0 [8,3,3,3] -> conv1 [8,8,3,3] (+bias) -> Relu -> conv2 [8,4,1,1] group 2
// -> convt [8,4,2,2] group 2 stride 2 -> Flatten -> gemm1 transB [16,1152] -> gemm2 [16,12]
// -> matmul [12,6] -> y
ir::Model model() {
  test::GraphBuilder b(17);
  b.input("x", kInput).output("y");
  b.random_init("w0", {8, 3, 3, 3});
  b.random_init("w1", {8, 8, 3, 3});
  b.random_init("b1", {8});
  b.random_init("w2", {8, 4, 1, 1});
  b.random_init("wt", {8, 4, 2, 2});
  b.random_init("w3", {16, 1152}, -0.1f, 0.1f);
  b.random_init("c3", {16});
  b.random_init("w4", {16, 12});
  b.random_init("w5", {12, 6});
  const auto pads = ir::Attribute::of_ints({1, 1, 1, 1});
  b.node("Conv", {"x", "w0"}, {"a0"}, {{"pads", pads}}, "conv0");
  b.node("Conv", {"a0", "w1", "b1"}, {"a1"}, {{"pads", pads}}, "conv1");
  b.node("Relu", {"a1"}, {"r1"});
  b.node("Conv", {"r1", "w2"}, {"a2"}, {{"group", ir::Attribute::of_int(2)}}, "conv2");
  b.node("ConvTranspose", {"a2", "wt"}, {"at"},
         {{"group", ir::Attribute::of_int(2)}, {"strides", ir::Attribute::of_ints({2, 2})}}, "convt");
  b.node("Flatten", {"at"}, {"f"});
  b.node("Gemm", {"f", "w3", "c3"}, {"g1"}, {{"transB", ir::Attribute::of_int(1)}}, "gemm1");
  b.node("Gemm", {"g1", "w4"}, {"g2"}, {}, "gemm2");
  b.node("MatMul", {"g2", "w5"}, {"y"}, {}, "matmul");
  return b.build();
}

// [outer, D, inner] around the reduction axis, written out per layer independently of the pass.
struct View {
  int64_t outer, d, inner;
};
const std::map<std::string, View> kViews = {
    {"w1", {8, 8, 9}}, {"w2", {8, 4, 1}}, {"wt", {1, 8, 16}}, {"w3", {16, 1152, 1}}, {"w4", {1, 16, 12}},
    {"w5", {1, 12, 6}}};

// Every group of m along the view has <= n nonzeros, kept weights are unchanged and the
// largest of their group; returns the number of groups.
int64_t check_groups(const ir::Tensor& before, const ir::Tensor& after, View v, int64_t n, int64_t m) {
  int64_t groups = 0;
  for (int64_t o = 0; o < v.outer; ++o) {
    for (int64_t j = 0; j < v.d / m; ++j) {
      for (int64_t i = 0; i < v.inner; ++i) {
        int64_t nonzeros = 0;
        float min_kept = INFINITY, max_zeroed = 0;
        for (int64_t t = 0; t < m; ++t) {
          const int64_t k = (o * v.d + j * m + t) * v.inner + i;
          const float a = before.data<float>()[k], b = after.data<float>()[k];
          if (b != 0.0f) {
            ++nonzeros;
            REQUIRE(b == a);
            min_kept = std::min(min_kept, std::fabs(a));
          } else {
            max_zeroed = std::max(max_zeroed, std::fabs(a));
          }
        }
        REQUIRE(nonzeros <= n);
        REQUIRE(max_zeroed <= min_kept);
        ++groups;
      }
    }
  }
  return groups;
}

int64_t zeros(const ir::Tensor& t) {
  int64_t z = 0;
  for (float v : t.span<float>()) z += v == 0.0f;
  return z;
}

void check_differential(const ir::Model& before, const ir::Model& after) {
  const ir::Model reloaded = ir::load_onnx_bytes(ir::serialize_onnx(after), "pruned", "");
  ir::Model expected = before;
  for (const auto& [name, t] : before.graph.initializers) {
    const ir::Tensor* p = after.graph.initializer(name);
    REQUIRE(p != nullptr);
    ir::Tensor z = t.clone();
    for (int64_t i = 0; i < z.numel(); ++i) {
      if (p->data<float>()[i] == 0.0f) z.data<float>()[i] = 0.0f;
    }
    expected.graph.initializers[name] = z;
  }
  const ir::Tensor x = test::GraphBuilder(99).random(kInput);
  CHECK(test::run_reference(expected, {x})[0].identical(test::run_reference(reloaded, {x})[0]));
}

const json* entry(const json& list, const std::string& node) {
  for (const json& e : list) {
    if (e["node"] == node) return &e;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("prune_n_m 2:4 along the reduction dimension of Conv, ConvTranspose, Gemm and MatMul",
          "[passes][prune_n_m]") {
  ir::Model m = model();
  const ir::Model before = m;
  const json r = prune(m);  // defaults: 2:4
  CHECK(r["pattern"] == "2:4");
  REQUIRE(r["layers"].size() == 6);
  for (const auto& [name, view] : kViews) {
    const ir::Tensor& w = *m.graph.initializer(name);
    const int64_t groups = check_groups(*before.graph.initializer(name), w, view, 2, 4);
    CHECK(groups == w.numel() / 4);
    CHECK(zeros(w) == w.numel() / 2);  // exactly 1 - 2/4
  }
  const json* conv1 = entry(r["layers"], "conv1");
  REQUIRE(conv1);
  CHECK((*conv1)["pattern"] == "2:4");
  CHECK((*conv1)["groups"] == 144);
  CHECK((*conv1)["sparsity"] == 0.5);
  CHECK((*conv1)["groups_along"] == "input channels (axis 1)");
  CHECK((*entry(r["layers"], "matmul"))["groups_along"] == "K (axis 0)");
  // conv0 has 3 input channels: skipped, untouched.
  REQUIRE(r["skipped"].size() == 1);
  CHECK(r["skipped"][0]["node"] == "conv0");
  CHECK(r["skipped"][0]["reason"] == "reduction length 3 along input channels (axis 1) is not a multiple of m = 4");
  CHECK(m.graph.initializer("w0")->identical(*before.graph.initializer("w0")));
  CHECK(m.graph.initializer("b1")->identical(*before.graph.initializer("b1")));
  CHECK(m.graph.initializer("c3")->identical(*before.graph.initializer("c3")));
  CHECK(r["sparsity_pruned_layers"] == 0.5);
  check_differential(before, m);
  // A second run finds every group already within the pattern.
  const ir::Model once = m;
  prune(m);
  for (const auto& [name, t] : once.graph.initializers) CHECK(m.graph.initializer(name)->identical(t));
}

TEST_CASE("prune_n_m other patterns: 1:4 and 4:8", "[passes][prune_n_m]") {
  SECTION("1:4") {
    ir::Model m = model();
    const ir::Model before = m;
    const json r = prune(m, {{"n", 1}, {"m", 4}});
    CHECK(r["pattern"] == "1:4");
    for (const auto& [name, view] : kViews) {
      const ir::Tensor& w = *m.graph.initializer(name);
      check_groups(*before.graph.initializer(name), w, view, 1, 4);
      CHECK(zeros(w) == w.numel() * 3 / 4);
    }
    check_differential(before, m);
  }
  SECTION("4:8: layers whose reduction length is no multiple of 8 are skipped") {
    ir::Model m = model();
    const ir::Model before = m;
    const json r = prune(m, {{"n", 4}, {"m", 8}});
    for (const std::string name : {"w1", "w3", "w4"}) {
      const ir::Tensor& w = *m.graph.initializer(name);
      CHECK(check_groups(*before.graph.initializer(name), w, kViews.at(name), 4, 8) == w.numel() / 8);
      CHECK(zeros(w) == w.numel() / 2);
    }
    // conv2: 4 channels per group; convt: 8 input channels but 4 per conv group (a group of 8
    // would straddle two conv groups); matmul: K = 12.
    for (const std::string name : {"w0", "w2", "wt", "w5"})
      CHECK(m.graph.initializer(name)->identical(*before.graph.initializer(name)));
    CHECK(r["skipped"].size() == 4);
    CHECK((*entry(r["skipped"], "convt"))["reason"] ==
          "reduction length 4 along input channels (axis 0) is not a multiple of m = 8");
    CHECK((*entry(r["skipped"], "matmul"))["reason"] == "reduction length 12 along K (axis 0) is not a multiple of m = 8");
    check_differential(before, m);
  }
}

TEST_CASE("prune_n_m exclude and exclude_first_last keep layers bit-identical", "[passes][prune_n_m]") {
  ir::Model m = model();
  const ir::Model before = m;
  const json r = prune(m, {{"exclude", {"Gemm"}}, {"exclude_first_last", true}});
  for (const std::string name : {"w0", "w3", "w4", "w5"})
    CHECK(m.graph.initializer(name)->identical(*before.graph.initializer(name)));
  CHECK((*entry(r["skipped"], "matmul"))["reason"] == "last weight layer (exclude_first_last)");
  CHECK((*entry(r["skipped"], "gemm1"))["reason"] == "excluded by the exclude parameter");
  CHECK(r["layers"].size() == 3);
  CHECK(zeros(*m.graph.initializer("w1")) == 288);
}

TEST_CASE("prune_n_m shared weights: pruned once when the grouping agrees, else skipped", "[passes][prune_n_m]") {
  auto shared = [](int64_t trans_b) {
    test::GraphBuilder b(3);
    b.input("x", {2, 8}).output("y");
    b.random_init("w", {8, 8});
    b.node("MatMul", {"x", "w"}, {"h"}, {}, "");
    b.node("Gemm", {"h", "w"}, {"y"}, {{"transB", ir::Attribute::of_int(trans_b)}}, "gemm");
    ir::Model m = b.build();
    m.graph.nodes[0]->name.clear();  // an unnamed node
    return m;
  };
  SECTION("MatMul and Gemm transB=0 group along the same axis") {
    ir::Model m = shared(0);
    const ir::Model before = m;
    const json r = prune(m);
    REQUIRE(r["layers"].size() == 1);
    CHECK(r["layers"][0]["shared_with"] == json::array({"gemm"}));
    check_groups(*before.graph.initializer("w"), *m.graph.initializer("w"), {1, 8, 8}, 2, 4);
    CHECK(zeros(*m.graph.initializer("w")) == 32);
    const ir::Model reloaded = ir::load_onnx_bytes(ir::serialize_onnx(m), "pruned", "");
    ir::Model expected = before;
    expected.graph.initializers["w"] = *m.graph.initializer("w");
    const ir::Tensor x = test::GraphBuilder(4).random({2, 8});
    CHECK(test::run_reference(expected, {x})[0].identical(test::run_reference(reloaded, {x})[0]));
  }
  SECTION("Gemm transB=1 reduces along the other axis: skipped") {
    ir::Model m = shared(1);
    const ir::Model before = m;
    const json r = prune(m);
    CHECK(r["layers"].empty());
    REQUIRE(r["skipped"].size() == 2);
    CHECK(r["skipped"][0]["reason"].get<std::string>().find("reduction axis differs") != std::string::npos);
    CHECK(m.graph.initializer("w")->identical(*before.graph.initializer("w")));
  }
}

TEST_CASE("prune_n_m rejects n >= m naming the parameter", "[passes][prune_n_m]") {
  ir::Model m = model();
  for (int n : {4, 5}) {
    const std::string msg = test::bad_input_message([&] { prune(m, {{"n", n}, {"m", 4}}); });
    CHECK(msg.rfind("n: ", 0) == 0);  // the parameter as JSON path (no pipeline path in run_pass)
    CHECK(msg.find("n = " + std::to_string(n) + " must be smaller than m = 4") != std::string::npos);
  }
  CHECK(test::bad_input_message([&] { prune(m, {{"m", 1}}); }).find("/m") != std::string::npos);
  CHECK_FALSE(reg().spec.repeatable);
}

TEST_CASE("prune_n_m e2e: fmnist_cnn top-1 at 2:4", "[.e2e][prune_n_m_e2e]") {
  const std::string root = "/usr/share/datasets/fashion-mnist";
  const pipeline::Registration idx = datasets::idx_dataset_registration();
  auto ds = pipeline::create<datasets::Dataset>(
      idx, pipeline::validate_parameters(idx.spec, {{"root", root}}, "/dataset/parameters"), {});
  const ir::Model base = ir::load_onnx(std::string(HONE_SOURCE_DIR) + "/models/fmnist_cnn.onnx");
  // Top-1 on the test split, samples / 255 as [n, 1, 28, 28].
  auto top1 = [&](const ir::Model& m) {
    runtime::ReferenceInterpreter interp(m.graph);
    int64_t correct = 0;
    for (int64_t first = 0; first < ds->size(); first += 500) {
      const int64_t c = std::min<int64_t>(500, ds->size() - first);
      const datasets::Batch bt = ds->read(first, c);
      ir::Tensor x = ir::Tensor::zeros(ir::DType::Float32, {c, 1, 28, 28});
      for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(bt.samples.get_as_double(i) / 255.0);
      const std::vector<ir::Tensor> in{x};
      const ir::Tensor logits = interp.run(in)[0];
      for (int64_t i = 0; i < c; ++i) {
        const float* row = logits.data<float>() + i * 10;
        correct += std::max_element(row, row + 10) - row == bt.labels[static_cast<size_t>(i)];
      }
    }
    return static_cast<double>(correct) / static_cast<double>(ds->size());
  };
  const double fp32 = top1(base);
  for (const json& p : {json::object(), json{{"n", 1}, {"m", 4}}}) {
    ir::Model m = base;
    const json r = prune(m, p);
    const double acc = top1(m);
    WARN(p.dump() << ": fp32 " << fp32 << ", pruned " << acc << " (drop " << 100 * (fp32 - acc) << " pt); "
                  << r["layers"].size() << " layers at " << r["sparsity_pruned_layers"] << ", skipped "
                  << r["skipped"].dump());
    CHECK(r["skipped"].size() == 1);  // the first Conv has one input channel
  }
}
