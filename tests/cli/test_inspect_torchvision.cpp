// Acceptance: `hone inspect --json` on torchvision's ResNet-18 and MobileNetV2 (exported by
// scripts/export_torchvision.py, see scripts/test) reports the MAC counts users know, and a
// parameter total equal to the sum of the model's initializer elements.
#include "cli_util.h"

#include "ir/onnx_io.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace hone;

namespace {

void check_model(const char* env_var, double expected_macs, double rel_tol) {
  const char* path = std::getenv(env_var);
  if (!path || !std::filesystem::exists(path)) {
    WARN(env_var << " is not set to an exported model; run scripts/test to export it");
    return;
  }
  const auto r = test::run_hone("inspect --json " + test::quote(path));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  const double macs = j.at("totals").at("macs").get<double>();
  CHECK(macs == Approx(expected_macs).epsilon(rel_tol));

  // Independent count: load the file and add up initializer elements.
  const ir::Model m = ir::load_onnx(path);
  int64_t params = 0;
  for (const auto& [name, t] : m.graph.initializers) params += t.numel();
  CHECK(j.at("totals").at("parameters").get<int64_t>() == params);
}

}  // namespace

TEST_CASE("inspect: ResNet-18 has 1.81 G MACs", "[cli][inspect][torchvision]") {
  check_model("HONE_RESNET18_ONNX", 1.81e9, 0.01);
}

TEST_CASE("inspect: MobileNetV2 has 0.30 G MACs", "[cli][inspect][torchvision]") {
  check_model("HONE_MOBILENETV2_ONNX", 0.30e9, 0.02);
}
