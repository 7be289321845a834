// Optimizer passes on the committed models and real Fashion-MNIST test images: batch-norm
// folding must not change a single prediction, and its logits stay within 1e-4.
#include "test_paths.h"
#include "graph_builder.h"
#include "datasets/datasets.h"
#include "ir/onnx_io.h"
#include "passes/passes.h"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace hone;
using nlohmann::json;

namespace {

// The first `n` test images as model input: pixel / 255, [n, 1, 28, 28].
ir::Tensor test_images(int64_t n) {
  auto reg = datasets::idx_dataset_registration();
  const json params = pipeline::validate_parameters(reg.spec, {{"split", "test"}, {"limit", n}}, "/dataset/parameters");
  auto ds = pipeline::create<datasets::Dataset>(reg, params, {});
  const datasets::Batch b = ds->read(0, n);
  ir::Tensor x = ir::Tensor::zeros(ir::DType::Float32, {n, 1, 28, 28});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(b.samples.data<uint8_t>()[i]) / 255.0f;
  return x;
}

}  // namespace

TEST_CASE("fold_batch_norm on the committed models: same predictions, logits within 1e-4", "[passes][fold_batch_norm][fmnist]") {
  REQUIRE(std::filesystem::exists("/usr/share/datasets/fashion-mnist"));
  const int64_t n = 500;
  const ir::Tensor x = test_images(n);
  for (const char* name : {"fmnist_cnn", "fmnist_mobilenet"}) {
    INFO(name);
    const ir::Model before = ir::load_onnx(std::string(HONE_SOURCE_DIR) + "/models/" + name + ".onnx");
    ir::Model after = before;
    test::run_pass(passes::fold_batch_norm_registration(), after);
    CHECK(test::count_op(after.graph, "BatchNormalization") == 0);
    const ir::Tensor a = test::run_reference(before, {x})[0];
    const ir::Tensor b = test::run_reference(ir::load_onnx_bytes(ir::serialize_onnx(after), name, "."), {x})[0];
    REQUIRE(a.shape() == (ir::Shape{n, 10}));
    REQUIRE(b.shape() == a.shape());
    double max_diff = 0;
    int64_t same = 0;
    for (int64_t i = 0; i < n; ++i) {
      int64_t ia = 0, ib = 0;
      for (int64_t c = 0; c < 10; ++c) {
        const float va = a.data<float>()[i * 10 + c], vb = b.data<float>()[i * 10 + c];
        max_diff = std::max(max_diff, static_cast<double>(std::fabs(va - vb)));
        if (va > a.data<float>()[i * 10 + ia]) ia = c;
        if (vb > b.data<float>()[i * 10 + ib]) ib = c;
      }
      same += ia == ib;
    }
    CHECK(max_diff <= 1e-4);
    CHECK(same == n);
  }
}
