// Platform files: parse_platform checks a document member by member, naming the file and the
// JSON path of the first thing wrong; to_json writes the same document back.
#include "pipeline/component.h"
#include "platforms/platform.h"
#include "support/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

namespace hone::platforms {

namespace {

using nlohmann::json;

// Indexed by the enums' values.
constexpr std::string_view kOsNames[] = {"linux", "none"};
constexpr std::string_view kRunKindNames[] = {"native", "qemu-user", "qemu-system"};

constexpr int64_t kMaxKb = int64_t{1} << 32;  // 4 TiB: far above any board, far below overflow
constexpr int64_t kMaxMhz = 100000;

// A value's place, for error messages.
struct Where {
  std::string_view file;
  std::string path;  // JSON pointer; "" is the document

  Where operator/(std::string_view key) const { return {file, fmt::format("{}/{}", path, key)}; }
  [[noreturn]] void fail(const std::string& message) const {
    Error e = bad_input("{}", message);
    throw e.with_file(std::string(file)).with_json_path(path);
  }
};

std::string joined(const auto& words) {
  std::string s;
  for (const auto& w : words) s += fmt::format("{}{}", s.empty() ? "" : ", ", w);
  return s;
}

const std::string& nonempty_string(const json& v, const Where& at) {
  if (!v.is_string() || v.get_ref<const std::string&>().empty()) {
    at.fail(fmt::format("expected a non-empty string, got {}", pipeline::shown(v)));
  }
  return v.get_ref<const std::string&>();
}

// One JSON object: unknown members are errors, each read names its member's path.
class Object {
 public:
  Object(const json& j, Where where, std::vector<std::string> members)
      : j_(j), where_(std::move(where)) {
    if (!j.is_object()) where_.fail(fmt::format("expected an object, got {}", pipeline::shown(j)));
    for (const auto& [key, value] : j.items()) {
      if (std::find(members.begin(), members.end(), key) != members.end()) continue;
      const std::string hint = pipeline::did_you_mean(key, members);
      (where_ / key).fail(hint.empty() ? fmt::format("unknown member; members here: {}", joined(members))
                                       : fmt::format("unknown member{}", hint));
    }
  }

  Where at(std::string_view key) const { return where_ / key; }

  // Null when the member is absent.
  const json* find(std::string_view key) const {
    const auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }

  const json& required(std::string_view key, std::string_view expected) const {
    const json* v = find(key);
    if (!v) at(key).fail(fmt::format("missing; expected {}", expected));
    return *v;
  }

  std::string text(std::string_view key) const {
    return nonempty_string(required(key, "a non-empty string"), at(key));
  }

  // A program run by name from PATH, so one word.
  std::string program(std::string_view key) const { return checked_program(required(key, "a program name"), key); }

  // Absent or null: none.
  std::optional<std::string> optional_program(std::string_view key) const {
    const json* v = find(key);
    if (!v || v->is_null()) return std::nullopt;
    return checked_program(*v, key);
  }

  std::optional<std::string> optional_text(std::string_view key) const {
    const json* v = find(key);
    if (!v || v->is_null()) return std::nullopt;
    return nonempty_string(*v, at(key));
  }

  // Absent: empty.
  std::vector<std::string> texts(std::string_view key) const {
    const json* v = find(key);
    if (!v) return {};
    if (!v->is_array()) at(key).fail(fmt::format("expected a list of strings, got {}", pipeline::shown(*v)));
    std::vector<std::string> out;
    for (size_t i = 0; i < v->size(); ++i) out.push_back(nonempty_string((*v)[i], at(key) / std::to_string(i)));
    return out;
  }

  // Absent or null: unknown.
  std::optional<int64_t> optional_count(std::string_view key, int64_t max) const {
    const json* v = find(key);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_number_integer() || v->get<int64_t>() < 1 || v->get<int64_t>() > max) {
      at(key).fail(fmt::format("expected null or an integer in [1, {}], got {}", max, pipeline::shown(*v)));
    }
    return v->get<int64_t>();
  }

  // The index of the member's value in `names`.
  template <size_t N>
  size_t choice(std::string_view key, const std::string_view (&names)[N]) const {
    const json& v = required(key, fmt::format("one of {}", joined(names)));
    for (size_t i = 0; i < N && v.is_string(); ++i) {
      if (v.get_ref<const std::string&>() == names[i]) return i;
    }
    at(key).fail(v.is_string() ? fmt::format("'{}' is not one of {}", v.get<std::string>(), joined(names))
                               : fmt::format("expected one of {}, got {}", joined(names), pipeline::shown(v)));
  }

 private:
  std::string checked_program(const json& v, std::string_view key) const {
    const std::string& s = nonempty_string(v, at(key));
    if (s.find_first_of(" \t\n") != std::string::npos) {
      at(key).fail(fmt::format("'{}' is not a program name (one word; arguments go in the flag lists)", s));
    }
    return s;
  }

  const json& j_;
  Where where_;
};

// Lowercase letters, digits, '-', '_', '.', starting with a letter or digit: safe in file names,
// target names and shell words.
bool valid_name(const std::string& s) {
  const auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (s.empty() || !lower_or_digit(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return lower_or_digit(c) || c == '-' || c == '_' || c == '.'; });
}

// A file the platform ships in the repository's platforms/ folder: relative, no "..".
void check_platform_path(const Object& o, std::string_view key, const std::string& path) {
  const std::filesystem::path p(path);
  bool climbs = false;
  for (const auto& part : p) climbs = climbs || part == "..";
  if (p.is_absolute() || climbs || path.empty()) {
    o.at(key).fail(fmt::format("'{}' is not a path inside the platforms folder (relative, no '..')", path));
  }
}

Toolchain parse_toolchain(const json& j, const Where& where) {
  const Object o(j, where, {"cc", "cflags", "ldflags", "libs", "size", "linker_script", "support_files", "packages"});
  Toolchain t;
  t.cc = o.program("cc");
  t.cflags = o.texts("cflags");
  t.ldflags = o.texts("ldflags");
  t.libs = o.texts("libs");
  t.size = o.program("size");
  t.linker_script = o.optional_text("linker_script");
  if (t.linker_script) check_platform_path(o, "linker_script", *t.linker_script);
  t.support_files = o.texts("support_files");
  for (const auto& f : t.support_files) check_platform_path(o, "support_files", f);
  t.packages = o.texts("packages");
  return t;
}

RunSpec parse_run(const json& j, const Where& where) {
  const Object o(j, where, {"kind", "emulator", "machine", "options", "cycles_per_tick", "packages"});
  RunSpec r;
  r.kind = static_cast<RunKind>(o.choice("kind", kRunKindNames));
  r.emulator = o.optional_program("emulator");
  r.machine = o.optional_text("machine");
  r.options = o.texts("options");
  r.cycles_per_tick = o.optional_count("cycles_per_tick", 1'000'000);
  r.packages = o.texts("packages");
  const std::string_view kind = run_kind_name(r.kind);
  if (r.kind == RunKind::Native) {
    if (r.emulator) o.at("emulator").fail("a native platform has no emulator (null)");
    if (!r.options.empty()) o.at("options").fail("a native platform has no emulator options ([])");
  } else if (!r.emulator) {
    o.at("emulator").fail(fmt::format("required for run kind {}", kind));
  }
  if (r.kind == RunKind::QemuSystem && !r.machine) o.at("machine").fail("required for run kind qemu-system (-M)");
  if (r.kind != RunKind::QemuSystem && r.machine) {
    o.at("machine").fail(fmt::format("only run kind qemu-system takes a machine, not {}", kind));
  }
  if (r.kind != RunKind::QemuSystem && r.cycles_per_tick) {
    o.at("cycles_per_tick").fail(fmt::format("only run kind qemu-system has a board timer, not {}", kind));
  }
  return r;
}

json optional_json(const auto& v) { return v ? json(*v) : json(nullptr); }

}  // namespace

std::string_view os_name(OperatingSystem os) { return kOsNames[static_cast<size_t>(os)]; }
std::string_view run_kind_name(RunKind kind) { return kRunKindNames[static_cast<size_t>(kind)]; }

std::vector<std::string> RunSpec::argv(const std::string& executable) const {
  if (kind == RunKind::Native) return {executable};
  HONE_ASSERT(emulator.has_value());
  std::vector<std::string> out{*emulator};
  if (kind == RunKind::QemuSystem) {
    HONE_ASSERT(machine.has_value());
    out.insert(out.end(), {"-M", *machine});
  }
  out.insert(out.end(), options.begin(), options.end());
  if (kind == RunKind::QemuSystem) out.push_back("-kernel");
  out.push_back(executable);
  return out;
}

PlatformInfo parse_platform(const nlohmann::json& doc, const std::string& file) {
  const Where root{file, ""};
  const Object o(doc, root, {"name", "display_name", "architecture", "os", "toolchain", "run", "ram_kb",
                             "flash_kb", "clock_mhz", "note"});
  PlatformInfo p;
  p.name = o.text("name");
  if (!valid_name(p.name)) {
    o.at("name").fail(fmt::format("'{}' is not a platform name (lowercase letters, digits, '-', '_', '.')", p.name));
  }
  const std::string stem = std::filesystem::path(file).stem().string();
  if (!file.empty() && p.name != stem) {
    o.at("name").fail(fmt::format("'{}' does not match the file's name (expected '{}')", p.name, stem));
  }
  p.display_name = o.text("display_name");
  p.architecture = o.text("architecture");
  p.os = static_cast<OperatingSystem>(o.choice("os", kOsNames));
  p.toolchain = parse_toolchain(o.required("toolchain", "an object"), o.at("toolchain"));
  p.run = parse_run(o.required("run", "an object"), o.at("run"));
  p.ram_kb = o.optional_count("ram_kb", kMaxKb);
  p.flash_kb = o.optional_count("flash_kb", kMaxKb);
  p.clock_mhz = o.optional_count("clock_mhz", kMaxMhz);
  p.note = o.text("note");
  // Bare metal: the emulated machine is not the board, so the budgets and the linker script
  // that enforces them are what make the platform that board.
  if (p.os == OperatingSystem::None) {
    const char* why = "required for a bare-metal platform (os none)";
    if (p.run.kind != RunKind::QemuSystem) {
      (o.at("run") / "kind").fail(fmt::format("a bare-metal platform (os none) runs on qemu-system, not {}",
                                              run_kind_name(p.run.kind)));
    }
    if (!p.toolchain.linker_script) (o.at("toolchain") / "linker_script").fail(why);
    if (!p.run.cycles_per_tick) (o.at("run") / "cycles_per_tick").fail(why);
    if (!p.ram_kb) o.at("ram_kb").fail(why);
    if (!p.flash_kb) o.at("flash_kb").fail(why);
  }
  return p;
}

nlohmann::json to_json(const PlatformInfo& p) {
  const Toolchain& t = p.toolchain;
  return {{"name", p.name},
          {"display_name", p.display_name},
          {"architecture", p.architecture},
          {"os", os_name(p.os)},
          {"toolchain",
           {{"cc", t.cc},
            {"cflags", t.cflags},
            {"ldflags", t.ldflags},
            {"libs", t.libs},
            {"size", t.size},
            {"linker_script", optional_json(t.linker_script)},
            {"support_files", t.support_files},
            {"packages", t.packages}}},
          {"run",
           {{"kind", run_kind_name(p.run.kind)},
            {"emulator", optional_json(p.run.emulator)},
            {"machine", optional_json(p.run.machine)},
            {"options", p.run.options},
            {"cycles_per_tick", optional_json(p.run.cycles_per_tick)},
            {"packages", p.run.packages}}},
          {"ram_kb", optional_json(p.ram_kb)},
          {"flash_kb", optional_json(p.flash_kb)},
          {"clock_mhz", optional_json(p.clock_mhz)},
          {"note", p.note}};
}

}  // namespace hone::platforms
