// hone validate PIPELINE.json [--set k=v]...: checks a pipeline without running it -- schema,
// files, model input vs dataset samples, labels vs classes, every component buildable.
#include "commands.h"

#include "pipeline/runner.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <memory>

namespace hone::cli {

CommandFn add_validate_command(CLI::App& sub) {
  struct Options {
    std::string pipeline;
    std::vector<std::string> sets;
    bool json = false;
  };
  auto opt = std::make_shared<Options>();
  sub.add_option("pipeline", opt->pipeline, "Pipeline JSON file")->required();
  sub.add_option("--set", opt->sets, "Override a pipeline value: KEY.PATH=VALUE")->allow_extra_args(false)->take_all();
  sub.add_flag("--json", opt->json, "Print the resolved pipeline (every default filled in) as JSON");
  return [opt] {
    spdlog::set_level(spdlog::level::warn);
    const pipeline::PipelineConfig cfg = pipeline::load_pipeline(opt->pipeline, opt->sets);
    const nlohmann::json summary = pipeline::check_pipeline(cfg);
    if (opt->json) {
      fmt::print("{}\n", cfg.resolved.dump(2));
      return 0;
    }
    std::string targets;
    for (const auto& t : summary["targets"]) {
      targets += fmt::format("{}{} ({} / {} / {})", targets.empty() ? "" : ", ", t["name"].get<std::string>(),
                             t["compiler"].get<std::string>(), t["runtime"].get<std::string>(),
                             t["platform"].get<std::string>());
    }
    std::string opts;
    for (const auto& o : summary["optimizers"]) opts += (opts.empty() ? "" : " -> ") + o.get<std::string>();
    fmt::print("{}: ok\n  model       {}\n  dataset     {} ({} samples evaluated)\n  optimizers  {}\n  targets     {}\n",
               opt->pipeline, summary["model"]["model"].get<std::string>(), summary["dataset"].get<std::string>(),
               summary["evaluated_samples"].get<int64_t>(), opts.empty() ? "(none)" : opts, targets);
    return 0;
  };
}

}  // namespace hone::cli
