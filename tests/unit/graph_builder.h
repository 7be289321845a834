// Building small graphs in code for pass and kernel tests, running them on the reference
// interpreter, comparing outputs, and giving a pass in-memory calibration data.
#pragma once

#include "datasets/dataset.h"
#include "ir/graph.h"
#include "ir/onnx_io.h"
#include "passes/pass.h"
#include "pipeline/component.h"
#include "pipeline/registry.h"
#include "runtime/reference/interpreter.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace hone::test {

class GraphBuilder {
 public:
  explicit GraphBuilder(uint32_t seed = 7, int64_t opset = 13) : rng_(seed) {
    model_.graph.opset_imports[""] = opset;
  }

  // A graph input with a static shape.
  GraphBuilder& input(const std::string& name, ir::Shape shape, ir::DType dtype = ir::DType::Float32) {
    model_.graph.inputs.push_back(name);
    ir::ValueInfo vi;
    vi.dtype = dtype;
    std::vector<ir::Dim> dims;
    for (auto d : shape) dims.push_back({d, ""});
    vi.shape = dims;
    model_.graph.values[name] = vi;
    return *this;
  }
  GraphBuilder& output(const std::string& name) {
    model_.graph.outputs.push_back(name);
    return *this;
  }
  // A constant; returns its name.
  std::string init(const std::string& name, ir::Tensor t) {
    model_.graph.initializers[name] = std::move(t);
    return name;
  }
  std::string random_init(const std::string& name, ir::Shape shape, float lo = -1.0f, float hi = 1.0f) {
    return init(name, random(std::move(shape), lo, hi));
  }
  // Appends a node; its name defaults to its first output.
  ir::Node& node(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
                 std::map<std::string, ir::Attribute> attrs = {}, std::string name = "") {
    ir::Node n;
    n.op_type = op;
    n.name = name.empty() ? outputs.at(0) : name;
    n.inputs = std::move(inputs);
    n.outputs = std::move(outputs);
    n.attrs = std::move(attrs);
    return model_.graph.add_node(std::move(n));
  }
  // Uniform random float32 tensor from this builder's seeded generator.
  ir::Tensor random(ir::Shape shape, float lo = -1.0f, float hi = 1.0f) {
    std::uniform_real_distribution<float> u(lo, hi);
    std::vector<float> v(static_cast<size_t>(ir::checked_numel(shape)));
    for (auto& x : v) x = u(rng_);
    return ir::Tensor::from_vector<float>(std::move(shape), v);
  }
  // The model with shapes inferred (as a loaded file would have them).
  ir::Model build() {
    ir::Model m = model_;
    ir::infer_shapes(m);
    return m;
  }
  std::mt19937& rng() { return rng_; }

 private:
  ir::Model model_;
  std::mt19937 rng_;
};

inline std::vector<ir::Tensor> run_reference(const ir::Model& m, const std::vector<ir::Tensor>& inputs) {
  return runtime::ReferenceInterpreter(m.graph).run(inputs);
}

// Every element of `actual` within `rel` of `expected`, relative to the largest |expected|.
inline void check_close(const ir::Tensor& expected, const ir::Tensor& actual, double rel) {
  REQUIRE(expected.shape() == actual.shape());
  double max_abs = 0;
  for (int64_t i = 0; i < expected.numel(); ++i) max_abs = std::max(max_abs, std::fabs(expected.get_as_double(i)));
  for (int64_t i = 0; i < expected.numel(); ++i) {
    CHECK(actual.get_as_double(i) == Approx(expected.get_as_double(i)).epsilon(rel).margin(rel * max_abs));
  }
}

// The model is valid ONNX as other runtimes see it: the checker, strict type/shape inference
// (which ir::infer_shapes tolerates failing), and a round trip through hone's own loader.
inline void require_valid_onnx(const ir::Model& m) {
  onnx::ModelProto p = ir::to_proto(m);
  REQUIRE_NOTHROW(onnx::checker::check_model(p));
  onnx::ShapeInferenceOptions strict(/*check_type=*/true, /*error_mode=*/1, /*data_prop=*/false);
  REQUIRE_NOTHROW(onnx::shape_inference::InferShapes(p, onnx::OpSchemaRegistry::Instance(), strict));
  REQUIRE_NOTHROW(ir::load_onnx_bytes(ir::serialize_onnx(m), "exported", "."));
}

inline int count_op(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const auto& node : g.nodes) n += node->op_type == op;
  return n;
}

// Runs the pass of `registration` with `params` (validated and defaulted like a pipeline's).
inline nlohmann::json run_pass(const pipeline::Registration& registration, ir::Model& m,
                               nlohmann::json params = nlohmann::json::object(),
                               const passes::PassContext& ctx = {}) {
  const nlohmann::json p = pipeline::validate_parameters(registration.spec, params, "/optimizers/0/parameters");
  auto pass = pipeline::create<passes::Pass>(registration, p, {});
  return pass->run(m, ctx);
}

// In-memory samples (already model input, float32 [N, ...]) as a calibration dataset.
class TensorDataset final : public datasets::Dataset {
 public:
  explicit TensorDataset(ir::Tensor samples) : samples_(std::move(samples)) {}
  std::string description() const override { return "in-memory test samples"; }
  int64_t size() const override { return samples_.dim(0); }
  std::vector<int64_t> sample_shape() const override {
    return {samples_.shape().begin() + 1, samples_.shape().end()};
  }
  ir::DType sample_dtype() const override { return samples_.dtype(); }
  const std::vector<int64_t>& labels() const override { return labels_; }
  std::string source() const override { return "memory"; }
  datasets::Batch read(int64_t first, int64_t count) const override {
    ir::Shape s = samples_.shape();
    s[0] = count;
    const size_t per = samples_.nbytes() / static_cast<size_t>(samples_.dim(0));
    return {ir::Tensor::from_bytes(samples_.dtype(), s,
                                   static_cast<const char*>(samples_.raw()) + per * static_cast<size_t>(first),
                                   per * static_cast<size_t>(count)),
            {}};
  }
  std::unique_ptr<datasets::Dataset> calibration_set(int64_t count, uint64_t) const override {
    return std::make_unique<TensorDataset>(read(0, std::min(count, size())).samples);
  }

 private:
  ir::Tensor samples_;
  std::vector<int64_t> labels_;
};

// A PassContext whose calibration data are `samples` (model input; preprocessing is identity).
inline passes::PassContext calibration_context(ir::Tensor samples) {
  passes::PassContext ctx;
  ctx.calibration = [samples](int64_t count, uint64_t seed) {
    return TensorDataset(samples).calibration_set(count, seed);
  };
  ctx.preprocess = [](const ir::Tensor& raw) { return raw; };
  return ctx;
}

}  // namespace hone::test
