// hone inspect MODEL.onnx [--json]: static statistics of a model (docs/inspect.md).
#include "commands.h"

#include "analysis/model_stats.h"
#include "ir/onnx_io.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <memory>

namespace hone::cli {

CommandFn add_inspect_command(CLI::App& sub) {
  struct Options {
    std::string model;
    bool json = false;
  };
  auto opt = std::make_shared<Options>();
  sub.add_option("model", opt->model, "ONNX model file")->required();
  sub.add_flag("--json", opt->json, "print a JSON document instead of tables");
  return [opt] {
    const ir::Model model = ir::load_onnx(opt->model);
    const analysis::ModelStats stats = analysis::compute_model_stats(model);
    if (opt->json) {
      fmt::print("{}\n", analysis::to_json(stats).dump(2));
    } else {
      fmt::print("{}", analysis::to_table(stats));
    }
    return 0;
  };
}

}  // namespace hone::cli
