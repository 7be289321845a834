// cluster_weights: exact reproduction of few-valued weights, k-means properties (at most k
// values, nearest-centroid assignment, centroids are cluster means, distortion falls with bits,
// determinism), differential equality with the float model holding the decoded weights, ONNX
// validity (strict type inference) and the file-size drop.
#include "graph_builder.h"
#include "passes/passes.h"

#include <set>

using namespace hone;
using namespace hone::test;
using nlohmann::json;

namespace {

json cluster(ir::Model& m, json params = json::object()) {
  return run_pass(passes::cluster_weights_registration(), m, std::move(params));
}

// The Gather decoding `node`'s weight input, and the weight it decodes to.
const ir::Node& gather_of(const ir::Graph& g, const ir::Node& node) {
  const ir::Node* gather = g.producer(node.input(1));
  REQUIRE(gather);
  REQUIRE(gather->op_type == "Gather");
  return *gather;
}
ir::Tensor decoded_weight(const ir::Graph& g, const ir::Node& node) {
  const ir::Node& gather = gather_of(g, node);
  const ir::Tensor& codebook = g.initializers.at(gather.input(0));
  const ir::Node* cast = g.producer(gather.input(1));
  REQUIRE(cast);
  const ir::Tensor& idx = g.initializers.at(cast->input(0));
  REQUIRE(idx.dtype() == ir::DType::UInt8);
  ir::Tensor w = ir::Tensor::zeros(ir::DType::Float32, idx.shape());
  for (int64_t i = 0; i < idx.numel(); ++i) w.data<float>()[i] = codebook.data<float>()[idx.data<uint8_t>()[i]];
  return w;
}

const ir::Node& node_named(const ir::Graph& g, const std::string& name) {
  for (const auto& n : g.nodes)
    if (n->name == name) return *n;
  FAIL("no node " << name);
  throw;
}

// x [2, 128] -> Gemm(w [128, 64], b) -> Relu -> MatMul(w2 [64, 16]) -> y
ir::Model two_layer_model(GraphBuilder& b) {
  b.input("x", {2, 128}).output("y");
  b.random_init("w", {128, 64});
  b.random_init("b", {64});
  b.random_init("w2", {64, 16});
  b.node("Gemm", {"x", "w", "b"}, {"h"}, {}, "fc1");
  b.node("Relu", {"h"}, {"r"});
  b.node("MatMul", {"r", "w2"}, {"y"}, {}, "fc2");
  return b.build();
}

}  // namespace

TEST_CASE("cluster_weights reproduces a weight with exactly 2^bits distinct values", "[passes][cluster_weights]") {
  GraphBuilder b(3);
  b.input("x", {1, 3, 6, 6}).output("y");
  ir::Tensor w = ir::Tensor::zeros(ir::DType::Float32, {4, 3, 3, 3});
  const float values[4] = {-0.75f, -0.1f, 0.2f, 1.5f};
  for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = values[(i * 7 + i / 5) % 4];
  b.init("w", w);
  b.node("Conv", {"x", "w"}, {"y"}, {}, "conv");
  ir::Model m = b.build();
  const ir::Model before = m;
  const json r = cluster(m, {{"bits", 2}, {"min_size", 0}});
  REQUIRE(r["layers"].size() == 1);
  CHECK(r["layers"][0]["k"] == 4);
  CHECK(r["layers"][0]["clusters"] == 4);
  CHECK(r["layers"][0]["distinct_values"] == 4);
  CHECK(r["layers"][0]["distortion"] == 0.0);
  CHECK(decoded_weight(m.graph, node_named(m.graph, "conv")).identical(w));
  CHECK(m.graph.initializers.count("w") == 0);
  require_valid_onnx(m);
  const ir::Tensor x = b.random({1, 3, 6, 6});
  CHECK(run_reference(m, {x})[0].identical(run_reference(before, {x})[0]));
}

TEST_CASE("cluster_weights k-means: at most k values, nearest centroids, cluster means, distortion falls with bits",
          "[passes][cluster_weights]") {
  GraphBuilder b(5);
  const ir::Model original = two_layer_model(b);
  const ir::Tensor w = original.graph.initializers.at("w");
  double previous = 1e9;
  for (int bits : {2, 4, 6}) {
    ir::Model m = original;
    const json r = cluster(m, {{"bits", bits}, {"min_size", 2000}, {"iterations", 1000}});
    INFO("bits=" << bits << " " << r.dump());
    REQUIRE(r["layers"].size() == 1);  // w2 has 1024 values < min_size
    CHECK(r["skipped"][0]["node"] == "fc2");
    CHECK(m.graph.initializers.at("w2").dtype() == ir::DType::Float32);
    const json& layer = r["layers"][0];
    CHECK(layer["node"] == "fc1");
    CHECK(layer["k"] == (1 << bits));
    CHECK(layer["weights"] == 128 * 64);
    CHECK(layer["converged"] == true);

    const ir::Node& fc1 = node_named(m.graph, "fc1");
    const ir::Tensor& codebook = m.graph.initializers.at(gather_of(m.graph, fc1).input(0));
    const ir::Tensor decoded = decoded_weight(m.graph, fc1);
    std::set<float> distinct(decoded.span<float>().begin(), decoded.span<float>().end());
    CHECK(distinct.size() <= size_t{1} << bits);
    CHECK(codebook.numel() == static_cast<int64_t>(distinct.size()));

    // Each weight sits at its nearest centroid; each centroid is the mean of its weights.
    std::vector<double> sum(static_cast<size_t>(codebook.numel())), count(sum.size());
    double se = 0;
    int64_t not_nearest = 0;
    for (int64_t i = 0; i < w.numel(); ++i) {
      const float v = w.data<float>()[i], d = decoded.data<float>()[i];
      for (float c : codebook.span<float>()) not_nearest += std::fabs(v - d) > std::fabs(v - c) + 1e-6f;
      const auto j = static_cast<size_t>(std::find(codebook.span<float>().begin(), codebook.span<float>().end(), d) -
                                         codebook.span<float>().begin());
      sum[j] += v;
      count[j] += 1;
      se += (double(v) - d) * (double(v) - d);
    }
    CHECK(not_nearest == 0);
    for (size_t j = 0; j < sum.size(); ++j) CHECK(codebook.data<float>()[j] == Approx(sum[j] / count[j]).margin(1e-6));
    const double distortion = layer["distortion"].get<double>();
    CHECK(distortion == Approx(se / double(w.numel())).epsilon(1e-9));
    CHECK(distortion < previous / 3);
    previous = distortion;
    require_valid_onnx(m);
  }
}

TEST_CASE("cluster_weights is deterministic for a seed", "[passes][cluster_weights]") {
  GraphBuilder b(7);
  const ir::Model original = two_layer_model(b);
  ir::Model m1 = original, m2 = original, m3 = original;
  const json r1 = cluster(m1, {{"seed", 42}});
  const json r2 = cluster(m2, {{"seed", 42}});
  const json r3 = cluster(m3, {{"seed", 43}});
  CHECK(r1 == r2);
  REQUIRE(m1.graph.initializers.size() == m2.graph.initializers.size());
  for (const auto& [name, t] : m1.graph.initializers) CHECK(t.identical(m2.graph.initializers.at(name)));
  // Another seed starts elsewhere but reaches a similar optimum.
  for (size_t l = 0; l < 2; ++l) {
    CHECK(r3["layers"][l]["distortion"].get<double>() ==
          Approx(r1["layers"][l]["distortion"].get<double>()).epsilon(0.1));
  }
}

TEST_CASE("cluster_weights output equals the float model holding the codebook values", "[passes][cluster_weights]") {
  GraphBuilder b(9);
  ir::Model m = two_layer_model(b);
  ir::Model reference = m;
  const json r = cluster(m, {{"bits", 3}});
  REQUIRE(r["layers"].size() == 2);
  CHECK(r["layers"][0]["k"] == 8);
  // The float model with its weights replaced by the decoded (clustered) values.
  reference.graph.initializers["w"] = decoded_weight(m.graph, node_named(m.graph, "fc1"));
  reference.graph.initializers["w2"] = decoded_weight(m.graph, node_named(m.graph, "fc2"));
  CHECK(reference.graph.initializers.at("b").identical(m.graph.initializers.at("b")));  // biases untouched
  CHECK(count_op(m.graph, "Gather") == 2);
  CHECK(count_op(m.graph, "Cast") == 2);
  require_valid_onnx(m);
  for (int trial = 0; trial < 3; ++trial) {
    const ir::Tensor x = b.random({2, 128}, -2, 2);
    CHECK(run_reference(m, {x})[0].identical(run_reference(reference, {x})[0]));
  }
  // The model reloaded from its bytes runs the same.
  const ir::Model loaded = ir::load_onnx_bytes(ir::serialize_onnx(m), "clustered", ".");
  const ir::Tensor x = b.random({2, 128});
  CHECK(run_reference(loaded, {x})[0].identical(run_reference(reference, {x})[0]));
}

TEST_CASE("cluster_weights shrinks a weight-dominated file below 0.35x", "[passes][cluster_weights]") {
  GraphBuilder b(11);
  b.input("x", {1, 256}).output("y");
  b.random_init("w", {256, 256});
  b.random_init("w2", {256, 10});
  b.node("MatMul", {"x", "w"}, {"h"});
  b.node("Tanh", {"h"}, {"t"});
  b.node("MatMul", {"t", "w2"}, {"y"});
  ir::Model m = b.build();
  const size_t before = ir::serialize_onnx(m).size();
  const json r = cluster(m);
  const size_t after = ir::serialize_onnx(m).size();
  INFO("serialized bytes " << before << " -> " << after);
  CHECK(double(after) < 0.35 * double(before));
  CHECK(r["weight_bytes_before"] == 4 * (256 * 256 + 2560));
  CHECK(r["weight_bytes_after"] == (256 * 256 + 2560) + 4 * 16 * 2);
}

TEST_CASE("cluster_weights shared weights, exclude and unnamed nodes", "[passes][cluster_weights]") {
  GraphBuilder b(13);
  b.input("x", {3, 32}).output("y").output("z");
  b.random_init("w", {32, 32});
  b.node("MatMul", {"x", "w"}, {"h"}, {}, "").name.clear();
  b.node("MatMul", {"h", "w"}, {"y"}, {}, "second");
  b.node("MatMul", {"x", "w"}, {"z"}, {}, "kept");
  ir::Model m = b.build();
  const ir::Model before = m;
  const json r = cluster(m, {{"exclude", {"kept"}}, {"bits", 2}});
  REQUIRE(r["layers"].size() == 1);  // one weight, clustered once for both users
  CHECK(r["layers"][0]["nodes"].size() == 2);
  CHECK(r["skipped"][0]["node"] == "kept");
  CHECK(r["skipped"][0]["reason"] == "excluded");
  CHECK(count_op(m.graph, "Gather") == 1);
  CHECK(node_named(m.graph, "kept").input(1) == "w");  // the excluded node keeps the float weight
  CHECK(node_named(m.graph, "second").input(1) != "w");
  require_valid_onnx(m);
  const ir::Tensor x = b.random({3, 32});
  const auto out = run_reference(m, {x});
  CHECK(out[1].identical(run_reference(before, {x})[1]));  // the excluded path is exact
  check_close(run_reference(before, {x})[0], out[0], 0.5);  // 4 values per weight: coarse
}

TEST_CASE("cluster_weights rejects bits outside [1, 8]", "[passes][cluster_weights]") {
  GraphBuilder b(15);
  ir::Model m = two_layer_model(b);
  CHECK_THROWS_WITH(cluster(m, {{"bits", 9}}), Catch::Contains("bits"));
  CHECK_THROWS_WITH(cluster(m, {{"bits", 0}}), Catch::Contains("bits"));
  const json r = cluster(m, {{"bits", 1}, {"min_size", 0}});
  CHECK(r["layers"][0]["clusters"] == 2);
  require_valid_onnx(m);
}
