// `hone run` / `hone validate` / `hone list`: end to end on the Fashion-MNIST models, and one
// line + exit 2 + no output for every bad-input case of docs/pipeline.md.
#include "cli_util.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>

using hone::test::quote;
using hone::test::run_hone;
using hone::test::slurp;
using hone::test::write_text;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = HONE_SOURCE_DIR;
const fs::path kFmnist = "/usr/share/datasets/fashion-mnist";

fs::path scratch(const std::string& name) { return hone::test::scratch_dir("pipeline", name); }

// A pipeline for fmnist_cnn with absolute paths, written to dir/p.json.
json cnn_pipeline(int64_t limit) {
  return {{"name", "t"},
          {"model_wrapper", {{"type", "onnx_classifier"},
                             {"parameters", {{"model", (kSource / "models/fmnist_cnn.onnx").string()}}}}},
          {"dataset", {{"type", "idx"}, {"parameters", {{"split", "test"}, {"limit", limit}}}}},
          {"optimizers", json::array({{{"type", "fold_batch_norm"}}})},
          {"measurements", {{"warmup", 2}}}};
}

fs::path write_pipeline(const fs::path& dir, const json& doc) {
  const fs::path p = dir / "p.json";
  write_text(p, doc.dump(2));
  return p;
}

// A minimal NumPy .npy (format 1.0) writer for test data.
void write_npy(const fs::path& p, const std::string& descr, const std::vector<int64_t>& shape,
               const std::string& data) {
  std::string dims;
  for (int64_t d : shape) dims += std::to_string(d) + ",";
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header + data;
  write_text(p, out);
}

// Runs a failing case: exit 2, one line naming the file and `needle`, no output folder.
void expect_bad(const std::string& args, const std::string& needle, const fs::path& out_dir) {
  INFO("hone " << args);
  const auto r = run_hone(args + " -q");
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err_lines() == 1);
  CHECK(r.err.find(needle) != std::string::npos);
  CHECK(r.out.empty());
  CHECK_FALSE(fs::exists(out_dir));
}

}  // namespace

TEST_CASE("hone run writes complete measurements for fmnist_cnn", "[cli][pipeline]") {
  INFO("needs Debian's dataset-fashion-mnist (scripts/bootstrap installs it)");
  REQUIRE(fs::exists(kFmnist));
  const fs::path dir = scratch("run");
  const fs::path p = write_pipeline(dir, cnn_pipeline(200));
  const fs::path out = dir / "out";
  const auto r = run_hone("run " + quote(p) + " --output-dir " + quote(out));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("top-1") != std::string::npos);
  CHECK(r.out.find("measurements: ") != std::string::npos);

  const fs::path file = out / "host-reference.measurements.json";
  REQUIRE(fs::exists(file));
  const json m = json::parse(slurp(file));
  CHECK(m["schema_version"] == 1);
  CHECK(m["target"]["name"] == "host-reference");

  const json& q = m["quality"];
  CHECK(q["available"] == true);
  CHECK(q["samples"] == 200);
  CHECK(q["num_classes"] == 10);
  CHECK(q["top1"].get<double>() > 0.85);
  CHECK(q["top5"].get<double>() >= q["top1"].get<double>());
  CHECK(q["class_names"][0] == "T-shirt/top");
  REQUIRE(q["per_class"].size() == 10);
  for (const char* k : {"precision", "recall", "f1", "support"}) CHECK(q["per_class"][0].contains(k));
  int64_t total = 0;
  for (const auto& row : q["confusion_matrix"]) {
    for (const auto& c : row) total += c.get<int64_t>();
  }
  CHECK(total == 200);

  const json& l = m["latency"];
  CHECK(l["count"] == 200);
  CHECK(l["samples_ms"].size() == 200);
  const double mn = l["min_ms"], p50 = l["p50_ms"], mean = l["mean_ms"], mx = l["max_ms"];
  CHECK(mn > 0);
  CHECK(mn <= p50);
  CHECK(p50 <= l["p90_ms"].get<double>());
  CHECK(l["p90_ms"].get<double>() <= l["p99_ms"].get<double>());
  CHECK(l["p99_ms"].get<double>() <= mx);
  CHECK(mn <= mean);
  CHECK(mean <= mx);
  CHECK(l["throughput_per_s"].get<double>() == Approx(1000.0 / mean).epsilon(1e-9));
  for (const char* k : {"std_ms", "batch_size", "unit"}) CHECK(l.contains(k));

  const json& s = m["size"];
  CHECK(s["model_file_bytes"].get<int64_t>() == static_cast<int64_t>(fs::file_size(out / "host-reference" / "model.onnx")));
  CHECK(s["compressed_bytes"].get<int64_t>() > 0);
  CHECK(s["compressed_bytes"].get<int64_t>() < s["model_file_bytes"].get<int64_t>());
  // BN folded: 3 BatchNormalization nodes gone, their 4x(32+64+64) parameters gone.
  CHECK(s["parameters"].get<int64_t>() == 131370 - 4 * (32 + 64 + 64) + (32 + 64 + 64) - 0);
  CHECK(s["weight_bytes_by_dtype"].contains("float32"));
  CHECK(s.contains("zero_weight_fraction"));
  CHECK(s["macs"].get<int64_t>() == 5719808);

  const json& res = m["resources"];
  CHECK(res["peak_rss_bytes"].get<int64_t>() > 1 << 20);
  for (const char* k : {"load_model", "load_dataset", "optimize", "compile", "prepare", "warmup", "evaluate"}) {
    CHECK(res["stage_seconds"].contains(k));
  }

  // The implicit cleanup first (nothing to clean in this model), then the pipeline's pass with
  // the cleanup that followed it.
  REQUIRE(m["optimizers"].size() == 2);
  CHECK(m["optimizers"][0]["type"] == "cleanup");
  CHECK(m["optimizers"][0]["implicit"] == true);
  CHECK(m["optimizers"][0]["nodes_after"] == 16);
  CHECK(m["optimizers"][1]["type"] == "fold_batch_norm");
  CHECK(m["optimizers"][1]["nodes_before"] == 16);
  CHECK(m["optimizers"][1]["nodes_after"] == 13);
  CHECK(m["optimizers"][1]["detail"]["folded"].size() == 3);
  CHECK(m["optimizers"][1]["cleanup"]["nodes_after"] == 13);

  const json& pv = m["provenance"];
  CHECK(pv["pipeline_sha256"].get<std::string>().size() == 64);
  CHECK(pv["pipeline"]["dataset"]["parameters"]["limit"] == 200);
  CHECK(pv["pipeline"]["measurements"]["batch_size"] == 1);
  for (const char* k : {"hone_version", "git_commit", "host", "compiler", "timestamp", "seed"}) CHECK(pv.contains(k));
  CHECK_FALSE(pv["host"]["cpu_model"].get<std::string>().empty());
}

TEST_CASE("fmnist_cnn on the full test split matches its sidecar accuracy", "[cli][pipeline][slow]") {
  INFO("needs Debian's dataset-fashion-mnist (scripts/bootstrap installs it)");
  REQUIRE(fs::exists(kFmnist));
  const fs::path dir = scratch("full");
  const double sidecar = json::parse(slurp(kSource / "models/fmnist_cnn.json"))["test_accuracy"].get<double>();
  // The default demo pipeline, run from another working directory: its paths are relative to it.
  const auto r = run_hone("run " + quote(kSource / "pipelines/fashion-mnist.json") + " -q --set measurements.batch_size=50"
                          " --output-dir " + quote(dir / "out"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json m = json::parse(slurp(dir / "out" / "host-cpu.measurements.json"));
  CHECK(m["quality"]["samples"] == 10000);
  const double top1 = m["quality"]["top1"];
  CHECK(top1 >= 0.90);
  CHECK(std::abs(top1 - sidecar) <= 0.001 + 1e-12);
  // The stage times split evaluation into inference calls and hone's own overhead.
  const json& st = m["resources"]["stage_seconds"];
  CHECK(st["evaluate_inference"].get<double>() > 0);
  CHECK(st["evaluate_inference"].get<double>() <= st["evaluate"].get<double>());
}

TEST_CASE("hone run with set overrides, one target, several targets", "[cli][pipeline]") {
  INFO("needs Debian's dataset-fashion-mnist (scripts/bootstrap installs it)");
  REQUIRE(fs::exists(kFmnist));
  const fs::path dir = scratch("targets");
  json doc = cnn_pipeline(1000);
  doc["targets"] = json::array({{{"name", "a"}}, {{"name", "b"}, {"runtime", {{"type", "reference"}}}}});
  const fs::path p = write_pipeline(dir, doc);
  // Options may come before the pipeline: --set takes one value per occurrence.
  auto r = run_hone("run --set dataset.parameters.limit=30 --set measurements.warmup=1 " + quote(p) +
                    " -q --output-dir " + quote(dir / "o"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("measurements:") == std::string::npos);  // -q: only the table
  for (const char* t : {"a", "b"}) {
    const json m = json::parse(slurp(dir / "o" / (std::string(t) + ".measurements.json")));
    CHECK(m["quality"]["samples"] == 30);
    CHECK(m["provenance"]["overrides"][0] == "dataset.parameters.limit=30");
  }
  r = run_hone("run " + quote(p) + " -q --set dataset.parameters.limit=10 --target b --output-dir " + quote(dir / "o2"));
  REQUIRE(r.exit_code == 0);
  CHECK(fs::exists(dir / "o2" / "b.measurements.json"));
  CHECK_FALSE(fs::exists(dir / "o2" / "a.measurements.json"));
}

TEST_CASE("hone run --profile: a per-layer profile from the cpu runtime", "[cli][pipeline]") {
  INFO("needs Debian's dataset-fashion-mnist (scripts/bootstrap installs it)");
  REQUIRE(fs::exists(kFmnist));
  const fs::path dir = scratch("profile");
  const auto r = run_hone("run " + quote(kSource / "pipelines/fashion-mnist.json") +
                          " -q --profile --set dataset.parameters.limit=40 --output-dir " + quote(dir / "o"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json m = json::parse(slurp(dir / "o" / "host-cpu.measurements.json"));
  CHECK(m["target"]["runtime"]["profile"] == true);
  const json& layers = m["profile"]["layers"];
  REQUIRE(layers.size() >= 8);
  double share = 0;
  int64_t macs = 0;
  for (const auto& l : layers) {
    CHECK(l["calls"] == 10 + 40);  // warm-up runs and samples
    CHECK_FALSE(l["kernel"].get<std::string>().empty());
    share += l["share"].get<double>();
    macs += l["macs"].get<int64_t>();
  }
  CHECK(share == Approx(1.0));
  CHECK(macs == m["size"]["macs"].get<int64_t>());  // the profile covers every MAC of the model
  CHECK(layers[0]["op_type"] == "Conv+Relu");        // batch norm folded by the pipeline, Relu fused
  CHECK(layers[0]["kernel"] == "xnnpack:conv");
  // Without --profile there is no profile.
  REQUIRE(run_hone("run " + quote(kSource / "pipelines/fashion-mnist.json") +
                   " -q --set dataset.parameters.limit=5 --output-dir " + quote(dir / "p")).exit_code == 0);
  CHECK_FALSE(json::parse(slurp(dir / "p" / "host-cpu.measurements.json")).contains("profile"));
}

TEST_CASE("latency-only pipeline on random inputs", "[cli][pipeline]") {
  const fs::path dir = scratch("random");
  const auto r = run_hone("run " + quote(kSource / "pipelines/latency-random.json") +
                          " -q --set dataset.parameters.count=20 --output-dir " + quote(dir / "o"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("n/a") != std::string::npos);
  const json m = json::parse(slurp(dir / "o" / "host-cpu.measurements.json"));
  CHECK(m["quality"]["available"] == false);
  CHECK(m["latency"]["count"] == 60);  // 20 samples x repeat 3
}

TEST_CASE("bad pipelines: one line naming file and JSON path, exit 2, nothing written", "[cli][pipeline]") {
  const fs::path dir = scratch("bad");
  const fs::path out = dir / "out";
  const std::string o = " --output-dir " + quote(out);
  auto run_doc = [&](const json& doc, const std::string& needle, const std::string& extra = "") {
    const fs::path p = write_pipeline(dir, doc);
    expect_bad("run " + quote(p) + o + extra, needle, out);
  };

  SECTION("malformed JSON reports line and column") {
    write_text(dir / "p.json", "{\n  \"name\": \"x\",\n  \"dataset\": {\n}\n,}\n");
    expect_bad("run " + quote(dir / "p.json") + o, "p.json: malformed JSON: parse error at line 5, column 2", out);
  }
  SECTION("a wrong type") {
    json d = cnn_pipeline(10);
    d["dataset"]["parameters"]["limit"] = "many";
    run_doc(d, "p.json: /dataset/parameters/limit: expected an integer >= 0, got \"many\"");
  }
  SECTION("an unknown key gets a suggestion") {
    json d = cnn_pipeline(10);
    d["datset"] = d["dataset"];
    run_doc(d, "/datset: unknown key 'datset' (did you mean 'dataset'?)");
  }
  SECTION("an unknown component type gets a suggestion") {
    json d = cnn_pipeline(10);
    d["optimizers"][0]["type"] = "fold_batchnorm";
    run_doc(d, "/optimizers/0/type: unknown optimizer type 'fold_batchnorm' (did you mean 'fold_batch_norm'?)");
  }
  SECTION("a missing model file") {
    json d = cnn_pipeline(10);
    d["model_wrapper"]["parameters"]["model"] = "missing.onnx";
    run_doc(d, "p.json: /model_wrapper/parameters/model: " + (dir / "missing.onnx").string() + ": no such file");
  }
  SECTION("a missing dataset folder") {
    json d = cnn_pipeline(10);
    d["dataset"]["parameters"]["root"] = "no-such-dir";
    run_doc(d, "p.json: /dataset/parameters/root: idx dataset, test split: " + (dir / "no-such-dir").string() + " does not exist");
  }
  SECTION("a missing Debian dataset folder suggests the package") {
    json d = cnn_pipeline(10);
    d["dataset"]["parameters"]["root"] = "/usr/share/datasets/no-such-dataset";
    run_doc(d, "p.json: /dataset/parameters/root: idx dataset, test split: /usr/share/datasets/no-such-dataset "
               "does not exist (it should hold t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]) "
               "(Debian's dataset packages install under /usr/share/datasets; Fashion-MNIST: apt-get install "
               "dataset-fashion-mnist)");
  }
  SECTION("dataset samples that do not fit the model input") {
    json d = cnn_pipeline(10);
    d["dataset"] = {{"type", "random"}, {"parameters", {{"shape", {32, 32}}}}};
    run_doc(d, "/dataset: dataset samples are [32, 32]");
  }
  SECTION("labels outside the class count") {
    std::string x(4 * 28 * 28, '\x10');
    write_npy(dir / "x.npy", "|u1", {4, 28, 28}, x);
    std::string y;
    for (int64_t v : {1, 2, 12, 3}) y.append(reinterpret_cast<const char*>(&v), 8);
    write_npy(dir / "y.npy", "<i8", {4}, y);
    json d = cnn_pipeline(10);
    d["dataset"] = {{"type", "npy"}, {"parameters", {{"inputs", "x.npy"}, {"labels", "y.npy"}}}};
    run_doc(d, "/dataset: label 12 of sample 2");
  }
  SECTION("an optimizer listed twice where that makes no sense") {
    json d = cnn_pipeline(10);
    d["optimizers"].push_back({{"type", "fold_batch_norm"}});
    run_doc(d, "/optimizers/1: 'fold_batch_norm' is already at /optimizers/0");
  }
  SECTION("an output directory that is not writable") {
    write_text(dir / "file", "x");
    const fs::path p = write_pipeline(dir, cnn_pipeline(10));
    expect_bad("run " + quote(p) + " --output-dir " + quote(dir / "file" / "sub"), "not writable", dir / "file" / "sub");
    json d = cnn_pipeline(10);
    d["measurements"]["output_dir"] = "file/sub";
    expect_bad("run " + quote(write_pipeline(dir, d)), "p.json: /measurements/output_dir: ", dir / "file" / "sub");
  }
  SECTION("a bad --set and an unknown --target") {
    const fs::path p = write_pipeline(dir, cnn_pipeline(10));
    expect_bad("run " + quote(p) + o + " --set optimizers.5.type=x", "--set 'optimizers.5.type=x'", out);
    expect_bad("run " + quote(p) + o + " --target nope", "--target 'nope'", out);
  }
}

TEST_CASE("a failed run leaves an earlier complete measurements file intact", "[cli][pipeline]") {
  INFO("needs Debian's dataset-fashion-mnist (scripts/bootstrap installs it)");
  REQUIRE(fs::exists(kFmnist));
  const fs::path dir = scratch("keep");
  const fs::path p = write_pipeline(dir, cnn_pipeline(5));
  REQUIRE(run_hone("run " + quote(p) + " -q --output-dir " + quote(dir / "o")).exit_code == 0);
  const std::string before = slurp(dir / "o" / "host-reference.measurements.json");
  REQUIRE_FALSE(before.empty());
  const auto r = run_hone("run " + quote(p) + " -q --output-dir " + quote(dir / "o") + " --set dataset.parameters.split=valid");
  CHECK(r.exit_code == 2);
  CHECK(slurp(dir / "o" / "host-reference.measurements.json") == before);
  for (const auto& e : fs::directory_iterator(dir / "o")) CHECK(e.path().string().find(".tmp") == std::string::npos);
}

TEST_CASE("hone validate checks without running", "[cli][pipeline]") {
  INFO("needs Debian's dataset-fashion-mnist (scripts/bootstrap installs it)");
  REQUIRE(fs::exists(kFmnist));
  auto r = run_hone("validate " + quote(kSource / "pipelines/fashion-mnist.json"));
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("ok") != std::string::npos);
  CHECK(r.out.find("10000 samples") != std::string::npos);
  r = run_hone("validate " + quote(kSource / "pipelines/fashion-mnist.json") + " --json");
  REQUIRE(r.exit_code == 0);
  const json resolved = json::parse(r.out);
  CHECK(resolved["dataset"]["parameters"]["shuffle"] == false);  // defaults are filled in
  CHECK(resolved["model_wrapper"]["parameters"]["model"].get<std::string>() == (kSource / "models/fmnist_cnn.onnx").string());
  r = run_hone("validate " + quote(kSource / "pipelines/fashion-mnist.json") + " --set dataset.parameters.split=tset");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("/dataset/parameters/split: expected one of train, test, got \"tset\"") != std::string::npos);
}

TEST_CASE("every example pipeline in pipelines/ validates", "[cli][pipeline]") {
  int checked = 0;
  for (const auto& e : fs::recursive_directory_iterator(kSource / "pipelines")) {
    if (e.path().extension() != ".json") continue;
    INFO(e.path().string());
    const auto r = run_hone("validate " + quote(e.path()));
    INFO(r.err);
    CHECK(r.exit_code == 0);
    ++checked;
  }
  CHECK(checked >= 4);
}

TEST_CASE("hone list shows every component with parameters and defaults", "[cli][list]") {
  auto r = run_hone("list -v");
  REQUIRE(r.exit_code == 0);
  for (const char* name : {"onnx_classifier", "onnx_generic", "idx", "npy", "random", "fold_batch_norm", "none",
                           "reference", "host"}) {
    CHECK(r.out.find(std::string("  ") + name + " ") != std::string::npos);
  }
  CHECK(r.out.find("default \"/usr/share/datasets/fashion-mnist\"") != std::string::npos);
  CHECK(r.out.find("one of train, test") != std::string::npos);

  r = run_hone("list datasets");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("idx") != std::string::npos);
  CHECK(r.out.find("onnx_classifier") == std::string::npos);

  r = run_hone("list datsets");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("did you mean 'datasets'?") != std::string::npos);
}

TEST_CASE("hone list platforms shows the platform files", "[cli][list]") {
  auto r = run_hone("list platforms");
  REQUIRE(r.exit_code == 0);
  for (const char* name : {"host", "x86_64-linux", "aarch64-linux", "riscv64-linux", "stm32f746g-disco", "nrf52840"}) {
    CHECK(r.out.find(std::string("  ") + name + " ") != std::string::npos);
  }
  CHECK(r.out.find("320 KB RAM, 1024 KB flash, 216 MHz") != std::string::npos);
  CHECK(r.out.find("256 KB RAM, 1024 KB flash, 64 MHz") != std::string::npos);
  CHECK(r.out.find("(no parameters)") == std::string::npos);

  r = run_hone("list platforms -v");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("armv7e-m, bare metal") != std::string::npos);
  CHECK(r.out.find("qemu-user: qemu-aarch64-static -cpu cortex-a72 EXECUTABLE") != std::string::npos);
  CHECK(r.out.find("qemu-system: qemu-system-arm -M mps2-an386 -nographic") != std::string::npos);
  CHECK(r.out.find("platforms/ld/stm32f746g-disco.ld") != std::string::npos);
  CHECK(r.out.find("native: EXECUTABLE") != std::string::npos);
}

TEST_CASE("a pipeline may name a platform file; the in-process runtimes refuse it", "[cli][pipeline]") {
  INFO("needs Debian's dataset-fashion-mnist (scripts/bootstrap installs it)");
  REQUIRE(fs::exists(kFmnist));
  const fs::path dir = scratch("platform-file");
  json doc = cnn_pipeline(10);
  doc["platform"] = {{"type", "aarch64-linux"}};
  const fs::path p = write_pipeline(dir, doc);
  auto r = run_hone("validate " + quote(p) + " --json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(json::parse(r.out)["targets"][0]["name"] == "aarch64-linux-reference");
  r = run_hone("validate " + quote(p) + " --set platform.type=aarch64_linux");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("unknown platform type 'aarch64_linux' (did you mean 'aarch64-linux'?)") != std::string::npos);
  r = run_hone("run " + quote(p) + " -q --output-dir " + quote(dir / "o"));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("runtime 'reference' runs only on the host platform, not on 'aarch64-linux'") != std::string::npos);
}

TEST_CASE("docs/components.md is what hone list --markdown prints", "[cli][list]") {
  const auto r = run_hone("list --markdown");
  REQUIRE(r.exit_code == 0);
  INFO("regenerate: build/release/bin/hone list --markdown > docs/components.md");
  CHECK(slurp(kSource / "docs/components.md") == r.out);
}

TEST_CASE("hone optimize applies passes outside a pipeline", "[cli][optimize]") {
  const fs::path dir = scratch("optimize");
  const fs::path out = dir / "cnn_folded.onnx";
  auto r = run_hone("optimize " + quote(kSource / "models/fmnist_cnn.onnx") + " --pass fold_batch_norm -o " +
                    quote(out) + " --json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json rep = json::parse(r.out);
  REQUIRE(rep["passes"].size() == 2);
  CHECK(rep["passes"][0]["type"] == "cleanup");
  CHECK(rep["passes"][1]["nodes_before"] == 16);
  CHECK(rep["passes"][1]["nodes_after"] == 13);
  CHECK(rep["passes"][1]["detail"]["folded"].size() == 3);
  // The written model is valid ONNX (hone's loader runs the ONNX checker) without BatchNormalization.
  r = run_hone("inspect " + quote(out) + " --json");
  REQUIRE(r.exit_code == 0);
  const json stats = json::parse(r.out);
  for (const auto& op : stats["op_types"]) CHECK(op["op_type"] != "BatchNormalization");

  const fs::path none = dir / "never.onnx";
  r = run_hone("optimize " + quote(kSource / "models/fmnist_cnn.onnx") + " --pass cleanup:x=1 -o " + quote(none));
  CHECK(r.exit_code == 2);
  CHECK(r.err == "hone: error: --pass 'cleanup:x=1'/x: unknown parameter of optimizer 'cleanup': it takes no parameters\n");
  r = run_hone("optimize " + quote(kSource / "models/fmnist_cnn.onnx") + " --pass fold_batch_norm:fallback_muladd=1 -o " + quote(none));
  CHECK(r.exit_code == 2);
  CHECK(r.err == "hone: error: --pass 'fold_batch_norm:fallback_muladd=1'/fallback_muladd: unknown parameter of "
                 "optimizer 'fold_batch_norm' (did you mean 'fallback_mul_add'?)\n");
  r = run_hone("optimize " + quote(kSource / "models/fmnist_cnn.onnx") + " --pass fold_bn -o " + quote(none));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("unknown optimizer type 'fold_bn'") != std::string::npos);
  CHECK_FALSE(fs::exists(none));
}
