// Platforms: where a target runs. `host` is this machine, natively; the files in the repository's
// platforms/ folder (embedded at build time, see docs/platforms.md) describe the others: a cross
// toolchain, how to run what it builds (natively, qemu-user, qemu-system), RAM and flash budgets.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hone::platforms {

enum class OperatingSystem { Linux, None };          // "linux", "none" (bare metal)
enum class RunKind { Native, QemuUser, QemuSystem };  // "native", "qemu-user", "qemu-system"
std::string_view os_name(OperatingSystem os);
std::string_view run_kind_name(RunKind kind);

struct Toolchain {
  std::string cc;                            // the C compiler: "arm-none-eabi-gcc"
  std::vector<std::string> cflags;
  std::vector<std::string> ldflags;
  std::vector<std::string> libs;             // after the objects on the link line: "-lm"
  std::string size;                          // binutils' `size`, for text/data/bss
  std::optional<std::string> linker_script;  // relative to the repository's platforms/ folder
  // More files of platforms/ copied beside the generated code (by file name); the .c ones are
  // compiled with it: board support (boards/cortex_m.c), scripts the linker script includes.
  std::vector<std::string> support_files;
  std::vector<std::string> packages;         // Debian packages that provide the above
};

struct RunSpec {
  RunKind kind = RunKind::Native;
  std::optional<std::string> emulator;  // "qemu-aarch64-static"; none for native
  std::optional<std::string> machine;   // qemu-system's -M; qemu-system only
  std::vector<std::string> options;     // the emulator's further arguments
  // qemu-system: CPU cycles per tick of the board timer the harness reads (SysTick at 25 MHz
  // under -icount shift=0, one instruction per virtual ns: 40), taking one cycle per instruction.
  std::optional<int64_t> cycles_per_tick;
  std::vector<std::string> packages;    // Debian packages that provide the emulator

  // The command line that runs `executable`: itself (native), emulator + options + executable
  // (qemu-user), or emulator -M machine + options + -kernel executable (qemu-system).
  std::vector<std::string> argv(const std::string& executable) const;
};

// One platform file, checked. Field meanings: docs/platforms.md.
struct PlatformInfo {
  std::string name;
  std::string display_name;
  std::string architecture;  // "x86_64", "aarch64", "riscv64", "armv7e-m"
  OperatingSystem os = OperatingSystem::Linux;
  Toolchain toolchain;
  RunSpec run;
  std::optional<int64_t> ram_kb;
  std::optional<int64_t> flash_kb;
  std::optional<int64_t> clock_mhz;
  std::string note;
};

// Checks every member's type and allowed values; throws BadInput naming `file` and the JSON
// path: "platforms/x.json: /run/kind: 'qemu' is not one of native, qemu-user, qemu-system".
// `name` must equal the file's stem.
PlatformInfo parse_platform(const nlohmann::json& doc, const std::string& file);
// The platform file's document again, every member spelled out (nulls and empty lists included).
nlohmann::json to_json(const PlatformInfo& info);

class Platform {
 public:
  virtual ~Platform() = default;
  virtual std::string name() const = 0;
  virtual std::string display_name() const = 0;
  virtual std::string architecture() const = 0;  // "x86_64", "aarch64", ...
  // True when runtimes execute in hone's own process on this machine.
  virtual bool is_host() const = 0;
  // The toolchain, run command and budgets of a platform file; null for `host`.
  virtual const PlatformInfo* info() const { return nullptr; }
  // Everything about the platform that belongs in the measurements.
  virtual nlohmann::json describe() const = 0;
};

}  // namespace hone::platforms
