// CI per target (docs/ci.md): `hone targets` prints every example pipeline's targets for GitHub
// Actions and GitLab; one `--optimize-only` run plus one `--target` run per target, merged by
// `hone report`, give the report one `hone run` of every target writes.
#include "cli_util.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <set>

using hone::test::quote;
using hone::test::run_hone;
using hone::test::slurp;
using hone::test::write_text;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = HONE_SOURCE_DIR;

// The target names a pipeline file declares (or the implicit "<platform>-<runtime>").
std::vector<std::string> declared_targets(const json& doc) {
  std::vector<std::string> names;
  if (doc.contains("targets")) {
    for (const auto& t : doc["targets"]) names.push_back(t["name"]);
  } else {
    const std::string platform = doc.contains("platform") ? doc["platform"]["type"].get<std::string>() : "host";
    const std::string runtime = doc.contains("runtime") ? doc["runtime"]["type"].get<std::string>() : "reference";
    names.push_back(platform + "-" + runtime);
  }
  return names;
}

// The "## Summary" table of a Markdown report: one map column -> cell per row.
std::vector<std::map<std::string, std::string>> summary_rows(const std::string& md, const std::string& section) {
  std::vector<std::map<std::string, std::string>> rows;
  const size_t at = md.find("## " + section + "\n");
  REQUIRE(at != std::string::npos);
  std::vector<std::string> header;
  size_t pos = md.find('|', at);
  while (pos != std::string::npos && pos < md.size() && md[pos] == '|') {
    const size_t end = md.find('\n', pos);
    const std::string line = md.substr(pos, end - pos);
    std::vector<std::string> cells;
    for (size_t s = 1, e; (e = line.find('|', s)) != std::string::npos; s = e + 1) {
      std::string c = line.substr(s, e - s);
      c.erase(0, c.find_first_not_of(' '));
      c.erase(c.find_last_not_of(' ') + 1);
      cells.push_back(c);
    }
    if (header.empty()) {
      header = cells;
    } else if (cells.empty() || cells[0].find("---") == std::string::npos) {
      std::map<std::string, std::string> row;
      for (size_t i = 0; i < header.size() && i < cells.size(); ++i) row[header[i]] = cells[i];
      rows.push_back(row);
    }
    pos = end + 1;
  }
  return rows;
}

}  // namespace

TEST_CASE("hone targets prints every example pipeline's targets for CI", "[cli][ci]") {
  int pipelines = 0;
  for (const auto& e : fs::recursive_directory_iterator(kSource / "pipelines")) {
    if (e.path().extension() != ".json") continue;
    ++pipelines;
    INFO(e.path());
    const json doc = json::parse(slurp(e.path()));
    const std::vector<std::string> names = declared_targets(doc);

    auto list = run_hone(fmt::format("targets {}", quote(e.path())));
    REQUIRE(list.exit_code == 0);
    std::string expected;
    for (const auto& n : names) expected += n + "\n";
    CHECK(list.out == expected);

    auto gh = run_hone(fmt::format("targets {} --format github-matrix", quote(e.path())));
    REQUIRE(gh.exit_code == 0);
    const json matrix = json::parse(gh.out);
    REQUIRE(matrix["include"].size() == names.size());
    for (size_t i = 0; i < names.size(); ++i) {
      CHECK(matrix["include"][i]["target"] == names[i]);
      for (const char* key : {"compiler", "runtime", "platform"}) CHECK(matrix["include"][i][key].is_string());
    }

    auto gl = run_hone(fmt::format("targets {} --format gitlab --output-dir out", quote(e.path())));
    REQUIRE(gl.exit_code == 0);
    CHECK(gl.out.find("stages: [optimize, measure]") != std::string::npos);
    CHECK(gl.out.find("--optimize-only --output-dir out\"") != std::string::npos);
    for (const auto& n : names) {
      CHECK(gl.out.find(fmt::format("\"measure:{}\":\n  stage: measure\n  needs: [optimize]\n", n)) != std::string::npos);
      CHECK(gl.out.find(fmt::format("--target {} --output-dir out\"", n)) != std::string::npos);
      CHECK(gl.out.find(fmt::format("- \"out/{}.measurements.json\"", n)) != std::string::npos);
    }
  }
  CHECK(pipelines >= 5);
  auto bad = run_hone(fmt::format("targets {} --format yaml", quote(kSource / "pipelines/fashion-mnist.json")));
  CHECK(bad.exit_code == 2);
}

TEST_CASE("per-target runs merged by hone report give the table of one run", "[cli][ci]") {
  const fs::path dir = hone::test::scratch_dir("ci", "merge");
  // fashion-mnist-targets.json with three of its targets (host, Linux C, a board), 40 images.
  json doc = json::parse(slurp(kSource / "pipelines/fashion-mnist-targets.json"));
  doc["model_wrapper"]["parameters"]["model"] = (kSource / "models/fmnist_cnn.onnx").string();
  json targets = json::array();
  for (const auto& t : doc["targets"]) {
    if (t["name"] == "host-cpu" || t["name"] == "x86_64-c" || t["name"] == "stm32f746g-disco") targets.push_back(t);
  }
  REQUIRE(targets.size() == 3);
  doc["targets"] = targets;
  doc["measurements"]["limit"] = 40;
  const fs::path p = dir / "targets.json";
  write_text(p, doc.dump(2));

  auto all = run_hone(fmt::format("run {} --output-dir {} -q", quote(p), quote(dir / "all")));
  INFO(all.out << all.err);
  REQUIRE(all.exit_code == 0);

  // The CI shape: one job optimizes, one job per target, then one merges.
  auto opt = run_hone(fmt::format("run {} --optimize-only --output-dir {} -q", quote(p), quote(dir / "jobs")));
  REQUIRE(opt.exit_code == 0);
  CHECK(opt.out.find("optimized model cached in") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "jobs/host-cpu.measurements.json"));
  for (const char* t : {"stm32f746g-disco", "host-cpu", "x86_64-c"}) {
    auto r = run_hone(fmt::format("run {} --target {} --output-dir {} -q", quote(p), t, quote(dir / "jobs")));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const json m = json::parse(slurp(dir / "jobs" / (std::string(t) + ".measurements.json")));
    CHECK(m["provenance"]["optimized_model"]["from_cache"] == true);
  }
  auto merged = run_hone(fmt::format("report {} -o {}", quote(dir / "jobs"), quote(dir / "merged.md")));
  INFO(merged.err);
  REQUIRE(merged.exit_code == 0);

  // Every target evaluated the same optimized model in both runs.
  std::set<std::string> shas;
  for (const char* sub : {"all", "jobs"}) {
    for (const char* t : {"host-cpu", "x86_64-c", "stm32f746g-disco"}) {
      const json m = json::parse(slurp(dir / sub / (std::string(t) + ".measurements.json")));
      shas.insert(m["provenance"]["optimized_model"]["sha256"].get<std::string>());
    }
  }
  CHECK(shas.size() == 1);

  const std::string one = slurp(dir / "all/report.md"), jobs = slurp(dir / "merged.md");
  const auto a = summary_rows(one, "Summary"), b = summary_rows(jobs, "Summary");
  REQUIRE(a.size() == 3);
  REQUIRE(b.size() == a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    // Everything but the timings: names, order, accuracy, sizes, the optimizer chain.
    for (const char* col : {"name", "target", "platform", "top-1", "Δ top-1", "model file", "size vs base", "zstd",
                            "params", "MACs", "zero weights", "optimizers"}) {
      INFO(i << " " << col);
      CHECK(a[i].at(col) == b[i].at(col));
    }
  }
  CHECK(a[0].at("name") == "host-cpu (baseline)");
  // The board's cycles are counted under -icount: deterministic, equal too.
  const auto ta = summary_rows(one, "Targets"), tb = summary_rows(jobs, "Targets");
  REQUIRE(ta.size() == tb.size());
  for (size_t i = 0; i < ta.size(); ++i) CHECK(ta[i] == tb[i]);

  // A job that did not deliver is named, not silently left out.
  fs::remove(dir / "jobs/x86_64-c.measurements.json");
  auto partial = run_hone(fmt::format("report {}", quote(dir / "jobs")));
  CHECK(partial.exit_code == 0);
  CHECK(partial.out.find("Target 'x86_64-c' has no measurements") != std::string::npos);
}
