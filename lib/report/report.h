// `hone report`: measurement files from any pipelines and targets, side by side. A summary
// table (one row per measurement, deltas against a baseline), charts (accuracy vs latency,
// latency distribution, size, confusion matrices, per-layer time / SQNR / sparsity) and one
// section per measurement (pipeline, pass reports, host, per-class metrics).
#pragma once

#include "report/document.h"
#include "report/measurement.h"

#include <filesystem>
#include <string>
#include <vector>

namespace hone::report {

// Tukey box-plot statistics of a sample: quartiles by linear interpolation (numpy's default),
// whiskers at the most extreme values within 1.5 IQR of the box, every value beyond them an
// outlier (ascending). All zero for an empty sample.
struct BoxStats {
  int64_t count = 0;
  double whisker_low = 0, q1 = 0, median = 0, q3 = 0, whisker_high = 0, mean = 0;
  std::vector<double> outliers;
};
BoxStats box_stats(std::vector<double> values);

// The summary table: one row per measurement, deltas against ms[baseline].
Table summary_table(const std::vector<Measurement>& ms, size_t baseline);

// Facts of the programs built for targets (the c compiler) and of what the targets measured
// themselves: latency kind, flash and RAM against the board's budget, arena, cycles per
// inference and the estimated latency at the board's clock, the reference check. Empty (no
// rows) when no measurement has any of them.
Table targets_table(const std::vector<Measurement>& ms);

// What a reader must know before comparing the rows: different class sets, hosts, datasets,
// emulated latency. One sentence each, in input order.
std::vector<std::string> comparison_notes(const std::vector<Measurement>& ms, size_t baseline);

// `title`, or one made from the pipeline names: "hone report: fashion-mnist" for one pipeline,
// "hone report: 4 measurements" otherwise.
std::string report_title(const std::vector<Measurement>& ms, const std::string& title = "");

// The whole report. `ms` must be labelled (label_measurements); `title` defaults to one made
// from the pipeline names; `failures` (one sentence per target of the run that failed a check)
// follow the summary table under "Failed targets".
Document build_report(const std::vector<Measurement>& ms, size_t baseline, const std::string& title = "",
                      const std::vector<std::string>& failures = {});

// Writes `doc` to `out`: ".md" writes Markdown and its charts as "<stem>-<chart>.svg" beside
// it, ".html"/".htm" one self-contained page. Every file is written atomically; BadInput for
// another extension. Returns the files written.
std::vector<std::filesystem::path> write_report(const Document& doc, const std::filesystem::path& out);

}  // namespace hone::report
