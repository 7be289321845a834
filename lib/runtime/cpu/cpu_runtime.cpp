// `cpu`: the CPU runtime as a pipeline runtime (docs/components.md lists its parameters).
#include "runtime/cpu/cpu_executor.h"
#include "runtime/runtime_component.h"
#include "runtime/runtimes.h"
#include "support/error.h"

#include <thread>

namespace hone::runtime {

namespace {

class CpuRuntime final : public RuntimeComponent {
 public:
  explicit CpuRuntime(cpu::Options o) : options_(o) {}
  std::string name() const override { return "cpu"; }
  std::unique_ptr<Executor> prepare(const compilers::Artifact& artifact, const platforms::Platform& platform) override {
    if (!platform.is_host()) {
      throw unsupported("runtime 'cpu' runs only on the host platform, not on '{}'", platform.name());
    }
    return std::make_unique<cpu::CpuExecutor>(artifact.model.graph, options_);
  }
  nlohmann::json describe() const override {
    const int threads = options_.threads > 0 ? options_.threads : static_cast<int>(std::thread::hardware_concurrency());
    return {{"name", "cpu"}, {"kernels", "XNNPACK float, oneDNN int8, hone sparse, reference fallback"}, {"threads", threads},
            {"profile", options_.profile}};
  }

 private:
  cpu::Options options_;
};

}  // namespace

pipeline::Registration cpu_runtime_registration() {
  using pipeline::ParamType;
  pipeline::ComponentSpec spec;
  spec.name = "cpu";
  spec.description = "The CPU runtime: planned arena, fast kernels, reference kernels where no fast one applies";
  spec.params = {
      {"threads", ParamType::Int, 0, false, 0.0, 1024.0, {}, "worker threads; 0 = every core"},
      {"profile", ParamType::Bool, false, false, std::nullopt, std::nullopt, {},
       "time every kernel; the measurements gain a per-layer profile"},
  };
  return pipeline::make_registration<RuntimeComponent>(
      std::move(spec), [](const nlohmann::json& p, const pipeline::BuildContext&) {
        return std::make_unique<CpuRuntime>(
            cpu::Options{.threads = p.at("threads").get<int>(), .profile = p.at("profile").get<bool>()});
      });
}

}  // namespace hone::runtime
