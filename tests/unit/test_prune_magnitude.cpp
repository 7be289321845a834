// prune_magnitude: exact sparsity per layer and global, the zeroed weights are the smallest,
// the sigma threshold zeroes exactly |w| <= s*sigma, excluded layers / biases / shared weights
// read elsewhere are bit-identical, and the pruned model computes exactly what the float model
// with the same weights zeroed computes (reference interpreter). Also: compressed size falls
// with sparsity; a hidden [.e2e] test measures fmnist_cnn top-1 on Fashion-MNIST.
#include "test_paths.h"
#include "datasets/datasets.h"
#include "graph_builder.h"
#include "passes/passes.h"
#include "pipeline/metrics.h"
#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

using namespace hone;
using nlohmann::json;

namespace {

const pipeline::Registration& reg() {
  static const pipeline::Registration r = passes::prune_magnitude_registration();
  return r;
}

json prune(ir::Model& m, json params) { return test::run_pass(reg(), m, std::move(params)); }

// x[2,3,8,8] -> conv1 (+bias) -> Relu -> conv2 -> Flatten -> gemm (transB, +bias) -> matmul -> y.
// Each layer's weights have a different scale, so a global threshold prunes them unequally.
ir::Model four_layer_model(uint32_t seed = 11) {
  test::GraphBuilder b(seed);
  b.input("x", {2, 3, 8, 8}).output("y");
  b.random_init("w1", {8, 3, 3, 3}, -1.0f, 1.0f);
  b.random_init("b1", {8}, -0.5f, 0.5f);
  b.random_init("w2", {8, 8, 3, 3}, -0.3f, 0.3f);
  b.random_init("w3", {10, 128}, -0.1f, 0.1f);
  b.random_init("c3", {10}, -0.5f, 0.5f);
  b.random_init("w4", {10, 5}, -2.0f, 2.0f);
  b.node("Conv", {"x", "w1", "b1"}, {"c1"}, {}, "conv1");
  b.node("Relu", {"c1"}, {"r1"});
  b.node("Conv", {"r1", "w2"}, {"c2"}, {}, "conv2");
  b.node("Flatten", {"c2"}, {"f"});
  b.node("Gemm", {"f", "w3", "c3"}, {"g"}, {{"transB", ir::Attribute::of_int(1)}}, "gemm");
  b.node("MatMul", {"g", "w4"}, {"y"}, {}, "matmul");
  return b.build();
}

const std::vector<std::string> kWeights = {"w1", "w2", "w3", "w4"};

int64_t zeros(const ir::Tensor& t) {
  int64_t z = 0;
  for (float v : t.span<float>()) z += v == 0.0f;
  return z;
}

// max |w| over the zeroed-by-pruning weights and min |w| over the kept ones of `names`.
void check_smallest_zeroed(const ir::Model& before, const ir::Model& after, const std::vector<std::string>& names) {
  float max_zeroed = 0, min_kept = INFINITY;
  for (const auto& n : names) {
    const auto a = before.graph.initializer(n)->span<float>();
    const auto b = after.graph.initializer(n)->span<float>();
    for (size_t i = 0; i < a.size(); ++i) {
      if (b[i] == 0.0f) max_zeroed = std::max(max_zeroed, std::fabs(a[i]));
      else min_kept = std::min(min_kept, std::fabs(a[i]));
      if (b[i] != 0.0f) REQUIRE(b[i] == a[i]);  // kept weights are unchanged
    }
  }
  CHECK(max_zeroed <= min_kept);
}

// The pruned model is valid ONNX and computes exactly what `before` computes with the same
// weights zeroed (every other initializer must be untouched).
void check_differential(const ir::Model& before, const ir::Model& after, const ir::Shape& x_shape) {
  const std::string bytes = ir::serialize_onnx(after);
  const ir::Model reloaded = ir::load_onnx_bytes(bytes, "pruned", "");
  ir::Model expected = before;
  for (const auto& [name, t] : before.graph.initializers) {
    const ir::Tensor* p = after.graph.initializer(name);
    REQUIRE(p != nullptr);
    if (std::find(kWeights.begin(), kWeights.end(), name) == kWeights.end()) {
      CHECK(p->identical(t));
      continue;
    }
    ir::Tensor z = t.clone();
    for (int64_t i = 0; i < z.numel(); ++i) {
      if (p->data<float>()[i] == 0.0f) z.data<float>()[i] = 0.0f;
    }
    expected.graph.initializers[name] = z;
  }
  test::GraphBuilder rb(99);
  const ir::Tensor x = rb.random(x_shape);
  const auto want = test::run_reference(expected, {x});
  const auto got = test::run_reference(reloaded, {x});
  REQUIRE(want.size() == got.size());
  CHECK(want[0].identical(got[0]));
}

}  // namespace

TEST_CASE("prune_magnitude layer scope reaches the exact sparsity in every layer", "[passes][prune_magnitude]") {
  for (double s : {0.3, 0.5, 0.77}) {
    ir::Model m = four_layer_model();
    const ir::Model before = m;
    const json r = prune(m, {{"sparsity", s}});
    REQUIRE(r["layers"].size() == 4);
    int64_t total = 0, total_zeros = 0;
    for (size_t i = 0; i < kWeights.size(); ++i) {
      const ir::Tensor& w = *m.graph.initializer(kWeights[i]);
      const int64_t want = std::llround(s * static_cast<double>(w.numel()));
      CHECK(zeros(w) == want);
      const json& e = r["layers"][i];
      CHECK(e["initializer"] == kWeights[i]);
      CHECK(e["weights"] == w.numel());
      CHECK(e["zeros_before"] == 0);
      CHECK(e["zeros_after"] == want);
      CHECK(e["sparsity"].get<double>() == Approx(static_cast<double>(want) / static_cast<double>(w.numel())));
      check_smallest_zeroed(before, m, {kWeights[i]});
      // The reported threshold is the largest zeroed magnitude.
      float max_zeroed = 0;
      for (int64_t j = 0; j < w.numel(); ++j) {
        if (w.data<float>()[j] == 0.0f)
          max_zeroed = std::max(max_zeroed, std::fabs(before.graph.initializer(kWeights[i])->data<float>()[j]));
      }
      CHECK(e["threshold"].get<double>() == Approx(max_zeroed));
      total += w.numel();
      total_zeros += want;
    }
    CHECK(r["eligible_weights"] == total);
    CHECK(r["eligible_zeros"] == total_zeros);
    CHECK(r["sparsity_all_weights"].get<double>() == Approx(static_cast<double>(total_zeros) / total));
    CHECK(r["layers"][0]["node"] == "conv1");
    CHECK(r["layers"][2]["op"] == "Gemm");
    CHECK(r["skipped"].empty());
    CHECK(m.graph.initializer("b1")->identical(*before.graph.initializer("b1")));  // biases untouched
    CHECK(m.graph.initializer("c3")->identical(*before.graph.initializer("c3")));
    check_differential(before, m, {2, 3, 8, 8});
  }
}

TEST_CASE("prune_magnitude global scope: one threshold, exact total, unequal layers", "[passes][prune_magnitude]") {
  ir::Model m = four_layer_model();
  const ir::Model before = m;
  const json r = prune(m, {{"sparsity", 0.4}, {"scope", "global"}});
  int64_t total = 0, total_zeros = 0;
  std::set<double> sparsities;
  for (const auto& n : kWeights) {
    total += m.graph.initializer(n)->numel();
    total_zeros += zeros(*m.graph.initializer(n));
  }
  for (const json& e : r["layers"]) sparsities.insert(e["sparsity"].get<double>());
  CHECK(total_zeros == std::llround(0.4 * static_cast<double>(total)));
  CHECK(r["target_zeros"] == total_zeros);
  CHECK(r["sparsity_eligible"].get<double>() == Approx(0.4).margin(0.5 / total));
  CHECK(sparsities.size() == 4);  // layers of different scale end up with different sparsities
  // The smaller a layer's weight scale, the harder it is pruned: gemm > conv2 > conv1 > matmul.
  CHECK(r["layers"][2]["sparsity"].get<double>() > r["layers"][1]["sparsity"].get<double>());
  CHECK(r["layers"][1]["sparsity"].get<double>() > r["layers"][0]["sparsity"].get<double>());
  CHECK(r["layers"][0]["sparsity"].get<double>() > r["layers"][3]["sparsity"].get<double>());
  check_smallest_zeroed(before, m, kWeights);  // across the whole scope
  check_differential(before, m, {2, 3, 8, 8});
}

TEST_CASE("prune_magnitude counts weights already zero and never restores one", "[passes][prune_magnitude]") {
  ir::Model m = four_layer_model();
  ir::Tensor w2 = m.graph.initializer("w2")->clone();
  for (int64_t i = 0; i < w2.numel(); i += 3) w2.data<float>()[i] = 0.0f;  // 192 of 576 zero
  m.graph.initializers["w2"] = w2;
  const json r = prune(m, {{"sparsity", 0.5}});
  CHECK(r["layers"][1]["zeros_before"] == 192);
  CHECK(zeros(*m.graph.initializer("w2")) == 288);
  // Already sparser than the target: stays as it is.
  const ir::Model sparse = m;
  const json r2 = prune(m, {{"sparsity", 0.2}});
  for (const auto& n : kWeights) CHECK(m.graph.initializer(n)->identical(*sparse.graph.initializer(n)));
  CHECK(r2["layers"][1]["zeros_after"] == 288);
  // Iterative pruning: a second run to a higher target lands on it exactly.
  prune(m, {{"sparsity", 0.75}});
  CHECK(zeros(*m.graph.initializer("w2")) == 432);
  CHECK(zeros(*m.graph.initializer("w3")) == 960);
}

TEST_CASE("prune_magnitude sigma threshold zeroes exactly |w| <= s * sigma", "[passes][prune_magnitude]") {
  ir::Model m = four_layer_model();
  const ir::Model before = m;
  const double s = 0.8;
  const json r = prune(m, {{"threshold_sigma", s}, {"sparsity", 0.1}});  // sparsity is ignored
  CHECK(r["criterion"].get<std::string>().find("sigma") != std::string::npos);
  for (size_t i = 0; i < kWeights.size(); ++i) {
    const auto w0 = before.graph.initializer(kWeights[i])->span<float>();
    const auto w1 = m.graph.initializer(kWeights[i])->span<float>();
    double mean = 0, ss = 0;
    for (float v : w0) mean += v;
    mean /= static_cast<double>(w0.size());
    for (float v : w0) ss += (v - mean) * (v - mean);
    const double sigma = std::sqrt(ss / static_cast<double>(w0.size() - 1));
    const double lambda = s * sigma;
    int64_t expect_zeros = 0;
    for (size_t j = 0; j < w0.size(); ++j) {
      const bool prune_it = std::fabs(w0[j]) <= lambda;
      expect_zeros += prune_it;
      CHECK(w1[j] == (prune_it ? 0.0f : w0[j]));
    }
    CHECK(r["layers"][i]["sigma"].get<double>() == Approx(sigma).epsilon(1e-9));
    CHECK(r["layers"][i]["threshold"].get<double>() == Approx(lambda).epsilon(1e-9));
    CHECK(r["layers"][i]["zeros_after"] == expect_zeros);
    // Uniform weights on [-a, a]: sigma = a/sqrt(3), so about 0.8/sqrt(3) = 46% are pruned.
    CHECK(r["layers"][i]["sparsity"].get<double>() == Approx(0.8 / std::sqrt(3.0)).margin(0.08));
  }
  check_differential(before, m, {2, 3, 8, 8});
}

TEST_CASE("prune_magnitude exclude_first_last, exclude and min_size keep weights bit-identical",
          "[passes][prune_magnitude]") {
  SECTION("exclude_first_last") {
    ir::Model m = four_layer_model();
    const ir::Model before = m;
    const json r = prune(m, {{"sparsity", 0.5}, {"exclude_first_last", true}});
    CHECK(m.graph.initializer("w1")->identical(*before.graph.initializer("w1")));
    CHECK(m.graph.initializer("w4")->identical(*before.graph.initializer("w4")));
    CHECK(zeros(*m.graph.initializer("w2")) == 288);
    CHECK(zeros(*m.graph.initializer("w3")) == 640);
    REQUIRE(r["skipped"].size() == 2);
    CHECK(r["skipped"][0]["node"] == "conv1");
    CHECK(r["skipped"][0]["reason"] == "first weight layer (exclude_first_last)");
    CHECK(r["skipped"][1]["reason"] == "last weight layer (exclude_first_last)");
    CHECK(r["eligible_weights"] == 576 + 1280);
    CHECK(r["all_weights"] == 216 + 576 + 1280 + 50);
    CHECK(r["sparsity_all_weights"].get<double>() == Approx(928.0 / 2122.0));
    check_differential(before, m, {2, 3, 8, 8});
  }
  SECTION("exclude by name and by op type") {
    ir::Model m = four_layer_model();
    const ir::Model before = m;
    const json r = prune(m, {{"sparsity", 0.5}, {"exclude", {"conv2", "MatMul"}}});
    CHECK(m.graph.initializer("w2")->identical(*before.graph.initializer("w2")));
    CHECK(m.graph.initializer("w4")->identical(*before.graph.initializer("w4")));
    CHECK(zeros(*m.graph.initializer("w1")) == 108);
    CHECK(r["skipped"].size() == 2);
    CHECK(r["layers"].size() == 2);
  }
  SECTION("min_size") {
    ir::Model m = four_layer_model();
    const ir::Model before = m;
    const json r = prune(m, {{"sparsity", 0.5}, {"min_size", 300}});
    CHECK(m.graph.initializer("w1")->identical(*before.graph.initializer("w1")));  // 216 weights
    CHECK(m.graph.initializer("w4")->identical(*before.graph.initializer("w4")));  // 50 weights
    CHECK(zeros(*m.graph.initializer("w2")) == 288);
    CHECK(r["skipped"][0]["reason"] == "216 weights, fewer than min_size 300");
  }
}

TEST_CASE("prune_magnitude prunes a weight shared by two layers once, and leaves one read elsewhere",
          "[passes][prune_magnitude]") {
  auto shared_model = [](bool add_reader) {
    test::GraphBuilder b(5);
    b.input("x", {3, 16}).output("y");
    b.random_init("w", {16, 16});
    b.node("MatMul", {"x", "w"}, {"h"}, {}, "");  // unnamed node
    b.node("Gemm", {"h", "w"}, {"h2"}, {}, "second");
    if (add_reader) {
      b.node("Add", {"h2", "w"}, {"y"}, {}, "reader");  // reads the weight as data
    } else {
      b.node("Relu", {"h2"}, {"y"});
    }
    ir::Model m = b.build();
    m.graph.nodes[0]->name.clear();
    return m;
  };
  SECTION("only weight readers: pruned once, both nodes see the same tensor") {
    ir::Model m = shared_model(false);
    const ir::Model before = m;
    const json r = prune(m, {{"sparsity", 0.5}});
    REQUIRE(r["layers"].size() == 1);
    CHECK(r["layers"][0]["node"] == "");
    CHECK(r["layers"][0]["shared_with"] == json::array({"second"}));
    CHECK(r["eligible_weights"] == 256);
    CHECK(zeros(*m.graph.initializer("w")) == 128);
    CHECK(m.graph.nodes[0]->inputs[1] == "w");
    CHECK(m.graph.nodes[1]->inputs[1] == "w");
    ir::Model expected = before;
    expected.graph.initializers["w"] = *m.graph.initializer("w");
    const ir::Model reloaded = ir::load_onnx_bytes(ir::serialize_onnx(m), "pruned", "");
    const ir::Tensor x = test::GraphBuilder(3).random({3, 16});
    CHECK(test::run_reference(expected, {x})[0].identical(test::run_reference(reloaded, {x})[0]));
  }
  SECTION("also read by an Add: skipped with the reason") {
    ir::Model m = shared_model(true);
    const ir::Model before = m;
    const json r = prune(m, {{"sparsity", 0.5}});
    CHECK(r["layers"].empty());
    REQUIRE(r["skipped"].size() == 2);
    CHECK(r["skipped"][0]["reason"] == "the weight is also read by 'reader' (Add) (input 1)");
    CHECK(m.graph.initializer("w")->identical(*before.graph.initializer("w")));
  }
  SECTION("shared with an excluded layer: skipped") {
    ir::Model m = shared_model(false);
    const ir::Model before = m;
    const json r = prune(m, {{"sparsity", 0.5}, {"exclude", {"second"}}});
    CHECK(r["layers"].empty());
    CHECK(r["skipped"][0]["reason"].get<std::string>().find("shared with 'second' (Gemm), excluded by the exclude parameter") != std::string::npos);
    CHECK(m.graph.initializer("w")->identical(*before.graph.initializer("w")));
  }
}

TEST_CASE("prune_magnitude at sparsity 0 changes nothing", "[passes][prune_magnitude]") {
  ir::Model m = four_layer_model();
  const ir::Model before = m;
  for (const char* scope : {"layer", "global"}) {
    const json r = prune(m, {{"sparsity", 0.0}, {"scope", scope}});
    CHECK(r["eligible_zeros"] == 0);
    REQUIRE(m.graph.initializers.size() == before.graph.initializers.size());
    for (const auto& [name, t] : before.graph.initializers) CHECK(m.graph.initializer(name)->identical(t));
    for (size_t i = 0; i < m.graph.nodes.size(); ++i) CHECK(m.graph.nodes[i]->inputs == before.graph.nodes[i]->inputs);
  }
}

TEST_CASE("prune_magnitude rejects bad parameters naming them", "[passes][prune_magnitude]") {
  ir::Model m = four_layer_model();
  CHECK(test::bad_input_message([&] { prune(m, {{"sparsity", 1.0}}); }).find("sparsity") != std::string::npos);
  CHECK(test::bad_input_message([&] { prune(m, {{"sparsity", -0.1}}); }).find("sparsity") != std::string::npos);
  CHECK(test::bad_input_message([&] { prune(m, {{"scope", "network"}}); }).find("scope") != std::string::npos);
  CHECK(test::bad_input_message([&] { prune(m, {{"threshold_sigma", -1}}); }).find("threshold_sigma") !=
        std::string::npos);
  CHECK(reg().spec.repeatable);
}

TEST_CASE("prune_magnitude: the zstd-compressed model shrinks as sparsity rises", "[passes][prune_magnitude]") {
  std::vector<int64_t> sizes;
  for (double s : {0.0, 0.3, 0.7}) {
    test::GraphBuilder b(21);
    b.input("x", {1, 128}).output("y");
    b.random_init("w", {128, 256});
    b.random_init("w2", {256, 64});
    b.node("MatMul", {"x", "w"}, {"h"});
    b.node("MatMul", {"h", "w2"}, {"y"});
    ir::Model m = b.build();
    prune(m, {{"sparsity", s}});
    sizes.push_back(pipeline::zstd_compressed_size(ir::serialize_onnx(m), 19));
  }
  CHECK(sizes[1] < sizes[0]);
  CHECK(sizes[2] < sizes[1]);
  CHECK(static_cast<double>(sizes[2]) < 0.6 * static_cast<double>(sizes[0]));
}

namespace {

// Top-1 accuracy of `m` on the Fashion-MNIST test split (samples / 255 as [n, 1, 28, 28]).
double fmnist_top1(const ir::Model& m, const datasets::Dataset& ds) {
  runtime::ReferenceInterpreter interp(m.graph);
  const int64_t n = ds.size(), batch = 500;
  int64_t correct = 0;
  for (int64_t first = 0; first < n; first += batch) {
    const int64_t c = std::min(batch, n - first);
    const datasets::Batch bt = ds.read(first, c);
    ir::Tensor x = ir::Tensor::zeros(ir::DType::Float32, {c, 1, 28, 28});
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(bt.samples.get_as_double(i) / 255.0);
    const std::vector<ir::Tensor> in{x};
    const ir::Tensor logits = interp.run(in)[0];
    for (int64_t i = 0; i < c; ++i) {
      const float* row = logits.data<float>() + i * 10;
      correct += std::max_element(row, row + 10) - row == bt.labels[static_cast<size_t>(i)];
    }
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

}  // namespace

TEST_CASE("prune_magnitude e2e: fmnist_cnn top-1 at 30% global and 50% layer sparsity",
          "[.e2e][prune_magnitude_e2e]") {
  const std::string root = "/usr/share/datasets/fashion-mnist";
  REQUIRE(std::filesystem::exists(root));
  const pipeline::Registration idx = datasets::idx_dataset_registration();
  auto ds = pipeline::create<datasets::Dataset>(
      idx, pipeline::validate_parameters(idx.spec, {{"root", root}}, "/dataset/parameters"), {});
  const ir::Model base = ir::load_onnx(std::string(HONE_SOURCE_DIR) + "/models/fmnist_cnn.onnx");
  const double fp32 = fmnist_top1(base, *ds);
  const int64_t base_size = pipeline::zstd_compressed_size(ir::serialize_onnx(base), 19);
  WARN("fp32 top-1 " << fp32 << ", zstd " << base_size << " B");
  for (const json& p : {json{{"sparsity", 0.3}, {"scope", "global"}}, json{{"sparsity", 0.5}},
                        json{{"sparsity", 0.5}, {"exclude_first_last", true}},
                        json{{"sparsity", 0.5}, {"scope", "global"}}, json{{"sparsity", 0.7}, {"scope", "global"}}}) {
    ir::Model m = base;
    const json r = prune(m, p);
    const double top1 = fmnist_top1(m, *ds);
    const int64_t size = pipeline::zstd_compressed_size(ir::serialize_onnx(m), 19);
    std::string per_layer;
    // fmt, not operator+: GCC 12 -O3 raises a false -Wrestrict on chained string concatenation.
    for (const json& l : r["layers"]) per_layer += fmt::format(" {}={}", l["node"].get<std::string>(), l["sparsity"].dump());
    WARN(p.dump() << ": top-1 " << top1 << " (drop " << 100 * (fp32 - top1) << " pt), sparsity "
                  << r["sparsity_eligible"] << ", zstd " << size << " B;" << per_layer);
    CHECK(std::fabs(r["sparsity_eligible"].get<double>() - p["sparsity"].get<double>()) <= 0.005);
    CHECK(size < base_size);
    if (p["sparsity"] == 0.3) CHECK(fp32 - top1 <= 0.01);
  }
}
