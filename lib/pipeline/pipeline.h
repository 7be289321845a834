// A pipeline file, loaded and checked: every component block resolved against the registry,
// its parameters validated with defaults filled and relative paths resolved against the
// pipeline file's folder. Nothing is built or run here (see runner.h). Format: docs/pipeline.md.
#pragma once

#include "pipeline/registry.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace hone::pipeline {

// One `{"type": ..., "parameters": {...}}` block after validation.
struct ComponentConfig {
  const Registration* registration = nullptr;
  std::string type;
  nlohmann::json params;  // validated, defaults filled, paths resolved
  std::string json_path;  // "/optimizers/1"
};

struct TargetConfig {
  std::string name;
  ComponentConfig compiler, runtime, platform;
  std::string json_path;  // "/targets/0", or "" for the implicit target
};

struct MeasurementsConfig {
  int64_t warmup = 10;
  int64_t repeat = 1;
  std::string output_dir;  // resolved; "" = hone-out/<name> in the working directory
  int64_t limit = 0;       // evaluate at most this many samples; 0 = all
  int64_t seed = 0;
  int64_t batch_size = 1;
};

struct PipelineConfig {
  std::filesystem::path file;  // as given on the command line
  std::string sha256;          // of the file's bytes
  std::string name;
  std::string description;
  std::vector<std::string> plugins;  // the "plugins" libraries, resolved (load_pipeline loads them)
  nlohmann::json resolved;     // the whole document after overrides, defaults and paths
  std::vector<std::string> overrides;  // the --set assignments applied
  ComponentConfig model_wrapper, dataset;
  std::vector<ComponentConfig> optimizers;
  // Run the `cleanup` pass before the first optimizer and after each one (top-level
  // "cleanup": false turns that off; an explicit cleanup in "optimizers" still runs).
  bool cleanup = true;
  std::vector<TargetConfig> targets;
  MeasurementsConfig measurements;
};

// Reads, parses (malformed JSON reports line and column), applies `--set` overrides, loads the
// "plugins" libraries into `registry`, and validates. Every error is BadInput naming the file and
// the JSON path.
PipelineConfig load_pipeline(const std::filesystem::path& file,
                             const std::vector<std::string>& overrides = {},
                             Registry& registry = Registry::global());

// Validates an already-parsed document; `file` names it in errors and anchors relative paths.
// Its "plugins" must already be loaded (load_pipeline does that).
PipelineConfig parse_pipeline(const nlohmann::json& doc, const std::filesystem::path& file,
                              const Registry& registry = Registry::global());

// Applies one `--set` assignment, "dataset.parameters.limit=500" or "optimizers.0.type=x": dots
// separate object keys and array indexes; missing objects are created; the value is parsed as
// JSON when it is valid JSON (500, true, [1,2], "s") and taken as a string otherwise.
void apply_override(nlohmann::json& doc, const std::string& assignment);

// The spec of the "measurements" block (validated like a component's parameters).
const ComponentSpec& measurements_spec();

}  // namespace hone::pipeline
