#include "report/report.h"

#include "pipeline/metrics.h"
#include "report/charts.h"
#include "report/format.h"
#include "support/error.h"
#include "support/file_io.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

namespace hone::report {

namespace fs = std::filesystem;

BoxStats box_stats(std::vector<double> v) {
  BoxStats b;
  std::erase_if(v, [](double x) { return !std::isfinite(x); });
  if (v.empty()) return b;
  std::sort(v.begin(), v.end());
  b.count = static_cast<int64_t>(v.size());
  b.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  b.q1 = pipeline::percentile_of_sorted(v, 25);
  b.median = pipeline::percentile_of_sorted(v, 50);
  b.q3 = pipeline::percentile_of_sorted(v, 75);
  const double iqr = b.q3 - b.q1;
  const double lo = b.q1 - 1.5 * iqr, hi = b.q3 + 1.5 * iqr;
  // Whiskers end at data points, so they never claim a value nobody measured.
  b.whisker_low = *std::lower_bound(v.begin(), v.end(), lo);
  b.whisker_high = *(std::upper_bound(v.begin(), v.end(), hi) - 1);
  for (double x : v) {
    if (x < lo || x > hi) b.outliers.push_back(x);
  }
  return b;
}

namespace {

std::optional<double> ratio(std::optional<double> num, std::optional<double> den) {
  if (!num || !den || *den <= 0 || !std::isfinite(*num) || !std::isfinite(*den)) return std::nullopt;
  return *num / *den;
}
std::optional<double> as_double(std::optional<int64_t> v) {
  return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
}

// "3.71x smaller", "1.25x larger", "same".
std::string size_change(std::optional<int64_t> base, std::optional<int64_t> m) {
  const auto r = ratio(as_double(base), as_double(m));
  if (!r || *r == 0) return kNA;
  if (*r >= 1.005) return fmt::format("{:.2f}x smaller", *r);
  if (*r <= 0.995) return fmt::format("{:.2f}x larger", 1.0 / *r);
  return "same";
}

std::string pretty(const nlohmann::json& j) { return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace); }

// Charts of one measurement: confusion matrix, then the per-layer views its data allows.
void measurement_charts(const Measurement& m, size_t i, std::vector<Block>& out) {
  const std::string id = fmt::format("m{}", i + 1);
  if (!m.confusion.empty()) {
    std::vector<std::string> names = m.class_names;
    names.resize(m.confusion.size());
    for (size_t c = 0; c < names.size(); ++c) {
      if (names[c].empty()) names[c] = std::to_string(c);
    }
    out.push_back(Block::chart(id + "-confusion", fmt::format("confusion matrix of {}", m.label),
                               heat_map(fmt::format("Confusion matrix: {}", m.label), names, names, m.confusion)));
  }
  auto layer_chart = [&](const std::vector<LayerValue>& values, const std::string& suffix, const std::string& title,
                         const std::string& unit, double scale, const char* format) {
    if (values.empty()) return;
    std::vector<HBarItem> items;
    for (const auto& v : values) items.push_back({v.node, v.value * scale, v.note, i});
    out.push_back(Block::chart(fmt::format("{}-{}", id, suffix), fmt::format("{} of {}", title, m.label),
                               hbar_chart(fmt::format("{}: {}", title, m.label), unit, items, format)));
  };
  layer_chart(m.layer_time_ms, "layer-time", "Time per layer", "mean time per inference (ms)", 1.0, "{:.3f}");
  layer_chart(m.layer_sqnr_db, "layer-sqnr", "SQNR per quantized node", "SQNR vs float (dB)", 1.0, "{:.1f}");
  layer_chart(m.layer_sparsity, "layer-sparsity", "Sparsity per pruned layer", "zero weights or removed channels (%)",
              100.0, "{:.1f}");
}

Block class_table(const Measurement& m) {
  Table t{{"class", "name", "precision", "recall", "F1", "support"}, {true, false, true, true, true, true}, {}};
  for (size_t c = 0; c < m.per_class.size(); ++c) {
    const auto& r = m.per_class[c];
    t.rows.push_back({std::to_string(c), r.name, fmt::format("{:.4f}", r.precision), fmt::format("{:.4f}", r.recall),
                      fmt::format("{:.4f}", r.f1), std::to_string(r.support)});
  }
  return Block::table_of(std::move(t));
}

Block optimizer_table(const Measurement& m) {
  Table t{{"#", "pass", "seconds", "nodes", "parameters"}, {true, false, true, true, true}, {}};
  auto count = [](std::optional<int64_t> v) { return v ? std::to_string(*v) : std::string(kNA); };
  size_t n = 0;
  for (const auto& p : m.passes) {
    t.rows.push_back({p.implicit ? "" : std::to_string(++n), p.implicit ? "cleanup (implicit)" : p.type,
                      p.seconds ? fmt::format("{:.3f}", *p.seconds) : kNA,
                      fmt::format("{} → {}", count(p.nodes_before), count(p.nodes_after)),
                      fmt::format("{} → {}", count(p.parameters_before), count(p.parameters_after))});
  }
  return Block::table_of(std::move(t));
}

std::vector<Block> measurement_section(const Measurement& m, size_t i, bool is_baseline) {
  std::vector<Block> out;
  out.push_back(Block::heading(3, is_baseline ? m.label + " (baseline)" : m.label));
  std::vector<std::string> facts;
  facts.push_back(fmt::format("file: `{}`", m.file.string()));
  facts.push_back(fmt::format("pipeline `{}`, target `{}` on {} (runtime `{}`)", m.pipeline.empty() ? kNA : m.pipeline,
                              m.target.empty() ? kNA : m.target, m.platform.empty() ? kNA : m.platform,
                              m.runtime.empty() ? kNA : m.runtime));
  facts.push_back(fmt::format("host: {}", m.host.empty() ? kNA : m.host));
  facts.push_back(fmt::format("dataset: {}", m.dataset.empty() ? kNA : m.dataset));
  if (m.latency_kind != "measured") facts.push_back(fmt::format("latency kind: {}", m.latency_kind));
  facts.push_back(fmt::format("measured: {}", m.timestamp.empty() ? kNA : m.timestamp));
  out.push_back(Block::bullets(std::move(facts)));

  if (m.top1) {
    out.push_back(Block::paragraph(fmt::format("Top-1 {}, top-5 {}, macro F1 {:.4f} on {} samples.",
                                               format_percent(m.top1), format_percent(m.top5), m.macro_f1.value_or(0),
                                               m.samples ? std::to_string(*m.samples) : kNA)));
    if (!m.per_class.empty()) {
      if (m.per_class.size() <= 20) {
        out.push_back(class_table(m));
      } else {
        out.push_back(Block::details("Per-class precision, recall and F1", {class_table(m)}));
      }
    }
  } else {
    out.push_back(Block::paragraph(
        fmt::format("No accuracy: {}.", m.quality_note.empty() ? "the file has no quality section" : m.quality_note)));
  }
  measurement_charts(m, i, out);
  out.push_back(Block::paragraph(fmt::format("Optimizers: {}.", m.optimizer_chain)));
  if (!m.passes.empty()) {
    out.push_back(optimizer_table(m));
    out.push_back(Block::details("Pass reports (JSON)", {Block::code(pretty(m.raw["optimizers"]))}));
  }
  const auto& prov = m.raw.value("provenance", nlohmann::json::object());
  if (prov.is_object() && prov.contains("pipeline")) {
    out.push_back(Block::details("Pipeline with every resolved parameter (JSON)", {Block::code(pretty(prov["pipeline"]))}));
  }
  if (m.raw.contains("target")) {
    out.push_back(Block::details("Target, platform and host (JSON)",
                                 {Block::code(pretty({{"target", m.raw["target"]},
                                                      {"host", prov.is_object() ? prov.value("host", nlohmann::json())
                                                                                : nlohmann::json()}}))}));
  }
  return out;
}

}  // namespace

Table summary_table(const std::vector<Measurement>& ms, size_t baseline) {
  Table t{{"name", "target", "platform", "top-1", "Δ top-1", "mean ms", "p50 ms", "p99 ms", "inf/s", "speedup",
           "model file", "size vs base", "zstd", "params", "MACs", "zero weights", "peak RSS", "optimizers"},
          {false, false, false, true, true, true, true, true, true, true, true, true, true, true, true, true, true,
           false},
          {}};
  const Measurement& base = ms.at(baseline);
  for (size_t i = 0; i < ms.size(); ++i) {
    const Measurement& m = ms[i];
    const bool is_base = i == baseline;
    std::string delta = kNA, speedup = kNA, size_vs = kNA;
    if (is_base) {
      delta = m.top1 ? "baseline" : kNA;
      speedup = m.latency_mean ? "baseline" : kNA;
      size_vs = m.file_bytes ? "baseline" : kNA;
    } else {
      if (accuracy_incomparable(base, m).empty()) delta = format_delta_pt(*m.top1 - *base.top1);
      speedup = format_ratio(ratio(base.latency_mean, m.latency_mean));
      if (speedup != kNA && !latency_incomparable(base, m).empty()) speedup += " †";
      size_vs = size_change(base.file_bytes, m.file_bytes);
    }
    t.rows.push_back({is_base ? m.label + " (baseline)" : m.label, m.target.empty() ? kNA : m.target,
                      m.platform.empty() ? kNA : m.platform, format_percent(m.top1), delta, format_ms(m.latency_mean),
                      format_ms(m.latency_p50), format_ms(m.latency_p99),
                      m.throughput ? fmt::format("{:.1f}", *m.throughput) : kNA, speedup, format_bytes(m.file_bytes),
                      size_vs, format_bytes(m.compressed_bytes), format_count(m.parameters), format_count(m.macs),
                      format_percent(m.zero_weight_fraction, 1), format_bytes(m.peak_rss_bytes), m.optimizer_chain});
  }
  return t;
}

Table targets_table(const std::vector<Measurement>& ms) {
  Table t{{"name", "platform", "latency kind", "flash", "RAM", "arena", "cycles / inference", "est. latency",
           "reference check"},
          {false, false, false, true, true, true, true, true, false},
          {}};
  const auto of_budget = [](std::optional<int64_t> used, std::optional<int64_t> budget) {
    if (!used) return std::string(kNA);
    if (!budget) return format_bytes(used);
    return fmt::format("{} of {} ({:.0f} %)", format_bytes(used), format_bytes(budget),
                       100.0 * static_cast<double>(*used) / static_cast<double>(*budget));
  };
  for (const Measurement& m : ms) {
    if (!m.flash_bytes && !m.cycles_per_inference && m.reference_check.empty()) continue;
    t.rows.push_back(
        {m.label, m.platform.empty() ? kNA : m.platform, m.latency_kind, of_budget(m.flash_bytes, m.flash_budget_bytes),
         of_budget(m.ram_bytes, m.ram_budget_bytes), format_bytes(m.arena_bytes),
         m.cycles_per_inference ? format_count(static_cast<int64_t>(std::llround(*m.cycles_per_inference))) : kNA,
         m.estimated_latency_ms && m.clock_mhz ? fmt::format("{} ms at {} MHz", format_ms(m.estimated_latency_ms), *m.clock_mhz)
                                               : kNA,
         m.reference_check.empty() ? kNA : m.reference_check});
  }
  return t;
}

std::vector<std::string> comparison_notes(const std::vector<Measurement>& ms, size_t baseline) {
  std::vector<std::string> notes;
  const Measurement& base = ms.at(baseline);
  if (!base.top1) notes.push_back(fmt::format("The baseline '{}' has no accuracy: no accuracy deltas.", base.label));
  for (size_t i = 0; i < ms.size(); ++i) {
    if (i == baseline) continue;
    const Measurement& m = ms[i];
    if (!m.top1) {
      notes.push_back(fmt::format("'{}' has no accuracy ({}): compared on latency and size only.", m.label,
                                  m.quality_note.empty() ? "no quality section" : m.quality_note));
    } else if (base.top1 && base.class_names != m.class_names) {
      notes.push_back(fmt::format("'{}' has a different class set ({} classes) from the baseline ({} classes): "
                                  "compared on latency and size only.",
                                  m.label, m.class_names.size(), base.class_names.size()));
    } else if (base.top1 && (base.dataset != m.dataset || base.samples != m.samples)) {
      notes.push_back(fmt::format("'{}' was evaluated on different data ({}) from the baseline ({}): its accuracy "
                                  "delta mixes model and data differences.",
                                  m.label, m.dataset.empty() ? kNA : m.dataset, base.dataset.empty() ? kNA : base.dataset));
    }
    const std::string lat = latency_incomparable(base, m);
    if (!lat.empty() && m.latency_mean && base.latency_mean) notes.push_back("† " + lat + ".");
    // Targets of one pipeline file must have evaluated one optimized model (per-target runs share
    // it through the output folder's cache); say so when they did not.
    if (m.pipeline == base.pipeline && !m.pipeline_sha256.empty() && m.pipeline_sha256 == base.pipeline_sha256 &&
        !m.optimized_model_sha256.empty() && !base.optimized_model_sha256.empty() &&
        m.optimized_model_sha256 != base.optimized_model_sha256) {
      notes.push_back(fmt::format("'{}' evaluated another optimized model (sha256 {}) than the baseline ({}), though "
                                  "both come from the same pipeline file: the optimization is not reproducible, or "
                                  "the runs used different hone versions or inputs.",
                                  m.label, m.optimized_model_sha256.substr(0, 12), base.optimized_model_sha256.substr(0, 12)));
    }
  }
  return notes;
}

std::string report_title(const std::vector<Measurement>& ms, const std::string& title) {
  if (!title.empty()) return title;
  std::vector<std::string> names;
  for (const auto& m : ms) {
    if (std::find(names.begin(), names.end(), m.pipeline) == names.end()) names.push_back(m.pipeline);
  }
  return names.size() == 1 ? fmt::format("hone report: {}", names.front())
                           : fmt::format("hone report: {} measurements", ms.size());
}

Document build_report(const std::vector<Measurement>& ms, size_t baseline, const std::string& title,
                      const std::vector<std::string>& failures) {
  HONE_ASSERT(!ms.empty() && baseline < ms.size());
  Document doc;
  doc.title = report_title(ms, title);
  const Measurement& base = ms[baseline];
  auto& b = doc.blocks;
  b.push_back(Block::paragraph(fmt::format(
      "{} measurement{} compared against the baseline '{}'. Speedup = baseline mean latency / mean latency; "
      "Δ top-1 in percentage points; sizes are of the artifact each target ran.",
      ms.size(), ms.size() == 1 ? "" : "s", base.label)));

  b.push_back(Block::heading(2, "Summary"));
  b.push_back(Block::table_of(summary_table(ms, baseline)));
  if (const auto notes = comparison_notes(ms, baseline); !notes.empty()) b.push_back(Block::bullets(notes));
  if (const Table targets = targets_table(ms); !targets.rows.empty()) {
    b.push_back(Block::heading(2, "Targets"));
    b.push_back(Block::paragraph(
        "Programs built for their targets: flash = text + data, RAM = data + bss (arena and stack included on "
        "boards), against the board's budget. Cycles are counted on the board itself under QEMU's -icount "
        "(one instruction per cycle); the estimated latency divides them by the board's clock. Latency kind "
        "'emulated': the latency columns above are the emulator's, not the hardware's."));
    b.push_back(Block::table_of(targets));
  }
  if (!failures.empty()) {
    b.push_back(Block::heading(2, "Failed targets"));
    b.push_back(Block::bullets(failures));
  }

  b.push_back(Block::heading(2, "Charts"));
  std::vector<BubblePoint> bubbles;
  std::vector<std::string> left_out;
  for (size_t i = 0; i < ms.size(); ++i) {
    const Measurement& m = ms[i];
    if (m.top1 && m.latency_mean && accuracy_incomparable(base, m).empty()) {
      bubbles.push_back({m.label, *m.latency_mean, *m.top1 * 100.0, static_cast<double>(m.file_bytes.value_or(0)), i});
    } else {
      left_out.push_back(m.label);
    }
  }
  if (!bubbles.empty()) {
    b.push_back(Block::chart("accuracy-latency", "top-1 accuracy vs mean latency",
                             bubble_chart("Top-1 accuracy vs mean latency", "mean latency per inference (ms)",
                                          "top-1 accuracy (%)", "bubble area ∝ model file size", bubbles)));
  }
  if (!left_out.empty() && !bubbles.empty()) {
    b.push_back(Block::paragraph(fmt::format("Not in the accuracy chart (no accuracy comparable with the baseline's, "
                                             "or no latency): {}.",
                                             fmt::join(left_out, ", "))));
  }
  std::vector<BoxSeries> boxes;
  for (size_t i = 0; i < ms.size(); ++i) {
    if (ms[i].latency_samples.empty()) continue;
    BoxStats s = box_stats(ms[i].latency_samples);
    boxes.push_back({ms[i].label, s.whisker_low, s.q1, s.median, s.q3, s.whisker_high, s.mean, std::move(s.outliers), i});
  }
  if (!boxes.empty()) {
    b.push_back(Block::chart("latency", "latency distribution per measurement",
                             box_plot("Latency per inference", "latency per inference (ms)", boxes)));
  }
  std::vector<std::string> categories;
  BarSeries file{"model file", {}, 0}, zstd{"zstd-compressed", {}, 1};
  for (const auto& m : ms) {
    categories.push_back(m.label);
    file.values.push_back(m.file_bytes ? std::optional<double>(static_cast<double>(*m.file_bytes) / 1024.0) : std::nullopt);
    zstd.values.push_back(m.compressed_bytes ? std::optional<double>(static_cast<double>(*m.compressed_bytes) / 1024.0)
                                             : std::nullopt);
  }
  b.push_back(Block::chart("size", "model size per measurement", bar_chart("Model size", "size (KiB)", categories, {file, zstd})));

  b.push_back(Block::heading(2, "Measurements"));
  for (size_t i = 0; i < ms.size(); ++i) {
    auto section = measurement_section(ms[i], i, i == baseline);
    b.insert(b.end(), std::make_move_iterator(section.begin()), std::make_move_iterator(section.end()));
  }
  return doc;
}

std::vector<fs::path> write_report(const Document& doc, const fs::path& out) {
  std::string ext = out.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  std::vector<fs::path> written;
  const fs::path dir = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  if (ext == ".html" || ext == ".htm") {
    support::ensure_writable_dir(dir);
    support::write_file_atomic(out, to_html(doc));
    written.push_back(out);
  } else if (ext == ".md" || ext == ".markdown") {
    support::ensure_writable_dir(dir);
    const MarkdownOutput md = to_markdown(doc, out.stem().string());
    // Charts first: a reader who sees the new Markdown finds every chart it links.
    for (const auto& [name, svg] : md.files) {
      support::write_file_atomic(dir / name, svg);
      written.push_back(dir / name);
    }
    support::write_file_atomic(out, md.markdown);
    written.push_back(out);
  } else {
    throw bad_input("report file '{}': expected a .md or .html name", out.string());
  }
  return written;
}

}  // namespace hone::report
