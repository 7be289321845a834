// Platform files: the shipped platforms/*.json are embedded, valid, registered and say what issue 7
// asks; bad documents are BadInput naming the file and the JSON path.
#include "test_paths.h"
#include "pipeline/registry.h"
#include "platforms/platform.h"
#include "platforms/platforms.h"
#include "test_util.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace hone;
using namespace hone::platforms;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kShipped = {"aarch64-linux", "nrf52840", "riscv64-linux", "stm32f746g-disco",
                                           "x86_64-linux"};

json embedded_doc(const std::string& name) {
  for (const EmbeddedFile& f : embedded_platform_files()) {
    if (f.path == "platforms/" + name + ".json") return json::parse(f.text);
  }
  FAIL("no embedded platforms/" << name << ".json");
  return nullptr;
}

PlatformInfo shipped(const std::string& name) {
  return parse_platform(embedded_doc(name), "platforms/" + name + ".json");
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// A valid bare-metal document named "x", to break one member at a time.
json board() {
  json doc = embedded_doc("nrf52840");
  doc["name"] = "x";
  return doc;
}

std::string error_of(const json& doc) {
  return test::bad_input_message([&] { parse_platform(doc, "platforms/x.json"); });
}

}  // namespace

TEST_CASE("every platforms/*.json is embedded as it is on disk and parses", "[platforms]") {
  std::vector<std::string> on_disk;
  for (const auto& e : fs::directory_iterator(fs::path(HONE_SOURCE_DIR) / "platforms")) {
    if (e.path().extension() == ".json") on_disk.push_back(e.path().stem().string());
  }
  std::sort(on_disk.begin(), on_disk.end());
  CHECK(on_disk == kShipped);

  std::vector<std::string> embedded;
  for (const EmbeddedFile& f : embedded_platform_files()) {
    const std::string path(f.path);
    INFO(path);
    std::ifstream in(fs::path(HONE_SOURCE_DIR) / path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    CHECK(text.str() == f.text);  // the build re-embeds a changed file
    // ld/ and boards/ hold the files the platforms use; each is the text of embedded_platform_file.
    if (fs::path(path).parent_path() != "platforms") {
      CHECK(embedded_platform_file(path.substr(10)) == f.text);
      continue;
    }
    embedded.push_back(fs::path(path).stem().string());
    const json doc = json::parse(f.text);
    const PlatformInfo info = parse_platform(doc, path);
    // Every member is spelled out (nulls and empty lists too), so the file is its own describe().
    CHECK(to_json(info) == doc);
  }
  CHECK(embedded == kShipped);  // in file name order
}

TEST_CASE("the shipped platforms are the ones issue 7 names", "[platforms]") {
  const PlatformInfo x86 = shipped("x86_64-linux");
  CHECK(x86.architecture == "x86_64");
  CHECK(x86.os == OperatingSystem::Linux);
  CHECK(x86.toolchain.cc == "gcc");
  CHECK(x86.toolchain.cflags == std::vector<std::string>{"-O2", "-march=x86-64-v2"});
  CHECK(x86.run.kind == RunKind::Native);
  CHECK(x86.run.argv("/t/model") == std::vector<std::string>{"/t/model"});
  CHECK_FALSE(x86.ram_kb.has_value());

  const PlatformInfo a64 = shipped("aarch64-linux");
  CHECK(a64.architecture == "aarch64");
  CHECK(a64.toolchain.cc == "aarch64-linux-gnu-gcc");
  CHECK(has(a64.toolchain.cflags, "-mcpu=cortex-a72"));
  CHECK(has(a64.toolchain.ldflags, "-static"));
  CHECK(a64.toolchain.size == "aarch64-linux-gnu-size");
  CHECK(a64.run.kind == RunKind::QemuUser);
  CHECK(a64.run.argv("m") == std::vector<std::string>{"qemu-aarch64-static", "-cpu", "cortex-a72", "m"});

  const PlatformInfo rv = shipped("riscv64-linux");
  CHECK(rv.architecture == "riscv64");
  CHECK(rv.toolchain.cc == "riscv64-linux-gnu-gcc");
  CHECK(has(rv.toolchain.cflags, "-march=rv64gc"));
  CHECK(has(rv.toolchain.cflags, "-mabi=lp64d"));
  CHECK(has(rv.toolchain.ldflags, "-static"));
  CHECK(rv.run.argv("m") == std::vector<std::string>{"qemu-riscv64-static", "m"});

  const PlatformInfo stm = shipped("stm32f746g-disco");
  CHECK(stm.os == OperatingSystem::None);
  CHECK(stm.ram_kb == 320);
  CHECK(stm.flash_kb == 1024);
  CHECK(stm.clock_mhz == 216);
  CHECK(stm.toolchain.cc == "arm-none-eabi-gcc");
  for (const char* flag : {"-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard"}) {
    CHECK(has(stm.toolchain.cflags, flag));
  }
  CHECK(has(stm.toolchain.ldflags, "-nostartfiles"));  // boards/cortex_m.c is the startup code
  CHECK(has(stm.toolchain.support_files, "boards/cortex_m.c"));
  CHECK(stm.run.cycles_per_tick == 40);
  CHECK(stm.toolchain.size == "arm-none-eabi-size");
  CHECK(stm.toolchain.linker_script == "ld/stm32f746g-disco.ld");
  CHECK(stm.run.kind == RunKind::QemuSystem);
  CHECK(stm.run.argv("m.elf") ==
        std::vector<std::string>{"qemu-system-arm", "-M", "mps2-an500", "-nographic", "-semihosting-config",
                                 "enable=on,target=native", "-icount", "shift=0", "-kernel", "m.elf"});

  const PlatformInfo nrf = shipped("nrf52840");
  CHECK(nrf.os == OperatingSystem::None);
  CHECK(nrf.ram_kb == 256);
  CHECK(nrf.flash_kb == 1024);
  CHECK(nrf.clock_mhz == 64);
  for (const char* flag : {"-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"}) {
    CHECK(has(nrf.toolchain.cflags, flag));
  }
  CHECK(nrf.toolchain.linker_script == "ld/nrf52840.ld");
  CHECK(nrf.run.machine == "mps2-an386");

  for (const auto& name : kShipped) {
    const PlatformInfo p = shipped(name);
    INFO(name);
    CHECK_FALSE(p.note.empty());
    CHECK_FALSE(p.toolchain.packages.empty());
    CHECK(p.run.packages.empty() == (p.run.kind == RunKind::Native));
  }
}

TEST_CASE("every platform file is a registered platform component", "[platforms][registry]") {
  const auto& registry = pipeline::Registry::global();
  std::vector<std::string> expected = {"host"};
  expected.insert(expected.end(), kShipped.begin(), kShipped.end());
  CHECK(registry.names(pipeline::ComponentKind::Platform) == expected);

  const pipeline::BuildContext ctx;
  const auto host = pipeline::create<Platform>(registry.get(pipeline::ComponentKind::Platform, "host"), {}, ctx);
  CHECK(host->info() == nullptr);
  for (const auto& name : kShipped) {
    INFO(name);
    const auto& r = registry.get(pipeline::ComponentKind::Platform, name);
    CHECK(r.spec.params.empty());
    const auto platform = pipeline::create<Platform>(r, json::object(), ctx);
    CHECK(platform->name() == name);
    CHECK_FALSE(platform->is_host());
    REQUIRE(platform->info() != nullptr);
    CHECK(platform->info()->name == name);
    CHECK(platform->display_name() == platform->info()->display_name);
    CHECK(platform->describe() == embedded_doc(name));
    CHECK(r.spec.description.rfind(platform->display_name(), 0) == 0);
  }
  const auto& stm = registry.get(pipeline::ComponentKind::Platform, "stm32f746g-disco").spec;
  CHECK(stm.description.find("; 320 KB RAM, 1024 KB flash, 216 MHz") != std::string::npos);
  const auto run = std::find_if(stm.details.begin(), stm.details.end(), [](const auto& d) { return d.first == "run"; });
  REQUIRE(run != stm.details.end());
  CHECK(run->second.rfind("qemu-system: qemu-system-arm -M mps2-an500 ", 0) == 0);
  CHECK(registry.get(pipeline::ComponentKind::Platform, "x86_64-linux").spec.description ==
        shipped("x86_64-linux").display_name);  // no budgets known
}

TEST_CASE("bad platform documents name the file and the JSON path", "[platforms]") {
  CHECK_NOTHROW(parse_platform(board(), "platforms/x.json"));
  const auto broken = [](const json::json_pointer& at, const json& value) {
    json doc = board();
    doc[at] = value;
    return error_of(doc);
  };
  const auto without = [](const json::json_pointer& at) {
    json doc = board();
    doc[at.parent_pointer()].erase(at.back());
    return error_of(doc);
  };
  CHECK(broken("/run/kind"_json_pointer, "qemu") ==
        "platforms/x.json: /run/kind: 'qemu' is not one of native, qemu-user, qemu-system");
  CHECK(broken("/run/kind"_json_pointer, 3) ==
        "platforms/x.json: /run/kind: expected one of native, qemu-user, qemu-system, got 3");
  CHECK(broken("/os"_json_pointer, "windows") == "platforms/x.json: /os: 'windows' is not one of linux, none");
  CHECK(without("/name"_json_pointer) == "platforms/x.json: /name: missing; expected a non-empty string");
  CHECK(without("/run/kind"_json_pointer) ==
        "platforms/x.json: /run/kind: missing; expected one of native, qemu-user, qemu-system");
  CHECK(broken("/name"_json_pointer, "y") ==
        "platforms/x.json: /name: 'y' does not match the file's name (expected 'x')");
  CHECK(broken("/name"_json_pointer, 7) == "platforms/x.json: /name: expected a non-empty string, got 7");
  CHECK(broken("/ram_kb"_json_pointer, -256) ==
        "platforms/x.json: /ram_kb: expected null or an integer in [1, 4294967296], got -256");
  CHECK(broken("/ram_kb"_json_pointer, "256") ==
        "platforms/x.json: /ram_kb: expected null or an integer in [1, 4294967296], got \"256\"");
  CHECK(broken("/clock_mhz"_json_pointer, 64.5) ==
        "platforms/x.json: /clock_mhz: expected null or an integer in [1, 100000], got 64.5");
  CHECK(broken("/toolchain"_json_pointer, json::array()) == "platforms/x.json: /toolchain: expected an object, got []");
  CHECK(broken("/toolchain/cflags"_json_pointer, "-O2") ==
        "platforms/x.json: /toolchain/cflags: expected a list of strings, got \"-O2\"");
  CHECK(broken("/toolchain/cflags/1"_json_pointer, 3) ==
        "platforms/x.json: /toolchain/cflags/1: expected a non-empty string, got 3");
  CHECK(broken("/toolchain/cc"_json_pointer, "gcc -O2") ==
        "platforms/x.json: /toolchain/cc: 'gcc -O2' is not a program name (one word; arguments go in the flag lists)");
  CHECK(broken("/toolchain/linker_script"_json_pointer, "../x.ld") ==
        "platforms/x.json: /toolchain/linker_script: '../x.ld' is not a path inside the platforms folder "
        "(relative, no '..')");
  CHECK(broken("/flash_kib"_json_pointer, 1024) ==
        "platforms/x.json: /flash_kib: unknown member (did you mean 'flash_kb'?)");
  CHECK(broken("/run/zzz"_json_pointer, 1) ==
        "platforms/x.json: /run/zzz: unknown member; members here: kind, emulator, machine, options, cycles_per_tick, "
        "packages");
  CHECK(broken("/toolchain/support_files/0"_json_pointer, "/etc/passwd") ==
        "platforms/x.json: /toolchain/support_files: '/etc/passwd' is not a path inside the platforms folder "
        "(relative, no '..')");
  CHECK(broken("/run/cycles_per_tick"_json_pointer, 0) ==
        "platforms/x.json: /run/cycles_per_tick: expected null or an integer in [1, 1000000], got 0");
  CHECK(broken("/run/cycles_per_tick"_json_pointer, nullptr) ==
        "platforms/x.json: /run/cycles_per_tick: required for a bare-metal platform (os none)");
  CHECK(error_of(json::array()) == "platforms/x.json: expected an object, got []");

  // Members that depend on each other.
  CHECK(broken("/run/machine"_json_pointer, nullptr) ==
        "platforms/x.json: /run/machine: required for run kind qemu-system (-M)");
  CHECK(broken("/run/kind"_json_pointer, "qemu-user") ==
        "platforms/x.json: /run/machine: only run kind qemu-system takes a machine, not qemu-user");
  CHECK(broken("/ram_kb"_json_pointer, nullptr) ==
        "platforms/x.json: /ram_kb: required for a bare-metal platform (os none)");
  CHECK(broken("/toolchain/linker_script"_json_pointer, nullptr) ==
        "platforms/x.json: /toolchain/linker_script: required for a bare-metal platform (os none)");
  json user = board();
  user["run"]["kind"] = "qemu-user";
  user["run"]["machine"] = nullptr;
  user["run"]["cycles_per_tick"] = nullptr;
  CHECK(error_of(user) ==
        "platforms/x.json: /run/kind: a bare-metal platform (os none) runs on qemu-system, not qemu-user");
  json native = embedded_doc("x86_64-linux");
  native["name"] = "x";
  CHECK_NOTHROW(parse_platform(native, "platforms/x.json"));
  native["run"]["emulator"] = "qemu-x86_64";
  CHECK(error_of(native) == "platforms/x.json: /run/emulator: a native platform has no emulator (null)");
  native["run"]["emulator"] = nullptr;
  native["run"]["kind"] = "qemu-user";
  CHECK(error_of(native) == "platforms/x.json: /run/emulator: required for run kind qemu-user");
  native["run"]["emulator"] = "qemu-x86_64";
  native["run"]["cycles_per_tick"] = 40;
  CHECK(error_of(native) ==
        "platforms/x.json: /run/cycles_per_tick: only run kind qemu-system has a board timer, not qemu-user");
}

TEST_CASE("optional platform members may be left out", "[platforms]") {
  const json minimal = {{"name", "x"},
                        {"display_name", "X"},
                        {"architecture", "x86_64"},
                        {"os", "linux"},
                        {"toolchain", {{"cc", "gcc"}, {"size", "size"}}},
                        {"run", {{"kind", "native"}}},
                        {"note", "n"}};
  const PlatformInfo p = parse_platform(minimal, "platforms/x.json");
  CHECK(p.toolchain.cflags.empty());
  CHECK_FALSE(p.toolchain.linker_script.has_value());
  CHECK_FALSE(p.clock_mhz.has_value());
  // Written back, every member is spelled out and parses to the same platform.
  const json full = to_json(p);
  CHECK(full["ram_kb"].is_null());
  CHECK(full["run"]["options"] == json::array());
  CHECK(to_json(parse_platform(full, "platforms/x.json")) == full);
}
