// The c compiler and the executable runtime in a pipeline: the int8 fmnist_cnn built as C for
// this machine (x86_64-linux, and the in-process host platform) classifies real test images
// exactly as the reference interpreter does on the same prepared model, and the measurements
// carry the C build's facts (arena, flash, RAM, latency kind).
#include "cli_util.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using hone::test::quote;
using hone::test::run_hone;
using hone::test::slurp;
using hone::test::write_text;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = HONE_SOURCE_DIR;

json pipeline(const json& targets) {
  return {{"name", "c-targets"},
          {"model_wrapper", {{"type", "onnx_classifier"},
                             {"parameters", {{"model", (kSource / "models" / "fmnist_cnn.onnx").string()}, {"scale_to_unit", true}}}}},
          {"dataset", {{"type", "idx"}, {"parameters", {{"split", "test"}, {"limit", 200}}}}},
          {"optimizers", {{{"type", "fold_batch_norm"}},
                          {{"type", "quantize_static"}, {"parameters", {{"calibration_samples", 64}}}}}},
          {"targets", targets},
          {"measurements", {{"warmup", 1}, {"batch_size", 1}}}};
}

}  // namespace

TEST_CASE("c compiler + executable runtime: int8 fmnist_cnn on x86_64-linux equals the reference", "[cli][c_backend]") {
  const fs::path dir = hone::test::scratch_dir("c_targets", "x86");
  const json targets = json::array(
      {{{"name", "ref"}, {"runtime", {{"type", "reference"}}}, {"platform", {{"type", "host"}}}},
       {{"name", "c-x86"}, {"compiler", {{"type", "c"}}}, {"runtime", {{"type", "executable"}}}, {"platform", {{"type", "x86_64-linux"}}}},
       {{"name", "c-host"}, {"compiler", {{"type", "c"}}}, {"runtime", {{"type", "executable"}}}, {"platform", {{"type", "host"}}}}});
  write_text(dir / "p.json", pipeline(targets).dump(1));
  const auto r = run_hone("run " + quote(dir / "p.json") + " -q --output-dir " + quote(dir / "out"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json ref = json::parse(slurp(dir / "out" / "ref.measurements.json"));
  for (const char* t : {"c-x86", "c-host"}) {
    INFO(t);
    const json m = json::parse(slurp(dir / "out" / (std::string(t) + ".measurements.json")));
    // Same predictions on every image: the confusion matrices are equal, not only top-1.
    CHECK(m["quality"]["confusion_matrix"] == ref["quality"]["confusion_matrix"]);
    CHECK(m["quality"]["top1"] == ref["quality"]["top1"]);
    const json& d = m["target"]["compiler"]["detail"];
    CHECK(d["format"] == "c");
    CHECK(d["arena_bytes"].get<int64_t>() > 0);
    // The int8 weights are const arrays: about 140 KB of int8 and int32 bias, plus the float classifier.
    CHECK(d["weight_bytes"].get<int64_t>() > 100'000);
    CHECK(d["flash_bytes"].get<int64_t>() > d["weight_bytes"].get<int64_t>());
    CHECK(d["ram_bytes"].get<int64_t>() >= d["arena_bytes"].get<int64_t>());
    CHECK(m["target"]["runtime"]["latency_kind"] == "measured");
    for (const char* f : {"model.h", "model.c", "main.c", "build.sh", "model.map", "model"}) {
      CHECK(fs::exists(dir / "out" / t / "c" / f));
    }
    // One C function per node, each with a comment naming its ONNX node and op.
    const std::string c = slurp(dir / "out" / t / "c" / "model.c");
    CHECK(c.find("/* node '/features/features.0/features.0.0/Conv' (QLinearConv) */") != std::string::npos);
    CHECK(c.find("malloc") == std::string::npos);
  }
}

TEST_CASE("executable runtime: a target whose compiler is not c fails clearly", "[cli][c_backend]") {
  const fs::path dir = hone::test::scratch_dir("c_targets", "mismatch");
  const json targets = json::array({{{"name", "bad"}, {"compiler", {{"type", "none"}}}, {"runtime", {{"type", "executable"}}}}});
  write_text(dir / "p.json", pipeline(targets).dump(1));
  const auto r = run_hone("run " + quote(dir / "p.json") + " -q --output-dir " + quote(dir / "out"));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("runs the program the 'c' compiler builds") != std::string::npos);
}

TEST_CASE("c compiler + executable runtime: aarch64 and riscv64 under qemu-user classify like the reference", "[cli][c_backend][cross]") {
  const fs::path dir = hone::test::scratch_dir("c_targets", "cross");
  const json targets = json::array(
      {{{"name", "ref"}, {"runtime", {{"type", "reference"}}}, {"platform", {{"type", "host"}}}},
       {{"name", "a64"}, {"compiler", {{"type", "c"}}}, {"runtime", {{"type", "executable"}}}, {"platform", {{"type", "aarch64-linux"}}}},
       {{"name", "rv64"}, {"compiler", {{"type", "c"}}}, {"runtime", {{"type", "executable"}}}, {"platform", {{"type", "riscv64-linux"}}}}});
  json p = pipeline(targets);
  p["dataset"]["parameters"]["limit"] = 100;
  write_text(dir / "p.json", p.dump(1));
  const auto r = run_hone("run " + quote(dir / "p.json") + " -q --output-dir " + quote(dir / "out"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json ref = json::parse(slurp(dir / "out" / "ref.measurements.json"));
  for (const char* t : {"a64", "rv64"}) {
    INFO(t);
    const json m = json::parse(slurp(dir / "out" / (std::string(t) + ".measurements.json")));
    CHECK(m["quality"]["confusion_matrix"] == ref["quality"]["confusion_matrix"]);
    CHECK(m["target"]["runtime"]["latency_kind"] == "emulated");
    CHECK(m["target"]["compiler"]["detail"]["toolchain"]["cc"].get<std::string>().find(t == std::string("a64") ? "aarch64" : "riscv64") == 0);
  }
}
