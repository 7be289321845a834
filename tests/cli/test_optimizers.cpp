// The example optimizer pipelines (pipelines/optimizers/) end to end on fmnist_cnn, and
// `hone optimize` with calibration data: what each pass promises shows in the measurements and
// in the saved model. Sample counts are small to keep the suite fast; the full-split numbers
// come from scripts/optimizer-results (docs/optimizers.md).
#include "cli_util.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <map>

using hone::test::quote;
using hone::test::run_hone;
using hone::test::slurp;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = HONE_SOURCE_DIR;
const fs::path kFmnist = "/usr/share/datasets/fashion-mnist";

fs::path scratch(const std::string& name) { return hone::test::scratch_dir("optimizers", name); }

// Runs pipelines/optimizers/fmnist-<name>.json on the first `limit` test images.
json run_example(const std::string& name, int64_t limit, const std::vector<std::string>& sets = {}) {
  const fs::path dir = scratch(name);
  std::string args = "run " + quote(kSource / "pipelines" / "optimizers" / ("fmnist-" + name + ".json")) +
                     " -q --output-dir " + quote(dir) + " --set measurements.limit=" + std::to_string(limit) +
                     " --set measurements.warmup=1";
  for (const auto& s : sets) args += " --set " + s;
  const auto r = run_hone(args);
  INFO(name << ": " << r.err);
  REQUIRE(r.exit_code == 0);
  json m = json::parse(slurp(dir / "host-cpu.measurements.json"));
  m["artifact"] = (dir / "host-cpu" / "model.onnx").string();
  return m;
}

std::map<std::string, int64_t> op_counts(const std::string& model) {
  const auto r = run_hone("inspect " + quote(model) + " --json");
  REQUIRE(r.exit_code == 0);
  std::map<std::string, int64_t> counts;
  const json stats = json::parse(r.out);  // named: a range-for over a temporary's member dangles
  for (const auto& op : stats["op_types"]) {
    counts[op["op_type"].get<std::string>()] = op["count"].get<int64_t>();
  }
  return counts;
}

const json& pass_report(const json& m, const std::string& type) {
  for (const auto& r : m["optimizers"]) {
    if (r["type"] == type) return r;
  }
  FAIL("no report of " << type);
  return m;
}

}  // namespace

TEST_CASE("int8 static quantization: QDQ model, small file, accuracy close to fp32", "[cli][optimizers]") {
  REQUIRE(fs::exists(kFmnist));
  const json fp32 = run_example("fp32", 300);
  const json q = run_example("int8-minmax", 300, {"optimizers.1.parameters.calibration_samples=128"});
  const auto ops = op_counts(q["artifact"]);
  CHECK(ops.at("QuantizeLinear") >= 5);
  CHECK(ops.at("DequantizeLinear") >= 10);
  CHECK(ops.count("BatchNormalization") == 0);
  CHECK(q["size"]["weight_bytes_by_dtype"].contains("int8"));
  CHECK(q["size"]["model_file_bytes"].get<double>() <= 0.3 * fp32["size"]["model_file_bytes"].get<double>());
  // 300 samples: one sample is 0.33 pt; the full-split bound (0.5 pt) is checked by the script.
  CHECK(q["quality"]["top1"].get<double>() >= fp32["quality"]["top1"].get<double>() - 0.015);
  const json& rep = pass_report(q, "quantize_static");
  CHECK(rep["parameters"]["calibration"] == "minmax");
  CHECK(rep["parameters"]["calibration_samples"] == 128);
}

TEST_CASE("every calibration method produces a working model", "[cli][optimizers]") {
  const json fp32 = run_example("fp32", 200);
  for (const char* method : {"ema", "percentile", "mse", "entropy"}) {
    const json q = run_example(std::string("int8-") + method, 200, {"optimizers.1.parameters.calibration_samples=64"});
    INFO(method);
    CHECK(pass_report(q, "quantize_static")["parameters"]["calibration"] == method);
    CHECK(q["quality"]["top1"].get<double>() >= fp32["quality"]["top1"].get<double>() - 0.03);
  }
}

TEST_CASE("magnitude pruning: exact sparsity, and the compressed size falls with it", "[cli][optimizers]") {
  const json dense = run_example("bn-folded", 20);
  int64_t last = dense["size"]["compressed_bytes"];
  for (double s : {0.3, 0.5, 0.7}) {
    const json m = run_example("prune-magnitude-50", 20, {"optimizers.1.parameters.sparsity=" + std::to_string(s)});
    const json& d = pass_report(m, "prune_magnitude")["detail"];
    INFO("sparsity " << s);
    CHECK(d["sparsity_eligible"].get<double>() == Approx(s).margin(0.005));
    const int64_t c = m["size"]["compressed_bytes"];
    CHECK(c < last);
    last = c;
    CHECK(m["size"]["zero_weight_fraction"].get<double>() >= s * 0.9);
  }
}

TEST_CASE("channel pruning at 25% gives a smaller dense model that still loads", "[cli][optimizers]") {
  const json base = run_example("bn-folded", 20);
  const json m = run_example("prune-channels-25", 20);
  CHECK(m["size"]["parameters"].get<double>() <= 0.8 * base["size"]["parameters"].get<double>());
  CHECK(m["size"]["macs"].get<double>() <= 0.8 * base["size"]["macs"].get<double>());
  CHECK(m["size"]["model_file_bytes"].get<double>() < 0.8 * base["size"]["model_file_bytes"].get<double>());
  // hone inspect reloads the file through the ONNX checker.
  const auto r = run_hone("inspect " + quote(m["artifact"].get<std::string>()) + " --json");
  REQUIRE(r.exit_code == 0);
  CHECK(json::parse(r.out)["totals"]["parameters"] == m["size"]["parameters"]);
}

TEST_CASE("2:4, clustering, float16 and dynamic int8 pipelines run and keep their promise", "[cli][optimizers]") {
  const json base = run_example("bn-folded", 100);
  const double base_bytes = base["size"]["model_file_bytes"];
  SECTION("2:4") {
    const json m = run_example("prune-2of4", 100);
    CHECK(pass_report(m, "prune_n_m")["detail"]["sparsity_pruned_layers"].get<double>() == Approx(0.5));
  }
  SECTION("4-bit clustering") {
    const json m = run_example("cluster-4bit", 100);
    CHECK(m["size"]["model_file_bytes"].get<double>() <= 0.3 * base_bytes);
    CHECK(op_counts(m["artifact"]).at("Gather") >= 3);
  }
  SECTION("float16 weights") {
    const json m = run_example("fp16", 100);
    CHECK(m["size"]["model_file_bytes"].get<double>() <= 0.55 * base_bytes);
    CHECK(m["quality"]["top1"] == base["quality"]["top1"]);
  }
  SECTION("dynamic int8") {
    const json m = run_example("int8-dynamic", 100);
    const auto ops = op_counts(m["artifact"]);
    CHECK(ops.at("DynamicQuantizeLinear") >= 1);
    CHECK(ops.at("ConvInteger") + ops.at("MatMulInteger") >= 4);
    CHECK(m["quality"]["top1"].get<double>() >= base["quality"]["top1"].get<double>() - 0.03);
  }
}

TEST_CASE("the chained fold + channel prune + int8 pipeline", "[cli][optimizers]") {
  const json m = run_example("fold-prune-int8", 50, {"optimizers.2.parameters.calibration_samples=64"});
  REQUIRE(m["optimizers"].size() == 4);  // implicit cleanup + three passes
  CHECK(m["optimizers"][0]["implicit"] == true);
  CHECK(m["optimizers"][2]["type"] == "prune_channels");
  CHECK(m["optimizers"][3]["type"] == "quantize_static");
  CHECK(m["optimizers"][3]["parameters_before"] == m["optimizers"][2]["parameters_after"]);
  CHECK(op_counts(m["artifact"]).at("QuantizeLinear") >= 5);
}

TEST_CASE("hone optimize calibrates from --dataset through --wrapper", "[cli][optimizers]") {
  const fs::path dir = scratch("optimize_q");
  const fs::path out = dir / "q.onnx";
  const std::string model = quote(kSource / "models/fmnist_cnn.onnx");
  auto r = run_hone("optimize " + model + " --pass fold_batch_norm --pass quantize_static:per_channel=true,calibration_samples=64"
                    " --dataset idx:root=" + kFmnist.string() + " --wrapper onnx_classifier:scale_to_unit=true -o " +
                    quote(out) + " --json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json rep = json::parse(r.out);
  REQUIRE(rep["passes"].size() == 3);
  CHECK(rep["passes"][2]["type"] == "quantize_static");
  CHECK(fs::file_size(out) <= 0.3 * fs::file_size(kSource / "models/fmnist_cnn.onnx"));
  CHECK(op_counts(out.string()).at("QuantizeLinear") >= 5);

  // Without --dataset a calibrating pass says what it needs; nothing is written.
  const fs::path none = dir / "none.onnx";
  r = run_hone("optimize " + model + " --pass quantize_static -o " + quote(none));
  CHECK(r.exit_code == 2);
  CHECK(r.err_lines() == 1);
  CHECK(r.err.find("quantize_static needs calibration data") != std::string::npos);
  CHECK_FALSE(fs::exists(none));
  // A bad --dataset parameter names the option and the parameter.
  r = run_hone("optimize " + model + " --pass quantize_static --dataset idx:splitt=train -o " + quote(none));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--dataset 'idx:splitt=train'/splitt: unknown parameter") != std::string::npos);
  // --no-cleanup: the implicit cleanup reports are gone.
  r = run_hone("optimize " + model + " --pass fold_batch_norm --no-cleanup -o " + quote(dir / "f.onnx") + " --json");
  REQUIRE(r.exit_code == 0);
  CHECK(json::parse(r.out)["passes"].size() == 1);
}
