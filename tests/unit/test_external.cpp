// The `external` pass: a user's command gets the model as {input} and writes {output}; hone
// takes the result only when it is a valid model with the same interface, and otherwise fails
// with the command and its stderr tail, leaving the model as it was.
#include "test_paths.h"
#include "ir/onnx_io.h"
#include "passes/pass.h"
#include "pipeline/registry.h"
#include "support/error.h"
#include "support/file_io.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <unistd.h>

using namespace hone;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const fs::path kModels = fs::path(HONE_SOURCE_DIR) / "models";

std::unique_ptr<passes::Pass> external(json params, const fs::path& cwd = fs::temp_directory_path()) {
  const auto& r = pipeline::Registry::global().get(pipeline::ComponentKind::Optimizer, "external");
  pipeline::BuildContext ctx;
  ctx.base_dir = cwd;
  ctx.json_path = "/optimizers/0/parameters";
  return pipeline::create<passes::Pass>(r, pipeline::validate_parameters(r.spec, params, ctx.json_path), ctx);
}


fs::path scratch() {
  const fs::path d = fs::temp_directory_path() / ("hone_external_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

// Runs the pass and returns the error's message (or "" when it succeeded).
std::string failure(passes::Pass& pass, ir::Model& m) {
  try {
    pass.run(m, {});
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::BadInput);
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("external: the command's model replaces the pipeline's", "[passes][external]") {
  ir::Model m = ir::load_onnx((kModels / "fmnist_cnn.onnx").string());
  SECTION("a copy changes nothing") {
    auto pass = external({{"command", {"cp", "{input}", "{output}"}}});
    const json d = pass->run(m, {});
    CHECK(d["exit_code"] == 0);
    CHECK(d["initializers_changed"] == 0);
    CHECK(d["float_values_changed"] == 0);
    CHECK(m.path.find("fmnist_cnn.onnx") != std::string::npos);  // the model keeps its name
  }
  SECTION("another model with the same inputs and outputs is taken") {
    // fmnist_mobilenet has fmnist_cnn's interface: input float32[N,1,28,28] -> logits float32[N,10].
    auto pass = external({{"command", {"sh", "-c", "cp \"$0\" \"$2\"", (kModels / "fmnist_mobilenet.onnx").string(),
                                       "{input}", "{output}"}}});
    const size_t nodes_before = m.graph.nodes.size();
    const json d = pass->run(m, {});
    CHECK(m.graph.nodes.size() != nodes_before);
    CHECK(d["initializers_changed"].get<int64_t>() > 0);
    CHECK(m.graph.outputs == std::vector<std::string>{"logits"});
  }
}

TEST_CASE("external: failures name the command, carry its stderr and leave the model alone", "[passes][external]") {
  ir::Model m = ir::load_onnx((kModels / "fmnist_cnn.onnx").string());
  const std::string before = ir::serialize_onnx(m);
  const fs::path dir = scratch();
  std::string msg;
  SECTION("non-zero exit") {
    auto pass = external({{"command", {"sh", "-c", "echo loading data >&2; echo 'CUDA not available' >&2; exit 3",
                                       "{input}", "{output}"}}});
    msg = failure(*pass, m);
    CHECK(msg.find("failed with exit code 3") != std::string::npos);
    CHECK(msg.find("stderr: loading data | CUDA not available") != std::string::npos);
    CHECK(msg.find("`sh -c") != std::string::npos);
  }
  SECTION("timeout") {
    auto pass = external({{"command", {"sh", "-c", "sleep 20", "{input}", "{output}"}}, {"timeout_s", 0.3}});
    msg = failure(*pass, m);
    CHECK(msg.find("did not finish within timeout_s = 0.3 s") != std::string::npos);
  }
  SECTION("no output") {
    auto pass = external({{"command", {"true", "{input}", "{output}"}}});
    msg = failure(*pass, m);
    CHECK(msg.find("exited 0 but wrote no model to {output}") != std::string::npos);
  }
  SECTION("an invalid output") {
    auto pass = external({{"command", {"sh", "-c", "echo garbage > \"$1\"", "{input}", "{output}"}}});
    msg = failure(*pass, m);
    CHECK(msg.find("wrote an invalid model") != std::string::npos);
  }
  SECTION("another interface") {
    ir::Model renamed = m;
    for (auto& n : renamed.graph.nodes) {
      for (auto& o : n->outputs) {
        if (o == "logits") o = "scores";
      }
    }
    renamed.graph.outputs = {"scores"};
    renamed.graph.values["scores"] = renamed.graph.values["logits"];
    ir::save_onnx(renamed, (dir / "renamed.onnx").string());
    auto pass = external({{"command", {"sh", "-c", "cp \"$0\" \"$2\"", (dir / "renamed.onnx").string(), "{input}", "{output}"}}});
    msg = failure(*pass, m);
    CHECK(msg.find("other graph outputs (scores: float32") != std::string::npos);
  }
  SECTION("a program that does not exist") {
    auto pass = external({{"command", {"no-such-trainer", "{input}", "{output}"}}});
    msg = failure(*pass, m);
    CHECK(msg.find("cannot run `no-such-trainer {input} {output}`") != std::string::npos);
  }
  INFO(msg);
  CHECK_FALSE(msg.empty());
  CHECK(ir::serialize_onnx(m) == before);
}

TEST_CASE("external: parameters are checked when the pass is built", "[passes][external]") {
  auto message = [](json params) {
    try {
      external(params);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(message({{"command", {"python3", "train.py", "{input}"}}}).find(
            "/optimizers/0/parameters/command: the command must name {input}") != std::string::npos);
  CHECK(message(json::object()).find("command") != std::string::npos);
  CHECK(message({{"command", {"cp", "{input}", "{output}"}}, {"cwd", "/no/such/folder"}}).find(
            "cwd '/no/such/folder' is not a folder") != std::string::npos);
}

TEST_CASE("external: the files the command names are part of its fingerprint", "[passes][external]") {
  const fs::path dir = scratch();
  support::write_file_atomic(dir / "train.py", "print('v1')\n");
  auto pass = external({{"command", {"python3", "train.py", "{input}", "{output}"}}}, dir);
  const json f1 = pass->fingerprint();
  CHECK(f1.contains("train.py"));
  CHECK_FALSE(f1.contains("python3"));
  support::write_file_atomic(dir / "train.py", "print('v2')\n");
  CHECK(pass->fingerprint() != f1);
}
