#include "pipeline/runner.h"

#include "analysis/model_stats.h"
#include "compilers/compiler.h"
#include "datasets/dataset.h"
#include "ir/onnx_io.h"
#include "models/model_wrapper.h"
#include "passes/pass.h"
#include "pipeline/metrics.h"
#include "platforms/platform.h"
#include "plugin/loader.h"
#include "report/format.h"
#include "runtime/runtime_component.h"
#include "support/error.h"
#include "support/file_io.h"
#include "support/host.h"
#include "support/version.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>

namespace hone::pipeline {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

BuildContext context_for(const PipelineConfig& cfg, const ComponentConfig& c) {
  BuildContext ctx;
  ctx.base_dir = cfg.file.has_parent_path() ? cfg.file.parent_path() : fs::path(".");
  ctx.file = cfg.file.string();
  ctx.json_path = c.json_path + "/parameters";
  return ctx;
}

// Errors from inside a pipeline lead with the pipeline file and the JSON path that chose the
// failing component. When the error names another file (the model, a data file), that file stays
// in the message: "p.json: /model_wrapper/parameters: m.onnx: no such file".
[[noreturn]] void rethrow_in_pipeline(const Error& e, const PipelineConfig& cfg, const std::string& json_path) {
  const ErrorContext& c = e.context();
  if (c.file.empty() || c.file == cfg.file.string()) {
    Error copy = e;
    throw copy.with_json_path(json_path).with_file(cfg.file.string());
  }
  ErrorContext inner_ctx = c;
  inner_ctx.json_path.clear();
  const Error inner(e.kind(), e.detail(), inner_ctx);
  ErrorContext outer;
  outer.file = cfg.file.string();
  outer.json_path = c.json_path.empty() ? json_path : c.json_path;
  throw Error(e.kind(), inner.what(), outer);
}

template <typename Fn>
auto with_context(const PipelineConfig& cfg, const std::string& json_path, Fn&& fn) {
  try {
    return fn();
  } catch (const Error& e) {
    rethrow_in_pipeline(e, cfg, json_path);
  }
}

template <typename T>
std::unique_ptr<T> build(const PipelineConfig& cfg, const ComponentConfig& c, const BuildContext& ctx) {
  return with_context(cfg, c.json_path, [&] {
    return create<T>(*c.registration, c.params, ctx);
  });
}

struct TargetParts {
  const TargetConfig* config;
  std::unique_ptr<compilers::Compiler> compiler;
  std::unique_ptr<runtime::RuntimeComponent> runtime;
  std::unique_ptr<platforms::Platform> platform;
};

// Everything a run needs, built and cross-checked before anything is run or written.
struct Session {
  std::unique_ptr<models::ModelWrapper> wrapper;
  std::unique_ptr<datasets::Dataset> dataset;
  std::vector<std::unique_ptr<passes::Pass>> passes;
  std::vector<TargetParts> targets;
  int64_t samples = 0;  // evaluated samples
  std::vector<std::string> class_names;
  double load_model_seconds = 0, load_dataset_seconds = 0;
};

Session open_session(const PipelineConfig& cfg, const std::string& only_target) {
  Session s;
  auto t0 = Clock::now();
  s.wrapper = build<models::ModelWrapper>(cfg, cfg.model_wrapper, context_for(cfg, cfg.model_wrapper));
  s.load_model_seconds = seconds_since(t0);

  t0 = Clock::now();
  BuildContext dctx = context_for(cfg, cfg.dataset);
  dctx.model_sample_shape = s.wrapper->sample_shape();
  dctx.model_classes = s.wrapper->num_classes();
  s.dataset = build<datasets::Dataset>(cfg, cfg.dataset, dctx);
  with_context(cfg, cfg.dataset.json_path, [&] { s.wrapper->check_dataset(*s.dataset); });
  s.load_dataset_seconds = seconds_since(t0);

  const MeasurementsConfig& m = cfg.measurements;
  s.samples = s.dataset->size();
  if (m.limit > 0) s.samples = std::min(s.samples, m.limit);
  if (s.samples == 0) {
    throw bad_input("the dataset has no samples to evaluate ({})", s.dataset->source())
        .with_json_path("/dataset").with_file(cfg.file.string());
  }
  const int64_t fixed_batch = s.wrapper->batch_dim();
  if (fixed_batch > 0 && fixed_batch != m.batch_size) {
    throw bad_input("the model's input '{}' has a fixed batch of {}; set batch_size to {}",
                    s.wrapper->input_name(), fixed_batch, fixed_batch)
        .with_json_path("/measurements/batch_size").with_file(cfg.file.string());
  }
  if (fixed_batch > 1 && s.samples % fixed_batch != 0) {
    throw bad_input("{} samples do not fill whole batches of {} (the model's fixed batch); set limit",
                    s.samples, fixed_batch)
        .with_json_path("/measurements/limit").with_file(cfg.file.string());
  }

  if (s.wrapper->num_classes() > 0) {
    s.class_names = s.wrapper->class_names();
    if (s.class_names.empty()) {
      const auto names = s.dataset->class_names();
      if (static_cast<int64_t>(names.size()) == s.wrapper->num_classes()) s.class_names = names;
    }
    for (int64_t i = static_cast<int64_t>(s.class_names.size()); i < s.wrapper->num_classes(); ++i) {
      s.class_names.push_back(std::to_string(i));
    }
  }

  for (const auto& o : cfg.optimizers) s.passes.push_back(build<passes::Pass>(cfg, o, context_for(cfg, o)));

  bool found = only_target.empty();
  std::string names;
  for (const auto& t : cfg.targets) {
    names += (names.empty() ? "" : ", ") + t.name;
    if (!only_target.empty() && t.name != only_target) continue;
    found = true;
    TargetParts p;
    p.config = &t;
    p.compiler = build<compilers::Compiler>(cfg, t.compiler, context_for(cfg, t.compiler));
    p.runtime = build<runtime::RuntimeComponent>(cfg, t.runtime, context_for(cfg, t.runtime));
    p.platform = build<platforms::Platform>(cfg, t.platform, context_for(cfg, t.platform));
    s.targets.push_back(std::move(p));
  }
  if (!found) {
    throw bad_input("--target '{}': the pipeline has no such target (targets: {})", only_target, names)
        .with_file(cfg.file.string());
  }
  return s;
}

json optimize(const PipelineConfig& cfg, Session& s, double* seconds) {
  json reports = json::array();
  const auto t_all = Clock::now();
  passes::PassContext pctx;
  const int64_t seed = cfg.measurements.seed;
  pctx.calibration = [&s, seed](int64_t count, uint64_t) {
    return s.dataset->calibration_set(count, static_cast<uint64_t>(seed));
  };
  pctx.preprocess = [&s](const ir::Tensor& raw) { return s.wrapper->preprocess(raw); };
  std::vector<PassStep> steps;
  for (size_t i = 0; i < s.passes.size(); ++i) steps.push_back({s.passes[i].get(), cfg.optimizers[i].params});
  reports = run_passes(steps, s.wrapper->model(), pctx, cfg.cleanup,
                       [&](size_t i, const std::function<json()>& work) {
                         const ComponentConfig& c = cfg.optimizers[i];
                         spdlog::info("optimizer {}: {}", i, c.type);
                         return with_context(cfg, c.json_path, work);
                       });
  *seconds = seconds_since(t_all);
  return reports;
}

// Every plugin loaded in this process: what ran may come from them.
json plugins_json() {
  json out = json::array();
  for (const auto& p : plugin::loaded_plugins()) {
    out.push_back({{"name", p.name}, {"version", p.version}, {"file", p.file}, {"components", p.components}});
  }
  return out;
}

json size_json(const compilers::Artifact& a) {
  const std::string bytes = support::read_file(a.file);
  const auto st = analysis::compute_model_stats(a.model);
  json by_dtype = json::object();
  for (const auto& [dt, n] : st.weight_bytes) by_dtype[std::string(ir::dtype_name(dt))] = n;
  return {{"model_file", a.file.filename().string()},
          {"model_file_bytes", static_cast<int64_t>(bytes.size())},
          {"compressed_bytes", zstd_compressed_size(bytes, 19)},
          {"compression", "zstd level 19"},
          {"parameters", st.parameters},
          {"weight_bytes", st.weight_bytes_total},
          {"weight_bytes_by_dtype", by_dtype},
          {"zero_weight_fraction", st.zero_weight_fraction()},
          {"macs", st.macs},
          {"nodes", st.node_count}};
}

// The optimized model, cached in the output folder by a hash of everything that decides it, so
// per-target runs of one pipeline (CI jobs, `hone run --target`) evaluate the very same model.
struct Optimized {
  json reports;     // the optimizer reports
  json provenance;  // file, sha256, cache key, whether it came from the cache
  double seconds = 0;
};

std::string optimization_key(const PipelineConfig& cfg, const Session& s) {
  json wrapper = cfg.resolved.at("model_wrapper");
  wrapper["parameters"].erase("model");  // the file's bytes count, not where it was found
  json fingerprints = json::array();
  for (const auto& p : s.passes) fingerprints.push_back(p->fingerprint());
  json plugins = json::array();
  for (const auto& p : plugin::loaded_plugins()) {
    plugins.push_back({{"name", p.name}, {"version", p.version}, {"sha256", support::sha256_hex(support::read_file(p.file))}});
  }
  const json key = {{"model_sha256", support::sha256_hex(support::read_file(s.wrapper->model_path()))},
                    {"model_wrapper", wrapper},
                    {"dataset", cfg.resolved.at("dataset")},
                    {"optimizers", cfg.resolved.at("optimizers")},
                    {"pass_fingerprints", fingerprints},
                    {"cleanup", cfg.cleanup},
                    {"seed", cfg.measurements.seed},
                    {"hone", fmt::format("{} {}", hone::version(), hone::git_commit())},
                    {"plugins", plugins}};
  return support::sha256_hex(key.dump());
}

// Replaces the wrapper's model by the one in `file`, keeping the name it was loaded under.
void use_model_file(Session& s, const fs::path& file) {
  ir::Model m = ir::load_onnx(file.string());
  m.path = s.wrapper->model().path;
  s.wrapper->model() = std::move(m);
}

Optimized optimize_cached(const PipelineConfig& cfg, Session& s, const fs::path& out_dir) {
  const std::string key = optimization_key(cfg, s);
  const fs::path rel = fs::path("optimized") / key.substr(0, 16);
  const fs::path model_file = out_dir / rel.string() += ".onnx";
  const fs::path reports_file = out_dir / rel.string() += ".json";
  Optimized o;
  bool cached = false;
  std::error_code ec;
  if (fs::exists(model_file, ec) && fs::exists(reports_file, ec)) {
    try {
      const json r = json::parse(support::read_file(reports_file));
      if (r.value("key", "") != key) throw bad_input("written for another key");
      use_model_file(s, model_file);
      o.reports = r.at("optimizers");
      cached = true;
      spdlog::info("optimized model from the cache: {}", model_file.string());
    } catch (const std::exception& e) {
      spdlog::warn("ignoring the cached optimized model {}: {}", model_file.string(), e.what());
    }
  }
  if (!cached) {
    o.reports = optimize(cfg, s, &o.seconds);
    // Every run evaluates the model as read back from the cache file, so a run that optimized and
    // one that found the file evaluate the same bytes.
    try {
      fs::create_directories(model_file.parent_path());
      ir::save_onnx(s.wrapper->model(), model_file.string());
      support::write_file_atomic(reports_file, json{{"key", key}, {"optimizers", o.reports}}.dump(1) + "\n");
      use_model_file(s, model_file);
    } catch (const Error& e) {
      spdlog::warn("the optimized model is not cached ({}): {}", model_file.string(), e.what());
      o.provenance = {{"cache_key", key}, {"from_cache", false}, {"file", nullptr}};
      return o;
    }
  }
  o.provenance = {{"file", (rel.string() + ".onnx")},
                  {"sha256", support::sha256_hex(support::read_file(model_file))},
                  {"cache_key", key},
                  {"from_cache", cached}};
  return o;
}

TargetResult run_target(const PipelineConfig& cfg, Session& s, TargetParts& tp, const fs::path& out_dir,
                        const Optimized& optimized, const json& shared_stages,
                        support::Progress::Mode progress_mode) {
  const TargetConfig& t = *tp.config;
  const MeasurementsConfig& m = cfg.measurements;
  const bool own_peak = support::reset_peak_rss();
  json stages = shared_stages;

  const fs::path dir = out_dir / t.name;
  fs::create_directories(dir);
  auto t0 = Clock::now();
  const compilers::Artifact artifact = with_context(cfg, t.compiler.json_path, [&] {
    return tp.compiler->compile(s.wrapper->model(), *tp.platform, dir);
  });
  stages["compile"] = seconds_since(t0);

  t0 = Clock::now();
  auto executor = with_context(cfg, t.runtime.json_path, [&] { return tp.runtime->prepare(artifact, *tp.platform); });
  stages["prepare"] = seconds_since(t0);

  const int64_t bs = m.batch_size;
  auto infer = [&](const ir::Tensor& x) {
    std::vector<ir::Tensor> in{x};
    return executor->run(in);
  };

  // Warm-up on the first batch: caches, lazy allocations, branch predictors.
  t0 = Clock::now();
  {
    const auto batch = s.dataset->read(0, std::min(bs, s.samples));
    const ir::Tensor x = s.wrapper->preprocess(batch.samples);
    for (int64_t i = 0; i < m.warmup; ++i) {
      infer(x);
      executor->after_run();
    }
  }
  stages["warmup"] = seconds_since(t0);
  executor->take_measurements();  // only the evaluation's runs count

  const bool labelled = s.wrapper->num_classes() > 0 && !s.dataset->labels().empty();
  ClassificationMetrics metrics(std::max<int64_t>(s.wrapper->num_classes(), 1));
  std::vector<double> latencies;
  latencies.reserve(static_cast<size_t>((s.samples + bs - 1) / bs * m.repeat));
  support::Progress progress("evaluate " + t.name, s.samples * m.repeat, progress_mode);
  t0 = Clock::now();
  for (int64_t rep = 0; rep < m.repeat; ++rep) {
    for (int64_t first = 0; first < s.samples; first += bs) {
      const int64_t count = std::min(bs, s.samples - first);
      const auto batch = s.dataset->read(first, count);
      const ir::Tensor x = s.wrapper->preprocess(batch.samples);
      const auto ti = Clock::now();
      const auto outputs = infer(x);
      latencies.push_back(seconds_since(ti));
      executor->after_run();
      if (rep == 0 && labelled) {
        with_context(cfg, cfg.model_wrapper.json_path, [&] {
          metrics.add(s.wrapper->postprocess(outputs), batch.labels);
        });
      }
      progress.update(rep * s.samples + first + count);
    }
  }
  progress.finish();
  stages["evaluate"] = seconds_since(t0);
  // Of that, the time inside the runtime's inference calls: the rest is hone's own evaluation
  // overhead (reading, preprocessing, metrics), which the fast runtime must not be drowned by.
  double inference = 0;
  for (double l : latencies) inference += l;
  stages["evaluate_inference"] = inference;

  json quality;
  if (labelled) {
    quality = metrics.to_json(s.class_names);
    quality["available"] = true;
  } else {
    quality = {{"available", false},
               {"reason", s.wrapper->num_classes() == 0 ? "the model wrapper does not classify"
                                                        : "the dataset has no labels"},
               {"samples", s.samples}};
  }

  const support::HostInfo host = support::host_info();
  const json runtime_desc = tp.runtime->describe();
  json meas = {
      {"schema_version", kMeasurementsSchemaVersion},
      {"kind", "hone.measurements"},
      {"name", cfg.name},
      {"target", {{"name", t.name},
                  {"compiler", {{"type", t.compiler.type}, {"parameters", t.compiler.params}, {"detail", artifact.detail}}},
                  {"runtime", runtime_desc},
                  {"platform", tp.platform->describe()}}},
      {"model", s.wrapper->describe()},
      {"dataset", {{"type", cfg.dataset.type},
                   {"description", s.dataset->description()},
                   {"source", s.dataset->source()},
                   {"evaluated_samples", s.samples}}},
      {"quality", quality},
      {"latency", latency_json(latency_stats(latencies), bs, latencies)},
      {"size", size_json(artifact)},
      {"resources", {{"peak_rss_bytes", support::peak_rss_bytes()},
                     {"peak_rss_scope", own_peak ? "target" : "process"},
                     {"stage_seconds", stages}}},
      {"optimizers", optimized.reports},
      {"provenance", {{"pipeline_file", fs::absolute(cfg.file).lexically_normal().string()},
                      {"pipeline_sha256", cfg.sha256},
                      {"overrides", cfg.overrides},
                      {"pipeline", cfg.resolved},
                      {"hone_version", hone::version()},
                      {"git_commit", hone::git_commit()},
                      {"host", support::to_json(host)},
                      {"compiler", host.compiler},
                      {"timestamp", support::utc_timestamp()},
                      {"seed", m.seed},
                      {"plugins", plugins_json()},
                      {"optimized_model", optimized.provenance}}},
  };
  // The runtime says whether its latency is the hardware's (docs/measurements.md).
  meas["latency"]["latency_kind"] = runtime_desc.is_object() ? runtime_desc.value("latency_kind", "measured") : "measured";
  if (const json extra = executor->take_measurements(); extra.is_object()) {
    if (extra.contains("on_target")) meas["latency"]["on_target"] = extra["on_target"];
    if (extra.contains("reference_check")) meas["quality"]["reference_check"] = extra["reference_check"];
  }
  if (const json profile = executor->profile(); profile.is_array() && !profile.empty()) {
    meas["profile"] = {{"layers", profile}};
  }
  const fs::path file = out_dir / (t.name + ".measurements.json");
  support::write_file_atomic(file, meas.dump(2) + "\n");
  return {t.name, file, std::move(meas)};
}

}  // namespace

json run_pass(passes::Pass& pass, const json& params, ir::Model& model, const passes::PassContext& ctx) {
  const auto before = analysis::compute_model_stats(model);
  const auto t0 = Clock::now();
  json detail = pass.run(model, ctx);
  ir::infer_shapes(model);
  const double secs = seconds_since(t0);
  const auto after = analysis::compute_model_stats(model);
  return {{"type", pass.name()}, {"parameters", params}, {"seconds", secs},
          {"nodes_before", before.node_count}, {"nodes_after", after.node_count},
          {"parameters_before", before.parameters}, {"parameters_after", after.parameters},
          {"detail", std::move(detail)}};
}

json run_passes(const std::vector<PassStep>& steps, ir::Model& model, const passes::PassContext& ctx, bool cleanup,
                const std::function<json(size_t, const std::function<json()>&)>& guard) {
  std::unique_ptr<passes::Pass> cleaner;
  if (cleanup) {
    const Registration& r = Registry::global().get(ComponentKind::Optimizer, "cleanup");
    cleaner = create<passes::Pass>(r, validate_parameters(r.spec, json::object(), "cleanup"), BuildContext{});
  }
  json reports = json::array();
  if (cleaner) {
    json r = run_pass(*cleaner, json::object(), model, ctx);
    r["implicit"] = true;
    reports.push_back(std::move(r));
  }
  for (size_t i = 0; i < steps.size(); ++i) {
    reports.push_back(guard(i, [&] {
      json r = run_pass(*steps[i].pass, steps[i].params, model, ctx);
      if (cleaner) {
        json c = run_pass(*cleaner, json::object(), model, ctx);
        c.erase("type");
        c.erase("parameters");
        r["cleanup"] = std::move(c);
      }
      return r;
    }));
  }
  return reports;
}

fs::path output_dir_of(const PipelineConfig& cfg, const RunOptions& options) {
  if (!options.output_dir.empty()) return options.output_dir;
  if (!cfg.measurements.output_dir.empty()) return cfg.measurements.output_dir;
  return fs::path("hone-out") / cfg.name;
}

std::vector<TargetResult> run_pipeline(const PipelineConfig& cfg, const RunOptions& options) {
  Session s = open_session(cfg, options.only_target);
  spdlog::info("model {} ({}), dataset: {}", s.wrapper->model_path(), s.wrapper->input_name(),
               s.dataset->description());

  const fs::path out_dir = output_dir_of(cfg, options);
  try {
    support::ensure_writable_dir(out_dir);
  } catch (const Error& e) {
    // Name the folder in the message and the option (or pipeline key) that chose it.
    Error err(e.kind(), fmt::format("'{}': {}", out_dir.string(), e.detail()));
    if (options.output_dir.empty()) throw err.with_json_path("/measurements/output_dir").with_file(cfg.file.string());
    throw err.with_json_path("--output-dir");
  }

  const Optimized optimized = optimize_cached(cfg, s, out_dir);
  if (options.optimize_only) {
    spdlog::info("optimized model: {}", optimized.provenance.value("file", json()).is_string()
                                            ? (out_dir / optimized.provenance["file"].get<std::string>()).string()
                                            : "(not cached)");
    return {};
  }
  const json shared = {{"load_model", s.load_model_seconds}, {"load_dataset", s.load_dataset_seconds},
                       {"optimize", optimized.seconds}};

  std::vector<TargetResult> results;
  for (auto& tp : s.targets) {
    spdlog::info("target {}: compiler {}, runtime {}, platform {}", tp.config->name, tp.config->compiler.type,
                 tp.config->runtime.type, tp.config->platform.type);
    try {
      results.push_back(run_target(cfg, s, tp, out_dir, optimized, shared, options.progress));
      spdlog::info("wrote {}", results.back().measurements_file.string());
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::CheckFailed) throw;
      // Stale measurements of an earlier run must not pass for this one's.
      std::error_code ec;
      fs::remove(out_dir / (tp.config->name + ".measurements.json"), ec);
      spdlog::error("target {} failed: {}", tp.config->name, e.what());
      TargetResult failed;
      failed.target = tp.config->name;
      failed.failure = e.detail();
      results.push_back(std::move(failed));
    }
  }
  return results;
}

json check_pipeline(const PipelineConfig& cfg) {
  Session s = open_session(cfg, "");
  json targets = json::array();
  for (const auto& t : s.targets) {
    targets.push_back({{"name", t.config->name}, {"compiler", t.config->compiler.type},
                       {"runtime", t.config->runtime.type}, {"platform", t.config->platform.type}});
  }
  json opts = json::array();
  for (const auto& o : cfg.optimizers) opts.push_back(o.type);
  return {{"name", cfg.name},
          {"model", s.wrapper->describe()},
          {"dataset", s.dataset->description()},
          {"evaluated_samples", s.samples},
          {"optimizers", opts},
          {"targets", targets}};
}

namespace {
std::string pct(const json& q, const char* key) {
  return q.value("available", false) ? fmt::format("{:.2f} %", 100.0 * q.at(key).get<double>()) : "n/a";
}
}  // namespace

std::string summary_table(const std::vector<TargetResult>& results) {
  std::string out = fmt::format("{:<20} {:>8} {:>8} {:>10} {:>10} {:>10} {:>10} {:>11} {:>11}\n", "target", "top-1",
                                "top-5", "mean ms", "p50 ms", "p99 ms", "inf/s", "model", "zstd");
  for (const auto& r : results) {
    if (!r.failure.empty()) {
      out += fmt::format("{:<20} FAILED: {}\n", r.target, r.failure);
      continue;
    }
    const json& m = r.measurements;
    const json& q = m.at("quality");
    const json& l = m.at("latency");
    const json& z = m.at("size");
    out += fmt::format("{:<20} {:>8} {:>8} {:>10.3f} {:>10.3f} {:>10.3f} {:>10.1f} {:>11} {:>11}\n", r.target,
                       pct(q, "top1"), pct(q, "top5"), l.at("mean_ms").get<double>(), l.at("p50_ms").get<double>(),
                       l.at("p99_ms").get<double>(), l.at("throughput_per_s").get<double>(),
                       report::format_bytes(z.at("model_file_bytes").get<int64_t>()),
                       report::format_bytes(z.at("compressed_bytes").get<int64_t>()));
  }
  return out;
}

}  // namespace hone::pipeline
