#include "passes/qdq_fusion.h"

#include "runtime/reference/kernels/quantized_common.h"

#include <cmath>
#include <limits>
#include <optional>

namespace hone::passes {

namespace {

namespace quant = runtime::reference::quant;

bool is_op(const ir::Node* n, const char* op) {
  return n && (n->domain.empty() || n->domain == "ai.onnx") && n->op_type == op;
}

// The one node reading `value`, when it is read exactly once and is not a graph output.
ir::Node* sole_reader(const ir::Graph& g, const std::string& value) {
  if (g.is_graph_output(value)) return nullptr;
  const auto readers = g.consumers(value);
  if (readers.size() != 1) return nullptr;
  int uses = 0;
  for (const auto& in : readers[0]->inputs) uses += in == value;
  return uses == 1 ? readers[0] : nullptr;
}

std::vector<float> floats(const ir::Tensor& t) {
  return {t.data<float>(), t.data<float>() + t.numel()};
}

// A DequantizeLinear feeding `value`: its quantized input, scale and zero point (constants).
struct Dq {
  ir::Node* node = nullptr;
  std::string q;                     // the quantized value
  const ir::Tensor* scale = nullptr;  // float32
  const ir::Tensor* zp = nullptr;     // nullptr when omitted (0)
  int64_t axis = 1;
};

std::optional<Dq> dequantize_of(const ir::Graph& g, const std::string& value) {
  ir::Node* n = g.producer(value);
  if (!is_op(n, "DequantizeLinear") || n->inputs.size() < 2) return std::nullopt;
  Dq d;
  d.node = n;
  d.q = n->inputs[0];
  d.scale = g.initializer(n->inputs[1]);
  d.zp = n->inputs.size() > 2 && !n->inputs[2].empty() ? g.initializer(n->inputs[2]) : nullptr;
  if (!d.scale || d.scale->dtype() != ir::DType::Float32) return std::nullopt;
  if (n->inputs.size() > 2 && !n->inputs[2].empty() && !d.zp) return std::nullopt;
  d.axis = n->attr_int("axis", 1);
  for (float s : floats(*d.scale)) {
    if (!std::isfinite(s) || s <= 0) return std::nullopt;
  }
  return d;
}

ir::DType dtype_of(const ir::Graph& g, const std::string& v) {
  if (const ir::Tensor* t = g.initializer(v)) return t->dtype();
  const ir::ValueInfo* vi = g.value_info(v);
  return vi ? vi->dtype : ir::DType::Undefined;
}

bool is_8bit(ir::DType t) { return t == ir::DType::Int8 || t == ir::DType::UInt8; }

bool all_zero(const ir::Tensor* t) {
  if (!t) return true;
  const auto* b = static_cast<const uint8_t*>(t->raw());
  for (size_t i = 0; i < t->nbytes(); ++i) {
    if (b[i] != 0) return false;
  }
  return true;
}

int32_t zero_point_value(const ir::Tensor* zp) {
  if (!zp) return 0;
  return zp->dtype() == ir::DType::Int8 ? zp->data<int8_t>()[0] : zp->data<uint8_t>()[0];
}

// The activation between the op and QuantizeLinear, when saturation at y's range implies it.
bool activation_implied(const ir::Graph& g, const ir::Node& act, float y_scale, int32_t y_zp, ir::DType y_type) {
  const quant::QRange r = quant::qrange(y_type);
  auto q = [&](float v) { return quant::quantize_value(static_cast<double>(v / y_scale), y_zp, {INT32_MIN, INT32_MAX}); };
  if (is_op(&act, "Relu")) return y_zp == r.lo;
  if (!is_op(&act, "Clip")) return false;
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  if (act.has_attr("min") || act.has_attr("max")) {
    lo = act.attr_float("min", lo);
    hi = act.attr_float("max", hi);
  }
  for (size_t i = 1; i < act.inputs.size() && i < 3; ++i) {
    if (act.inputs[i].empty()) continue;
    const ir::Tensor* t = g.initializer(act.inputs[i]);
    if (!t || t->dtype() != ir::DType::Float32 || t->numel() != 1) return false;
    (i == 1 ? lo : hi) = t->data<float>()[0];
  }
  return (std::isinf(lo) || q(lo) <= r.lo) && (std::isinf(hi) || q(hi) >= r.hi);
}

// Op -> [activation] -> QuantizeLinear: the QuantizeLinear node, or nullptr.
ir::Node* quantize_after(const ir::Graph& g, const ir::Node& op) {
  ir::Node* next = sole_reader(g, op.outputs[0]);
  ir::Node* act = nullptr;
  if (is_op(next, "Relu") || is_op(next, "Clip")) {
    act = next;
    next = sole_reader(g, act->outputs[0]);
  }
  if (!is_op(next, "QuantizeLinear") || next->inputs.size() < 2 || next->outputs.size() != 1) return nullptr;
  const ir::Tensor* s = g.initializer(next->inputs[1]);
  const ir::Tensor* z = next->inputs.size() > 2 && !next->inputs[2].empty() ? g.initializer(next->inputs[2]) : nullptr;
  if (!s || s->dtype() != ir::DType::Float32 || s->numel() != 1 || !(s->data<float>()[0] > 0) ||
      !std::isfinite(s->data<float>()[0])) {
    return nullptr;
  }
  if (next->inputs.size() > 2 && !next->inputs[2].empty() && (!z || z->numel() != 1 || !is_8bit(z->dtype()))) return nullptr;
  if (next->has_attr("saturate") || next->has_attr("output_dtype")) return nullptr;
  const ir::DType y_type = z ? z->dtype() : ir::DType::UInt8;
  if (act && !activation_implied(g, *act, s->data<float>()[0], zero_point_value(z), y_type)) return nullptr;
  return next;
}

struct Operands {
  Dq x, w;
  std::optional<Dq> b;
  ir::Node* quantize = nullptr;
};

// Checks the shared conditions; m = output channels, w_axis = the weight's output axis.
std::optional<Operands> match_operands(const ir::Graph& g, const ir::Node& op, int64_t m, int64_t w_axis) {
  Operands o;
  auto x = dequantize_of(g, op.inputs[0]);
  auto w = dequantize_of(g, op.inputs[1]);
  if (!x || !w) return std::nullopt;
  if (x->scale->numel() != 1 || (x->zp && x->zp->numel() != 1) || !is_8bit(dtype_of(g, x->q))) return std::nullopt;
  const ir::Tensor* wq = g.initializer(w->q);
  if (!wq || wq->dtype() != ir::DType::Int8 || !all_zero(w->zp)) return std::nullopt;
  const int64_t ws = w->scale->numel();
  if (ws != 1 && !(ws == m && (w->axis == w_axis || w->axis == w_axis - static_cast<int64_t>(wq->shape().size())))) {
    return std::nullopt;
  }
  if (ws != 1 && w->scale->shape().size() != 1) return std::nullopt;
  o.x = *x;
  o.w = *w;
  if (op.inputs.size() > 2 && !op.inputs[2].empty()) {
    auto b = dequantize_of(g, op.inputs[2]);
    if (!b) return std::nullopt;
    const ir::Tensor* bq = g.initializer(b->q);
    if (!bq || bq->dtype() != ir::DType::Int32 || bq->numel() != m || bq->shape().size() != 1 || !all_zero(b->zp)) {
      return std::nullopt;
    }
    // The bias scale QLinearConv implies: s_x * s_w[m] as float32.
    const float sx = x->scale->data<float>()[0];
    const auto sb = floats(*b->scale), sw = floats(*w->scale);
    for (int64_t c = 0; c < m; ++c) {
      const float want = sx * sw[sw.size() == 1 ? 0 : static_cast<size_t>(c)];
      if (sb[sb.size() == 1 ? 0 : static_cast<size_t>(c)] != want) return std::nullopt;
    }
    o.b = b;
  }
  o.quantize = quantize_after(g, op);
  if (!o.quantize) return std::nullopt;
  return o;
}

std::string zero_point_for(ir::Graph& g, const ir::Node& dq_or_q, size_t index, ir::DType dtype) {
  if (dq_or_q.inputs.size() > index && !dq_or_q.inputs[index].empty()) return dq_or_q.inputs[index];
  return dtype == ir::DType::Int8 ? g.add_initializer("zero_point", ir::Tensor::scalar<int8_t>(0))
                                  : g.add_initializer("zero_point", ir::Tensor::scalar<uint8_t>(0));
}

// The QLinearConv node for `op` reading x_q (or `x_override`) with weight `w_name` and writing
// `y_name`.
ir::Node qlinear_conv(ir::Graph& g, const ir::Node& op, const Operands& o, const std::string& x, const std::string& w_name,
                      const std::string& w_scale, const std::string& y) {
  const ir::Node& q = *o.quantize;
  const ir::DType x_type = dtype_of(g, o.x.q);
  const ir::DType y_type = q.inputs.size() > 2 && !q.inputs[2].empty() ? dtype_of(g, q.inputs[2]) : ir::DType::UInt8;
  const ir::Tensor& ws = *g.initializer(w_scale);
  const std::string w_zp = g.add_initializer(
      "w_zero_point", ws.numel() == 1 ? ir::Tensor::scalar<int8_t>(0) : ir::Tensor::zeros(ir::DType::Int8, {ws.numel()}));
  ir::Node n;
  n.op_type = "QLinearConv";
  n.name = op.name.empty() ? g.unique_name("qlinear_conv") : op.name;
  n.inputs = {x,           o.x.node->inputs[1], zero_point_for(g, *o.x.node, 2, x_type), w_name, w_scale, w_zp,
              q.inputs[1], zero_point_for(g, q, 2, y_type)};
  if (o.b) n.inputs.push_back(o.b->q);
  n.outputs = {y};
  return n;
}

void remove_chain(ir::Graph& g, const ir::Node& op, const ir::Node& quantize) {
  std::vector<const ir::Node*> chain{&op};
  if (ir::Node* next = sole_reader(g, op.outputs[0]); next && next != &quantize) chain.push_back(next);
  chain.push_back(&quantize);
  for (const ir::Node* n : chain) g.remove_node(n);
}

bool fuse_conv(ir::Graph& g, ir::Node& conv) {
  if (conv.inputs.size() < 2 || conv.outputs.size() != 1) return false;
  const ir::Tensor* probe = nullptr;
  if (auto w = dequantize_of(g, conv.inputs[1])) probe = g.initializer(w->q);
  if (!probe || probe->shape().size() < 3) return false;
  auto o = match_operands(g, conv, probe->shape()[0], 0);
  if (!o) return false;
  ir::Node n = qlinear_conv(g, conv, *o, o->x.q, o->w.q, o->w.node->inputs[1], o->quantize->outputs[0]);
  for (const char* a : {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}) {
    if (conv.has_attr(a)) n.attrs[a] = conv.attrs.at(a);
  }
  const ir::Node* q = o->quantize;
  g.insert_node_before(q, std::move(n));
  remove_chain(g, conv, *q);
  return true;
}

// Gemm (transA 0, alpha 1, beta 1) / MatMul of a rank-2 activation and a constant weight:
// Reshape [N, K] -> [N, K, 1, 1], a 1x1 QLinearConv, Reshape back to [N, M].
bool fuse_dense(ir::Graph& g, ir::Node& op) {
  const bool gemm = is_op(&op, "Gemm");
  if (op.inputs.size() < 2 || op.outputs.size() != 1) return false;
  if (gemm && (op.attr_int("transA", 0) != 0 || op.attr_float("alpha", 1.0f) != 1.0f ||
               (op.inputs.size() > 2 && !op.inputs[2].empty() && op.attr_float("beta", 1.0f) != 1.0f))) {
    return false;
  }
  if (!gemm && op.inputs.size() != 2) return false;
  const ir::ValueInfo* a = g.value_info(op.inputs[0]);
  if (!a || !a->shape || a->shape->size() != 2) return false;
  auto wdq = dequantize_of(g, op.inputs[1]);
  const ir::Tensor* wq = wdq ? g.initializer(wdq->q) : nullptr;
  if (!wq || wq->shape().size() != 2) return false;
  const bool trans_b = gemm && op.attr_int("transB", 0) != 0;
  const int64_t K = wq->shape()[trans_b ? 1 : 0], M = wq->shape()[trans_b ? 0 : 1];
  auto o = match_operands(g, op, M, trans_b ? 0 : 1);
  if (!o) return false;
  // W as [M, K, 1, 1].
  ir::Tensor w = ir::Tensor::zeros(ir::DType::Int8, {M, K, 1, 1});
  const int8_t* src = wq->data<int8_t>();
  int8_t* dst = w.data<int8_t>();
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t k = 0; k < K; ++k) dst[m * K + k] = trans_b ? src[m * K + k] : src[k * M + m];
  }
  const std::string w_name = g.add_initializer(wdq->q + "_conv", std::move(w));
  const std::string w_scale = g.add_initializer(wdq->node->inputs[1] + "_conv", g.initializer(wdq->node->inputs[1])->clone());
  const ir::Node* q = o->quantize;
  const std::string x4 = g.unique_name(o->x.q + "_nchw");
  const std::string y4 = g.unique_name(q->outputs[0] + "_nchw");
  ir::Node r1;
  r1.op_type = "Reshape";
  r1.name = g.unique_name(op.name + "_to_conv");
  r1.inputs = {o->x.q, g.add_initializer("shape", ir::Tensor::from_vector<int64_t>({4}, {-1, K, 1, 1}))};
  r1.outputs = {x4};
  ir::Node c = qlinear_conv(g, op, *o, x4, w_name, w_scale, y4);
  ir::Node r2;
  r2.op_type = "Reshape";
  r2.name = g.unique_name(op.name + "_from_conv");
  r2.inputs = {y4, g.add_initializer("shape", ir::Tensor::from_vector<int64_t>({2}, {-1, M}))};
  r2.outputs = {q->outputs[0]};
  g.insert_node_before(q, std::move(r1));
  g.insert_node_before(q, std::move(c));
  g.insert_node_before(q, std::move(r2));
  remove_chain(g, op, *q);
  return true;
}


// DequantizeLinear(x_q) -> MaxPool -> [Relu | Clip] -> QuantizeLinear -> y_q, per-tensor: the max
// of dequantized values is the dequantized max (DequantizeLinear is increasing), so the pool
// runs on x_q (MaxPool takes int8 / uint8 since opset 12) and the requantization, if any, on its
// 4x smaller output. With equal scale, zero point and type, Q(DQ(v)) == v exactly (the float
// error of (v - z) * s / s is far below half a step) and the pair goes away: y_q = MaxPool(x_q).
// DequantizeLinear(x_q) -> op -> [Relu | Clip] -> QuantizeLinear, both per tensor and 8-bit,
// the op the DequantizeLinear's only reader: the two ends, and whether their scale, zero point
// and type are equal (then Q(DQ(v)) == v).
struct QuantizedEnds {
  Dq x;
  ir::Node* q = nullptr;
  bool same = false;
};
std::optional<QuantizedEnds> quantized_ends(ir::Graph& g, ir::Node& op) {
  auto x = dequantize_of(g, op.inputs[0]);
  if (!x || x->scale->numel() != 1 || (x->zp && x->zp->numel() != 1) || sole_reader(g, op.inputs[0]) != &op) {
    return std::nullopt;
  }
  const ir::DType x_type = dtype_of(g, x->q);
  if (!is_8bit(x_type) || (x->zp && x->zp->dtype() != x_type)) return std::nullopt;
  ir::Node* q = quantize_after(g, op);
  if (!q) return std::nullopt;
  const ir::Tensor* y_zp = q->inputs.size() > 2 && !q->inputs[2].empty() ? g.initializer(q->inputs[2]) : nullptr;
  const ir::DType y_type = y_zp ? y_zp->dtype() : ir::DType::UInt8;
  const bool same = x_type == y_type && zero_point_value(x->zp) == zero_point_value(y_zp) &&
                    x->scale->data<float>()[0] == g.initializer(q->inputs[1])->data<float>()[0];
  return QuantizedEnds{*x, q, same};
}

bool fuse_max_pool(ir::Graph& g, ir::Node& pool) {
  if (pool.inputs.size() != 1 || pool.outputs.empty() || pool.outputs.size() > 2) return false;
  if (pool.outputs.size() == 2 && !pool.outputs[1].empty()) return false;  // Indices
  const auto ends = quantized_ends(g, pool);
  if (!ends) return false;
  const Dq* x = &ends->x;
  ir::Node* q = ends->q;
  const bool same = ends->same;
  ir::Node p;
  p.op_type = "MaxPool";
  p.name = pool.name;
  p.attrs = pool.attrs;
  p.inputs = {x->q};
  p.outputs = {same ? q->outputs[0] : g.unique_name(pool.outputs[0] + "_q")};
  std::vector<ir::Node> made{std::move(p)};
  if (!same) {  // requantize the pooled values: DequantizeLinear(x's parameters) -> QuantizeLinear
    ir::Node dq = *x->node;
    dq.name = g.unique_name(x->node->name + "_after_pool");
    dq.inputs[0] = made[0].outputs[0];
    dq.outputs = {g.unique_name(pool.outputs[0] + "_dq")};
    ir::Node rq = *q;
    rq.inputs[0] = dq.outputs[0];
    made.push_back(std::move(dq));
    made.push_back(std::move(rq));
  }
  const ir::Node* dq_node = x->node;
  for (auto& n : made) g.insert_node_before(q, std::move(n));
  remove_chain(g, pool, *q);
  g.remove_node(dq_node);
  return true;
}

// DequantizeLinear -> Flatten / Reshape / Squeeze / Unsqueeze / Transpose / Identity ->
// QuantizeLinear with the same per-tensor parameters on both sides (quantize_static gives these
// ops their input's) -> the op on the quantized values: exact, since Q(DQ(v)) == v.
bool fuse_data_movement(ir::Graph& g, ir::Node& op) {
  if (op.inputs.empty() || op.outputs.size() != 1) return false;
  for (size_t i = 1; i < op.inputs.size(); ++i) {
    if (!op.inputs[i].empty() && !g.is_initializer(op.inputs[i])) return false;  // Reshape's shape
  }
  const auto ends = quantized_ends(g, op);
  if (!ends || !ends->same) return false;
  ir::Node moved = op;
  moved.inputs[0] = ends->x.q;
  moved.outputs = {ends->q->outputs[0]};
  const ir::Node* dq_node = ends->x.node;
  g.insert_node_before(ends->q, std::move(moved));
  remove_chain(g, op, *ends->q);
  g.remove_node(dq_node);
  return true;
}

}  // namespace

int fuse_qdq_to_qlinear(ir::Graph& graph) {
  if (graph.opset() < 10) return 0;  // QLinearConv is opset 10
  int fused = 0;
  std::vector<ir::Node*> candidates;
  for (const auto& n : graph.nodes) {
    if (is_op(n.get(), "Conv") || is_op(n.get(), "Gemm") || is_op(n.get(), "MatMul")) candidates.push_back(n.get());
  }
  for (ir::Node* n : candidates) {
    fused += is_op(n, "Conv") ? fuse_conv(graph, *n) : fuse_dense(graph, *n);
  }
  if (graph.opset() >= 12) {  // int8 / uint8 MaxPool
    std::vector<ir::Node*> pools;
    for (const auto& n : graph.nodes) {
      if (is_op(n.get(), "MaxPool")) pools.push_back(n.get());
    }
    for (ir::Node* n : pools) fused += fuse_max_pool(graph, *n);
  }
  std::vector<ir::Node*> moves;
  for (const auto& n : graph.nodes) {
    for (const char* op : {"Flatten", "Reshape", "Squeeze", "Unsqueeze", "Transpose", "Identity"}) {
      if (is_op(n.get(), op)) moves.push_back(n.get());
    }
  }
  for (ir::Node* n : moves) fused += fuse_data_movement(graph, *n);
  // DequantizeLinear nodes nothing reads any more (the weights' and biases').
  for (bool changed = fused > 0; changed;) {
    changed = false;
    for (const auto& n : graph.nodes) {
      if (is_op(n.get(), "DequantizeLinear") && graph.consumers(n->outputs[0]).empty() &&
          !graph.is_graph_output(n->outputs[0])) {
        graph.remove_node(n.get());
        changed = true;
        break;
      }
    }
  }
  if (fused > 0) graph.remove_unused();
  return fused;
}

}  // namespace hone::passes
