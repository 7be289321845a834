// hone optimize MODEL.onnx --pass NAME[:key=value,...]... -o OUT.onnx [--json] [--no-cleanup]
//               [--dataset TYPE[:key=value,...] [--wrapper TYPE[:key=value,...]]]
// Applies optimizer passes to a model outside a pipeline, for users who only want the
// transformed model. Parameters are validated like a pipeline's (docs/components.md). Passes
// that calibrate (quantize_static, prune_channels with apoz) take their samples from --dataset,
// preprocessed by --wrapper (default onnx_generic), exactly as a pipeline would.
#include "commands.h"

#include "datasets/dataset.h"
#include "ir/onnx_io.h"
#include "models/model_wrapper.h"
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
std::pair<std::string, json> parse_spec(const std::string& option, const std::string& arg) {
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
      throw bad_input("{} '{}': expected NAME:key=value,key=value, got '{}'", option, arg, kv);
    }
    json v = json::parse(kv.substr(eq + 1), nullptr, false);
    params[kv.substr(0, eq)] = v.is_discarded() ? json(kv.substr(eq + 1)) : v;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return {name, params};
}

// The model wrapper and dataset that feed calibrating passes, built like a pipeline's.
struct Calibration {
  std::unique_ptr<models::ModelWrapper> wrapper;
  std::unique_ptr<datasets::Dataset> dataset;
};

template <typename T>
std::unique_ptr<T> build_component(pipeline::ComponentKind kind, const std::string& option, const std::string& arg,
                                   json extra, const pipeline::BuildContext& ctx) {
  const std::string where = fmt::format("{} '{}'", option, arg);
  try {
    auto [name, given] = parse_spec(option, arg);
    for (auto& [k, v] : extra.items()) {
      if (!given.contains(k)) given[k] = v;
    }
    const pipeline::Registration& r = pipeline::Registry::global().get(kind, name);
    return pipeline::create<T>(r, pipeline::validate_parameters(r.spec, given, where), ctx);
  } catch (Error& e) {
    throw e.with_json_path(where);
  }
}

Calibration open_calibration(const std::string& model, const std::string& wrapper, const std::string& dataset) {
  Calibration c;
  c.wrapper = build_component<models::ModelWrapper>(pipeline::ComponentKind::ModelWrapper, "--wrapper", wrapper,
                                                     json{{"model", model}}, {});
  pipeline::BuildContext dctx;
  dctx.model_sample_shape = c.wrapper->sample_shape();
  dctx.model_classes = c.wrapper->num_classes();
  c.dataset = build_component<datasets::Dataset>(pipeline::ComponentKind::Dataset, "--dataset", dataset, json::object(), dctx);
  try {
    c.wrapper->check_dataset(*c.dataset);
  } catch (Error& e) {
    throw e.with_json_path(fmt::format("--dataset '{}'", dataset));
  }
  return c;
}

}  // namespace

CommandFn add_optimize_command(CLI::App& sub) {
  struct Options {
    std::string model;
    std::vector<std::string> passes;
    std::string output;
    std::string dataset;
    std::string wrapper = "onnx_generic";
    int64_t seed = 0;
    bool no_cleanup = false;
    bool json = false;
  };
  auto opt = std::make_shared<Options>();
  sub.add_option("model", opt->model, "ONNX model file")->required();
  sub.add_option("--pass", opt->passes, "Pass to apply, in order: NAME or NAME:key=value,key=value")
      ->required()->allow_extra_args(false)->take_all();
  sub.add_option("-o,--output", opt->output, "Where to write the optimized model")->required();
  sub.add_option("--dataset", opt->dataset,
                 "Calibration samples for passes that need them: TYPE:key=value,... as in a pipeline, "
                 "e.g. idx:root=/usr/share/datasets/fashion-mnist");
  sub.add_option("--wrapper", opt->wrapper,
                 "Model wrapper that preprocesses --dataset samples: TYPE:key=value,... "
                 "(default onnx_generic; e.g. onnx_classifier:scale_to_unit=true)");
  sub.add_option("--seed", opt->seed, "Seed for drawing calibration samples (default 0)");
  sub.add_flag("--no-cleanup", opt->no_cleanup, "Do not run the cleanup pass before and after the passes");
  sub.add_flag("--json", opt->json, "Print the pass reports as JSON");
  return [opt] {
    spdlog::set_level(spdlog::level::warn);
    const auto& registry = pipeline::Registry::global();
    // Build and validate every pass before touching the model.
    std::vector<std::unique_ptr<passes::Pass>> passes;
    std::vector<pipeline::PassStep> steps;
    for (size_t i = 0; i < opt->passes.size(); ++i) {
      const std::string where = fmt::format("--pass '{}'", opt->passes[i]);
      try {
        auto [name, given] = parse_spec("--pass", opt->passes[i]);
        const pipeline::Registration& r = registry.get(pipeline::ComponentKind::Optimizer, name);
        for (size_t j = 0; j < i; ++j) {
          if (passes[j]->name() == name && !r.spec.repeatable) {
            throw bad_input("'{}' is already given; running it twice makes no sense", name);
          }
        }
        const json params = pipeline::validate_parameters(r.spec, given, where);
        passes.push_back(pipeline::create<passes::Pass>(r, params, pipeline::BuildContext{}));
        steps.push_back({passes.back().get(), params});
      } catch (Error& e) {
        throw e.with_json_path(where);
      }
    }
    Calibration calib;
    passes::PassContext ctx;
    if (!opt->dataset.empty()) {
      calib = open_calibration(opt->model, opt->wrapper, opt->dataset);
      const auto seed = static_cast<uint64_t>(opt->seed);
      ctx.calibration = [&calib, seed](int64_t count, uint64_t) { return calib.dataset->calibration_set(count, seed); };
      ctx.preprocess = [&calib](const ir::Tensor& raw) { return calib.wrapper->preprocess(raw); };
    }
    ir::Model model = ir::load_onnx(opt->model);
    const json reports = pipeline::run_passes(
        steps, model, ctx, !opt->no_cleanup, [&](size_t i, const std::function<json()>& work) {
          try {
            return work();
          } catch (Error& e) {
            throw e.with_json_path(fmt::format("--pass '{}'", opt->passes[i])).with_file(opt->model);
          }
        });
    ir::save_onnx(model, opt->output);
    if (opt->json) {
      fmt::print("{}\n", json{{"model", opt->model}, {"output", opt->output}, {"passes", reports}}.dump(2));
      return 0;
    }
    for (const auto& r : reports) {
      const bool implicit = r.value("implicit", false);
      fmt::print("{:<18} nodes {} -> {}, parameters {} -> {}, {:.1f} ms{}\n", r["type"].get<std::string>(),
                 r["nodes_before"].get<int64_t>(), r["nodes_after"].get<int64_t>(),
                 r["parameters_before"].get<int64_t>(), r["parameters_after"].get<int64_t>(),
                 1000.0 * r["seconds"].get<double>(), implicit ? " (implicit)" : "");
    }
    fmt::print("wrote {}\n", opt->output);
    return 0;
  };
}

}  // namespace hone::cli
