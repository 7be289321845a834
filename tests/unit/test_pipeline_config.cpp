// Pipeline files: validation with JSON paths, defaults, relative paths, --set overrides, and
// the registry's checks.
#include "pipeline/describe.h"
#include "pipeline/pipeline.h"
#include "pipeline/registry.h"
#include "support/error.h"

#include <catch2/catch.hpp>

using namespace hone;
using namespace hone::pipeline;
using nlohmann::json;

namespace {

json minimal() {
  return {{"model_wrapper", {{"type", "onnx_classifier"}, {"parameters", {{"model", "m.onnx"}}}}},
          {"dataset", {{"type", "idx"}}}};
}

std::string error_of(const json& doc) {
  try {
    parse_pipeline(doc, "dir/p.json");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::BadInput);
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a minimal pipeline gets every default", "[pipeline]") {
  const PipelineConfig c = parse_pipeline(minimal(), "dir/p.json");
  CHECK(c.name == "p");
  CHECK(c.model_wrapper.params["model"] == "dir/m.onnx");  // relative to the pipeline file
  CHECK(c.model_wrapper.params["layout"] == "NCHW");
  CHECK(c.dataset.params["root"] == "/usr/share/datasets/fashion-mnist");  // absolute stays
  CHECK(c.dataset.params["split"] == "test");
  CHECK(c.optimizers.empty());
  REQUIRE(c.targets.size() == 1);
  CHECK(c.targets[0].name == "host-reference");
  CHECK(c.targets[0].compiler.type == "none");
  CHECK(c.measurements.warmup == 10);
  CHECK(c.measurements.batch_size == 1);
  CHECK(c.resolved["measurements"]["repeat"] == 1);
  CHECK(c.resolved["targets"][0]["platform"]["type"] == "host");
}

TEST_CASE("targets inherit the top-level blocks they do not set", "[pipeline]") {
  json d = minimal();
  d["runtime"] = {{"type", "reference"}};
  d["targets"] = json::array({{{"name", "a"}}, {{"name", "b"}, {"platform", {{"type", "host"}}}}});
  const PipelineConfig c = parse_pipeline(d, "p.json");
  REQUIRE(c.targets.size() == 2);
  CHECK(c.targets[0].runtime.type == "reference");
  CHECK(c.targets[1].platform.json_path == "/targets/1/platform");
  CHECK(c.targets[0].platform.json_path == "/platform");
}

TEST_CASE("pipeline errors name the file and the JSON path", "[pipeline]") {
  json d = minimal();
  d["optimizers"] = json::array({{{"type", "fold_batch_norm"}, {"parameters", {{"x", 1}}}}});
  CHECK(error_of(d) == "dir/p.json: /optimizers/0/parameters/x: unknown parameter of optimizer 'fold_batch_norm'; its parameters: fallback_mul_add");

  d = minimal();
  d["dataset"]["type"] = "idy";
  CHECK(error_of(d) == "dir/p.json: /dataset/type: unknown dataset type 'idy' (did you mean 'idx'?); known: idx, npy, random");

  d = minimal();
  d["dataset"]["parameters"] = {{"splt", "train"}};
  CHECK(error_of(d).find("/dataset/parameters/splt: unknown parameter of dataset 'idx' (did you mean 'split'?)") != std::string::npos);

  d = minimal();
  d.erase("dataset");
  CHECK(error_of(d) == "dir/p.json: /dataset: missing \"dataset\" block");

  d = minimal();
  d["model_wrapper"]["typ"] = "x";
  CHECK(error_of(d).find("/model_wrapper/typ: unknown key 'typ' (did you mean 'type'?)") != std::string::npos);

  d = minimal();
  d["targets"] = json::array({{{"name", "a"}}, {{"name", "a"}}});
  CHECK(error_of(d) == "dir/p.json: /targets/1/name: target name 'a' is already used at /targets/0");

  d = minimal();
  d["targets"] = json::array({{{"name", "a/b"}}});
  CHECK(error_of(d).find("/targets/0/name: expected a target name") != std::string::npos);

  d = minimal();
  d["measurements"] = {{"batch_size", 0}};
  CHECK(error_of(d) == "dir/p.json: /measurements/batch_size: expected an integer in [1, 65536], got 0");

  CHECK(error_of(json::array()) == "dir/p.json: a pipeline is a JSON object, got a list");
}

TEST_CASE("set overrides apply before validation", "[pipeline]") {
  json d = minimal();
  apply_override(d, "dataset.parameters.limit=500");
  CHECK(d["dataset"]["parameters"]["limit"] == 500);
  apply_override(d, "dataset.parameters.split=train");  // not JSON: taken as a string
  CHECK(d["dataset"]["parameters"]["split"] == "train");
  apply_override(d, "optimizers=[{\"type\":\"fold_batch_norm\"}]");
  apply_override(d, "optimizers.0.type=fold_batch_norm");
  CHECK(d["optimizers"][0]["type"] == "fold_batch_norm");
  apply_override(d, "measurements.seed=3");
  CHECK(parse_pipeline(d, "p.json").measurements.seed == 3);

  auto err = [&](const std::string& a) {
    try {
      apply_override(d, a);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(err("limit") == "--set 'limit': expected KEY.PATH=VALUE, e.g. dataset.parameters.limit=500");
  CHECK(err("optimizers.3.type=x") == "--set 'optimizers.3.type=x': index 3 is past the end of a list of 1");
  CHECK(err("optimizers.first=x").find("expected an index") != std::string::npos);
  CHECK(err("dataset.type.x=1") == "--set 'dataset.type.x=1': /dataset/type is not an object");
}

TEST_CASE("the registry rejects clashing names and knows every kind", "[pipeline][registry]") {
  Registry r;
  register_builtins(r);
  for (ComponentKind k : kAllKinds) CHECK_FALSE(r.list(k).empty());
  ComponentSpec dup;
  dup.name = "idx";
  dup.kind = ComponentKind::Dataset;
  CHECK_THROWS_WITH(r.add(make_registration<datasets::Dataset>(dup, nullptr)),
                    "dataset 'idx' is already registered (built-in)");
  CHECK(r.find(ComponentKind::Optimizer, "idx") == nullptr);
  // Every parameter default satisfies its own schema.
  for (ComponentKind k : kAllKinds) {
    for (const auto* c : r.list(k)) {
      json given = json::object();
      for (const auto& p : c->spec.params) {
        if (!p.required) continue;
        given[p.name] = p.type == ParamType::Path         ? json("x")
                        : p.type == ParamType::StringList ? json::array({"x"})
                                                          : json(0);
      }
      INFO(c->spec.name);
      CHECK_NOTHROW(validate_parameters(c->spec, given, "/x"));
    }
  }
}

TEST_CASE("hone list's text and markdown come from the specs", "[pipeline][registry]") {
  const Registry& r = Registry::global();
  const std::string text = list_text(r, {ComponentKind::Dataset}, true);
  CHECK(text.rfind("dataset:\n", 0) == 0);
  CHECK(text.find("split") != std::string::npos);
  CHECK(text.find("one of train, test") != std::string::npos);
  const std::string md = list_markdown(r);
  CHECK(md.find("### `fold_batch_norm`") != std::string::npos);
  CHECK(md.find("| `batch_size` | int | `1` |") != std::string::npos);
}
