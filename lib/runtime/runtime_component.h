// The runtime component of a pipeline: prepares an Executor for a compiled model on a
// platform. `reference` wraps the reference interpreter; the fast CPU runtime (a later issue)
// registers next to it.
#pragma once

#include "compilers/compiler.h"
#include "platforms/platform.h"
#include "runtime/executor.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace hone::runtime {

class RuntimeComponent {
 public:
  virtual ~RuntimeComponent() = default;
  virtual std::string name() const = 0;
  // Throws Unsupported when this runtime cannot run on `platform` or cannot run the artifact.
  virtual std::unique_ptr<Executor> prepare(const compilers::Artifact& artifact,
                                            const platforms::Platform& platform) = 0;
  virtual nlohmann::json describe() const = 0;
};

}  // namespace hone::runtime
