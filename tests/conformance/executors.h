// The executors the conformance runner can test, by name. Later backends add a line here.
#pragma once

#include "backend_suite.h"

#include <string>
#include <vector>

namespace hone::conformance {
std::vector<std::string> executor_names();
ExecutorFactory executor_factory(const std::string& name);
}  // namespace hone::conformance
