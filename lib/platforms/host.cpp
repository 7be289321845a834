// `host`: this machine, natively. Runtimes run inside hone's own process.
#include "platforms/platform.h"
#include "platforms/platforms.h"

#include <sys/utsname.h>

namespace hone::platforms {

namespace {

std::string machine() {
  utsname u{};
  if (::uname(&u) != 0) return "unknown";
  return u.machine;
}

class HostPlatform final : public Platform {
 public:
  std::string name() const override { return "host"; }
  std::string display_name() const override { return "This machine (" + machine() + ")"; }
  std::string architecture() const override { return machine(); }
  bool is_host() const override { return true; }
  nlohmann::json describe() const override {
    return {{"name", name()}, {"display_name", display_name()}, {"architecture", architecture()},
            {"run", "native"}};
  }
};

}  // namespace

pipeline::Registration host_platform_registration() {
  pipeline::ComponentSpec spec;
  spec.name = "host";
  spec.description = "This machine, natively: the runtime executes inside hone's process";
  return pipeline::make_registration<Platform>(
      std::move(spec), [](const nlohmann::json&, const pipeline::BuildContext&) {
        return std::make_unique<HostPlatform>();
      });
}

}  // namespace hone::platforms
