// Platforms: where a target runs. `host` is this machine, natively; platforms/*.json files
// (a later issue) describe cross toolchains, emulators, RAM and flash budgets.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace hone::platforms {

class Platform {
 public:
  virtual ~Platform() = default;
  virtual std::string name() const = 0;
  virtual std::string display_name() const = 0;
  virtual std::string architecture() const = 0;  // "x86_64", "aarch64", ...
  // True when runtimes execute in hone's own process on this machine.
  virtual bool is_host() const = 0;
  // Everything about the platform that belongs in the measurements.
  virtual nlohmann::json describe() const = 0;
};

}  // namespace hone::platforms
