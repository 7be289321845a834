// `quantize_static`: int8 post-training static quantization in the standard QDQ form
// (QuantizeLinear -> DequantizeLinear pairs around float ops, as ONNX Runtime's QDQ quantizer
// writes it), so any ONNX runtime loads the result and ORT fuses it into integer kernels.
//
// Calibration: the float model runs on the reference interpreter over `calibration_samples`
// calibration samples in batches; every activation tensor that gets a Q/DQ pair feeds its own
// RangeObserver (calibration.h: minmax, ema, percentile, mse, entropy), which yields [lo, hi]
// with lo <= 0 <= hi. Activations are never kept across batches.
//
// Activations (asymmetric, per tensor):
//   uint8: s = (hi - lo) / 255, zp = clamp(round(-lo / s), 0, 255)
//   int8:  s = (hi - lo) / 255, zp = clamp(round(-128 - lo / s), -128, 127)
//   a degenerate range (hi == lo) gets s = 1 (never 0).
// Weights (symmetric int8, zero point 0, levels [-127, 127]), per output channel c along
// WeightLayer::out_axis or per tensor:  s_w[c] = max|W[c]| / 127 (1 when W[c] is all zero),
//   q = clamp(round(W / s_w), -127, 127); stored as an int8 initializer + DequantizeLinear
//   (without the optional zero point input: absent means 0).
// Bias (input 2 of Conv/ConvTranspose/Gemm): int32, s_b[c] = s_x * s_w[c] (float32 product),
//   zero point 0 (the optional input is omitted), q = round(b / s_b) (saturated to int32)
//   + DequantizeLinear.
// scale_mode power_of_two: every scale becomes 2^ceil(log2(s)) (the range still fits; the
// zero point is recomputed), so requantization is a shift. Bias scales are then exact too.
// Constants in activation positions (e.g. an initializer input of Add / Mul / Concat) are
// quantized like activations with their exact range [min(0, min w), max(0, max w)].
//
// Placement:
//   - A tensor gets one Q/DQ pair (shared by all readers) when a quantized node reads it as an
//     activation, or when a quantized node produces it and something reads it. Readers of the
//     DQ output: every consumer when the producer is quantized (so a float consumer sees what
//     an int8 runtime would hand it), else only the quantized consumers. Graph inputs and
//     outputs stay float32 under their names; float ops keep writing their original tensor
//     names (the Q/DQ outputs are new names), so per-layer SQNR compares the same names.
//   - quantize_outputs: a graph output produced by a quantized node gets a Q/DQ pair too; the
//     DequantizeLinear writes the output's name and the producer a new one ("..._before_quantize";
//     its SQNR is still compared with the float model's output). The model is then integer from
//     the first QuantizeLinear to the last DequantizeLinear (what full-integer deployment and the
//     C backend's integer_only need).
//   - Relu / Clip directly after a quantized compute op (the op's only reader, not a graph
//     output): no Q/DQ between them; the activation's output is quantized (its lo is 0, so the
//     zero point sits at qmin and ORT's Relu/Clip-Quantize fusion removes the activation).
//   - MaxPool, GlobalMaxPool, Flatten, Reshape, Transpose, Squeeze, Unsqueeze (data movement):
//     the output reuses the input's scale and zero point (lossless, what ORT does). Concat,
//     Add, Mul, pools and activations calibrate their own output range.
//   - Per-channel DequantizeLinear needs opset >= 13: on opsets 10..12 weights fall back to
//     per tensor (said in "notes"); below opset 10 the pass changes nothing.
//
// Report: per activation tensor {tensor, scale, zero_point, range}, per weight {node,
// per_channel, axis, min/max scale, bias}, per quantized node the SQNR (dB) of its output vs
// the float model on the first `sqnr_samples` calibration samples
// (SQNR = 10 log10(sum ref^2 / sum (ref - q)^2); null when the two are identical), the graph
// outputs' SQNR, counts per op type, excluded and skipped nodes with reasons.
#include "ir/onnx_io.h"
#include "passes/calibration.h"
#include "passes/pass.h"
#include "passes/pass_util.h"
#include "passes/passes.h"
#include "runtime/reference/interpreter.h"
#include "support/error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

namespace hone::passes {

namespace {

using nlohmann::json;

const char* const kPass = "quantize_static";

// Every op type the pass knows how to place Q/DQ around (the choices of `op_types`).
const std::vector<std::string>& supported_ops() {
  static const std::vector<std::string> ops{
      "Conv",    "ConvTranspose", "Gemm",        "MatMul",  "Add",      "Mul",       "MaxPool",
      "GlobalMaxPool", "AveragePool", "GlobalAveragePool", "Concat", "Relu", "LeakyRelu", "Clip",
      "Sigmoid", "Flatten",       "Reshape",     "Transpose", "Squeeze", "Unsqueeze"};
  return ops;
}
// The default `op_types`: what ORT's QDQ quantizer handles by default for CNNs.
const std::vector<std::string>& default_ops() {
  static const std::vector<std::string> ops{
      "Conv", "ConvTranspose", "Gemm", "MatMul", "Add", "MaxPool", "AveragePool",
      "GlobalAveragePool", "Concat", "Relu", "Clip", "Flatten"};
  return ops;
}

bool in(const std::string& s, std::initializer_list<const char*> list) {
  return std::any_of(list.begin(), list.end(), [&](const char* x) { return s == x; });
}
bool is_weighted(const std::string& op) { return in(op, {"Conv", "ConvTranspose", "Gemm", "MatMul"}); }
bool is_same_scale(const std::string& op) {
  return in(op, {"MaxPool", "GlobalMaxPool", "Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze"});
}
bool is_fusable_activation(const std::string& op) { return in(op, {"Relu", "Clip"}); }
bool all_inputs_are_activations(const std::string& op) { return in(op, {"Add", "Mul", "Concat"}); }

struct Options {
  bool per_channel = true;
  bool int8_activations = false;
  std::string calibration = "minmax";
  CalibrationOptions calib;
  int64_t samples = 512;
  int64_t batch = 32;
  bool power_of_two = false;
  std::vector<std::string> exclude;
  std::vector<std::string> op_types;
  int64_t sqnr_samples = 64;
  uint64_t seed = 0;
  bool quantize_outputs = false;
};

struct QParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
  float lo = 0.0f, hi = 0.0f;
};

// The plan for one node that will be quantized.
struct NodePlan {
  ir::Node* node = nullptr;
  std::string float_output;  // the output's name in the float model when it was renamed (a quantized graph output)
  std::vector<size_t> acts;  // input indices quantized as activations
  bool has_weight = false;
  WeightLayer layer;
  bool quantize_bias = false;
  std::string bias_note;  // why a present bias stays float
  bool same_scale = false;
  std::string x;  // input 0 before rewiring (its scale is the bias's s_x)
};

// One tensor that gets a Q/DQ pair.
struct TensorPlan {
  enum class Source { Calibrated, Constant, SameAs } source = Source::Calibrated;
  std::string same_as;
  bool producer_quantized = false;  // every consumer reads the DQ output
  std::unique_ptr<RangeObserver> observer;
  QParams q;
  bool resolved = false;
  std::string dq;  // the DequantizeLinear output
};

float power_of_two_up(double s) { return static_cast<float>(std::exp2(std::ceil(std::log2(s)))); }

// Asymmetric per-tensor parameters of the range [lo, hi] (lo <= 0 <= hi).
QParams activation_qparams(float lo, float hi, const Options& o) {
  QParams q;
  q.lo = lo;
  q.hi = hi;
  float s = (hi - lo) / 255.0f;
  if (!(s > 0.0f) || !std::isfinite(s)) s = 1.0f;
  if (o.power_of_two) s = power_of_two_up(s);
  const double qmin = o.int8_activations ? -128 : 0, qmax = o.int8_activations ? 127 : 255;
  q.scale = s;
  q.zero_point = static_cast<int32_t>(std::clamp(std::nearbyint(qmin - static_cast<double>(lo) / s), qmin, qmax));
  return q;
}

float weight_scale(double max_abs, bool power_of_two) {
  double s = max_abs / 127.0;
  if (!(s > 0.0) || !std::isfinite(s)) s = 1.0;
  return power_of_two ? power_of_two_up(s) : static_cast<float>(s);
}

bool is_float32(const ir::Graph& g, const std::string& v) {
  if (const ir::Tensor* t = g.initializer(v)) return t->dtype() == ir::DType::Float32;
  const ir::ValueInfo* vi = g.value_info(v);
  return vi && vi->dtype == ir::DType::Float32;
}

std::string node_id(const ir::Node& n) { return n.name.empty() ? "(unnamed " + n.op_type + ")" : n.name; }

// ---------------------------------------------------------------------------------- matching

// Fills `p` for `n`, or returns why `n` stays float.
std::string plan_node(const ir::Graph& g, ir::Node& n, const std::map<const ir::Node*, WeightLayer>& layers,
                      NodePlan& p) {
  p.node = &n;
  p.x = n.input(0);
  if (n.outputs.empty() || n.outputs[0].empty()) return "it has no output";
  for (size_t i = 1; i < n.outputs.size(); ++i) {
    if (!n.outputs[i].empty() && (!g.consumers(n.outputs[i]).empty() || g.is_graph_output(n.outputs[i])))
      return "its output '" + n.outputs[i] + "' is used (only the first output can be quantized)";
  }
  if (!is_float32(g, n.outputs[0])) return "its output '" + n.outputs[0] + "' is not known to be float32";
  const std::string& op = n.op_type;
  const auto layer = layers.find(&n);
  if (is_weighted(op)) {
    if (layer != layers.end()) {
      p.has_weight = true;
      p.layer = layer->second;
    } else if (op == "Conv" || op == "ConvTranspose") {
      return "its weight is not a float32 constant";
    }
  }
  if (all_inputs_are_activations(op)) {
    for (size_t i = 0; i < n.inputs.size(); ++i)
      if (!n.inputs[i].empty()) p.acts.push_back(i);
  } else {
    if (!n.has_input(0)) return "it has no data input";
    p.acts.push_back(0);
    if ((op == "Gemm" || op == "MatMul") && !p.has_weight) p.acts.push_back(1);
  }
  for (size_t i : p.acts) {
    if (!is_float32(g, n.inputs[i])) return "its input '" + n.inputs[i] + "' is not known to be float32";
  }
  if (p.has_weight && n.has_input(2) && op != "MatMul") {
    const ir::Tensor* b = g.initializer(n.input(2));
    if (!b || b->dtype() != ir::DType::Float32) {
      p.bias_note = "bias is not a float32 constant: left float";
    } else {
      p.quantize_bias = true;  // the per-channel shape check happens once the weight axis is known
    }
  }
  p.same_scale = is_same_scale(op) && !g.is_initializer(n.input(0));
  return "";
}

struct Plan {
  std::vector<NodePlan> nodes;
  std::map<const ir::Node*, size_t> index;  // node -> position in `nodes`
  std::map<std::string, TensorPlan> tensors;
  std::vector<std::string> tensor_order;  // report order
  std::set<std::string> fused;            // producer outputs left float (a Relu/Clip follows)
  json fused_report = json::array();
  json excluded = json::array();
  json skipped = json::array();
};

TensorPlan& add_tensor(Plan& plan, const std::string& name) {
  auto [it, fresh] = plan.tensors.try_emplace(name);
  if (fresh) plan.tensor_order.push_back(name);
  return it->second;
}

Plan match(ir::Graph& g, const Options& o) {
  Plan plan;
  std::map<const ir::Node*, WeightLayer> layers;
  for (const WeightLayer& l : weight_layers(g)) layers[l.node] = l;
  for (const auto& node : g.nodes) {
    ir::Node& n = *node;
    if (!n.domain.empty() || std::find(o.op_types.begin(), o.op_types.end(), n.op_type) == o.op_types.end())
      continue;
    if (matches_any(n, o.exclude)) {
      plan.excluded.push_back({{"node", node_id(n)}, {"op_type", n.op_type}, {"output", n.outputs.empty() ? "" : n.outputs[0]}});
      continue;
    }
    NodePlan p;
    const std::string reason = plan_node(g, n, layers, p);
    if (!reason.empty()) {
      plan.skipped.push_back({{"node", node_id(n)}, {"op_type", n.op_type}, {"reason", reason}});
      continue;
    }
    plan.index[&n] = plan.nodes.size();
    plan.nodes.push_back(std::move(p));
  }

  // Relu / Clip straight after a quantized compute op: no Q/DQ between the two.
  for (NodePlan& p : plan.nodes) {
    if (!is_fusable_activation(p.node->op_type)) continue;
    const std::string& t = p.node->input(0);
    const ir::Node* prod = g.producer(t);
    if (!prod || !plan.index.count(prod) || prod->outputs[0] != t) continue;
    const NodePlan& pp = plan.nodes[plan.index.at(prod)];
    if (pp.same_scale || is_fusable_activation(prod->op_type) || in(prod->op_type, {"LeakyRelu", "Sigmoid"}))
      continue;
    if (g.consumers(t).size() != 1 || g.is_graph_output(t)) continue;
    plan.fused.insert(t);
    p.acts.erase(std::remove(p.acts.begin(), p.acts.end(), size_t{0}), p.acts.end());
    plan.fused_report.push_back({{"producer", node_id(*prod)}, {"activation", node_id(*p.node)}, {"tensor", t}});
  }

  // Outputs first (the producer decides how a tensor is quantized), then activation inputs.
  for (const NodePlan& p : plan.nodes) {
    const std::string& out = p.node->outputs[0];
    if (plan.fused.count(out) || (g.consumers(out).empty() && !(o.quantize_outputs && g.is_graph_output(out)))) continue;
    TensorPlan& t = add_tensor(plan, out);
    t.producer_quantized = true;
    if (p.same_scale) {
      t.source = TensorPlan::Source::SameAs;
      t.same_as = p.node->input(0);
    }
  }
  for (const NodePlan& p : plan.nodes) {
    for (size_t i : p.acts) {
      const std::string& v = p.node->inputs[i];
      if (plan.tensors.count(v)) continue;
      add_tensor(plan, v).source = g.is_initializer(v) ? TensorPlan::Source::Constant : TensorPlan::Source::Calibrated;
    }
  }
  return plan;
}

// ------------------------------------------------------------------------------- calibration

// Appends the first `want - have` samples of `x` to `kept`.
void keep_prefix(const ir::Tensor& x, int64_t want, int64_t& have, std::vector<ir::Tensor>& kept) {
  if (have >= want || x.rank() == 0 || x.dim(0) == 0) return;
  const int64_t take = std::min(want - have, x.dim(0));
  ir::Shape s = x.shape();
  s[0] = take;
  const size_t per = x.nbytes() / static_cast<size_t>(x.dim(0));
  kept.push_back(ir::Tensor::from_bytes(x.dtype(), s, x.raw(), per * static_cast<size_t>(take)));
  have += take;
}

struct CalibrationResult {
  int64_t samples = 0;
  int64_t batches = 0;
  std::vector<ir::Tensor> sqnr_inputs;
};

CalibrationResult calibrate(const ir::Graph& g, runtime::ReferenceInterpreter& interp, Plan& plan,
                            const PassContext& ctx, const Options& o) {
  std::vector<std::pair<const std::string*, RangeObserver*>> watched;
  for (const std::string& name : plan.tensor_order) {
    TensorPlan& t = plan.tensors.at(name);
    if (t.source != TensorPlan::Source::Calibrated) continue;
    t.observer = make_observer(o.calib);
    watched.emplace_back(&name, t.observer.get());
  }
  CalibrationResult r;
  int64_t kept = 0;
  const std::string& input_name = g.inputs.at(0);
  for_each_calibration_batch(ctx, kPass, o.samples, o.batch, o.seed, [&](const ir::Tensor& x) {
    std::map<std::string, ir::Tensor> all;
    const std::vector<ir::Tensor> in{x};
    interp.run_keep_all(in, &all);
    for (auto& [name, obs] : watched) {
      const ir::Tensor* t = *name == input_name ? &x : nullptr;
      if (!t) {
        auto it = all.find(*name);
        if (it == all.end()) throw internal_error("{}: tensor '{}' was not computed during calibration", kPass, *name);
        t = &it->second;
      }
      if (t->dtype() != ir::DType::Float32) {
        throw bad_input("{}: tensor '{}' is {} at run time, not float32", kPass, *name, ir::dtype_name(t->dtype()));
      }
      obs->observe(t->data<float>(), t->numel());
    }
    keep_prefix(x, o.sqnr_samples, kept, r.sqnr_inputs);
    r.samples += x.rank() ? x.dim(0) : 1;
    r.batches += 1;
  });
  return r;
}

void resolve_qparams(const ir::Graph& g, Plan& plan, const Options& o) {
  for (auto& [name, t] : plan.tensors) {
    if (t.source == TensorPlan::Source::Calibrated) {
      const auto [lo, hi] = t.observer->range();
      if (!std::isfinite(lo) || !std::isfinite(hi)) {
        throw bad_input("{}: the calibrated range of '{}' is not finite ([{}, {}])", kPass, name, lo, hi);
      }
      t.q = activation_qparams(std::min(lo, 0.0f), std::max(hi, 0.0f), o);
      t.resolved = true;
    } else if (t.source == TensorPlan::Source::Constant) {
      const ir::Tensor& c = *g.initializer(name);
      float lo = 0.0f, hi = 0.0f;
      for (float v : c.span<float>()) {
        if (std::isfinite(v)) {
          lo = std::min(lo, v);
          hi = std::max(hi, v);
        }
      }
      t.q = activation_qparams(lo, hi, o);
      t.resolved = true;
    }
  }
  // Same-as chains (data movement after data movement) resolve in graph order.
  for (const std::string& name : plan.tensor_order) {
    TensorPlan& t = plan.tensors.at(name);
    if (t.resolved) continue;
    std::vector<TensorPlan*> chain{&t};
    const TensorPlan* src = &plan.tensors.at(t.same_as);
    while (!src->resolved) {
      chain.push_back(const_cast<TensorPlan*>(src));
      src = &plan.tensors.at(src->same_as);
    }
    for (TensorPlan* c : chain) {
      c->q = src->q;
      c->resolved = true;
    }
  }
}

// ------------------------------------------------------------------------------------- apply

ir::Tensor zero_point_tensor(ir::DType dtype, ir::Shape shape, int32_t zp) {
  ir::Tensor t = ir::Tensor::zeros(dtype, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (dtype == ir::DType::UInt8) t.data<uint8_t>()[i] = static_cast<uint8_t>(zp);
    else if (dtype == ir::DType::Int8) t.data<int8_t>()[i] = static_cast<int8_t>(zp);
    else t.data<int32_t>()[i] = zp;
  }
  return t;
}

// Names derived for Q/DQ tensors and nodes start from the last path component of the tensor
// name ("/features/features.0/Conv_output_0" -> "Conv_output_0", made unique by the graph):
// a QDQ graph repeats each derived name several times, and exporters' hierarchical names
// would otherwise weigh more than a small model's int8 weights.
std::string short_base(const std::string& name) {
  const size_t slash = name.find_last_of('/');
  const std::string last = slash == std::string::npos ? name : name.substr(slash + 1);
  return last.empty() ? "t" : last;
}

ir::Node& add_qdq_node(ir::Graph& g, const std::string& op, const std::string& name_base,
                       std::vector<std::string> inputs, const std::string& output, int64_t axis = -1) {
  ir::Node n;
  n.op_type = op;
  n.name = g.unique_name(name_base);
  n.inputs = std::move(inputs);
  n.outputs = {output};
  if (axis >= 0) n.attrs["axis"] = ir::Attribute::of_int(axis);
  return g.add_node(std::move(n));
}

// QuantizeLinear's arithmetic on a constant: saturate(round_half_even(v / s) + zp).
ir::Tensor quantize_constant(const ir::Tensor& c, const QParams& q, ir::DType qt) {
  ir::Tensor out = ir::Tensor::zeros(qt, c.shape());
  const double qmin = qt == ir::DType::Int8 ? -128 : 0, qmax = qt == ir::DType::Int8 ? 127 : 255;
  for (int64_t i = 0; i < c.numel(); ++i) {
    double v = std::nearbyint(static_cast<double>(c.data<float>()[i] / q.scale)) + q.zero_point;
    if (std::isnan(v)) v = q.zero_point;
    v = std::clamp(v, qmin, qmax);
    if (qt == ir::DType::Int8) out.data<int8_t>()[i] = static_cast<int8_t>(v);
    else out.data<uint8_t>()[i] = static_cast<uint8_t>(v);
  }
  return out;
}

// Q/DQ pair on activation tensor `name` (a constant is stored quantized, DQ only); returns
// the DQ output.
std::string insert_activation_qdq(ir::Graph& g, const std::string& name, const QParams& q, const Options& o) {
  const ir::DType qt = o.int8_activations ? ir::DType::Int8 : ir::DType::UInt8;
  const std::string base = short_base(name);
  const std::string scale = g.add_initializer(base + "_scale", ir::Tensor::scalar<float>(q.scale));
  const std::string zp = g.add_initializer(base + "_zero_point", zero_point_tensor(qt, {}, q.zero_point));
  std::string qv;
  if (const ir::Tensor* c = g.initializer(name)) {
    qv = g.add_initializer(base + "_quantized", quantize_constant(*c, q, qt));
  } else {
    qv = g.unique_name(base + "_quantized");
    add_qdq_node(g, "QuantizeLinear", base + "_QuantizeLinear", {name, scale, zp}, qv);
  }
  const std::string dq = g.unique_name(base + "_dequantized");
  add_qdq_node(g, "DequantizeLinear", base + "_DequantizeLinear", {qv, scale, zp}, dq);
  return dq;
}

struct QuantizedWeight {
  std::string dq;
  std::vector<float> scales;  // one per channel, or one
  int64_t axis = -1;          // -1: per tensor
};

QuantizedWeight quantize_weight(ir::Graph& g, const std::string& wname, const ir::Tensor& w, int64_t axis,
                                const Options& o) {
  QuantizedWeight r;
  r.axis = axis;
  ir::Tensor q = ir::Tensor::zeros(ir::DType::Int8, w.shape());
  const float* wd = w.data<float>();
  int8_t* qd = q.data<int8_t>();
  auto quantize_group = [&](const std::vector<int64_t>& idx) {
    double m = 0.0;
    for (int64_t i : idx) {
      if (std::isfinite(wd[i])) m = std::max(m, std::fabs(static_cast<double>(wd[i])));
    }
    const float s = weight_scale(m, o.power_of_two);
    for (int64_t i : idx) {
      qd[i] = static_cast<int8_t>(std::clamp(std::nearbyint(static_cast<double>(wd[i]) / s), -127.0, 127.0));
    }
    r.scales.push_back(s);
  };
  if (axis >= 0) {
    for (int64_t c = 0; c < w.dim(axis); ++c) quantize_group(channel_indices(w, axis, c));
  } else {
    std::vector<int64_t> all(static_cast<size_t>(w.numel()));
    for (int64_t i = 0; i < w.numel(); ++i) all[static_cast<size_t>(i)] = i;
    quantize_group(all);
  }
  const std::string base = short_base(wname);
  const std::string qname = g.add_initializer(base + "_quantized", std::move(q));
  const ir::Shape sshape = axis >= 0 ? ir::Shape{static_cast<int64_t>(r.scales.size())} : ir::Shape{};
  const std::string scale = g.add_initializer(base + "_scale", ir::Tensor::from_vector<float>(sshape, r.scales));
  // The zero point is omitted: optional, and 0 of the input's type (int8) when absent.
  r.dq = g.unique_name(base + "_dequantized");
  add_qdq_node(g, "DequantizeLinear", base + "_DequantizeLinear", {qname, scale}, r.dq, axis);
  return r;
}

// int32 bias with s_b[c] = s_x * s_w[c]; returns the report entry and rewires input 2.
json quantize_bias(ir::Graph& g, ir::Node& n, float s_x, const QuantizedWeight& w) {
  const std::string bname = n.input(2);
  const ir::Tensor& b = *g.initializer(bname);
  const bool per_channel = w.scales.size() > 1;
  if (per_channel && (b.rank() != 1 || b.numel() != static_cast<int64_t>(w.scales.size()))) {
    return {{"quantized", false}, {"reason", "bias shape does not match the weight's channels: left float"}};
  }
  std::vector<float> sb(w.scales.size());
  for (size_t c = 0; c < sb.size(); ++c) sb[c] = s_x * w.scales[c];
  ir::Tensor q = ir::Tensor::zeros(ir::DType::Int32, b.shape());
  int64_t clamped = 0;
  constexpr double lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
  for (int64_t i = 0; i < b.numel(); ++i) {
    const float s = sb[per_channel ? static_cast<size_t>(i) : 0];
    double v = std::nearbyint(static_cast<double>(b.data<float>()[i]) / static_cast<double>(s));
    if (!std::isfinite(v)) v = 0.0;
    if (v < lo || v > hi) ++clamped;
    q.data<int32_t>()[i] = static_cast<int32_t>(std::clamp(v, lo, hi));
  }
  const ir::Shape sshape = per_channel ? ir::Shape{static_cast<int64_t>(sb.size())} : ir::Shape{};
  const std::string base = short_base(bname);
  const std::string qname = g.add_initializer(base + "_quantized", std::move(q));
  const std::string scale = g.add_initializer(base + "_scale", ir::Tensor::from_vector<float>(sshape, sb));
  // The zero point is omitted (optional; 0 for int32): C int32 zeros would only cost bytes.
  const std::string dq = g.unique_name(base + "_dequantized");
  add_qdq_node(g, "DequantizeLinear", base + "_DequantizeLinear", {qname, scale}, dq, per_channel ? 0 : -1);
  n.inputs[2] = dq;
  return {{"quantized", true},
          {"min_scale", *std::min_element(sb.begin(), sb.end())},
          {"max_scale", *std::max_element(sb.begin(), sb.end())},
          {"saturated", clamped}};
}

struct ApplyResult {
  json weights = json::array();
  std::map<std::string, int64_t> counts;
};

ApplyResult apply(ir::Graph& g, Plan& plan, const Options& o, bool per_channel) {
  ApplyResult r;
  // Activation Q/DQ pairs. Readers of a quantized node's output all read the DQ output
  // (collected before the Q nodes exist); other tensors only for quantized readers (below).
  std::map<std::string, std::vector<ir::Node*>> readers;
  for (const std::string& name : plan.tensor_order) {
    if (plan.tensors.at(name).producer_quantized) readers[name] = g.consumers(name);
  }
  for (const std::string& name : plan.tensor_order) {
    TensorPlan& t = plan.tensors.at(name);
    t.dq = insert_activation_qdq(g, name, t.q, o);
    // quantize_outputs: a graph output keeps its name on the DequantizeLinear's output, and its
    // producer writes a new name that the QuantizeLinear reads.
    if (t.producer_quantized && g.is_graph_output(name) && !g.is_initializer(name)) {
      ir::Node* prod = g.producer(name);
      ir::Node* dq_node = g.producer(t.dq);
      ir::Node* q_node = g.producer(dq_node->input(0));
      const std::string pre = g.unique_name(short_base(name) + "_before_quantize");
      for (NodePlan& p : plan.nodes) {
        if (p.node == prod) p.float_output = name;
      }
      prod->outputs[0] = pre;
      q_node->inputs[0] = pre;
      dq_node->outputs[0] = name;
      g.values.erase(t.dq);
      t.dq = name;
    }
  }
  for (const auto& [name, nodes] : readers) {
    for (ir::Node* c : nodes) {
      for (auto& v : c->inputs)
        if (v == name) v = plan.tensors.at(name).dq;
    }
  }
  for (NodePlan& p : plan.nodes) {
    for (size_t i : p.acts) {
      const std::string v = p.node->inputs[i];
      auto it = plan.tensors.find(v);
      if (it != plan.tensors.end()) p.node->inputs[i] = it->second.dq;
    }
  }
  // Weights (shared by (name, axis)) and biases.
  std::map<std::pair<std::string, int64_t>, QuantizedWeight> done;
  for (NodePlan& p : plan.nodes) {
    ir::Node& n = *p.node;
    r.counts[n.op_type] += 1;
    if (!p.has_weight) continue;
    const std::string wname = n.input(p.layer.weight_input);
    const ir::Tensor& w = *g.initializer(wname);
    int64_t axis = per_channel ? p.layer.out_axis : -1;
    std::string note;
    if (axis >= 0 && n.op_type == "ConvTranspose" && n.attr_int("group", 1) != 1) {
      axis = -1;
      note = "grouped ConvTranspose: per-tensor weight scale";
    }
    auto key = std::make_pair(wname, axis);
    if (!done.count(key)) done[key] = quantize_weight(g, wname, w, axis, o);
    const QuantizedWeight& qw = done.at(key);
    n.inputs[p.layer.weight_input] = qw.dq;
    json entry = {{"node", node_id(n)},
                  {"op_type", n.op_type},
                  {"weight", wname},
                  {"per_channel", axis >= 0},
                  {"axis", axis >= 0 ? json(axis) : json(nullptr)},
                  {"channels", qw.scales.size()},
                  {"min_scale", *std::min_element(qw.scales.begin(), qw.scales.end())},
                  {"max_scale", *std::max_element(qw.scales.begin(), qw.scales.end())}};
    if (!note.empty()) entry["note"] = note;
    if (p.quantize_bias) {
      const auto x = plan.tensors.find(p.x);
      if (x != plan.tensors.end()) entry["bias"] = quantize_bias(g, n, x->second.q.scale, qw);
      else entry["bias"] = {{"quantized", false}, {"reason", "input is not quantized: left float"}};
    } else if (!p.bias_note.empty()) {
      entry["bias"] = {{"quantized", false}, {"reason", p.bias_note}};
    }
    r.weights.push_back(std::move(entry));
  }
  return r;
}

// ---------------------------------------------------------------------------------------- SQNR

struct Sqnr {
  double signal = 0.0, noise = 0.0;
  void add(const ir::Tensor& ref, const ir::Tensor& q) {
    if (ref.dtype() != ir::DType::Float32 || q.dtype() != ir::DType::Float32 || ref.shape() != q.shape()) return;
    const float* a = ref.data<float>();
    const float* b = q.data<float>();
    for (int64_t i = 0; i < ref.numel(); ++i) {
      const double r = a[i], d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
      signal += r * r;
      noise += d * d;
    }
  }
  json db() const {
    if (noise == 0.0) return nullptr;
    return 10.0 * std::log10(signal / noise);
  }
};

void measure_sqnr(runtime::ReferenceInterpreter& float_model, const ir::Graph& quantized, const Plan& plan,
                  const std::vector<ir::Tensor>& inputs, json& nodes, json& outputs) {
  runtime::ReferenceInterpreter qmodel(quantized);
  std::vector<Sqnr> per_node(plan.nodes.size());
  std::vector<Sqnr> per_output(quantized.outputs.size());
  for (const ir::Tensor& x : inputs) {
    const std::vector<ir::Tensor> in{x};
    std::map<std::string, ir::Tensor> fa, qa;
    const auto fo = float_model.run_keep_all(in, &fa);
    const auto qo = qmodel.run_keep_all(in, &qa);
    for (size_t i = 0; i < plan.nodes.size(); ++i) {
      const std::string& out = plan.nodes[i].node->outputs[0];
      auto a = fa.find(plan.nodes[i].float_output.empty() ? out : plan.nodes[i].float_output), b = qa.find(out);
      if (a != fa.end() && b != qa.end()) per_node[i].add(a->second, b->second);
    }
    for (size_t i = 0; i < fo.size() && i < qo.size(); ++i) per_output[i].add(fo[i], qo[i]);
  }
  for (size_t i = 0; i < plan.nodes.size(); ++i) {
    nodes[i]["sqnr_db"] = per_node[i].db();
  }
  for (size_t i = 0; i < quantized.outputs.size(); ++i) {
    outputs.push_back({{"tensor", quantized.outputs[i]}, {"sqnr_db", per_output[i].db()}});
  }
}

// ------------------------------------------------------------------------------------- the pass

class QuantizeStatic final : public Pass {
 public:
  explicit QuantizeStatic(Options o) : o_(std::move(o)) {}
  std::string name() const override { return kPass; }

  json run(ir::Model& model, const PassContext& ctx) override {
    if (!ctx.calibration || !ctx.preprocess) for_each_calibration_batch(ctx, kPass, 1, 1, 0, [](const ir::Tensor&) {});
    ir::Graph& g = model.graph;
    json notes = json::array();
    const int64_t opset = g.opset("");
    if (opset < 10) {
      return {{"quantized", json::object()},
              {"notes", {"opset " + std::to_string(opset) + " has no QuantizeLinear/DequantizeLinear (needs >= 10): "
                         "nothing was quantized"}}};
    }
    if (g.inputs.size() != 1) {
      throw bad_input("{}: the model has {} graph inputs; calibration feeds exactly one", kPass, g.inputs.size());
    }
    bool per_channel = o_.per_channel;
    if (per_channel && opset < 13) {
      per_channel = false;
      notes.push_back("opset " + std::to_string(opset) + " < 13 has no per-axis DequantizeLinear: weights are "
                      "quantized per tensor");
    }
    ir::infer_shapes(model);  // dtypes of every activation
    Plan plan = match(g, o_);
    if (plan.nodes.empty()) {
      return {{"quantized", json::object()}, {"excluded", plan.excluded}, {"skipped", plan.skipped}, {"notes", notes}};
    }

    runtime::ReferenceInterpreter float_model(g);
    const CalibrationResult cal = calibrate(g, float_model, plan, ctx, o_);
    resolve_qparams(g, plan, o_);
    ApplyResult applied = apply(g, plan, o_, per_channel);
    g.topological_sort();
    g.remove_unused();
    ir::infer_shapes(model);

    json activations = json::array();
    for (const std::string& name : plan.tensor_order) {
      const TensorPlan& t = plan.tensors.at(name);
      const char* src = t.source == TensorPlan::Source::Calibrated ? "calibrated"
                        : t.source == TensorPlan::Source::Constant ? "constant"
                                                                    : "input's";
      json e = {{"tensor", name}, {"scale", t.q.scale}, {"zero_point", t.q.zero_point}, {"range", {t.q.lo, t.q.hi}},
                {"source", src}};
      if (t.source == TensorPlan::Source::SameAs) e["same_as"] = t.same_as;
      activations.push_back(std::move(e));
    }
    json nodes = json::array();
    for (const NodePlan& p : plan.nodes) {
      nodes.push_back({{"node", node_id(*p.node)}, {"op_type", p.node->op_type}, {"output", p.node->outputs[0]},
                       {"sqnr_db", nullptr}});
    }
    json outputs = json::array();
    if (o_.sqnr_samples > 0) measure_sqnr(float_model, g, plan, cal.sqnr_inputs, nodes, outputs);

    return {{"calibration",
             {{"method", o_.calibration}, {"samples", cal.samples}, {"batches", cal.batches}}},
            {"activation_type", o_.int8_activations ? "int8" : "uint8"},
            {"per_channel", per_channel},
            {"scale_mode", o_.power_of_two ? "power_of_two" : "float"},
            {"activations", activations},
            {"weights", applied.weights},
            {"nodes", nodes},
            {"outputs", outputs},
            {"sqnr_samples", std::min(o_.sqnr_samples, cal.samples)},
            {"quantized", applied.counts},
            {"fused_activations", plan.fused_report},
            {"excluded", plan.excluded},
            {"skipped", plan.skipped},
            {"notes", notes}};
  }

 private:
  Options o_;
};

Options parse(const json& p) {
  Options o;
  o.per_channel = p.at("per_channel").get<bool>();
  o.int8_activations = p.at("activation_type").get<std::string>() == "int8";
  o.calibration = p.at("calibration").get<std::string>();
  o.calib.method = parse_calibration_method(o.calibration);
  o.calib.ema_decay = p.at("ema_decay").get<double>();
  o.calib.percentile = p.at("percentile").get<double>();
  o.calib.bins = p.at("histogram_bins").get<int64_t>();
  o.calib.levels = 256;
  o.samples = p.at("calibration_samples").get<int64_t>();
  o.batch = p.at("calibration_batch").get<int64_t>();
  o.power_of_two = p.at("scale_mode").get<std::string>() == "power_of_two";
  o.exclude = p.at("exclude").get<std::vector<std::string>>();
  o.op_types = p.at("op_types").get<std::vector<std::string>>();
  o.sqnr_samples = p.at("sqnr_samples").get<int64_t>();
  o.seed = static_cast<uint64_t>(p.at("seed").get<int64_t>());
  o.quantize_outputs = p.at("quantize_outputs").get<bool>();
  return o;
}

}  // namespace

pipeline::Registration quantize_static_registration() {
  using pipeline::ParamSpec;
  using pipeline::ParamType;
  pipeline::ComponentSpec spec;
  spec.name = kPass;
  spec.description =
      "int8 post-training static quantization in QDQ form: symmetric int8 weights (per channel), "
      "asymmetric uint8/int8 activations calibrated on calibration data, int32 bias, per-layer SQNR";
  const auto none = std::nullopt;
  spec.params = {
      {"per_channel", ParamType::Bool, true, false, none, none, {},
       "one weight scale per output channel (opset >= 13), else one per tensor"},
      {"activation_type", ParamType::String, "uint8", false, none, none, {"uint8", "int8"},
       "activation integer type (asymmetric, per tensor)"},
      {"calibration", ParamType::String, "minmax", false, none, none, calibration_method_names(),
       "how each activation's range is estimated"},
      {"calibration_samples", ParamType::Int, 512, false, 1.0, none, {}, "calibration samples to run"},
      {"calibration_batch", ParamType::Int, 32, false, 1.0, none, {}, "samples per calibration batch"},
      {"ema_decay", ParamType::Float, 0.9, false, 0.0, 1.0, {},
       "ema: range = decay * range + (1 - decay) * batch range"},
      {"percentile", ParamType::Float, 99.99, false, 50.0, 100.0, {}, "percentile: clip at this percentile"},
      {"histogram_bins", ParamType::Int, 2048, false, 16.0, 1048576.0, {},
       "histogram methods (percentile, mse, entropy): bins per tensor"},
      {"scale_mode", ParamType::String, "float", false, none, none, {"float", "power_of_two"},
       "power_of_two: every scale is 2^ceil(log2(s)), so requantization is a shift"},
      {"exclude", ParamType::StringList, json::array(), false, none, none, {},
       "node names or op types to leave in float"},
      {"op_types", ParamType::StringList, default_ops(), false, none, none, supported_ops(),
       "op types to quantize"},
      {"sqnr_samples", ParamType::Int, 64, false, 0.0, none, {},
       "calibration samples for the per-layer SQNR report (0: no SQNR)"},
      {"seed", ParamType::Int, 0, false, 0.0, none, {}, "seed of the calibration sample draw"},
      {"quantize_outputs", ParamType::Bool, false, false, none, none, {},
       "also quantize graph outputs a quantized node produces (Q/DQ before the output, which keeps its name and "
       "stays float32): the whole model then runs in integers, as full-integer deployment needs"},
  };
  spec.repeatable = false;  // quantizing twice would compound
  return pipeline::make_registration<Pass>(std::move(spec), [](const json& p, const pipeline::BuildContext&) {
    return std::make_unique<QuantizeStatic>(parse(p));
  });
}

}  // namespace hone::passes
