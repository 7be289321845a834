// hone compare: every threshold passing and failing, skipped vs explicit checks on missing
// data, the host warning, threshold parsing, and the JUnit / JSON outputs.
#include "test_paths.h"
#include "report/compare.h"
#include "support/error.h"
#include "support/file_io.h"
#include "xml_check.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>

namespace fs = std::filesystem;
using namespace hone;
using namespace hone::report;
using nlohmann::json;

namespace {

Measurement fixture(const std::string& stem) {
  const fs::path p = fs::path(HONE_SOURCE_DIR) / "tests/data/report" / (stem + ".json");
  Measurement m = measurement_from_json(json::parse(support::read_file(p)), stem + ".json");
  m.label = stem;
  return m;
}

const Check& check_named(const Verdict& v, const std::string& prefix) {
  for (const auto& c : v.checks) {
    if (c.name.rfind(prefix, 0) == 0) return c;
  }
  FAIL("no check " << prefix);
  return v.checks.front();
}

// Only the named threshold on, at `value` (as the command line would set it).
CompareOptions only(const std::string& which, const std::string& value) {
  CompareOptions o;
  o.max_accuracy_drop_pt = {};
  o.max_latency_increase_pct = {};
  o.max_size_increase_pct = {};
  if (which == "accuracy") set_pt_limit(o.max_accuracy_drop_pt, "--max-accuracy-drop", value);
  if (which == "latency") set_percent_limit(o.max_latency_increase_pct, "--max-latency-increase", value);
  if (which == "size") set_percent_limit(o.max_size_increase_pct, "--max-size-increase", value);
  if (which == "speedup") set_speedup_limit(o.min_speedup, "--min-speedup", value);
  if (which == "memory") set_memory_limit(o, "--max-peak-memory", value);
  return o;
}

}  // namespace

// fp32: top-1 0.94, mean 2.26278 ms, 529702 B, peak 42393600 B.
// int8: top-1 0.945, mean 2.77572 ms, 142720 B, peak 59944960 B.
// prune-2of4: top-1 0.905, mean 1.81235 ms.
TEST_CASE("compare: accuracy drop threshold", "[compare]") {
  const auto fp32 = fixture("fp32"), pruned = fixture("prune-2of4"), int8 = fixture("int8");
  Verdict v = compare(fp32, pruned, only("accuracy", "3.5"));  // drop is exactly 3.5 pt
  CHECK(v.passed());
  CHECK(check_named(v, "accuracy").measured == Approx(3.5));
  CHECK(check_named(v, "accuracy").change == "-3.50 pt");
  v = compare(fp32, pruned, only("accuracy", "3.4pt"));
  CHECK_FALSE(v.passed());
  CHECK(check_named(v, "accuracy").message == "-3.50 pt (threshold >= -3.40 pt)");
  CHECK(compare(fp32, int8, only("accuracy", "0")).passed());  // int8 gained 0.5 pt
}

TEST_CASE("compare: latency increase and speedup thresholds", "[compare]") {
  const auto fp32 = fixture("fp32"), int8 = fixture("int8"), pruned = fixture("prune-2of4");
  // int8 is 22.67 % slower than fp32 on the reference runtime.
  Verdict v = compare(fp32, int8, only("latency", "23%"));
  CHECK(v.passed());
  CHECK(check_named(v, "latency increase (mean)").change == "+22.7 %");
  CHECK_FALSE(compare(fp32, int8, only("latency", "22")).passed());
  // Negative budget: the candidate must be at least 19 % faster; pruned is 19.9 % faster.
  CHECK(compare(fp32, pruned, only("latency", "-19%")).passed());
  CHECK_FALSE(compare(fp32, pruned, only("latency", "-20%")).passed());

  v = compare(fp32, pruned, only("speedup", "1.2x"));
  CHECK(v.passed());
  CHECK(check_named(v, "speedup").change == "1.25x");
  CHECK_FALSE(compare(fp32, pruned, only("speedup", "1.3")).passed());
  CHECK_FALSE(compare(fp32, int8, only("speedup", "100")).passed());

  // Another statistic: p50 of fp32 1.9011, pruned 1.7146 -> 1.109x.
  CompareOptions o = only("speedup", "1.1");
  o.latency_metric = "p50";
  v = compare(fp32, pruned, o);
  CHECK(v.passed());
  CHECK(check_named(v, "speedup (p50)").change == "1.11x");
}

TEST_CASE("compare: model size and peak memory thresholds", "[compare]") {
  const auto fp32 = fixture("fp32"), int8 = fixture("int8");
  CHECK(compare(fp32, int8, only("size", "0%")).passed());
  CHECK(check_named(compare(fp32, int8, only("size", "0%")), "model size").change == "-73.1 %");
  CHECK_FALSE(compare(fp32, int8, only("size", "-80%")).passed());
  CHECK_FALSE(compare(int8, fp32, only("size", "0%")).passed());

  // Peak RSS grows 41.4 % (42393600 -> 59944960).
  CHECK(compare(fp32, int8, only("memory", "42%")).passed());
  CHECK_FALSE(compare(fp32, int8, only("memory", "41%")).passed());
  CHECK(compare(fp32, int8, only("memory", "58MiB")).passed());   // 60817408 B
  CHECK_FALSE(compare(fp32, int8, only("memory", "59MB")).passed());  // 59000000 B
  const Verdict v = compare(fp32, int8, only("memory", "64k"));
  CHECK(check_named(v, "peak memory").threshold == "<= 64.0 KiB");
  CHECK_FALSE(v.passed());
}

TEST_CASE("compare: defaults, skipped and explicit checks on missing data", "[compare]") {
  const auto fp32 = fixture("fp32"), random = fixture("random"), three = fixture("three-classes");
  // Defaults: accuracy 0.5 pt, latency +10 %, size +0 %; speedup and memory off.
  Verdict v = compare(fp32, fp32, CompareOptions{});
  REQUIRE(v.checks.size() == 3);
  CHECK(v.passed());
  // No accuracy in the candidate: the default accuracy check is skipped...
  v = compare(fp32, random, CompareOptions{});
  CHECK(check_named(v, "accuracy").status == Check::Status::Skip);
  CHECK(check_named(v, "accuracy").message == "'random' has no accuracy");
  CHECK(v.passed());
  // ...an explicit one fails.
  CompareOptions o;
  set_pt_limit(o.max_accuracy_drop_pt, "--max-accuracy-drop", "1");
  v = compare(fp32, random, o);
  CHECK(check_named(v, "accuracy").status == Check::Status::Fail);
  CHECK_FALSE(v.passed());
  // Different class sets are not compared on accuracy.
  v = compare(fp32, three, CompareOptions{});
  CHECK(check_named(v, "accuracy").status == Check::Status::Skip);
  CHECK(check_named(v, "model size").status == Check::Status::Skip);  // three-classes has no size section
  CHECK(compare(fp32, three, only("size", "5%")).failures() == 1);
  // "off" turns a default off.
  set_percent_limit(o.max_size_increase_pct, "--max-size-increase", "off");
  CHECK(compare(fp32, fp32, o).checks.size() == 2);
}

TEST_CASE("compare: latency from another host warns", "[compare]") {
  const auto fp32 = fixture("fp32");
  auto other = fixture("int8");
  CHECK(compare(fp32, other, CompareOptions{}).warnings.empty());
  other.host = "Other CPU, 8 cores, Linux";
  const Verdict v = compare(fp32, other, CompareOptions{});
  REQUIRE(v.warnings.size() == 1);
  CHECK(v.warnings[0].find("only meaningful on the same host") != std::string::npos);
  // No latency check, no warning.
  CHECK(compare(fp32, other, only("size", "0")).warnings.empty());
}

TEST_CASE("compare: threshold parsing", "[compare]") {
  CompareOptions::Limit l;
  set_percent_limit(l, "--x", "12.5%");
  CHECK(l.value == 12.5);
  CHECK(l.explicit_);
  set_percent_limit(l, "--x", "-3");
  CHECK(l.value == -3.0);
  set_speedup_limit(l, "--x", "1.5X");
  CHECK(l.value == 1.5);
  set_pt_limit(l, "--x", "0.25 pt");
  CHECK(l.value == 0.25);
  set_pt_limit(l, "--x", "off");
  CHECK_FALSE(l.value.has_value());
  CompareOptions o;
  set_memory_limit(o, "--m", "1.5GiB");
  CHECK(o.max_peak_memory_bytes.value == 1610612736.0);
  CHECK_FALSE(o.max_peak_memory_pct.value.has_value());
  set_memory_limit(o, "--m", "300MB");
  CHECK(o.max_peak_memory_bytes.value == 300e6);
  set_memory_limit(o, "--m", "5%");
  CHECK(o.max_peak_memory_pct.value == 5.0);
  CHECK_FALSE(o.max_peak_memory_bytes.value.has_value());

  for (const char* bad : {"ten", "10 %%", "", "1e999", "nan"}) {
    INFO(bad);
    CHECK_THROWS_AS(set_percent_limit(l, "--x", bad), Error);
  }
  CHECK_THROWS_AS(set_speedup_limit(l, "--x", "0"), Error);
  CHECK_THROWS_AS(set_speedup_limit(l, "--x", "-2x"), Error);
  CHECK_THROWS_AS(set_memory_limit(o, "--m", "12 parsecs"), Error);
  try {
    set_memory_limit(o, "--max-peak-memory", "lots");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::BadInput);
    CHECK(std::string(e.what()).find("--max-peak-memory") != std::string::npos);
    CHECK(std::string(e.what()).find("'lots'") != std::string::npos);
  }
}

TEST_CASE("compare: table, JSON and JUnit outputs", "[compare]") {
  const auto fp32 = fixture("fp32"), int8 = fixture("int8");
  CompareOptions o;
  set_speedup_limit(o.min_speedup, "--min-speedup", "100");
  o.max_accuracy_drop_pt.value = 1.0;
  const Verdict v = compare(fp32, int8, o);
  CHECK(v.failures() == 2);  // latency +22.7 % > 10 %, speedup 0.82x < 100x

  const std::string table = verdict_table(v);
  CHECK(table.find("accuracy drop              94.00 %    94.50 %  +0.50 pt  >= -1.00 pt  PASS\n") !=
        std::string::npos);
  CHECK(table.find("FAIL: speedup (mean): 0.82x (threshold >= 100.00x)\n") != std::string::npos);
  CHECK(table.find("verdict: FAIL (2 of 4 checks failed)") != std::string::npos);

  const json j = verdict_json(v);
  CHECK(j["verdict"] == "fail");
  CHECK(j["failures"] == 2);
  REQUIRE(j["checks"].size() == 4);
  CHECK(j["checks"][0]["status"] == "pass");
  CHECK(j["checks"][0]["measured"].get<double>() == Approx(-0.5));
  CHECK(j["checks"][2]["check"] == "speedup (mean)");
  CHECK(j["checks"][2]["status"] == "fail");

  const std::string xml = junit_xml(v);
  CHECK(test::xml_problem(xml) == "");
  auto count = [&](const std::string& s) {
    size_t n = 0;
    for (size_t p = xml.find(s); p != std::string::npos; p = xml.find(s, p + 1)) ++n;
    return n;
  };
  CHECK(count("<testcase ") == 4);
  CHECK(count("<failure ") == 2);
  CHECK(xml.find("<testsuite name=\"hone compare: int8 vs fp32\" tests=\"4\" failures=\"2\"") != std::string::npos);
  CHECK(xml.find("name=\"model size increase &lt;= +0.0 %\"") != std::string::npos);
}
