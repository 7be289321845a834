// hone report and hone compare from the command line: files written, exit codes, bad input,
// and the HTML report rendered by headless Chromium (Debian's chromium, installed by
// `scripts/bootstrap --tests`), with xmllint as a second parser of every SVG, page and JUnit file.
#include "cli_util.h"
#include "png_check.h"
#include "report/charts.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <regex>

namespace fs = std::filesystem;
using hone::test::quote;
using hone::test::run_hone;
using nlohmann::json;

namespace {

const fs::path kFixtures = fs::path(HONE_SOURCE_DIR) / "tests/data/report";

std::string fixtures(std::initializer_list<const char*> stems) {
  std::string s;
  for (const char* stem : stems) s += fmt::format(" {}", quote(kFixtures / fmt::format("{}.json", stem)));
  return s;
}

int shell(const std::string& cmd) {
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

bool xmllint_ok(const fs::path& p) { return shell(fmt::format("xmllint --noout '{}' 2>/dev/null", p.string())) == 0; }

// Renders `page` in headless Chromium at width x height; returns Chromium's exit code.
int chromium(const std::string& args, const fs::path& profile, const fs::path& out) {
  return shell(fmt::format("timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking "
                           "--hide-scrollbars --user-data-dir='{}' {} >'{}' 2>/dev/null",
                           profile.string(), args, out.string()));
}

}  // namespace

TEST_CASE("hone report writes Markdown with SVG charts and a self-contained HTML page", "[report]") {
  const fs::path dir = hone::test::scratch_dir("report", "md_html");
  const auto r = run_hone("report" + fixtures({"fp32", "bn-folded", "int8", "prune-2of4"}) + " -o " +
                          quote(dir / "report.md") + " -o " + quote(dir / "report.html"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string md = hone::test::slurp(dir / "report.md");
  // Every linked chart exists and parses as XML (xmllint: a second, independent parser).
  const std::regex link(R"(\]\((report-[a-z0-9-]+\.svg)\))");
  int charts = 0;
  for (auto it = std::sregex_iterator(md.begin(), md.end(), link); it != std::sregex_iterator(); ++it, ++charts) {
    const fs::path svg = dir / (*it)[1].str();
    INFO(svg);
    CHECK(fs::exists(svg));
    CHECK(xmllint_ok(svg));
  }
  CHECK(charts == 3 + 4 + 1 + 1);  // summary charts, 4 confusion matrices, SQNR (int8), sparsity (2:4)
  CHECK(md.find("| fmnist-int8-minmax | host-reference |") != std::string::npos);
  CHECK(xmllint_ok(dir / "report.html"));

  // Without -o: the summary table as Markdown on stdout.
  const auto s = run_hone("report" + fixtures({"fp32", "int8"}) + " --baseline fmnist-int8-minmax");
  CHECK(s.exit_code == 0);
  CHECK(s.out.find("| fmnist-int8-minmax (baseline) |") != std::string::npos);
  CHECK(s.out.find("3.71x larger") != std::string::npos);
}

TEST_CASE("the HTML report renders in headless Chromium with every chart", "[report][chromium]") {
  INFO("chromium is missing: run scripts/bootstrap --tests");
  REQUIRE(shell("command -v chromium >/dev/null") == 0);
  const fs::path dir = hone::test::scratch_dir("report", "chromium");
  const auto r = run_hone("report" + fixtures({"fp32", "bn-folded", "int8", "prune-2of4"}) + " -o " +
                          quote(dir / "report.html"));
  REQUIRE(r.exit_code == 0);
  const std::string url = "file://" + (dir / "report.html").string();

  // Chromium's own DOM after parsing: every inline chart is an <svg> element there, none
  // dropped or nested into another by a parse error.
  REQUIRE(chromium("--dump-dom '" + url + "'", dir / "profile", dir / "dom.html") == 0);
  const std::string dom = hone::test::slurp(dir / "dom.html");
  const std::string page = hone::test::slurp(dir / "report.html");
  auto count = [](const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
    return n;
  };
  CHECK(count(page, "<svg ") == 9);
  CHECK(count(dom, "<svg ") == count(page, "<svg "));
  CHECK(count(dom, "</svg>") == count(page, "<svg "));
  CHECK(count(dom, "<figure ") == 9);

  // The screenshot: a real PNG of the requested size, with the charts' colours on it.
  const fs::path png = dir / "report.png";
  REQUIRE(chromium(fmt::format("--window-size=1280,3000 --screenshot='{}' '{}'", png.string(), url), dir / "profile",
                   dir / "shot.log") == 0);
  REQUIRE(fs::exists(png));
  const hone::test::Image img = hone::test::read_png(png);
  REQUIRE(img.problem == "");
  CHECK(img.width == 1280);
  CHECK(img.height == 3000);
  // The size chart's two series fill bars with palette colours 0 and 1; the page itself uses
  // neither, so hundreds of such pixels mean the charts were drawn.
  CHECK(img.count_color(hone::report::palette(0)) > 500);
  CHECK(img.count_color(hone::report::palette(1)) > 500);
}

TEST_CASE("hone run with several targets writes the cross-target report", "[report]") {
  const fs::path dir = hone::test::scratch_dir("report", "targets");
  const auto r = run_hone(fmt::format("run {} --output-dir {} --set dataset.parameters.limit=20 -q",
                                      quote(fs::path(HONE_SOURCE_DIR) / "pipelines/fashion-mnist-runtimes.json"),
                                      quote(dir)));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(xmllint_ok(dir / "report.html"));
  const std::string md = hone::test::slurp(dir / "report.md");
  CHECK(md.find("| host-cpu (baseline) |") != std::string::npos);
  CHECK(md.find("| host-reference |") != std::string::npos);
  CHECK(md.find("| host-reference-onnx |") != std::string::npos);
  CHECK(fs::exists(dir / "report-latency.svg"));

  // A folder stands for its measurement files (how per-target CI jobs' results are merged).
  const auto again = run_hone("report " + quote(dir));
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("| host-reference-onnx |") != std::string::npos);
  const auto empty = run_hone("report " + quote(dir / "host-reference"));
  CHECK(empty.exit_code == 2);
  CHECK(empty.err.find("holds no *.measurements.json file") != std::string::npos);
}

TEST_CASE("hone report: bad input is one line, exit 2, nothing written", "[report]") {
  const fs::path dir = hone::test::scratch_dir("report", "bad");
  hone::test::write_text(dir / "notjson.json", "{ nope");
  hone::test::write_text(dir / "other.json", R"({"kind": "something.else"})");
  hone::test::write_text(dir / "badtype.json", R"({"kind": "hone.measurements", "latency": {"mean_ms": "fast"}})");
  struct Case {
    std::string args, needle;
  };
  const Case cases[] = {
      {quote(dir / "missing.json"), "missing.json"},
      {quote(dir / "notjson.json"), "notjson.json: not valid JSON"},
      {quote(dir / "other.json"), "not a measurements file"},
      {quote(dir / "badtype.json"), "badtype.json: /latency/mean_ms: expected a number, got \"fast\""},
      {fixtures({"fp32"}) + " --baseline nosuch", "--baseline 'nosuch' names no measurement"},
      {fixtures({"fp32", "int8"}) + " --names a", "--names has 1 names for 2 measurement files"},
      {fixtures({"fp32"}) + " -o " + quote(dir / "report.txt"), "expected a .md or .html name"},
  };
  for (const auto& c : cases) {
    const auto r = run_hone("report " + c.args + " -o " + quote(dir / "out.md"));
    INFO(c.args << "\n" << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err_lines() == 1);
    CHECK(r.err.find(c.needle) != std::string::npos);
  }
  CHECK_FALSE(fs::exists(dir / "out.md"));
  CHECK_FALSE(fs::exists(dir / "report.txt"));
}

TEST_CASE("hone compare: exit codes, table, JUnit and JSON", "[compare]") {
  const fs::path dir = hone::test::scratch_dir("compare", "cli");
  const std::string pair = fixtures({"fp32", "int8"});
  // The acceptance pair: int8 against fp32.
  auto r = run_hone("compare" + pair + " --min-speedup 100 --junit " + quote(dir / "fail.xml"));
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("verdict: FAIL") != std::string::npos);
  CHECK(xmllint_ok(dir / "fail.xml"));
  const std::string fail_xml = hone::test::slurp(dir / "fail.xml");
  CHECK(fail_xml.find("<testsuite name=\"hone compare: fmnist-int8-minmax vs fmnist-fp32\" tests=\"4\"") !=
        std::string::npos);

  r = run_hone("compare" + pair +
               " --max-accuracy-drop 1 --max-latency-increase 50% --max-size-increase 0% --max-peak-memory 256MiB "
               "--junit " + quote(dir / "pass.xml"));
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("verdict: PASS (4 checks)") != std::string::npos);
  CHECK(xmllint_ok(dir / "pass.xml"));
  const std::string pass_xml = hone::test::slurp(dir / "pass.xml");
  size_t cases = 0;
  for (size_t p = pass_xml.find("<testcase "); p != std::string::npos; p = pass_xml.find("<testcase ", p + 1)) ++cases;
  CHECK(cases == 4);
  CHECK(pass_xml.find("<failure") == std::string::npos);

  r = run_hone("compare" + pair + " --json --max-latency-increase off");
  CHECK(r.exit_code == 0);
  const json j = json::parse(r.out);
  CHECK(j["verdict"] == "pass");
  CHECK(j["checks"].size() == 2);

  // Different hosts: a warning on stderr.
  json other = json::parse(hone::test::slurp(kFixtures / "int8.json"));
  other["provenance"]["host"]["cpu_model"] = "Some Other CPU";
  hone::test::write_text(dir / "other-host.json", other.dump());
  r = run_hone("compare " + quote(kFixtures / "fp32.json") + " " + quote(dir / "other-host.json") +
               " --max-latency-increase 50%");
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("only meaningful on the same host") != std::string::npos);

  // Bad input: exit 2, one line.
  for (const std::string& args : {pair + " --min-speedup fast", pair + " --latency-metric p75",
                                 fmt::format(" {} {}", quote(dir / "nope.json"), quote(kFixtures / "fp32.json"))}) {
    r = run_hone("compare" + args);
    INFO(args << "\n" << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err_lines() == 1);
  }
}
