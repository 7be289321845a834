#include "pipeline/pipeline.h"

#include "plugin/loader.h"
#include "support/error.h"
#include "support/file_io.h"

#include <fmt/format.h>

#include <regex>

namespace hone::pipeline {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::vector<std::string> kTopLevelKeys = {
    "name", "description", "model_wrapper", "dataset", "optimizers", "cleanup", "compiler",
    "runtime", "platform", "targets", "measurements", "plugins"};

// Block defaults when a pipeline leaves the key out.
const char* default_type(ComponentKind kind) {
  switch (kind) {
    case ComponentKind::Compiler: return "none";
    case ComponentKind::Runtime: return "reference";
    case ComponentKind::Platform: return "host";
    default: return nullptr;
  }
}

// What was given where a block, list or name was expected: "a list", "an object", or the value.
std::string type_name(const json& v) {
  if (v.is_array()) return "a list";
  if (v.is_object()) return "an object";
  return shown(v);
}

void check_keys(const json& obj, const std::vector<std::string>& allowed, const std::string& path) {
  for (const auto& [key, value] : obj.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      throw bad_input("unknown key '{}'{}; expected one of: {}", key, did_you_mean(key, allowed), list)
          .with_json_path(path + "/" + key);
    }
  }
}

// Path parameters resolve against the pipeline file's folder.
void resolve_paths(const ComponentSpec& spec, json& params, const fs::path& base) {
  for (const ParamSpec& p : spec.params) {
    if (p.type != ParamType::Path) continue;
    json& v = params[p.name];
    if (!v.is_string() || v.get<std::string>().empty()) continue;
    const fs::path path(v.get<std::string>());
    if (path.is_relative()) v = (base / path).lexically_normal().string();
  }
}

ComponentConfig parse_block(const json& block, ComponentKind kind, const std::string& path,
                            const fs::path& base, const Registry& registry) {
  if (!block.is_object()) {
    throw bad_input("expected an object {{\"type\": ..., \"parameters\": {{...}}}}, got {}", type_name(block))
        .with_json_path(path);
  }
  check_keys(block, {"type", "parameters"}, path);
  if (!block.contains("type")) throw bad_input("missing \"type\"").with_json_path(path);
  if (!block["type"].is_string()) {
    throw bad_input("expected a {} type name (a string), got {}", kind_name(kind), type_name(block["type"]))
        .with_json_path(path + "/type");
  }
  ComponentConfig c;
  c.type = block["type"].get<std::string>();
  c.json_path = path;
  try {
    c.registration = &registry.get(kind, c.type);
  } catch (Error& e) {
    throw e.with_json_path(path + "/type");
  }
  const json params = block.contains("parameters") ? block["parameters"] : json::object();
  c.params = validate_parameters(c.registration->spec, params, path + "/parameters");
  resolve_paths(c.registration->spec, c.params, base);
  return c;
}

ComponentConfig default_block(ComponentKind kind, const fs::path& base, const Registry& registry,
                              const std::string& path) {
  return parse_block(json{{"type", default_type(kind)}}, kind, path, base, registry);
}

std::string strip_nlohmann_prefix(std::string msg) {
  // "[json.exception.parse_error.101] parse error at line 3, column 5: ..." -> "parse error at ..."
  if (!msg.empty() && msg[0] == '[') {
    const auto end = msg.find("] ");
    if (end != std::string::npos) msg = msg.substr(end + 2);
  }
  return msg;
}

// The "plugins" list, each path resolved against the pipeline file's folder.
std::vector<fs::path> plugin_paths(const json& doc, const fs::path& base) {
  std::vector<fs::path> out;
  if (!doc.is_object() || !doc.contains("plugins")) return out;
  const json& list = doc["plugins"];
  if (!list.is_array()) {
    throw bad_input("expected a list of plugin library paths, got {}", type_name(list)).with_json_path("/plugins");
  }
  for (size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_string() || list[i].get<std::string>().empty()) {
      throw bad_input("expected a plugin library path, got {}", type_name(list[i]))
          .with_json_path(fmt::format("/plugins/{}", i));
    }
    const fs::path p(list[i].get<std::string>());
    out.push_back(p.is_relative() ? (base / p).lexically_normal() : p);
  }
  return out;
}

json block_json(const ComponentConfig& c) { return {{"type", c.type}, {"parameters", c.params}}; }

}  // namespace

const ComponentSpec& measurements_spec() {
  static const ComponentSpec spec = [] {
    ComponentSpec s;
    s.name = "measurements";
    s.description = "How the evaluation is run and where its results go";
    s.params = {
        {"warmup", ParamType::Int, 10, false, 0, 1e6, {}, "Inferences run before timing starts (not counted)"},
        {"repeat", ParamType::Int, 1, false, 1, 1000, {},
         "Timed passes over the evaluation samples; quality comes from the first"},
        {"output_dir", ParamType::Path, "", false, {}, {}, {},
         "Where measurements go; \"\" = hone-out/<name> in the working directory"},
        {"limit", ParamType::Int, 0, false, 0, {}, {}, "Evaluate at most this many samples; 0 = all"},
        {"seed", ParamType::Int, 0, false, 0, {}, {}, "Seed for calibration sampling and anything random"},
        {"batch_size", ParamType::Int, 1, false, 1, 65536, {},
         "Samples per inference; latency is reported per inference"},
    };
    return s;
  }();
  return spec;
}

void apply_override(json& doc, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw bad_input("--set '{}': expected KEY.PATH=VALUE, e.g. dataset.parameters.limit=500", assignment);
  }
  const std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = text;

  json* node = &doc;
  std::string pointer;
  size_t start = 0;
  while (true) {
    const size_t dot = key.find('.', start);
    const std::string seg = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (seg.empty()) throw bad_input("--set '{}': empty key segment", assignment);
    pointer += "/" + seg;
    const bool last = dot == std::string::npos;
    if (node->is_array()) {
      if (!std::regex_match(seg, std::regex("[0-9]+"))) {
        throw bad_input("--set '{}': {} is a list; expected an index, got '{}'", assignment,
                        pointer.substr(0, pointer.size() - seg.size() - 1), seg);
      }
      const size_t idx = std::stoul(seg);
      if (idx >= node->size()) {
        throw bad_input("--set '{}': index {} is past the end of a list of {}", assignment, idx, node->size());
      }
      node = &(*node)[idx];
    } else {
      if (node->is_null()) *node = json::object();
      if (!node->is_object()) {
        throw bad_input("--set '{}': {} is not an object", assignment,
                        pointer.substr(0, pointer.size() - seg.size() - 1));
      }
      node = &(*node)[seg];
    }
    if (last) break;
    start = dot + 1;
  }
  *node = std::move(value);
}

PipelineConfig parse_pipeline(const json& doc, const fs::path& file, const Registry& registry) {
  PipelineConfig cfg;
  cfg.file = file;
  const fs::path base = file.has_parent_path() ? file.parent_path() : fs::path(".");
  try {
    if (!doc.is_object()) throw bad_input("a pipeline is a JSON object, got {}", type_name(doc));
    check_keys(doc, kTopLevelKeys, "");

    for (const auto& p : plugin_paths(doc, base)) cfg.plugins.push_back(p.string());

    cfg.name = file.stem().string();
    if (doc.contains("name")) {
      if (!doc["name"].is_string() ||
          !std::regex_match(doc["name"].get<std::string>(), std::regex("[A-Za-z0-9_.+-]+"))) {
        throw bad_input("expected a name of letters, digits and _.+- (it names output files), got {}",
                        type_name(doc["name"]))
            .with_json_path("/name");
      }
      cfg.name = doc["name"].get<std::string>();
    }
    if (doc.contains("description")) {
      if (!doc["description"].is_string()) {
        throw bad_input("expected a string, got {}", type_name(doc["description"])).with_json_path("/description");
      }
      cfg.description = doc["description"].get<std::string>();
    }

    for (const char* key : {"model_wrapper", "dataset"}) {
      if (!doc.contains(key)) throw bad_input("missing \"{}\" block", key).with_json_path(std::string("/") + key);
    }
    cfg.model_wrapper = parse_block(doc["model_wrapper"], ComponentKind::ModelWrapper, "/model_wrapper", base, registry);
    cfg.dataset = parse_block(doc["dataset"], ComponentKind::Dataset, "/dataset", base, registry);

    if (doc.contains("optimizers")) {
      const json& opts = doc["optimizers"];
      if (!opts.is_array()) {
        throw bad_input("expected a list of optimizer blocks, got {}", type_name(opts)).with_json_path("/optimizers");
      }
      for (size_t i = 0; i < opts.size(); ++i) {
        const std::string path = fmt::format("/optimizers/{}", i);
        ComponentConfig c = parse_block(opts[i], ComponentKind::Optimizer, path, base, registry);
        for (const auto& prev : cfg.optimizers) {
          if (prev.type == c.type && !c.registration->spec.repeatable) {
            throw bad_input("'{}' is already at {}; running it twice makes no sense", c.type, prev.json_path)
                .with_json_path(path);
          }
        }
        cfg.optimizers.push_back(std::move(c));
      }
    }

    if (doc.contains("cleanup")) {
      if (!doc["cleanup"].is_boolean()) {
        throw bad_input("expected true or false, got {}", type_name(doc["cleanup"])).with_json_path("/cleanup");
      }
      cfg.cleanup = doc["cleanup"].get<bool>();
    }

    auto top_block = [&](ComponentKind kind) {
      const std::string key(kind_name(kind));
      return doc.contains(key) ? parse_block(doc[key], kind, "/" + key, base, registry)
                               : default_block(kind, base, registry, "/" + key);
    };
    const ComponentConfig compiler = top_block(ComponentKind::Compiler);
    const ComponentConfig runtime = top_block(ComponentKind::Runtime);
    const ComponentConfig platform = top_block(ComponentKind::Platform);

    if (doc.contains("targets")) {
      const json& ts = doc["targets"];
      if (!ts.is_array() || ts.empty()) {
        throw bad_input("expected a non-empty list of targets, got {}", type_name(ts)).with_json_path("/targets");
      }
      for (size_t i = 0; i < ts.size(); ++i) {
        const std::string path = fmt::format("/targets/{}", i);
        const json& t = ts[i];
        if (!t.is_object()) throw bad_input("expected a target object, got {}", type_name(t)).with_json_path(path);
        check_keys(t, {"name", "compiler", "runtime", "platform"}, path);
        if (!t.contains("name") || !t["name"].is_string() ||
            !std::regex_match(t["name"].get<std::string>(), std::regex("[A-Za-z0-9_.+-]+"))) {
          throw bad_input("expected a target name of letters, digits and _.+- (it names output files), got {}",
                          t.contains("name") ? type_name(t["name"]) : "nothing")
              .with_json_path(path + "/name");
        }
        TargetConfig tc;
        tc.name = t["name"].get<std::string>();
        tc.json_path = path;
        for (const auto& prev : cfg.targets) {
          if (prev.name == tc.name) {
            throw bad_input("target name '{}' is already used at {}", tc.name, prev.json_path)
                .with_json_path(path + "/name");
          }
        }
        tc.compiler = t.contains("compiler") ? parse_block(t["compiler"], ComponentKind::Compiler, path + "/compiler", base, registry) : compiler;
        tc.runtime = t.contains("runtime") ? parse_block(t["runtime"], ComponentKind::Runtime, path + "/runtime", base, registry) : runtime;
        tc.platform = t.contains("platform") ? parse_block(t["platform"], ComponentKind::Platform, path + "/platform", base, registry) : platform;
        cfg.targets.push_back(std::move(tc));
      }
    } else {
      TargetConfig tc;
      tc.name = platform.type + "-" + runtime.type;
      tc.compiler = compiler;
      tc.runtime = runtime;
      tc.platform = platform;
      cfg.targets.push_back(std::move(tc));
    }

    const json m = validate_parameters(measurements_spec(),
                                       doc.contains("measurements") ? doc["measurements"] : json::object(),
                                       "/measurements");
    json mres = m;
    resolve_paths(measurements_spec(), mres, base);
    cfg.measurements.warmup = m.at("warmup").get<int64_t>();
    cfg.measurements.repeat = m.at("repeat").get<int64_t>();
    cfg.measurements.output_dir = mres.at("output_dir").get<std::string>();
    cfg.measurements.limit = m.at("limit").get<int64_t>();
    cfg.measurements.seed = m.at("seed").get<int64_t>();
    cfg.measurements.batch_size = m.at("batch_size").get<int64_t>();

    // The resolved document: what ran, with every default visible.
    json r = {{"name", cfg.name}};
    if (!cfg.description.empty()) r["description"] = cfg.description;
    if (!cfg.plugins.empty()) r["plugins"] = cfg.plugins;
    r["model_wrapper"] = block_json(cfg.model_wrapper);
    r["dataset"] = block_json(cfg.dataset);
    r["optimizers"] = json::array();
    for (const auto& o : cfg.optimizers) r["optimizers"].push_back(block_json(o));
    r["cleanup"] = cfg.cleanup;
    r["targets"] = json::array();
    for (const auto& t : cfg.targets) {
      r["targets"].push_back({{"name", t.name}, {"compiler", block_json(t.compiler)},
                              {"runtime", block_json(t.runtime)}, {"platform", block_json(t.platform)}});
    }
    r["measurements"] = mres;
    cfg.resolved = std::move(r);
  } catch (Error& e) {
    throw e.with_file(file.string());
  }
  return cfg;
}

PipelineConfig load_pipeline(const fs::path& file, const std::vector<std::string>& overrides,
                             Registry& registry) {
  std::string text;
  try {
    text = support::read_file(file);
  } catch (Error& e) {
    throw e.with_file(file.string());
  }
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    throw bad_input("malformed JSON: {}", strip_nlohmann_prefix(e.what())).with_file(file.string());
  }
  for (const auto& o : overrides) {
    try {
      apply_override(doc, o);
    } catch (Error& e) {
      throw e.with_file(file.string());
    }
  }
  // The pipeline's plugins load first: their components are types the blocks may name.
  const fs::path base = file.has_parent_path() ? file.parent_path() : fs::path(".");
  try {
    const auto paths = plugin_paths(doc, base);
    for (size_t i = 0; i < paths.size(); ++i) {
      try {
        plugin::load_plugin(paths[i], registry);
      } catch (const Error& e) {
        throw Error(e.kind(), e.what()).with_json_path(fmt::format("/plugins/{}", i));
      }
    }
  } catch (Error& e) {
    throw e.with_file(file.string());
  }
  PipelineConfig cfg = parse_pipeline(doc, file, registry);
  cfg.sha256 = support::sha256_hex(text);
  cfg.overrides = overrides;
  return cfg;
}

}  // namespace hone::pipeline
