// `external`: runs a user's command on the current model, for the steps that belong to a
// training framework (fine-tuning after pruning, knowledge distillation, quantization-aware
// training). The model is written to {input}; the command writes the new model to {output}; hone
// reads it back and checks it is a valid ONNX model with the same graph inputs and outputs (names,
// element types, shapes) before it replaces the pipeline's model.
//
// The command runs in `cwd` (default: the pipeline file's folder) with no shell: each list
// element is one argument, {input}, {output} and {workdir} (a fresh temporary folder, removed
// afterwards) substituted in place. A non-zero exit, a timeout, a missing or invalid output is a
// BadInput naming the command, with the tail of its stderr; the pipeline's model and its earlier
// results are left as they were.
#include "ir/onnx_io.h"
#include "passes/pass.h"
#include "passes/passes.h"
#include "support/error.h"
#include "support/file_io.h"
#include "support/process.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <tuple>
#include <cstdlib>
#include <filesystem>

namespace hone::passes {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Options {
  std::vector<std::string> command;
  double timeout_s = 3600;
  fs::path cwd;
};

// A fresh folder under the system's temporary folder, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "hone-external-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw internal_error("cannot create a temporary folder in {}", pattern);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

std::string quoted_command(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + (a.find(' ') == std::string::npos ? a : "'" + a + "'");
  return s;
}

// The last lines of a stream as one line: "a | b | c".
std::string one_line_tail(const std::string& text, int lines) {
  std::string t = support::tail_lines(text, lines);
  std::string out;
  for (char c : t) {
    if (c == '\r') continue;
    if (c == '\n') out += " | ";
    else out += c;
  }
  return out;
}

// "float32[N, 1, 28, 28]" of every graph input or output, by name.
std::string signature(const ir::Graph& g, const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) {
    const ir::ValueInfo* v = g.value_info(n);
    s += fmt::format("{}{}: {}", s.empty() ? "" : ", ", n, v ? v->str() : "?");
  }
  return s;
}

void check_same_interface(const ir::Graph& before, const ir::Graph& after) {
  for (const auto& [what, a, b] : {std::tuple{"inputs", &before.inputs, &after.inputs},
                                   std::tuple{"outputs", &before.outputs, &after.outputs}}) {
    const std::string sa = signature(before, *a), sb = signature(after, *b);
    if (*a != *b || sa != sb) {
      throw bad_input("the command's model has other graph {} ({}) than the model it was given ({}); an external "
                      "step may change weights and nodes, not the model's interface",
                      what, sb, sa);
    }
  }
}

// Zero-valued float32 initializer elements: pruned weights an external step must keep.
int64_t float_zeros(const ir::Graph& g) {
  int64_t n = 0;
  for (const auto& [name, t] : g.initializers) {
    if (t.dtype() == ir::DType::Float32) n += std::count(t.data<float>(), t.data<float>() + t.numel(), 0.0f);
  }
  return n;
}

class External : public Pass {
 public:
  explicit External(Options o) : o_(std::move(o)) {}
  std::string name() const override { return "external"; }

  // The command's files (its script, a config) decide the result: every argument naming an
  // existing file, by content.
  json fingerprint() const override {
    json files = json::object();
    for (const auto& a : o_.command) {
      std::error_code ec;
      const fs::path p = fs::path(a).is_relative() ? o_.cwd / a : fs::path(a);
      if (a.find('{') == std::string::npos && fs::is_regular_file(p, ec)) {
        files[a] = support::sha256_hex(support::read_file(p));
      }
    }
    return files;
  }

  json run(ir::Model& model, const PassContext&) override {
    TempDir tmp;
    const fs::path in = tmp.path() / "input.onnx", out = tmp.path() / "output.onnx";
    ir::save_onnx(model, in.string());
    std::vector<std::string> argv;
    for (const auto& a : o_.command) {
      argv.push_back(replace_all(replace_all(replace_all(a, "{input}", in.string()), "{output}", out.string()),
                                 "{workdir}", tmp.path().string()));
    }
    const std::string shown = quoted_command(o_.command);
    const auto t0 = std::chrono::steady_clock::now();
    support::ProcessResult r;
    try {
      r = support::run_process(argv, o_.cwd, o_.timeout_s);
    } catch (const Error& e) {
      throw bad_input("cannot run `{}` in {}: {}", shown, o_.cwd.string(), e.detail());
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::string err_tail = r.err.empty() ? "(no stderr)" : "stderr: " + one_line_tail(r.err, 6);
    if (r.timed_out) {
      throw bad_input("`{}` did not finish within timeout_s = {} s and was killed; {}", shown, o_.timeout_s, err_tail);
    }
    if (r.exit_code != 0) throw bad_input("`{}` failed with exit code {}; {}", shown, r.exit_code, err_tail);
    if (!fs::exists(out)) {
      throw bad_input("`{}` exited 0 but wrote no model to {{output}}; {}", shown, err_tail);
    }
    ir::Model result;
    try {
      result = ir::load_onnx(out.string());
    } catch (const Error& e) {
      throw bad_input("`{}` wrote an invalid model: {}", shown, e.detail());
    }
    check_same_interface(model.graph, result.graph);

    // What changed: initializers whose values differ, and the largest change.
    int64_t changed = 0, changed_values = 0;
    double max_change = 0;
    for (const auto& [name, t] : result.graph.initializers) {
      const ir::Tensor* old = model.graph.initializer(name);
      if (!old || old->dtype() != t.dtype() || old->shape() != t.shape()) {
        ++changed;
      } else if (t.dtype() == ir::DType::Float32) {
        const float* a = old->data<float>();
        const float* b = t.data<float>();
        int64_t n = 0;
        for (int64_t i = 0; i < t.numel(); ++i) {
          if (a[i] == b[i]) continue;
          ++n;
          max_change = std::max(max_change, std::fabs(static_cast<double>(a[i]) - b[i]));
        }
        changed_values += n;
        changed += n > 0;
      } else {
        changed += std::memcmp(old->raw(), t.raw(), t.nbytes()) != 0;
      }
    }
    const int64_t zeros_before = float_zeros(model.graph), zeros_after = float_zeros(result.graph);
    const std::string path = model.path;
    model = std::move(result);
    model.path = path;
    return {{"command", o_.command},
            {"cwd", o_.cwd.string()},
            {"exit_code", r.exit_code},
            {"command_seconds", seconds},
            {"stdout_tail", support::tail_lines(r.out, 8)},
            {"initializers_changed", changed},
            {"float_values_changed", changed_values},
            {"max_abs_change", max_change},
            {"float_zeros_before", zeros_before},
            {"float_zeros_after", zeros_after}};
  }

 private:
  Options o_;
};

}  // namespace

pipeline::Registration external_registration() {
  using pipeline::ParamSpec;
  using pipeline::ParamType;
  pipeline::ComponentSpec spec;
  spec.name = "external";
  spec.description =
      "Run your own command on the model (fine-tuning, distillation, quantization-aware training in your "
      "framework): hone writes {input}, the command writes {output}, hone checks it keeps the model's inputs "
      "and outputs";
  spec.params = {
      {"command", ParamType::StringList, nullptr, true, std::nullopt, std::nullopt, {},
       "the program and its arguments, no shell; {input}, {output} and {workdir} (a temporary folder) are "
       "replaced, e.g. [\"python3\", \"finetune.py\", \"{input}\", \"{output}\"]"},
      {"timeout_s", ParamType::Float, 3600.0, false, 0.001, std::nullopt, {},
       "seconds before the command is killed (an error)"},
      {"cwd", ParamType::Path, "", false, std::nullopt, std::nullopt, {},
       "folder the command runs in; \"\" = the pipeline file's folder"},
  };
  return pipeline::make_registration<Pass>(std::move(spec), [](const json& p, const pipeline::BuildContext& ctx) {
    Options o;
    o.command = p.at("command").get<std::vector<std::string>>();
    o.timeout_s = p.at("timeout_s").get<double>();
    o.cwd = p.at("cwd").get<std::string>();
    if (o.cwd.empty()) o.cwd = ctx.base_dir.empty() ? fs::path(".") : ctx.base_dir;
    const std::string where = ctx.json_path.empty() ? "command" : ctx.json_path + "/command";
    if (o.command.empty() || o.command[0].empty()) throw bad_input("expected a program and its arguments").with_json_path(where);
    bool has_input = false, has_output = false;
    for (const auto& a : o.command) {
      has_input |= a.find("{input}") != std::string::npos;
      has_output |= a.find("{output}") != std::string::npos;
    }
    if (!has_input || !has_output) {
      throw bad_input("the command must name {{input}} (the model hone writes) and {{output}} (the model it reads back)")
          .with_json_path(where);
    }
    std::error_code ec;
    if (!fs::is_directory(o.cwd, ec)) {
      throw bad_input("cwd '{}' is not a folder", o.cwd.string()).with_json_path(ctx.json_path + "/cwd");
    }
    return std::make_unique<External>(std::move(o));
  });
}

}  // namespace hone::passes
