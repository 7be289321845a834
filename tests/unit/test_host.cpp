// Host description, timestamps and peak RSS: real values on this machine, plus the cpuinfo
// parser on fixed x86 and Arm texts.
#include "support/host.h"

#include <catch2/catch.hpp>

#include <memory>

using namespace hone::support;

TEST_CASE("host_info describes this machine", "[support][host]") {
  const HostInfo h = host_info();
  CHECK(!h.cpu_model.empty());
  CHECK(h.cpu_model != "unknown");
  CHECK(h.logical_cores >= 1);
  CHECK_THAT(h.os, Catch::StartsWith("Linux "));
  CHECK(h.os.find('\n') == std::string::npos);
  CHECK_THAT(h.compiler, Catch::StartsWith("GCC ") || Catch::StartsWith("Clang "));
#if defined(__x86_64__) || defined(__aarch64__)
  CHECK(!h.isa.empty());  // every x86_64 / aarch64 Linux host has some SSE4 / ASIMD flag
#endif
  const auto j = to_json(h);
  CHECK(j.at("cpu_model") == h.cpu_model);
  CHECK(j.at("isa").size() == h.isa.size());
  CHECK(j.at("logical_cores") == h.logical_cores);
  CHECK(j.at("os") == h.os);
  CHECK(j.at("compiler") == h.compiler);
}

TEST_CASE("parse_cpuinfo on x86 keeps the relevant flags in a fixed order", "[support][host]") {
  const char* text =
      "processor\t: 0\n"
      "model name\t: Intel(R) Xeon(R) Platinum 8480+\n"
      "flags\t\t: fpu amx_tile avx512_vnni sse4_2 avx512f avx2 amx_int8 fma sse4_1 amx_bf16 "
      "avx512bw avx512vl avx f16c avx512_bf16 mmx\n"
      "\n"
      "processor\t: 1\n"
      "model name\t: something else\n";
  const HostInfo h = parse_cpuinfo(text, "x86_64");
  CHECK(h.cpu_model == "Intel(R) Xeon(R) Platinum 8480+");
  CHECK(h.isa == std::vector<std::string>{"sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c",
                                          "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                                          "avx512_bf16", "amx_bf16", "amx_int8", "amx_tile"});
}

TEST_CASE("parse_cpuinfo on aarch64 falls back to implementer and part", "[support][host]") {
  const char* text =
      "processor\t: 0\n"
      "BogoMIPS\t: 50.00\n"
      "Features\t: fp asimd evtstrm aes pmull asimddp sve i8mm bf16 cpuid\n"
      "CPU implementer\t: 0x41\n"
      "CPU part\t: 0xd0c\n";
  const HostInfo h = parse_cpuinfo(text, "aarch64");
  CHECK(h.cpu_model == "ARM part 0xd0c");
  CHECK(h.isa == std::vector<std::string>{"asimd", "asimddp", "i8mm", "bf16", "sve"});
  CHECK(parse_cpuinfo("Hardware\t: BCM2835\n", "armv7l").cpu_model == "BCM2835");
  CHECK(parse_cpuinfo("", "riscv64").cpu_model == "riscv64");
  CHECK(parse_cpuinfo("", "").cpu_model == "unknown");
  CHECK(parse_cpuinfo("", "").isa.empty());
}

TEST_CASE("utc_timestamp is ISO 8601 in UTC to the second", "[support][host]") {
  const std::string t = utc_timestamp();
  // Catch's matcher keeps std::regex out of this file (GCC 12 -Wmaybe-uninitialized false
  // positives in <regex> under -fsanitize break -Werror builds).
  CHECK_THAT(t, Catch::Matches(R"(20\d\d-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-6]\dZ)"));
}

TEST_CASE("peak_rss_bytes grows after touching 64 MiB", "[support][host]") {
  constexpr size_t kBytes = size_t{64} << 20;
  const bool reset = reset_peak_rss();
  const int64_t before = peak_rss_bytes();
  CHECK(before > 0);
  {
    auto buf = std::make_unique<unsigned char[]>(kBytes);
    // Write through volatile so the stores (and so the page faults) cannot be optimised away.
    volatile unsigned char* p = buf.get();
    for (size_t i = 0; i < kBytes; i += 4096) p[i] = 1;
  }
  const int64_t after = peak_rss_bytes();
  if (reset) {
    // The peak started from the current RSS, so the buffer shows up as growth.
    CHECK(after - before >= static_cast<int64_t>(kBytes) * 9 / 10);
  } else {
    CHECK(after >= static_cast<int64_t>(kBytes));
  }
}
