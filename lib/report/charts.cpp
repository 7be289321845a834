#include "report/charts.h"

#include "report/text.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <set>

namespace hone::report {
namespace {

constexpr double kWidth = 820;
constexpr double kFont = 12;  // smallest text anywhere
constexpr double kTitleFont = 16;
constexpr const char* kInk = "#222222";
constexpr const char* kMuted = "#666666";
constexpr const char* kGrid = "#e6e6e6";
constexpr const char* kAxis = "#999999";
constexpr const char* kBand = "#f5f5f5";
constexpr const char* kFontFamily =
    "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif";
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------------------------------------
// Text: labels are arbitrary bytes from user files, so decoding must survive malformed UTF-8.


std::vector<size_t> code_point_starts(std::string_view s) {
  std::vector<size_t> starts;
  char32_t cp = 0;
  for (size_t i = 0; i < s.size(); i += utf8_next(s, i, cp)) starts.push_back(i);
  return starts;
}

// At most max_cp code points: the first (or, with keep_end, the last) max_cp - 1 plus "…".
std::string truncate(std::string_view s, size_t max_cp, bool keep_end = false) {
  const auto starts = code_point_starts(s);
  if (starts.size() <= max_cp || max_cp < 2) return std::string(s);
  if (keep_end) return "…" + std::string(s.substr(starts[starts.size() - (max_cp - 1)]));
  return std::string(s.substr(0, starts[max_cp - 1])) + "…";
}

// Rough width for layout: average sans-serif advance is a bit over half the font size.
double text_w(std::string_view s, double size = kFont) {
  return static_cast<double>(code_point_starts(s).size()) * size * 0.58;
}

double max_text_w(const std::vector<std::string>& texts) {
  double w = 0;
  for (const auto& t : texts) w = std::max(w, text_w(t));
  return w;
}

// Coordinates: fixed 2 decimals (trailing zeros trimmed) keep the output byte-identical and
// never let NaN/inf into an attribute.
std::string num(double v) {
  if (!std::isfinite(v)) v = 0;
  std::string s = fmt::format("{:.2f}", v);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

// Numbers in tooltips and legends.
std::string short_num(double v) {
  if (std::isnan(v)) return "n/a";
  if (std::isinf(v)) return v > 0 ? "∞" : "−∞";
  return fmt::format("{:.4g}", v == 0 ? 0.0 : v);
}

// fmt throws on a malformed format string, so the caller's is tried once up front.
std::string usable_format(std::string_view f) {
  try {
    (void)fmt::format(fmt::runtime(f), 1.5);
    return std::string(f);
  } catch (const fmt::format_error&) {
    return "{:.1f}";
  }
}

std::string value_text(double v, const std::string& f) {
  return std::isfinite(v) ? fmt::format(fmt::runtime(f), v) : short_num(v);
}

// ---------------------------------------------------------------------------------------------
// SVG builder: attribute strings are built here from numbers and constants only; every piece
// of caller text goes through xml_escape().

struct Text {
  double size = kFont;
  const char* anchor = "start";
  const char* fill = kInk;
  bool bold = false;
  double rotate = 0;  // degrees about the anchor point
  bool halo = false;  // white outline keeps labels readable over bubbles and grid lines
};

class Svg {
 public:
  Svg(double w, double h, std::string_view title) {
    w = std::ceil(w), h = std::ceil(h);
    out_ = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
        "viewBox=\"0 0 {0} {1}\" role=\"img\" aria-label=\"{2}\" font-family=\"{3}\">\n"
        "<title>{2}</title>\n<rect width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n",
        num(w), num(h), xml_escape(title), kFontFamily);
    const auto fits = static_cast<size_t>(std::max(10.0, (w - 32) / (kTitleFont * 0.62)));
    text(16, 26, truncate(title, fits), {.size = kTitleFont, .bold = true});
  }

  void el(std::string_view tag, std::string_view attrs, std::string_view tip = {}) {
    if (tip.empty())
      out_ += fmt::format("<{} {}/>\n", tag, attrs);
    else
      out_ += fmt::format("<{0} {1}><title>{2}</title></{0}>\n", tag, attrs, xml_escape(tip));
  }
  void rect(double x, double y, double w, double h, std::string_view style,
            std::string_view tip = {}) {
    el("rect",
       fmt::format("x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" {}", num(x), num(y),
                   num(std::max(0.0, w)), num(std::max(0.0, h)), style),
       tip);
  }
  void line(double x1, double y1, double x2, double y2, std::string_view stroke, double width = 1) {
    el("line",
       fmt::format("x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{}\"",
                   num(x1), num(y1), num(x2), num(y2), stroke, num(width)));
  }
  void circle(double cx, double cy, double r, std::string_view style, std::string_view tip = {}) {
    el("circle", fmt::format("cx=\"{}\" cy=\"{}\" r=\"{}\" {}", num(cx), num(cy), num(r), style),
       tip);
  }
  void text(double x, double y, std::string_view s, const Text& t = {}, std::string_view tip = {}) {
    out_ += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"{}\"", num(x), num(y),
                        num(t.size), t.fill);
    if (std::string_view(t.anchor) != "start") out_ += fmt::format(" text-anchor=\"{}\"", t.anchor);
    if (t.bold) out_ += " font-weight=\"bold\"";
    if (t.rotate != 0)
      out_ += fmt::format(" transform=\"rotate({} {} {})\"", num(t.rotate), num(x), num(y));
    if (t.halo)
      out_ +=
          " stroke=\"#ffffff\" stroke-width=\"3\" stroke-linejoin=\"round\" paint-order=\"stroke\"";
    // fmt, not operator+: GCC 12 -O3 raises a false -Wrestrict on chained string concatenation.
    out_ += fmt::format(">{}", xml_escape(s));
    if (!tip.empty()) out_ += fmt::format("<title>{}</title>", xml_escape(tip));
    out_ += "</text>\n";
  }
  std::string done() const { return out_ + "</svg>\n"; }

 private:
  std::string out_;
};

std::string no_data(std::string_view title) {
  Svg s(kWidth, 100, title);
  s.text(kWidth / 2, 68, "no data", {.anchor = "middle", .fill = kMuted});
  return s.done();
}

// ---------------------------------------------------------------------------------------------
// Scales and axes.

struct Area {
  double x0, y0, x1, y1;
};

// Maps the domain [d0, d1] linearly onto [r0, r1]; a collapsed domain maps to the middle.
struct Scale {
  double d0, d1, r0, r1;
  double operator()(double v) const {
    const double t = d1 == d0 ? 0.5 : (v - d0) / (d1 - d0);
    return r0 + t * (r1 - r0);
  }
};

double exact_pow10(int e) {
  double p = 1;
  for (int i = 0; i < e && i < 400; ++i) p *= 10;
  return p;
}

// All ticks share the decimals the step needs ("0.5", "1.0"); huge or tiny magnitudes use %g.
std::vector<std::string> tick_labels(const std::vector<double>& ticks) {
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1;
  double big = 0;
  for (const double t : ticks) big = std::max(big, std::abs(t));
  const bool sane = step > 0 && std::isfinite(step);  // not so for nice_ticks' {lo, hi} fallback
  const int decimals =
      sane ? std::clamp(-static_cast<int>(std::floor(std::log10(step) + 1e-9)), 0, 12) : 0;
  std::vector<std::string> out;
  for (double t : ticks) {
    t = t == 0 ? 0.0 : t;  // no "-0"
    out.push_back(!sane || big >= 1e9 || step < 1e-6 ? fmt::format("{:g}", t)
                                                     : fmt::format("{:.{}f}", t, decimals));
  }
  return out;
}

// Vertical grid lines, tick labels under the plot (and over it for tall charts), axis title.
void x_axis(Svg& s, const Scale& x, const std::vector<double>& ticks, const Area& a,
            std::string_view label, bool labels_on_top = false) {
  const auto names = tick_labels(ticks);
  for (size_t i = 0; i < ticks.size(); ++i) {
    const double px = x(ticks[i]);
    // A zero line inside the range anchors negative bars visually.
    s.line(px, a.y0, px, a.y1, ticks[i] == 0 && i > 0 ? kAxis : kGrid);
    s.text(px, a.y1 + 16, names[i], {.anchor = "middle", .fill = kMuted});
    if (labels_on_top) s.text(px, a.y0 - 6, names[i], {.anchor = "middle", .fill = kMuted});
  }
  s.line(a.x0, a.y1, a.x1, a.y1, kAxis);
  s.text((a.x0 + a.x1) / 2, a.y1 + 36, label, {.anchor = "middle"});
}

void y_axis(Svg& s, const Scale& y, const std::vector<double>& ticks, const Area& a,
            std::string_view label) {
  const auto names = tick_labels(ticks);
  for (size_t i = 0; i < ticks.size(); ++i) {
    const double py = y(ticks[i]);
    s.line(a.x0, py, a.x1, py, kGrid);
    s.text(a.x0 - 8, py + 4, names[i], {.anchor = "end", .fill = kMuted});
  }
  s.line(a.x0, a.y0, a.x0, a.y1, kAxis);
  const double tx = a.x0 - 8 - max_text_w(names) - 12;
  s.text(tx, (a.y0 + a.y1) / 2, label, {.anchor = "middle", .rotate = -90});
}

std::string fill(std::string_view color, double opacity = 1) {
  return opacity >= 1 ? fmt::format("fill=\"{}\"", color)
                      : fmt::format("fill=\"{}\" fill-opacity=\"{}\"", color, num(opacity));
}

// ---------------------------------------------------------------------------------------------
// Horizontal value bars, shared by bar_chart and hbar_chart.

struct ValueBar {
  double value;      // NaN/inf: text only, no bar
  std::string text;  // written past the bar end
  std::string tip;
};

// Value axis from min(0, lo) to max(0, hi) over the finite values, inset on each side by the
// widest text that has to fit past a bar end there.
std::pair<std::vector<double>, Scale> value_axis(const std::vector<ValueBar>& bars, double x0,
                                                 double x1) {
  double lo = 0, hi = 0, pad_l = 0, pad_r = 0;
  for (const auto& b : bars) {
    const bool neg = std::isfinite(b.value) && b.value < 0;
    if (std::isfinite(b.value)) lo = std::min(lo, b.value), hi = std::max(hi, b.value);
    double& pad = neg ? pad_l : pad_r;
    pad = std::max(pad, text_w(b.text) + 8);
  }
  const double cap = (x1 - x0) * 0.35;
  auto ticks = nice_ticks(lo, hi, 8);
  Scale x{ticks.front(), ticks.back(), x0 + std::min(pad_l, cap), x1 - std::min(pad_r, cap)};
  return {std::move(ticks), x};
}

void value_bar(Svg& s, const Scale& x, double y, double h, const ValueBar& b,
               std::string_view color) {
  const double zero = x(0), mid = y + h / 2 + 4;
  if (!std::isfinite(b.value)) {
    s.text(zero + 4, mid, b.text, {.fill = kMuted}, b.tip);
    return;
  }
  const double end = x(b.value);
  s.rect(std::min(zero, end), y, std::abs(end - zero), h, fill(color), b.tip);
  if (b.value < 0)
    s.text(end - 4, mid, b.text, {.anchor = "end"});
  else
    s.text(end + 4, mid, b.text);
}

// Swatch + name entries left to right, wrapping; returns the y below the legend. A null `s`
// only measures, so the chart height can be known before drawing.
double legend(Svg* s, const std::vector<std::pair<std::string, std::string>>& entries, double x0,
              double x1, double y) {
  double x = x0;
  for (const auto& [name, color] : entries) {
    const std::string shown = truncate(name, 30);
    const double w = 12 + 6 + text_w(shown) + 18;
    if (x > x0 && x + w > x1) x = x0, y += 20;
    if (s) {
      s->rect(x, y - 10, 12, 12, fill(color), name);
      s->text(x + 18, y, shown);
    }
    x += w;
  }
  return y + 10;
}

// Sequential white -> dark blue (ColorBrewer "Blues") for t in [0, 1].
std::string blues(double t) {
  static constexpr std::array<std::array<double, 3>, 5> kStops = {
      {{247, 251, 255}, {198, 219, 239}, {107, 174, 214}, {33, 113, 181}, {8, 48, 107}}};
  t = std::isfinite(t) ? std::clamp(t, 0.0, 1.0) * 4 : 0;
  const size_t i = std::min<size_t>(static_cast<size_t>(t), 3);
  const double f = t - static_cast<double>(i);
  std::array<int, 3> c{};
  for (size_t k = 0; k < 3; ++k)
    c[k] = static_cast<int>(std::lround(kStops[i][k] + f * (kStops[i + 1][k] - kStops[i][k])));
  return fmt::format("#{:02x}{:02x}{:02x}", c[0], c[1], c[2]);
}

}  // namespace

std::string palette(size_t i) {
  // Okabe-Ito, reordered so the first colours are the most distinct on white; yellow last.
  static constexpr std::array<const char*, 8> kColors = {
      "#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#000000", "#f0e442"};
  return kColors[i % kColors.size()];
}

std::vector<double> nice_ticks(double lo, double hi, int max_ticks) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {0, 1};
  if (lo > hi) std::swap(lo, hi);
  max_ticks = std::clamp(max_ticks, 2, 50);
  // A range at the edge of double resolution would give tick indices beyond 2^53.
  if (hi - lo <= std::max(std::abs(lo), std::abs(hi)) * 1e-12) {
    const double d = std::abs(lo) * 0.1;
    if (lo == 0 && hi == 0)
      hi = 1;
    else
      lo -= d, hi += d;
  }
  const double range = hi - lo;
  if (!std::isfinite(range)) return {lo, hi};
  int e = static_cast<int>(std::floor(std::log10(range / (max_ticks - 1))));
  for (int tries = 0; tries < 4; ++tries, ++e) {
    const double p = exact_pow10(std::abs(e));
    for (const double m : {1.0, 2.0, 5.0}) {
      const double step = e >= 0 ? m * p : m / p;
      // Tolerance so 0.3 / 0.1 = 2.9999999999999996 still counts as on a tick.
      const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
      if (!(last - first + 1 <= max_ticks)) continue;  // also rejects NaN
      std::vector<double> ticks;
      // Integer * mantissa, then one multiply/divide by an exact power of ten: the nearest
      // double to the decimal value, so labels print cleanly.
      for (int j = 0; j <= static_cast<int>(last - first); ++j) {
        const double k = first + j;
        ticks.push_back(e >= 0 ? k * m * p : k * m / p);
      }
      if (ticks.size() < 2 || !std::isfinite(ticks.back())) break;
      return ticks;
    }
  }
  return {lo, hi};
}

// ---------------------------------------------------------------------------------------------

std::string bubble_chart(std::string_view title, std::string_view x_label, std::string_view y_label,
                         std::string_view size_caption, const std::vector<BubblePoint>& points) {
  std::vector<size_t> shown;
  double max_size = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    if (!std::isfinite(points[i].x) || !std::isfinite(points[i].y)) continue;
    shown.push_back(i);
    if (std::isfinite(points[i].size)) max_size = std::max(max_size, points[i].size);
  }
  if (shown.empty()) return no_data(title);

  // Zero is kept on an axis unless the data sits far from it (accuracies of 70-80% would be
  // squashed into a sliver).
  const auto axis_range = [&](double BubblePoint::*field) {
    double lo = points[shown[0]].*field, hi = lo;
    for (const size_t i : shown)
      lo = std::min(lo, points[i].*field), hi = std::max(hi, points[i].*field);
    if (lo >= 0 && (lo == hi || lo <= hi * 0.5)) lo = 0;
    if (hi <= 0 && (lo == hi || hi >= lo * 0.5)) hi = 0;
    return nice_ticks(lo, hi, 7);
  };
  const auto xt = axis_range(&BubblePoint::x), yt = axis_range(&BubblePoint::y);

  constexpr double kHeight = 560, kMaxR = 26, kMinR = 3;
  std::vector<double> radius(points.size(), kMinR);
  double pad = kMinR;
  for (const size_t i : shown) {
    const double sz = points[i].size;
    // Area, not radius, tracks size; kMinR keeps size-0 points visible.
    if (max_size > 0 && std::isfinite(sz) && sz > 0)
      radius[i] = std::max(kMinR, kMaxR * std::sqrt(sz / max_size));
    pad = std::max(pad, radius[i]);
  }
  const Area a{16 + 24 + max_text_w(tick_labels(yt)) + 8, 44, kWidth - 24, kHeight - 88};
  const Scale x{xt.front(), xt.back(), a.x0 + pad + 4, a.x1 - pad - 4};
  const Scale y{yt.front(), yt.back(), a.y1 - pad - 4, a.y0 + pad + 4};

  Svg s(kWidth, kHeight, title);
  x_axis(s, x, xt, a, x_label);
  y_axis(s, y, yt, a, y_label);

  // Big bubbles first so small ones stay on top and clickable for their tooltip.
  std::vector<size_t> order = shown;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t i, size_t j) { return radius[i] > radius[j]; });
  for (const size_t i : order) {
    const auto& p = points[i];
    const std::string c = palette(p.color);
    s.circle(x(p.x), y(p.y), radius[i],
             fmt::format("{} stroke=\"{}\" stroke-width=\"1.5\"", fill(c, 0.55), c),
             fmt::format("{}\n{}: {}\n{}: {}\nsize: {}", p.label, x_label, short_num(p.x), y_label,
                         short_num(p.y), short_num(p.size)));
  }

  // Greedy label placement: the first of a few spots around the bubble with the least overlap
  // with labels already placed, other bubbles and the plot edge.
  struct Box {
    double x0, y0, x1, y1;
  };
  const auto overlap = [](const Box& p, const Box& q) {
    return std::max(0.0, std::min(p.x1, q.x1) - std::max(p.x0, q.x0)) *
           std::max(0.0, std::min(p.y1, q.y1) - std::max(p.y0, q.y0));
  };
  std::vector<Box> placed, bubbles;
  for (const size_t i : shown) {
    const double r = radius[i];
    bubbles.push_back(
        {x(points[i].x) - r, y(points[i].y) - r, x(points[i].x) + r, y(points[i].y) + r});
  }
  const Box inside{a.x0, a.y0, a.x1, a.y1};
  for (size_t n = 0; n < shown.size(); ++n) {
    const auto& p = points[shown[n]];
    const std::string label = truncate(p.label, 24);
    const double cx = x(p.x), cy = y(p.y), r = radius[shown[n]], w = text_w(label), d = r * 0.7;
    struct Spot {
      double tx, ty;
      const char* anchor;
    };
    const std::array<Spot, 6> spots = {{{cx + r + 4, cy + 4, "start"},
                                        {cx - r - 4, cy + 4, "end"},
                                        {cx, cy - r - 5, "middle"},
                                        {cx, cy + r + 14, "middle"},
                                        {cx + d + 3, cy - d - 3, "start"},
                                        {cx + d + 3, cy + d + 12, "start"}}};
    double best_score = std::numeric_limits<double>::infinity();
    Spot best = spots[0];
    Box best_box{};
    for (const auto& sp : spots) {
      const double left = sp.anchor[0] == 's'   ? sp.tx
                          : sp.anchor[0] == 'e' ? sp.tx - w
                                                : sp.tx - w / 2;
      const Box b{left, sp.ty - 11, left + w, sp.ty + 3};
      double score = 50 * (w * 14 - overlap(b, inside));
      for (const auto& q : placed) score += 10 * overlap(b, q);
      for (size_t m = 0; m < bubbles.size(); ++m)
        if (m != n) score += overlap(b, bubbles[m]);
      if (score < best_score) best_score = score, best = sp, best_box = b;
    }
    placed.push_back(best_box);
    s.text(best.tx, best.ty, label, {.anchor = best.anchor, .halo = true}, p.label);
  }

  std::string caption(size_caption);
  if (shown.size() < points.size())
    caption += fmt::format("{}{} point(s) not shown (non-finite x or y)",
                           caption.empty() ? "" : " · ", points.size() - shown.size());
  s.text(a.x0, kHeight - 18, caption, {.fill = kMuted});
  return s.done();
}

std::string box_plot(std::string_view title, std::string_view value_label,
                     const std::vector<BoxSeries>& series) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  const auto extend = [&](double v) {
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  };
  for (const auto& b : series) {
    for (const double v : {b.whisker_low, b.q1, b.median, b.q3, b.whisker_high, b.mean}) extend(v);
    for (const double v : b.outliers) extend(v);
  }
  if (!(lo <= hi)) return no_data(title);

  std::vector<std::string> labels;
  for (const auto& b : series) labels.push_back(truncate(b.label, 28));
  constexpr double kRow = 40;
  const double label_w = std::clamp(max_text_w(labels), 30.0, 240.0);
  const Area a{16 + label_w + 12, 44, kWidth - 24, 44 + kRow * static_cast<double>(series.size())};
  const auto ticks = nice_ticks(lo, hi, 8);
  const Scale x{ticks.front(), ticks.back(), a.x0 + 6, a.x1 - 6};

  Svg s(kWidth, a.y1 + 76, title);
  for (size_t i = 1; i < series.size(); i += 2)
    s.rect(a.x0, a.y0 + kRow * i, a.x1 - a.x0, kRow, fill(kBand));
  x_axis(s, x, ticks, a, value_label);

  for (size_t i = 0; i < series.size(); ++i) {
    const auto& b = series[i];
    const std::string c = palette(b.color);
    const double cy = a.y0 + kRow * (static_cast<double>(i) + 0.5);
    const auto ok = [](auto... v) { return (std::isfinite(v) && ...); };
    s.text(a.x0 - 10, cy + 4, labels[i], {.anchor = "end"}, b.label);
    for (const auto& [from, to] :
         {std::pair{b.whisker_low, b.q1}, std::pair{b.q3, b.whisker_high}}) {
      if (!ok(from, to)) continue;
      s.line(x(from), cy, x(to), cy, kInk);
    }
    for (const double w : {b.whisker_low, b.whisker_high})
      if (ok(w)) s.line(x(w), cy - 7, x(w), cy + 7, kInk);
    // Outliers: one dot per pixel column, so thousands of samples cost at most a plot width.
    std::set<double> columns;
    for (const double v : b.outliers) {
      const double px = std::round(x(v));
      if (ok(px) && columns.insert(px).second) s.circle(px, cy, 2.2, fill(c, 0.6));
    }
    const std::string tip = fmt::format(
        "{}: median {}, mean {}, quartiles {} – {}, whiskers {} – {}, {} outlier(s)", b.label,
        short_num(b.median), short_num(b.mean), short_num(b.q1), short_num(b.q3),
        short_num(b.whisker_low), short_num(b.whisker_high), b.outliers.size());
    if (ok(b.q1, b.q3))
      s.rect(std::min(x(b.q1), x(b.q3)), cy - 10, std::abs(x(b.q3) - x(b.q1)), 20,
             fmt::format("{} stroke=\"{}\" stroke-width=\"1.5\"", fill(c, 0.3), c), tip);
    if (ok(b.median)) s.line(x(b.median), cy - 10, x(b.median), cy + 10, kInk, 2.5);
    if (ok(b.mean)) {
      const double m = x(b.mean);
      s.el("path",
           fmt::format("d=\"M{0} {1}L{2} {3}L{0} {4}L{5} {3}Z\" fill=\"{6}\" stroke=\"#ffffff\"",
                       num(m), num(cy - 5.5), num(m + 5.5), num(cy), num(cy + 5.5), num(m - 5.5),
                       kInk),
           tip);
    }
  }
  s.text(a.x0, a.y1 + 60,
         "box = quartiles (Q1–Q3), line = median, whiskers = 1.5 × IQR, dots = outliers, ◆ = mean",
         {.fill = kMuted});
  return s.done();
}

std::string bar_chart(std::string_view title, std::string_view value_label,
                      const std::vector<std::string>& categories,
                      const std::vector<BarSeries>& series, std::string_view value_format) {
  if (categories.empty() || series.empty()) return no_data(title);
  const std::string f = usable_format(value_format);
  const size_t nc = categories.size(), ns = series.size();

  std::vector<ValueBar> bars;  // [category * ns + series]
  for (size_t c = 0; c < nc; ++c)
    for (const auto& se : series) {
      const auto v = c < se.values.size() ? se.values[c] : std::nullopt;
      const double value = v ? *v : kNaN;
      const std::string text = v ? value_text(value, f) : "n/a";
      bars.push_back({value, text, fmt::format("{} – {}: {}", categories[c], se.name, text)});
    }

  std::vector<std::string> labels;
  for (const auto& c : categories) labels.push_back(truncate(c, 28));
  const double label_x = 16 + std::clamp(max_text_w(labels), 30.0, 240.0);
  std::vector<std::pair<std::string, std::string>> entries;
  for (const auto& se : series) entries.emplace_back(se.name, palette(se.color));

  constexpr double kBar = 16, kGap = 2, kPad = 10;
  const double band = static_cast<double>(ns) * (kBar + kGap) - kGap + 2 * kPad;
  const double top = legend(nullptr, entries, label_x + 12, kWidth - 24, 50) + 8;
  const Area a{label_x + 12, top, kWidth - 24, top + band * static_cast<double>(nc)};
  const auto [ticks, x] = value_axis(bars, a.x0, a.x1);

  Svg s(kWidth, a.y1 + 52, title);
  legend(&s, entries, a.x0, a.x1, 50);
  for (size_t c = 1; c < nc; c += 2) s.rect(a.x0, a.y0 + band * c, a.x1 - a.x0, band, fill(kBand));
  x_axis(s, x, ticks, a, value_label);
  for (size_t c = 0; c < nc; ++c) {
    const double y0 = a.y0 + band * c;
    s.text(a.x0 - 10, y0 + band / 2 + 4, labels[c], {.anchor = "end"}, categories[c]);
    for (size_t k = 0; k < ns; ++k)
      value_bar(s, x, y0 + kPad + (kBar + kGap) * k, kBar, bars[c * ns + k],
                palette(series[k].color));
  }
  return s.done();
}

std::string heat_map(std::string_view title, const std::vector<std::string>& row_labels,
                     const std::vector<std::string>& col_labels,
                     const std::vector<std::vector<int64_t>>& counts) {
  size_t nr = std::max(row_labels.size(), counts.size()), nc = col_labels.size();
  for (const auto& row : counts) nc = std::max(nc, row.size());
  if (nr == 0 || nc == 0) return no_data(title);
  const auto count = [&](size_t r, size_t c) -> int64_t {
    return r < counts.size() && c < counts[r].size() ? counts[r][c] : 0;
  };
  const auto name = [](const std::vector<std::string>& names, size_t i) {
    return i < names.size() ? names[i] : std::to_string(i);
  };
  // Doubles: sums of adversarial int64 counts must not overflow; negatives colour as 0.
  std::vector<double> row_sum(nr, 0);
  for (size_t r = 0; r < nr; ++r)
    for (size_t c = 0; c < nc; ++c)
      row_sum[r] += static_cast<double>(std::max<int64_t>(0, count(r, c)));

  const bool detailed = std::max(nr, nc) <= 20;
  // Above 150 classes a cell pools k x k classes: no pixel could show them and the SVG stays small.
  const size_t k = detailed ? 1 : (std::max(nr, nc) + 149) / 150;
  const size_t br = (nr + k - 1) / k, bc = (nc + k - 1) / k;

  std::vector<std::string> rl, cl;  // row / column labels: class names, or index ticks
  std::vector<double> rt, ct;
  if (detailed) {
    for (size_t r = 0; r < nr; ++r) rl.push_back(truncate(name(row_labels, r), 12));
    for (size_t c = 0; c < nc; ++c) cl.push_back(truncate(name(col_labels, c), 12));
  } else {
    for (const double t : nice_ticks(0, static_cast<double>(std::max(nr, nc) - 1), 6)) {
      if (t < static_cast<double>(nr)) rt.push_back(t), rl.push_back(fmt::format("{:g}", t));
      if (t < static_cast<double>(nc)) ct.push_back(t), cl.push_back(fmt::format("{:g}", t));
    }
  }
  const double row_w = max_text_w(rl), col_w = max_text_w(cl), left = 16 + 22 + row_w + 8;
  // 36 px fits a 4-character count at 12 px; 20 such columns widen the chart to ~900 px.
  const double cell =
      detailed ? std::clamp(std::floor((kWidth - left - 24) / static_cast<double>(nc)), 36.0, 52.0)
               : std::min(28.0, 600.0 / static_cast<double>(std::max(br, bc)));
  const double mw = cell * static_cast<double>(bc), mh = cell * static_cast<double>(br);
  const double width = std::max(kWidth, left + mw + 24);
  const double mx = std::max(left, (width - mw) / 2 + (left - 16) / 2), my = 48;
  const bool rotate = detailed && col_w > cell - 6;
  const double col_h = rotate ? col_w * 0.71 + 16 : 20;
  const double x_title_y = my + mh + col_h + 16, legend_y = x_title_y + 26;

  Svg s(width, legend_y + (detailed ? 24 : 44), title);
  if (detailed) {
    for (size_t r = 0; r < nr; ++r) {
      s.text(mx - 8, my + cell * (r + 0.5) + 4, rl[r], {.anchor = "end"}, name(row_labels, r));
      for (size_t c = 0; c < nc; ++c) {
        const int64_t n = count(r, c);
        const double t =
            row_sum[r] > 0 ? static_cast<double>(std::max<int64_t>(0, n)) / row_sum[r] : 0;
        const double x0 = mx + cell * c, y0 = my + cell * r;
        s.rect(x0, y0, cell, cell, fmt::format("fill=\"{}\" stroke=\"#ffffff\"", blues(t)),
               fmt::format("true {} → predicted {}: {} ({:.1f}% of row)", name(row_labels, r),
                           name(col_labels, c), n, 100 * t));
        // Up to 4 characters fit the smallest cell at 12 px.
        const double a = std::abs(static_cast<double>(n));
        const std::string shown =
            a < 1e4       ? std::to_string(n)
            : a < 999.5e3 ? fmt::format("{:.0f}k", static_cast<double>(n) / 1e3)
            : a < 9.95e6  ? fmt::format("{:.1f}M", static_cast<double>(n) / 1e6)
            : a < 999.5e6 ? fmt::format("{:.0f}M", static_cast<double>(n) / 1e6)
                          : fmt::format("{:.0e}", static_cast<double>(n));
        s.text(x0 + cell / 2, y0 + cell / 2 + 4, shown,
               {.anchor = "middle",
                .fill = t > 0.5  ? "#ffffff"
                        : n == 0 ? "#aaaaaa"
                                 : kInk});
      }
    }
    for (size_t c = 0; c < nc; ++c) {
      const double cx = mx + cell * (c + 0.5);
      if (rotate)
        s.text(cx + 4, my + mh + 12, cl[c], {.anchor = "end", .rotate = -45}, name(col_labels, c));
      else
        s.text(cx, my + mh + 16, cl[c], {.anchor = "middle"}, name(col_labels, c));
    }
  } else {
    // One path per shade (64 of them), runs of a shade along a row merged: even a dense
    // 150 x 150 grid stays a few hundred KB. Empty blocks stay background white.
    std::map<std::string, std::string> paths;  // shade -> path data; map order keeps output stable
    for (size_t r = 0; r < br; ++r) {
      double denom = 0;
      for (size_t rr = r * k; rr < std::min(nr, r * k + k); ++rr) denom += row_sum[rr];
      std::string run_color;
      size_t run_start = 0;
      for (size_t c = 0; c <= bc; ++c) {
        std::string color;
        if (c < bc && denom > 0) {
          double sum = 0;
          for (size_t rr = r * k; rr < std::min(nr, r * k + k); ++rr)
            for (size_t cc = c * k; cc < std::min(nc, c * k + k); ++cc)
              sum += static_cast<double>(std::max<int64_t>(0, count(rr, cc)));
          if (sum > 0) color = blues(std::ceil(sum / denom * 64) / 64);
        }
        if (c < bc && color == run_color) continue;
        const double w = cell * static_cast<double>(c - run_start);
        if (!run_color.empty())
          paths[run_color] += fmt::format("M{} {}h{}v{}h-{}z", num(mx + cell * run_start),
                                          num(my + cell * r), num(w), num(cell), num(w));
        run_color = color, run_start = c;
      }
    }
    for (const auto& [color, d] : paths)
      s.el("path", fmt::format("d=\"{}\" fill=\"{}\" shape-rendering=\"crispEdges\"", d, color));
    s.rect(mx, my, mw, mh, fmt::format("fill=\"none\" stroke=\"{}\"", kAxis));
    // Index ticks at the centre of the class they name.
    const double per_class = cell / static_cast<double>(k);
    for (size_t i = 0; i < rt.size(); ++i) {
      const double py = my + per_class * (rt[i] + 0.5);
      s.line(mx - 4, py, mx, py, kAxis);
      s.text(mx - 8, py + 4, rl[i], {.anchor = "end", .fill = kMuted});
    }
    for (size_t i = 0; i < ct.size(); ++i) {
      const double px = mx + per_class * (ct[i] + 0.5);
      s.line(px, my + mh, px, my + mh + 4, kAxis);
      s.text(px, my + mh + 16, cl[i], {.anchor = "middle", .fill = kMuted});
    }
  }
  const std::string suffix = detailed ? "" : " (index)";
  s.text(mx + mw / 2, x_title_y, "predicted class" + suffix, {.anchor = "middle"});
  s.text(mx - row_w - 18, my + mh / 2, "true class" + suffix, {.anchor = "middle", .rotate = -90});

  // Colour key in ten steps (a gradient would need an id, and ids clash when inlined twice).
  for (int i = 0; i < 10; ++i)
    s.rect(mx + 16.0 * i, legend_y - 10, 16, 12, fill(blues((i + 0.5) / 10)));
  s.rect(mx, legend_y - 10, 160, 12, fmt::format("fill=\"none\" stroke=\"{}\"", kAxis));
  s.text(mx + 170, legend_y, "0% → 100% of the true class's samples", {.fill = kMuted});
  if (!detailed)
    s.text(mx, legend_y + 22,
           fmt::format("{} × {} classes: names and counts omitted{}", nr, nc,
                       k > 1 ? fmt::format("; each cell pools {} × {} classes", k, k) : ""),
           {.fill = kMuted});
  return s.done();
}

std::string hbar_chart(std::string_view title, std::string_view value_label,
                       const std::vector<HBarItem>& items, std::string_view value_format) {
  if (items.empty()) return no_data(title);
  const std::string f = usable_format(value_format);
  std::vector<ValueBar> bars;
  std::vector<std::string> labels;
  for (const auto& it : items) {
    std::string text = value_text(it.value, f);
    if (!it.note.empty()) text += " · " + it.note;
    bars.push_back({it.value, text, it.label + ": " + text});
    labels.push_back(truncate(it.label, 40, true));
  }
  const size_t n = items.size();
  const double row = n <= 40 ? 20 : 16;
  const bool tall = n > 30;  // tick labels above too, so the top rows are readable
  const double label_x = 16 + std::clamp(max_text_w(labels), 30.0, 280.0);
  const double top = tall ? 62 : 44;
  const Area a{label_x + 12, top, kWidth - 24, top + row * static_cast<double>(n)};
  const auto [ticks, x] = value_axis(bars, a.x0, a.x1);

  Svg s(kWidth, a.y1 + 52, title);
  for (size_t i = 1; i < n; i += 2) s.rect(a.x0, a.y0 + row * i, a.x1 - a.x0, row, fill(kBand));
  x_axis(s, x, ticks, a, value_label, tall);
  for (size_t i = 0; i < n; ++i) {
    const double y0 = a.y0 + row * i;
    s.text(a.x0 - 10, y0 + row / 2 + 4, labels[i], {.anchor = "end"}, items[i].label);
    value_bar(s, x, y0 + 3, row - 6, bars[i], palette(items[i].color));
  }
  return s.done();
}

}  // namespace hone::report
