// hone report MEASUREMENTS.json... [-o report.md|report.html]... [--baseline NAME] [--names a,b,c]
// Compares measurement files side by side (docs/report.md). Without -o it prints the summary
// table (Markdown) to stdout.
#include "commands.h"

#include "report/report.h"

#include <fmt/format.h>

#include <filesystem>
#include <memory>

namespace hone::cli {

CommandFn add_report_command(CLI::App& sub) {
  struct Options {
    std::vector<std::string> files;
    std::vector<std::string> outputs;
    std::string baseline;
    std::vector<std::string> names;
    std::string title;
  };
  auto opt = std::make_shared<Options>();
  sub.add_option("measurements", opt->files,
                 "Measurement files written by hone run; a folder stands for its *.measurements.json files")
      ->required();
  sub.add_option("-o,--output", opt->outputs,
                 "Report file: .md (Markdown, charts as SVG files beside it) or .html (one self-contained page); "
                 "repeat for both")
      ->take_all();
  sub.add_option("--baseline", opt->baseline,
                 "The measurement the others are compared with (label, pipeline name, target or file; default: first)");
  sub.add_option("--names", opt->names, "Display names, one per file, comma-separated")->delimiter(',');
  sub.add_option("--title", opt->title, "Report title (default: from the pipeline names)");
  return [opt] {
    // A folder of one pipeline's per-target measurements (CI jobs, `hone run --target`) reads in the
    // pipeline's target order, and its targets without measurements are reported as failed: the
    // same report one `hone run` of every target writes.
    std::vector<report::Measurement> ms;
    std::vector<std::string> failures;
    for (const auto& f : opt->files) {
      std::vector<report::Measurement> group;
      for (const auto& path : report::measurement_files(f)) group.push_back(report::load_measurement(path));
      if (std::filesystem::is_directory(f)) {
        report::order_by_pipeline_targets(group);
        for (auto& missing : report::missing_targets(group)) failures.push_back(std::move(missing));
      }
      for (auto& m : group) ms.push_back(std::move(m));
    }
    report::label_measurements(ms, opt->names);
    const size_t baseline = report::find_measurement(ms, opt->baseline);
    if (opt->outputs.empty()) {  // the table only: no charts to render
      report::Document summary{report::report_title(ms, opt->title),
                               {report::Block::table_of(report::summary_table(ms, baseline))}};
      if (auto notes = report::comparison_notes(ms, baseline); !notes.empty()) {
        summary.blocks.push_back(report::Block::bullets(std::move(notes)));
      }
      if (!failures.empty()) summary.blocks.push_back(report::Block::bullets(failures));
      fmt::print("{}\n", report::to_markdown(summary, "").markdown);
      return 0;
    }
    const report::Document doc = report::build_report(ms, baseline, opt->title, failures);
    for (const auto& out : opt->outputs) {
      const auto written = report::write_report(doc, out);
      fmt::print("report: {} ({} file{})\n", out, written.size(), written.size() == 1 ? "" : "s");
    }
    return 0;
  };
}

}  // namespace hone::cli
