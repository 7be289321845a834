// hone run PIPELINE.json [--target NAME] [--output-dir DIR] [--set k=v]... [--profile] [--optimize-only] [-v|-q]
// Runs a pipeline and writes one measurements JSON per target (docs/pipeline.md).
#include "commands.h"

#include "pipeline/runner.h"
#include "report/report.h"
#include "support/progress.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <memory>

namespace hone::cli {

CommandFn add_run_command(CLI::App& sub) {
  struct Options {
    std::string pipeline;
    std::string target;
    std::string output_dir;
    std::vector<std::string> sets;
    bool profile = false;
    bool optimize_only = false;
    bool verbose = false;
    bool quiet = false;
  };
  auto opt = std::make_shared<Options>();
  sub.add_option("pipeline", opt->pipeline, "Pipeline JSON file")->required();
  sub.add_option("--target", opt->target, "Run only this target of the pipeline");
  sub.add_option("--output-dir", opt->output_dir, "Where measurements go (overrides measurements.output_dir)");
  sub.add_option("--set", opt->sets, "Override a pipeline value: KEY.PATH=VALUE, e.g. dataset.parameters.limit=500")
      ->allow_extra_args(false)->take_all();
  sub.add_flag("--profile", opt->profile,
               "Time every kernel (runtimes with a 'profile' parameter, such as cpu): the measurements gain a "
               "per-layer profile and the report a per-layer time chart");
  sub.add_flag("--optimize-only", opt->optimize_only,
               "Only optimize: write the optimized model to OUTPUT/optimized/ (the cache per-target runs read) "
               "and evaluate nothing");
  auto* v = sub.add_flag("-v,--verbose", opt->verbose, "Debug logging");
  sub.add_flag("-q,--quiet", opt->quiet, "Print only the final summary table")->excludes(v);
  return [opt] {
    if (opt->quiet) spdlog::set_level(spdlog::level::warn);
    if (opt->verbose) spdlog::set_level(spdlog::level::debug);
    pipeline::PipelineConfig cfg = pipeline::load_pipeline(opt->pipeline, opt->sets);
    if (opt->profile) {
      for (auto& t : cfg.targets) {
        if (t.runtime.registration && t.runtime.registration->spec.param("profile")) t.runtime.params["profile"] = true;
      }
    }
    pipeline::RunOptions ro;
    ro.only_target = opt->target;
    ro.output_dir = opt->output_dir;
    ro.optimize_only = opt->optimize_only;
    ro.progress = support::Progress::auto_mode(opt->quiet);
    const auto results = pipeline::run_pipeline(cfg, ro);
    if (opt->optimize_only) {
      fmt::print("optimized model cached in {}\n", (pipeline::output_dir_of(cfg, ro) / "optimized").string());
      return 0;
    }
    fmt::print("{}", pipeline::summary_table(results));
    std::vector<const pipeline::TargetResult*> ran;
    std::vector<std::string> failures;
    for (const auto& r : results) {
      if (r.failure.empty()) ran.push_back(&r);
      else failures.push_back(fmt::format("Target '{}' failed: {}", r.target, r.failure));
    }
    if (!opt->quiet) {
      for (const auto* r : ran) fmt::print("measurements: {}\n", r->measurements_file.string());
    }
    // Several targets: the cross-target report beside their measurements, first target that ran
    // as the baseline (docs/report.md), failed ones named. File names are relative, so the
    // folder can move.
    if (results.size() > 1 && !ran.empty()) {
      std::vector<report::Measurement> ms;
      for (const auto* r : ran) {
        ms.push_back(report::measurement_from_json(r->measurements, r->measurements_file.filename()));
      }
      report::label_measurements(ms);
      const auto doc = report::build_report(ms, 0, "", failures);
      const auto dir = ran.front()->measurements_file.parent_path();
      for (const char* name : {"report.md", "report.html"}) {
        report::write_report(doc, dir / name);
        if (!opt->quiet) fmt::print("report: {}\n", (dir / name).string());
      }
    }
    // A failed check fails the run, after every other target ran and was reported.
    return failures.empty() ? 0 : 1;
  };
}

}  // namespace hone::cli
