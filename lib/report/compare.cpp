#include "report/compare.h"

#include "report/format.h"
#include "report/text.h"
#include "support/error.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace hone::report {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A finite number followed by exactly one of `suffixes` (or nothing); the suffix is returned
// through `suffix`. nullopt when the text is not such a number.
std::optional<double> number_with_suffix(const std::string& text, const std::vector<std::string>& suffixes,
                                         std::string* suffix) {
  const std::string t = lower(text);
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (end == t.c_str() || !std::isfinite(v)) return std::nullopt;
  std::string rest(end);
  while (!rest.empty() && rest.front() == ' ') rest.erase(rest.begin());
  if (rest.empty()) {
    if (suffix) suffix->clear();
    return v;
  }
  for (const auto& s : suffixes) {
    if (rest == s) {
      if (suffix) *suffix = s;
      return v;
    }
  }
  return std::nullopt;
}

bool is_off(const std::string& text) {
  const std::string t = lower(text);
  return t == "off" || t == "none";
}

std::optional<double> metric_of(const Measurement& m, const std::string& metric) {
  if (metric == "p50") return m.latency_p50;
  if (metric == "p90") return m.latency_p90;
  if (metric == "p99") return m.latency_p99;
  return m.latency_mean;
}

const char* status_word(Check::Status s) {
  switch (s) {
    case Check::Status::Pass: return "PASS";
    case Check::Status::Fail: return "FAIL";
    case Check::Status::Skip: return "SKIP";
  }
  return "?";
}

// Fills a check from the measured quantity: passes when `ok`, and when the data is missing
// skips (default threshold) or fails (explicit threshold) with `missing`.
void decide(Check& c, const CompareOptions::Limit& limit, std::optional<double> measured, bool ok,
            const std::string& missing) {
  c.limit = limit.value;
  c.measured = measured;
  if (!measured) {
    c.status = limit.explicit_ ? Check::Status::Fail : Check::Status::Skip;
    c.message = missing;
    return;
  }
  c.status = ok ? Check::Status::Pass : Check::Status::Fail;
  if (!ok) c.message = fmt::format("{} (threshold {})", c.change, c.threshold);
}

// Tolerance for comparing a measured quantity with its limit: values printed equal pass.
constexpr double kEps = 1e-9;

std::optional<double> as_double(std::optional<int64_t> v) {
  return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
}

// "candidate / baseline - 1 <= limit %": latency, model size and peak memory growth.
Check increase_check(std::string name, std::optional<double> base, std::optional<double> cand, std::string base_text,
                     std::string cand_text, const CompareOptions::Limit& limit, const std::string& missing) {
  Check c;
  c.name = std::move(name);
  c.baseline = std::move(base_text);
  c.candidate = std::move(cand_text);
  c.threshold = fmt::format("<= {:+.1f} %", *limit.value);
  std::optional<double> inc;
  if (base && cand && *base > 0 && *cand > 0) {
    inc = (*cand / *base - 1.0) * 100.0;
    c.change = fmt::format("{:+.1f} %", *inc);
  } else {
    c.change = kNA;
  }
  decide(c, limit, inc, inc && *inc <= *limit.value + kEps, missing);
  return c;
}

}  // namespace

namespace {

// A threshold in one of its forms: a number with an optional `suffix`, or "off".
void set_limit(CompareOptions::Limit& limit, const std::string& option, const std::string& text, const char* suffix,
               bool positive, const char* expected) {
  limit.explicit_ = true;
  if (is_off(text)) {
    limit.value.reset();
    return;
  }
  const auto v = number_with_suffix(text, {suffix}, nullptr);
  if (!v || (positive && *v <= 0)) throw bad_input("{}: expected {} or 'off', got '{}'", option, expected, text);
  limit.value = *v;
}

}  // namespace

void set_percent_limit(CompareOptions::Limit& limit, const std::string& option, const std::string& text) {
  set_limit(limit, option, text, "%", false, "a percentage like 10%");
}

void set_speedup_limit(CompareOptions::Limit& limit, const std::string& option, const std::string& text) {
  set_limit(limit, option, text, "x", true, "a positive factor like 1.5 or 1.5x");
}

void set_pt_limit(CompareOptions::Limit& limit, const std::string& option, const std::string& text) {
  set_limit(limit, option, text, "pt", false, "percentage points like 0.5 or 0.5pt");
}

void set_memory_limit(CompareOptions& opts, const std::string& option, const std::string& text) {
  opts.max_peak_memory_pct = {std::nullopt, true};
  opts.max_peak_memory_bytes = {std::nullopt, true};
  if (is_off(text)) return;
  std::string suffix;
  const auto v = number_with_suffix(text, {"%", "b", "k", "kb", "kib", "m", "mb", "mib", "g", "gb", "gib"}, &suffix);
  if (!v || (suffix != "%" && *v <= 0)) {
    throw bad_input("{}: expected a size like 512MiB or 300MB, a percentage like 10%, or 'off', got '{}'", option,
                    text);
  }
  if (suffix == "%") {
    opts.max_peak_memory_pct.value = *v;
    return;
  }
  double scale = 1;
  if (suffix == "k" || suffix == "kib") scale = 1024.0;
  if (suffix == "kb") scale = 1e3;
  if (suffix == "m" || suffix == "mib") scale = 1048576.0;
  if (suffix == "mb") scale = 1e6;
  if (suffix == "g" || suffix == "gib") scale = 1073741824.0;
  if (suffix == "gb") scale = 1e9;
  opts.max_peak_memory_bytes.value = std::round(*v * scale);
}

bool Verdict::passed() const { return failures() == 0; }

int Verdict::failures() const {
  int n = 0;
  for (const auto& c : checks) n += c.status == Check::Status::Fail;
  return n;
}

Verdict compare(const Measurement& base, const Measurement& cand, const CompareOptions& opts) {
  Verdict v;
  v.baseline_file = base.file.string();
  v.candidate_file = cand.file.string();
  v.baseline_label = base.label;
  v.candidate_label = cand.label;

  if (opts.max_accuracy_drop_pt.value) {
    Check c;
    c.name = "accuracy drop";
    c.baseline = format_percent(base.top1);
    c.candidate = format_percent(cand.top1);
    // As a bound on the signed change, so the column reads like the change next to it.
    c.threshold = fmt::format(">= {:+.2f} pt", -*opts.max_accuracy_drop_pt.value);
    const std::string why = accuracy_incomparable(base, cand);
    std::optional<double> drop;
    if (why.empty()) {
      drop = (*base.top1 - *cand.top1) * 100.0;
      c.change = format_delta_pt(*cand.top1 - *base.top1);
    } else {
      c.change = kNA;
    }
    decide(c, opts.max_accuracy_drop_pt, drop, drop && *drop <= *opts.max_accuracy_drop_pt.value + kEps, why);
    v.checks.push_back(std::move(c));
  }

  const std::string metric = opts.latency_metric;
  const auto bl = metric_of(base, metric), cl = metric_of(cand, metric);
  const bool latency_known = bl && cl && *bl > 0 && *cl > 0;
  const std::string latency_missing =
      fmt::format("{} latency ({}) is missing", !bl || *bl <= 0 ? "the baseline's" : "the candidate's", metric);
  bool latency_checked = false;
  if (opts.max_latency_increase_pct.value) {
    v.checks.push_back(increase_check(fmt::format("latency increase ({})", metric), bl, cl,
                                      bl ? format_ms(bl) + " ms" : kNA, cl ? format_ms(cl) + " ms" : kNA,
                                      opts.max_latency_increase_pct, latency_missing));
    latency_checked = true;
  }
  if (opts.min_speedup.value) {
    Check c;
    c.name = fmt::format("speedup ({})", metric);
    c.baseline = bl ? format_ms(bl) + " ms" : kNA;
    c.candidate = cl ? format_ms(cl) + " ms" : kNA;
    c.threshold = fmt::format(">= {:.2f}x", *opts.min_speedup.value);
    std::optional<double> s;
    if (latency_known) s = *bl / *cl;
    c.change = format_ratio(s);
    decide(c, opts.min_speedup, s, s && *s + kEps >= *opts.min_speedup.value, latency_missing);
    latency_checked = true;
    v.checks.push_back(std::move(c));
  }
  if (latency_checked && latency_known) {
    if (const std::string why = latency_incomparable(base, cand); !why.empty()) v.warnings.push_back(why);
  }

  if (opts.max_size_increase_pct.value) {
    v.checks.push_back(increase_check(
        "model size increase", as_double(base.file_bytes), as_double(cand.file_bytes), format_bytes(base.file_bytes),
        format_bytes(cand.file_bytes), opts.max_size_increase_pct,
        fmt::format("{} model file size is missing", base.file_bytes ? "the candidate's" : "the baseline's")));
  }

  const auto bm = base.peak_rss_bytes, cm = cand.peak_rss_bytes;
  if (opts.max_peak_memory_pct.value) {
    v.checks.push_back(increase_check("peak memory increase", as_double(bm), as_double(cm), format_bytes(bm),
                                      format_bytes(cm), opts.max_peak_memory_pct,
                                      fmt::format("{} peak memory is missing", bm ? "the candidate's" : "the baseline's")));
  }
  if (opts.max_peak_memory_bytes.value) {
    Check c;
    c.name = "peak memory";
    c.baseline = format_bytes(bm);
    c.candidate = format_bytes(cm);
    const double cap = *opts.max_peak_memory_bytes.value;
    c.threshold = "<= " + format_bytes(static_cast<int64_t>(cap));
    c.change = bm && cm ? fmt::format("{:+.1f} %", (static_cast<double>(*cm) / static_cast<double>(*bm) - 1) * 100)
                        : kNA;
    std::optional<double> got;
    if (cm) got = static_cast<double>(*cm);
    decide(c, opts.max_peak_memory_bytes, got, got && *got <= cap, "the candidate's peak memory is missing");
    v.checks.push_back(std::move(c));
  }
  return v;
}

std::string verdict_table(const Verdict& v) {
  std::vector<std::array<std::string, 6>> rows;
  rows.push_back({"check", "baseline", "candidate", "change", "threshold", "result"});
  for (const auto& c : v.checks) {
    rows.push_back({c.name, c.baseline, c.candidate, c.change, c.threshold, status_word(c.status)});
  }
  // Column widths in code points: values hold "±".
  auto width = [](const std::string& s) { return code_points(s); };
  std::array<size_t, 6> w{};
  for (const auto& r : rows) {
    for (size_t i = 0; i < 6; ++i) w[i] = std::max(w[i], width(r[i]));
  }
  std::string out = fmt::format("baseline:  {} ({})\ncandidate: {} ({})\n\n", v.baseline_label, v.baseline_file,
                                v.candidate_label, v.candidate_file);
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < 6; ++i) {
      const std::string pad(w[i] - width(r[i]), ' ');
      // Text columns left-aligned, numbers right-aligned.
      line += i == 0 || i == 4 || i == 5 ? r[i] + pad : pad + r[i];
      if (i < 5) line += "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  for (const auto& c : v.checks) {
    if (!c.message.empty()) out += fmt::format("{}: {}: {}\n", status_word(c.status), c.name, c.message);
  }
  for (const auto& w8 : v.warnings) out += "warning: " + w8 + "\n";
  const int failed = v.failures();
  out += failed == 0 ? fmt::format("verdict: PASS ({} checks)\n", v.checks.size())
                     : fmt::format("verdict: FAIL ({} of {} checks failed)\n", failed, v.checks.size());
  return out;
}

nlohmann::json verdict_json(const Verdict& v) {
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& c : v.checks) {
    checks.push_back({{"check", c.name},
                      {"status", lower(status_word(c.status))},
                      {"baseline", c.baseline},
                      {"candidate", c.candidate},
                      {"change", c.change},
                      {"threshold", c.threshold},
                      {"measured", c.measured ? nlohmann::json(*c.measured) : nlohmann::json()},
                      {"limit", c.limit ? nlohmann::json(*c.limit) : nlohmann::json()},
                      {"message", c.message}});
  }
  return {{"kind", "hone.compare"},
          {"verdict", v.passed() ? "pass" : "fail"},
          {"failures", v.failures()},
          {"baseline", {{"file", v.baseline_file}, {"label", v.baseline_label}}},
          {"candidate", {{"file", v.candidate_file}, {"label", v.candidate_label}}},
          {"checks", checks},
          {"warnings", v.warnings}};
}

std::string junit_xml(const Verdict& v) {
  int skipped = 0;
  for (const auto& c : v.checks) skipped += c.status == Check::Status::Skip;
  const std::string suite = xml_escape(fmt::format("hone compare: {} vs {}", v.candidate_label, v.baseline_label));
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += fmt::format("<testsuites name=\"hone compare\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">\n",
                   v.checks.size(), v.failures(), skipped);
  x += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">\n", suite,
                   v.checks.size(), v.failures(), skipped);
  x += "    <properties>\n";
  x += fmt::format("      <property name=\"baseline\" value=\"{}\"/>\n", xml_escape(v.baseline_file));
  x += fmt::format("      <property name=\"candidate\" value=\"{}\"/>\n", xml_escape(v.candidate_file));
  for (const auto& w : v.warnings) x += fmt::format("      <property name=\"warning\" value=\"{}\"/>\n", xml_escape(w));
  x += "    </properties>\n";
  for (const auto& c : v.checks) {
    const std::string name = xml_escape(fmt::format("{} {}", c.name, c.threshold));
    const std::string body = xml_escape(fmt::format("baseline {}, candidate {}, change {}, threshold {}", c.baseline,
                                                    c.candidate, c.change, c.threshold));
    x += fmt::format("    <testcase classname=\"hone.compare\" name=\"{}\" time=\"0\">", name);
    if (c.status == Check::Status::Fail) {
      x += fmt::format("\n      <failure message=\"{}\" type=\"threshold\">{}</failure>\n    ",
                       xml_escape(c.message), body);
    } else if (c.status == Check::Status::Skip) {
      x += fmt::format("\n      <skipped message=\"{}\"/>\n    ", xml_escape(c.message));
    }
    x += "</testcase>\n";
  }
  x += "    <system-out>" + xml_escape(verdict_table(v)) + "</system-out>\n";
  x += "  </testsuite>\n</testsuites>\n";
  return x;
}

}  // namespace hone::report
