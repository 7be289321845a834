// What machine a measurement ran on, when, and how much memory it took: recorded next to
// every number hone reports, so results from different hosts are never compared blindly.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hone::support {

struct HostInfo {
  std::string cpu_model;         // "AMD EPYC 7763 64-Core Processor"; "unknown" if not found
  std::vector<std::string> isa;  // kernel-relevant ISA extensions, fixed order (see host.cpp)
  int logical_cores = 0;         // online logical CPUs
  std::string os;                // uname: "Linux 6.1.0-18-amd64 x86_64"
  std::string compiler;          // the compiler that built hone: "GCC 12.2.0", "Clang 14.0.6"
};

// Reads /proc/cpuinfo and uname once per call (cheap; callers may cache).
HostInfo host_info();
// The parsing behind host_info(), exposed for tests: fills cpu_model and isa from the text of
// /proc/cpuinfo (x86 or Arm layout); `machine` (uname -m) is the last-resort cpu_model.
HostInfo parse_cpuinfo(std::string_view cpuinfo, std::string_view machine);
// {"cpu_model", "isa", "logical_cores", "os", "compiler"}
nlohmann::json to_json(const HostInfo& info);

// Current time in UTC, ISO 8601 to the second: "2026-11-21T08:30:00Z".
std::string utc_timestamp();

// Peak resident set size of this process in bytes: VmHWM from /proc/self/status, falling
// back to getrusage (which cannot be reset). 0 if neither is available.
int64_t peak_rss_bytes();
// Resets the peak (VmHWM) to the current RSS by writing "5" to /proc/self/clear_refs, so the
// next peak_rss_bytes() covers only what ran since. False if the kernel does not allow it;
// the caller should then report the peak as cumulative.
bool reset_peak_rss();

}  // namespace hone::support
