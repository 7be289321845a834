// `fold_batch_norm`: an inference-mode BatchNormalization that directly follows a Conv,
// ConvTranspose or Gemm (and is that node's only consumer) is folded into its weights:
//   f = gamma / sqrt(var + eps);  W'[m] = W[m] * f[m];  b'[m] = (b[m] - mean[m]) * f[m] + beta[m]
// Arithmetic in double, stored as float32. Match first (collect every foldable pair and the
// reason for every BN left alone), then apply. New weights get new initializers, so a weight
// shared with another node is never changed under it.
#include "passes/pass.h"
#include "passes/passes.h"
#include "support/error.h"

#include <cmath>

namespace hone::passes {

namespace {

using nlohmann::json;

struct Match {
  const ir::Node* producer;
  const ir::Node* bn;
};

const ir::Tensor* float_init(const ir::Graph& g, const std::string& name) {
  const ir::Tensor* t = g.initializer(name);
  return t && t->dtype() == ir::DType::Float32 ? t : nullptr;
}

// Why `bn` cannot fold into its producer, or "" when it can.
std::string why_not(const ir::Graph& g, const ir::Node& bn, const ir::Node* p, int64_t* channels) {
  if (bn.attr_int("training_mode", 0) != 0) return "training_mode is set";
  for (size_t i = 1; i < bn.outputs.size(); ++i) {
    if (!bn.outputs[i].empty() && (!g.consumers(bn.outputs[i]).empty() || g.is_graph_output(bn.outputs[i])))
      return "its running-statistics outputs are used";
  }
  const ir::Tensor* scale = float_init(g, bn.input(1));
  const ir::Tensor* bias = float_init(g, bn.input(2));
  const ir::Tensor* mean = float_init(g, bn.input(3));
  const ir::Tensor* var = float_init(g, bn.input(4));
  if (!scale || !bias || !mean || !var) return "its scale, bias, mean or variance is not a float32 constant";
  const int64_t m = scale->numel();
  if (bias->numel() != m || mean->numel() != m || var->numel() != m) return "its parameters differ in length";
  if (!p) return "its input is not produced by a node";
  if (p->op_type != "Conv" && p->op_type != "ConvTranspose" && p->op_type != "Gemm")
    return "it follows " + p->op_type + ", not Conv, ConvTranspose or Gemm";
  if (!p->domain.empty()) return "its producer is not in the ONNX domain";
  if (g.consumers(p->outputs[0]).size() != 1 || g.is_graph_output(p->outputs[0]))
    return "the " + p->op_type + " output is also used elsewhere";
  const ir::Tensor* w = float_init(g, p->input(1));
  if (!w) return "the " + p->op_type + " weight is not a float32 constant";
  if (p->has_input(2) && !float_init(g, p->input(2))) return "the " + p->op_type + " bias is not a float32 constant";
  int64_t out_channels = 0;
  if (p->op_type == "Conv") {
    out_channels = w->dim(0);
  } else if (p->op_type == "ConvTranspose") {
    out_channels = w->dim(1) * p->attr_int("group", 1);
  } else {  // Gemm: output [N, M]; B is [K, M] or [M, K] with transB
    if (w->rank() != 2) return "the Gemm weight is not 2-D";
    out_channels = p->attr_int("transB", 0) ? w->dim(0) : w->dim(1);
    if (p->has_input(2)) {
      const int64_t cn = g.initializer(p->input(2))->numel();
      const auto& cs = g.initializer(p->input(2))->shape();
      const bool row = cs.empty() || cs.size() == 1 || (cs.size() == 2 && cs[0] == 1);
      if (!row || (cn != 1 && cn != out_channels)) return "the Gemm bias is not a per-column vector";
    }
  }
  if (out_channels != m) return "its channel count does not match the " + p->op_type + " output";
  *channels = m;
  return "";
}

void apply(ir::Graph& g, const Match& mt, json& folded) {
  ir::Node& p = *const_cast<ir::Node*>(mt.producer);
  const ir::Node& bn = *mt.bn;
  const ir::Tensor& gamma = *g.initializer(bn.input(1));
  const ir::Tensor& beta = *g.initializer(bn.input(2));
  const ir::Tensor& mean = *g.initializer(bn.input(3));
  const ir::Tensor& var = *g.initializer(bn.input(4));
  const double eps = bn.attr_float("epsilon", 1e-5f);
  const int64_t m = gamma.numel();
  std::vector<double> f(static_cast<size_t>(m));
  for (int64_t c = 0; c < m; ++c) {
    f[static_cast<size_t>(c)] = gamma.data<float>()[c] / std::sqrt(static_cast<double>(var.data<float>()[c]) + eps);
  }

  // Scale the weight per output channel.
  ir::Tensor w = g.initializer(p.input(1))->clone();
  float* wd = w.data<float>();
  const int64_t n = w.numel();
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
        for (int64_t q = 0; q < k; ++q) wd[(c * m_per + j) * k + q] = static_cast<float>(wd[(c * m_per + j) * k + q] * s);
      }
    }
  } else {  // Gemm
    const bool trans_b = p.attr_int("transB", 0) != 0;
    const int64_t rows = w.dim(0), cols = w.dim(1);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) wd[r * cols + c] = static_cast<float>(wd[r * cols + c] * f[static_cast<size_t>(trans_b ? r : c)]);
    // alpha scales A*B, beta scales C: fold both so the new node has alpha = beta = 1.
    const double alpha = p.attr_float("alpha", 1.0f);
    if (alpha != 1.0) {
      for (int64_t i = 0; i < n; ++i) wd[i] = static_cast<float>(wd[i] * alpha);
      p.attrs["alpha"] = ir::Attribute::of_float(1.0f);
    }
  }

  // New bias b' = (b - mean) * f + beta; a Gemm's C is scaled by its beta attribute first.
  ir::Tensor b = ir::Tensor::zeros(ir::DType::Float32, {m});
  const ir::Tensor* old_b = p.has_input(2) ? g.initializer(p.input(2)) : nullptr;
  const double c_scale = p.op_type == "Gemm" ? p.attr_float("beta", 1.0f) : 1.0;
  for (int64_t c = 0; c < m; ++c) {
    const double b0 = old_b ? old_b->data<float>()[old_b->numel() == 1 ? 0 : c] * c_scale : 0.0;
    b.data<float>()[c] = static_cast<float>((b0 - mean.data<float>()[c]) * f[static_cast<size_t>(c)] +
                                            beta.data<float>()[c]);
  }
  if (p.op_type == "Gemm") p.attrs["beta"] = ir::Attribute::of_float(1.0f);

  p.inputs.resize(std::max<size_t>(p.inputs.size(), 3));
  p.inputs[1] = g.add_initializer(p.name.empty() ? "folded_W" : p.name + "_W_folded", std::move(w));
  p.inputs[2] = g.add_initializer(p.name.empty() ? "folded_B" : p.name + "_B_folded", std::move(b));
  folded.push_back({{"batch_norm", bn.name}, {"into", p.name}, {"op_type", p.op_type}, {"channels", m}});

  // The producer now writes what the BN wrote.
  const std::string bn_out = bn.outputs[0];
  const std::string p_out = p.outputs[0];
  g.remove_node(&bn);
  g.values.erase(p_out);
  p.outputs[0] = bn_out;
}

class FoldBatchNorm final : public Pass {
 public:
  std::string name() const override { return "fold_batch_norm"; }
  json run(ir::Model& model, const PassContext&) override {
    ir::Graph& g = model.graph;
    std::vector<Match> matches;
    json skipped = json::array();
    for (const auto& node : g.nodes) {
      if (node->op_type != "BatchNormalization" || !node->domain.empty()) continue;
      const ir::Node* p = g.producer(node->input(0));
      int64_t channels = 0;
      const std::string reason = why_not(g, *node, p, &channels);
      if (reason.empty()) matches.push_back({p, node.get()});
      else skipped.push_back({{"batch_norm", node->name}, {"reason", reason}});
    }
    json folded = json::array();
    for (const Match& mt : matches) apply(g, mt, folded);
    g.remove_unused();
    return {{"folded", folded}, {"skipped", skipped}};
  }
};

}  // namespace

pipeline::Registration fold_batch_norm_registration() {
  pipeline::ComponentSpec spec;
  spec.name = "fold_batch_norm";
  spec.description =
      "Fold inference BatchNormalization into the preceding Conv, ConvTranspose or Gemm weights";
  spec.repeatable = false;  // a second run finds nothing left to fold
  return pipeline::make_registration<Pass>(
      std::move(spec), [](const json&, const pipeline::BuildContext&) {
        return std::make_unique<FoldBatchNorm>();
      });
}

}  // namespace hone::passes
