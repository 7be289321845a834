// How report tables and `hone compare` print numbers: one place, so the same value reads the
// same everywhere. Every formatter takes an optional and prints "n/a" for a missing value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace hone::report {

inline constexpr const char* kNA = "n/a";

// 1023 -> "1023 B", 142720 -> "139.4 KiB", 3.5e6 -> "3.34 MiB".
std::string format_bytes(std::optional<int64_t> bytes);
// 130890 -> "130.9 k", 5719808 -> "5.72 M", 1.8e9 -> "1.81 G", 950 -> "950".
std::string format_count(std::optional<int64_t> n);
// A fraction as a percentage: 0.9267 -> "92.67 %" (decimals as given).
std::string format_percent(std::optional<double> fraction, int decimals = 2);
// Milliseconds with 3 significant decimals below 10 ms: "1.695", "12.35", "250.1".
std::string format_ms(std::optional<double> ms);
// A signed difference in percentage points of two fractions: "+0.12 pt", "-1.03 pt", "±0.00 pt".
std::string format_delta_pt(std::optional<double> delta_fraction);
// A ratio as "3.71x".
std::string format_ratio(std::optional<double> r);

}  // namespace hone::report
