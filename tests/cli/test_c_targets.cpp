// The c compiler and the executable runtime in a pipeline: the int8 fmnist_cnn built as C for
// this machine (x86_64-linux, and the in-process host platform), for aarch64 / riscv64 Linux
// under qemu-user and for the Cortex-M boards under qemu-system classifies real test images
// exactly as the reference interpreter does; with quantize_outputs the outputs are bit-identical
// to the reference interpreter's on the same prepared model (reference_check bit-exact). The
// measurements carry the C build's facts (arena, flash, RAM, latency kind, cycles on the board),
// and a model larger than a board's flash fails that target only.
#include "cli_util.h"

#include "ir/onnx_io.h"

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

json pipeline(const json& targets, bool quantize_outputs = false) {
  return {{"name", "c-targets"},
          {"model_wrapper", {{"type", "onnx_classifier"},
                             {"parameters", {{"model", (kSource / "models" / "fmnist_cnn.onnx").string()}, {"scale_to_unit", true}}}}},
          {"dataset", {{"type", "idx"}, {"parameters", {{"split", "test"}, {"limit", 200}}}}},
          {"optimizers", {{{"type", "fold_batch_norm"}},
                          {{"type", "quantize_static"},
                           {"parameters", {{"calibration_samples", 64}, {"quantize_outputs", quantize_outputs}}}}}},
          {"targets", targets},
          {"measurements", {{"warmup", 1}, {"batch_size", 1}}}};
}

json c_target(const std::string& name, const std::string& platform, bool integer_only = false) {
  return {{"name", name}, {"compiler", {{"type", "c"}, {"parameters", {{"integer_only", integer_only}}}}},
          {"platform", {{"type", platform}}},
          {"runtime", {{"type", "executable"}, {"parameters", {{"reference_check", "bit-exact"}}}}}};
}

// Every sample's outputs equal the reference interpreter's, byte for byte.
void check_bit_identical(const json& m, int64_t samples) {
  const json& rc = m["quality"]["reference_check"];
  CHECK(rc["mode"] == "bit-exact");
  CHECK(rc["samples"] == samples);
  CHECK(rc["bit_identical"] == samples);
  CHECK(rc["max_abs_diff"] == 0.0);
}

}  // namespace

TEST_CASE("c compiler + executable runtime: int8 fmnist_cnn on x86_64-linux equals the reference", "[cli][c_backend]") {
  const fs::path dir = hone::test::scratch_dir("c_targets", "x86");
  const json targets = json::array(
      {{{"name", "ref"}, {"runtime", {{"type", "reference"}}}, {"platform", {{"type", "host"}}}},
       c_target("c-x86", "x86_64-linux"), c_target("c-host", "host")});
  write_text(dir / "p.json", pipeline(targets, true).dump(1));
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
    check_bit_identical(m, 200);
    const json& d = m["target"]["compiler"]["detail"];
    CHECK(d["format"] == "c");
    CHECK(d["arena_bytes"].get<int64_t>() > 0);
    // The int8 weights are const arrays: about 135 KB of int8 weights and int32 biases.
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

TEST_CASE("executable runtime: the fp32 model agrees on top-1 but is not bit-exact; bit-exact fails that target", "[cli][c_backend]") {
  // Float C accumulates in float, the reference in double: outputs differ in the last bits.
  const fs::path dir = hone::test::scratch_dir("c_targets", "fp32_check");
  json report = c_target("report", "x86_64-linux");
  report["runtime"]["parameters"]["reference_check"] = "report";
  json p = pipeline(json::array({report, c_target("exact", "x86_64-linux")}));
  p["optimizers"] = json::array({{{"type", "fold_batch_norm"}}});
  p["dataset"]["parameters"]["limit"] = 50;
  write_text(dir / "p.json", p.dump(1));
  const auto r = run_hone("run " + quote(dir / "p.json") + " -q --output-dir " + quote(dir / "out"));
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("exact                FAILED: sample 0 of a batch: output 'logits' differs from the reference "
                   "interpreter's on the same prepared model (c/model.onnx); reference_check is bit-exact") !=
        std::string::npos);
  const json m = json::parse(slurp(dir / "out" / "report.measurements.json"));
  const json& rc = m["quality"]["reference_check"];
  CHECK(rc["samples"] == 50);
  CHECK(rc["bit_identical"].get<int64_t>() < 50);
  CHECK(rc["max_abs_diff"].get<double>() > 0.0);
  CHECK(rc["max_abs_diff"].get<double>() < 1e-4);
  CHECK(rc["top1_agreement"] == 1.0);
  CHECK_FALSE(fs::exists(dir / "out" / "exact.measurements.json"));
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
  const json targets = json::array({{{"name", "ref"}, {"runtime", {{"type", "reference"}}}, {"platform", {{"type", "host"}}}},
                                    c_target("a64", "aarch64-linux"), c_target("rv64", "riscv64-linux")});
  write_text(dir / "p.json", pipeline(targets, true).dump(1));
  const auto r = run_hone("run " + quote(dir / "p.json") + " -q --output-dir " + quote(dir / "out"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json ref = json::parse(slurp(dir / "out" / "ref.measurements.json"));
  for (const char* t : {"a64", "rv64"}) {
    INFO(t);
    const json m = json::parse(slurp(dir / "out" / (std::string(t) + ".measurements.json")));
    CHECK(m["quality"]["confusion_matrix"] == ref["quality"]["confusion_matrix"]);
    check_bit_identical(m, 200);
    CHECK(m["target"]["runtime"]["latency_kind"] == "emulated");
    CHECK(m["latency"]["latency_kind"] == "emulated");
    CHECK(m["target"]["compiler"]["detail"]["toolchain"]["cc"].get<std::string>().find(t == std::string("a64") ? "aarch64" : "riscv64") == 0);
  }
}

TEST_CASE("c compiler + executable runtime: stm32f746g-disco under qemu-system equals the reference bit for bit", "[cli][c_backend][board]") {
  const fs::path dir = hone::test::scratch_dir("c_targets", "stm32");
  const json targets = json::array({{{"name", "ref"}, {"runtime", {{"type", "reference"}}}, {"platform", {{"type", "host"}}}},
                                    c_target("stm32", "stm32f746g-disco", true)});
  json p = pipeline(targets, true);
  p["dataset"]["parameters"]["limit"] = 100;
  write_text(dir / "p.json", p.dump(1));
  const auto r = run_hone("run " + quote(dir / "p.json") + " -q --output-dir " + quote(dir / "out"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json ref = json::parse(slurp(dir / "out" / "ref.measurements.json"));
  const json m = json::parse(slurp(dir / "out" / "stm32.measurements.json"));
  CHECK(m["quality"]["confusion_matrix"] == ref["quality"]["confusion_matrix"]);
  check_bit_identical(m, 100);
  CHECK(m["latency"]["latency_kind"] == "emulated");
  // Cycles counted on the board: deterministic under -icount, the same few hundred thousand
  // ticks for every image (the model has no data-dependent control flow beyond saturation).
  const json& ot = m["latency"]["on_target"];
  CHECK(ot["samples"] == 100);
  CHECK(ot["cycles_per_tick"] == 40);
  CHECK(ot["clock_mhz"] == 216);
  const double cycles = ot["cycles_per_inference"]["mean"];
  CHECK(cycles > 1e6);
  CHECK(ot["cycles_per_inference"]["max"].get<double>() - ot["cycles_per_inference"]["min"].get<double>() < 0.01 * cycles);
  CHECK(ot["estimated_latency_ms"]["mean"].get<double>() == Approx(cycles / 216e3));
  // Flash and RAM from the toolchain's size, within the board's budgets; the linker script and
  // board files sit beside the generated code.
  const json& d = m["target"]["compiler"]["detail"];
  CHECK(d["harness"] == "board");
  // integer_only: the board takes and gives uint8; no floating point in the model's code nor in
  // the linked program (no soft-float or libm routines; hone quantizes on the host).
  CHECK(d["integer_only"] == true);
  CHECK(d["inputs"][0]["dtype"] == "uint8");
  CHECK(d["outputs"][0]["dtype"] == "uint8");
  const std::string model_c = slurp(dir / "out" / "stm32" / "c" / "model.c");
  CHECK(model_c.find("float") == std::string::npos);
  CHECK(model_c.find("double") == std::string::npos);
  const auto nm = hone::test::run_command("arm-none-eabi-nm " + quote(dir / "out" / "stm32" / "c" / "model"));
  REQUIRE(nm.exit_code == 0);
  CHECK(nm.out.find("hone_model_run") != std::string::npos);
  for (const char* symbol : {"__aeabi_f", "__aeabi_d", "floor", "fmod", "expf"}) {
    INFO(symbol);
    CHECK(nm.out.find(symbol) == std::string::npos);
  }
  CHECK(d["flash_budget_bytes"] == 1024 * 1024);
  CHECK(d["ram_budget_bytes"] == 320 * 1024);
  CHECK(d["flash_bytes"].get<int64_t>() > d["weight_bytes"].get<int64_t>());
  CHECK(d["flash_bytes"].get<int64_t>() < 1024 * 1024);
  // RAM: the arena and the linker script's 16 KB stack at least.
  CHECK(d["ram_bytes"].get<int64_t>() >= d["arena_bytes"].get<int64_t>() + 16 * 1024);
  for (const char* f : {"stm32f746g-disco.ld", "cortex_m_sections.ld", "board.h", "cortex_m.c", "model.onnx", "model.map"}) {
    CHECK(fs::exists(dir / "out" / "stm32" / "c" / f));
  }
  // The report's targets table shows the board's facts.
  const std::string md = slurp(dir / "out" / "report.md");
  CHECK(md.find("## Targets") != std::string::npos);
  CHECK(md.find("of 320.0 KiB") != std::string::npos);
  CHECK(md.find("at 216 MHz") != std::string::npos);
  CHECK(md.find("100/100 bit-identical") != std::string::npos);
}

TEST_CASE("c compiler + executable runtime: nrf52840 under qemu-system equals the reference bit for bit", "[cli][c_backend][board]") {
  const fs::path dir = hone::test::scratch_dir("c_targets", "nrf52840");
  json p = pipeline(json::array({c_target("nrf", "nrf52840")}), true);
  p["dataset"]["parameters"]["limit"] = 20;
  write_text(dir / "p.json", p.dump(1));
  const auto r = run_hone("run " + quote(dir / "p.json") + " -q --output-dir " + quote(dir / "out"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json m = json::parse(slurp(dir / "out" / "nrf.measurements.json"));
  check_bit_identical(m, 20);
  CHECK(m["latency"]["on_target"]["clock_mhz"] == 64);
  CHECK(m["target"]["compiler"]["detail"]["ram_budget_bytes"] == 256 * 1024);
}

TEST_CASE("c compiler: a model larger than the board's flash fails that target; the others run", "[cli][c_backend][board]") {
  const char* mobilenet = std::getenv("HONE_MOBILENETV2_ONNX");
  if (!mobilenet || !fs::exists(mobilenet)) {
    WARN("HONE_MOBILENETV2_ONNX is not set to an exported model; run scripts/test to export it");
    return;
  }
  const fs::path dir = hone::test::scratch_dir("c_targets", "does_not_fit");
  const json p = {{"name", "mobilenet-on-stm32"},
                  {"model_wrapper", {{"type", "onnx_generic"}, {"parameters", {{"model", mobilenet}}}}},
                  {"dataset", {{"type", "random"}, {"parameters", {{"count", 2}, {"seed", 1}}}}},
                  {"targets", json::array({{{"name", "host-cpu"}, {"runtime", {{"type", "cpu"}}}},
                                           c_target("stm32", "stm32f746g-disco")})},
                  {"measurements", {{"warmup", 0}, {"batch_size", 1}}}};
  write_text(dir / "p.json", p.dump(1));
  const auto r = run_hone("run " + quote(dir / "p.json") + " -q --output-dir " + quote(dir / "out"));
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  // 3.5 M float32 weights: 13.4 MB against the board's 1024 KB.
  const std::string why = "does not fit: needs 13.4 MB flash, stm32f746g-disco has 1024 KB flash";
  CHECK(r.out.find("stm32                FAILED: " + why) != std::string::npos);
  CHECK(r.err.find(why) != std::string::npos);
  CHECK(fs::exists(dir / "out" / "host-cpu.measurements.json"));
  CHECK_FALSE(fs::exists(dir / "out" / "stm32.measurements.json"));
  const std::string md = slurp(dir / "out" / "report.md");
  CHECK(md.find("## Failed targets") != std::string::npos);
  CHECK(md.find("Target 'stm32' failed: " + why) != std::string::npos);
}

TEST_CASE("c compiler: activations larger than the board's RAM fail at the linker with the board's numbers", "[cli][c_backend][board]") {
  // x [1, 3, 96, 96] -> Conv 3x3 (16 channels) -> y [1, 16, 96, 96]: 576 KB of float output in
  // the harness's bss against the nRF52840's 256 KB, with a few hundred bytes of weights.
  const fs::path dir = hone::test::scratch_dir("c_targets", "ram");
  hone::ir::Model m;
  hone::ir::Graph& g = m.graph;
  g.opset_imports[""] = 13;
  g.inputs = {"x"};
  g.outputs = {"y"};
  hone::ir::ValueInfo vx;
  vx.dtype = hone::ir::DType::Float32;
  vx.shape = std::vector<hone::ir::Dim>{{1, ""}, {3, ""}, {96, ""}, {96, ""}};
  g.values["x"] = vx;
  hone::ir::ValueInfo vy = vx;
  (*vy.shape)[1].value = 16;
  g.values["y"] = vy;
  g.initializers["w"] = hone::ir::Tensor::from_vector<float>({16, 3, 3, 3}, std::vector<float>(16 * 27, 0.1f));
  hone::ir::Node conv;
  conv.name = "conv";
  conv.op_type = "Conv";
  conv.inputs = {"x", "w"};
  conv.outputs = {"y"};
  conv.attrs["pads"] = hone::ir::Attribute::of_ints({1, 1, 1, 1});
  g.add_node(conv);
  hone::ir::save_onnx(m, (dir / "wide.onnx").string());
  const json p = {{"name", "wide-on-nrf"},
                  {"model_wrapper", {{"type", "onnx_generic"}, {"parameters", {{"model", (dir / "wide.onnx").string()}}}}},
                  {"dataset", {{"type", "random"}, {"parameters", {{"count", 1}, {"seed", 1}}}}},
                  {"targets", json::array({c_target("nrf", "nrf52840"), {{"name", "host-cpu"}, {"runtime", {{"type", "cpu"}}}}})},
                  {"measurements", {{"warmup", 0}, {"batch_size", 1}}}};
  write_text(dir / "p.json", p.dump(1));
  const auto r = run_hone("run " + quote(dir / "p.json") + " -q --output-dir " + quote(dir / "out"));
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  // Needed = the budget + what ld says the region overflowed by: input 108 KB + output 576 KB +
  // stack 16 KB and the harness's few bytes, in KB rounded up.
  CHECK(r.out.find("nrf                  FAILED: does not fit: needs 70") != std::string::npos);
  CHECK(r.out.find("KB RAM, nrf52840 has 256 KB RAM (the linker script's limits;") != std::string::npos);
  CHECK(fs::exists(dir / "out" / "host-cpu.measurements.json"));
  CHECK(slurp(dir / "out" / "nrf" / "c" / "build.log").find("region `RAM' overflowed by") != std::string::npos);
}
