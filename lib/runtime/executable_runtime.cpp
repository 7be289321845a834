// `executable`: runs the program the `c` compiler built for the target's platform and streams the
// evaluation set through it, so accuracy is measured on the target's own code, sample by sample.
//   - Linux (native or qemu-user): one long-lived process; each sample's input bytes go to its
//     stdin, the outputs' bytes come back from its stdout.
//   - A bare-metal board (qemu-system): each batch is written to input.bin, the emulator boots
//     the program, which reads it and writes output.bin through semihosting: per sample the
//     outputs and the SysTick ticks around the model's run. Ticks x the platform's
//     cycles_per_tick are the cycles per inference (deterministic under -icount), and cycles /
//     clock the estimated latency on the board (measurements "latency.on_target").
// Latency is hone's clock around each round trip: measured natively, "emulated" under qemu (not
// the hardware's latency; the measurements say so).
#include "platforms/platform.h"
#include "runtime/reference/interpreter.h"
#include "runtime/runtime_component.h"
#include "runtime/runtimes.h"
#include "support/error.h"
#include "support/process.h"

#include "support/file_io.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

namespace hone::runtime {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct PortInfo {
  std::string name;
  ir::DType dtype;
  ir::Shape shape;
  int64_t bytes;
};

ir::DType dtype_named(const std::string& name) {
  using ir::DType;
  for (DType t : {DType::Float32, DType::Float64, DType::Float16, DType::Int8, DType::UInt8, DType::Int16, DType::UInt16,
                  DType::Int32, DType::UInt32, DType::Int64, DType::UInt64, DType::Bool}) {
    if (ir::dtype_name(t) == name) return t;
  }
  throw internal_error("unknown element type '{}' in the compiler's port list", name);
}

std::vector<PortInfo> ports_of(const json& list) {
  std::vector<PortInfo> r;
  for (const auto& p : list) {
    r.push_back({p.at("name"), dtype_named(p.at("dtype").get<std::string>()), p.at("shape").get<ir::Shape>(),
                 p.at("bytes")});
  }
  return r;
}

// Splits a batch of n samples into per-sample input bytes and allocates the outputs; the program
// runs one sample at a time (batch 1).
struct Batch {
  int64_t n = 0;
  std::vector<ir::Tensor> out;
};

Batch check_batch(std::span<const ir::Tensor> in, const std::vector<PortInfo>& inputs,
                  const std::vector<PortInfo>& outputs) {
  if (in.size() != inputs.size()) throw bad_input("the model takes {} inputs, got {}", inputs.size(), in.size());
  Batch b;
  for (size_t i = 0; i < in.size(); ++i) {
    const int64_t bytes = static_cast<int64_t>(in[i].nbytes());
    if (in[i].dtype() != inputs[i].dtype || inputs[i].bytes == 0 || bytes % inputs[i].bytes != 0) {
      throw bad_input("input '{}': {} {} does not split into samples of {} {}", inputs[i].name,
                      ir::dtype_name(in[i].dtype()), ir::shape_str(in[i].shape()), ir::dtype_name(inputs[i].dtype),
                      ir::shape_str(inputs[i].shape));
    }
    const int64_t k = bytes / inputs[i].bytes;
    if (i > 0 && k != b.n) throw bad_input("inputs hold different numbers of samples");
    b.n = k;
  }
  for (const auto& p : outputs) {
    ir::Shape s = p.shape;
    if (b.n != 1) {
      if (!s.empty() && s[0] == 1) s[0] = b.n;
      else s.insert(s.begin(), b.n);
    }
    b.out.push_back(ir::Tensor::zeros(p.dtype, s));
  }
  return b;
}

class ExecutableExecutor final : public Executor {
 public:
  ExecutableExecutor(std::vector<std::string> argv, const fs::path& dir, std::vector<PortInfo> inputs,
                     std::vector<PortInfo> outputs)
      : inputs_(std::move(inputs)), outputs_(std::move(outputs)), child_(argv, dir, dir / "run.log") {}

  ~ExecutableExecutor() override { child_.finish(); }

  std::string name() const override { return "executable"; }

  // The program runs one sample at a time (batch 1); a batch of n goes through as n samples.
  std::vector<ir::Tensor> run(std::span<const ir::Tensor> in) override {
    Batch b = check_batch(in, inputs_, outputs_);
    const int64_t n = b.n;
    std::vector<ir::Tensor>& out = b.out;
    for (int64_t k = 0; k < n; ++k) {
      child_.write("S", 1);  // the harness's sample marker (compilers/c/emit.h)
      for (size_t i = 0; i < in.size(); ++i) {
        child_.write(static_cast<const char*>(in[i].raw()) + k * inputs_[i].bytes, static_cast<size_t>(inputs_[i].bytes));
      }
      for (size_t o = 0; o < outputs_.size(); ++o) {
        child_.read(static_cast<char*>(out[o].raw()) + k * outputs_[o].bytes, static_cast<size_t>(outputs_[o].bytes));
      }
    }
    return std::move(out);
  }

 private:
  std::vector<PortInfo> inputs_, outputs_;
  support::ChildProcess child_;
};

// A board under qemu-system: one emulator run per batch, samples and outputs as host files.
class BoardExecutor final : public Executor {
 public:
  BoardExecutor(std::vector<std::string> argv, fs::path dir, std::vector<PortInfo> inputs,
                std::vector<PortInfo> outputs, const platforms::PlatformInfo& platform, double timeout_s)
      : argv_(std::move(argv)), dir_(std::move(dir)), inputs_(std::move(inputs)), outputs_(std::move(outputs)),
        cycles_per_tick_(*platform.run.cycles_per_tick), clock_mhz_(platform.clock_mhz), timeout_s_(timeout_s) {}

  std::string name() const override { return "executable"; }

  std::vector<ir::Tensor> run(std::span<const ir::Tensor> in) override {
    Batch b = check_batch(in, inputs_, outputs_);
    std::string input;
    for (int64_t k = 0; k < b.n; ++k) {
      for (size_t i = 0; i < in.size(); ++i) {
        input.append(static_cast<const char*>(in[i].raw()) + k * inputs_[i].bytes, static_cast<size_t>(inputs_[i].bytes));
      }
    }
    support::write_file_atomic(dir_ / "input.bin", input);
    fs::remove(dir_ / "output.bin");
    const support::ProcessResult r = support::run_process(argv_, dir_, timeout_s_);
    support::write_file_atomic(dir_ / "run.log", r.out + r.err);
    if (r.timed_out) {
      throw check_failed("the program on {} did not finish {} samples within {} s (timeout_s); {}", argv_.front(), b.n,
                         timeout_s_, (dir_ / "run.log").string());
    }
    if (r.exit_code != 0) {
      throw internal_error("the program under {} exited with {} ({}): {}", argv_.front(), r.exit_code,
                           exit_meaning(r.exit_code), support::tail_lines(r.out + r.err, 4));
    }
    const std::string output = fs::exists(dir_ / "output.bin") ? support::read_file(dir_ / "output.bin") : "";
    int64_t per_sample = 8;
    for (const auto& p : outputs_) per_sample += p.bytes;
    if (static_cast<int64_t>(output.size()) != per_sample * b.n) {
      throw internal_error("the program wrote {} bytes of output for {} samples; expected {}", output.size(), b.n,
                           per_sample * b.n);
    }
    for (int64_t k = 0; k < b.n; ++k) {
      const char* rec = output.data() + k * per_sample;
      for (size_t o = 0; o < outputs_.size(); ++o) {
        std::memcpy(static_cast<char*>(b.out[o].raw()) + k * outputs_[o].bytes, rec, static_cast<size_t>(outputs_[o].bytes));
        rec += outputs_[o].bytes;
      }
      uint64_t ticks = 0;
      for (int byte = 0; byte < 8; ++byte) ticks |= static_cast<uint64_t>(static_cast<unsigned char>(rec[byte])) << (8 * byte);
      cycles_.push_back(static_cast<double>(ticks) * static_cast<double>(cycles_per_tick_));
    }
    return std::move(b.out);
  }

  json take_measurements() override {
    if (cycles_.empty()) return nullptr;
    std::vector<double> c = std::move(cycles_);
    cycles_.clear();
    const auto stats = [](std::vector<double> v, double scale) {
      std::sort(v.begin(), v.end());
      double sum = 0;
      for (double x : v) sum += x;
      return json{{"mean", sum / static_cast<double>(v.size()) * scale},
                  {"p50", v[v.size() / 2] * scale},
                  {"min", v.front() * scale},
                  {"max", v.back() * scale}};
    };
    json t = {{"kind", "cycles"},
              {"samples", c.size()},
              {"cycles_per_inference", stats(c, 1.0)},
              {"cycles_per_tick", cycles_per_tick_},
              {"method", fmt::format("SysTick ticks around each run of the model on the emulated board, under "
                                     "-icount (deterministic: one instruction per cycle), x {} cycles per tick",
                                     cycles_per_tick_)}};
    if (clock_mhz_) {
      t["clock_mhz"] = *clock_mhz_;
      t["estimated_latency_ms"] = stats(c, 1.0 / (static_cast<double>(*clock_mhz_) * 1e3));
    }
    return {{"on_target", t}};
  }

 private:
  static const char* exit_meaning(int code) {
    switch (code) {
      case 2: return "the arena is too small";
      case 3: return "the host refused output.bin";
      case 4: return "a truncated sample in input.bin";
      case 5: return "input.bin or output.bin could not be opened";
      case 99: return "a fault on the board";
      default: return "see run.log";
    }
  }

  std::vector<std::string> argv_;
  fs::path dir_;
  std::vector<PortInfo> inputs_, outputs_;
  int64_t cycles_per_tick_;
  std::optional<int64_t> clock_mhz_;
  double timeout_s_;
  std::vector<double> cycles_;
};

// The graph's inputs / outputs as ports (static shapes: the prepared graph has them).
std::vector<PortInfo> graph_ports(const ir::Graph& g, const std::vector<std::string>& names) {
  std::vector<PortInfo> r;
  for (const auto& name : names) {
    const ir::ValueInfo* vi = g.value_info(name);
    if (!vi || !vi->static_shape()) throw internal_error("the prepared graph has no static shape for '{}'", name);
    const ir::Shape shape = *vi->static_shape();
    r.push_back({name, vi->dtype, shape, ir::checked_numel(shape) * static_cast<int64_t>(ir::dtype_size(vi->dtype))});
  }
  return r;
}

// A one-node graph of `full`'s node `node_name` from value `in` to value `out` (shapes left
// open, so batches of any size pass through).
ir::Graph boundary_graph(const ir::Graph& full, const std::string& node_name, const std::string& in,
                         const std::string& out) {
  const ir::Node* node = nullptr;
  for (const auto& n : full.nodes) {
    if (n->name == node_name) node = n.get();
  }
  if (!node) throw internal_error("the prepared graph has no node '{}'", node_name);
  ir::Graph g;
  g.opset_imports = full.opset_imports;
  g.inputs = {in};
  g.outputs = {out};
  for (const auto& v : {in, out}) g.values[v] = ir::ValueInfo{full.value_info(v)->dtype, std::nullopt};
  for (const auto& i : node->inputs) {
    if (full.is_initializer(i)) g.initializers.emplace(i, *full.initializer(i));
  }
  g.add_node(*node);
  return g;
}

// integer_only: the program takes and gives quantized values; the boundary's QuantizeLinear and
// DequantizeLinear nodes run here, on the reference interpreter (the golden semantics).
class BoundaryExecutor final : public Executor {
 public:
  BoundaryExecutor(std::unique_ptr<Executor> inner, const ir::Graph& full, const json& boundary) : inner_(std::move(inner)) {
    for (const auto& b : boundary.at("inputs")) {
      pre_.push_back(std::make_unique<ReferenceInterpreter>(boundary_graph(full, b.at("node"), b.at("name"), b.at("quantized"))));
    }
    for (const auto& b : boundary.at("outputs")) {
      post_.push_back(std::make_unique<ReferenceInterpreter>(boundary_graph(full, b.at("node"), b.at("quantized"), b.at("name"))));
    }
  }

  std::string name() const override { return inner_->name(); }

  std::vector<ir::Tensor> run(std::span<const ir::Tensor> in) override {
    if (in.size() != pre_.size()) throw bad_input("the model takes {} inputs, got {}", pre_.size(), in.size());
    std::vector<ir::Tensor> q;
    for (size_t i = 0; i < in.size(); ++i) q.push_back(std::move(pre_[i]->run(in.subspan(i, 1))[0]));
    std::vector<ir::Tensor> y = inner_->run(q);
    std::vector<ir::Tensor> out;
    for (size_t o = 0; o < y.size(); ++o) out.push_back(std::move(post_[o]->run(std::span(&y[o], 1))[0]));
    return out;
  }

  json take_measurements() override { return inner_->take_measurements(); }
  void after_run() override { inner_->after_run(); }

 private:
  std::unique_ptr<Executor> inner_;
  std::vector<std::unique_ptr<ReferenceInterpreter>> pre_, post_;
};

enum class ReferenceCheck { Off, Report, BitExact };
constexpr std::string_view kReferenceCheckNames[] = {"off", "report", "bit-exact"};

// Runs the reference interpreter on the model the program was generated from (the artifact's
// prepared graph, saved as c/model.onnx) for every sample the program ran, and compares the
// outputs byte for byte. bit-exact: the first differing sample fails the target.
class CheckedExecutor final : public Executor {
 public:
  CheckedExecutor(std::unique_ptr<Executor> inner, const ir::Graph& graph, std::vector<PortInfo> inputs,
                  std::vector<PortInfo> outputs, ReferenceCheck mode)
      : inner_(std::move(inner)), reference_(graph), inputs_(std::move(inputs)), outputs_(std::move(outputs)),
        mode_(mode) {}

  std::string name() const override { return inner_->name(); }

  // The comparison runs in after_run, outside the timed call: run keeps the batch.
  std::vector<ir::Tensor> run(std::span<const ir::Tensor> in) override {
    std::vector<ir::Tensor> out = inner_->run(in);
    last_in_.assign(in.begin(), in.end());
    last_out_ = out;
    return out;
  }

  void after_run() override {
    inner_->after_run();
    if (last_in_.empty() && !inputs_.empty()) return;
    const std::vector<ir::Tensor> in = std::move(last_in_), out = std::move(last_out_);
    last_in_.clear();
    last_out_.clear();
    const int64_t n = inputs_.empty() ? 1 : static_cast<int64_t>(in[0].nbytes()) / inputs_[0].bytes;
    for (int64_t k = 0; k < n; ++k) {
      std::vector<ir::Tensor> x;
      for (size_t i = 0; i < inputs_.size(); ++i) {
        x.push_back(ir::Tensor::from_bytes(inputs_[i].dtype, inputs_[i].shape,
                                           static_cast<const char*>(in[i].raw()) + k * inputs_[i].bytes,
                                           static_cast<size_t>(inputs_[i].bytes)));
      }
      const std::vector<ir::Tensor> want = reference_.run(x);
      bool same = true;
      for (size_t o = 0; o < outputs_.size(); ++o) {
        const char* got = static_cast<const char*>(out[o].raw()) + k * outputs_[o].bytes;
        const bool equal = std::memcmp(got, want[o].raw(), static_cast<size_t>(outputs_[o].bytes)) == 0;
        same = same && equal;
        if (outputs_[o].dtype == ir::DType::Float32) {
          const float* g = reinterpret_cast<const float*>(got);
          const float* w = want[o].data<float>();
          const int64_t m = outputs_[o].bytes / 4;
          for (int64_t j = 0; j < m; ++j) max_abs_diff_ = std::max(max_abs_diff_, static_cast<double>(std::fabs(g[j] - w[j])));
          if (o == 0 && m > 0) top1_agree_ += std::max_element(g, g + m) - g == std::max_element(w, w + m) - w;
        }
        if (!equal && mode_ == ReferenceCheck::BitExact) {
          throw check_failed("sample {} of a batch: output '{}' differs from the reference interpreter's on the "
                             "same prepared model (c/model.onnx); reference_check is bit-exact",
                             k, outputs_[o].name);
        }
      }
      ++samples_;
      identical_ += same;
    }
  }

  json take_measurements() override {
    json m = inner_->take_measurements();
    if (samples_ > 0) {
      if (!m.is_object()) m = json::object();
      m["reference_check"] = {{"mode", kReferenceCheckNames[static_cast<size_t>(mode_)]},
                              {"against", "the reference interpreter on the prepared model (c/model.onnx)"},
                              {"samples", samples_},
                              {"bit_identical", identical_},
                              {"max_abs_diff", max_abs_diff_},
                              {"top1_agreement", outputs_.empty() || outputs_[0].dtype != ir::DType::Float32
                                                     ? json(nullptr)
                                                     : json(static_cast<double>(top1_agree_) / samples_)}};
    }
    samples_ = identical_ = top1_agree_ = 0;
    max_abs_diff_ = 0;
    return m;
  }

 private:
  std::unique_ptr<Executor> inner_;
  ReferenceInterpreter reference_;
  std::vector<PortInfo> inputs_, outputs_;
  ReferenceCheck mode_;
  std::vector<ir::Tensor> last_in_, last_out_;
  int64_t samples_ = 0, identical_ = 0, top1_agree_ = 0;
  double max_abs_diff_ = 0;
};

class ExecutableRuntime final : public RuntimeComponent {
 public:
  std::string name() const override { return "executable"; }

  std::unique_ptr<Executor> prepare(const compilers::Artifact& artifact, const platforms::Platform& platform) override {
    if (artifact.detail.value("format", "") != "c") {
      throw unsupported("runtime 'executable' runs the program the 'c' compiler builds; this target's compiler "
                        "writes '{}'",
                        artifact.detail.value("format", "?"));
    }
    const platforms::PlatformInfo* info = platform.info();
    const bool board = info && info->run.kind == platforms::RunKind::QemuSystem;
    if (board != (artifact.detail.value("harness", "stdio") == "board")) {
      throw unsupported("the program was built for {} but the target's platform '{}' {}",
                        board ? "Linux" : "a bare-metal board", platform.name(),
                        board ? "is a bare-metal board" : "runs Linux");
    }
    const fs::path exe = fs::absolute(artifact.file);
    const std::vector<std::string> argv = info ? info->run.argv(exe.string()) : std::vector<std::string>{exe.string()};
    run_ = argv;
    latency_kind_ = info && info->run.kind != platforms::RunKind::Native ? "emulated" : "measured";
    board_ = board;
    auto inputs = ports_of(artifact.detail.at("inputs")), outputs = ports_of(artifact.detail.at("outputs"));
    std::unique_ptr<Executor> e;
    if (board) e = std::make_unique<BoardExecutor>(argv, exe.parent_path(), inputs, outputs, *info, timeout_s_);
    else e = std::make_unique<ExecutableExecutor>(argv, exe.parent_path(), inputs, outputs);
    const ir::Graph& full = artifact.model.graph;
    if (artifact.detail.value("integer_only", false)) {
      e = std::make_unique<BoundaryExecutor>(std::move(e), full, artifact.detail.at("boundary"));
    }
    if (check_ == ReferenceCheck::Off) return e;
    return std::make_unique<CheckedExecutor>(std::move(e), full, graph_ports(full, full.inputs),
                                             graph_ports(full, full.outputs), check_);
  }

  json describe() const override {
    const char* note = board_ ? "hone's clock around each batch's emulator run (booting the board included): not the "
                                "board's latency; latency.on_target has the cycles counted on the board"
                       : latency_kind_ == "emulated"
                           ? "hone's clock around each sample's round trip through the emulator: not the target "
                             "hardware's latency"
                           : "hone's clock around each sample's round trip through the program's pipes";
    return {{"name", "executable"}, {"command", run_}, {"latency_kind", latency_kind_}, {"latency_note", note},
            {"parameters", {{"timeout_s", timeout_s_}, {"reference_check", kReferenceCheckNames[static_cast<size_t>(check_)]}}}};
  }

  ExecutableRuntime(double timeout_s, ReferenceCheck check) : timeout_s_(timeout_s), check_(check) {}

 private:
  std::vector<std::string> run_;
  std::string latency_kind_ = "measured";
  bool board_ = false;
  double timeout_s_;
  ReferenceCheck check_;
};

}  // namespace

pipeline::Registration executable_runtime_registration() {
  pipeline::ComponentSpec spec;
  spec.name = "executable";
  spec.description =
      "Runs the program the c compiler built on the target's platform: natively or under qemu-user through its "
      "stdin and stdout, or on a board under qemu-system through semihosting files, with cycles counted on the board";
  spec.params = {
      {"timeout_s", pipeline::ParamType::Float, 600.0, false, 1.0, 86400.0, {},
       "a board's emulator run (one batch) that takes longer is killed and the target fails"},
      {"reference_check", pipeline::ParamType::String, "off", false, std::nullopt, std::nullopt,
       {"off", "report", "bit-exact"},
       "compare every sample's outputs with the reference interpreter on the same prepared model: report counts "
       "the bit-identical ones (quality.reference_check); bit-exact also fails the target at the first difference"},
  };
  return pipeline::make_registration<RuntimeComponent>(std::move(spec), [](const json& p, const pipeline::BuildContext&) {
    const std::string check = p.at("reference_check");
    const auto mode = check == "report" ? ReferenceCheck::Report
                      : check == "bit-exact" ? ReferenceCheck::BitExact : ReferenceCheck::Off;
    return std::make_unique<ExecutableRuntime>(p.at("timeout_s").get<double>(), mode);
  });
}

}  // namespace hone::runtime
