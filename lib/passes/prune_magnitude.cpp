// `prune_magnitude` (level pruner, seeds 000/001/004): zeroes the weights of smallest magnitude
// in Conv, ConvTranspose, Gemm and MatMul layers (the weight input only, never biases).
// Post-training: no retraining; the pipeline measures what the zeros cost in accuracy.
//
// Criteria (n = weights of one layer, N = weights of all eligible layers):
//   scope "layer":  per layer, the k = round(sparsity * n) weights of smallest |w| become 0
//   scope "global": the k = round(sparsity * N) weights of smallest |w| over all eligible
//                   layers become 0 (one threshold, so layers end up with different sparsities)
//   threshold_sigma = s (sparsity and scope are then ignored), per layer (seed 001):
//                   lambda = s * sigma_l,  w' = (|w| > lambda) ? w : 0
//                   sigma_l = sqrt(sum((w - mean)^2) / (n - 1)) of the layer's current weights
//                   (the sample standard deviation, as torch.std in Distiller's sensitivity pruner)
// Weights already zero have |w| = 0 and so are counted among the k: the achieved sparsity
// equals the target up to rounding (exactly round(sparsity * n) zeros), unless the layer was
// already sparser (pruning never restores a weight). Ties at the threshold are broken by
// position (graph order of the layers, then flat index), so results are deterministic.
// A NaN weight is never pruned.
//
// Weights: a weight initializer read by several eligible layers is pruned once (one report
// entry naming every node); one also read by anything else (an excluded layer, another op, a
// non-weight input, a graph output) is left alone and reported under "skipped", so a shared
// tensor never changes under a node that did not ask for it. A pruned weight keeps its
// initializer name. Layers are eligible unless excluded by name/op (`exclude`), by
// `exclude_first_last` (first and last weight layer in graph order), or smaller than `min_size`.
#include "passes/pass.h"
#include "passes/pass_util.h"
#include "passes/passes.h"
#include "support/error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>

namespace hone::passes {

namespace {

using nlohmann::json;

struct Options {
  double sparsity = 0.5;
  bool global = false;
  std::optional<double> sigma;  // threshold_sigma; unset: prune to `sparsity`
  bool exclude_first_last = false;
  std::vector<std::string> exclude;
  int64_t min_size = 0;
};

// One weight tensor to prune and the layers that read it.
struct Target {
  std::string init;
  std::vector<const ir::Node*> nodes;
};

struct Plan {
  std::vector<Target> targets;
  json skipped = json::array();
  std::vector<std::string> all_weights;  // every weight-layer weight, once, in graph order
};

Plan match(const ir::Graph& g, const Options& o) {
  const std::vector<WeightLayer> layers = weight_layers(g);
  Plan plan;
  const std::vector<WeightTensor> tensors = weight_tensors(layers);
  for (const WeightTensor& wt : tensors) plan.all_weights.push_back(wt.init);
  for (const WeightTensor& wt : tensors) {
    const std::string& w = wt.init;
    const std::vector<size_t>& idx = wt.layers;
    std::vector<const ir::Node*> users;
    std::string reason;
    for (size_t i : idx) {
      users.push_back(layers[i].node);
      const std::string why = exclusion_reason(layers, i, o.exclude, o.exclude_first_last);
      if (!why.empty() && reason.empty()) {
        reason = idx.size() == 1 ? why : "the weight is shared with " + layers[i].node->label() + ", " + why;
      }
    }
    if (reason.empty()) reason = sharing_problem(g, w, users);
    const int64_t n = g.initializer(w)->numel();
    if (reason.empty() && n < o.min_size) reason = fmt::format("{} weights, fewer than min_size {}", n, o.min_size);
    if (reason.empty() && n == 0) reason = "the weight is empty";
    if (reason.empty()) {
      plan.targets.push_back({w, users});
      continue;
    }
    for (const ir::Node* u : users)
      plan.skipped.push_back({{"node", u->name}, {"op", u->op_type}, {"weights", n}, {"reason", reason}});
  }
  return plan;
}

// |w| as the ranking key; NaN ranks above everything, so it is never pruned.
float magnitude(float w) { return std::isnan(w) ? std::numeric_limits<float>::infinity() : std::fabs(w); }

int64_t count_zeros(const ir::Tensor& t) {
  return std::count(t.data<float>(), t.data<float>() + t.numel(), 0.0f);
}

// The k-th smallest magnitude (1-based) of `keys`; keys are reordered.
float kth_smallest(std::vector<float>& keys, int64_t k) {
  std::nth_element(keys.begin(), keys.begin() + (k - 1), keys.end());
  return keys[static_cast<size_t>(k - 1)];
}

// The zero mask of one weight: true where the weight becomes 0.
using Mask = std::vector<char>;

// Marks every |w| < t; returns how many.
int64_t mark_below(const ir::Tensor& w, float t, Mask& mask) {
  int64_t marked = 0;
  const float* d = w.data<float>();
  for (int64_t i = 0; i < w.numel(); ++i) {
    if (magnitude(d[i]) < t) {
      mask[static_cast<size_t>(i)] = 1;
      ++marked;
    }
  }
  return marked;
}
// Marks |w| == t in index order until `budget` is spent; returns what is left of it.
int64_t mark_ties(const ir::Tensor& w, float t, int64_t budget, Mask& mask) {
  const float* d = w.data<float>();
  for (int64_t i = 0; i < w.numel() && budget > 0; ++i) {
    if (magnitude(d[i]) == t && !mask[static_cast<size_t>(i)]) {
      mask[static_cast<size_t>(i)] = 1;
      --budget;
    }
  }
  return budget;
}

// Masks zeroing exactly the k smallest magnitudes over `ws` (together); threshold out.
std::vector<Mask> smallest_k(const std::vector<const ir::Tensor*>& ws, int64_t k, float* threshold) {
  std::vector<Mask> masks;
  std::vector<float> keys;
  for (const ir::Tensor* w : ws) {
    masks.emplace_back(static_cast<size_t>(w->numel()), 0);
    for (float v : w->span<float>()) keys.push_back(magnitude(v));
  }
  *threshold = 0.0f;
  if (k <= 0) return masks;
  const float t = kth_smallest(keys, k);
  *threshold = t;
  int64_t budget = k;
  for (size_t i = 0; i < ws.size(); ++i) budget -= mark_below(*ws[i], t, masks[i]);
  for (size_t i = 0; i < ws.size(); ++i) budget = mark_ties(*ws[i], t, budget, masks[i]);
  return masks;
}

double sample_std(const ir::Tensor& w) {
  const int64_t n = w.numel();
  if (n < 2) return 0.0;
  double mean = 0;
  for (float v : w.span<float>()) mean += v;
  mean /= static_cast<double>(n);
  double ss = 0;
  for (float v : w.span<float>()) ss += (v - mean) * (v - mean);
  return std::sqrt(ss / static_cast<double>(n - 1));
}

// Zeroes the masked weights of initializer `name` (a new tensor under the same name, so
// copies of the model that alias the old storage keep their weights).
void apply_mask(ir::Graph& g, const std::string& name, const Mask& mask) {
  const ir::Tensor& old = *g.initializer(name);
  const float* d = old.data<float>();
  bool changes = false;
  for (size_t i = 0; i < mask.size() && !changes; ++i) changes = mask[i] && d[i] != 0.0f;
  if (!changes) return;
  ir::Tensor w = old.clone();
  float* wd = w.data<float>();
  for (size_t i = 0; i < mask.size(); ++i) {
    if (mask[i]) wd[i] = 0.0f;
  }
  g.initializers[name] = std::move(w);
}

json layer_entry(const ir::Graph& g, const Target& t, int64_t zeros_before, double threshold) {
  const ir::Tensor& w = *g.initializer(t.init);
  const int64_t zeros_after = count_zeros(w);
  json e = {{"node", t.nodes[0]->name},
            {"op", t.nodes[0]->op_type},
            {"initializer", t.init},
            {"weights", w.numel()},
            {"zeros_before", zeros_before},
            {"zeros_after", zeros_after},
            {"sparsity", static_cast<double>(zeros_after) / static_cast<double>(w.numel())},
            {"threshold", threshold}};
  if (t.nodes.size() > 1) {
    json shared = json::array();
    for (size_t i = 1; i < t.nodes.size(); ++i) shared.push_back(t.nodes[i]->name);
    e["shared_with"] = shared;
  }
  return e;
}

std::string criterion(const Options& o) {
  if (o.sigma) return fmt::format("per layer |w| <= lambda = {} * sigma_layer", *o.sigma);
  return o.global ? fmt::format("global: the {} of all eligible weights with smallest |w|", o.sparsity)
                  : fmt::format("per layer: the {} of each layer's weights with smallest |w|", o.sparsity);
}

class PruneMagnitude final : public Pass {
 public:
  explicit PruneMagnitude(Options o) : o_(std::move(o)) {}
  std::string name() const override { return "prune_magnitude"; }

  json run(ir::Model& model, const PassContext&) override {
    ir::Graph& g = model.graph;
    const Plan plan = match(g, o_);
    std::vector<int64_t> zeros_before;
    std::vector<const ir::Tensor*> ws;
    int64_t eligible = 0;
    for (const Target& t : plan.targets) {
      ws.push_back(g.initializer(t.init));
      zeros_before.push_back(count_zeros(*ws.back()));
      eligible += ws.back()->numel();
    }
    // Decide every mask before changing any tensor (the pointers in `ws` stay valid).
    std::vector<Mask> masks;
    std::vector<double> thresholds;
    json extra = json::object();
    if (o_.sigma) {
      for (const ir::Tensor* w : ws) {
        const double sigma = sample_std(*w);
        const double lambda = *o_.sigma * sigma;
        Mask m(static_cast<size_t>(w->numel()), 0);
        const float* d = w->data<float>();
        for (int64_t i = 0; i < w->numel(); ++i) m[static_cast<size_t>(i)] = magnitude(d[i]) <= lambda;
        masks.push_back(std::move(m));
        thresholds.push_back(lambda);
      }
    } else if (o_.global) {
      const int64_t k = std::llround(o_.sparsity * static_cast<double>(eligible));
      float t = 0;
      masks = smallest_k(ws, k, &t);
      thresholds.assign(ws.size(), t);
      extra["threshold"] = t;
      extra["target_zeros"] = k;
    } else {
      for (const ir::Tensor* w : ws) {
        float t = 0;
        masks.push_back(smallest_k({w}, std::llround(o_.sparsity * static_cast<double>(w->numel())), &t).front());
        thresholds.push_back(t);
      }
    }
    json layers = json::array();
    for (size_t i = 0; i < plan.targets.size(); ++i) {
      const double sigma = o_.sigma ? sample_std(*ws[i]) : 0.0;
      apply_mask(g, plan.targets[i].init, masks[i]);
      layers.push_back(layer_entry(g, plan.targets[i], zeros_before[i], thresholds[i]));
      if (o_.sigma) layers.back()["sigma"] = sigma;
      ws[i] = nullptr;  // the tensor may have been replaced
    }
    return summary(g, plan, layers, eligible, extra);
  }

 private:
  json summary(const ir::Graph& g, const Plan& plan, const json& layers, int64_t eligible, json extra) const {
    int64_t eligible_zeros = 0, all = 0, all_zeros = 0;
    for (const json& l : layers) eligible_zeros += l["zeros_after"].get<int64_t>();
    for (const std::string& w : plan.all_weights) {
      all += g.initializer(w)->numel();
      all_zeros += count_zeros(*g.initializer(w));
    }
    auto ratio = [](int64_t a, int64_t b) { return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b); };
    json out = {{"criterion", criterion(o_)},
                {"layers", layers},
                {"skipped", plan.skipped},
                {"eligible_weights", eligible},
                {"eligible_zeros", eligible_zeros},
                {"sparsity_eligible", ratio(eligible_zeros, eligible)},
                {"all_weights", all},
                {"all_zeros", all_zeros},
                {"sparsity_all_weights", ratio(all_zeros, all)}};
    out.update(extra);
    return out;
  }

  Options o_;
};

// `json_path`: the parameters' JSON pointer, for errors ("" outside a pipeline).
Options parse(const json& p, const std::string& json_path) {
  Options o;
  o.sparsity = p.at("sparsity").get<double>();
  if (o.sparsity >= 1.0) {
    throw bad_input("prune_magnitude: sparsity must be below 1 (got {}); 1 would zero every weight", o.sparsity)
        .with_json_path(json_path.empty() ? "sparsity" : json_path + "/sparsity");
  }
  o.global = p.at("scope").get<std::string>() == "global";
  if (!p.at("threshold_sigma").is_null()) o.sigma = p.at("threshold_sigma").get<double>();
  o.exclude_first_last = p.at("exclude_first_last").get<bool>();
  o.exclude = p.at("exclude").get<std::vector<std::string>>();
  o.min_size = p.at("min_size").get<int64_t>();
  return o;
}

}  // namespace

pipeline::Registration prune_magnitude_registration() {
  using pipeline::ParamSpec;
  using pipeline::ParamType;
  pipeline::ComponentSpec spec;
  spec.name = "prune_magnitude";
  spec.description =
      "Level pruner: zero the smallest-|w| weights of Conv/ConvTranspose/Gemm/MatMul layers to a target "
      "sparsity (per layer or global), or below lambda = s * sigma_layer";
  spec.params = {
      {"sparsity", ParamType::Float, 0.5, false, 0.0, 1.0, {},
       "fraction of weights to zero, in [0, 1): exactly round(sparsity * n) per layer (or over all "
       "eligible weights with scope global); ignored when threshold_sigma is set"},
      {"scope", ParamType::String, "layer", false, std::nullopt, std::nullopt, {"layer", "global"},
       "layer: every layer reaches the sparsity; global: one threshold over all eligible weights"},
      {"threshold_sigma", ParamType::Float, nullptr, false, 0.0, std::nullopt, {},
       "s: zero |w| <= s * (standard deviation of the layer's weights) per layer, instead of a sparsity"},
      {"exclude_first_last", ParamType::Bool, false, false, std::nullopt, std::nullopt, {},
       "leave the first and the last weight layer (graph order) dense"},
      {"exclude", ParamType::StringList, json::array(), false, std::nullopt, std::nullopt, {},
       "node names or op types to leave dense"},
      {"min_size", ParamType::Int, 0, false, 0.0, std::nullopt, {},
       "leave weights with fewer elements than this dense"},
  };
  spec.repeatable = true;  // iterative pruning: a later run can raise the sparsity
  return pipeline::make_registration<Pass>(std::move(spec), [](const json& p, const pipeline::BuildContext& ctx) {
    return std::make_unique<PruneMagnitude>(parse(p, ctx.json_path));
  });
}

}  // namespace hone::passes
