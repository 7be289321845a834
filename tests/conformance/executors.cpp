#include "executors.h"

#include "compilers/compiler.h"
#include "pipeline/registry.h"
#include "platforms/platform.h"
#include "runtime/cpu/cpu_executor.h"
#include "runtime/reference/interpreter.h"
#include "runtime/runtime_component.h"

#include <unistd.h>

#include <filesystem>

namespace hone::conformance {

namespace {
struct NamedExecutor {
  const char* name;
  ExecutorFactory factory;
};

// The C backend as an executor: the model compiled by the `c` compiler for this machine (one
// folder per test under the temp directory, removed at exit) and run by the `executable`
// runtime. An op outside the emitter's list is Unsupported, so the test is skipped.
std::unique_ptr<runtime::Executor> c_executor(const ir::Model& m) {
  namespace fs = std::filesystem;
  using pipeline::ComponentKind;
  struct Scratch {
    fs::path root = fs::temp_directory_path() / ("hone-conformance-c-" + std::to_string(::getpid()));
    int next = 0;
    ~Scratch() {
      std::error_code ec;
      fs::remove_all(root, ec);
    }
  };
  static Scratch scratch;
  const fs::path dir = scratch.root / std::to_string(scratch.next++);
  fs::create_directories(dir);
  const auto& reg = pipeline::Registry::global();
  const nlohmann::json none = nlohmann::json::object();
  const auto& c = reg.get(ComponentKind::Compiler, "c");
  auto compiler = pipeline::create<compilers::Compiler>(c, pipeline::validate_parameters(c.spec, none, "c"), {});
  auto platform = pipeline::create<platforms::Platform>(reg.get(ComponentKind::Platform, "host"), none, {});
  const auto& exe = reg.get(ComponentKind::Runtime, "executable");
  auto runtime = pipeline::create<runtime::RuntimeComponent>(exe, pipeline::validate_parameters(exe.spec, none, "executable"), {});
  const compilers::Artifact artifact = compiler->compile(m, *platform, dir);
  return runtime->prepare(artifact, *platform);
}

const std::vector<NamedExecutor>& executors() {
  static const std::vector<NamedExecutor> list = {
      {"reference",
       [](const ir::Model& m) { return std::make_unique<runtime::ReferenceInterpreter>(m.graph); }},
      {"cpu", [](const ir::Model& m) { return std::make_unique<runtime::cpu::CpuExecutor>(m.graph, runtime::cpu::Options{}); }},
      {"c", c_executor},
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
