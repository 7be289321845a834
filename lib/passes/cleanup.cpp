// `cleanup`: the graph tidying the runner applies before the first pass and after every pass.
// It never changes what the model computes, and a second run finds nothing to do.
//   1. Constant nodes become initializers (value, value_float(s), value_int(s) attributes; the
//      reference kernel decodes them, so every form it supports is handled).
//   2. No-ops are removed: Identity; Dropout in inference (mask output unused, training_mode
//      absent or constant false); Cast to the input's own dtype; Reshape / Flatten / Squeeze /
//      Unsqueeze whose output shape equals the input shape (static, or the same symbols).
//      A no-op writing a graph output keeps that name: its producer writes it instead (unless
//      the no-op reads a graph input, an initializer or another graph output: then it stays).
//   3. Constant folding: an ONNX-domain node whose inputs are all initializers is evaluated once
//      by the reference interpreter (a one-node graph) and replaced by initializers; `Shape` and
//      `Size` of a value whose shape is statically known fold even when the value is not
//      constant, so Shape -> Gather -> Concat -> Reshape chains disappear. Folding stops where it
//      would grow the model:   fold only if  sum(bytes(outputs)) <= sum(bytes(constant inputs)),
//      which keeps weight-compression patterns (DequantizeLinear of int8 weights, Cast of
//      float16 weights, Gather from a k-means codebook, ConstantOfShape). Nondeterministic ops,
//      DequantizeLinear (QDQ storage of weights and int32 biases), nodes with subgraphs and
//      nodes writing a graph output are never folded.
//   Steps 1-3 repeat (with ONNX shape inference in between) until nothing changes.
//   4. Dead nodes (no output read by a node or the graph) are removed, then unused
//      initializers and value infos.
// It trusts Graph::values to describe the current graph (load and the runner's run_pass keep
// them current).
#include "ir/onnx_io.h"
#include "passes/pass.h"
#include "passes/passes.h"
#include "runtime/reference/interpreter.h"
#include "support/error.h"

#include <map>
#include <set>
#include <unordered_map>

namespace hone::passes {

namespace {

using nlohmann::json;

constexpr size_t kMaxListed = 20;  // names / reasons listed in the report
constexpr int kMaxRounds = 16;     // fold / no-op rounds (each round re-infers shapes)

struct Report {
  int64_t constant_nodes = 0;
  int64_t folded = 0;
  int64_t dead = 0;
  std::map<std::string, int64_t> removed;  // op type -> no-op nodes removed
  std::vector<std::string> removed_names;  // first kMaxListed removed nodes
  int64_t removed_total = 0;
  json kept = json::array();               // constant nodes left alone, with the reason
  std::set<std::string> kept_seen;

  void note_removed(const ir::Node& n) {
    ++removed_total;
    if (removed_names.size() >= kMaxListed) return;
    removed_names.push_back(n.name.empty() ? "(unnamed " + n.op_type + ")" : n.name);
  }
  void note_kept(const ir::Node& n, const std::string& reason) {
    const std::string key = n.name + "/" + n.op_type + "/" + (n.outputs.empty() ? "" : n.outputs[0]);
    if (kept.size() >= kMaxListed || !kept_seen.insert(key).second) return;
    kept.push_back({{"node", n.name}, {"op_type", n.op_type}, {"reason", reason}});
  }
  bool changed() const { return constant_nodes + folded + dead + removed_total > 0; }
};

// A value is constant when it is an initializer that a caller cannot override as an input.
// Omitted optional inputs ("") count as constant.
bool is_constant(const ir::Graph& g, const std::string& v) {
  return v.empty() || (g.is_initializer(v) && !g.is_graph_input(v));
}

bool is_used(const ir::Graph& g, const std::string& v) {
  return !v.empty() && (g.is_graph_output(v) || !g.consumers(v).empty());
}

ir::ValueInfo info_of(const ir::Tensor& t) {
  ir::ValueInfo vi;
  vi.dtype = t.dtype();
  std::vector<ir::Dim> dims;
  for (int64_t d : t.shape()) dims.push_back(ir::Dim{d, ""});
  vi.shape = std::move(dims);
  return vi;
}

ir::DType dtype_of_value(const ir::Graph& g, const std::string& v) {
  if (const ir::Tensor* t = g.initializer(v)) return t->dtype();
  const ir::ValueInfo* vi = g.value_info(v);
  return vi ? vi->dtype : ir::DType::Undefined;
}

// Shape of `v` with every dim known, from its initializer or value info.
std::optional<ir::Shape> static_shape(const ir::Graph& g, const std::string& v) {
  if (const ir::Tensor* t = g.initializer(v)) return t->shape();
  const ir::ValueInfo* vi = g.value_info(v);
  return vi ? vi->static_shape() : std::nullopt;
}

// True when both values certainly have the same shape: same rank and each dim equal (known
// and equal, or the same symbol).
bool same_shape(const ir::Graph& g, const std::string& a, const std::string& b) {
  const ir::ValueInfo* va = g.value_info(a);
  const ir::ValueInfo* vb = g.value_info(b);
  if (!va || !vb || !va->shape || !vb->shape || va->shape->size() != vb->shape->size()) return false;
  for (size_t i = 0; i < va->shape->size(); ++i) {
    const ir::Dim& x = (*va->shape)[i];
    const ir::Dim& y = (*vb->shape)[i];
    const bool equal = (x.known() && y.known() && x.value == y.value) ||
                       (!x.known() && !y.known() && !x.param.empty() && x.param == y.param);
    if (!equal) return false;
  }
  return true;
}

bool has_subgraph(const ir::Node& n) {
  for (const auto& [_, a] : n.attrs) {
    if (a.kind == ir::Attribute::Kind::Graph) return true;
  }
  return false;
}

bool nondeterministic(const ir::Node& n) {
  static const std::set<std::string> ops = {"RandomNormal", "RandomUniform", "RandomNormalLike",
                                            "RandomUniformLike", "Multinomial", "Bernoulli"};
  return ops.count(n.op_type) != 0;
}

// ------------------------------------------------------------------------------- Constant nodes

// Runs `n` alone on the reference interpreter with its constant inputs; the outputs in the
// order of n.outputs (empty names skipped). BadInput / Unsupported from the kernel propagate.
std::vector<ir::Tensor> evaluate(const ir::Graph& g, const ir::Node& n) {
  ir::Graph one;
  one.opset_imports = g.opset_imports;
  for (const auto& in : n.inputs) {
    if (!in.empty()) one.initializers[in] = *g.initializer(in);
  }
  for (const auto& out : n.outputs) {
    if (out.empty()) continue;
    one.outputs.push_back(out);
    if (const ir::ValueInfo* vi = g.value_info(out)) one.values[out] = *vi;
  }
  one.add_node(n);
  return runtime::ReferenceInterpreter(one).run({});
}

// Replaces node `n` by initializers holding `outs` (one per non-empty output).
void replace_by_initializers(ir::Graph& g, const ir::Node* n, std::vector<ir::Tensor> outs) {
  size_t k = 0;
  for (const auto& out : n->outputs) {
    if (out.empty()) continue;
    g.values[out] = info_of(outs[k]);
    g.initializers[out] = std::move(outs[k]);
    ++k;
  }
  g.remove_node(n);
}

// Shape / Size of a value whose shape is statically known (the value itself need not be
// constant). nullopt when the shape is not known.
std::optional<ir::Tensor> shape_of_static(const ir::Graph& g, const ir::Node& n) {
  const auto s = static_shape(g, n.input(0));
  if (!s) return std::nullopt;
  if (n.op_type == "Size") {
    int64_t numel = 1;
    for (int64_t d : *s) numel *= d;
    return ir::Tensor::scalar<int64_t>(numel);
  }
  const auto rank = static_cast<int64_t>(s->size());
  auto clamp = [&](int64_t i) { return std::clamp(i < 0 ? i + rank : i, int64_t{0}, rank); };
  const int64_t start = clamp(n.attr_int("start", 0));
  const int64_t end = clamp(n.attr_int("end", rank));
  std::vector<int64_t> dims;
  for (int64_t i = start; i < end; ++i) dims.push_back((*s)[static_cast<size_t>(i)]);
  return ir::Tensor::from_vector<int64_t>({static_cast<int64_t>(dims.size())}, dims);
}

size_t total_bytes(const std::vector<ir::Tensor>& ts) {
  size_t b = 0;
  for (const auto& t : ts) b += t.nbytes();
  return b;
}

// Why node `n` (all inputs constant) must not be folded, or "".
std::string fold_blocker(const ir::Graph& g, const ir::Node& n) {
  if (!n.domain.empty() && n.domain != "ai.onnx") return "not in the ONNX domain";
  if (nondeterministic(n)) return "nondeterministic";
  if (has_subgraph(n)) return "has a subgraph attribute";
  if (n.op_type == "Dropout") return "Dropout is handled as a no-op";
  // QDQ form: DequantizeLinear of a constant is how quantized weights and int32 biases are
  // stored (an int32 bias with per-channel scales and zero points is not smaller than its
  // float32 result, yet folding it would undo the quantization).
  if (n.op_type == "DequantizeLinear") return "DequantizeLinear of a constant is quantized storage (QDQ form)";
  for (const auto& out : n.outputs) {
    if (g.is_graph_output(out)) return "writes a graph output";
  }
  return "";
}

// Output bytes predicted from value infos, or nullopt when a shape or dtype is unknown.
std::optional<size_t> predicted_bytes(const ir::Graph& g, const ir::Node& n) {
  size_t b = 0;
  for (const auto& out : n.outputs) {
    if (out.empty()) continue;
    const ir::ValueInfo* vi = g.value_info(out);
    const auto s = vi ? vi->static_shape() : std::nullopt;
    if (!s || ir::dtype_size(vi->dtype) == 0) return std::nullopt;
    int64_t numel = 1;
    for (int64_t d : *s) numel *= d;
    b += static_cast<size_t>(numel) * ir::dtype_size(vi->dtype);
  }
  return b;
}

enum class Fold { Done, NotConstant, Refused };

// Folds `n` when possible. Refused: its inputs are constant but it must stay (that will not
// change within this cleanup run).
Fold try_fold(ir::Graph& g, const ir::Node* n, Report& r) {
  const bool is_constant_node = n->op_type == "Constant" && n->domain.empty();
  const bool shape_op = (n->op_type == "Shape" || n->op_type == "Size") && n->domain.empty();
  bool all_const = is_constant_node || !n->inputs.empty();
  std::vector<ir::Tensor> inputs;
  for (const auto& in : n->inputs) {
    if (!is_constant(g, in)) all_const = false;
    else if (!in.empty()) inputs.push_back(*g.initializer(in));
  }
  if (!all_const && !shape_op) return Fold::NotConstant;
  if (const std::string why = fold_blocker(g, *n); !why.empty()) {
    if (!all_const) return Fold::NotConstant;
    if (why != "Dropout is handled as a no-op") r.note_kept(*n, why);
    return Fold::Refused;
  }
  if (!all_const) {  // Shape / Size of a non-constant value
    auto t = shape_of_static(g, *n);
    if (!t) return Fold::NotConstant;
    std::vector<ir::Tensor> outs;
    outs.push_back(std::move(*t));
    replace_by_initializers(g, n, std::move(outs));
    ++r.folded;
    return Fold::Done;
  }
  const size_t in_bytes = total_bytes(inputs);
  auto grows = [&](size_t out_bytes) { return !is_constant_node && out_bytes > in_bytes; };
  auto growth = [&](size_t out_bytes) {
    return "folding would grow the model (" + std::to_string(in_bytes) + " -> " + std::to_string(out_bytes) + " bytes)";
  };
  if (const auto pb = predicted_bytes(g, *n); pb && grows(*pb)) {
    r.note_kept(*n, growth(*pb));
    return Fold::Refused;
  }
  std::vector<ir::Tensor> outs;
  try {
    outs = evaluate(g, *n);
  } catch (const Error& e) {
    r.note_kept(*n, std::string("cannot be evaluated: ") + e.detail());
    return Fold::Refused;
  } catch (const std::exception& e) {
    r.note_kept(*n, std::string("cannot be evaluated: ") + e.what());
    return Fold::Refused;
  }
  if (const size_t ob = total_bytes(outs); grows(ob)) {
    r.note_kept(*n, growth(ob));
    return Fold::Refused;
  }
  if (is_constant_node) ++r.constant_nodes;
  else ++r.folded;
  replace_by_initializers(g, n, std::move(outs));
  return Fold::Done;
}

// One sweep over the nodes in order (so a chain of constant nodes folds in one sweep); true
// when something was folded. Nodes that refused are not evaluated again in this cleanup run.
bool fold_sweep(ir::Graph& g, Report& r, std::set<const ir::Node*>& refused) {
  bool any = false;
  for (size_t i = 0; i < g.nodes.size();) {
    const ir::Node* n = g.nodes[i].get();
    const Fold f = refused.count(n) ? Fold::Refused : try_fold(g, n, r);
    if (f == Fold::Done) {
      any = true;  // node i was removed; the next node moved into slot i
      continue;
    }
    if (f == Fold::Refused) refused.insert(n);
    ++i;
  }
  return any;
}

// --------------------------------------------------------------------------------------- No-ops

bool constant_false(const ir::Graph& g, const std::string& v) {
  if (v.empty()) return true;
  if (!is_constant(g, v)) return false;
  const ir::Tensor* t = g.initializer(v);
  return t->numel() == 1 && t->dtype() != ir::DType::String && t->get_as_double(0) == 0.0;
}

// The kind of no-op `n` is ("Identity", "Dropout", ...), or "" when it is not one.
std::string noop_kind(const ir::Graph& g, const ir::Node& n) {
  if (!n.domain.empty() && n.domain != "ai.onnx") return "";
  if (n.inputs.empty() || n.input(0).empty() || n.outputs.empty() || n.outputs[0].empty()) return "";
  const std::string& in = n.input(0);
  const std::string& out = n.outputs[0];
  if (n.op_type == "Identity") return n.outputs.size() == 1 ? "Identity" : "";
  if (n.op_type == "Dropout") {
    if (n.outputs.size() > 1 && is_used(g, n.outputs[1])) return "";
    return constant_false(g, n.input(2)) ? "Dropout" : "";
  }
  if (n.op_type == "Cast") {
    const ir::DType from = dtype_of_value(g, in);
    return from != ir::DType::Undefined && static_cast<int64_t>(from) == n.attr_int("to", -1) ? "Cast" : "";
  }
  if (n.op_type == "Reshape" || n.op_type == "Flatten" || n.op_type == "Squeeze" || n.op_type == "Unsqueeze") {
    if (dtype_of_value(g, in) != dtype_of_value(g, out)) return "";
    if (g.is_initializer(in)) {
      const ir::ValueInfo vi = info_of(*g.initializer(in));
      const ir::ValueInfo* vo = g.value_info(out);
      return vo && vo->static_shape() && vi.static_shape() == vo->static_shape() ? n.op_type : "";
    }
    return same_shape(g, in, out) ? n.op_type : "";
  }
  return "";
}

// Bypasses no-op `n` (which reads `in` and writes `out`); false when it must stay.
bool bypass(ir::Graph& g, const ir::Node* n) {
  const std::string in = n->input(0);
  const std::string out = n->outputs[0];
  if (g.is_graph_output(out)) {
    // Keep the graph output's name: the producer of `in` writes `out` instead.
    ir::Node* p = g.producer(in);
    if (!p || g.is_graph_input(in) || g.is_initializer(in) || g.is_graph_output(in)) return false;
    g.remove_node(n);
    for (auto& o : p->outputs) {
      if (o == in) o = out;
    }
    g.replace_all_uses(in, out);
    g.values.erase(in);
    return true;
  }
  g.remove_node(n);
  g.replace_all_uses(out, in);
  g.values.erase(out);
  return true;
}

bool noop_sweep(ir::Graph& g, Report& r) {
  bool any = false;
  for (size_t i = 0; i < g.nodes.size();) {
    const ir::Node* n = g.nodes[i].get();
    const std::string kind = noop_kind(g, *n);
    if (!kind.empty()) {
      const ir::Node copy = *n;
      if (bypass(g, n)) {
        ++r.removed[kind];
        r.note_removed(copy);
        any = true;
        continue;
      }
    }
    ++i;
  }
  return any;
}

// ----------------------------------------------------------------------------------- Dead nodes

int64_t remove_dead(ir::Graph& g, Report& r) {
  std::unordered_map<std::string, int64_t> uses;
  for (const auto& o : g.outputs) ++uses[o];
  for (const auto& n : g.nodes) {
    for (const auto& in : n->inputs) {
      if (!in.empty()) ++uses[in];
    }
  }
  int64_t removed = 0;
  for (size_t i = g.nodes.size(); i-- > 0;) {
    const ir::Node* n = g.nodes[i].get();
    bool dead = true;
    for (const auto& o : n->outputs) {
      if (!o.empty() && uses[o] > 0) dead = false;
    }
    if (!dead) continue;
    for (const auto& in : n->inputs) {
      if (!in.empty()) --uses[in];
    }
    for (const auto& o : n->outputs) g.values.erase(o);
    r.note_removed(*n);
    g.remove_node(n);
    ++removed;
  }
  return removed;
}

json report_json(const Report& r) {
  json removed = json::object();
  for (const auto& [op, count] : r.removed) removed[op] = count;
  return {{"constant_nodes", r.constant_nodes},
          {"folded_constants", r.folded},
          {"removed", removed},
          {"dead_nodes", r.dead},
          {"removed_nodes", r.removed_names},
          {"removed_nodes_total", r.removed_total},
          {"kept_constant_nodes", r.kept}};
}

class Cleanup final : public Pass {
 public:
  std::string name() const override { return "cleanup"; }
  json run(ir::Model& model, const PassContext&) override { return cleanup(model); }
};

}  // namespace

json cleanup(ir::Model& model) {
  ir::Graph& g = model.graph;
  Report r;
  std::set<const ir::Node*> refused;  // nodes are never moved in memory, only erased
  for (int round = 0; round < kMaxRounds; ++round) {
    const bool removed = noop_sweep(g, r);
    const bool folded = fold_sweep(g, r, refused);
    if (!removed && !folded) break;
    // New constants can make more shapes static (a folded Reshape target, say).
    ir::infer_shapes(model);
  }
  r.dead = remove_dead(g, r);
  g.remove_unused();
  return report_json(r);
}

pipeline::Registration cleanup_registration() {
  pipeline::ComponentSpec spec;
  spec.name = "cleanup";
  spec.description =
      "Constant folding (Constant nodes to initializers; nodes with only constant inputs evaluated "
      "unless that grows the model), removal of Identity / inference Dropout / no-op Reshape, "
      "Flatten, Squeeze, Unsqueeze / Cast to the same type, dead-node elimination";
  spec.repeatable = true;  // idempotent; the runner also applies it around every pass
  return pipeline::make_registration<Pass>(std::move(spec), [](const json&, const pipeline::BuildContext&) {
    return std::make_unique<Cleanup>();
  });
}

}  // namespace hone::passes
