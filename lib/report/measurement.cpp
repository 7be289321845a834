#include "report/measurement.h"

#include "pipeline/registry.h"
#include "support/error.h"
#include "support/file_io.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace hone::report {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Typed, optional reads: absent or null -> nullopt; present with another type -> BadInput
// naming the JSON path, because a file that says "top1": "high" is broken, not incomplete.
class Reader {
 public:
  explicit Reader(const fs::path& file) : file_(file.string()) {}

  [[noreturn]] void fail(const std::string& path, const std::string& expected, const json& got) const {
    throw Error(ErrorKind::BadInput, fmt::format("expected {}, got {}", expected, pipeline::shown(got)),
                ErrorContext{.file = file_, .json_path = path});
  }

  const json* at(const json& obj, const std::string& key) const {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    return it == obj.end() || it->is_null() ? nullptr : &*it;
  }

  std::optional<double> number(const json& obj, const std::string& key, const std::string& path) const {
    const json* v = at(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_number()) fail(path + "/" + key, "a number", *v);
    return v->get<double>();
  }
  std::optional<int64_t> integer(const json& obj, const std::string& key, const std::string& path) const {
    const json* v = at(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_number_integer()) fail(path + "/" + key, "an integer", *v);
    return v->get<int64_t>();
  }
  std::string string(const json& obj, const std::string& key, const std::string& path) const {
    const json* v = at(obj, key);
    if (!v) return "";
    if (!v->is_string()) fail(path + "/" + key, "a string", *v);
    return v->get<std::string>();
  }
  const json& object(const json& obj, const std::string& key, const std::string& path) const {
    static const json empty = json::object();
    const json* v = at(obj, key);
    if (!v) return empty;
    if (!v->is_object()) fail(path + "/" + key, "an object", *v);
    return *v;
  }
  const json& array(const json& obj, const std::string& key, const std::string& path) const {
    static const json empty = json::array();
    const json* v = at(obj, key);
    if (!v) return empty;
    if (!v->is_array()) fail(path + "/" + key, "an array", *v);
    return *v;
  }

 private:
  std::string file_;
};

// A parameter value in the short chain: strings bare, everything else as compact JSON, cut.
std::string short_value(const json& v) {
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  if (s.size() > 24) s = s.substr(0, 21) + "...";
  return s;
}

// "quantize_static(calibration=entropy)": the type and the parameters that differ from the
// registered component's defaults (all of them when the component is unknown here, e.g. it
// came from a plugin this hone has not loaded).
std::string short_pass(const std::string& type, const json& params) {
  const auto* reg = pipeline::Registry::global().find(pipeline::ComponentKind::Optimizer, type);
  std::vector<std::string> parts;
  if (params.is_object()) {
    for (const auto& [k, v] : params.items()) {
      const pipeline::ParamSpec* spec = reg ? reg->spec.param(k) : nullptr;
      if (spec && spec->default_value == v) continue;
      parts.push_back(fmt::format("{}={}", k, short_value(v)));
    }
  }
  return parts.empty() ? type : fmt::format("{}({})", type, fmt::join(parts, ", "));
}

void read_layers(const Reader& r, Measurement& m, const json& doc) {
  // Per-node time from the runtime's profile (when the run was profiled).
  const json& profile = r.object(doc, "profile", "");
  const json& layers = r.array(profile, "layers", "/profile");
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string p = fmt::format("/profile/layers/{}", i);
    const auto ms = r.number(layers[i], "mean_ms", p);
    if (!ms) continue;
    std::string note = r.string(layers[i], "op_type", p);
    const std::string kernel = r.string(layers[i], "kernel", p);
    if (!kernel.empty()) note += note.empty() ? kernel : ", " + kernel;
    m.layer_time_ms.push_back({r.string(layers[i], "node", p), note, *ms});
  }

  const json& opts = r.array(doc, "optimizers", "");
  std::map<std::string, size_t> sparsity_index;  // a later pass's value replaces an earlier one
  for (size_t i = 0; i < opts.size(); ++i) {
    const std::string p = fmt::format("/optimizers/{}", i);
    const json& o = opts[i];
    if (!o.is_object()) r.fail(p, "an object", o);
    const std::string type = r.string(o, "type", p);
    const json& detail = r.object(o, "detail", p);
    if (type == "quantize_static") {
      const json& nodes = r.array(detail, "nodes", p + "/detail");
      for (size_t k = 0; k < nodes.size(); ++k) {
        const std::string np = fmt::format("{}/detail/nodes/{}", p, k);
        if (auto v = r.number(nodes[k], "sqnr_db", np)) {
          m.layer_sqnr_db.push_back({r.string(nodes[k], "node", np), r.string(nodes[k], "op_type", np), *v});
        }
      }
      continue;
    }
    const json& ls = r.array(detail, "layers", p + "/detail");
    for (size_t k = 0; k < ls.size(); ++k) {
      const std::string lp = fmt::format("{}/detail/layers/{}", p, k);
      const json& l = ls[k];
      std::optional<double> value = r.number(l, "sparsity", lp);
      std::string note = r.string(l, "pattern", lp);
      if (!value) {  // channel pruning: the fraction of output channels removed
        const auto before = r.number(l, "channels_before", lp);
        const auto after = r.number(l, "channels_after", lp);
        if (before && after && *before > 0) {
          value = 1.0 - *after / *before;
          note = "channels";
        }
      }
      if (!value) continue;
      const std::string node = r.string(l, "node", lp);
      if (note.empty()) note = r.string(l, "op", lp);
      auto [it, fresh] = sparsity_index.emplace(node, m.layer_sparsity.size());
      if (fresh) {
        m.layer_sparsity.push_back({node, note, *value});
      } else {
        m.layer_sparsity[it->second] = {node, note, *value};
      }
    }
  }
}

}  // namespace

Measurement measurement_from_json(const json& doc, const fs::path& file) {
  const Reader r(file);
  if (!doc.is_object()) {
    throw Error(ErrorKind::BadInput, "not a measurements file (expected a JSON object)", {.file = file.string()});
  }
  const std::string kind = r.string(doc, "kind", "");
  if (kind != "hone.measurements") {
    throw Error(ErrorKind::BadInput,
                fmt::format("not a measurements file: \"kind\" is {}, expected \"hone.measurements\"",
                            kind.empty() ? "missing" : pipeline::shown(doc.at("kind"))),
                {.file = file.string()});
  }
  const auto schema = r.integer(doc, "schema_version", "");
  if (schema && *schema > 1) {
    throw Error(ErrorKind::BadInput,
                fmt::format("schema_version {} is newer than this hone reads (1): update hone", *schema),
                {.file = file.string(), .json_path = "/schema_version"});
  }

  Measurement m;
  m.file = file;
  m.raw = doc;
  m.pipeline = r.string(doc, "name", "");
  const json& target = r.object(doc, "target", "");
  m.target = r.string(target, "name", "/target");
  const json& platform = r.object(target, "platform", "/target");
  m.platform = r.string(platform, "display_name", "/target/platform");
  if (m.platform.empty()) m.platform = r.string(platform, "name", "/target/platform");
  m.runtime = r.string(r.object(target, "runtime", "/target"), "name", "/target/runtime");

  const json& prov = r.object(doc, "provenance", "");
  const json& host = r.object(prov, "host", "/provenance");
  const std::string cpu = r.string(host, "cpu_model", "/provenance/host");
  const auto cores = r.integer(host, "logical_cores", "/provenance/host");
  const std::string os = r.string(host, "os", "/provenance/host");
  if (!cpu.empty() || cores || !os.empty()) {
    m.host = fmt::format("{}, {} cores, {}", cpu.empty() ? "unknown CPU" : cpu,
                         cores ? std::to_string(*cores) : "?", os.empty() ? "unknown OS" : os);
  }
  m.timestamp = r.string(prov, "timestamp", "/provenance");
  m.pipeline_sha256 = r.string(prov, "pipeline_sha256", "/provenance");
  m.optimized_model_sha256 =
      r.string(r.object(prov, "optimized_model", "/provenance"), "sha256", "/provenance/optimized_model");
  if (const json* p = r.at(prov, "pipeline"); p && p->is_object() && p->contains("targets") && (*p)["targets"].is_array()) {
    for (const auto& t : (*p)["targets"]) {
      if (t.is_object() && t.contains("name") && t["name"].is_string()) m.pipeline_targets.push_back(t["name"].get<std::string>());
    }
  }

  const json& q = r.object(doc, "quality", "");
  const json* available = r.at(q, "available");
  if (available && !available->is_boolean()) r.fail("/quality/available", "true or false", *available);
  if (available && available->get<bool>()) {
    m.top1 = r.number(q, "top1", "/quality");
    m.top5 = r.number(q, "top5", "/quality");
    m.macro_f1 = r.number(q, "macro_f1", "/quality");
    m.samples = r.integer(q, "samples", "/quality");
    const json& names = r.array(q, "class_names", "/quality");
    for (size_t i = 0; i < names.size(); ++i) {
      if (!names[i].is_string()) r.fail(fmt::format("/quality/class_names/{}", i), "a string", names[i]);
      m.class_names.push_back(names[i].get<std::string>());
    }
    const json& pc = r.array(q, "per_class", "/quality");
    for (size_t i = 0; i < pc.size(); ++i) {
      const std::string p = fmt::format("/quality/per_class/{}", i);
      ClassRow row;
      row.name = r.string(pc[i], "name", p);
      row.precision = r.number(pc[i], "precision", p).value_or(0);
      row.recall = r.number(pc[i], "recall", p).value_or(0);
      row.f1 = r.number(pc[i], "f1", p).value_or(0);
      row.support = r.integer(pc[i], "support", p).value_or(0);
      m.per_class.push_back(std::move(row));
    }
    const json& cm = r.array(q, "confusion_matrix", "/quality");
    for (size_t i = 0; i < cm.size(); ++i) {
      const std::string p = fmt::format("/quality/confusion_matrix/{}", i);
      if (!cm[i].is_array() || cm[i].size() != cm.size()) {
        r.fail(p, fmt::format("a row of {} counts", cm.size()), cm[i]);
      }
      std::vector<int64_t> row;
      for (size_t j = 0; j < cm[i].size(); ++j) {
        if (!cm[i][j].is_number_integer()) r.fail(fmt::format("{}/{}", p, j), "an integer", cm[i][j]);
        row.push_back(cm[i][j].get<int64_t>());
      }
      m.confusion.push_back(std::move(row));
    }
    if (m.class_names.empty()) {  // unnamed classes are "0", "1", ...
      const auto n = r.integer(q, "num_classes", "/quality").value_or(static_cast<int64_t>(m.confusion.size()));
      for (int64_t c = 0; c < n; ++c) m.class_names.push_back(std::to_string(c));
    }
  } else {
    m.quality_note = r.string(q, "reason", "/quality");
  }

  const json& l = r.object(doc, "latency", "");
  m.latency_mean = r.number(l, "mean_ms", "/latency");
  m.latency_std = r.number(l, "std_ms", "/latency");
  m.latency_p50 = r.number(l, "p50_ms", "/latency");
  m.latency_p90 = r.number(l, "p90_ms", "/latency");
  m.latency_p99 = r.number(l, "p99_ms", "/latency");
  m.throughput = r.number(l, "throughput_per_s", "/latency");
  m.batch_size = r.integer(l, "batch_size", "/latency");
  const std::string lk = r.string(l, "latency_kind", "/latency");
  if (!lk.empty()) m.latency_kind = lk;
  const json& samples = r.array(l, "samples_ms", "/latency");
  m.latency_samples.reserve(samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    if (!samples[i].is_number()) r.fail(fmt::format("/latency/samples_ms/{}", i), "a number", samples[i]);
    m.latency_samples.push_back(samples[i].get<double>());
  }

  const json& s = r.object(doc, "size", "");
  m.file_bytes = r.integer(s, "model_file_bytes", "/size");
  m.compressed_bytes = r.integer(s, "compressed_bytes", "/size");
  m.parameters = r.integer(s, "parameters", "/size");
  m.macs = r.integer(s, "macs", "/size");
  m.weight_bytes = r.integer(s, "weight_bytes", "/size");
  m.zero_weight_fraction = r.number(s, "zero_weight_fraction", "/size");
  m.peak_rss_bytes = r.integer(r.object(doc, "resources", ""), "peak_rss_bytes", "/resources");
  {
    const json& d = r.object(r.object(r.object(doc, "target", ""), "compiler", "/target"), "detail", "/target/compiler");
    const std::string dp = "/target/compiler/detail";
    m.flash_bytes = r.integer(d, "flash_bytes", dp);
    m.ram_bytes = r.integer(d, "ram_bytes", dp);
    m.flash_budget_bytes = r.integer(d, "flash_budget_bytes", dp);
    m.ram_budget_bytes = r.integer(d, "ram_budget_bytes", dp);
    m.arena_bytes = r.integer(d, "arena_bytes", dp);
    const json& ot = r.object(l, "on_target", "/latency");
    m.cycles_per_inference = r.number(r.object(ot, "cycles_per_inference", "/latency/on_target"), "mean",
                                      "/latency/on_target/cycles_per_inference");
    m.estimated_latency_ms = r.number(r.object(ot, "estimated_latency_ms", "/latency/on_target"), "mean",
                                      "/latency/on_target/estimated_latency_ms");
    m.clock_mhz = r.integer(ot, "clock_mhz", "/latency/on_target");
    const json& rc = r.object(q, "reference_check", "/quality");
    const auto n = r.integer(rc, "samples", "/quality/reference_check");
    const auto same = r.integer(rc, "bit_identical", "/quality/reference_check");
    if (n && same) m.reference_check = fmt::format("{}/{} bit-identical", *same, *n);
  }
  m.dataset = r.string(r.object(doc, "dataset", ""), "description", "/dataset");

  const json& opts = r.array(doc, "optimizers", "");
  std::vector<std::string> chain;
  for (size_t i = 0; i < opts.size(); ++i) {
    const std::string p = fmt::format("/optimizers/{}", i);
    if (!opts[i].is_object()) r.fail(p, "an object", opts[i]);
    const json& o = opts[i];
    const json* implicit = r.at(o, "implicit");
    if (implicit && !implicit->is_boolean()) r.fail(p + "/implicit", "true or false", *implicit);
    Measurement::Pass pass{r.string(o, "type", p),
                           implicit && implicit->get<bool>(),
                           r.number(o, "seconds", p),
                           r.integer(o, "nodes_before", p),
                           r.integer(o, "nodes_after", p),
                           r.integer(o, "parameters_before", p),
                           r.integer(o, "parameters_after", p)};
    if (!pass.implicit) chain.push_back(short_pass(pass.type, r.object(o, "parameters", p)));
    m.passes.push_back(std::move(pass));
  }
  m.optimizer_chain = chain.empty() ? "none" : fmt::format("{}", fmt::join(chain, " → "));
  read_layers(r, m, doc);
  return m;
}

Measurement load_measurement(const fs::path& file) {
  const std::string text = support::read_file(file);
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    throw Error(ErrorKind::BadInput, fmt::format("not valid JSON: {}", e.what()), {.file = file.string()});
  }
  return measurement_from_json(doc, file);
}

std::vector<fs::path> measurement_files(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return {path};
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(path, ec)) {
    if (e.is_regular_file(ec) && e.path().filename().string().ends_with(".measurements.json")) files.push_back(e.path());
  }
  if (ec) throw Error(ErrorKind::BadInput, fmt::format("cannot list the folder: {}", ec.message()), {.file = path.string()});
  if (files.empty()) {
    throw Error(ErrorKind::BadInput, "the folder holds no *.measurements.json file", {.file = path.string()});
  }
  std::sort(files.begin(), files.end());
  return files;
}

namespace {
// True when every measurement comes from the same pipeline file.
bool one_pipeline_file(const std::vector<Measurement>& ms) {
  if (ms.empty() || ms.front().pipeline_sha256.empty()) return false;
  for (const auto& m : ms) {
    if (m.pipeline != ms.front().pipeline || m.pipeline_sha256 != ms.front().pipeline_sha256) return false;
  }
  return true;
}
}  // namespace

void order_by_pipeline_targets(std::vector<Measurement>& ms) {
  if (!one_pipeline_file(ms)) return;
  const auto& order = ms.front().pipeline_targets;
  auto rank = [&](const Measurement& m) {
    return static_cast<size_t>(std::find(order.begin(), order.end(), m.target) - order.begin());
  };
  std::stable_sort(ms.begin(), ms.end(), [&](const Measurement& a, const Measurement& b) { return rank(a) < rank(b); });
}

std::vector<std::string> missing_targets(const std::vector<Measurement>& ms) {
  std::vector<std::string> out;
  if (!one_pipeline_file(ms)) return out;
  for (const auto& t : ms.front().pipeline_targets) {
    const bool found = std::any_of(ms.begin(), ms.end(), [&](const Measurement& m) { return m.target == t; });
    if (!found) out.push_back(fmt::format("Target '{}' has no measurements: its run failed or did not run.", t));
  }
  return out;
}

void label_measurements(std::vector<Measurement>& ms, const std::vector<std::string>& names) {
  if (!names.empty()) {
    if (names.size() != ms.size()) {
      throw bad_input("--names has {} names for {} measurement files", names.size(), ms.size());
    }
    std::set<std::string> seen;
    for (size_t i = 0; i < ms.size(); ++i) {
      if (!seen.insert(names[i]).second) throw bad_input("--names: '{}' is given twice", names[i]);
      ms[i].label = names[i];
    }
    return;
  }
  const bool one_pipeline = std::all_of(ms.begin(), ms.end(), [&](const Measurement& m) {
    return m.pipeline == ms.front().pipeline && !m.target.empty();
  });
  std::map<std::string, int> count;
  for (auto& m : ms) {
    m.label = one_pipeline && ms.size() > 1 ? m.target : m.pipeline;
    if (m.label.empty()) m.label = m.file.stem().string();
    ++count[m.label];
  }
  for (auto& m : ms) {
    if (count[m.label] > 1 && !m.target.empty() && !one_pipeline) m.label += "/" + m.target;
  }
  std::map<std::string, int> seen;
  for (auto& m : ms) {
    const int n = ++seen[m.label];
    if (n > 1) m.label += fmt::format(" #{}", n);
  }
}

size_t find_measurement(const std::vector<Measurement>& ms, const std::string& which) {
  if (which.empty()) return 0;
  std::vector<std::string> labels;
  for (const auto& m : ms) labels.push_back(m.label);
  for (int pass = 0; pass < 2; ++pass) {  // exact label first, then the other names
    std::vector<size_t> hits;
    for (size_t i = 0; i < ms.size(); ++i) {
      const Measurement& m = ms[i];
      const bool hit = pass == 0 ? m.label == which
                                 : m.pipeline == which || m.target == which || m.file.string() == which;
      if (hit) hits.push_back(i);
    }
    if (hits.size() == 1) return hits.front();
    if (hits.size() > 1) {
      throw bad_input("--baseline '{}' matches {} measurements; use one of the labels: {}", which, hits.size(),
                      fmt::join(labels, ", "));
    }
  }
  throw bad_input("--baseline '{}' names no measurement{}; labels: {}", which, pipeline::did_you_mean(which, labels),
                  fmt::join(labels, ", "));
}

std::string accuracy_incomparable(const Measurement& base, const Measurement& m) {
  if (!base.top1) return fmt::format("'{}' has no accuracy", base.label);
  if (!m.top1) return fmt::format("'{}' has no accuracy", m.label);
  if (base.class_names != m.class_names) {
    return fmt::format("'{}' has a different class set ({} classes) from '{}' ({} classes)", m.label,
                       m.class_names.size(), base.label, base.class_names.size());
  }
  return "";
}

std::string latency_incomparable(const Measurement& base, const Measurement& m) {
  if (m.latency_kind != "measured" || base.latency_kind != "measured") {
    return fmt::format("latency of '{}' is {} and of '{}' is {}", m.label, m.latency_kind, base.label,
                       base.latency_kind);
  }
  if (base.host != m.host) {
    return fmt::format("'{}' ran on {} and '{}' on {}: a latency ratio is only meaningful on the same host",
                       m.label, m.host.empty() ? "an unknown host" : m.host, base.label,
                       base.host.empty() ? "an unknown host" : base.host);
  }
  return "";
}

}  // namespace hone::report
