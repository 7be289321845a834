// `quantize_dynamic`: ONNX Runtime style dynamic ("hybrid") quantization. Weights are quantized
// once, offline; activations are quantized at run time, so no calibration data is needed.
// For each chosen MatMul / Gemm / Conv whose weight W is a float32 constant:
//
//   x --DynamicQuantizeLinear--> x_q (uint8), s_x, z_x          (one per activation, shared)
//     s_x = (max(0, max x) - min(0, min x)) / 255,  z_x = round(-min(0, min x) / s_x)
//   W_q = int8:  clamp(round(W / s_w), -127, 127),  s_w = max|W| / 127,  z_w = 0  (symmetric)
//         uint8: clamp(round(W / s_w) + z_w, 0, 255), s_w = (max(0, max W) - min(0, min W)) / 255,
//                z_w = round(-min(0, min W) / s_w)                                  (asymmetric)
//     per tensor, or per output channel (`per_channel`: s_w, z_w have one value per column of
//     MatMul/Gemm's [K, N] weight, per output channel M of a Conv weight)
//   acc = MatMulInteger(x_q, W_q, z_x, z_w)          Gemm: transB folded into W_q, transA by a
//       | ConvInteger(x_q, W_q, z_x, z_w)            Transpose of x_q; Conv keeps its attributes
//   y   = Cast<float>(acc) * (s_x * s_w) [+ bias]    Gemm: s_w scaled by alpha, bias = beta * C;
//                                                    Conv: s_w and B shaped [M, 1, ...]
// Since acc is exact, y differs from the float result only by the rounding of x and W:
//   |y - y_float| <= sum_k (|x_k| s_w / 2 + |W_k| s_x + s_x s_w / 2).
// ConvInteger with int8 weights is valid ONNX; ONNX Runtime 1.30 (our peer) runs it too
// (older ONNX Runtime CPU kernels took uint8 weights only: weight_type uint8 serves those).
// Match first (every chosen node is either planned or skipped with a reason), then apply. The
// quantized weight is a new initializer, so a weight shared with a node left in float is never
// changed under it; a weight shared by two quantized nodes is quantized once.
#include "passes/pass.h"
#include "passes/pass_util.h"
#include "passes/passes.h"
#include "support/error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <unordered_set>

namespace hone::passes {

namespace {

using nlohmann::json;

constexpr int64_t kOnnxFloat = 1;  // TensorProto.FLOAT, Cast's `to`

struct Options {
  std::vector<std::string> op_types;
  bool per_channel = false;
  bool int8 = true;  // weight_type int8 (symmetric) or uint8 (asymmetric)
  std::vector<std::string> exclude;
};

// ------------------------------------------------------------------------------ match

struct Plan {
  WeightLayer layer;
};

// Why `l` cannot be quantized, or "" when it can.
std::string why_not(const ir::Graph& g, const WeightLayer& l) {
  const ir::Node& n = *l.node;
  const ir::Tensor& w = weight_of(g, l);
  if (w.numel() == 0) return "its weight is empty";
  for (float v : w.span<float>()) {
    if (!std::isfinite(v)) return "its weight holds NaN or infinite values";
  }
  if (n.input(0).empty() || g.is_initializer(n.input(0))) return "its input is a constant (left for constant folding)";
  if (n.outputs.empty() || n.outputs[0].empty()) return "it has no output";
  if (n.op_type == "Conv" && n.has_input(2)) {
    const ir::Tensor* b = g.initializer(n.input(2));
    if (!b || b->dtype() != ir::DType::Float32 || b->numel() != l.out_channels) {
      return "its bias is not a float32 constant with one value per output channel";
    }
  }
  return "";
}

// ------------------------------------------------------------------------------ weights

struct QuantizedWeight {
  ir::Tensor q;           // int8 / uint8, in the integer op's layout
  ir::Tensor zero_point;  // scalar, or one value per output channel
  std::vector<float> scales;
};

// Gemm's B as the [K, N] matrix MatMulInteger multiplies by (transposed when transB).
ir::Tensor as_k_by_n(const ir::Tensor& w, bool trans_b) {
  if (!trans_b) return w;
  const int64_t rows = w.dim(0), cols = w.dim(1);
  ir::Tensor t = ir::Tensor::zeros(ir::DType::Float32, {cols, rows});
  const float* src = w.data<float>();
  float* dst = t.data<float>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
  return t;
}

// Quantizes the elements `idx` of `w` into `q` (as int32 before narrowing); returns {scale, zp}.
std::pair<float, int32_t> quantize_group(const float* w, const std::vector<int64_t>& idx, bool int8,
                                         std::vector<int32_t>& q) {
  float lo = 0.0f, hi = 0.0f;
  for (int64_t i : idx) {
    lo = std::min(lo, w[i]);
    hi = std::max(hi, w[i]);
  }
  float scale = int8 ? std::max(-lo, hi) / 127.0f : (hi - lo) / 255.0f;
  if (!(scale > 0.0f) || !std::isfinite(scale)) scale = 1.0f;  // all zeros: any scale is exact
  const int32_t zp = int8 ? 0 : static_cast<int32_t>(std::clamp(std::nearbyint(-lo / scale), 0.0f, 255.0f));
  const double qmin = int8 ? -127.0 : 0.0, qmax = int8 ? 127.0 : 255.0;
  for (int64_t i : idx) {
    const double v = std::nearbyint(static_cast<double>(w[i]) / scale) + zp;
    q[static_cast<size_t>(i)] = static_cast<int32_t>(std::clamp(v, qmin, qmax));
  }
  return {scale, zp};
}

QuantizedWeight quantize_weight(const ir::Tensor& w, int64_t out_axis, bool per_channel, bool int8) {
  const int64_t channels = w.dim(out_axis);
  std::vector<int32_t> q(static_cast<size_t>(w.numel()));
  QuantizedWeight r;
  std::vector<int32_t> zps;
  if (per_channel) {
    for (int64_t c = 0; c < channels; ++c) {
      const auto [s, z] = quantize_group(w.data<float>(), channel_indices(w, out_axis, c), int8, q);
      r.scales.push_back(s);
      zps.push_back(z);
    }
  } else {
    std::vector<int64_t> all(static_cast<size_t>(w.numel()));
    for (int64_t i = 0; i < w.numel(); ++i) all[static_cast<size_t>(i)] = i;
    const auto [s, z] = quantize_group(w.data<float>(), all, int8, q);
    r.scales.push_back(s);
    zps.push_back(z);
  }
  const ir::Shape zp_shape = per_channel ? ir::Shape{channels} : ir::Shape{};
  if (int8) {
    std::vector<int8_t> q8(q.begin(), q.end()), z8(zps.begin(), zps.end());
    r.q = ir::Tensor::from_vector<int8_t>(w.shape(), q8);
    r.zero_point = ir::Tensor::from_vector<int8_t>(zp_shape, z8);
  } else {
    std::vector<uint8_t> q8(q.begin(), q.end()), z8(zps.begin(), zps.end());
    r.q = ir::Tensor::from_vector<uint8_t>(w.shape(), q8);
    r.zero_point = ir::Tensor::from_vector<uint8_t>(zp_shape, z8);
  }
  return r;
}

// ------------------------------------------------------------------------------ apply

class Rewriter {
 public:
  Rewriter(ir::Graph& g, const Options& opt) : g_(g), names_(g), opt_(opt) {}

  json apply(const WeightLayer& l) {
    ir::Node& n = *l.node;
    const std::string base = n.name.empty() ? n.op_type : n.name;
    const bool gemm = n.op_type == "Gemm", conv = n.op_type == "Conv";
    const bool trans_b = gemm && n.attr_int("transB", 0) != 0;
    const Weight& w = weight(n.input(1), l, trans_b);

    std::string xq = dynamic_quantize(n, n.input(0));
    const Dql& x = dql_.at(n.input(0));
    if (gemm && n.attr_int("transA", 0) != 0) xq = transposed(n, xq);

    const ir::ValueInfo* out_vi = g_.value_info(n.outputs[0]);
    ir::Node integer_op;
    integer_op.op_type = conv ? "ConvInteger" : "MatMulInteger";
    integer_op.inputs = {xq, w.q, x.zero_point, w.zero_point};
    if (conv) {
      for (const char* a : {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}) {
        if (n.has_attr(a)) integer_op.attrs[a] = n.attrs.at(a);
      }
    }
    const std::string acc_name = base + "_" + integer_op.op_type;
    const std::string acc = add(n, acc_name, std::move(integer_op), like(out_vi, ir::DType::Int32));
    ir::Node cast;
    cast.op_type = "Cast";
    cast.inputs = {acc};
    cast.attrs["to"] = ir::Attribute::of_int(kOnnxFloat);
    const std::string acc_f = add(n, base + "_cast", std::move(cast), like(out_vi, ir::DType::Float32));

    // s_x * s_w (* alpha): a scalar, [N], or [M, 1, ...] for a Conv.
    const float alpha = gemm ? n.attr_float("alpha", 1.0f) : 1.0f;
    std::vector<float> sw = w.scales;
    for (float& s : sw) s *= alpha;
    ir::Shape s_shape;
    if (sw.size() > 1) {
      s_shape = {static_cast<int64_t>(sw.size())};
      if (conv) s_shape.resize(static_cast<size_t>(weight_of(g_, l).rank() - 1), 1);
    }
    const std::string w_scale = add_init(base + "_weight_scale", ir::Tensor::from_vector<float>(s_shape, sw));
    const std::string scale = binary(n, "Mul", x.scale, w_scale, base + "_scale", like(nullptr, ir::DType::Float32));

    const std::string bias = bias_input(n, base, l, conv, gemm);
    const std::string y = binary(n, "Mul", acc_f, scale, bias.empty() ? n.outputs[0] : base + "_scaled",
                                 like(out_vi, ir::DType::Float32));
    if (!bias.empty()) binary(n, "Add", y, bias, n.outputs[0], like(out_vi, ir::DType::Float32));

    json entry = {{"node", n.name},
                  {"op", n.op_type},
                  {"per_channel", opt_.per_channel},
                  {"weight_type", opt_.int8 ? "int8" : "uint8"},
                  {"weight_scale_min", *std::min_element(w.scales.begin(), w.scales.end())},
                  {"weight_scale_max", *std::max_element(w.scales.begin(), w.scales.end())},
                  {"weights", weight_of(g_, l).numel()}};
    g_.remove_node(&n);
    return entry;
  }

  int64_t dynamic_quantize_nodes() const { return static_cast<int64_t>(dql_.size()); }

 private:
  struct Dql {
    std::string q, scale, zero_point;
  };
  struct Weight {
    std::string q, zero_point;
    std::vector<float> scales;
  };

  static ir::ValueInfo like(const ir::ValueInfo* vi, ir::DType dtype) {
    ir::ValueInfo r;
    if (vi) r.shape = vi->shape;
    r.dtype = dtype;
    return r;
  }

  std::string add_init(const std::string& base, ir::Tensor t) {
    const std::string name = names_.make(base);
    g_.values[name] = like(nullptr, t.dtype());
    g_.values[name].shape = std::vector<ir::Dim>();
    for (int64_t d : t.shape()) g_.values[name].shape->push_back(ir::Dim{d, ""});
    g_.initializers[name] = std::move(t);
    return name;
  }

  // Inserts `node` before `before`, writing one output: the replaced node's output when `out`
  // is that, else a fresh name derived from `out`; returns the output's name.
  std::string add(const ir::Node& before, const std::string& out, ir::Node node, ir::ValueInfo vi) {
    const std::string name = out == before.outputs[0] ? out : names_.make(out);
    node.name = names_.make(name + "_node");
    node.outputs = {name};
    g_.values[name] = std::move(vi);
    g_.insert_node_before(&before, std::move(node));
    return name;
  }

  std::string binary(const ir::Node& before, const std::string& op, const std::string& a,
                     const std::string& b, const std::string& out, ir::ValueInfo vi) {
    ir::Node node;
    node.op_type = op;
    node.inputs = {a, b};
    return add(before, out, std::move(node), std::move(vi));
  }

  // The DynamicQuantizeLinear of activation `x`, shared by every node quantized on it.
  std::string dynamic_quantize(const ir::Node& before, const std::string& x) {
    auto it = dql_.find(x);
    if (it != dql_.end()) return it->second.q;
    Dql d{names_.make(x + "_quantized"), names_.make(x + "_scale"), names_.make(x + "_zero_point")};
    ir::Node node;
    node.op_type = "DynamicQuantizeLinear";
    node.name = names_.make(x + "_DynamicQuantizeLinear");
    node.inputs = {x};
    node.outputs = {d.q, d.scale, d.zero_point};
    g_.values[d.q] = like(g_.value_info(x), ir::DType::UInt8);
    g_.values[d.scale] = ir::ValueInfo{ir::DType::Float32, std::vector<ir::Dim>{}};
    g_.values[d.zero_point] = ir::ValueInfo{ir::DType::UInt8, std::vector<ir::Dim>{}};
    g_.insert_node_before(&before, std::move(node));
    dql_[x] = d;
    return d.q;
  }

  // x_q transposed (Gemm's transA), shared like the DynamicQuantizeLinear.
  std::string transposed(const ir::Node& before, const std::string& xq) {
    auto it = transposed_.find(xq);
    if (it != transposed_.end()) return it->second;
    ir::Node node;
    node.op_type = "Transpose";
    node.inputs = {xq};
    node.attrs["perm"] = ir::Attribute::of_ints({1, 0});
    const std::string t = add(before, xq + "_transposed", std::move(node), like(nullptr, ir::DType::UInt8));
    transposed_[xq] = t;
    return t;
  }

  // The quantized weight initializers for weight `name` in the integer op's layout.
  const Weight& weight(const std::string& name, const WeightLayer& l, bool trans_b) {
    const auto key = std::make_pair(name, trans_b);
    auto it = weights_.find(key);
    if (it != weights_.end()) return it->second;
    const ir::Tensor& w = weight_of(g_, l);
    const bool matrix = l.node->op_type != "Conv";
    // In [K, N] layout the output channels are the columns.
    const QuantizedWeight qw = matrix ? quantize_weight(as_k_by_n(w, trans_b), 1, opt_.per_channel, opt_.int8)
                                      : quantize_weight(w, 0, opt_.per_channel, opt_.int8);
    Weight r;
    r.q = add_init(name + "_quantized", qw.q);
    r.zero_point = add_init(name + "_zero_point", qw.zero_point);
    r.scales = qw.scales;
    return weights_.emplace(key, std::move(r)).first->second;
  }

  // The float bias added after the scaling ("" when none): Conv's B as [M, 1, ...]; Gemm's
  // beta * C (a constant when C is, else a Mul node).
  std::string bias_input(const ir::Node& n, const std::string& base, const WeightLayer& l, bool conv, bool gemm) {
    if (!(conv || gemm) || !n.has_input(2)) return "";
    const ir::Tensor* c = g_.initializer(n.input(2));
    if (conv) {
      ir::Shape s{l.out_channels};
      s.resize(static_cast<size_t>(weight_of(g_, l).rank() - 1), 1);
      return add_init(base + "_bias", c->clone().reshaped(s));
    }
    const float beta = n.attr_float("beta", 1.0f);
    if (c && c->dtype() == ir::DType::Float32) {
      ir::Tensor scaled = c->clone();
      for (float& v : scaled.span<float>()) v *= beta;
      return add_init(base + "_bias", std::move(scaled));
    }
    if (beta == 1.0f) return n.input(2);
    const std::string b = add_init(base + "_beta", ir::Tensor::scalar<float>(beta));
    return binary(n, "Mul", n.input(2), b, base + "_bias", like(g_.value_info(n.input(2)), ir::DType::Float32));
  }

  ir::Graph& g_;
  FreshNames names_;
  const Options& opt_;
  std::map<std::string, Dql> dql_;
  std::map<std::string, std::string> transposed_;
  std::map<std::pair<std::string, bool>, Weight> weights_;
};

int64_t initializer_bytes(const ir::Graph& g) {
  int64_t b = 0;
  for (const auto& [_, t] : g.initializers) b += static_cast<int64_t>(t.nbytes());
  return b;
}

class QuantizeDynamic final : public Pass {
 public:
  explicit QuantizeDynamic(Options opt) : opt_(std::move(opt)) {}
  std::string name() const override { return "quantize_dynamic"; }

  json run(ir::Model& model, const PassContext&) override {
    ir::Graph& g = model.graph;
    const int64_t bytes_before = initializer_bytes(g);
    std::vector<Plan> plans;
    json skipped = json::array();
    match(g, plans, skipped);

    Rewriter rw(g, opt_);
    json quantized = json::array();
    for (const Plan& p : plans) quantized.push_back(rw.apply(p.layer));
    g.remove_unused();
    return {{"quantized", quantized},
            {"skipped", skipped},
            {"counts",
             {{"quantized", quantized.size()},
              {"skipped", skipped.size()},
              {"dynamic_quantize_nodes", rw.dynamic_quantize_nodes()}}},
            {"initializer_bytes_before", bytes_before},
            {"initializer_bytes_after", initializer_bytes(g)}};
  }

 private:
  bool chosen(const std::string& op) const {
    return std::find(opt_.op_types.begin(), opt_.op_types.end(), op) != opt_.op_types.end();
  }

  void match(const ir::Graph& g, std::vector<Plan>& plans, json& skipped) const {
    const int64_t opset = g.opset("");
    std::unordered_set<const ir::Node*> layers;
    for (const WeightLayer& l : weight_layers(g)) {
      layers.insert(l.node);
      const ir::Node& n = *l.node;
      std::string reason;
      if (n.op_type == "ConvTranspose") reason = "ONNX has no integer ConvTranspose";
      else if (!chosen(n.op_type)) reason = n.op_type + " is not in op_types";
      else if (matches_any(n, opt_.exclude)) reason = "excluded";
      else if (opset < 11) reason = "DynamicQuantizeLinear needs opset >= 11, the model imports opset " + std::to_string(opset);
      else reason = why_not(g, l);
      if (reason.empty()) plans.push_back({l});
      else skipped.push_back({{"node", n.name}, {"op", n.op_type}, {"reason", reason}});
    }
    // Chosen ops that carry no constant weight (e.g. a MatMul of two activations).
    for (const auto& n : g.nodes) {
      if (!n->domain.empty() || !chosen(n->op_type) || layers.count(n.get())) continue;
      skipped.push_back({{"node", n->name}, {"op", n->op_type},
                         {"reason", n->op_type == "Conv" ? "its weight is not a float32 constant"
                                                         : "its weight is not a 2-D float32 constant"}});
    }
  }

  Options opt_;
};

}  // namespace

pipeline::Registration quantize_dynamic_registration() {
  using pipeline::ParamType;
  pipeline::ComponentSpec spec;
  spec.name = "quantize_dynamic";
  spec.description =
      "Dynamic int8 quantization (ONNX Runtime style): 8-bit weights, activations quantized at run time "
      "by DynamicQuantizeLinear, MatMulInteger / ConvInteger; no calibration data";
  spec.repeatable = false;  // quantizing twice makes no sense
  spec.params = {
      {"op_types", ParamType::StringList, json::array({"MatMul", "Gemm", "Conv"}), false, {}, {},
       {"MatMul", "Gemm", "Conv"}, "which weight layers to quantize"},
      {"per_channel", ParamType::Bool, false, false, {}, {}, {},
       "one weight scale per output channel (column of a MatMul/Gemm weight, output channel of a Conv) "
       "instead of one per tensor"},
      {"weight_type", ParamType::String, "int8", false, {}, {}, {"int8", "uint8"},
       "int8: symmetric, zero point 0, scale max|w|/127; uint8: asymmetric over [min(0, w), max(0, w)]"},
      {"exclude", ParamType::StringList, json::array(), false, {}, {}, {},
       "node names or op types to leave in float"},
  };
  return pipeline::make_registration<Pass>(
      std::move(spec), [](const json& p, const pipeline::BuildContext&) {
        Options opt;
        opt.op_types = p.at("op_types").get<std::vector<std::string>>();
        opt.per_channel = p.at("per_channel").get<bool>();
        opt.int8 = p.at("weight_type").get<std::string>() == "int8";
        opt.exclude = p.at("exclude").get<std::vector<std::string>>();
        return std::make_unique<QuantizeDynamic>(std::move(opt));
      });
}

}  // namespace hone::passes
