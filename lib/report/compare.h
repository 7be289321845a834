// `hone compare`: a candidate measurement against a baseline, as a CI gate. Each threshold is
// one check (PASS / FAIL / SKIP); the verdict prints as a table, JSON or a JUnit XML file.
//
// Defaults (docs/report.md): accuracy drop <= 0.5 pt, latency increase <= 10 %, model size
// increase <= 0 %; speedup and peak memory are checked only when asked for. A default check
// whose data is missing in either file is skipped; a threshold the user set explicitly fails
// instead, so a gate never passes by not looking.
#pragma once

#include "report/measurement.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace hone::report {

struct CompareOptions {
  struct Limit {
    std::optional<double> value;  // nullopt: check off
    bool explicit_ = false;       // set on the command line (missing data then fails the check)
  };
  Limit max_accuracy_drop_pt{0.5};
  Limit max_latency_increase_pct{10.0};
  Limit max_size_increase_pct{0.0};
  Limit min_speedup{};
  Limit max_peak_memory_pct{};    // relative to the baseline's peak RSS
  Limit max_peak_memory_bytes{};  // absolute cap on the candidate's peak RSS
  std::string latency_metric = "mean";  // mean | p50 | p90 | p99
};

// Threshold parsers for the command line: BadInput naming the option and value.
//   percent:  "10", "10%", "-5%"   speedup: "1.5", "1.5x"   pt: "0.5", "0.5pt"
//   memory:   "10%" (relative) or "512MiB" / "300MB" / "64k" / "1000000" (absolute bytes)
//   "off" disables any of them.
void set_percent_limit(CompareOptions::Limit& limit, const std::string& option, const std::string& text);
void set_speedup_limit(CompareOptions::Limit& limit, const std::string& option, const std::string& text);
void set_pt_limit(CompareOptions::Limit& limit, const std::string& option, const std::string& text);
void set_memory_limit(CompareOptions& opts, const std::string& option, const std::string& text);

struct Check {
  enum class Status { Pass, Fail, Skip };
  std::string name;       // "accuracy drop", "latency increase (mean)", ...
  std::string baseline;   // formatted values
  std::string candidate;
  std::string change;
  std::string threshold;  // "<= 0.50 pt", ">= 1.50x"
  Status status = Status::Skip;
  std::string message;    // why it failed or was skipped; "" when it passed
  std::optional<double> measured;  // the checked quantity (pt, %, x, bytes)
  std::optional<double> limit;
};

struct Verdict {
  std::string baseline_file, candidate_file;
  std::string baseline_label, candidate_label;
  std::vector<Check> checks;
  std::vector<std::string> warnings;
  bool passed() const;
  int failures() const;
};

Verdict compare(const Measurement& baseline, const Measurement& candidate, const CompareOptions& opts);

std::string verdict_table(const Verdict& v);
nlohmann::json verdict_json(const Verdict& v);
// One <testsuite> with one <testcase> per check (failure / skipped children), the warnings as
// properties and the table as system-out.
std::string junit_xml(const Verdict& v);

}  // namespace hone::report
