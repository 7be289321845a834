// `prune_n_m`: N:M semi-structured sparsity (seeds 000/004; NVIDIA Ampere's 2:4): in every
// group of m consecutive weights along the reduction (input) dimension at most n are nonzero.
// Post-training, no retraining: of each group the n weights of largest |w| are kept (ties:
// the lower index is kept; a NaN counts as largest), the other m - n become 0. Weights only,
// never biases.
//
// Grouping. A weight tensor is viewed as [outer, D, inner] around its reduction axis r
// (outer = product of the dims before r, D = dim r, inner = product of the dims after r);
// group (o, j, i), j < D/m, holds the flat indices
//     (o * D + j * m + t) * inner + i,   t = 0 .. m-1
//   Conv [M, C/g, k...]:          r = 1: for every output channel o and kernel position i,
//                                 m consecutive input channels (stride inner = prod(k)), as
//                                 Ampere's sparse convolution (implicit GEMM, K = C*kh*kw with C
//                                 innermost per kernel position) expects.
//   ConvTranspose [C, M/g, k...]: r = 0, input channels; groups must not straddle conv groups.
//   Gemm transB=1 [N, K]:         r = 1: contiguous along K.
//   Gemm transB=0 / MatMul [K, N]: r = 0: along K, stride N.
// A layer whose reduction length (per conv group) is not a multiple of m is skipped (no logical
// padding) and reported with the reason, as are excluded layers (`exclude`,
// `exclude_first_last`) and weights also read by something other than eligible layers with
// the same grouping. A weight shared by eligible layers with the same grouping is pruned once.
// Groups that already have fewer than n nonzeros stay as they are; so the sparsity of a dense
// layer is exactly 1 - n/m.
#include "passes/pass.h"
#include "passes/pass_util.h"
#include "passes/passes.h"
#include "support/error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace hone::passes {

namespace {

using nlohmann::json;

struct Options {
  int64_t n = 2;
  int64_t m = 4;
  std::vector<std::string> exclude;
  bool exclude_first_last = false;
};

// The [outer, D, inner] view of a weight around its reduction axis.
struct Layout {
  int64_t outer = 1, d = 1, inner = 1;
  int64_t segment = 0;  // reduction length per conv group (ConvTranspose), else d
  std::string axis;     // "C (axis 1)" for the report
};

Layout layout_of(const ir::Tensor& w, const WeightLayer& l) {
  Layout lay;
  for (int64_t a = 0; a < l.in_axis; ++a) lay.outer *= w.dim(a);
  lay.d = w.dim(l.in_axis);
  for (int64_t a = l.in_axis + 1; a < static_cast<int64_t>(w.rank()); ++a) lay.inner *= w.dim(a);
  lay.segment = lay.d;
  const std::string& op = l.node->op_type;
  if (op == "ConvTranspose") {
    const int64_t group = std::max<int64_t>(1, l.node->attr_int("group", 1));
    lay.segment = lay.d % group == 0 ? lay.d / group : 0;
  }
  lay.axis = (op == "Conv" || op == "ConvTranspose") ? "input channels (axis " + std::to_string(l.in_axis) + ")"
                                                     : "K (axis " + std::to_string(l.in_axis) + ")";
  return lay;
}

bool same_grouping(const Layout& a, const Layout& b) {
  return a.outer == b.outer && a.d == b.d && a.inner == b.inner && a.segment == b.segment;
}

struct Target {
  std::string init;
  std::vector<const ir::Node*> nodes;
  Layout layout;
};

struct Plan {
  std::vector<Target> targets;
  json skipped = json::array();
};

// Why a tensor with layout `lay` cannot take the n:m pattern, or "".
std::string layout_problem(const Layout& lay, const Options& o) {
  if (lay.outer * lay.d * lay.inner == 0) return "the weight is empty";
  if (lay.segment == 0) return "the input channels do not split evenly into the conv groups";
  if (lay.segment % o.m != 0) {
    return fmt::format("reduction length {} along {} is not a multiple of m = {}", lay.segment, lay.axis, o.m);
  }
  return "";
}

Plan match(const ir::Graph& g, const Options& o) {
  const std::vector<WeightLayer> layers = weight_layers(g);
  Plan plan;
  for (const WeightTensor& wt : weight_tensors(layers)) {
    const std::string& w = wt.init;
    const ir::Tensor& t = *g.initializer(w);
    const std::vector<size_t>& idx = wt.layers;
    const Layout lay = layout_of(t, layers[idx[0]]);
    std::vector<const ir::Node*> users;
    std::string reason;
    for (size_t i : idx) {
      users.push_back(layers[i].node);
      std::string why = exclusion_reason(layers, i, o.exclude, o.exclude_first_last);
      if (why.empty() && !same_grouping(lay, layout_of(t, layers[i])))
        why = "its reduction axis differs from that of " + layers[idx[0]].node->label();
      if (!why.empty() && reason.empty())
        reason = idx.size() == 1 ? why : "the weight is shared with " + layers[i].node->label() + ", " + why;
    }
    if (reason.empty()) reason = sharing_problem(g, w, users);
    if (reason.empty()) reason = layout_problem(lay, o);
    if (reason.empty()) {
      plan.targets.push_back({w, users, lay});
      continue;
    }
    for (const ir::Node* u : users)
      plan.skipped.push_back({{"node", u->name}, {"op", u->op_type}, {"weights", t.numel()}, {"reason", reason}});
  }
  return plan;
}

float magnitude(float w) { return std::isnan(w) ? std::numeric_limits<float>::infinity() : std::fabs(w); }

int64_t count_zeros(const ir::Tensor& t) {
  return std::count(t.data<float>(), t.data<float>() + t.numel(), 0.0f);
}

// Zeroes all but the n largest |w| of every group of `w` (in place); returns the group count.
int64_t prune_groups(ir::Tensor& w, const Layout& lay, const Options& o) {
  float* d = w.data<float>();
  std::vector<int64_t> idx(static_cast<size_t>(o.m));
  int64_t groups = 0;
  for (int64_t outer = 0; outer < lay.outer; ++outer) {
    for (int64_t j = 0; j < lay.d / o.m; ++j) {
      for (int64_t i = 0; i < lay.inner; ++i) {
        for (int64_t t = 0; t < o.m; ++t) idx[static_cast<size_t>(t)] = (outer * lay.d + j * o.m + t) * lay.inner + i;
        // Largest magnitude first; on ties the lower index first (idx is ascending).
        std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return magnitude(d[a]) > magnitude(d[b]); });
        for (size_t t = static_cast<size_t>(o.n); t < idx.size(); ++t) d[idx[t]] = 0.0f;
        ++groups;
      }
    }
  }
  return groups;
}

class PruneNM final : public Pass {
 public:
  explicit PruneNM(Options o) : o_(std::move(o)) {}
  std::string name() const override { return "prune_n_m"; }

  json run(ir::Model& model, const PassContext&) override {
    ir::Graph& g = model.graph;
    const Plan plan = match(g, o_);
    json layers = json::array();
    int64_t total = 0, total_zeros = 0;
    for (const Target& t : plan.targets) {
      const ir::Tensor& old = *g.initializer(t.init);
      const int64_t zeros_before = count_zeros(old);
      ir::Tensor w = old.clone();
      const int64_t groups = prune_groups(w, t.layout, o_);
      const int64_t zeros_after = count_zeros(w);
      // A new tensor under the same name (copies of the model aliasing the old data keep it).
      if (zeros_after != zeros_before) g.initializers[t.init] = std::move(w);
      json e = {{"node", t.nodes[0]->name},
                {"op", t.nodes[0]->op_type},
                {"initializer", t.init},
                {"pattern", fmt::format("{}:{}", o_.n, o_.m)},
                {"groups_along", t.layout.axis},
                {"groups", groups},
                {"weights", old.numel()},
                {"zeros_before", zeros_before},
                {"zeros_after", zeros_after},
                {"sparsity", static_cast<double>(zeros_after) / static_cast<double>(old.numel())}};
      if (t.nodes.size() > 1) {
        json shared = json::array();
        for (size_t i = 1; i < t.nodes.size(); ++i) shared.push_back(t.nodes[i]->name);
        e["shared_with"] = shared;
      }
      total += e["weights"].get<int64_t>();
      total_zeros += zeros_after;
      layers.push_back(std::move(e));
    }
    return {{"pattern", fmt::format("{}:{}", o_.n, o_.m)},
            {"layers", layers},
            {"skipped", plan.skipped},
            {"pruned_weights", total},
            {"sparsity_pruned_layers", total == 0 ? 0.0 : static_cast<double>(total_zeros) / static_cast<double>(total)}};
  }

 private:
  Options o_;
};

Options parse(const json& p, const std::string& json_path) {
  Options o;
  o.n = p.at("n").get<int64_t>();
  o.m = p.at("m").get<int64_t>();
  if (o.n >= o.m) {
    throw bad_input("prune_n_m: n = {} must be smaller than m = {} (n nonzeros are kept in every group of m)", o.n,
                    o.m)
        .with_json_path(json_path.empty() ? "n" : json_path + "/n");
  }
  o.exclude = p.at("exclude").get<std::vector<std::string>>();
  o.exclude_first_last = p.at("exclude_first_last").get<bool>();
  return o;
}

}  // namespace

pipeline::Registration prune_n_m_registration() {
  using pipeline::ParamType;
  pipeline::ComponentSpec spec;
  spec.name = "prune_n_m";
  spec.description =
      "N:M semi-structured sparsity (e.g. NVIDIA Ampere 2:4): keep the n largest |w| in every group of m "
      "consecutive weights along the reduction dimension of Conv/ConvTranspose/Gemm/MatMul";
  spec.params = {
      {"n", ParamType::Int, 2, false, 1.0, 1024.0, {}, "nonzeros kept per group (n < m)"},
      {"m", ParamType::Int, 4, false, 2.0, 1024.0, {}, "group length along the reduction dimension"},
      {"exclude", ParamType::StringList, json::array(), false, std::nullopt, std::nullopt, {},
       "node names or op types to leave dense"},
      {"exclude_first_last", ParamType::Bool, false, false, std::nullopt, std::nullopt, {},
       "leave the first and the last weight layer (graph order) dense"},
  };
  spec.repeatable = false;  // a second run with the same n:m finds nothing to do
  return pipeline::make_registration<Pass>(std::move(spec), [](const json& p, const pipeline::BuildContext& ctx) {
    return std::make_unique<PruneNM>(parse(p, ctx.json_path));
  });
}

}  // namespace hone::passes
