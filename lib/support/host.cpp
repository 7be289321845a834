#include "support/host.h"

#include "support/error.h"
#include "support/file_io.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>

namespace hone::support {

namespace {

// ISA extensions that decide which kernels can run, in the order reported. Names are the
// kernel's /proc/cpuinfo spellings (x86 "flags", Arm "Features"). An entry ending in '*' is a
// prefix: every matching flag is reported there, sorted (amx_bf16, amx_int8, amx_tile, ...).
constexpr std::string_view kRelevantIsa[] = {
    // x86
    "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512cd",
    "avx512bw", "avx512dq", "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_*",
    // Arm (aarch64; "neon" is the 32-bit spelling)
    "neon", "asimd", "asimdhp", "asimddp", "asimdfhm", "i8mm", "bf16", "sve", "sve2", "svei8mm",
    "svebf16", "sme", "sme2"};

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> split_ws(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// Arm's "CPU implementer" codes (MIDR_EL1 bits 31:24) for the ones hone is likely to meet.
std::string arm_implementer(const std::string& code) {
  static const std::map<std::string, std::string> names = {
      {"0x41", "ARM"},    {"0x42", "Broadcom"}, {"0x43", "Cavium"}, {"0x46", "Fujitsu"},
      {"0x48", "HiSilicon"}, {"0x4e", "NVIDIA"}, {"0x51", "Qualcomm"}, {"0x61", "Apple"},
      {"0xc0", "Ampere"}};
  const auto it = names.find(code);
  return it != names.end() ? it->second : "implementer " + code;
}

std::string compiler_name() {
#if defined(__clang__)
  return trim("Clang " __clang_version__);  // "Clang 14.0.6 " -> "Clang 14.0.6"
#elif defined(__GNUC__)
  return "GCC " __VERSION__;  // GCC's __VERSION__ is just the number: "12.2.0"
#else
  return "unknown";
#endif
}

}  // namespace

HostInfo parse_cpuinfo(std::string_view cpuinfo, std::string_view machine) {
  // Every processor repeats the same keys; the first occurrence is enough (hone does not try
  // to describe big.LITTLE mixes).
  std::map<std::string, std::string> first;
  size_t pos = 0;
  while (pos < cpuinfo.size()) {
    size_t end = cpuinfo.find('\n', pos);
    if (end == std::string_view::npos) end = cpuinfo.size();
    const std::string_view line = cpuinfo.substr(pos, end - pos);
    pos = end + 1;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    first.try_emplace(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
  }
  auto get = [&](const char* key) {
    const auto it = first.find(key);
    return it != first.end() ? it->second : std::string();
  };

  HostInfo info;
  if (auto m = get("model name"); !m.empty()) {
    info.cpu_model = m;
  } else if (auto hw = get("Hardware"); !hw.empty()) {
    info.cpu_model = hw;
  } else if (auto impl = get("CPU implementer"); !impl.empty()) {
    info.cpu_model = arm_implementer(impl);
    if (auto part = get("CPU part"); !part.empty()) info.cpu_model += " part " + part;
  } else if (!machine.empty()) {
    info.cpu_model = std::string(machine);
  } else {
    info.cpu_model = "unknown";
  }

  std::string flags_line = get("flags");
  if (flags_line.empty()) flags_line = get("Features");
  std::vector<std::string> flags = split_ws(flags_line);
  std::sort(flags.begin(), flags.end());
  for (std::string_view want : kRelevantIsa) {
    if (want.ends_with('*')) {
      const std::string_view prefix = want.substr(0, want.size() - 1);
      for (const auto& f : flags) {
        if (std::string_view(f).starts_with(prefix)) info.isa.push_back(f);
      }
    } else if (std::binary_search(flags.begin(), flags.end(), want)) {
      info.isa.emplace_back(want);
    }
  }
  return info;
}

HostInfo host_info() {
  utsname u{};
  const bool have_uname = ::uname(&u) == 0;
  std::string cpuinfo;
  try {
    cpuinfo = read_file("/proc/cpuinfo");
  } catch (const Error&) {
    // No /proc (some sandboxes): fall back to uname below; host info must never fail a run.
  }
  HostInfo info = parse_cpuinfo(cpuinfo, have_uname ? u.machine : "");
  info.logical_cores = static_cast<int>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
  info.os = have_uname ? fmt::format("{} {} {}", u.sysname, u.release, u.machine) : "unknown";
  info.compiler = compiler_name();
  return info;
}

nlohmann::json to_json(const HostInfo& info) {
  return {{"cpu_model", info.cpu_model},
          {"isa", info.isa},
          {"logical_cores", info.logical_cores},
          {"os", info.os},
          {"compiler", info.compiler}};
}

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int64_t peak_rss_bytes() {
  try {
    const std::string status = read_file("/proc/self/status");
    const size_t at = status.find("VmHWM:");
    if (at != std::string::npos) {
      long long kib = 0;
      if (std::sscanf(status.c_str() + at, "VmHWM: %lld kB", &kib) == 1) return kib * 1024;
    }
  } catch (const Error&) {
    // No /proc: getrusage below.
  }
  rusage ru{};
  if (::getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return static_cast<int64_t>(ru.ru_maxrss) * 1024;  // Linux reports ru_maxrss in KiB
}

bool reset_peak_rss() {
  // "5" resets VmHWM to the current RSS (Linux >= 4.0, see proc(5)).
  const int fd = ::open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, "5", 1) == 1;
  ::close(fd);
  return ok;
}

}  // namespace hone::support
