// `executable`: runs the program the `c` compiler built for the target's platform (natively, or
// under qemu-user) and streams the evaluation set through it: each sample's input bytes to its
// stdin, the outputs' bytes back from its stdout, so accuracy is measured on the target's own
// code, sample by sample. Latency is hone's clock around each round trip: measured natively,
// "emulated" under qemu (not the hardware's latency; the measurements say so).
#include "platforms/platform.h"
#include "runtime/runtime_component.h"
#include "runtime/runtimes.h"
#include "support/error.h"
#include "support/process.h"

#include <cstring>

namespace hone::runtime {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct PortInfo {
  std::string name;
  ir::DType dtype;
  ir::Shape shape;
  int64_t bytes;
};

ir::DType dtype_named(const std::string& name) {
  using ir::DType;
  for (DType t : {DType::Float32, DType::Float64, DType::Float16, DType::Int8, DType::UInt8, DType::Int16, DType::UInt16,
                  DType::Int32, DType::UInt32, DType::Int64, DType::UInt64, DType::Bool}) {
    if (ir::dtype_name(t) == name) return t;
  }
  throw internal_error("unknown element type '{}' in the compiler's port list", name);
}

std::vector<PortInfo> ports_of(const json& list) {
  std::vector<PortInfo> r;
  for (const auto& p : list) {
    r.push_back({p.at("name"), dtype_named(p.at("dtype").get<std::string>()), p.at("shape").get<ir::Shape>(),
                 p.at("bytes")});
  }
  return r;
}

class ExecutableExecutor final : public Executor {
 public:
  ExecutableExecutor(std::vector<std::string> argv, const fs::path& dir, std::vector<PortInfo> inputs,
                     std::vector<PortInfo> outputs)
      : inputs_(std::move(inputs)), outputs_(std::move(outputs)), child_(argv, dir, dir / "run.log") {}

  ~ExecutableExecutor() override { child_.finish(); }

  std::string name() const override { return "executable"; }

  // The program runs one sample at a time (batch 1); a batch of n goes through as n samples.
  std::vector<ir::Tensor> run(std::span<const ir::Tensor> in) override {
    if (in.size() != inputs_.size()) throw bad_input("the model takes {} inputs, got {}", inputs_.size(), in.size());
    int64_t n = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      const int64_t bytes = static_cast<int64_t>(in[i].nbytes());
      if (in[i].dtype() != inputs_[i].dtype || inputs_[i].bytes == 0 || bytes % inputs_[i].bytes != 0) {
        throw bad_input("input '{}': {} {} does not split into samples of {} {}", inputs_[i].name,
                        ir::dtype_name(in[i].dtype()), ir::shape_str(in[i].shape()), ir::dtype_name(inputs_[i].dtype),
                        ir::shape_str(inputs_[i].shape));
      }
      const int64_t k = bytes / inputs_[i].bytes;
      if (i > 0 && k != n) throw bad_input("inputs hold different numbers of samples");
      n = k;
    }
    std::vector<ir::Tensor> out;
    for (const auto& p : outputs_) {
      ir::Shape s = p.shape;
      if (n != 1) {
        if (!s.empty() && s[0] == 1) s[0] = n;
        else s.insert(s.begin(), n);
      }
      out.push_back(ir::Tensor::zeros(p.dtype, s));
    }
    for (int64_t k = 0; k < n; ++k) {
      child_.write("S", 1);  // the harness's sample marker (compilers/c/emit.h)
      for (size_t i = 0; i < in.size(); ++i) {
        child_.write(static_cast<const char*>(in[i].raw()) + k * inputs_[i].bytes, static_cast<size_t>(inputs_[i].bytes));
      }
      for (size_t o = 0; o < outputs_.size(); ++o) {
        child_.read(static_cast<char*>(out[o].raw()) + k * outputs_[o].bytes, static_cast<size_t>(outputs_[o].bytes));
      }
    }
    return out;
  }

 private:
  std::vector<PortInfo> inputs_, outputs_;
  support::ChildProcess child_;
};

class ExecutableRuntime final : public RuntimeComponent {
 public:
  std::string name() const override { return "executable"; }

  std::unique_ptr<Executor> prepare(const compilers::Artifact& artifact, const platforms::Platform& platform) override {
    if (artifact.detail.value("format", "") != "c") {
      throw unsupported("runtime 'executable' runs the program the 'c' compiler builds; this target's compiler "
                        "writes '{}'",
                        artifact.detail.value("format", "?"));
    }
    const platforms::PlatformInfo* info = platform.info();
    if (info && info->run.kind == platforms::RunKind::QemuSystem) {
      throw unsupported("runtime 'executable' does not run on qemu-system boards ('{}') yet", platform.name());
    }
    const fs::path exe = fs::absolute(artifact.file);
    const std::vector<std::string> argv = info ? info->run.argv(exe.string()) : std::vector<std::string>{exe.string()};
    run_ = argv;
    latency_kind_ = info && info->run.kind != platforms::RunKind::Native ? "emulated" : "measured";
    return std::make_unique<ExecutableExecutor>(argv, exe.parent_path(), ports_of(artifact.detail.at("inputs")),
                                                ports_of(artifact.detail.at("outputs")));
  }

  json describe() const override {
    return {{"name", "executable"}, {"command", run_}, {"latency_kind", latency_kind_},
            {"latency_note", latency_kind_ == "emulated"
                                 ? "hone's clock around each sample's round trip through the emulator: not the "
                                   "target hardware's latency"
                                 : "hone's clock around each sample's round trip through the program's pipes"}};
  }

 private:
  std::vector<std::string> run_;
  std::string latency_kind_ = "measured";
};

}  // namespace

pipeline::Registration executable_runtime_registration() {
  pipeline::ComponentSpec spec;
  spec.name = "executable";
  spec.description =
      "Runs the program the c compiler built, on the target's platform (natively or under qemu-user), one sample "
      "at a time through its stdin and stdout";
  return pipeline::make_registration<RuntimeComponent>(std::move(spec), [](const json&, const pipeline::BuildContext&) {
    return std::make_unique<ExecutableRuntime>();
  });
}

}  // namespace hone::runtime
