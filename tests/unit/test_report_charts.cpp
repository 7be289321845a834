// Report charts: every chart is one well-formed, self-contained SVG element with its title and
// axis labels, escapes user text, survives empty/degenerate/non-finite data without NaN or inf in
// a coordinate, and is deterministic. Also the XML checker the tests rely on.
#include <catch2/catch.hpp>
#include <cctype>
#include <cmath>
#include <limits>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "report/charts.h"
#include "xml_check.h"

using namespace hone::report;
using hone::test::xml_problem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

size_t count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

// First geometry attribute that is not plain numbers (path commands and rotate() aside), or any
// attribute value outside the caller's title mentioning nan/inf; "" if none.
std::string attr_problem(const std::string& svg) {
  static const std::set<std::string> geometry = {
      "x",  "y",  "x1", "y1",        "x2",      "y2",           "width",        "height",   "r",
      "cx", "cy", "d",  "transform", "viewBox", "stroke-width", "fill-opacity", "font-size"};
  // A hand scan, not std::regex: libstdc++'s regex recurses per character and overflows the
  // stack on a pooled heat map's path data (hundreds of KB) under ASan.
  for (size_t eq = svg.find("=\""); eq != std::string::npos; eq = svg.find("=\"", eq + 1)) {
    size_t start = eq;
    while (start > 0 && (std::isalpha(static_cast<unsigned char>(svg[start - 1])) || svg[start - 1] == '-')) --start;
    if (start == eq || start == 0 || !std::isspace(static_cast<unsigned char>(svg[start - 1]))) continue;
    const size_t close = svg.find('"', eq + 2);
    if (close == std::string::npos) return "unterminated attribute";
    const std::string name = svg.substr(start, eq - start), value = svg.substr(eq + 2, close - eq - 2);
    eq = close;
    if (name == "aria-label") continue;
    std::string lower;
    for (const char c : value)
      lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.find("nan") != std::string::npos || lower.find("inf") != std::string::npos)
      return name + "=\"" + value + "\"";
    std::string v = value;
    for (size_t r = v.find("rotate"); r != std::string::npos; r = v.find("rotate")) v.erase(r, 6);
    if (geometry.count(name) && v.find_first_not_of("0123456789.- MLZhvz()") != std::string::npos)
      return name + "=\"" + value + "\"";
  }
  return "";
}

// The shape every chart must have, whatever the data.
void check_svg(const std::string& svg) {
  INFO(svg.substr(0, 400));
  REQUIRE(xml_problem(svg) == "");
  CHECK(attr_problem(svg) == "");
  std::smatch m;
  REQUIRE(std::regex_search(
      svg, m,
      std::regex(
          R"re(^<svg xmlns="http://www\.w3\.org/2000/svg" width="(\d+)" height="(\d+)" viewBox="0 0 (\d+) (\d+)" role="img" aria-label="[^"]*" font-family="[^"]*sans-serif">\n<title>)re")));
  CHECK(std::stoi(m[1]) >= 760);
  CHECK(std::stoi(m[1]) <= 900);
  CHECK(std::stoi(m[2]) >= 90);
  CHECK(m[1] == m[3]);
  CHECK(m[2] == m[4]);
  CHECK(svg.find("<rect width=\"" + m[1].str() + "\" height=\"" + m[2].str() +
                 "\" fill=\"#ffffff\"/>") != std::string::npos);
  CHECK(svg.size() >= 7);
  CHECK(svg.substr(svg.size() - 7) == "</svg>\n");
  CHECK(svg.find("<script") == std::string::npos);
  CHECK(svg.find(" id=") == std::string::npos);
  CHECK(svg.find("href") == std::string::npos);
}

int svg_height(const std::string& svg) {
  std::smatch m;
  return std::regex_search(svg, m, std::regex(R"re(height="(\d+)")re")) ? std::stoi(m[1]) : -1;
}

bool has_text(const std::string& svg, const std::string& text) {
  return svg.find(">" + text + "<") != std::string::npos;
}

std::vector<BubblePoint> models() {
  return {{"resnet18 fp32", 12.4, 69.8, 46.8e6, 0},
          {"resnet18 int8", 5.1, 69.5, 11.7e6, 1},
          {"mobilenet_v2 int8", 2.1, 71.2, 3.5e6, 2},
          {"efficientnet_b0 with a really long variant name", 7.7, 77.7, 21e6, 3}};
}

}  // namespace

TEST_CASE("xml_problem accepts well-formed documents", "[charts][xml]") {
  CHECK(xml_problem("<a/>") == "");
  CHECK(xml_problem("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- c --><a x=\"1\" y='2'>t "
                    "&amp; &lt;&#38;&#x26;"
                    "<b z=\"&quot;&apos;\"/>ü > <![CDATA[<&]]><?pi x?></a >\n") == "");
  CHECK(xml_problem("  <svg:a\n  xmlns:svg=\"u\"\tk-1.b=\"v\"></svg:a>  ") == "");
}

TEST_CASE("xml_problem rejects malformed documents with the offset", "[charts][xml]") {
  CHECK(xml_problem("<a><b></a></b>") == "offset 6: end tag </a> does not match <b>");
  CHECK(xml_problem("<a x=1/>") == "offset 5: unquoted attribute value");
  CHECK(xml_problem("<a x=\"1\" x=\"2\"/>") == "offset 10: duplicate attribute x");
  CHECK(xml_problem("<a x=\"1\"y=\"2\"/>") == "offset 8: missing whitespace before attribute");
  CHECK(xml_problem("<a>&nbsp;</a>") == "offset 3: bad entity reference");
  CHECK(xml_problem("<a>AT&T</a>") == "offset 5: bad entity reference");
  CHECK(xml_problem("<a t=\"&#x;\"/>") == "offset 6: bad entity reference");
  CHECK(xml_problem("<a>1 < 2</a>") == "offset 6: raw '<' or missing element name");
  CHECK(xml_problem("<a t=\"<\"/>") == "offset 6: raw '<' in attribute value");
  CHECK(xml_problem("<a/><b/>") == "offset 4: second root element");
  CHECK(xml_problem("<a><b>") == "offset 6: unclosed element <b>");
  CHECK(xml_problem("<a x=\"1/>") == "offset 9: unterminated attribute value");
  CHECK(xml_problem("text<a/>") == "offset 0: content before the root element");
  CHECK(xml_problem("<a/>text") == "offset 4: content after the root element");
  CHECK(xml_problem("<a x/>") == "offset 4: attribute x has no value");
  CHECK(xml_problem("") == "offset 0: no root element");
  CHECK(xml_problem("</a>") == "offset 0: end tag </a> does not match any open element");
}

TEST_CASE("nice_ticks picks 1/2/5 steps with exact decimal values", "[charts]") {
  using V = std::vector<double>;
  CHECK(nice_ticks(0, 1) == V{0, 0.2, 0.4, 0.6, 0.8, 1.0});
  CHECK(nice_ticks(0, 7.3) == V{0, 2, 4, 6, 8});
  CHECK(nice_ticks(0.1, 0.7) == V{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7});  // 3 * 0.1 would be noise
  CHECK(nice_ticks(-23.5, 41.2) == V{-40, -20, 0, 20, 40, 60});
  CHECK(nice_ticks(10, 0) == V{0, 2, 4, 6, 8, 10});
  CHECK(nice_ticks(0, 100, 3) == V{0, 50, 100});
  CHECK(nice_ticks(0, 1e9) == V{0, 2e8, 4e8, 6e8, 8e8, 1e9});
  CHECK(nice_ticks(0.0012, 0.0047) == V{0.001, 0.002, 0.003, 0.004, 0.005});  // 5e-4 needs 9
  // Degenerate ranges widen instead of failing.
  CHECK(nice_ticks(5, 5) == V{4.4, 4.6, 4.8, 5.0, 5.2, 5.4, 5.6});
  CHECK(nice_ticks(0, 0) == V{0, 0.2, 0.4, 0.6, 0.8, 1.0});
  CHECK(nice_ticks(kNaN, 1) == V{0, 1});
  CHECK(nice_ticks(0, kInf) == V{0, 1});
  // Never more than max_ticks, always covering the range.
  for (const double hi : {0.37, 1.01, 5.01, 12.1, 99.9, 1234.5}) {
    const auto t = nice_ticks(-0.3, hi, 7);
    CHECK(t.size() >= 4);
    CHECK(t.size() <= 7);
    CHECK(t.front() <= -0.3);
    CHECK(t.back() >= hi);
  }
}

TEST_CASE("palette is a fixed colour-blind-safe cycle", "[charts]") {
  CHECK(palette(0) == "#0072b2");
  CHECK(palette(1) == "#e69f00");
  std::set<std::string> distinct;
  for (size_t i = 0; i < 8; ++i) {
    CHECK(std::regex_match(palette(i), std::regex("#[0-9a-f]{6}")));
    distinct.insert(palette(i));
  }
  CHECK(distinct.size() == 8);
  CHECK(palette(8) == palette(0));
  CHECK(palette(13) == palette(5));
}

TEST_CASE("bubble_chart draws labelled bubbles with area proportional to size", "[charts]") {
  auto pts = models();
  pts.push_back({"a <&\"> b", 3.0, 70.5, 1e6, 4});
  const std::string svg = bubble_chart("Accuracy vs latency", "mean latency (ms)",
                                       "top-1 accuracy (%)", "bubble area ∝ model file size", pts);
  check_svg(svg);
  CHECK(svg.find("aria-label=\"Accuracy vs latency\"") != std::string::npos);
  CHECK(has_text(svg, "Accuracy vs latency"));
  CHECK(has_text(svg, "mean latency (ms)"));
  CHECK(has_text(svg, "top-1 accuracy (%)"));
  CHECK(has_text(svg, "bubble area ∝ model file size"));
  CHECK(count(svg, "<circle") == 5);
  CHECK(svg.find("a &lt;&amp;&quot;&gt; b") != std::string::npos);
  CHECK(svg.find("a <&") == std::string::npos);
  // Long labels keep their start; the full text is in the tooltip.
  CHECK(svg.find(">efficientnet_b0 with a …<title>efficientnet_b0 with a really long variant "
                 "name</title>") != std::string::npos);
  // Latencies 2..12 ms put 0 on the x axis (0, 5, 10, 15); accuracies 69..78 % keep y tight.
  for (const char* t : {"0", "5", "10", "15", "68", "70", "72", "74", "76", "78"})
    CHECK(has_text(svg, t));
  CHECK(!has_text(svg, "66"));
  // Area, not radius, tracks size: 46.8 MB is 4x the area of 11.7 MB, so twice the radius.
  std::smatch big, small;
  REQUIRE(std::regex_search(svg, big, std::regex(R"re(r="([0-9.]+)" fill="#0072b2")re")));
  REQUIRE(std::regex_search(svg, small, std::regex(R"re(r="([0-9.]+)" fill="#e69f00")re")));
  CHECK(std::stod(big[1]) == Approx(2 * std::stod(small[1])).epsilon(0.01));
  CHECK(bubble_chart("Accuracy vs latency", "mean latency (ms)", "top-1 accuracy (%)",
                     "bubble area ∝ model file size", pts) == svg);
}

TEST_CASE("bubble_chart keeps a far-from-zero axis tight", "[charts]") {
  const std::string svg =
      bubble_chart("t", "x (ms)", "y (%)", "", {{"a", 100, 50, 1, 0}, {"b", 110, 60, 2, 1}});
  check_svg(svg);
  CHECK(!has_text(svg, "0"));
  CHECK(has_text(svg, "100"));
  CHECK(has_text(svg, "110"));
}

TEST_CASE("bubble_chart survives degenerate data", "[charts]") {
  const std::string empty = bubble_chart("Empty", "x", "y", "size", {});
  check_svg(empty);
  CHECK(has_text(empty, "no data"));
  CHECK(count(empty, "<circle") == 0);

  const std::string one = bubble_chart("One", "x", "y", "size", {{"only", 5, 5, 0, 0}});
  check_svg(one);
  CHECK(count(one, "<circle") == 1);
  CHECK(one.find(">only<title>") != std::string::npos);

  const std::string same = bubble_chart("Same", "x", "y", "size",
                                        {{"a", 1, 1, 0, 0}, {"b", 1, 1, 0, 1}, {"c", 1, 1, 0, 2}});
  check_svg(same);
  CHECK(count(same, "<circle") == 3);

  const std::string bad = bubble_chart("Bad", "x", "y", "size",
                                       {{"nan-x", kNaN, 1, 1, 0},
                                        {"inf-y", 1, kInf, 1, 0},
                                        {"ok", 2, 3, kNaN, 0},
                                        {"neg", 3, 4, -5, 0}});
  check_svg(bad);
  CHECK(count(bad, "<circle") == 2);
  CHECK(has_text(bad, "size · 2 point(s) not shown (non-finite x or y)"));

  const std::string all_bad = bubble_chart("All bad", "x", "y", "", {{"n", kNaN, kNaN, kNaN, 0}});
  check_svg(all_bad);
  CHECK(has_text(all_bad, "no data"));
}

TEST_CASE("box_plot draws quartiles, whiskers, mean and deduplicated outliers", "[charts]") {
  BoxSeries a{"fp32 <&\">", 9, 10, 10.5, 11, 12, 10.6, {}, 0};
  for (int i = 0; i < 5000; ++i)
    a.outliers.push_back(i % 3 == 0 ? 20.0 : i % 3 == 1 ? 20.001 : 25.0);
  BoxSeries b{"int8", 3, 4, 4.2, 4.5, 5, 4.3, {2.5, 6}, 1};
  const std::string svg = box_plot("Latency", "latency per inference (ms)", {a, b});
  check_svg(svg);
  CHECK(has_text(svg, "Latency"));
  CHECK(has_text(svg, "latency per inference (ms)"));
  CHECK(svg.find("fp32 &lt;&amp;&quot;&gt;") != std::string::npos);
  CHECK(has_text(svg, "int8"));
  CHECK(svg.find("whiskers = 1.5 × IQR") != std::string::npos);
  CHECK(svg.find("◆ = mean") != std::string::npos);
  // 20.0 and 20.001 share a pixel column: 5000 outliers of a become 2 dots, b adds 2.
  CHECK(count(svg, "<circle") == 4);
  CHECK(count(svg, "<path") == 2);  // one mean diamond per series
  CHECK(svg.find("int8: median 4.2, mean 4.3, quartiles 4 – 4.5, whiskers 3 – 5, 2 outlier(s)") !=
        std::string::npos);
  // Axis 2.5..25 gets 5-unit ticks.
  for (const char* t : {"0", "5", "10", "15", "20", "25"}) CHECK(has_text(svg, t));
  CHECK(box_plot("Latency", "latency per inference (ms)", {a, b}) == svg);

  // Thousands of distinct outliers cost at most one dot per pixel column.
  BoxSeries many{"many", 0, 1, 2, 3, 4, 2, {}, 2};
  for (int i = 0; i < 20000; ++i) many.outliers.push_back(4 + i * 0.01);
  const std::string dense = box_plot("Dense", "ms", {many});
  check_svg(dense);
  CHECK(count(dense, "<circle") <= 820);
  CHECK(count(dense, "<circle") >= 500);
}

TEST_CASE("box_plot survives degenerate data", "[charts]") {
  const std::string empty = box_plot("Empty", "ms", {});
  check_svg(empty);
  CHECK(has_text(empty, "no data"));
  const std::string flat = box_plot("Flat", "ms", {{"same", 7, 7, 7, 7, 7, 7, {}, 0}});
  check_svg(flat);
  CHECK(count(flat, "<path") == 1);
  const std::string holes =
      box_plot("Holes", "ms", {{"nan", kNaN, 1, kNaN, 2, kInf, kNaN, {kNaN, -kInf, 9}, 0}});
  check_svg(holes);
  CHECK(count(holes, "<circle") == 1);
  CHECK(count(holes, "<path") == 0);
  CHECK(holes.find("median n/a, mean n/a, quartiles 1 – 2, whiskers n/a – ∞, 3 outlier(s)") !=
        std::string::npos);
  const std::string none =
      box_plot("None", "ms", {{"nan", kNaN, kNaN, kNaN, kNaN, kNaN, kNaN, {}, 0}});
  check_svg(none);
  CHECK(has_text(none, "no data"));
}

TEST_CASE("bar_chart groups series per category with values at the bar ends", "[charts]") {
  const std::vector<std::string> cats = {"resnet18", "mobilenet <&\">", "squeezenet"};
  const std::vector<BarSeries> series = {{"file", {44.7, 13.62, std::nullopt}, 0},
                                         {"zstd-compressed", {41.25, 12.9}, 1}};  // one value short
  const std::string svg = bar_chart("Model size", "size (MB)", cats, series);
  check_svg(svg);
  CHECK(has_text(svg, "Model size"));
  CHECK(has_text(svg, "size (MB)"));
  CHECK(has_text(svg, "file"));
  CHECK(has_text(svg, "zstd-compressed"));
  CHECK(svg.find("mobilenet &lt;&amp;&quot;&gt;") != std::string::npos);
  for (const char* v : {"44.7", "13.6", "41.2", "12.9"}) CHECK(has_text(svg, v));
  CHECK(count(svg, ">n/a<") == 2);
  CHECK(svg.find("squeezenet – zstd-compressed: n/a") != std::string::npos);
  for (const char* t : {"0", "10", "20", "30", "40", "50"}) CHECK(has_text(svg, t));
  CHECK(bar_chart("Model size", "size (MB)", cats, series) == svg);

  // Custom format; a malformed one falls back to one decimal instead of throwing.
  CHECK(has_text(bar_chart("t", "v", {"a"}, {{"s", {2.5}, 0}}, "{:.2f} MB"), "2.50 MB"));
  CHECK(has_text(bar_chart("t", "v", {"a"}, {{"s", {2.5}, 0}}, "{:d}"), "2.5"));
  CHECK(has_text(bar_chart("t", "v", {"a"}, {{"s", {2.5}, 0}}, "{} {}"), "2.5"));
}

TEST_CASE("bar_chart survives degenerate data", "[charts]") {
  check_svg(bar_chart("No categories", "v", {}, {{"s", {}, 0}}));
  CHECK(has_text(bar_chart("No series", "v", {"a"}, {}), "no data"));
  const std::string zeros = bar_chart("Zeros", "v", {"a", "b"}, {{"s", {0.0, 0.0}, 0}});
  check_svg(zeros);
  CHECK(count(zeros, "fill=\"#222222\">0.0<") == 2);  // value texts, not the tick label
  const std::string odd =
      bar_chart("Odd", "v", {"a", "b", "c", "d"}, {{"s", {-3.0, kNaN, kInf, -kInf}, 0}});
  check_svg(odd);
  CHECK(has_text(odd, "-2.5"));  // the axis reaches below 0 for the negative bar
  CHECK(odd.find("text-anchor=\"end\">-3.0<") != std::string::npos);  // written left of its bar
  CHECK(has_text(odd, "n/a"));
  CHECK(has_text(odd, "∞"));
  CHECK(has_text(odd, "−∞"));
}

TEST_CASE("heat_map colours cells by row fraction and shows counts", "[charts]") {
  const std::vector<std::string> names = {"cat", "dog", "a very long class name <&>"};
  const std::vector<std::vector<int64_t>> counts = {{50, 0, 0}, {3, 17, 0}, {1, 2, 12345}};
  const std::string svg = heat_map("Confusion", names, names, counts);
  check_svg(svg);
  CHECK(has_text(svg, "Confusion"));
  CHECK(has_text(svg, "true class"));
  CHECK(has_text(svg, "predicted class"));
  // A whole row in one cell: darkest blue, white text; small counts stay dark on light.
  CHECK(std::regex_search(
      svg,
      std::regex(
          R"re(fill="#08306b" stroke="#ffffff"><title>true cat → predicted cat: 50 \(100\.0% of row\))re")));
  CHECK(std::regex_search(svg, std::regex(R"re(fill="#ffffff" text-anchor="middle">50</text>)re")));
  CHECK(std::regex_search(svg, std::regex(R"re(fill="#222222" text-anchor="middle">3</text>)re")));
  CHECK(std::regex_search(svg, std::regex(R"re(fill="#ffffff" text-anchor="middle">17</text>)re")));
  CHECK(count(svg, ">0</text>") == 3);
  CHECK(has_text(svg, "12k"));  // abbreviated in the cell, exact in the tooltip
  CHECK(svg.find(": 12345 (99.98% of row)") == std::string::npos);
  CHECK(svg.find(": 12345 (100.0% of row)") != std::string::npos);
  // Names truncate to 12 code points; the full (escaped) name is the tooltip.
  CHECK(svg.find(">a very long…<title>a very long class name &lt;&amp;&gt;</title>") !=
        std::string::npos);
  CHECK(heat_map("Confusion", names, names, counts) == svg);
}

TEST_CASE("heat_map drops numbers and pools classes for large matrices", "[charts]") {
  std::vector<std::vector<int64_t>> c50(50, std::vector<int64_t>(50, 1));
  for (size_t i = 0; i < 50; ++i) c50[i][i] = 100;
  const std::string mid = heat_map("50 classes", {}, {}, c50);
  check_svg(mid);
  CHECK(!has_text(mid, "100"));
  CHECK(has_text(mid, "true class (index)"));
  CHECK(mid.find("50 × 50 classes: names and counts omitted") != std::string::npos);

  // Dense 1000 x 1000 counts: pooled 7 x 7 into one path per shade, so the SVG stays small.
  std::vector<std::vector<int64_t>> c1k(1000, std::vector<int64_t>(1000));
  for (size_t r = 0; r < 1000; ++r)
    for (size_t c = 0; c < 1000; ++c)
      c1k[r][c] = static_cast<int64_t>((r * 31 + c * 17) % 13 + (r == c ? 500 : 0));
  const std::string big = heat_map("1000 classes", {}, {}, c1k);
  check_svg(big);
  CHECK(big.size() < 800'000);
  CHECK(count(big, "<path") <= 64);
  CHECK(big.find("each cell pools 7 × 7 classes") != std::string::npos);
  CHECK(has_text(big, "800"));
}

TEST_CASE("heat_map survives degenerate data", "[charts]") {
  CHECK(has_text(heat_map("Empty", {}, {}, {}), "no data"));
  check_svg(heat_map("Empty", {}, {}, {}));
  // Ragged counts, missing names, all-zero rows and negative counts.
  const std::string odd = heat_map("Odd", {"x"}, {}, {{0, 0}, {-5, 3, 9}});
  check_svg(odd);
  CHECK(has_text(odd, "-5"));
  CHECK(has_text(odd, "9"));
  CHECK(has_text(odd, "2"));  // missing column name falls back to the index
}

TEST_CASE("hbar_chart handles negative and non-finite values and long layer names", "[charts]") {
  const std::string long_name = "/features/features.0/features.0.0/block/with/many/parts/Conv";
  const std::vector<HBarItem> items = {{long_name, 35.25, "Conv", 0},
                                       {"/fc/Gemm", -4.5, "Gemm", 1},
                                       {"nan <&\">", kNaN, "", 2},
                                       {"inf", kInf, "", 0},
                                       {"-inf", -kInf, "2:4", 0}};
  const std::string svg = hbar_chart("SQNR per layer", "SQNR (dB)", items);
  check_svg(svg);
  CHECK(has_text(svg, "SQNR per layer"));
  CHECK(has_text(svg, "SQNR (dB)"));
  // Truncation keeps the end of the node name; the whole name is the tooltip.
  CHECK(svg.find(">…features.0.0/block/with/many/parts/Conv<title>" + long_name + "</title>") !=
        std::string::npos);
  CHECK(has_text(svg, "35.2 · Conv"));
  CHECK(has_text(svg, "-4.5 · Gemm"));
  CHECK(svg.find(">n/a<title>nan &lt;&amp;&quot;&gt;: n/a</title>") != std::string::npos);
  CHECK(svg.find(">∞<title>") != std::string::npos);
  CHECK(svg.find(">−∞ · 2:4<title>") != std::string::npos);
  CHECK(count(svg, "fill=\"#0072b2\"") == 1);  // only the finite item in colour 0 has a bar
  for (const char* t : {"-10", "0", "10", "20", "30", "40"}) CHECK(has_text(svg, t));
  CHECK(hbar_chart("SQNR per layer", "SQNR (dB)", items) == svg);
}

TEST_CASE("hbar_chart scales to hundreds of items and degenerate input", "[charts]") {
  std::vector<HBarItem> many;
  for (int i = 0; i < 300; ++i)
    many.push_back({"/layer" + std::to_string(i) + "/MatMul", i * 0.01, "", 0});
  const std::string svg = hbar_chart("Time per layer", "time (ms)", many, "{:.2f}");
  check_svg(svg);
  CHECK(count(svg, "<rect") >= 300);
  CHECK(svg_height(svg) > 300 * 14);
  CHECK(has_text(svg, "2.99"));
  CHECK(count(svg, ">3.0<") == 2);  // tall charts repeat the tick labels above the plot

  CHECK(has_text(hbar_chart("Empty", "ms", {}), "no data"));
  const std::string zeros = hbar_chart("Zeros", "ms", {{"a", 0, "", 0}, {"b", 0, "", 0}});
  check_svg(zeros);
  CHECK(count(zeros, "fill=\"#222222\">0.0<") == 2);
  const std::string all_nan = hbar_chart("NaN", "ms", {{"a", kNaN, "", 0}});
  check_svg(all_nan);
  CHECK(has_text(all_nan, "n/a"));
}

TEST_CASE("charts sanitise hostile label bytes", "[charts]") {
  // Control characters XML forbids and malformed UTF-8 must still give a valid document.
  const std::string hostile =
      std::string("bad\x01\x1f name \xff\xc3(") + "\xe2\x82" + " ]]> '&apos;";
  const std::string svg = hbar_chart(hostile, hostile, {{hostile, 1, hostile, 0}});
  check_svg(svg);
  CHECK(svg.find('\x01') == std::string::npos);
  CHECK(svg.find("\xef\xbf\xbd") != std::string::npos);  // U+FFFD stands in for the bad bytes
  CHECK(svg.find("&apos;&amp;apos;") != std::string::npos);
  check_svg(bubble_chart(hostile, hostile, hostile, hostile, {{hostile, 1, 1, 1, 0}}));
  check_svg(heat_map(hostile, {hostile}, {hostile}, {{1}}));
  check_svg(box_plot(hostile, hostile, {{hostile, 1, 2, 3, 4, 5, 3, {}, 0}}));
  check_svg(bar_chart(hostile, hostile, {hostile}, {{hostile, {1.0}, 0}}, hostile));
}
