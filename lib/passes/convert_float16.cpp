// `convert_float16`: float32 -> IEEE binary16.
//
// Weights mode (default): every float32 initializer W read by a node is stored as float16 and
// decoded by one Cast:  W16 = fp16(clamp(W, -65504, 65504));  W = Cast<float>(W16).
// Every op still computes in float32 on the rounded weights (relative error <= 2^-11 per weight),
// and the file shrinks about 2x. fp16(x) rounds to nearest even; |x| > 65504 (float16's largest
// finite value) is clamped and counted, nonzero |x| < 2^-25 becomes 0 and is counted as
// underflow. Left float32, with the reason in the report: constants smaller than `min_size`,
// graph outputs, constants read by an excluded node or a node outside the ONNX domain, and
// inputs whose schema type is float32 rather than T or that are scales (Resize roi/scales,
// Upsample scales, Dropout ratio, QuantizeLinear/DequantizeLinear/QLinear* scales).
//
// Activations mode (`activations`): the computation itself runs in float16. Every node whose
// reference kernel has a float16 form (kFloat16Ops) reads and writes float16 in place of float32;
// its float32 constants become float16 initializers (no Cast; a constant also read as float32
// elsewhere gets a float16 copy). A node that must stay float32 (no float16 kernel, excluded,
// custom domain, a value of unknown type, a Cast from a non-float type to float) keeps float32
// with Casts around it, and is listed in the report. Inputs whose schema type is not T (see above)
// stay float32. Graph inputs/outputs stay float32 (Cast after each input, before each output)
// unless `keep_io_types` is false. `min_size` does not apply here: a constant feeding float16
// arithmetic must be float16. Activations that overflow float16 at run time become +-inf: that
// cannot be checked without data, so measure accuracy after this pass.
#include "passes/pass.h"
#include "passes/pass_util.h"
#include "passes/passes.h"
#include "ir/onnx_io.h"
#include "support/error.h"

#include <cmath>
#include <map>
#include <set>
#include <unordered_set>

namespace hone::passes {

namespace {

using nlohmann::json;
using ir::DType;

constexpr int64_t kOnnxFloat = 1;     // TensorProto.FLOAT
constexpr int64_t kOnnxFloat16 = 10;  // TensorProto.FLOAT16
constexpr float kFloat16Max = 65504.0f;

struct Options {
  bool activations = false;
  bool keep_io_types = true;
  std::vector<std::string> exclude;
  int64_t min_size = 0;
};

// Ops whose reference kernels compute on float16 (kernels/*.cpp accept kFloatTypes / kFloat for
// every T input), with all their T inputs and outputs switching type together.
const std::set<std::string>& float16_ops() {
  static const std::set<std::string> ops = {
      // elementwise
      "Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Sqrt", "Exp", "Log", "Erf",
      "Neg", "Abs", "Reciprocal", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan",
      "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Elu", "Selu", "Celu", "Softplus", "Softsign", "ThresholdedRelu",
      "Shrink", "IsNaN", "IsInf", "Add", "Sub", "Mul", "Div", "Pow", "Mod", "PRelu", "Equal", "Less", "Greater",
      "LessOrEqual", "GreaterOrEqual", "Max", "Min", "Sum", "Mean", "Where",
      // nn
      "Conv", "ConvTranspose", "Gemm", "MatMul", "MaxPool", "AveragePool", "LpPool", "GlobalAveragePool",
      "GlobalMaxPool", "GlobalLpPool", "BatchNormalization", "InstanceNormalization", "LayerNormalization", "LRN",
      "MeanVarianceNormalization", "Dropout",
      // reduce
      "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
      "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin", "Softmax", "LogSoftmax", "Hardmax",
      "LpNormalization",
      // tensor (data movement: any dtype)
      "Identity", "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Shape", "Size", "Transpose", "Concat", "Split",
      "Slice", "Expand", "Tile", "DepthToSpace", "SpaceToDepth", "Gather", "GatherElements", "GatherND", "NonZero",
      "Pad", "Resize", "Upsample",
      // handled specially: Cast (retargeted), Constant (value converted)
      "Cast", "Constant"};
  return ops;
}

// Inputs that are float32 by the op's schema (not its T) or are scales that must stay exact
// float32 constants.
bool fixed_float32_input(const ir::Node& n, size_t i) {
  const std::string& op = n.op_type;
  if (op == "Resize") return i == 1 || i == 2;  // roi, scales
  if (op == "Upsample" || op == "Dropout") return i == 1;  // scales, ratio
  if (op == "QuantizeLinear" || op == "DequantizeLinear") return i == 1;
  if (op == "QLinearConv" || op == "QLinearMatMul") return i == 1 || i == 4 || i == 6;
  return false;
}

// Inputs any dtype may feed without changing the node's output type.
bool any_type_input(const ir::Node& n, size_t i) {
  return i == 0 && (n.op_type == "Cast" || n.op_type == "Shape" || n.op_type == "Size" || n.op_type == "CastLike");
}

// Outputs of a float16 node that stay float32 (LayerNormalization's Mean / InvStdDev: stash_type).
bool fixed_float32_output(const ir::Node& n, size_t k) { return n.op_type == "LayerNormalization" && k > 0; }

// ------------------------------------------------------------------------------ conversion

struct Half {
  ir::Tensor t;
  int64_t clamped = 0;      // |x| > 65504, stored as +-65504
  int64_t underflowed = 0;  // nonzero x stored as 0
};

Half to_float16(const ir::Tensor& f) {
  Half h{ir::Tensor::zeros(DType::Float16, f.shape())};
  const float* src = f.data<float>();
  ir::Float16* dst = h.t.data<ir::Float16>();
  for (int64_t i = 0; i < f.numel(); ++i) {
    float v = src[i];
    if (std::isfinite(v) && std::fabs(v) > kFloat16Max) {
      v = std::copysign(kFloat16Max, v);
      ++h.clamped;
    }
    dst[i] = ir::f32_to_f16(v);
    if (v != 0.0f && ir::f16_to_f32(dst[i]) == 0.0f) ++h.underflowed;
  }
  return h;
}

ir::ValueInfo with_dtype(const ir::ValueInfo* vi, DType dtype) {
  ir::ValueInfo r;
  if (vi) r.shape = vi->shape;
  r.dtype = dtype;
  return r;
}

// The type of a constant: its dtype and exact shape.
ir::ValueInfo info_of(const ir::Tensor& t) {
  ir::ValueInfo r;
  r.dtype = t.dtype();
  r.shape = std::vector<ir::Dim>();
  for (int64_t d : t.shape()) r.shape->push_back(ir::Dim{d, ""});
  return r;
}

ir::Node cast_node(const std::string& name, const std::string& in, const std::string& out, int64_t to) {
  ir::Node n;
  n.op_type = "Cast";
  n.name = name;
  n.inputs = {in};
  n.outputs = {out};
  n.attrs["to"] = ir::Attribute::of_int(to);
  return n;
}

// Totals over the converted constants.
struct Tally {
  int64_t initializers = 0, bytes_before = 0, bytes_after = 0, clamped = 0, underflowed = 0, casts = 0;
  void add(const ir::Tensor& f, const Half& h) {
    ++initializers;
    bytes_before += static_cast<int64_t>(f.nbytes());
    bytes_after += static_cast<int64_t>(h.t.nbytes());
    clamped += h.clamped;
    underflowed += h.underflowed;
  }
  void to_json(json& j) const {
    j["initializers_converted"] = initializers;
    j["bytes_before"] = bytes_before;
    j["bytes_after"] = bytes_after;
    j["clamped_values"] = clamped;
    j["underflowed_values"] = underflowed;
    j["cast_nodes"] = casts;
  }
};

// ------------------------------------------------------------------------------ weights mode

// Why initializer `name` stays float32 in weights mode, or "" to convert it.
std::string keep_weight_reason(const ir::Graph& g, const std::string& name, const ir::Tensor& t,
                               const std::vector<ir::Node*>& users, const Options& opt) {
  if (g.is_graph_output(name)) return "it is a graph output";
  if (t.numel() < opt.min_size) {
    return "it has " + std::to_string(t.numel()) + " values, fewer than min_size " + std::to_string(opt.min_size);
  }
  for (const ir::Node* n : users) {
    if (matches_any(*n, opt.exclude)) return "read by excluded node " + n->name;
    if (!n->domain.empty()) return "read by " + n->name + " outside the ONNX domain";
    for (size_t i = 0; i < n->inputs.size(); ++i) {
      if (n->inputs[i] == name && fixed_float32_input(*n, i))
        return "input " + std::to_string(i) + " of " + n->op_type + " " + n->name + " must stay float32";
    }
  }
  return "";
}

json convert_weights(ir::Graph& g, const Options& opt) {
  FreshNames names(g);
  Tally tally;
  json converted = json::array(), kept = json::array();
  std::vector<std::string> candidates;
  for (const auto& [name, t] : g.initializers) {
    if (t.dtype() == DType::Float32) candidates.push_back(name);
  }
  for (const std::string& name : candidates) {
    const std::vector<ir::Node*> users = g.consumers(name);
    if (users.empty() && !g.is_graph_output(name)) continue;  // unused: cleanup drops it
    const ir::Tensor f = g.initializers.at(name);
    const std::string reason = keep_weight_reason(g, name, f, users, opt);
    if (!reason.empty()) {
      kept.push_back({{"initializer", name}, {"reason", reason}});
      continue;
    }
    Half h = to_float16(f);
    tally.add(f, h);
    converted.push_back({{"initializer", name}, {"elements", f.numel()}, {"clamped", h.clamped}});
    // W16 is the new initializer; a Cast writes the old name, so every reader is unchanged.
    const std::string h_name = names.make(name + "_fp16");
    g.values[h_name] = info_of(h.t);
    g.values[name] = info_of(f);
    g.initializers.erase(name);
    g.initializers.emplace(h_name, std::move(h.t));
    g.insert_node_before(g.nodes.front().get(), cast_node(names.make(name + "_decode"), h_name, name, kOnnxFloat));
    ++tally.casts;
  }
  json r = {{"mode", "weights"}, {"converted", converted}, {"kept_float32", kept}};
  tally.to_json(r);
  return r;
}

// ------------------------------------------------------------------------------ activations mode

class ActivationConverter {
 public:
  ActivationConverter(ir::Model& model, const Options& opt) : model_(model), g_(model.graph), opt_(opt) {}

  json run() {
    ir::infer_shapes(model_);  // the types decide what converts
    for (const auto& [name, vi] : g_.values) type_[name] = vi.dtype;
    for (const auto& [name, t] : g_.initializers) type_[name] = t.dtype();
    names_ = std::make_unique<FreshNames>(g_);

    json kept = classify();
    assign_types();
    if (opt_.keep_io_types) keep_output_types();
    convert_constants();
    insert_casts();
    update_nodes_and_values();
    g_.topological_sort();
    g_.remove_unused();

    json r = {{"mode", "activations"},
              {"keep_io_types", opt_.keep_io_types},
              {"nodes_converted", converted_.size()},
              {"nodes_kept_float32", kept}};
    tally_.to_json(r);
    return r;
  }

 private:
  DType orig(const std::string& v) const {
    auto it = type_.find(v);
    return it == type_.end() ? DType::Undefined : it->second;
  }
  DType now(const std::string& v) const {
    auto it = new_type_.find(v);
    return it == new_type_.end() ? orig(v) : it->second;
  }

  bool involves_float32(const ir::Node& n) const {
    for (const auto& v : n.inputs)
      if (!v.empty() && orig(v) == DType::Float32) return true;
    for (const auto& v : n.outputs)
      if (!v.empty() && orig(v) == DType::Float32) return true;
    return false;
  }

  // Why `n` stays float32, or "" when it runs in float16.
  std::string keep_reason(const ir::Node& n) const {
    if (matches_any(n, opt_.exclude)) return "excluded";
    if (!n.domain.empty()) return "not in the ONNX domain";
    if (!float16_ops().count(n.op_type)) return "no float16 kernel in the reference interpreter";
    for (const auto* list : {&n.inputs, &n.outputs}) {
      for (const auto& v : *list) {
        if (!v.empty() && orig(v) == DType::Undefined) return "the type of '" + v + "' is unknown";
      }
    }
    if (n.op_type == "Cast" && n.attr_int("to", 0) == kOnnxFloat && orig(n.input(0)) != DType::Float32) {
      return "a Cast from " + std::string(ir::dtype_name(orig(n.input(0)))) + " to float32 keeps its target type";
    }
    if (n.op_type == "Constant") {
      const ir::Tensor* t = n.attr_tensor("value");
      if (!t || t->dtype() != DType::Float32) return "a Constant given by value_float(s)";
    }
    return "";
  }

  json classify() {
    json kept = json::array();
    for (const auto& n : g_.nodes) {
      if (!involves_float32(*n)) continue;
      const std::string reason = keep_reason(*n);
      if (reason.empty()) converted_.insert(n.get());
      else kept.push_back({{"node", n->name}, {"op", n->op_type}, {"reason", reason}});
    }
    return kept;
  }

  // The type input `i` of `n` must have after the pass (Undefined: no requirement).
  DType wanted(const ir::Node& n, size_t i) const {
    const std::string& v = n.inputs[i];
    if (v.empty() || orig(v) != DType::Float32) return DType::Undefined;
    if (!converted_.count(&n) || fixed_float32_input(n, i)) return DType::Float32;
    if (any_type_input(n, i)) return DType::Undefined;
    return DType::Float16;
  }

  void assign_types() {
    for (const ir::Node* n : converted_) {
      for (size_t k = 0; k < n->outputs.size(); ++k) {
        const std::string& v = n->outputs[k];
        if (!v.empty() && orig(v) == DType::Float32 && !fixed_float32_output(*n, k)) new_type_[v] = DType::Float16;
      }
    }
    if (!opt_.keep_io_types) {
      for (const auto& in : g_.inputs)
        if (orig(in) == DType::Float32) new_type_[in] = DType::Float16;
    }
  }

  // A float32 graph output computed in float16: the producer writes `out_fp16`, a Cast `out`.
  void keep_output_types() {
    for (const std::string& out : std::set<std::string>(g_.outputs.begin(), g_.outputs.end())) {
      if (orig(out) != DType::Float32 || now(out) != DType::Float16 || g_.is_graph_input(out)) continue;
      ir::Node* p = g_.producer(out);
      if (!p) continue;
      const std::string h = names_->make(out + "_fp16");
      for (auto& o : p->outputs)
        if (o == out) o = h;
      for (auto& n : g_.nodes)
        for (auto& i : n->inputs)
          if (i == out) i = h;
      type_[h] = DType::Float32;
      new_type_[h] = DType::Float16;
      new_type_.erase(out);
      g_.values[h] = with_dtype(g_.value_info(out), DType::Float16);
      glue_.push_back(cast_node(names_->make(out + "_to_float32"), h, out, kOnnxFloat));
    }
  }

  // Float32 constants read as float16 become float16 (in place when nothing reads them as
  // float32, else as a float16 copy).
  void convert_constants() {
    std::map<std::string, std::pair<bool, bool>> use;  // initializer -> (read as fp16, read as fp32)
    for (const auto& n : g_.nodes) {
      for (size_t i = 0; i < n->inputs.size(); ++i) {
        const std::string& v = n->inputs[i];
        if (!g_.is_initializer(v)) continue;
        const DType w = wanted(*n, i);
        if (w == DType::Float16) use[v].first = true;
        if (w == DType::Float32) use[v].second = true;
      }
    }
    for (const auto& [name, u] : use) {
      if (!u.first) continue;
      const ir::Tensor f = g_.initializers.at(name);
      Half h = to_float16(f);
      tally_.add(f, h);
      const bool in_place = !u.second && !g_.is_graph_output(name);
      const std::string h_name = in_place ? name : names_->make(name + "_fp16");
      g_.values[h_name] = info_of(h.t);
      g_.initializers[h_name] = std::move(h.t);
      type_[h_name] = DType::Float32;  // "originally float32", now float16
      new_type_[h_name] = DType::Float16;
      if (!in_place) half_copy_[name] = h_name;
    }
  }

  // The value `v` as type `to`: itself, a float16 copy of a constant, or a (shared) Cast.
  std::string as_type(const std::string& v, DType to) {
    if (now(v) == to) return v;
    auto copy = half_copy_.find(v);
    if (to == DType::Float16 && copy != half_copy_.end()) return copy->second;
    const auto key = std::make_pair(v, to);
    auto it = casts_.find(key);
    if (it != casts_.end()) return it->second;
    const bool half = to == DType::Float16;
    const std::string out = names_->make(v + (half ? "_fp16" : "_fp32"));
    glue_.push_back(cast_node(names_->make(out + "_cast"), v, out, half ? kOnnxFloat16 : kOnnxFloat));
    g_.values[out] = with_dtype(g_.value_info(v), to);
    type_[out] = DType::Float32;
    new_type_[out] = to;
    return casts_[key] = out;
  }

  void insert_casts() {
    for (const auto& n : g_.nodes) {
      for (size_t i = 0; i < n->inputs.size(); ++i) {
        const DType w = wanted(*n, i);
        if (w != DType::Undefined) n->inputs[i] = as_type(n->inputs[i], w);
      }
    }
    tally_.casts = static_cast<int64_t>(glue_.size());
    for (ir::Node& c : glue_) g_.add_node(std::move(c));
    glue_.clear();
  }

  void update_nodes_and_values() {
    for (const ir::Node* cn : converted_) {
      ir::Node* n = const_cast<ir::Node*>(cn);  // converted_ holds nodes of g_, which we own here
      if (n->op_type == "Cast" && n->attr_int("to", 0) == kOnnxFloat) n->attrs["to"] = ir::Attribute::of_int(kOnnxFloat16);
      if (n->op_type == "Constant") {
        const ir::Tensor f = *n->attr_tensor("value");
        Half h = to_float16(f);
        tally_.add(f, h);
        n->attrs["value"] = ir::Attribute::of_tensor(std::move(h.t));
      }
    }
    for (const auto& [v, t] : new_type_) {
      if (t == DType::Float16) g_.values[v] = with_dtype(g_.value_info(v), DType::Float16);
    }
  }

  ir::Model& model_;
  ir::Graph& g_;
  const Options& opt_;
  std::unique_ptr<FreshNames> names_;
  std::map<std::string, DType> type_;      // every value's type before the pass
  std::map<std::string, DType> new_type_;  // values whose type changes
  std::set<const ir::Node*> converted_;
  std::map<std::string, std::string> half_copy_;  // float32 constant -> its float16 copy
  std::map<std::pair<std::string, DType>, std::string> casts_;
  std::vector<ir::Node> glue_;  // Casts to add
  Tally tally_;
};

class ConvertFloat16 final : public Pass {
 public:
  explicit ConvertFloat16(Options opt) : opt_(std::move(opt)) {}
  std::string name() const override { return "convert_float16"; }
  json run(ir::Model& model, const PassContext&) override {
    if (opt_.activations) return ActivationConverter(model, opt_).run();
    return convert_weights(model.graph, opt_);
  }

 private:
  Options opt_;
};

}  // namespace

pipeline::Registration convert_float16_registration() {
  using pipeline::ParamType;
  pipeline::ComponentSpec spec;
  spec.name = "convert_float16";
  spec.description =
      "Store float32 weights as float16 (decoded by Cast), or with activations=true compute in float16";
  spec.repeatable = false;  // a second run finds no float32 weights
  spec.params = {
      {"activations", ParamType::Bool, false, false, {}, {}, {},
       "also compute in float16 (ops without a float16 kernel stay float32 between Casts)"},
      {"keep_io_types", ParamType::Bool, true, false, {}, {}, {},
       "activations mode: graph inputs and outputs stay float32"},
      {"exclude", ParamType::StringList, json::array(), false, {}, {}, {},
       "node names or op types that stay float32 (and the constants they read)"},
      {"min_size", ParamType::Int, 0, false, 0.0, {}, {},
       "weights mode: constants with fewer values stay float32"},
  };
  return pipeline::make_registration<Pass>(
      std::move(spec), [](const json& p, const pipeline::BuildContext&) {
        Options opt;
        opt.activations = p.at("activations").get<bool>();
        opt.keep_io_types = p.at("keep_io_types").get<bool>();
        opt.exclude = p.at("exclude").get<std::vector<std::string>>();
        opt.min_size = p.at("min_size").get<int64_t>();
        return std::make_unique<ConvertFloat16>(std::move(opt));
      });
}

}  // namespace hone::passes
