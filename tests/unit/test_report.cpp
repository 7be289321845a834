// hone report: reading measurement files, statistics, the summary table, the Markdown (golden)
// and HTML renderers. Fixtures in tests/data/report/ are real `hone run` outputs (200 test
// images) with the host fixed; three-classes.json is a hand-made 3-class file without sizes.
#include "test_paths.h"
#include "report/format.h"
#include "report/measurement.h"
#include "report/report.h"
#include "support/error.h"
#include "support/file_io.h"
#include "xml_check.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace hone;
using namespace hone::report;
using nlohmann::json;

namespace {

const fs::path kFixtures = fs::path(HONE_SOURCE_DIR) / "tests/data/report";

// Loads fixtures by stem with a file path relative to the fixtures folder, so rendered output
// does not depend on where the checkout lives.
std::vector<Measurement> fixtures(const std::vector<std::string>& stems) {
  std::vector<Measurement> ms;
  for (const auto& s : stems) {
    const json doc = json::parse(support::read_file(kFixtures / (s + ".json")));
    ms.push_back(measurement_from_json(doc, s + ".json"));
  }
  label_measurements(ms);
  return ms;
}

json fixture_json(const std::string& stem) { return json::parse(support::read_file(kFixtures / (stem + ".json"))); }

ErrorKind kind_of_error(const std::function<void()>& f, std::string* what = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (what) *what = e.what();
    return e.kind();
  }
  FAIL("no error thrown");
  return ErrorKind::Internal;
}

const std::vector<std::string>& row_of(const Table& t, const std::string& name) {
  for (const auto& r : t.rows) {
    if (r.at(0) == name) return r;
  }
  FAIL("no row " << name);
  return t.rows.front();
}

std::string cell(const Table& t, const std::string& row, const std::string& column) {
  const auto& r = row_of(t, row);
  for (size_t c = 0; c < t.header.size(); ++c) {
    if (t.header[c] == column) return r.at(c);
  }
  FAIL("no column " << column);
  return "";
}

}  // namespace

TEST_CASE("box_stats: Tukey quartiles, whiskers at data points, outliers beyond 1.5 IQR", "[report]") {
  // numpy: percentile([1..10, 100], [25, 50, 75]) = 3.5, 6, 8.5; IQR 5 -> fences -4 and 16.
  const BoxStats b = box_stats({100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  CHECK(b.count == 11);
  CHECK(b.q1 == 3.5);
  CHECK(b.median == 6.0);
  CHECK(b.q3 == 8.5);
  CHECK(b.whisker_low == 1.0);
  CHECK(b.whisker_high == 10.0);
  CHECK(b.outliers == std::vector<double>{100.0});
  CHECK(b.mean == Approx(155.0 / 11.0).epsilon(1e-15));

  const BoxStats low = box_stats({-50, 10, 11, 12, 13});  // q1 10, q3 12 -> fences 7 and 15
  CHECK(low.whisker_low == 10.0);
  CHECK(low.outliers == std::vector<double>{-50.0});

  const BoxStats one = box_stats({2.5});
  CHECK(one.q1 == 2.5);
  CHECK(one.whisker_high == 2.5);
  CHECK(one.outliers.empty());
  CHECK(box_stats({}).count == 0);
  CHECK(box_stats({NAN, 1.0}).count == 1);  // non-finite samples are dropped
}

TEST_CASE("format helpers: units, n/a, signed points", "[report]") {
  CHECK(format_bytes(1023) == "1023 B");
  CHECK(format_bytes(142720) == "139.4 KiB");
  CHECK(format_bytes(3500000) == "3.34 MiB");
  CHECK(format_bytes(std::nullopt) == "n/a");
  CHECK(format_count(950) == "950");
  CHECK(format_count(130890) == "130.9 k");
  CHECK(format_count(5719808) == "5.72 M");
  CHECK(format_count(1814073344) == "1.81 G");
  CHECK(format_percent(0.9267) == "92.67 %");
  CHECK(format_percent(0.0108, 1) == "1.1 %");
  CHECK(format_percent(NAN) == "n/a");
  CHECK(format_ms(1.69501) == "1.695");
  CHECK(format_ms(12.3456) == "12.35");
  CHECK(format_ms(250.06) == "250.1");
  CHECK(format_delta_pt(0.005) == "+0.50 pt");
  CHECK(format_delta_pt(-0.035) == "-3.50 pt");
  CHECK(format_delta_pt(-0.00001) == "±0.00 pt");
  CHECK(format_ratio(3.7115) == "3.71x");
  CHECK(format_ratio(std::nullopt) == "n/a");
}

TEST_CASE("measurement_from_json: fields, optional sections, per-layer values", "[report]") {
  const auto ms = fixtures({"int8", "random", "three-classes", "prune-2of4"});
  const Measurement& q = ms[0];
  CHECK(q.pipeline == "fmnist-int8-minmax");
  CHECK(q.target == "host-reference");
  CHECK(q.top1 == 0.945);
  CHECK(q.class_names.size() == 10);
  CHECK(q.confusion.size() == 10);
  CHECK(q.latency_samples.size() == 200);
  CHECK(q.file_bytes == 142720);
  CHECK(q.host == "Test CPU, 2 cores, Linux test x86_64");
  REQUIRE(q.passes.size() == 3);  // the implicit cleanup first
  CHECK(q.passes[0].implicit);
  CHECK(q.passes[1].type == "fold_batch_norm");
  CHECK(q.passes[2].type == "quantize_static");
  CHECK_FALSE(q.passes[2].implicit);
  CHECK(q.passes[1].nodes_before > q.passes[1].nodes_after);  // batch norms folded away
  // Only parameters that differ from the registered defaults are shown.
  CHECK(q.optimizer_chain == "fold_batch_norm → quantize_static");
  REQUIRE(q.layer_sqnr_db.size() == 13);
  CHECK(q.layer_sqnr_db[0].node == "/features/features.0/features.0.0/Conv");
  CHECK(q.layer_sqnr_db[0].note == "Conv");
  CHECK(q.layer_sqnr_db[0].value > 30.0);

  const Measurement& r = ms[1];
  CHECK_FALSE(r.top1.has_value());
  CHECK(r.quality_note == "the model wrapper does not classify");
  CHECK(r.optimizer_chain == "none");

  const Measurement& t = ms[2];
  CHECK(t.class_names == std::vector<std::string>{"cat", "dog", "bird"});
  CHECK_FALSE(t.file_bytes.has_value());
  CHECK_FALSE(t.peak_rss_bytes.has_value());

  const Measurement& p = ms[3];
  REQUIRE(p.layer_sparsity.size() == 4);  // the first conv (1 input channel) is skipped by 2:4
  CHECK(p.layer_sparsity[0].value == 0.5);
  CHECK(p.layer_sparsity[0].note == "2:4");
}

TEST_CASE("measurement_from_json: channel pruning reports the removed channel fraction", "[report]") {
  json doc = fixture_json("fp32");
  doc["optimizers"] = json::array({{{"type", "prune_channels"},
                                    {"parameters", {{"ratio", 0.25}}},
                                    {"detail",
                                     {{"layers", json::array({{{"node", "conv1"}, {"op", "Conv"},
                                                               {"channels_before", 32}, {"channels_after", 24}}})}}}}});
  const Measurement m = measurement_from_json(doc, "x.json");
  REQUIRE(m.layer_sparsity.size() == 1);
  CHECK(m.layer_sparsity[0].value == 0.25);
  CHECK(m.layer_sparsity[0].note == "channels");
  CHECK(m.optimizer_chain == "prune_channels");
}

TEST_CASE("measurement_from_json: the runtime profile becomes per-layer times", "[report]") {
  json doc = fixture_json("fp32");
  doc["profile"] = {{"layers", json::array({{{"node", "conv"}, {"op_type", "Conv"}, {"kernel", "im2col"}, {"mean_ms", 0.5}},
                                            {{"node", "fc"}, {"op_type", "Gemm"}, {"mean_ms", 0.25}}})}};
  const Measurement m = measurement_from_json(doc, "x.json");
  REQUIRE(m.layer_time_ms.size() == 2);
  CHECK(m.layer_time_ms[0].note == "Conv, im2col");
  CHECK(m.layer_time_ms[1].value == 0.25);
}

TEST_CASE("measurement_from_json: bad files are BadInput naming file and JSON path", "[report]") {
  std::string what;
  CHECK(kind_of_error([] { measurement_from_json(json::array(), "a.json"); }, &what) == ErrorKind::BadInput);
  CHECK(what.find("a.json") != std::string::npos);

  CHECK(kind_of_error([] { measurement_from_json({{"kind", "other"}}, "b.json"); }, &what) == ErrorKind::BadInput);
  CHECK(what.find("\"other\"") != std::string::npos);

  json doc = fixture_json("fp32");
  doc["schema_version"] = 2;
  CHECK(kind_of_error([&] { measurement_from_json(doc, "c.json"); }, &what) == ErrorKind::BadInput);
  CHECK(what.find("/schema_version") != std::string::npos);

  doc = fixture_json("fp32");
  doc["quality"]["top1"] = "high";
  CHECK(kind_of_error([&] { measurement_from_json(doc, "d.json"); }, &what) == ErrorKind::BadInput);
  CHECK(what == "d.json: /quality/top1: expected a number, got \"high\"");

  doc = fixture_json("fp32");
  doc["latency"]["samples_ms"][3] = nullptr;
  CHECK(kind_of_error([&] { measurement_from_json(doc, "e.json"); }, &what) == ErrorKind::BadInput);
  CHECK(what.find("/latency/samples_ms/3") != std::string::npos);

  doc = fixture_json("fp32");
  doc["quality"]["confusion_matrix"][1] = json::array({1, 2});
  CHECK(kind_of_error([&] { measurement_from_json(doc, "f.json"); }, &what) == ErrorKind::BadInput);
  CHECK(what.find("/quality/confusion_matrix/1") != std::string::npos);

  // Missing sections are not errors: everything is n/a.
  const Measurement bare = measurement_from_json({{"kind", "hone.measurements"}}, "g.json");
  CHECK_FALSE(bare.top1.has_value());
  CHECK_FALSE(bare.latency_mean.has_value());
  CHECK(bare.optimizer_chain == "none");
}

TEST_CASE("label_measurements and find_measurement", "[report]") {
  auto ms = fixtures({"fp32", "int8", "random"});
  CHECK(ms[0].label == "fmnist-fp32");
  CHECK(ms[1].label == "fmnist-int8-minmax");
  CHECK(find_measurement(ms, "") == 0);
  CHECK(find_measurement(ms, "fmnist-int8-minmax") == 1);
  CHECK(find_measurement(ms, "random.json") == 2);
  std::string what;
  CHECK(kind_of_error([&] { find_measurement(ms, "fmnist-int8-minmx"); }, &what) == ErrorKind::BadInput);
  CHECK(what.find("did you mean 'fmnist-int8-minmax'") != std::string::npos);
  CHECK(kind_of_error([&] { find_measurement(ms, "host-reference"); }, &what) == ErrorKind::BadInput);
  CHECK(what.find("matches 3 measurements") != std::string::npos);

  // Same pipeline, several targets: labelled by target.
  auto same = fixtures({"fp32", "fp32"});
  same[1].target = "aarch64";
  label_measurements(same);
  CHECK(same[0].label == "host-reference");
  CHECK(same[1].label == "aarch64");
  // The same file twice: numbered.
  auto twice = fixtures({"fp32", "fp32"});
  CHECK(twice[0].label == "host-reference");
  CHECK(twice[1].label == "host-reference #2");

  label_measurements(ms, {"a", "b", "c"});
  CHECK(ms[2].label == "c");
  CHECK(kind_of_error([&] { label_measurements(ms, {"a", "b"}); }) == ErrorKind::BadInput);
  CHECK(kind_of_error([&] { label_measurements(ms, {"a", "a", "b"}); }) == ErrorKind::BadInput);
}

TEST_CASE("summary_table: exact cells and deltas against the baseline", "[report]") {
  const auto ms = fixtures({"fp32", "int8", "prune-2of4", "random", "three-classes"});
  const Table t = summary_table(ms, 0);
  REQUIRE(t.rows.size() == 5);
  REQUIRE(t.header.size() == 18);
  const std::string base = "fmnist-fp32 (baseline)";
  CHECK(cell(t, base, "top-1") == "94.00 %");
  CHECK(cell(t, base, "Δ top-1") == "baseline");
  CHECK(cell(t, base, "mean ms") == "2.263");
  CHECK(cell(t, base, "p50 ms") == "1.901");
  CHECK(cell(t, base, "p99 ms") == "6.449");
  CHECK(cell(t, base, "inf/s") == "441.9");
  CHECK(cell(t, base, "model file") == "517.3 KiB");
  CHECK(cell(t, base, "zstd") == "478.2 KiB");
  CHECK(cell(t, base, "params") == "131.4 k");
  CHECK(cell(t, base, "MACs") == "5.72 M");
  CHECK(cell(t, base, "zero weights") == "0.0 %");
  CHECK(cell(t, base, "peak RSS") == "40.43 MiB");
  CHECK(cell(t, base, "optimizers") == "none");

  CHECK(cell(t, "fmnist-int8-minmax", "Δ top-1") == "+0.50 pt");
  CHECK(cell(t, "fmnist-int8-minmax", "speedup") == "0.82x");  // 2.2628 / 2.7757
  CHECK(cell(t, "fmnist-int8-minmax", "size vs base") == "3.71x smaller");
  CHECK(cell(t, "fmnist-int8-minmax", "zero weights") == "1.1 %");
  CHECK(cell(t, "fmnist-prune-2of4", "Δ top-1") == "-3.50 pt");
  CHECK(cell(t, "fmnist-prune-2of4", "speedup") == "1.25x");
  CHECK(cell(t, "fmnist-prune-2of4", "size vs base") == "1.01x smaller");
  CHECK(cell(t, "fmnist-prune-2of4", "optimizers") == "fold_batch_norm → prune_n_m");
  // No labels: no accuracy, but latency and size compare.
  CHECK(cell(t, "latency-random", "top-1") == "n/a");
  CHECK(cell(t, "latency-random", "Δ top-1") == "n/a");
  CHECK(cell(t, "latency-random", "speedup") == "1.12x");
  CHECK(cell(t, "latency-random", "size vs base") == "same");
  // Different class set: accuracy shown but not compared; missing size fields are n/a.
  CHECK(cell(t, "three-classes", "top-1") == "80.00 %");
  CHECK(cell(t, "three-classes", "Δ top-1") == "n/a");
  CHECK(cell(t, "three-classes", "model file") == "n/a");
  CHECK(cell(t, "three-classes", "size vs base") == "n/a");
  CHECK(cell(t, "three-classes", "peak RSS") == "n/a");

  const auto notes = comparison_notes(ms, 0);
  REQUIRE(notes.size() == 2);
  CHECK(notes[0] == "'latency-random' has no accuracy (the model wrapper does not classify): compared on latency "
                    "and size only.");
  CHECK(notes[1] == "'three-classes' has a different class set (3 classes) from the baseline (10 classes): "
                    "compared on latency and size only.");
}

TEST_CASE("summary_table: another baseline, and latency from another host is marked", "[report]") {
  auto ms = fixtures({"fp32", "int8"});
  ms[1].host = "Other CPU, 8 cores, Linux";
  const Table t = summary_table(ms, 1);
  CHECK(cell(t, "fmnist-int8-minmax (baseline)", "speedup") == "baseline");
  CHECK(cell(t, "fmnist-fp32", "Δ top-1") == "-0.50 pt");
  CHECK(cell(t, "fmnist-fp32", "speedup") == "1.23x †");
  CHECK(cell(t, "fmnist-fp32", "size vs base") == "3.71x larger");
  const auto notes = comparison_notes(ms, 1);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].rfind("† 'fmnist-fp32' ran on Test CPU", 0) == 0);
}

TEST_CASE("report Markdown matches the golden file", "[report]") {
  const auto ms = fixtures({"fp32", "bn-folded", "int8", "prune-2of4", "random", "three-classes"});
  const Document doc = build_report(ms, 0, "Fashion-MNIST CNN: fp32, BN-folded, int8, 2:4");
  const MarkdownOutput md = to_markdown(doc, "report");
  const fs::path golden = kFixtures / "golden" / "report.md";
  if (std::getenv("HONE_UPDATE_GOLDEN")) support::write_file_atomic(golden, md.markdown + "\n");
  CHECK(md.markdown + "\n" == support::read_file(golden));

  // Every chart the Markdown links exists and is one well-formed SVG document.
  std::vector<std::string> names;
  for (const auto& [name, svg] : md.files) {
    names.push_back(name);
    INFO(name);
    CHECK(md.markdown.find("](" + name + ")") != std::string::npos);
    CHECK(test::xml_problem(svg) == "");
    CHECK(svg.rfind("<svg", 0) == 0);
  }
  // Summary charts, then per measurement: confusion matrix (+ SQNR for int8, sparsity for 2:4).
  CHECK(names == std::vector<std::string>{
                     "report-accuracy-latency.svg", "report-latency.svg", "report-size.svg", "report-m1-confusion.svg",
                     "report-m2-confusion.svg", "report-m3-confusion.svg", "report-m3-layer-sqnr.svg",
                     "report-m4-confusion.svg", "report-m4-layer-sparsity.svg", "report-m6-confusion.svg"});
}

TEST_CASE("report HTML is one well-formed page with every chart inline", "[report]") {
  const auto ms = fixtures({"fp32", "int8", "random"});
  const Document doc = build_report(ms, 0);
  const std::string html = to_html(doc);
  const std::string doctype = "<!DOCTYPE html>\n";
  REQUIRE(html.rfind(doctype, 0) == 0);
  CHECK(test::xml_problem(std::string_view(html).substr(doctype.size())) == "");
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("http://") == html.find("http://www.w3.org/2000/svg"));  // no link but the SVG namespace
  size_t svgs = 0;
  for (size_t p = html.find("<svg"); p != std::string::npos; p = html.find("<svg", p + 1)) ++svgs;
  CHECK(svgs == to_markdown(doc, "r").files.size());
  CHECK(doc.title == "hone report: 3 measurements");
}

TEST_CASE("document renderers escape user text", "[report]") {
  Document doc{"a <b> & c", {}};
  doc.blocks.push_back(Block::paragraph("file `x_y*z.json` and a_b*c<d> _x"));
  doc.blocks.push_back(Block::table_of(Table{{"n|ame", "v"}, {false, true}, {{"x|y", "1"}}}));
  doc.blocks.push_back(Block::details("more <info>", {Block::code("{\"a\": \"<\"}")}));
  const std::string md = to_markdown(doc, "p").markdown;
  CHECK(md.find("# a &lt;b&gt; &amp; c") == 0);
  CHECK(md.find("file `x_y*z.json` and a_b\\*c&lt;d&gt; \\_x") != std::string::npos);
  CHECK(md.find("| n\\|ame | v |\n|---|---:|\n| x\\|y | 1 |") != std::string::npos);
  CHECK(md.find("<details><summary>more &lt;info&gt;</summary>") != std::string::npos);
  const std::string html = to_html(doc);
  CHECK(html.find("<p>file <code>x_y*z.json</code> and a_b*c&lt;d&gt; _x</p>") != std::string::npos);
  CHECK(html.find("<td class=\"num\">1</td>") != std::string::npos);
  CHECK(html.find("<pre><code>{&quot;a&quot;: &quot;&lt;&quot;}</code></pre>") != std::string::npos);
  CHECK(test::xml_problem(std::string_view(html).substr(16)) == "");
}

TEST_CASE("write_report: Markdown with SVGs beside it, or one HTML file; other names rejected", "[report]") {
  const fs::path dir = fs::temp_directory_path() / ("hone_report_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const auto ms = fixtures({"fp32", "int8"});
  const Document doc = build_report(ms, 0);
  const auto md_files = write_report(doc, dir / "sub" / "r.md");
  CHECK(md_files.back() == dir / "sub" / "r.md");
  CHECK(fs::exists(dir / "sub" / "r-accuracy-latency.svg"));
  const auto html_files = write_report(doc, dir / "r.html");
  CHECK(html_files == std::vector<fs::path>{dir / "r.html"});
  CHECK(kind_of_error([&] { write_report(doc, dir / "r.txt"); }) == ErrorKind::BadInput);
  CHECK_FALSE(fs::exists(dir / "r.txt"));
  fs::remove_all(dir);
}

TEST_CASE("report: per-layer time chart from a profile; hostile names stay well-formed", "[report]") {
  json doc = fixture_json("fp32");
  doc["profile"] = {{"layers", json::array({{{"node", "conv"}, {"op_type", "Conv"}, {"mean_ms", 0.5}},
                                            {{"node", "fc"}, {"op_type", "Gemm"}, {"mean_ms", 0.25}}})}};
  doc["name"] = "bad \xff\xfe name <&> \x01";
  std::vector<Measurement> ms{measurement_from_json(doc, "p.json")};
  label_measurements(ms);
  const Document d = build_report(ms, 0);
  const MarkdownOutput md = to_markdown(d, "r");
  bool found = false;
  for (const auto& [name, svg] : md.files) {
    if (name != "r-m1-layer-time.svg") continue;
    found = true;
    CHECK(svg.find("Time per layer") != std::string::npos);
    CHECK(svg.find("mean time per inference (ms)") != std::string::npos);
    CHECK(test::xml_problem(svg) == "");
  }
  CHECK(found);
  const std::string html = to_html(d);
  CHECK(test::xml_problem(std::string_view(html).substr(16)) == "");
  CHECK(html.find("bad \xEF\xBF\xBD\xEF\xBF\xBD name &lt;&amp;&gt;") != std::string::npos);
}
