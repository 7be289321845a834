// `fold_batch_norm`: removes inference-mode BatchNormalization nodes. With
//   f[c] = gamma[c] / sqrt(var[c] + eps),   shift[c] = beta[c] - mean[c] * f[c]   (BN(x) = x*f + shift)
// each BN is handled by the first mode that applies:
//  1. backward: the BN directly follows a Conv, ConvTranspose, Gemm, or a MatMul (with an
//     optional Add of a constant bias) on a 2-D [N, C] activation, and is that node's only
//     consumer. Per output channel m:
//       W'[m] = W[m] * f[m];   b'[m] = (b[m] - mean[m]) * f[m] + beta[m]
//     (a MatMul's weight is [K, C]: its columns are scaled; an Add carries b', created when the
//     MatMul had none).
//  2. forward (seed 004: BN after a ReLU folds into the *next* layer): the BN's only consumer is
//     a Conv (any group; it reads the BN output as X) or a Gemm (as A, transA = 0). Per input
//     channel c of output m (window k):
//       W'[m, c, k] = W[m, c, k] * f[c];   b'[m] = b[m] + sum_{c,k} W[m, c, k] * shift[c]
//     (Gemm: B'[c, m] = B[c, m] * f[c], C' = beta*C + alpha * shift.B). Exact only without
//     padding (a padded Conv would pad the BN output with 0, not with BN(0)), so a Conv with
//     pads or auto_pad SAME_* is not forward-folded.
//  3. mul_add (parameter fallback_mul_add, default true): Y = X * f + shift as one Mul and one
//     Add with constants shaped [C, 1, ..., 1] for the input's rank (which must be known).
// Arithmetic in double, stored as float32. Each BN is matched on the current graph, then
// applied, so folds into the same layer compose. New weights get new initializers, so a
// weight shared with another node is never changed under it.
#include "passes/pass.h"
#include "passes/passes.h"
#include "support/error.h"

#include <cmath>

namespace hone::passes {

namespace {

using nlohmann::json;

const ir::Tensor* float_init(const ir::Graph& g, const std::string& name) {
  const ir::Tensor* t = g.initializer(name);
  return t && t->dtype() == ir::DType::Float32 && !g.is_graph_input(name) ? t : nullptr;
}

bool used_elsewhere(const ir::Graph& g, const std::string& v) {
  return g.consumers(v).size() != 1 || g.is_graph_output(v);
}

// A node's name for the report; unnamed nodes by what they write.
std::string display(const ir::Node& n) {
  return n.name.empty() ? "(" + n.op_type + " writing " + n.outputs.at(0) + ")" : n.name;
}

// Rank of value `v` when known, else -1.
int64_t rank_of(const ir::Graph& g, const std::string& v) {
  if (const ir::Tensor* t = g.initializer(v)) return static_cast<int64_t>(t->rank());
  const ir::ValueInfo* vi = g.value_info(v);
  return vi && vi->shape ? static_cast<int64_t>(vi->shape->size()) : -1;
}

// True when a constant bias of `numel` elements and shape `s` adds one value per column of
// an [N, m] result (scalar, [m], [1, m]).
bool per_column(const ir::Tensor& b, int64_t m) {
  const auto& s = b.shape();
  const bool row = s.size() <= 1 || (s.size() == 2 && s[0] == 1);
  return row && (b.numel() == 1 || b.numel() == m);
}

// --------------------------------------------------------------------------------- BN parameters

struct BnScale {
  std::vector<double> f;      // gamma / sqrt(var + eps)
  std::vector<double> shift;  // beta - mean * f
  std::vector<double> mean, beta;
  int64_t channels = 0;
};

// Why `bn` cannot be removed in any mode, or "".
std::string common_reason(const ir::Graph& g, const ir::Node& bn) {
  if (bn.attr_int("training_mode", 0) != 0) return "training_mode is set";
  for (size_t i = 1; i < bn.outputs.size(); ++i) {
    if (!bn.outputs[i].empty() && (!g.consumers(bn.outputs[i]).empty() || g.is_graph_output(bn.outputs[i])))
      return "its running-statistics outputs are used";
  }
  if (bn.inputs.size() < 5 || bn.input(0).empty()) return "it has fewer than 5 inputs";
  const ir::Tensor* scale = float_init(g, bn.input(1));
  const ir::Tensor* bias = float_init(g, bn.input(2));
  const ir::Tensor* mean = float_init(g, bn.input(3));
  const ir::Tensor* var = float_init(g, bn.input(4));
  if (!scale || !bias || !mean || !var) return "its scale, bias, mean or variance is not a float32 constant";
  const int64_t m = scale->numel();
  if (bias->numel() != m || mean->numel() != m || var->numel() != m) return "its parameters differ in length";
  return "";
}

BnScale bn_scale(const ir::Graph& g, const ir::Node& bn) {
  const ir::Tensor& gamma = *g.initializer(bn.input(1));
  const ir::Tensor& beta = *g.initializer(bn.input(2));
  const ir::Tensor& mean = *g.initializer(bn.input(3));
  const ir::Tensor& var = *g.initializer(bn.input(4));
  const double eps = bn.attr_float("epsilon", 1e-5f);
  BnScale s;
  s.channels = gamma.numel();
  for (int64_t c = 0; c < s.channels; ++c) {
    const double f = gamma.data<float>()[c] / std::sqrt(static_cast<double>(var.data<float>()[c]) + eps);
    s.f.push_back(f);
    s.mean.push_back(mean.data<float>()[c]);
    s.beta.push_back(beta.data<float>()[c]);
    s.shift.push_back(beta.data<float>()[c] - mean.data<float>()[c] * f);
  }
  return s;
}

// -------------------------------------------------------------------------------------- backward

struct Backward {
  ir::Node* producer = nullptr;  // Conv, ConvTranspose, Gemm or MatMul
  ir::Node* add = nullptr;       // MatMul only: the Add of a constant bias, if any
  size_t add_bias_input = 1;
};

// MatMul (+ Add of a constant bias) -> BN on a 2-D activation.
std::string why_not_matmul(const ir::Graph& g, const ir::Node& bn, Backward* b, int64_t m) {
  ir::Node* p = b->producer;
  if (b->add) {
    ir::Node* a = b->add;
    if (!a->domain.empty() || a->inputs.size() != 2) return "its Add is not an ONNX Add of two inputs";
    if (used_elsewhere(g, a->outputs[0])) return "the Add output is also used elsewhere";
    const size_t bi = float_init(g, a->input(1)) ? 1 : float_init(g, a->input(0)) ? 0 : 2;
    if (bi == 2) return "it follows an Add without a float32 constant bias";
    p = g.producer(a->input(1 - bi));
    if (!p || p->op_type != "MatMul" || !p->domain.empty()) return "it follows an Add that does not follow a MatMul";
    if (!per_column(*g.initializer(a->input(bi)), m)) return "the Add bias is not a per-column vector";
    b->producer = p;
    b->add_bias_input = bi;
  }
  if (used_elsewhere(g, p->outputs[0])) return "the MatMul output is also used elsewhere";
  const ir::Tensor* w = float_init(g, p->input(1));
  if (!w || w->rank() != 2) return "the MatMul weight is not a 2-D float32 constant";
  const int64_t rank = rank_of(g, bn.input(0));
  if (rank < 0) return "the rank of the MatMul output is unknown (it must be 2-D [N, C])";
  if (rank != 2) return "the MatMul output is not 2-D, so the BN channel axis is not the MatMul's output axis";
  if (w->dim(1) != m) return "its channel count does not match the MatMul output";
  return "";
}

// Why `bn` cannot fold into the node before it, or "" (and `b` says how).
std::string why_not_backward(const ir::Graph& g, const ir::Node& bn, int64_t m, Backward* b) {
  ir::Node* p = g.producer(bn.input(0));
  if (!p) return "its input is not produced by a node";
  if (!p->domain.empty()) return "its producer is not in the ONNX domain";
  if (p->op_type == "Add") {
    b->add = p;
    return why_not_matmul(g, bn, b, m);
  }
  b->producer = p;
  if (p->op_type == "MatMul") return why_not_matmul(g, bn, b, m);
  if (p->op_type != "Conv" && p->op_type != "ConvTranspose" && p->op_type != "Gemm")
    return "it follows " + p->op_type + ", not Conv, ConvTranspose, Gemm or MatMul";
  if (used_elsewhere(g, p->outputs[0])) return "the " + p->op_type + " output is also used elsewhere";
  const ir::Tensor* w = float_init(g, p->input(1));
  if (!w) return "the " + p->op_type + " weight is not a float32 constant";
  if (p->has_input(2) && !float_init(g, p->input(2))) return "the " + p->op_type + " bias is not a float32 constant";
  int64_t out_channels = 0;
  if (p->op_type == "Conv") {
    if (w->rank() < 3) return "the Conv weight has rank below 3";
    out_channels = w->dim(0);
  } else if (p->op_type == "ConvTranspose") {
    const int64_t group = p->attr_int("group", 1);
    if (w->rank() < 3 || group < 1 || w->dim(0) % group != 0)
      return "the ConvTranspose weight does not match its group";
    out_channels = w->dim(1) * group;
  } else {  // Gemm: output [N, M]; B is [K, M] or [M, K] with transB
    if (w->rank() != 2) return "the Gemm weight is not 2-D";
    out_channels = p->attr_int("transB", 0) ? w->dim(0) : w->dim(1);
    if (p->has_input(2) && !per_column(*g.initializer(p->input(2)), out_channels))
      return "the Gemm bias is not a per-column vector";
  }
  if (out_channels != m) return "its channel count does not match the " + p->op_type + " output";
  if (p->has_input(2) && p->op_type != "Gemm" && g.initializer(p->input(2))->numel() != m)
    return "the " + p->op_type + " bias length does not match its output channels";
  return "";
}

// Scales W's output channels by f: Conv/ConvTranspose/Gemm (alpha folded in).
ir::Tensor scaled_weight(const ir::Node& p, const ir::Tensor& w0, const std::vector<double>& f) {
  ir::Tensor w = w0.clone();
  float* wd = w.data<float>();
  const int64_t n = w.numel();
  const auto m = static_cast<int64_t>(f.size());
  if (p.op_type == "Conv") {
    const int64_t per = n / m;
    for (int64_t i = 0; i < n; ++i) wd[i] = static_cast<float>(wd[i] * f[static_cast<size_t>(i / per)]);
  } else if (p.op_type == "ConvTranspose") {
    // W is [C, M/group, k...]; output channel = group index * (M/group) + j.
    const int64_t group = p.attr_int("group", 1);
    const int64_t c_in = w.dim(0), m_per = w.dim(1), k = n / (c_in * m_per);
    for (int64_t c = 0; c < c_in; ++c) {
      const int64_t gi = c / (c_in / group);
      for (int64_t j = 0; j < m_per; ++j) {
        const double s = f[static_cast<size_t>(gi * m_per + j)];
        float* row = wd + (c * m_per + j) * k;
        for (int64_t q = 0; q < k; ++q) row[q] = static_cast<float>(row[q] * s);
      }
    }
  } else {  // Gemm ([K, M] or [M, K] with transB) or MatMul ([K, M]); alpha scales A*B
    const bool by_row = p.op_type == "Gemm" && p.attr_int("transB", 0) != 0;
    const double alpha = p.op_type == "Gemm" ? p.attr_float("alpha", 1.0f) : 1.0;
    const int64_t rows = w.dim(0), cols = w.dim(1);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        wd[r * cols + c] = static_cast<float>(wd[r * cols + c] * alpha * f[static_cast<size_t>(by_row ? r : c)]);
  }
  return w;
}

// b' = (b - mean) * f + beta, with b (scalar or per-channel) scaled by `b_scale` first.
ir::Tensor folded_bias(const ir::Tensor* old_b, double b_scale, const BnScale& s) {
  ir::Tensor b = ir::Tensor::zeros(ir::DType::Float32, {s.channels});
  for (int64_t c = 0; c < s.channels; ++c) {
    const auto i = static_cast<size_t>(c);
    const double b0 = old_b ? old_b->data<float>()[old_b->numel() == 1 ? 0 : c] * b_scale : 0.0;
    b.data<float>()[c] = static_cast<float>((b0 - s.mean[i]) * s.f[i] + s.beta[i]);
  }
  return b;
}

// The node `writer` now writes what the BN wrote; the BN goes.
void take_over_output(ir::Graph& g, ir::Node& writer, const ir::Node& bn) {
  const std::string bn_out = bn.outputs[0];
  const std::string old_out = writer.outputs[0];
  g.remove_node(&bn);
  g.values.erase(old_out);
  writer.outputs[0] = bn_out;
}

std::string base_name(const ir::Node& n, const std::string& fallback) { return n.name.empty() ? fallback : n.name; }

json apply_backward(ir::Graph& g, const ir::Node& bn, const Backward& b, const BnScale& s) {
  ir::Node& p = *b.producer;
  json entry = {{"batch_norm", display(bn)}, {"mode", "backward"}, {"into", display(p)}, {"op_type", p.op_type},
                {"channels", s.channels}};
  const std::string base = base_name(p, "folded");
  p.inputs[1] = g.add_initializer(base + "_W_folded", scaled_weight(p, *g.initializer(p.input(1)), s.f));
  if (p.op_type == "Gemm" && p.has_attr("alpha")) p.attrs["alpha"] = ir::Attribute::of_float(1.0f);

  if (p.op_type == "MatMul") {
    ir::Node* add = b.add;
    const ir::Tensor* old_b = add ? g.initializer(add->input(b.add_bias_input)) : nullptr;
    const std::string bias = g.add_initializer(base + "_B_folded", folded_bias(old_b, 1.0, s));
    if (!add) {
      ir::Node n;
      n.name = g.unique_name(base_name(bn, base) + "_bias");
      n.op_type = "Add";
      n.inputs = {p.outputs[0], bias};
      n.outputs = {g.unique_name(p.outputs[0] + "_biased")};
      add = &g.insert_node_before(&bn, std::move(n));
      entry["added"] = add->name;
    } else {
      add->inputs[b.add_bias_input] = bias;
      entry["bias_in"] = display(*add);
    }
    take_over_output(g, *add, bn);
    return entry;
  }
  // New bias b' = (b - mean) * f + beta; a Gemm's C is scaled by its beta attribute first.
  const ir::Tensor* old_b = p.has_input(2) ? g.initializer(p.input(2)) : nullptr;
  const double c_scale = p.op_type == "Gemm" ? p.attr_float("beta", 1.0f) : 1.0;
  ir::Tensor bias = folded_bias(old_b, c_scale, s);
  if (p.op_type == "Gemm") p.attrs["beta"] = ir::Attribute::of_float(1.0f);
  p.inputs.resize(std::max<size_t>(p.inputs.size(), 3));
  p.inputs[2] = g.add_initializer(base + "_B_folded", std::move(bias));
  take_over_output(g, p, bn);
  return entry;
}

// --------------------------------------------------------------------------------------- forward

// Why `bn` cannot fold into the node after it, or "" (and `*consumer` is that node).
std::string why_not_forward(const ir::Graph& g, const ir::Node& bn, int64_t m, ir::Node** consumer) {
  const std::string& out = bn.outputs[0];
  const auto cs = g.consumers(out);
  if (cs.size() != 1 || g.is_graph_output(out)) return "its output is not read by exactly one node";
  ir::Node* c = cs[0];
  if (!c->domain.empty() || (c->op_type != "Conv" && c->op_type != "Gemm"))
    return "its output feeds " + c->op_type + ", not Conv or Gemm";
  for (size_t i = 1; i < c->inputs.size(); ++i) {
    if (c->inputs[i] == out) return "the " + c->op_type + " reads it as a weight or bias";
  }
  if (c->input(0) != out) return "the " + c->op_type + " does not read it as its data input";
  const ir::Tensor* w = float_init(g, c->input(1));
  if (!w) return "the " + c->op_type + " weight is not a float32 constant";
  if (c->has_input(2) && !float_init(g, c->input(2))) return "the " + c->op_type + " bias is not a float32 constant";
  if (c->op_type == "Conv") {
    const int64_t group = c->attr_int("group", 1);
    if (w->rank() < 3 || group < 1 || w->dim(0) % group != 0) return "the Conv weight does not match its group";
    if (w->dim(1) * group != m) return "its channel count does not match the Conv input channels";
    if (c->has_input(2) && g.initializer(c->input(2))->numel() != w->dim(0))
      return "the Conv bias length does not match its output channels";
    const std::string auto_pad = c->attr_string("auto_pad", "NOTSET");
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER")
      return "the Conv pads (auto_pad " + auto_pad + "), which would pad the BN output with 0 instead of BN(0)";
    for (int64_t p : c->attr_ints("pads")) {
      if (p != 0) return "the Conv has nonzero pads, which would pad the BN output with 0 instead of BN(0)";
    }
    *consumer = c;
    return "";
  }
  // Gemm: A [N, K] (transA = 0), B [K, M] or [M, K] with transB.
  if (c->attr_int("transA", 0) != 0) return "the Gemm has transA set";
  if (w->rank() != 2) return "the Gemm weight is not 2-D";
  const bool tb = c->attr_int("transB", 0) != 0;
  if ((tb ? w->dim(1) : w->dim(0)) != m) return "its channel count does not match the Gemm input";
  if (c->has_input(2) && !per_column(*g.initializer(c->input(2)), tb ? w->dim(0) : w->dim(1)))
    return "the Gemm bias is not a per-column vector";
  *consumer = c;
  return "";
}

// Conv: W'[o, cl, k] = W[o, cl, k] * f[c], b'[o] = b[o] + sum W[o, cl, k] * shift[c], with
// c = group(o) * Cg + cl.
void forward_conv(ir::Graph& g, ir::Node& c, const BnScale& s) {
  const ir::Tensor& w0 = *g.initializer(c.input(1));
  const int64_t group = c.attr_int("group", 1);
  const int64_t out = w0.dim(0), cg = w0.dim(1), k = w0.numel() / (out * cg), out_per_group = out / group;
  ir::Tensor w = w0.clone();
  std::vector<double> bias(static_cast<size_t>(out), 0.0);
  if (c.has_input(2)) {
    const ir::Tensor& b0 = *g.initializer(c.input(2));
    for (int64_t o = 0; o < out; ++o) bias[static_cast<size_t>(o)] = b0.data<float>()[o];
  }
  const float* src = w0.data<float>();
  float* dst = w.data<float>();
  for (int64_t o = 0; o < out; ++o) {
    const int64_t gi = o / out_per_group;
    for (int64_t cl = 0; cl < cg; ++cl) {
      const auto ch = static_cast<size_t>(gi * cg + cl);
      for (int64_t q = 0; q < k; ++q) {
        const int64_t i = (o * cg + cl) * k + q;
        bias[static_cast<size_t>(o)] += static_cast<double>(src[i]) * s.shift[ch];
        dst[i] = static_cast<float>(src[i] * s.f[ch]);
      }
    }
  }
  ir::Tensor b = ir::Tensor::zeros(ir::DType::Float32, {out});
  for (int64_t o = 0; o < out; ++o) b.data<float>()[o] = static_cast<float>(bias[static_cast<size_t>(o)]);
  const std::string base = base_name(c, "folded");
  c.inputs[1] = g.add_initializer(base + "_W_folded", std::move(w));
  c.inputs.resize(std::max<size_t>(c.inputs.size(), 3));
  c.inputs[2] = g.add_initializer(base + "_B_folded", std::move(b));
}

// Gemm: Y = alpha * (A f + shift) B + beta C  =>  B'[k, :] = B[k, :] * f[k],
// C' = beta * C + alpha * shift.B, beta' = 1.
void forward_gemm(ir::Graph& g, ir::Node& c, const BnScale& s) {
  const ir::Tensor& w0 = *g.initializer(c.input(1));
  const bool tb = c.attr_int("transB", 0) != 0;
  const int64_t kdim = tb ? w0.dim(1) : w0.dim(0), mdim = tb ? w0.dim(0) : w0.dim(1);
  const double alpha = c.attr_float("alpha", 1.0f), beta = c.attr_float("beta", 1.0f);
  ir::Tensor w = w0.clone();
  std::vector<double> bias(static_cast<size_t>(mdim), 0.0);
  if (c.has_input(2)) {
    const ir::Tensor& b0 = *g.initializer(c.input(2));
    for (int64_t j = 0; j < mdim; ++j) bias[static_cast<size_t>(j)] = beta * b0.data<float>()[b0.numel() == 1 ? 0 : j];
  }
  const float* src = w0.data<float>();
  float* dst = w.data<float>();
  for (int64_t kk = 0; kk < kdim; ++kk) {
    for (int64_t j = 0; j < mdim; ++j) {
      const int64_t i = tb ? j * kdim + kk : kk * mdim + j;
      bias[static_cast<size_t>(j)] += alpha * src[i] * s.shift[static_cast<size_t>(kk)];
      dst[i] = static_cast<float>(src[i] * s.f[static_cast<size_t>(kk)]);
    }
  }
  ir::Tensor b = ir::Tensor::zeros(ir::DType::Float32, {mdim});
  for (int64_t j = 0; j < mdim; ++j) b.data<float>()[j] = static_cast<float>(bias[static_cast<size_t>(j)]);
  const std::string base = base_name(c, "folded");
  c.inputs[1] = g.add_initializer(base + "_W_folded", std::move(w));
  c.inputs.resize(std::max<size_t>(c.inputs.size(), 3));
  c.inputs[2] = g.add_initializer(base + "_B_folded", std::move(b));
  c.attrs["beta"] = ir::Attribute::of_float(1.0f);
}

json apply_forward(ir::Graph& g, const ir::Node& bn, ir::Node& c, const BnScale& s) {
  json entry = {{"batch_norm", display(bn)}, {"mode", "forward"}, {"into", display(c)}, {"op_type", c.op_type},
                {"channels", s.channels}};
  if (c.op_type == "Conv") forward_conv(g, c, s);
  else forward_gemm(g, c, s);
  const std::string bn_out = bn.outputs[0];
  c.inputs[0] = bn.input(0);
  g.remove_node(&bn);
  g.values.erase(bn_out);
  return entry;
}

// --------------------------------------------------------------------------------------- Mul+Add

std::string why_not_mul_add(const ir::Graph& g, const ir::Node& bn) {
  const ir::ValueInfo* vi = g.value_info(bn.input(0));
  if (!vi || !vi->shape) return "the rank of its input is unknown";
  if (vi->shape->size() < 2) return "its input has rank below 2";
  if (vi->dtype != ir::DType::Float32) return "its input is not known to be float32";
  return "";
}

json apply_mul_add(ir::Graph& g, const ir::Node& bn, const BnScale& s) {
  const size_t rank = g.value_info(bn.input(0))->shape->size();
  ir::Shape shape(rank - 1, 1);
  shape[0] = s.channels;
  ir::Tensor scale = ir::Tensor::zeros(ir::DType::Float32, shape);
  ir::Tensor shift = ir::Tensor::zeros(ir::DType::Float32, shape);
  for (int64_t c = 0; c < s.channels; ++c) {
    scale.data<float>()[c] = static_cast<float>(s.f[static_cast<size_t>(c)]);
    shift.data<float>()[c] = static_cast<float>(s.shift[static_cast<size_t>(c)]);
  }
  const std::string base = base_name(bn, bn.outputs[0]);
  ir::Node mul;
  mul.name = g.unique_name(base + "_scale");
  mul.op_type = "Mul";
  mul.inputs = {bn.input(0), g.add_initializer(base + "_mul_f", std::move(scale))};
  mul.outputs = {g.unique_name(base + "_scaled")};
  g.values[mul.outputs[0]] = *g.value_info(bn.input(0));
  ir::Node add;
  add.name = g.unique_name(base + "_shift");
  add.op_type = "Add";
  add.inputs = {mul.outputs[0], g.add_initializer(base + "_add_shift", std::move(shift))};
  add.outputs = {bn.outputs[0]};
  json entry = {{"batch_norm", display(bn)}, {"mode", "mul_add"}, {"into", {mul.name, add.name}},
                {"channels", s.channels}};
  g.insert_node_before(&bn, std::move(mul));
  g.insert_node_before(&bn, std::move(add));
  g.remove_node(&bn);
  return entry;
}

// ------------------------------------------------------------------------------------------ pass

class FoldBatchNorm final : public Pass {
 public:
  explicit FoldBatchNorm(bool fallback_mul_add) : fallback_mul_add_(fallback_mul_add) {}
  std::string name() const override { return "fold_batch_norm"; }

  json run(ir::Model& model, const PassContext&) override {
    ir::Graph& g = model.graph;
    std::vector<const ir::Node*> bns;
    for (const auto& node : g.nodes) {
      if (node->op_type == "BatchNormalization" && (node->domain.empty() || node->domain == "ai.onnx") &&
          !node->outputs.empty())
        bns.push_back(node.get());
    }
    json folded = json::array();
    json skipped = json::array();
    for (const ir::Node* bn : bns) fold_one(g, *bn, folded, skipped);
    g.remove_unused();
    return {{"folded", folded}, {"skipped", skipped}};
  }

 private:
  // Matches `bn` on the current graph, then applies the first mode that fits.
  void fold_one(ir::Graph& g, const ir::Node& bn, json& folded, json& skipped) const {
    if (const std::string why = common_reason(g, bn); !why.empty()) {
      skipped.push_back({{"batch_norm", display(bn)}, {"reason", why}});
      return;
    }
    const BnScale s = bn_scale(g, bn);
    Backward b;
    const std::string backward = why_not_backward(g, bn, s.channels, &b);
    if (backward.empty()) {
      folded.push_back(apply_backward(g, bn, b, s));
      return;
    }
    ir::Node* consumer = nullptr;
    const std::string forward = why_not_forward(g, bn, s.channels, &consumer);
    if (forward.empty()) {
      json e = apply_forward(g, bn, *consumer, s);
      e["not_backward"] = backward;
      folded.push_back(std::move(e));
      return;
    }
    const std::string mul_add = fallback_mul_add_ ? why_not_mul_add(g, bn) : "fallback_mul_add is false";
    if (mul_add.empty()) {
      json e = apply_mul_add(g, bn, s);
      e["not_backward"] = backward;
      e["not_forward"] = forward;
      folded.push_back(std::move(e));
      return;
    }
    skipped.push_back({{"batch_norm", display(bn)}, {"reason", backward}, {"not_forward", forward},
                       {"not_mul_add", mul_add}});
  }

  bool fallback_mul_add_;
};

}  // namespace

pipeline::Registration fold_batch_norm_registration() {
  pipeline::ComponentSpec spec;
  spec.name = "fold_batch_norm";
  spec.description =
      "Fold inference BatchNormalization into the preceding Conv, ConvTranspose, Gemm or MatMul(+Add) "
      "weights, else forward into the next unpadded Conv or Gemm, else (fallback_mul_add) replace it "
      "by one Mul and one Add per channel";
  pipeline::ParamSpec fallback;
  fallback.name = "fallback_mul_add";
  fallback.type = pipeline::ParamType::Bool;
  fallback.default_value = true;
  fallback.description =
      "Replace a BatchNormalization that cannot fold into a neighbour by Y = X * f + shift (one Mul and one "
      "Add with per-channel constants); false leaves it in place";
  spec.params.push_back(std::move(fallback));
  spec.repeatable = false;  // a second run finds nothing left to fold
  return pipeline::make_registration<Pass>(
      std::move(spec), [](const json& params, const pipeline::BuildContext&) {
        return std::make_unique<FoldBatchNorm>(params.value("fallback_mul_add", true));
      });
}

}  // namespace hone::passes
