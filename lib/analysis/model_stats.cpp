#include "analysis/model_stats.h"

#include "runtime/reference/kernel_util.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <string_view>
#include <type_traits>

namespace hone::analysis {
namespace {

namespace ref = runtime::reference;
using ir::Shape;

// The batch size assumed for a leading dim that is symbolic ("N") or unknown.
constexpr int64_t kAssumedBatch = 1;

// ------------------------------------------------------------------ overflow-checked counting
// Counts come from untrusted dims: an overflow makes the count unknown instead of wrapping.
std::optional<int64_t> checked_mul(std::optional<int64_t> a, std::optional<int64_t> b) {
  int64_t r = 0;
  if (!a || !b || __builtin_mul_overflow(*a, *b, &r)) return std::nullopt;
  return r;
}

std::optional<int64_t> checked_add(std::optional<int64_t> a, std::optional<int64_t> b) {
  int64_t r = 0;
  if (!a || !b || __builtin_add_overflow(*a, *b, &r)) return std::nullopt;
  return r;
}

// Product of dims [begin, end) of `s`.
std::optional<int64_t> product(const Shape& s, size_t begin = 0, size_t end = SIZE_MAX) {
  std::optional<int64_t> p = 1;
  for (size_t i = begin; i < std::min(end, s.size()); ++i) p = checked_mul(p, s[i]);
  return p;
}

// ------------------------------------------------------------------------------ shapes
// Static shapes of values: initializers from their tensors, everything else from Graph::values
// with an unknown leading dim taken as kAssumedBatch (and that assumption remembered).
class ShapeResolver {
 public:
  explicit ShapeResolver(const ir::Graph& g) : graph_(g) {}

  ir::ValueInfo info(const std::string& name) const {
    const ir::ValueInfo* vi = graph_.value_info(name);
    return vi ? *vi : ir::ValueInfo{};
  }

  std::optional<Shape> shape(const std::string& name) {
    if (name.empty()) return std::nullopt;
    if (const ir::Tensor* t = graph_.initializer(name)) return t->shape();
    const ir::ValueInfo vi = info(name);
    if (!vi.shape) return std::nullopt;
    Shape s;
    for (size_t i = 0; i < vi.shape->size(); ++i) {
      const ir::Dim& d = (*vi.shape)[i];
      if (d.known()) {
        s.push_back(d.value);
      } else if (i == 0) {
        s.push_back(kAssumedBatch);
        batch_assumed_ = true;
      } else {
        return std::nullopt;
      }
    }
    return s;
  }

  // bytes = numel * dtype size; unknown for unsized dtypes (undefined, string).
  std::optional<int64_t> bytes(const std::string& name) {
    const ir::DType dt = info(name).dtype;
    const auto s = shape(name);
    if (!s || ir::dtype_size(dt) == 0) return std::nullopt;
    return checked_mul(product(*s), static_cast<int64_t>(ir::dtype_size(dt)));
  }

  ValueStats value_stats(const std::string& name) { return {name, info(name), bytes(name)}; }

  bool batch_assumed() const { return batch_assumed_; }

 private:
  const ir::Graph& graph_;
  bool batch_assumed_ = false;
};

// -------------------------------------------------------------------------------- MACs
// One multiply-add = 1 MAC. Bias additions, activations and the requantisation of the
// quantized ops are not counted. Each formula returns nullopt when a shape it needs is unknown.
enum class MacFormula { Conv, ConvTranspose, Gemm, MatMul };

struct MacRule {
  std::string_view op_type;
  MacFormula formula;
  size_t a;  // data input (X or A)
  size_t b;  // weight input (W or B)
};

// The single list of ops with a MAC formula (default ONNX domain only); every other op is 0.
constexpr MacRule kMacRules[] = {
    {"Conv", MacFormula::Conv, 0, 1},
    {"ConvInteger", MacFormula::Conv, 0, 1},
    {"QLinearConv", MacFormula::Conv, 0, 3},
    {"ConvTranspose", MacFormula::ConvTranspose, 0, 1},
    {"Gemm", MacFormula::Gemm, 0, 1},
    {"MatMul", MacFormula::MatMul, 0, 1},
    {"MatMulInteger", MacFormula::MatMul, 0, 1},
    {"QLinearMatMul", MacFormula::MatMul, 0, 3},
};

bool is_default_domain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

const MacRule* find_mac_rule(const ir::Node& node) {
  if (!is_default_domain(node.domain)) return nullptr;
  for (const MacRule& r : kMacRules) {
    if (r.op_type == node.op_type) return &r;
  }
  return nullptr;
}

// X [N, Cin, D1..Dk], W [Cout, Cin/groups, K1..Kk]:
//   MACs = N * Cout * prod(out spatial) * (Cin/groups) * prod(K), out spatial by window_geometry.
std::optional<int64_t> conv_macs(const ir::Node& node, const Shape& x, const Shape& w) {
  if (x.size() < 3 || w.size() != x.size()) return std::nullopt;
  const std::vector<int64_t> in_spatial(x.begin() + 2, x.end());
  const std::vector<int64_t> kernel(w.begin() + 2, w.end());
  ref::WindowGeometry geo;
  try {
    geo = ref::window_geometry(node, in_spatial, kernel);
  } catch (const Error&) {
    return std::nullopt;  // attributes or sizes window_geometry rejects: MACs unknown
  }
  return checked_mul(checked_mul(checked_mul(x[0], w[0]), product(geo.out_spatial)), product(w, 1));
}

// X [N, Cin, D1..Dk], W [Cin, Cout/groups, K1..Kk]:
//   MACs = N * Cin * prod(D) * (Cout/groups) * prod(K) -- every input element meets the kernel.
std::optional<int64_t> conv_transpose_macs(const Shape& x, const Shape& w) {
  if (x.size() < 3 || w.size() != x.size()) return std::nullopt;
  return checked_mul(product(x), product(w, 1));
}

// A [M, K] (or [K, M] with transA), B [K, N] (or [N, K] with transB): MACs = M * N * K.
std::optional<int64_t> gemm_macs(const ir::Node& node, const Shape& a, const Shape& b) {
  if (a.size() != 2 || b.size() != 2) return std::nullopt;
  int64_t trans_a = 0, trans_b = 0;
  try {
    trans_a = node.attr_int("transA", 0);
    trans_b = node.attr_int("transB", 0);
  } catch (const Error&) {
    return std::nullopt;
  }
  const int64_t m = trans_a ? a[1] : a[0];
  const int64_t k = trans_a ? a[0] : a[1];
  const int64_t n = trans_b ? b[0] : b[1];
  return checked_mul(checked_mul(m, n), k);
}

// numpy matmul: A [..., M, K], B [..., K, N] (a 1-D A is [1, K], a 1-D B is [K, 1]):
//   MACs = prod(broadcast(batch dims of A, batch dims of B)) * M * N * K.
std::optional<int64_t> matmul_macs(const Shape& a, const Shape& b) {
  if (a.empty() || b.empty()) return std::nullopt;
  const Shape a_batch(a.begin(), a.end() - std::min<ptrdiff_t>(2, std::ssize(a)));
  const Shape b_batch(b.begin(), b.end() - std::min<ptrdiff_t>(2, std::ssize(b)));
  Shape batch;
  try {
    batch = ref::broadcast_shapes(a_batch, b_batch);
  } catch (const Error&) {
    return std::nullopt;
  }
  const int64_t m = a.size() >= 2 ? a[a.size() - 2] : 1;
  const int64_t k = a.back();
  const int64_t n = b.size() >= 2 ? b.back() : 1;
  return checked_mul(checked_mul(checked_mul(product(batch), m), n), k);
}

// MACs of one node: 0 for ops without a formula, nullopt when a needed shape is unknown.
std::optional<int64_t> node_macs(const ir::Node& node, ShapeResolver& shapes) {
  const MacRule* rule = find_mac_rule(node);
  if (!rule) return 0;
  const auto a = shapes.shape(node.input(rule->a));
  const auto b = shapes.shape(node.input(rule->b));
  if (!a || !b) return std::nullopt;
  switch (rule->formula) {
    case MacFormula::Conv: return conv_macs(node, *a, *b);
    case MacFormula::ConvTranspose: return conv_transpose_macs(*a, *b);
    case MacFormula::Gemm: return gemm_macs(node, *a, *b);
    case MacFormula::MatMul: return matmul_macs(*a, *b);
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------- weights
int64_t count_zeros(const ir::Tensor& t) {
  return ref::visit_dtype(t.dtype(), [&]<typename T>() -> int64_t {
    const auto s = t.span<T>();
    if constexpr (std::is_same_v<T, ir::Float16> || std::is_same_v<T, ir::BFloat16>) {
      // +0 and -0: every bit but the sign is clear.
      return std::count_if(s.begin(), s.end(), [](T v) { return (v.bits & 0x7fff) == 0; });
    } else {
      return std::count(s.begin(), s.end(), T{0});
    }
  });
}

void add_weight_totals(const ir::Graph& g, ModelStats& st) {
  for (const auto& [name, t] : g.initializers) {
    st.parameters += t.numel();
    st.weight_bytes[t.dtype()] += static_cast<int64_t>(t.nbytes());
    st.weight_bytes_total += static_cast<int64_t>(t.nbytes());
    if (ir::dtype_is_float(t.dtype()) || ir::dtype_is_integer(t.dtype())) {
      st.counted_weights += t.numel();
      st.zero_weights += count_zeros(t);
    }
  }
}

// ------------------------------------------------------------------------------- nodes
std::string qualified_op_type(const ir::Node& node) {
  return is_default_domain(node.domain) ? node.op_type : node.domain + "." + node.op_type;
}

std::string node_display_name(const ir::Node& node, size_t index) {
  return node.name.empty() ? fmt::format("#{} ({})", index, node.op_type) : node.name;
}

// Per-node rows; a shared initializer's elements go to the first node that reads it.
void add_node_rows(const ir::Graph& g, ShapeResolver& shapes, ModelStats& st) {
  std::set<std::string> attributed;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& node = *g.nodes[i];
    NodeStats row;
    row.name = node_display_name(node, i);
    row.op_type = qualified_op_type(node);
    for (const std::string& out : node.outputs) {
      if (!out.empty()) row.outputs.push_back(shapes.value_stats(out));
    }
    for (const std::string& in : node.inputs) {
      const ir::Tensor* t = g.initializer(in);
      if (t && attributed.insert(in).second) row.params += t->numel();
    }
    const std::optional<int64_t> macs = node_macs(node, shapes);
    row.macs_known = macs.has_value();
    row.macs = macs.value_or(0);
    const auto total = checked_add(st.macs, row.macs);
    if (!row.macs_known || !total) {
      row.macs_known = false;
      row.macs = 0;
      st.macs_unknown_nodes.push_back(row.name);
    } else {
      st.macs = *total;
    }
    st.nodes.push_back(std::move(row));
  }
}

// Histogram by count descending, then op type; MACs summed per op type.
std::vector<OpTypeCount> op_type_histogram(const std::vector<NodeStats>& nodes) {
  std::map<std::string, OpTypeCount> by_type;
  for (const NodeStats& n : nodes) {
    OpTypeCount& c = by_type[n.op_type];
    c.op_type = n.op_type;
    ++c.count;
    c.macs += n.macs;  // cannot overflow: the known MACs summed to ModelStats::macs without
  }
  std::vector<OpTypeCount> out;
  for (auto& [name, c] : by_type) out.push_back(std::move(c));
  std::stable_sort(out.begin(), out.end(),
                   [](const OpTypeCount& x, const OpTypeCount& y) { return x.count > y.count; });
  return out;
}

// --------------------------------------------------------------------- activation memory
// Steps are node indices. A value is live from the step that produces it (graph inputs: step 0)
// to the last step that reads it (graph outputs: the last step).
struct Lifetime {
  size_t first = 0;
  size_t last = 0;
};

std::map<std::string, Lifetime> activation_lifetimes(const ir::Graph& g) {
  std::map<std::string, Lifetime> life;
  for (const std::string& in : g.inputs) life.emplace(in, Lifetime{0, 0});
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (const std::string& in : g.nodes[i]->inputs) {
      if (in.empty() || g.is_initializer(in)) continue;
      // A value no one produced (a malformed graph) is taken as live from the start.
      Lifetime& l = life.emplace(in, Lifetime{0, i}).first->second;
      l.last = std::max(l.last, i);
    }
    for (const std::string& out : g.nodes[i]->outputs) {
      if (!out.empty() && !g.is_initializer(out)) life.emplace(out, Lifetime{i, i});
    }
  }
  const size_t end = g.nodes.empty() ? 0 : g.nodes.size() - 1;
  for (const std::string& out : g.outputs) {
    if (!g.is_initializer(out)) life.emplace(out, Lifetime{0, 0}).first->second.last = end;
  }
  return life;
}

// peak = max over steps s of sum(bytes(v) for live v with first <= s <= last), by a sweep over
// per-step deltas. An int64 overflow (only a hostile file gets there) makes the peak unknown.
void add_peak_activation(const ir::Graph& g, ShapeResolver& shapes, ModelStats& st) {
  bool ok = true;
  auto add = [&ok](int64_t& acc, int64_t v) { ok = ok && !__builtin_add_overflow(acc, v, &acc); };
  const size_t steps = std::max<size_t>(g.nodes.size(), 1);
  std::vector<int64_t> delta(steps + 1, 0);
  for (const auto& [name, l] : activation_lifetimes(g)) {
    const std::optional<int64_t> b = shapes.bytes(name);
    if (!b) {
      st.activation_size_unknown.push_back(name);
      continue;
    }
    add(delta[l.first], *b);
    add(delta[l.last + 1], -*b);
  }
  int64_t live = 0, peak = 0;
  for (size_t s = 0; s < steps; ++s) {
    add(live, delta[s]);
    if (live > peak || s == 0) {
      peak = live;
      st.peak_activation_node = s < st.nodes.size() ? st.nodes[s].name : "";
    }
  }
  if (ok) st.peak_activation_bytes = peak;
}

std::vector<ValueStats> value_rows(const std::vector<std::string>& names, ShapeResolver& shapes) {
  std::vector<ValueStats> rows;
  for (const std::string& n : names) rows.push_back(shapes.value_stats(n));
  return rows;
}

}  // namespace

std::vector<std::string_view> mac_op_types() {
  std::vector<std::string_view> ops;
  for (const MacRule& r : kMacRules) ops.push_back(r.op_type);
  return ops;
}

ModelStats compute_model_stats(const ir::Model& model) {
  const ir::Graph& g = model.graph;
  ModelStats st;
  st.graph_name = g.name;
  st.producer = model.producer_version.empty()
                    ? model.producer_name
                    : model.producer_name + " " + model.producer_version;
  st.ir_version = model.ir_version;
  st.opset_imports = g.opset_imports;
  st.node_count = static_cast<int64_t>(g.nodes.size());

  ShapeResolver shapes(g);
  st.inputs = value_rows(g.inputs, shapes);
  st.outputs = value_rows(g.outputs, shapes);
  add_weight_totals(g, st);
  add_node_rows(g, shapes, st);
  st.op_types = op_type_histogram(st.nodes);
  add_peak_activation(g, shapes, st);
  if (shapes.batch_assumed()) st.assumed_batch = kAssumedBatch;
  return st;
}

}  // namespace hone::analysis
