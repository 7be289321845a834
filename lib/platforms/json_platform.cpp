// Platforms described by the repository's platforms/*.json files. The folder is embedded at build
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

const EmbeddedFile* find_embedded(std::string_view relative) {
  for (const EmbeddedFile& f : embedded_platform_files()) {
    if (f.path.size() == relative.size() + 10 && f.path.substr(0, 10) == "platforms/" && f.path.substr(10) == relative) {
      return &f;
    }
  }
  return nullptr;
}

}  // namespace

std::string_view embedded_platform_file(std::string_view relative) {
  const EmbeddedFile* f = find_embedded(relative);
  if (!f) throw internal_error("platforms/{} was not embedded at build time", relative);
  return f->text;
}

std::vector<pipeline::Registration> file_platform_registrations() {
  std::vector<pipeline::Registration> out;
  for (const EmbeddedFile& f : embedded_platform_files()) {
    // Platform files are the JSON files at the folder's top; ld/ and boards/ hold what they use.
    if (f.path.find('/', 10) != std::string_view::npos || !f.path.ends_with(".json")) continue;
    const std::string file(f.path);
    nlohmann::json doc;
    try {
      doc = nlohmann::json::parse(f.text);
    } catch (const nlohmann::json::parse_error& e) {
      throw bad_input("not valid JSON: {}", e.what()).with_file(file);
    }
    PlatformInfo info = parse_platform(doc, file);
    const auto require = [&](const std::string& relative, const std::string& json_path) {
      if (!find_embedded(relative)) {
        throw bad_input("'{}' is not a file of the platforms folder", relative).with_json_path(json_path).with_file(file);
      }
    };
    if (info.toolchain.linker_script) require(*info.toolchain.linker_script, "/toolchain/linker_script");
    for (size_t i = 0; i < info.toolchain.support_files.size(); ++i) {
      require(info.toolchain.support_files[i], fmt::format("/toolchain/support_files/{}", i));
    }
    out.push_back(registration(std::move(info)));
  }
  return out;
}

}  // namespace hone::platforms
