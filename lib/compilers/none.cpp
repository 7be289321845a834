// `none`: no compilation. The optimized model is written as an ONNX file (checked by ONNX's
// checker on export) and the runtime executes that model.
#include "compilers/compiler.h"
#include "compilers/compilers.h"
#include "ir/onnx_io.h"

namespace hone::compilers {

namespace {

class NoneCompiler final : public Compiler {
 public:
  std::string name() const override { return "none"; }
  Artifact compile(const ir::Model& model, const platforms::Platform&,
                   const std::filesystem::path& out_dir) override {
    Artifact a;
    a.model = model;
    a.file = out_dir / "model.onnx";
    ir::save_onnx(model, a.file.string());
    a.model.path = a.file.string();
    a.detail = {{"format", "onnx"}, {"file", a.file.filename().string()}};
    return a;
  }
};

}  // namespace

pipeline::Registration none_compiler_registration() {
  pipeline::ComponentSpec spec;
  spec.name = "none";
  spec.description = "No compilation: the optimized model is saved as ONNX and run as is";
  return pipeline::make_registration<Compiler>(
      std::move(spec), [](const nlohmann::json&, const pipeline::BuildContext&) {
        return std::make_unique<NoneCompiler>();
      });
}

}  // namespace hone::compilers
