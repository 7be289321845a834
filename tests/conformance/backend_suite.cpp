#include "backend_suite.h"

#include "ir/onnx_io.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace hone::conformance {

namespace fs = std::filesystem;

size_t SuiteResult::count(TestOutcome::Status s) const {
  return static_cast<size_t>(std::count_if(outcomes.begin(), outcomes.end(),
                                           [&](const TestOutcome& o) { return o.status == s; }));
}

std::string compare_tensors(const ir::Tensor& actual, const ir::Tensor& expected, double rtol,
                            double atol) {
  if (actual.dtype() != expected.dtype()) {
    return fmt::format("dtype {} != expected {}", ir::dtype_name(actual.dtype()),
                       ir::dtype_name(expected.dtype()));
  }
  if (actual.shape() != expected.shape()) {
    return fmt::format("shape {} != expected {}", ir::shape_str(actual.shape()),
                       ir::shape_str(expected.shape()));
  }
  const bool is_float = ir::dtype_is_float(actual.dtype());
  for (int64_t i = 0; i < actual.numel(); ++i) {
    if (is_float) {
      const double a = actual.get_as_double(i);
      const double e = expected.get_as_double(i);
      if (std::isnan(a) && std::isnan(e)) continue;
      if (std::isinf(a) || std::isinf(e)) {
        if (a == e) continue;
      } else if (std::fabs(a - e) <= atol + rtol * std::fabs(e)) {
        continue;
      }
      return fmt::format("element {}: {} != expected {}", i, a, e);
    }
    if (actual.get_as_int64(i) != expected.get_as_int64(i)) {
      return fmt::format("element {}: {} != expected {}", i, actual.get_as_int64(i),
                         expected.get_as_int64(i));
    }
  }
  return "";
}

namespace {

std::vector<ir::Tensor> load_tensors(const fs::path& dir, const std::string& prefix) {
  std::vector<ir::Tensor> out;
  for (int i = 0;; ++i) {
    const fs::path p = dir / fmt::format("{}_{}.pb", prefix, i);
    if (!fs::exists(p)) break;
    out.push_back(ir::load_tensor_pb(p.string()));
  }
  return out;
}

TestOutcome run_one(const fs::path& test_dir, const std::string& name, const SuiteOptions& opt,
                    const ExecutorFactory& make_executor) {
  using S = TestOutcome::Status;
  std::unique_ptr<runtime::Executor> exec;
  try {
    const ir::Model model = ir::load_onnx((test_dir / "model.onnx").string());
    exec = make_executor(model);
  } catch (const Error& e) {
    return {name, e.kind() == ErrorKind::Unsupported ? S::Skipped : S::Failed, e.what()};
  } catch (const std::exception& e) {
    return {name, S::Failed, std::string("load: ") + e.what()};
  }
  std::vector<fs::path> sets;
  for (const auto& entry : fs::directory_iterator(test_dir)) {
    if (entry.is_directory() && entry.path().filename().string().rfind("test_data_set_", 0) == 0) {
      sets.push_back(entry.path());
    }
  }
  std::sort(sets.begin(), sets.end());
  if (sets.empty()) return {name, S::Failed, "no test_data_set_* folders"};
  try {
    for (const auto& set : sets) {
      const auto inputs = load_tensors(set, "input");
      const auto expected = load_tensors(set, "output");
      const auto actual = exec->run(inputs);
      if (actual.size() != expected.size()) {
        return {name, S::Failed,
                fmt::format("{} outputs, expected {}", actual.size(), expected.size())};
      }
      for (size_t i = 0; i < actual.size(); ++i) {
        const std::string diff = compare_tensors(actual[i], expected[i], opt.rtol, opt.atol);
        if (!diff.empty()) {
          return {name, S::Failed,
                  fmt::format("{} output {}: {}", set.filename().string(), i, diff)};
        }
      }
    }
  } catch (const std::exception& e) {
    return {name, S::Failed, std::string("run: ") + e.what()};
  }
  return {name, S::Passed, ""};
}

}  // namespace

SuiteResult run_backend_suite(const SuiteOptions& opt, const ExecutorFactory& make_executor) {
  SuiteResult result;
  const std::regex filter(opt.filter);
  for (const auto& group : opt.groups) {
    const fs::path dir = fs::path(opt.root) / group;
    if (!fs::is_directory(dir)) continue;
    std::vector<fs::path> tests;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.is_directory()) tests.push_back(entry.path());
    }
    std::sort(tests.begin(), tests.end());
    for (const auto& t : tests) {
      const std::string name = group + "/" + t.filename().string();
      if (!std::regex_search(name, filter)) continue;
      result.outcomes.push_back(run_one(t, name, opt, make_executor));
    }
  }
  return result;
}

}  // namespace hone::conformance
