// hone compare BASELINE.json CANDIDATE.json [thresholds] [--junit out.xml] [--json]
// A CI gate: exit 0 when every check passes, 1 when one fails, 2 for bad input (docs/report.md).
#include "commands.h"

#include "report/compare.h"
#include "support/file_io.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <memory>

namespace hone::cli {

CommandFn add_compare_command(CLI::App& sub) {
  struct Options {
    std::string baseline, candidate;
    std::string accuracy, latency, size, speedup, memory;
    std::string metric = "mean";
    std::string junit;
    bool json = false;
  };
  auto opt = std::make_shared<Options>();
  sub.add_option("baseline", opt->baseline, "Baseline measurements file")->required();
  sub.add_option("candidate", opt->candidate, "Candidate measurements file")->required();
  sub.add_option("--max-accuracy-drop", opt->accuracy, "Top-1 may drop at most this many points (default 0.5; 'off')");
  sub.add_option("--max-latency-increase", opt->latency, "Latency may grow at most this much (default 10%; 'off')");
  sub.add_option("--max-size-increase", opt->size, "Model file may grow at most this much (default 0%; 'off')");
  sub.add_option("--min-speedup", opt->speedup, "Baseline latency / candidate latency at least this (default off)");
  sub.add_option("--max-peak-memory", opt->memory,
                 "Peak RSS cap: absolute (512MiB, 300MB) or growth vs the baseline (10%) (default off)");
  sub.add_option("--latency-metric", opt->metric, "Latency statistic the latency checks use")
      ->check(CLI::IsMember({"mean", "p50", "p90", "p99"}));
  sub.add_option("--junit", opt->junit, "Also write the checks as a JUnit XML file");
  sub.add_flag("--json", opt->json, "Print the verdict as JSON instead of a table");
  return [opt] {
    report::CompareOptions co;
    co.latency_metric = opt->metric;
    if (!opt->accuracy.empty()) report::set_pt_limit(co.max_accuracy_drop_pt, "--max-accuracy-drop", opt->accuracy);
    if (!opt->latency.empty()) {
      report::set_percent_limit(co.max_latency_increase_pct, "--max-latency-increase", opt->latency);
    }
    if (!opt->size.empty()) report::set_percent_limit(co.max_size_increase_pct, "--max-size-increase", opt->size);
    if (!opt->speedup.empty()) report::set_speedup_limit(co.min_speedup, "--min-speedup", opt->speedup);
    if (!opt->memory.empty()) report::set_memory_limit(co, "--max-peak-memory", opt->memory);

    std::vector<report::Measurement> ms{report::load_measurement(opt->baseline),
                                        report::load_measurement(opt->candidate)};
    report::label_measurements(ms);
    const report::Verdict v = report::compare(ms[0], ms[1], co);
    for (const auto& w : v.warnings) spdlog::warn("{}", w);
    if (!opt->junit.empty()) support::write_file_atomic(opt->junit, report::junit_xml(v));
    if (opt->json) {
      fmt::print("{}\n", report::verdict_json(v).dump(2));
    } else {
      fmt::print("{}", report::verdict_table(v));
    }
    return v.passed() ? 0 : 1;
  };
}

}  // namespace hone::cli
