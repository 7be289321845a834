#include "executors.h"

#include "runtime/cpu/cpu_executor.h"
#include "runtime/reference/interpreter.h"

namespace hone::conformance {

namespace {
struct NamedExecutor {
  const char* name;
  ExecutorFactory factory;
};

const std::vector<NamedExecutor>& executors() {
  static const std::vector<NamedExecutor> list = {
      {"reference",
       [](const ir::Model& m) { return std::make_unique<runtime::ReferenceInterpreter>(m.graph); }},
      {"cpu", [](const ir::Model& m) { return std::make_unique<runtime::cpu::CpuExecutor>(m.graph, runtime::cpu::Options{}); }},
  };
  return list;
}
}  // namespace

std::vector<std::string> executor_names() {
  std::vector<std::string> names;
  for (const auto& e : executors()) names.emplace_back(e.name);
  return names;
}

ExecutorFactory executor_factory(const std::string& name) {
  for (const auto& e : executors()) {
    if (name == e.name) return e.factory;
  }
  throw bad_input("unknown executor '{}'", name);
}

}  // namespace hone::conformance
