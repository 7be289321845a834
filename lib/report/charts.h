// Charts for benchmark reports, each rendered as one self-contained SVG document: the Markdown
// report links them as .svg files and the HTML report inlines the same text, so the output has
// no scripts, no external references, no ids (several charts share one HTML page) and is
// byte-identical for identical input. Labels come from user files and are escaped; non-finite
// numbers never reach a coordinate. Empty input gives a small "no data" chart, never an error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hone::report {

// Colour i of a fixed categorical palette (Okabe-Ito, safe for colour-blind readers), as
// "#rrggbb"; wraps around after 8 colours.
std::string palette(size_t i);

// "Nice" axis ticks covering [lo, hi]: multiples of a 1, 2 or 5 x 10^k step, the smallest such
// step giving at most max_ticks ticks (clamped to 2..50), from the multiple at or below lo to the
// one at or above hi. Values are exact decimals (0.3, not 0.30000000000000004). lo == hi widens
// the range by 10% of |lo| (to [0, 1] for 0); swapped bounds are reordered; non-finite bounds
// give {0, 1}. E.g. (0, 1) -> 0, 0.2, ..., 1 and (0, 7.3) -> 0, 2, 4, 6, 8.
std::vector<double> nice_ticks(double lo, double hi, int max_ticks = 7);

struct BubblePoint {
  std::string label;  // shown next to the bubble (long ones truncated; full text in the tooltip)
  double x = 0;       // e.g. mean latency in ms
  double y = 0;       // e.g. top-1 accuracy in %
  double size = 0;    // bubble AREA is proportional to this (e.g. model bytes); 0 = tiny dot
  size_t color = 0;   // palette index
};

// Scatter of bubbles on linear axes with the given (unit-bearing) labels. An axis starts at 0
// unless the data sits far from 0, and is padded so no bubble is cut off. size_caption (e.g.
// "bubble area ∝ model file size") is shown under the plot. Points with a non-finite x or y are
// left out and counted in the caption. Labels are nudged around their bubble to avoid overlaps.
std::string bubble_chart(std::string_view title, std::string_view x_label, std::string_view y_label,
                         std::string_view size_caption, const std::vector<BubblePoint>& points);

struct BoxSeries {
  std::string label;
  double whisker_low = 0, q1 = 0, median = 0, q3 = 0, whisker_high = 0, mean = 0;
  std::vector<double> outliers;  // every value outside the whiskers (thousands are fine)
  size_t color = 0;
};

// Horizontal box plot, one row per series, on a shared value axis labelled value_label. The
// mean is a diamond; outliers are dots, one per distinct pixel column. A legend line explains
// the glyphs. Non-finite statistics are not drawn.
std::string box_plot(std::string_view title, std::string_view value_label,
                     const std::vector<BoxSeries>& series);

struct BarSeries {
  std::string name;                           // legend entry, e.g. "file", "zstd-compressed"
  std::vector<std::optional<double>> values;  // one per category; nullopt (or missing) = "n/a"
  size_t color = 0;
};

// Grouped bars drawn horizontally (category names can be long): one band per category, one bar
// per series, on a value axis from min(0, min value) labelled value_label. Each bar ends with its
// value formatted by value_format (a fmt format string for one double; an invalid one falls back
// to "{:.1f}"); missing values read "n/a", infinities "∞".
std::string bar_chart(std::string_view title, std::string_view value_label,
                      const std::vector<std::string>& categories,
                      const std::vector<BarSeries>& series,
                      std::string_view value_format = "{:.1f}");

// Confusion matrix: rows = true class, columns = predicted class, cells coloured white -> dark
// blue by count / row sum, each cell showing its count (abbreviated from 10000 as "12k"; exact in
// the tooltip). Class names are truncated to 12 characters (full name in a tooltip). Above 20
// classes the names and numbers are dropped for class-index ticks and, above 200, neighbouring
// classes are pooled into blocks so the SVG stays small. Missing cells count as 0.
std::string heat_map(std::string_view title, const std::vector<std::string>& row_labels,
                     const std::vector<std::string>& col_labels,
                     const std::vector<std::vector<int64_t>>& counts);

struct HBarItem {
  std::string label;  // e.g. ONNX node name "/features/features.0/Conv"; truncation keeps the end
  double value = 0;
  std::string note;  // optional short text after the value, e.g. "Conv" or "2:4"
  size_t color = 0;
};

// One horizontal bar per item, in the given order (time / SQNR / sparsity per layer), on a value
// axis from min(0, min value) labelled value_label. Negative values extend left of 0; NaN reads
// "n/a" and infinities "∞"/"−∞" with no bar. Sized for up to a few hundred items.
std::string hbar_chart(std::string_view title, std::string_view value_label,
                       const std::vector<HBarItem>& items,
                       std::string_view value_format = "{:.1f}");

}  // namespace hone::report
