// onnx_classifier / onnx_generic: preprocessing (layout mapping, scaling, per-channel
// normalisation), class count from the output, and dataset checks.
#include "datasets/dataset.h"
#include "ir/onnx_io.h"
#include "models/model_wrapper.h"
#include "models/models.h"
#include "pipeline/component.h"
#include "support/error.h"
#include "test_util.h"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace hone;
using hone::test::bad_input_message;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// x [N, C, H, W] (or [N, H, W, C]) -> Flatten -> MatMul(w [C*H*W, classes]) -> y [N, classes]
std::string write_model(ir::Shape sample, int64_t classes, bool fixed_batch = false) {
  ir::Model m;
  ir::Graph& g = m.graph;
  g.opset_imports[""] = 13;
  g.inputs = {"x"};
  g.outputs = {"y"};
  ir::ValueInfo vx;
  vx.dtype = ir::DType::Float32;
  std::vector<ir::Dim> dims{fixed_batch ? ir::Dim{1, ""} : ir::Dim{-1, "N"}};
  int64_t per = 1;
  for (auto d : sample) {
    dims.push_back({d, ""});
    per *= d;
  }
  vx.shape = dims;
  g.values["x"] = vx;
  g.initializers["w"] = ir::Tensor::zeros(ir::DType::Float32, {per, classes});
  ir::Node flat;
  flat.name = "flat";
  flat.op_type = "Flatten";
  flat.inputs = {"x"};
  flat.outputs = {"f"};
  g.add_node(flat);
  ir::Node mm;
  mm.name = "mm";
  mm.op_type = "MatMul";
  mm.inputs = {"f", "w"};
  mm.outputs = {"y"};
  g.add_node(mm);
  ir::infer_shapes(m);
  static int n = 0;
  const fs::path p = fs::temp_directory_path() / ("hone_wrapper_" + std::to_string(::getpid()) + "_" + std::to_string(n++) + ".onnx");
  ir::save_onnx(m, p.string());
  return p.string();
}

std::unique_ptr<models::ModelWrapper> classifier(const json& params) {
  auto reg = models::onnx_classifier_registration();
  const json p = pipeline::validate_parameters(reg.spec, params, "/model_wrapper/parameters");
  pipeline::BuildContext ctx;
  ctx.json_path = "/model_wrapper/parameters";
  return pipeline::create<models::ModelWrapper>(reg, p, ctx);
}


// A fixed in-memory dataset for check_dataset.
class FakeDataset final : public datasets::Dataset {
 public:
  FakeDataset(std::vector<int64_t> shape, std::vector<int64_t> labels) : shape_(std::move(shape)), labels_(std::move(labels)) {}
  std::string description() const override { return "fake"; }
  int64_t size() const override { return static_cast<int64_t>(labels_.size()); }
  std::vector<int64_t> sample_shape() const override { return shape_; }
  ir::DType sample_dtype() const override { return ir::DType::UInt8; }
  const std::vector<int64_t>& labels() const override { return labels_; }
  std::string source() const override { return "fake.bin"; }
  datasets::Batch read(int64_t, int64_t) const override { return {}; }
  std::unique_ptr<Dataset> calibration_set(int64_t, uint64_t) const override { return nullptr; }

 private:
  std::vector<int64_t> shape_;
  std::vector<int64_t> labels_;
};

}  // namespace

TEST_CASE("onnx_classifier scales uint8 samples and adds the channel dim", "[models]") {
  auto w = classifier({{"model", write_model({1, 2, 2}, 3)}});
  CHECK(w->num_classes() == 3);
  CHECK(w->sample_shape() == std::vector<int64_t>{1, 2, 2});
  CHECK(w->batch_dim() == -1);
  const ir::Tensor raw = ir::Tensor::from_vector<uint8_t>({2, 2, 2}, {0, 51, 255, 102, 1, 2, 3, 4});
  const ir::Tensor x = w->preprocess(raw);
  REQUIRE(x.shape() == ir::Shape{2, 1, 2, 2});
  CHECK(x.data<float>()[0] == 0.0f);
  CHECK(x.data<float>()[1] == Approx(0.2f));
  CHECK(x.data<float>()[2] == 1.0f);
  CHECK(x.data<float>()[7] == Approx(4.0f / 255.0f));

  auto unscaled = classifier({{"model", write_model({1, 2, 2}, 3)}, {"scale_to_unit", false}});
  CHECK(unscaled->preprocess(raw).data<float>()[2] == 255.0f);
}

TEST_CASE("onnx_classifier normalises per channel and transposes HWC samples", "[models]") {
  // Model NCHW [2 channels, 1, 3]; samples HWC [1, 3, 2].
  auto w = classifier({{"model", write_model({2, 1, 3}, 4)}, {"sample_layout", "HWC"}, {"scale_to_unit", false},
                       {"mean", {1.0, 10.0}}, {"std", {2.0, 5.0}}});
  // HWC sample: (h=0, w=0..2, c=0..1) = [c0,c1] pairs (3,20) (5,30) (7,40).
  const ir::Tensor raw = ir::Tensor::from_vector<float>({1, 1, 3, 2}, {3, 20, 5, 30, 7, 40});
  const ir::Tensor x = w->preprocess(raw);
  REQUIRE(x.shape() == ir::Shape{1, 2, 1, 3});
  const std::vector<float> got(x.data<float>(), x.data<float>() + 6);
  // channel 0: (v - 1) / 2 over 3, 5, 7; channel 1: (v - 10) / 5 over 20, 30, 40
  CHECK(got == std::vector<float>{1, 2, 3, 2, 4, 6});

  CHECK(bad_input_message([&] {
          classifier({{"model", write_model({2, 1, 3}, 4)}, {"mean", {1.0, 2.0, 3.0}}});
        }) == "/model_wrapper/parameters/mean: 3 values for 2 input channels (give 1 or 2)");
  CHECK(bad_input_message([&] { classifier({{"model", write_model({2, 1, 3}, 4)}, {"std", {0.0}}}); }) ==
        "/model_wrapper/parameters/std: std must be > 0, got 0");
}

TEST_CASE("onnx_classifier checks datasets against the model", "[models]") {
  auto w = classifier({{"model", write_model({1, 28, 28}, 10)}});
  CHECK_NOTHROW(w->check_dataset(FakeDataset({28, 28}, {0, 9, 3})));
  CHECK_NOTHROW(w->check_dataset(FakeDataset({1, 28, 28}, {0})));
  CHECK(bad_input_message([&] { w->check_dataset(FakeDataset({32, 32}, {0})); }) ==
        "/dataset: dataset samples are [32, 32] (fake.bin), but model input 'x' takes [1, 28, 28] per sample");
  CHECK(bad_input_message([&] { w->check_dataset(FakeDataset({28, 28}, {0, 10})); }) ==
        "/dataset: label 10 of sample 1 (fake.bin) is outside the model's 10 classes [0, 10)");
  CHECK(bad_input_message([&] { classifier({{"model", write_model({4}, 3)}, {"class_names", {"a", "b"}}}); }) ==
        "/model_wrapper/parameters/class_names: 2 class names for a model with 3 classes");
  CHECK(bad_input_message([&] { classifier({{"model", write_model({4}, 3)}, {"input", "y"}}); }) ==
        "/model_wrapper/parameters/input: model has no input 'y' (inputs: x)");
}

TEST_CASE("postprocess returns [n, classes] scores; onnx_generic has none", "[models]") {
  auto w = classifier({{"model", write_model({4}, 3, /*fixed_batch=*/true)}});
  CHECK(w->batch_dim() == 1);
  const ir::Tensor y = ir::Tensor::from_vector<float>({1, 3}, {0.1f, 0.7f, 0.2f});
  const ir::Tensor s = w->postprocess({y});
  CHECK(s.shape() == ir::Shape{1, 3});
  CHECK(s.data<float>()[1] == 0.7f);

  auto reg = models::onnx_generic_registration();
  const json p = pipeline::validate_parameters(reg.spec, {{"model", write_model({4}, 3)}}, "/m");
  auto g = pipeline::create<models::ModelWrapper>(reg, p, {});
  CHECK(g->num_classes() == 0);
  CHECK(g->postprocess({y}).numel() == 0);
}
