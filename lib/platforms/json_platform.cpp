// Platforms described by the repository's platforms/*.json files. The files are embedded at build
// time (cmake/embed_platforms.cmake), so the installed binary needs no file lookup at run time.
// They run generated executables (natively or under QEMU), never hone's own runtimes.
#include "platforms/platform.h"
#include "platforms/platforms.h"
#include "support/error.h"

#include <fmt/format.h>

namespace hone::platforms {

namespace {

class JsonPlatform final : public Platform {
 public:
  explicit JsonPlatform(PlatformInfo info) : info_(std::move(info)) {}
  std::string name() const override { return info_.name; }
  std::string display_name() const override { return info_.display_name; }
  std::string architecture() const override { return info_.architecture; }
  bool is_host() const override { return false; }
  const PlatformInfo* info() const override { return &info_; }
  nlohmann::json describe() const override { return to_json(info_); }

 private:
  PlatformInfo info_;
};

// "320 KB RAM, 1024 KB flash, 216 MHz": the budgets that are known.
std::string budgets(const PlatformInfo& p) {
  std::string s;
  const auto add = [&s](const std::optional<int64_t>& v, std::string_view unit) {
    if (v) s += fmt::format("{}{} {}", s.empty() ? "" : ", ", *v, unit);
  };
  add(p.ram_kb, "KB RAM");
  add(p.flash_kb, "KB flash");
  add(p.clock_mhz, "MHz");
  return s;
}

std::string joined(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words) s += fmt::format("{}{}", s.empty() ? "" : " ", w);
  return s;
}

// What `hone list -v` and docs/components.md show besides the description.
std::vector<std::pair<std::string, std::string>> details(const PlatformInfo& p) {
  const Toolchain& t = p.toolchain;
  std::vector<std::pair<std::string, std::string>> d;
  d.emplace_back("architecture",
                 fmt::format("{}, {}", p.architecture, p.os == OperatingSystem::None ? "bare metal" : "Linux"));
  d.emplace_back("compiler", t.cflags.empty() ? t.cc : fmt::format("{} {}", t.cc, joined(t.cflags)));
  if (t.linker_script) d.emplace_back("linker script", fmt::format("platforms/{}", *t.linker_script));
  d.emplace_back("run", fmt::format("{}: {}", run_kind_name(p.run.kind), joined(p.run.argv("EXECUTABLE"))));
  if (const std::string b = budgets(p); !b.empty()) d.emplace_back("budgets", b);
  d.emplace_back("note", p.note);
  return d;
}

pipeline::Registration registration(PlatformInfo info) {
  pipeline::ComponentSpec spec;
  spec.name = info.name;
  const std::string b = budgets(info);
  spec.description = b.empty() ? info.display_name : fmt::format("{}; {}", info.display_name, b);
  spec.details = details(info);
  return pipeline::make_registration<Platform>(
      std::move(spec), [info = std::move(info)](const nlohmann::json&, const pipeline::BuildContext&) {
        return std::make_unique<JsonPlatform>(info);
      });
}

}  // namespace

std::vector<pipeline::Registration> file_platform_registrations() {
  std::vector<pipeline::Registration> out;
  for (const EmbeddedFile& f : embedded_platform_files()) {
    const std::string file(f.path);
    nlohmann::json doc;
    try {
      doc = nlohmann::json::parse(f.text);
    } catch (const nlohmann::json::parse_error& e) {
      throw bad_input("not valid JSON: {}", e.what()).with_file(file);
    }
    out.push_back(registration(parse_platform(doc, file)));
  }
  return out;
}

}  // namespace hone::platforms
