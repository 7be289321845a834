// One measurements file (docs/measurements.md) as `hone report` and `hone compare` read it: every
// number they show, each optional, so a file from an older hone, a run without labels or a
// hand-trimmed file still reports (as "n/a") instead of failing. A field that is present with
// the wrong type is bad input, named by file and JSON path.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hone::report {

struct ClassRow {
  std::string name;
  double precision = 0, recall = 0, f1 = 0;
  int64_t support = 0;
};

// A per-layer value a chart shows: per-node time (profile), SQNR (quantize_static), sparsity
// (pruning passes).
struct LayerValue {
  std::string node;
  std::string note;  // op type, kernel or pattern
  double value = 0;
};

struct Measurement {
  std::filesystem::path file;
  std::string label;     // display name, unique among the inputs of one report (see label_measurements)
  std::string pipeline;  // "name"
  std::string target;    // "target.name"
  std::string platform;  // "target.platform.display_name" (or name)
  std::string runtime;   // "target.runtime.name"
  std::string host;      // "cpu_model, N cores, os": measurements from different hosts differ here
  std::string timestamp;
  // Which run of which pipeline: the pipeline file's sha256, its targets in order, and the
  // optimized model every target of it evaluated (the same one, unless jobs disagreed).
  std::string pipeline_sha256;
  std::vector<std::string> pipeline_targets;
  std::string optimized_model_sha256;
  // "measured" unless the file says otherwise (emulated targets: "emulated").
  std::string latency_kind = "measured";

  // Quality; absent when the run had no labels.
  std::optional<double> top1, top5, macro_f1;
  std::optional<int64_t> samples;
  std::string quality_note;  // quality.reason when unavailable
  std::vector<std::string> class_names;
  std::vector<ClassRow> per_class;
  std::vector<std::vector<int64_t>> confusion;  // rows = true class

  // Latency (ms) over timed inferences of `batch_size` samples.
  std::optional<double> latency_mean, latency_std, latency_p50, latency_p90, latency_p99, throughput;
  std::optional<int64_t> batch_size;
  std::vector<double> latency_samples;

  // Size of the artifact the target ran.
  std::optional<int64_t> file_bytes, compressed_bytes, parameters, macs, weight_bytes;
  std::optional<double> zero_weight_fraction;
  std::optional<int64_t> peak_rss_bytes;

  // A program built for the target (compiler detail of the c compiler) and what the target
  // measured itself: flash / RAM of the program and the board's budgets, the planned arena,
  // cycles per inference and the latency they give at the board's clock, the reference check.
  std::optional<int64_t> flash_bytes, ram_bytes, flash_budget_bytes, ram_budget_bytes, arena_bytes;
  std::optional<double> cycles_per_inference, estimated_latency_ms;
  std::optional<int64_t> clock_mhz;
  std::string reference_check;  // "500/500 bit-identical" or ""

  // Dataset identity, so reports can say when accuracies come from different data.
  std::string dataset;  // dataset.description
  // One per optimizer report, in order, the implicit first cleanup included.
  struct Pass {
    std::string type;
    bool implicit = false;
    std::optional<double> seconds;
    std::optional<int64_t> nodes_before, nodes_after, parameters_before, parameters_after;
  };
  std::vector<Pass> passes;
  std::string optimizer_chain;  // short form of the non-implicit passes: "fold_batch_norm → quantize_static(...)"

  std::vector<LayerValue> layer_time_ms;  // profile.layers
  std::vector<LayerValue> layer_sqnr_db;  // quantize_static detail.nodes
  std::vector<LayerValue> layer_sparsity; // pruning details: fraction of zero weights per layer

  nlohmann::json raw;  // the whole file, for the pipeline and pass-report sections
};

// Reads and checks a measurements file: BadInput naming the file if it is not JSON, not a
// "hone.measurements" object, from a newer schema, or has a field of the wrong type.
Measurement load_measurement(const std::filesystem::path& file);
// `path` itself, or for a folder its "*.measurements.json" files in name order (what `hone run`
// and per-target CI jobs leave there). BadInput for a folder without any.
std::vector<std::filesystem::path> measurement_files(const std::filesystem::path& path);

// The same from an already parsed document; `file` names it in errors.
Measurement measurement_from_json(const nlohmann::json& doc, const std::filesystem::path& file);

// Measurement files of one pipeline file (per-target CI jobs, `hone run --target`) in the order
// of its targets, as one `hone run` lists them; anything else keeps its order.
void order_by_pipeline_targets(std::vector<Measurement>& ms);
// Targets of the measured pipelines that have no measurement among `ms` (a job that failed or did
// not run): one sentence each. Only for pipelines whose targets all come from one pipeline file.
std::vector<std::string> missing_targets(const std::vector<Measurement>& ms);
// Gives each measurement a distinct label. `names` (from --names) wins when given and must have
// one entry per measurement (BadInput otherwise). Otherwise: the target name when every input
// comes from the same pipeline, else the pipeline name, with "/target" added where two
// inputs share a name, and " #2", " #3" where that still collides.
void label_measurements(std::vector<Measurement>& ms, const std::vector<std::string>& names = {});

// Index of the measurement `which` names: its label, pipeline name, target name or file path.
// Empty `which` is the first. BadInput if nothing or more than one matches.
size_t find_measurement(const std::vector<Measurement>& ms, const std::string& which);

// Why accuracy of `m` cannot be compared with `base` ("" when it can): quality missing on
// either side, or a different class set.
std::string accuracy_incomparable(const Measurement& base, const Measurement& m);

// Why latencies of `m` and `base` are not comparable as a ratio ("" when they are): different
// hosts, or emulated latency.
std::string latency_incomparable(const Measurement& base, const Measurement& m);

}  // namespace hone::report
