// `reference`: the reference interpreter as a pipeline runtime. Slow and simple on purpose: it
// is the golden model every other runtime is compared against.
#include "runtime/reference/interpreter.h"
#include "runtime/runtime_component.h"
#include "runtime/runtimes.h"
#include "support/error.h"

namespace hone::runtime {

namespace {

class ReferenceRuntime final : public RuntimeComponent {
 public:
  std::string name() const override { return "reference"; }
  std::unique_ptr<Executor> prepare(const compilers::Artifact& artifact,
                                    const platforms::Platform& platform) override {
    if (!platform.is_host()) {
      throw unsupported("runtime 'reference' runs only on the host platform, not on '{}'",
                        platform.name());
    }
    return std::make_unique<ReferenceInterpreter>(artifact.model.graph);
  }
  nlohmann::json describe() const override {
    return {{"name", "reference"}, {"kernels", "reference (golden model)"}, {"threads", 1}};
  }
};

}  // namespace

pipeline::Registration reference_runtime_registration() {
  pipeline::ComponentSpec spec;
  spec.name = "reference";
  spec.description = "The reference interpreter: single-threaded golden-model kernels";
  return pipeline::make_registration<RuntimeComponent>(
      std::move(spec), [](const nlohmann::json&, const pipeline::BuildContext&) {
        return std::make_unique<ReferenceRuntime>();
      });
}

}  // namespace hone::runtime
