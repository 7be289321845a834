// Compiler backends: turn the optimized model into what a target's runtime loads. `none`
// passes the model through as an ONNX file; the C backend (a later issue) emits standalone C.
#pragma once

#include "ir/graph.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace hone::platforms { class Platform; }

namespace hone::compilers {

struct Artifact {
  ir::Model model;                // what the runtime executes
  std::filesystem::path file;     // the deployable file (its size is the "model file bytes")
  nlohmann::json detail;          // compiler-specific facts for the measurements
};

class Compiler {
 public:
  virtual ~Compiler() = default;
  virtual std::string name() const = 0;
  // Writes the artifact into `out_dir` (created by the caller, one per target).
  virtual Artifact compile(const ir::Model& model, const platforms::Platform& platform,
                           const std::filesystem::path& out_dir) = 0;
};

}  // namespace hone::compilers
