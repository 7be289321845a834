// hone optimize MODEL.onnx --pass NAME[:key=value,...]... -o OUT.onnx [--json]
// Applies optimizer passes to a model outside a pipeline, for users who only want the
// transformed model. Parameters are validated like a pipeline's (docs/components.md).
#include "commands.h"

#include "ir/onnx_io.h"
#include "passes/pass.h"
#include "pipeline/registry.h"
#include "pipeline/runner.h"
#include "support/error.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <memory>

namespace hone::cli {

namespace {

using nlohmann::json;

// "quantize_static:per_channel=true,bits=8" -> ("quantize_static", {"per_channel": true, "bits": 8})
std::pair<std::string, json> parse_pass(const std::string& arg) {
  const auto colon = arg.find(':');
  const std::string name = arg.substr(0, colon);
  json params = json::object();
  if (colon == std::string::npos) return {name, params};
  std::string rest = arg.substr(colon + 1);
  size_t start = 0;
  while (start <= rest.size()) {
    const size_t comma = rest.find(',', start);
    const std::string kv = rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw bad_input("--pass '{}': expected NAME:key=value,key=value, got '{}'", arg, kv);
    }
    json v = json::parse(kv.substr(eq + 1), nullptr, false);
    params[kv.substr(0, eq)] = v.is_discarded() ? json(kv.substr(eq + 1)) : v;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return {name, params};
}

}  // namespace

CommandFn add_optimize_command(CLI::App& sub) {
  struct Options {
    std::string model;
    std::vector<std::string> passes;
    std::string output;
    bool json = false;
  };
  auto opt = std::make_shared<Options>();
  sub.add_option("model", opt->model, "ONNX model file")->required();
  sub.add_option("--pass", opt->passes, "Pass to apply, in order: NAME or NAME:key=value,key=value")
      ->required()->allow_extra_args(false)->take_all();
  sub.add_option("-o,--output", opt->output, "Where to write the optimized model")->required();
  sub.add_flag("--json", opt->json, "Print the pass reports as JSON");
  return [opt] {
    spdlog::set_level(spdlog::level::warn);
    const auto& registry = pipeline::Registry::global();
    // Build and validate every pass before touching the model.
    std::vector<std::unique_ptr<passes::Pass>> passes;
    std::vector<json> params;
    for (size_t i = 0; i < opt->passes.size(); ++i) {
      auto [name, given] = parse_pass(opt->passes[i]);
      const std::string where = fmt::format("--pass '{}'", opt->passes[i]);
      try {
        const pipeline::Registration& r = registry.get(pipeline::ComponentKind::Optimizer, name);
        for (size_t j = 0; j < i; ++j) {
          if (passes[j]->name() == name && !r.spec.repeatable) {
            throw bad_input("'{}' is already given; running it twice makes no sense", name);
          }
        }
        params.push_back(pipeline::validate_parameters(r.spec, given, where));
        passes.push_back(pipeline::create<passes::Pass>(r, params.back(), pipeline::BuildContext{}));
      } catch (Error& e) {
        throw e.with_json_path(where);
      }
    }
    ir::Model model = ir::load_onnx(opt->model);
    json reports = json::array();
    for (size_t i = 0; i < passes.size(); ++i) {
      try {
        reports.push_back(pipeline::run_pass(*passes[i], params[i], model, passes::PassContext{}));
      } catch (Error& e) {
        throw e.with_json_path(fmt::format("--pass '{}'", opt->passes[i])).with_file(opt->model);
      }
    }
    ir::save_onnx(model, opt->output);
    if (opt->json) {
      fmt::print("{}\n", json{{"model", opt->model}, {"output", opt->output}, {"passes", reports}}.dump(2));
      return 0;
    }
    for (const auto& r : reports) {
      fmt::print("{:<18} nodes {} -> {}, parameters {} -> {}, {:.1f} ms\n", r["type"].get<std::string>(),
                 r["nodes_before"].get<int64_t>(), r["nodes_after"].get<int64_t>(),
                 r["parameters_before"].get<int64_t>(), r["parameters_after"].get<int64_t>(),
                 1000.0 * r["seconds"].get<double>());
    }
    fmt::print("wrote {}\n", opt->output);
    return 0;
  };
}

}  // namespace hone::cli
