// Running a pipeline: build the components, apply the optimizers once, then for every target
// compile, prepare the runtime, evaluate the dataset and write one measurements JSON
// (schema: docs/measurements.md). `check_pipeline` builds everything but runs nothing.
#pragma once

#include "passes/pass.h"
#include "pipeline/pipeline.h"
#include "support/progress.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace hone::pipeline {

inline constexpr int kMeasurementsSchemaVersion = 1;

struct RunOptions {
  std::string only_target;                // --target: run just this one ("" = all)
  std::filesystem::path output_dir;       // --output-dir: overrides measurements.output_dir
  // --optimize-only: apply the optimizers, write the optimized model to the output folder's cache
  // (OUTPUT/optimized/), evaluate nothing. A CI pipeline's first job, whose cache every per-target
  // job then reads (docs/ci.md).
  bool optimize_only = false;
  support::Progress::Mode progress = support::Progress::Mode::Off;
};

struct TargetResult {
  std::string target;
  std::filesystem::path measurements_file;  // empty when the target failed
  nlohmann::json measurements;              // null when the target failed
  // Why the target failed a check (a model that does not fit the board, outputs that differ
  // from the reference where bit-exact ones were required); empty when it ran.
  std::string failure;
};

// Throws BadInput for anything wrong with the pipeline or its inputs, before any output file
// is written; measurements files are written atomically, one per target, as each finishes. A
// target that fails a check (CheckFailed) gets a result with `failure` set and no measurements,
// and the other targets still run.
std::vector<TargetResult> run_pipeline(const PipelineConfig& config, const RunOptions& options);

// `hone validate`: loads the model and dataset, checks they fit each other, and builds every
// optimizer, compiler, runtime and platform, without running anything. Returns a summary.
nlohmann::json check_pipeline(const PipelineConfig& config);

// The output folder a run uses: --output-dir, else measurements.output_dir, else
// hone-out/<pipeline name>.
std::filesystem::path output_dir_of(const PipelineConfig& config, const RunOptions& options);

// Runs one optimizer pass on `model` and returns its report: type, parameters, seconds, node and
// parameter counts before and after, and the pass's own detail. Shape inference runs after it.
nlohmann::json run_pass(passes::Pass& pass, const nlohmann::json& params, ir::Model& model,
                        const passes::PassContext& ctx);

// A pass ready to run and the validated parameters it was built with.
struct PassStep {
  passes::Pass* pass = nullptr;
  nlohmann::json params;
};

// Runs `steps` in order (each through run_pass). With `cleanup`, the cleanup pass also runs
// before the first step (its report is the first entry, marked "implicit") and after every
// step (its report goes into that step's report as "cleanup"). `guard(i, work)` runs step i's
// work and may relabel its errors (pipeline JSON path, --pass option).
nlohmann::json run_passes(const std::vector<PassStep>& steps, ir::Model& model, const passes::PassContext& ctx,
                          bool cleanup,
                          const std::function<nlohmann::json(size_t, const std::function<nlohmann::json()>&)>& guard);

// One row per result: target, top-1, top-5, latency mean/p50/p99, throughput, sizes; a failed
// target's row says why.
std::string summary_table(const std::vector<TargetResult>& results);

}  // namespace hone::pipeline
