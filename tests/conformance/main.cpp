// hone_conformance: ONNX backend tests against one executor.
//   hone_conformance [--executor reference] [--filter REGEX] [--min-passed N] [-v]
// Prints failures, then the skipped tests, and ends with "N passed, M failed, K skipped".
// Exit 0 when nothing failed and at least --min-passed tests passed.
#include "backend_suite.h"
#include "executors.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

int main(int argc, char** argv) {
  using hone::conformance::TestOutcome;
  CLI::App app{"Run ONNX's backend test data against a hone executor"};
  hone::conformance::SuiteOptions opt;
  std::string executor = "reference";
  size_t min_passed = 0;
  bool list_failed_only = false;
  app.add_option("--executor", executor, "executor to test")
      ->check(CLI::IsMember(hone::conformance::executor_names()));
  app.add_option("--root", opt.root, "libonnx-testdata data folder");
  app.add_option("--filter", opt.filter, "regex over group/test_name, e.g. 'node/test_conv'");
  app.add_option("--min-passed", min_passed, "fail unless at least this many tests pass");
  app.add_flag("-v,--verbose", opt.verbose, "print every test's outcome");
  app.add_flag("--failures-only", list_failed_only, "do not list skipped tests");
  CLI11_PARSE(app, argc, argv);

  const auto result = hone::conformance::run_backend_suite(opt, hone::conformance::executor_factory(executor));
  for (const auto& o : result.outcomes) {
    if (o.status == TestOutcome::Status::Failed) fmt::print("FAIL {}: {}\n", o.name, o.reason);
    else if (opt.verbose && o.status == TestOutcome::Status::Passed) fmt::print("pass {}\n", o.name);
  }
  const size_t passed = result.count(TestOutcome::Status::Passed);
  const size_t failed = result.count(TestOutcome::Status::Failed);
  const size_t skipped = result.count(TestOutcome::Status::Skipped);
  if (!list_failed_only && skipped > 0) {
    fmt::print("skipped ({}):\n", skipped);
    for (const auto& o : result.outcomes) {
      if (o.status == TestOutcome::Status::Skipped) fmt::print("  {}: {}\n", o.name, o.reason);
    }
  }
  fmt::print("executor {}: {} passed, {} failed, {} skipped\n", executor, passed, failed, skipped);
  if (passed < min_passed) {
    fmt::print("fewer than the required {} tests passed\n", min_passed);
    return 1;
  }
  return failed == 0 ? 0 : 1;
}
