#include "report/format.h"

#include <fmt/format.h>

#include <cmath>

namespace hone::report {

std::string format_bytes(std::optional<int64_t> b) {
  if (!b) return kNA;
  if (*b >= 1024 * 1024) return fmt::format("{:.2f} MiB", static_cast<double>(*b) / 1048576.0);
  if (*b >= 1024) return fmt::format("{:.1f} KiB", static_cast<double>(*b) / 1024.0);
  return fmt::format("{} B", *b);
}

std::string format_count(std::optional<int64_t> n) {
  if (!n) return kNA;
  const double v = static_cast<double>(*n);
  if (std::abs(v) >= 1e9) return fmt::format("{:.2f} G", v / 1e9);
  if (std::abs(v) >= 1e6) return fmt::format("{:.2f} M", v / 1e6);
  if (std::abs(v) >= 1e4) return fmt::format("{:.1f} k", v / 1e3);
  return fmt::format("{}", *n);
}

std::string format_percent(std::optional<double> f, int decimals) {
  if (!f || !std::isfinite(*f)) return kNA;
  return fmt::format("{:.{}f} %", *f * 100.0, decimals);
}

std::string format_ms(std::optional<double> ms) {
  if (!ms || !std::isfinite(*ms)) return kNA;
  if (std::abs(*ms) < 10) return fmt::format("{:.3f}", *ms);
  if (std::abs(*ms) < 100) return fmt::format("{:.2f}", *ms);
  return fmt::format("{:.1f}", *ms);
}

std::string format_delta_pt(std::optional<double> d) {
  if (!d || !std::isfinite(*d)) return kNA;
  const double pt = *d * 100.0;
  // Round first so a tiny negative difference does not print as "-0.00".
  const double shown = std::round(pt * 100.0) / 100.0;
  if (shown == 0) return "±0.00 pt";
  return fmt::format("{:+.2f} pt", shown);
}

std::string format_ratio(std::optional<double> r) {
  if (!r || !std::isfinite(*r)) return kNA;
  return fmt::format("{:.2f}x", *r);
}

}  // namespace hone::report
