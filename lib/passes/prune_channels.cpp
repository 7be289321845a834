// `prune_channels`: structured pruning. Output channels of Conv (group 1) filters and Gemm /
// MatMul neurons are removed physically, together with everything that carries the same
// channels down to the layers that read them, so the result is a smaller dense model.
//
// Ranking of the C output channels of a layer with weight W (channel c = W's slice on the
// output axis):
//   l1:   s_c = sum |W_c|            l2: s_c = sqrt(sum W_c^2)     (smallest pruned first)
//   apoz: APoZ_c = sum_{k,j} [O_cj(k) == 0] / (N * M)           (largest pruned first; ties
//         by l1) with O the output of the first ReLU (or Clip with min 0) after the layer,
//         N calibration samples, M elements of one channel's feature map. Streaming: only the
//         per-channel zero counts are kept. A layer without such an activation falls back to l1.
// Removed per layer: floor(ratio * C) channels, at most C - 1.
//
// Match (no mutation): from each candidate layer, follow its output through channel-preserving
// nodes, recording every value that carries the channels (its channel axis and block: after
// Flatten, channel c is the block [c*HW, (c+1)*HW) of features) and every per-channel constant
// that must shrink with them:
//   BatchNormalization / InstanceNormalization (scale, bias, mean, var entries), elementwise
//   unaries (Relu, Clip, LeakyRelu, Sigmoid, HardSwish, Dropout, Identity, Cast, ...),
//   Add/Sub/Mul/Div/Pow/PRelu/Max/Min with a per-channel constant (its entries) or with another
//   value carrying the same channels (x * Sigmoid(x)), MaxPool / AveragePool / LpPool and their
//   Global forms, depthwise Conv (group == C, W [C, 1, k..]: its filters and bias entries, and
//   group := C'), Flatten (and a Reshape [N, -1] that flattens).
// The walk ends at the layers that absorb the removal by dropping input channels: Conv with
// group 1 (W[:, c]), Gemm (rows / columns of B for the features of c), MatMul (rows of B).
// Anything else (a graph output, a residual Add with another layer's output, Concat, another
// Reshape, Shape, Softmax, ...) ties the channels: that layer is left alone, with the reason.
// Compensation (compensate "mean"): removing channel c equals forcing the value x_c the absorbing
// layer reads to 0; after BN folding and ReLU its mean mu_c is far from 0. One streaming pass over
// calibration data (only per-entry running sums are kept) measures mu at the input of every
// absorbing layer (after BN, activation, pooling, depthwise Conv, ...; per feature after Flatten)
// and folds the removed channels' means into that layer's bias before slicing:
//   Conv (group 1): b'[m] = b[m] + sum_{c removed} mu_c * sum_k W[m, c, k]  (bias created when
//     absent). Exact where the kernel window lies inside the input; at zero-padded borders the
//     padded taps read 0, not mu_c, so there it is approximate.
//   Gemm: C' = C + (alpha / beta) * sum_{j removed} mu_j * B'[j, :] (B' = B or B^T by transB;
//     C := that sum with beta := 1 when there is no C or beta is 0).
//   MatMul: the same sum is added to the per-column constant of the Add that follows it; a
//     MatMul without such an Add is not compensated (reported with the reason).
// Apply: slice every recorded constant (new initializers, so a constant shared with another
// node never changes under it), set depthwise groups, update the recorded value shapes and
// re-run shape inference.
#include "ir/onnx_io.h"
#include "passes/pass.h"
#include "passes/pass_util.h"
#include "passes/passes.h"
#include "runtime/reference/interpreter.h"
#include "support/error.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <numeric>
#include <set>

namespace hone::passes {

namespace {

using nlohmann::json;

constexpr const char* kPassName = "prune_channels";
constexpr int64_t kCalibrationBatch = 32;

// Where the channels of one layer live in a value: channel c spans [c*block, (c+1)*block)
// along `axis` of a value of rank `rank`.
struct Layout {
  int64_t axis = 1;
  int64_t block = 1;
  int64_t rank = 4;
  bool operator==(const Layout&) const = default;
};

// One change to make when the layer's channels shrink.
struct Edit {
  enum class Kind { Slice, ReshapeDim, Group };
  Kind kind = Kind::Slice;
  ir::Node* node = nullptr;
  size_t input = 0;    // Slice / ReshapeDim: the constant input
  int64_t axis = 0;    // Slice: axis of that constant
  int64_t block = 1;   // Slice: entries per channel along that axis; ReshapeDim: features per channel
};

// A layer that absorbs the removal by dropping input channels (Conv group 1, Gemm, MatMul), the
// value it reads and, with compensate "mean", the per-entry sums of that value on calibration data.
struct Absorber {
  ir::Node* node = nullptr;
  std::string value;
  Layout layout;
  int64_t k_axis = 0;            // Gemm / MatMul: reduction axis of B
  std::vector<double> sums;      // one per entry along layout.axis (channels x block)
  int64_t count = 0;             // samples summed into each entry
  std::vector<double> means;     // per feature, filled after measuring
  bool compensated = false;
  std::string reason;            // why it was not compensated
};

struct Plan {
  WeightLayer layer;
  int64_t channels = 0;
  std::map<std::string, Layout> values;   // every value carrying the channels
  std::vector<Edit> edits;
  std::vector<const ir::Node*> joins;     // binary nodes with two non-constant inputs
  std::set<const ir::Node*> seen;
  std::vector<std::string> follows;       // labels of the nodes whose data shrinks with it
  std::string reason;                     // why it is left alone ("" = prunable)
  std::string activation;                 // value whose zeros APoZ counts
  Layout activation_layout;
  std::vector<double> scores;
  std::string criterion;
  std::string note;
  std::vector<int64_t> removed, kept;
  std::vector<Absorber> absorbers;
};

struct Options {
  double ratio = 0.25;
  std::string criterion = "l1";
  int64_t calibration_samples = 256;
  std::vector<std::string> exclude;
  uint64_t seed = 0;
  std::string compensate = "none";
};

const std::set<std::string> kUnary = {
    "Relu", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu", "Selu", "Celu",
    "Softplus", "Softsign", "ThresholdedRelu", "Mish", "Gelu", "Abs", "Neg", "Exp", "Log", "Sqrt",
    "Reciprocal", "Erf", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos", "Identity", "Dropout",
    "Clip", "Cast"};
const std::set<std::string> kBinary = {"Add", "Sub", "Mul", "Div", "Pow", "PRelu", "Max", "Min", "Sum", "Mean"};
const std::set<std::string> kPools = {"MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool",
                                      "GlobalLpPool"};

// A node's name, or its first output for nodes without one.
std::string display_name(const ir::Node& n) { return n.name.empty() && !n.outputs.empty() ? n.outputs[0] : n.name; }
std::string quoted(const ir::Node& n) { return n.op_type + " '" + display_name(n) + "'"; }

// An initializer, or the value of a Constant node.
const ir::Tensor* constant_of(const ir::Graph& g, const std::string& v) {
  if (v.empty()) return nullptr;
  if (const ir::Tensor* t = g.initializer(v)) return t;
  const ir::Node* p = g.producer(v);
  if (p && p->op_type == "Constant" && p->domain.empty()) return p->attr_tensor("value");
  return nullptr;
}

bool used(const ir::Graph& g, const std::string& v) {
  return !v.empty() && (g.is_graph_output(v) || !g.consumers(v).empty());
}

std::optional<int64_t> rank_of(const ir::Graph& g, const std::string& v) {
  const ir::ValueInfo* vi = g.value_info(v);
  if (!vi || !vi->shape) return std::nullopt;
  return static_cast<int64_t>(vi->shape->size());
}

// Product of the dims of `v` after `axis`, when all of them are known.
std::optional<int64_t> inner_size(const ir::Graph& g, const std::string& v, int64_t axis) {
  const ir::ValueInfo* vi = g.value_info(v);
  if (!vi || !vi->shape) return std::nullopt;
  int64_t n = 1;
  for (size_t d = static_cast<size_t>(axis) + 1; d < vi->shape->size(); ++d) {
    if (!(*vi->shape)[d].known()) return std::nullopt;
    n *= (*vi->shape)[d].value;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Match: follow one layer's channels.

class Tracer {
 public:
  Tracer(const ir::Graph& g, Plan& p) : g_(g), p_(p) {}

  // Follows the channels from `start`; returns why they are tied ("" when they are not). The
  // walk goes on past the first obstacle, so a residual Add is named even when the channels
  // also reach, say, a graph output behind it.
  std::string run(const std::string& start, const Layout& l) {
    std::string reason = push(start, l);
    while (!queue_.empty()) {
      const std::string v = queue_.front();
      queue_.pop_front();
      if (g_.is_graph_output(v) && reason.empty()) reason = "its channels reach the graph output '" + v + "'";
      const Layout lv = p_.values.at(v);
      for (ir::Node* n : g_.consumers(v)) {
        if (!p_.seen.insert(n).second) continue;  // a join reached again: verified below
        if (auto r = visit(*n, v, lv); !r.empty() && reason.empty()) reason = r;
      }
    }
    const std::string join = check_joins();
    return join.empty() ? reason : join;
  }

 private:
  std::string check_joins() const {
    for (const ir::Node* n : p_.joins) {
      const Layout& out = p_.values.at(n->outputs[0]);
      for (const std::string& in : n->inputs) {
        if (in.empty() || constant_of(g_, in)) continue;
        auto it = p_.values.find(in);
        if (it == p_.values.end()) return "tied by the residual " + quoted(*n);
        if (!(it->second == out)) return quoted(*n) + " mixes differently laid out channels";
      }
    }
    return "";
  }

  int64_t extent(const Layout& l) const { return p_.channels * l.block; }

  std::string push(const std::string& v, const Layout& l) {
    if (v.empty()) return "";
    auto [it, inserted] = p_.values.emplace(v, l);
    if (!inserted) return it->second == l ? "" : "'" + v + "' is reached with two different channel layouts";
    queue_.push_back(v);
    return "";
  }

  void follow(const ir::Node& n) { p_.follows.push_back(n.label()); }

  void slice(ir::Node& n, size_t input, int64_t axis, int64_t block) {
    p_.edits.push_back({Edit::Kind::Slice, &n, input, axis, block});
  }

  // The indices at which `n` reads `v`.
  static std::vector<size_t> positions(const ir::Node& n, const std::string& v) {
    std::vector<size_t> at;
    for (size_t i = 0; i < n.inputs.size(); ++i)
      if (n.inputs[i] == v) at.push_back(i);
    return at;
  }

  std::string visit(ir::Node& n, const std::string& v, const Layout& l) {
    if (!n.domain.empty()) return "its channels reach " + quoted(n) + " of domain '" + n.domain + "'";
    const std::vector<size_t> at = positions(n, v);
    const bool only_data = at.size() == 1 && at[0] == 0;
    const std::string& op = n.op_type;
    if (kUnary.count(op)) {
      if (!only_data) return "its channels feed a parameter of " + quoted(n);
      for (size_t o = 1; o < n.outputs.size(); ++o)
        if (used(g_, n.outputs[o])) return "the mask output of " + quoted(n) + " is used";
      note_activation(n, l);
      return push(n.outputs[0], l);
    }
    if (kBinary.count(op)) return visit_binary(n, at, l);
    if (op == "BatchNormalization" || op == "InstanceNormalization") return visit_norm(n, only_data, l);
    if (kPools.count(op)) {
      if (!only_data || l.axis != 1 || l.block != 1) return "its channels reach " + quoted(n) + " in an unexpected layout";
      for (size_t o = 1; o < n.outputs.size(); ++o)
        if (used(g_, n.outputs[o])) return "the indices output of " + quoted(n) + " is used";
      return push(n.outputs[0], l);
    }
    if (op == "Conv") return visit_conv(n, only_data, v, l);
    if (op == "Gemm" || op == "MatMul") return visit_dense(n, only_data, v, l);
    if (op == "Flatten") return visit_flatten(n, only_data, v, l);
    if (op == "Reshape") return visit_reshape(n, only_data, v, l);
    if (op == "Concat") return "its channels reach " + quoted(n);
    return "its channels reach " + quoted(n) + ", which cannot drop channels";
  }

  // Relu, or Clip with min 0: the activation whose zeros APoZ counts.
  void note_activation(const ir::Node& n, const Layout& l) {
    if (!p_.activation.empty()) return;
    bool zeroing = n.op_type == "Relu";
    if (n.op_type == "Clip") {
      if (n.has_attr("min")) {
        zeroing = n.attr_float("min", 1.0f) == 0.0f;
      } else if (const ir::Tensor* lo = constant_of(g_, n.input(1)); lo && lo->numel() == 1) {
        zeroing = lo->get_as_double(0) == 0.0;
      }
    }
    if (zeroing) {
      p_.activation = n.outputs[0];
      p_.activation_layout = l;
    }
  }

  std::string visit_binary(ir::Node& n, const std::vector<size_t>& at, const Layout& l) {
    if (n.op_type == "PRelu" && at != std::vector<size_t>{0}) return "its channels feed the slope of " + quoted(n);
    bool join = at.size() > 1;
    for (size_t j = 0; j < n.inputs.size(); ++j) {
      if (n.inputs[j].empty() || std::find(at.begin(), at.end(), j) != at.end()) continue;
      const ir::Tensor* c = constant_of(g_, n.inputs[j]);
      if (!c) {
        join = true;
        continue;
      }
      const int64_t k = static_cast<int64_t>(c->rank());
      if (k > l.rank) return "the constant of " + quoted(n) + " broadcasts it to a higher rank";
      const int64_t ax = l.axis - (l.rank - k);
      if (ax < 0 || c->dim(ax) == 1) continue;  // broadcast over the channels: nothing to cut
      if (c->dim(ax) != extent(l)) return "the constant of " + quoted(n) + " is not per channel";
      slice(n, j, ax, l.block);
    }
    if (join) p_.joins.push_back(&n);
    follow(n);
    return push(n.outputs[0], l);
  }

  std::string visit_norm(ir::Node& n, bool only_data, const Layout& l) {
    if (!only_data || l.axis != 1) return "its channels reach " + quoted(n) + " in an unexpected layout";
    if (n.attr_int("training_mode", 0) != 0) return quoted(n) + " is in training mode";
    for (size_t o = 1; o < n.outputs.size(); ++o)
      if (used(g_, n.outputs[o])) return "the running statistics of " + quoted(n) + " are used";
    const size_t params = n.op_type == "BatchNormalization" ? 5 : 3;
    for (size_t i = 1; i < params; ++i) {
      const ir::Tensor* t = constant_of(g_, n.input(i));
      if (!t || t->rank() != 1 || t->dim(0) != extent(l))
        return "parameter " + std::to_string(i) + " of " + quoted(n) + " is not a per-channel constant";
      slice(n, i, 0, l.block);
    }
    follow(n);
    return push(n.outputs[0], l);
  }

  std::string visit_conv(ir::Node& n, bool only_data, const std::string& v, const Layout& l) {
    if (!only_data) return "its channels feed the weight or bias of " + quoted(n);
    const ir::Tensor* w = constant_of(g_, n.input(1));
    if (!w || w->rank() < 3) return quoted(n) + " has no constant weight";
    if (l.axis != 1 || l.block != 1) return "its channels reach " + quoted(n) + " in an unexpected layout";
    const int64_t group = n.attr_int("group", 1);
    if (group == 1) {  // absorbs: drop input channels W[:, c]
      if (w->dim(1) != p_.channels) return quoted(n) + " reads a different channel count";
      slice(n, 1, 1, 1);
      p_.absorbers.push_back({&n, v, l, 1});
      follow(n);
      return "";
    }
    if (group == p_.channels && w->dim(0) == p_.channels && w->dim(1) == 1) {  // depthwise
      if (n.has_input(2)) {
        const ir::Tensor* b = constant_of(g_, n.input(2));
        if (!b || b->numel() != p_.channels) return "the bias of " + quoted(n) + " is not a per-channel constant";
        slice(n, 2, 0, 1);
      }
      slice(n, 1, 0, 1);
      p_.edits.push_back({Edit::Kind::Group, &n, 0, 0, 1});
      follow(n);
      return push(n.outputs[0], l);
    }
    return "its channels reach the grouped " + quoted(n) + " (group " + std::to_string(group) + ")";
  }

  // Gemm (input A) or MatMul (input 0) with a constant 2-D B: drop the features' rows of B.
  std::string visit_dense(ir::Node& n, bool only_data, const std::string& v, const Layout& l) {
    if (!only_data) return "its channels feed the weight of " + quoted(n);
    const ir::Tensor* b = constant_of(g_, n.input(1));
    if (!b || b->rank() != 2) return quoted(n) + " has no constant 2-D weight";
    int64_t k_axis = 0;
    if (n.op_type == "Gemm") {
      if (l.rank != 2 || l.axis != (n.attr_int("transA", 0) ? 0 : 1))
        return "its channels reach " + quoted(n) + " in an unexpected layout";
      k_axis = n.attr_int("transB", 0) ? 1 : 0;
    } else if (l.axis != l.rank - 1) {
      return "its channels reach " + quoted(n) + " off its reduction axis";
    }
    if (b->dim(k_axis) != extent(l)) return quoted(n) + " reads a different feature count than '" + v + "' has";
    slice(n, 1, k_axis, l.block);
    p_.absorbers.push_back({&n, v, l, k_axis});
    follow(n);
    return "";
  }

  std::string visit_flatten(ir::Node& n, bool only_data, const std::string& v, const Layout& l) {
    int64_t axis = n.attr_int("axis", 1);
    if (axis < 0) axis += l.rank;
    if (!only_data || axis != l.axis) return "its channels reach " + quoted(n) + " on an axis it merges";
    const auto inner = inner_size(g_, v, l.axis);
    if (!inner) return "the shape of '" + v + "' (input of " + quoted(n) + ") is not static";
    follow(n);
    return push(n.outputs[0], {1, l.block * *inner, 2});
  }

  // A Reshape to [N, -1] (or [N, C*H*W]) with the channels on axis 1 is a Flatten.
  std::string visit_reshape(ir::Node& n, bool only_data, const std::string& v, const Layout& l) {
    const std::string not_flat = "its channels reach " + quoted(n) + ", which is not a flatten";
    const ir::Tensor* s = constant_of(g_, n.input(1));
    if (!only_data || !s || s->numel() != 2 || l.axis != 1) return not_flat;
    const auto inner = inner_size(g_, v, l.axis);
    if (!inner) return not_flat;
    const int64_t s0 = s->get_as_int64(0), s1 = s->get_as_int64(1);
    const int64_t features = extent(l) * *inner;
    const ir::ValueInfo* vi = g_.value_info(v);
    const bool keeps_batch = (s0 == 0 && n.attr_int("allowzero", 0) == 0) ||
                             (s0 > 0 && vi && vi->shape && (*vi->shape)[0].value == s0);
    if (!((keeps_batch && (s1 == -1 || s1 == features)) || (s0 == -1 && s1 == features))) return not_flat;
    if (s1 != -1) p_.edits.push_back({Edit::Kind::ReshapeDim, &n, 1, 0, l.block * *inner});
    follow(n);
    return push(n.outputs[0], {1, l.block * *inner, 2});
  }

  const ir::Graph& g_;
  Plan& p_;
  std::deque<std::string> queue_;
};

// Sets up the plan of one weight layer: its own edits, and the walk over its channels.
std::string match_layer(const ir::Graph& g, const WeightLayer& wl, const Options& opt, Plan& p) {
  ir::Node& n = *wl.node;
  p.layer = wl;
  p.channels = wl.out_channels;
  if (matches_any(n, opt.exclude)) return "excluded";
  if (n.op_type == "ConvTranspose") return "ConvTranspose layers are not pruned";
  if (n.op_type == "Conv" && n.attr_int("group", 1) != 1)
    return "grouped Conv (group " + std::to_string(n.attr_int("group", 1)) + "): its channels follow the layer that feeds it";
  if (p.channels < 2) return "it has a single output channel";
  Layout l;
  if (n.op_type == "Conv") {
    l = {1, 1, static_cast<int64_t>(weight_of(g, wl).rank())};
    if (n.has_input(2)) {
      const ir::Tensor* b = constant_of(g, n.input(2));
      if (!b || b->numel() != p.channels) return "its bias is not a per-channel constant";
      p.edits.push_back({Edit::Kind::Slice, &n, 2, 0, 1});
    }
  } else if (n.op_type == "Gemm") {
    l = {1, 1, 2};
    if (n.has_input(2)) {
      const ir::Tensor* c = constant_of(g, n.input(2));
      if (!c) return "its bias C is not a constant";
      if (c->rank() > 2) return "its bias C has rank above 2";
      if (c->rank() >= 1 && c->dim(-1) != 1) {
        if (c->dim(-1) != p.channels) return "its bias C is not per output column";
        p.edits.push_back({Edit::Kind::Slice, &n, 2, static_cast<int64_t>(c->rank()) - 1, 1});
      }
    }
  } else {  // MatMul [.., K] x [K, N]
    const auto r = rank_of(g, n.outputs[0]);
    if (!r) return "the rank of its output is unknown";
    l = {*r - 1, 1, *r};
  }
  p.edits.push_back({Edit::Kind::Slice, &n, wl.weight_input, wl.out_axis, 1});
  return Tracer(g, p).run(n.outputs[0], l);
}

// ---------------------------------------------------------------------------------------------
// Ranking.

std::vector<double> norms(const ir::Graph& g, const WeightLayer& wl, bool squared) {
  const ir::Tensor& w = weight_of(g, wl);
  const float* d = w.data<float>();
  std::vector<double> s(static_cast<size_t>(wl.out_channels));
  for (int64_t c = 0; c < wl.out_channels; ++c) {
    double acc = 0;
    for (int64_t i : channel_indices(w, wl.out_axis, c)) acc += squared ? double(d[i]) * d[i] : std::fabs(double(d[i]));
    s[static_cast<size_t>(c)] = squared ? std::sqrt(acc) : acc;
  }
  return s;
}

// Runs the model on `calibration_samples` calibration samples, batch by batch, and hands every
// batch's values to `fn` (which keeps only running statistics).
void stream_calibration(const ir::Graph& g, const PassContext& ctx, const Options& opt, const std::string& what,
                        const std::function<void(const std::map<std::string, ir::Tensor>&)>& fn) {
  if (g.inputs.size() != 1)
    throw bad_input("{}: {} needs a model with one input, this one has {}", kPassName, what, g.inputs.size());
  // A model with a fixed batch size gets batches of exactly that size.
  int64_t batch = kCalibrationBatch;
  if (const ir::ValueInfo* vi = g.value_info(g.inputs[0]); vi && vi->shape && !vi->shape->empty() &&
                                                          (*vi->shape)[0].known() && (*vi->shape)[0].value > 0)
    batch = (*vi->shape)[0].value;
  runtime::ReferenceInterpreter interp(g);
  for_each_calibration_batch(ctx, kPassName, opt.calibration_samples, batch, opt.seed,
                             [&](const ir::Tensor& batch) {
    std::map<std::string, ir::Tensor> all;
    interp.run_keep_all(std::vector<ir::Tensor>{batch}, &all);
    fn(all);
  });
}

// APoZ of every plan that has an activation, from one streaming pass over calibration data.
void measure_apoz(const ir::Graph& g, const PassContext& ctx, const Options& opt, std::vector<Plan*>& plans) {
  struct Count {
    std::vector<int64_t> zeros, total;
  };
  std::map<Plan*, Count> counts;
  for (Plan* p : plans) counts[p] = {std::vector<int64_t>(static_cast<size_t>(p->channels)), std::vector<int64_t>(static_cast<size_t>(p->channels))};
  stream_calibration(g, ctx, opt, "criterion apoz", [&](const std::map<std::string, ir::Tensor>& all) {
    for (Plan* p : plans) {
      auto it = all.find(p->activation);
      if (it == all.end()) throw internal_error("{}: activation '{}' was not computed", kPassName, p->activation);
      const ir::Tensor& t = it->second;
      const Layout& l = p->activation_layout;
      if (t.dtype() != ir::DType::Float32 || static_cast<int64_t>(t.rank()) != l.rank) continue;
      int64_t inner = 1;
      for (int64_t a = l.axis + 1; a < l.rank; ++a) inner *= t.dim(a);
      const int64_t extent = t.dim(l.axis);
      const float* d = t.data<float>();
      Count& cnt = counts[p];
      for (int64_t i = 0; i < t.numel(); ++i) {
        const size_t c = static_cast<size_t>(((i / inner) % extent) / l.block);
        cnt.zeros[c] += d[i] == 0.0f;
        cnt.total[c] += 1;
      }
    }
  });
  for (Plan* p : plans) {
    const Count& cnt = counts[p];
    p->scores.assign(static_cast<size_t>(p->channels), 0.0);
    for (size_t c = 0; c < p->scores.size(); ++c)
      p->scores[c] = cnt.total[c] ? static_cast<double>(cnt.zeros[c]) / static_cast<double>(cnt.total[c]) : 0.0;
  }
}

// Per-entry means of the values the absorbing layers of `plans` read (compensate "mean"), from
// one streaming pass: only per-entry running sums are kept.
void measure_means(const ir::Graph& g, const PassContext& ctx, const Options& opt, const std::vector<Plan*>& plans) {
  for (Plan* p : plans)
    for (Absorber& a : p->absorbers) a.sums.assign(static_cast<size_t>(p->channels * a.layout.block), 0.0);
  stream_calibration(g, ctx, opt, "compensate mean", [&](const std::map<std::string, ir::Tensor>& all) {
    for (Plan* p : plans) {
      for (Absorber& a : p->absorbers) {
        auto it = all.find(a.value);
        if (it == all.end()) throw internal_error("{}: value '{}' was not computed", kPassName, a.value);
        const ir::Tensor& t = it->second;
        const Layout& l = a.layout;
        if (t.dtype() != ir::DType::Float32 || static_cast<int64_t>(t.rank()) != l.rank ||
            t.dim(l.axis) != static_cast<int64_t>(a.sums.size()) || t.numel() == 0)
          continue;
        int64_t inner = 1;
        for (int64_t ax = l.axis + 1; ax < l.rank; ++ax) inner *= t.dim(ax);
        const int64_t extent = t.dim(l.axis);
        const float* d = t.data<float>();
        for (int64_t i = 0; i < t.numel(); ++i) a.sums[static_cast<size_t>((i / inner) % extent)] += d[i];
        a.count += t.numel() / extent;
      }
    }
  });
  for (Plan* p : plans) {
    for (Absorber& a : p->absorbers) {
      if (a.count == 0) continue;
      a.means.resize(a.sums.size());
      for (size_t i = 0; i < a.sums.size(); ++i) a.means[i] = a.sums[i] / static_cast<double>(a.count);
      a.sums.clear();
      a.sums.shrink_to_fit();
    }
  }
}

// Chooses the channels to remove: the smallest norms, or the largest APoZ (ties: smaller l1).
void choose(const ir::Graph& g, const Options& opt, Plan& p) {
  const std::vector<double> l1 = norms(g, p.layer, false);
  std::vector<int64_t> order(static_cast<size_t>(p.channels));
  std::iota(order.begin(), order.end(), 0);
  const bool apoz = p.criterion == "apoz";
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    const double sa = p.scores[static_cast<size_t>(a)], sb = p.scores[static_cast<size_t>(b)];
    if (sa != sb) return apoz ? sa > sb : sa < sb;
    return apoz && l1[static_cast<size_t>(a)] < l1[static_cast<size_t>(b)];
  });
  const int64_t remove = std::min<int64_t>(static_cast<int64_t>(std::floor(opt.ratio * static_cast<double>(p.channels) + 1e-9)),
                                           p.channels - 1);
  p.removed.assign(order.begin(), order.begin() + remove);
  p.kept.assign(order.begin() + remove, order.end());
  std::sort(p.removed.begin(), p.removed.end());
  std::sort(p.kept.begin(), p.kept.end());
}

// ---------------------------------------------------------------------------------------------
// Apply.

// The entries `keep` of `t` along `axis` (any dtype).
ir::Tensor slice_axis(const ir::Tensor& t, int64_t axis, const std::vector<int64_t>& keep) {
  int64_t outer = 1, inner = 1;
  for (int64_t a = 0; a < axis; ++a) outer *= t.dim(a);
  for (int64_t a = axis + 1; a < static_cast<int64_t>(t.rank()); ++a) inner *= t.dim(a);
  const int64_t m = t.dim(axis), k = static_cast<int64_t>(keep.size());
  ir::Shape shape = t.shape();
  shape[static_cast<size_t>(axis)] = k;
  ir::Tensor out = ir::Tensor::zeros(t.dtype(), shape);
  const size_t row = static_cast<size_t>(inner) * ir::dtype_size(t.dtype());
  const char* src = static_cast<const char*>(t.raw());
  char* dst = static_cast<char*>(out.raw());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < k; ++i)
      std::memcpy(dst + static_cast<size_t>(o * k + i) * row, src + static_cast<size_t>(o * m + keep[static_cast<size_t>(i)]) * row, row);
  return out;
}

std::string base_name(const std::string& old) {
  const size_t at = old.find("_pruned");
  return (at == std::string::npos ? old : old.substr(0, at)) + "_pruned";
}

void apply_edit(ir::Graph& g, const Edit& e, const std::vector<int64_t>& kept) {
  ir::Node& n = *e.node;
  const int64_t count = static_cast<int64_t>(kept.size());
  if (e.kind == Edit::Kind::Group) {
    n.attrs["group"] = ir::Attribute::of_int(count);
    return;
  }
  const ir::Tensor* t = constant_of(g, n.input(e.input));
  if (!t) throw internal_error("{}: input {} of {} is no longer a constant", kPassName, e.input, n.label());
  ir::Tensor out;
  if (e.kind == Edit::Kind::ReshapeDim) {
    std::vector<int64_t> shape = t->to_int64_vector();
    shape[1] = count * e.block;
    out = ir::Tensor::from_vector<int64_t>(t->shape(), shape);
  } else {
    std::vector<int64_t> pos;
    pos.reserve(kept.size() * static_cast<size_t>(e.block));
    for (int64_t c : kept)
      for (int64_t j = 0; j < e.block; ++j) pos.push_back(c * e.block + j);
    out = slice_axis(*t, e.axis, pos);
  }
  set_constant_input(g, n, e.input, base_name(n.input(e.input)), std::move(out));
}

// ---------------------------------------------------------------------------------------------
// Mean compensation (before any slicing: every tensor still has its original shape).

// Makes the plan that prunes `n`'s own outputs slice its input `input` on `axis` (a bias the
// compensation created or widened).
void ensure_slice(std::vector<Plan>& plans, ir::Node& n, size_t input, int64_t axis) {
  for (Plan& q : plans) {
    if (q.layer.node != &n || !q.reason.empty() || q.removed.empty()) continue;
    std::erase_if(q.edits, [&](const Edit& e) { return e.kind == Edit::Kind::Slice && e.node == &n && e.input == input; });
    q.edits.push_back({Edit::Kind::Slice, &n, input, axis, 1});
  }
}

// Conv (group 1): b'[m] = b[m] + sum_{c removed} mu_c * sum_k W[m, c, k].
std::string compensate_conv(ir::Graph& g, const Plan& p, Absorber& a, std::vector<Plan>& plans) {
  ir::Node& n = *a.node;
  const ir::Tensor* w = constant_of(g, n.input(1));
  if (!w || w->dtype() != ir::DType::Float32) return "its weight is not a float32 constant";
  const int64_t m_count = w->dim(0), c_count = w->dim(1), k_count = w->numel() / std::max<int64_t>(1, m_count * c_count);
  std::vector<float> bias(static_cast<size_t>(m_count), 0.0f);
  const bool had_bias = n.has_input(2);
  if (had_bias) {
    const ir::Tensor* b = constant_of(g, n.input(2));
    if (!b || b->dtype() != ir::DType::Float32 || b->numel() != m_count) return "its bias is not a float32 per-channel constant";
    std::memcpy(bias.data(), b->data<float>(), bias.size() * sizeof(float));
  }
  const float* wd = w->data<float>();
  for (int64_t m = 0; m < m_count; ++m) {
    double acc = 0;
    for (int64_t c : p.removed) {
      double s = 0;
      for (int64_t k = 0; k < k_count; ++k) s += wd[(m * c_count + c) * k_count + k];
      acc += a.means[static_cast<size_t>(c)] * s;
    }
    bias[static_cast<size_t>(m)] += static_cast<float>(acc);
  }
  const std::string base = had_bias ? base_name(n.input(2)) : display_name(n) + "_bias";
  set_constant_input(g, n, 2, base, ir::Tensor::from_vector<float>({m_count}, bias));
  if (!had_bias) ensure_slice(plans, n, 2, 0);
  return "";
}

// The lost contribution to every output column n: sum_{j removed} mu_j * B'[j, n].
std::vector<double> dense_shift(const ir::Tensor& b, int64_t k_axis, const Plan& p, const Absorber& a) {
  const int64_t n_count = b.dim(1 - k_axis), block = a.layout.block;
  const float* bd = b.data<float>();
  std::vector<double> shift(static_cast<size_t>(n_count), 0.0);
  for (int64_t c : p.removed)
    for (int64_t t = 0; t < block; ++t) {
      const int64_t j = c * block + t;
      const double mu = a.means[static_cast<size_t>(j)];
      for (int64_t col = 0; col < n_count; ++col)
        shift[static_cast<size_t>(col)] += mu * bd[k_axis == 0 ? j * n_count + col : col * b.dim(1) + j];
    }
  return shift;
}

// Gemm: Y = alpha A B' + beta C, so C' = C + alpha * shift / beta (C created, beta := 1, when
// there is none or beta is 0).
std::string compensate_gemm(ir::Graph& g, const Plan& p, Absorber& a, std::vector<Plan>& plans) {
  ir::Node& n = *a.node;
  const ir::Tensor* b = constant_of(g, n.input(1));
  if (!b || b->dtype() != ir::DType::Float32) return "its weight is not a float32 constant";
  const std::vector<double> shift = dense_shift(*b, a.k_axis, p, a);
  const int64_t n_count = static_cast<int64_t>(shift.size());
  const double alpha = n.attr_float("alpha", 1.0f);
  double beta = n.attr_float("beta", 1.0f);
  const ir::Tensor* c = n.has_input(2) ? constant_of(g, n.input(2)) : nullptr;
  if (n.has_input(2) && !c) return "its bias C is not a constant";
  if (c && (c->dtype() != ir::DType::Float32 || c->rank() > 2)) return "its bias C is not a float32 constant of rank <= 2";
  if (beta == 0.0) c = nullptr;  // C is ignored: replace it
  const int64_t rows = c && c->rank() == 2 ? c->dim(0) : 1;
  const ir::Shape shape = c && c->rank() == 2 ? ir::Shape{rows, n_count} : ir::Shape{n_count};
  std::vector<float> out(static_cast<size_t>(rows * n_count));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t col = 0; col < n_count; ++col) {
      double v = 0;
      if (c) {
        const int64_t cc = c->rank() == 0 || c->dim(-1) == 1 ? 0 : col;
        v = c->get_as_double(c->rank() == 2 ? r * c->dim(1) + cc : cc);
      }
      out[static_cast<size_t>(r * n_count + col)] = static_cast<float>(v + alpha * shift[static_cast<size_t>(col)] / (c ? beta : 1.0));
    }
  const std::string base = n.has_input(2) ? base_name(n.input(2)) : display_name(n) + "_bias";
  if (!c) n.attrs["beta"] = ir::Attribute::of_float(1.0f);
  set_constant_input(g, n, 2, base, ir::Tensor::from_vector<float>(shape, out));
  ensure_slice(plans, n, 2, static_cast<int64_t>(shape.size()) - 1);
  return "";
}

// MatMul: the shift goes into the per-column constant of the Add that follows it.
std::string compensate_matmul(ir::Graph& g, const Plan& p, Absorber& a) {
  ir::Node& n = *a.node;
  const ir::Tensor* b = constant_of(g, n.input(1));
  if (!b || b->dtype() != ir::DType::Float32) return "its weight is not a float32 constant";
  const std::string no_bias = "no Add with a per-column constant bias follows it";
  const std::string& y = n.outputs[0];
  const auto consumers = g.consumers(y);
  if (g.is_graph_output(y) || consumers.size() != 1) return no_bias;
  ir::Node& add = *consumers[0];
  if (add.op_type != "Add" || !add.domain.empty() || add.inputs.size() != 2 || add.inputs[0] == add.inputs[1]) return no_bias;
  const size_t at = add.inputs[0] == y ? 1 : 0;
  const ir::Tensor* c = constant_of(g, add.inputs[at]);
  const std::vector<double> shift = dense_shift(*b, a.k_axis, p, a);
  const int64_t n_count = static_cast<int64_t>(shift.size());
  if (!c || c->dtype() != ir::DType::Float32 || c->rank() == 0 || c->dim(-1) != n_count || c->numel() != n_count) return no_bias;
  ir::Tensor out = c->clone();
  for (int64_t col = 0; col < n_count; ++col)
    out.data<float>()[col] = static_cast<float>(out.data<float>()[col] + shift[static_cast<size_t>(col)]);
  set_constant_input(g, add, at, base_name(add.inputs[at]), std::move(out));
  return "";
}

void compensate(ir::Graph& g, Plan& p, std::vector<Plan>& plans) {
  for (Absorber& a : p.absorbers) {
    if (a.means.empty()) {
      a.reason = "no calibration statistics for '" + a.value + "'";
      continue;
    }
    const std::string& op = a.node->op_type;
    a.reason = op == "Conv" ? compensate_conv(g, p, a, plans) : op == "Gemm" ? compensate_gemm(g, p, a, plans) : compensate_matmul(g, p, a);
    a.compensated = a.reason.empty();
  }
}

void apply(ir::Graph& g, const Plan& p) {
  for (const Edit& e : p.edits) apply_edit(g, e, p.kept);
  const int64_t count = static_cast<int64_t>(p.kept.size());
  for (const auto& [name, l] : p.values) {
    auto it = g.values.find(name);
    if (it == g.values.end() || !it->second.shape || static_cast<int64_t>(it->second.shape->size()) != l.rank) continue;
    (*it->second.shape)[static_cast<size_t>(l.axis)] = {count * l.block, ""};
  }
}

// Constant nodes whose output nothing reads any more (their tensor was replaced).
void remove_dead_constants(ir::Graph& g) {
  std::vector<const ir::Node*> dead;
  for (const auto& n : g.nodes)
    if (n->op_type == "Constant" && n->domain.empty() && !used(g, n->outputs.at(0))) dead.push_back(n.get());
  for (const ir::Node* n : dead) g.remove_node(n);
}

int64_t parameter_count(const ir::Graph& g) {
  int64_t n = 0;
  for (const auto& [name, t] : g.initializers) n += t.numel();
  return n;
}

json score_range(const std::vector<double>& s, const std::vector<int64_t>& idx) {
  if (idx.empty()) return nullptr;
  double lo = s[static_cast<size_t>(idx[0])], hi = lo;
  for (int64_t i : idx) {
    lo = std::min(lo, s[static_cast<size_t>(i)]);
    hi = std::max(hi, s[static_cast<size_t>(i)]);
  }
  return json::array({lo, hi});
}

json layer_report(const Plan& p, bool compensate) {
  std::vector<int64_t> all(static_cast<size_t>(p.channels));
  std::iota(all.begin(), all.end(), 0);
  json j = {{"node", display_name(*p.layer.node)},
            {"op", p.layer.node->op_type},
            {"channels_before", p.channels},
            {"channels_after", static_cast<int64_t>(p.kept.size())},
            {"removed", p.removed},
            {"criterion", p.criterion},
            {"score_range", score_range(p.scores, all)},
            {"removed_score_range", score_range(p.scores, p.removed)},
            {"follows", p.follows}};
  if (!p.activation.empty() && p.criterion == "apoz") j["activation"] = p.activation;
  if (!p.note.empty()) j["note"] = p.note;
  if (compensate) {
    bool all = !p.absorbers.empty();
    std::vector<double> mu;  // per removed channel (mean over its block), every absorber
    json per = json::array();
    for (const Absorber& a : p.absorbers) {
      all = all && a.compensated;
      json e = {{"consumer", display_name(*a.node)}, {"value", a.value}, {"compensated", a.compensated}};
      if (!a.compensated) e["reason"] = a.reason;
      std::vector<double> own;
      for (int64_t c : p.removed) {
        if (a.means.empty()) break;
        double s = 0;
        for (int64_t t = 0; t < a.layout.block; ++t) s += a.means[static_cast<size_t>(c * a.layout.block + t)];
        own.push_back(s / static_cast<double>(a.layout.block));
      }
      if (!own.empty()) {
        e["mean_range"] = {*std::min_element(own.begin(), own.end()), *std::max_element(own.begin(), own.end())};
        mu.insert(mu.end(), own.begin(), own.end());
      }
      per.push_back(std::move(e));
    }
    j["compensated"] = all;
    j["removed_mean_range"] = mu.empty() ? json(nullptr)
                                         : json::array({*std::min_element(mu.begin(), mu.end()), *std::max_element(mu.begin(), mu.end())});
    j["compensation"] = std::move(per);
  }
  return j;
}

class PruneChannels final : public Pass {
 public:
  explicit PruneChannels(Options opt) : opt_(std::move(opt)) {}
  std::string name() const override { return kPassName; }

  json run(ir::Model& model, const PassContext& ctx) override {
    ir::Graph& g = model.graph;
    const int64_t params_before = parameter_count(g);

    // Match.
    std::vector<Plan> plans;
    json skipped = json::array();
    for (const WeightLayer& wl : weight_layers(g)) {
      Plan p;
      p.reason = match_layer(g, wl, opt_, p);
      plans.push_back(std::move(p));
    }
    std::vector<Plan*> apoz;
    for (Plan& p : plans) {
      if (!p.reason.empty()) continue;
      p.criterion = opt_.criterion;
      if (p.criterion == "apoz" && p.activation.empty()) {
        p.criterion = "l1";
        p.note = "no ReLU (or Clip with min 0) follows it: ranked by l1 instead of apoz";
      }
      if (p.criterion == "apoz") apoz.push_back(&p);
      else p.scores = norms(g, p.layer, p.criterion == "l2");
    }
    if (!apoz.empty() && opt_.ratio > 0) measure_apoz(g, ctx, opt_, apoz);
    else if (opt_.criterion == "apoz" && opt_.ratio > 0) {
      // No layer to measure, but a missing data source is still the user's error to hear about.
      for_each_calibration_batch(ctx, kPassName, 1, 1, opt_.seed, [](const ir::Tensor&) {});
    }
    for (Plan* p : apoz)
      if (p->scores.empty()) p->scores.assign(static_cast<size_t>(p->channels), 0.0);
    for (Plan& p : plans)
      if (p.reason.empty()) choose(g, opt_, p);
    const bool mean = opt_.compensate == "mean" && opt_.ratio > 0;
    if (mean) {
      std::vector<Plan*> measured;
      for (Plan& p : plans)
        if (p.reason.empty() && !p.removed.empty() && !p.absorbers.empty()) measured.push_back(&p);
      if (!measured.empty()) measure_means(g, ctx, opt_, measured);
      else for_each_calibration_batch(ctx, kPassName, 1, 1, opt_.seed, [](const ir::Tensor&) {});  // still needs data
    }

    // Which grouped Convs follow a layer that is pruned (they are not "skipped").
    std::set<std::string> followers;
    for (const Plan& p : plans)
      if (p.reason.empty() && !p.removed.empty()) followers.insert(p.follows.begin(), p.follows.end());

    json layers = json::array();
    int64_t removed_total = 0;
    for (const Plan& p : plans) {
      const ir::Node& n = *p.layer.node;
      if (!p.reason.empty()) {
        // A depthwise Conv that shrank with the layer feeding it was not skipped.
        if (n.attr_int("group", 1) == 1 || !followers.count(n.label()))
          skipped.push_back({{"node", display_name(n)}, {"op", n.op_type}, {"reason", p.reason}});
      } else if (p.removed.empty()) {
        skipped.push_back({{"node", display_name(n)}, {"op", n.op_type},
                           {"reason", fmt::format("ratio {} of {} channels rounds down to 0", opt_.ratio, p.channels)}});
      } else {
        removed_total += static_cast<int64_t>(p.removed.size());
      }
    }

    // Apply.
    if (removed_total > 0) {
      if (mean)
        for (Plan& p : plans)
          if (p.reason.empty() && !p.removed.empty()) compensate(g, p, plans);
      for (const Plan& p : plans) {
        if (!p.reason.empty() || p.removed.empty()) continue;
        layers.push_back(layer_report(p, opt_.compensate == "mean"));
        apply(g, p);
      }
      g.remove_unused();
      remove_dead_constants(g);
      g.remove_unused();
      ir::infer_shapes(model);
    }
    return {{"layers", layers},
            {"skipped", skipped},
            {"channels_removed", removed_total},
            {"parameters_before", params_before},
            {"parameters_after", parameter_count(g)}};
  }

 private:
  Options opt_;
};

}  // namespace

pipeline::Registration prune_channels_registration() {
  using pipeline::ParamType;
  pipeline::ComponentSpec spec;
  spec.name = kPassName;
  spec.description =
      "Structured pruning: physically remove the lowest-ranked output channels of Conv / Gemm / MatMul "
      "layers (L1, L2 or APoZ), with the matching BatchNorm, depthwise and next-layer input channels";
  spec.params = {
      {"ratio", ParamType::Float, 0.25, false, 0.0, 1.0, {},
       "fraction of each prunable layer's output channels to remove (rounded down; at least one channel "
       "is kept); must be below 1"},
      {"criterion", ParamType::String, "l1", false, {}, {}, {"l1", "l2", "apoz"},
       "channel ranking: L1 or L2 norm of the filter (smallest removed first), or APoZ on calibration "
       "data (highest removed first)"},
      {"calibration_samples", ParamType::Int, 256, false, 1.0, {}, {},
       "calibration samples for APoZ and for compensate mean"},
      {"exclude", ParamType::StringList, json::array(), false, {}, {}, {},
       "node names or op types whose output channels are kept"},
      {"seed", ParamType::Int, 0, false, 0.0, {}, {}, "seed of the calibration sample draw"},
      {"compensate", ParamType::String, "none", false, {}, {}, {"none", "mean"},
       "mean: fold the calibration-data mean of every removed channel (at the input of the layer that "
       "drops it) into that layer's bias, instead of treating the channel as 0"},
  };
  spec.repeatable = true;  // a second run prunes the already pruned model further
  return pipeline::make_registration<Pass>(
      std::move(spec), [](const json& p, const pipeline::BuildContext& bc) {
        Options opt;
        opt.ratio = p.at("ratio").get<double>();
        if (opt.ratio >= 1.0) {
          throw bad_input("{}{}ratio: prune_channels needs a ratio in [0, 1) (at least one channel of each "
                          "layer is kept), got {}", bc.json_path, bc.json_path.empty() ? "" : "/", opt.ratio);
        }
        opt.criterion = p.at("criterion").get<std::string>();
        opt.calibration_samples = p.at("calibration_samples").get<int64_t>();
        opt.exclude = p.at("exclude").get<std::vector<std::string>>();
        opt.seed = p.at("seed").get<uint64_t>();
        opt.compensate = p.at("compensate").get<std::string>();
        return std::make_unique<PruneChannels>(std::move(opt));
      });
}

}  // namespace hone::passes
