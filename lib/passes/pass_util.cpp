#include "passes/pass_util.h"

#include "support/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace hone::passes {

std::vector<WeightLayer> weight_layers(const ir::Graph& g) {
  std::vector<WeightLayer> out;
  for (const auto& n : g.nodes) {
    if (!n->domain.empty() || !n->has_input(1)) continue;
    const ir::Tensor* w = g.initializer(n->input(1));
    if (!w || w->dtype() != ir::DType::Float32) continue;
    WeightLayer l;
    l.node = n.get();
    if (n->op_type == "Conv") {
      if (w->rank() < 3) continue;
      l.out_axis = 0;
      l.in_axis = 1;
    } else if (n->op_type == "ConvTranspose") {
      if (w->rank() < 3) continue;
      l.out_axis = 1;
      l.in_axis = 0;
    } else if (n->op_type == "Gemm") {
      if (w->rank() != 2) continue;
      const bool tb = n->attr_int("transB", 0) != 0;
      l.out_axis = tb ? 0 : 1;
      l.in_axis = tb ? 1 : 0;
    } else if (n->op_type == "MatMul") {
      if (w->rank() != 2) continue;
      l.out_axis = 1;
      l.in_axis = 0;
    } else {
      continue;
    }
    l.out_channels = w->dim(l.out_axis);
    out.push_back(l);
  }
  return out;
}

const ir::Tensor& weight_of(const ir::Graph& g, const WeightLayer& layer) {
  const ir::Tensor* w = g.initializer(layer.node->input(layer.weight_input));
  if (!w) throw internal_error("weight of {} is no longer a constant", layer.node->label());
  return *w;
}

std::vector<WeightTensor> weight_tensors(const std::vector<WeightLayer>& layers) {
  std::vector<WeightTensor> out;
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string& w = layers[i].node->input(layers[i].weight_input);
    auto [it, fresh] = index.emplace(w, out.size());
    if (fresh) out.push_back({w, {}});
    out[it->second].layers.push_back(i);
  }
  return out;
}

std::string exclusion_reason(const std::vector<WeightLayer>& layers, size_t i,
                             const std::vector<std::string>& exclude, bool exclude_first_last) {
  if (matches_any(*layers[i].node, exclude)) return "excluded by the exclude parameter";
  if (exclude_first_last && i == 0) return "first weight layer (exclude_first_last)";
  if (exclude_first_last && i + 1 == layers.size()) return "last weight layer (exclude_first_last)";
  return "";
}

std::string sharing_problem(const ir::Graph& g, const std::string& init, const std::vector<const ir::Node*>& users) {
  if (g.is_graph_output(init)) return "the weight is also a graph output";
  for (const ir::Node* c : g.consumers(init)) {
    const bool is_user = std::find(users.begin(), users.end(), c) != users.end();
    for (size_t i = 0; i < c->inputs.size(); ++i) {
      if (c->inputs[i] == init && !(is_user && i == 1)) {
        return fmt::format("the weight is also read by {} (input {})", c->label(), i);
      }
    }
  }
  return "";
}

std::vector<int64_t> channel_indices(const ir::Tensor& w, int64_t out_axis, int64_t c) {
  int64_t outer = 1, inner = 1;
  for (int64_t a = 0; a < out_axis; ++a) outer *= w.dim(a);
  for (int64_t a = out_axis + 1; a < static_cast<int64_t>(w.rank()); ++a) inner *= w.dim(a);
  const int64_t m = w.dim(out_axis);
  std::vector<int64_t> idx;
  idx.reserve(static_cast<size_t>(outer * inner));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) idx.push_back((o * m + c) * inner + i);
  return idx;
}

std::string set_constant_input(ir::Graph& g, ir::Node& node, size_t index, const std::string& base, ir::Tensor t) {
  if (node.inputs.size() <= index) node.inputs.resize(index + 1);
  node.inputs[index] = g.add_initializer(base, std::move(t));
  return node.inputs[index];
}

FreshNames::FreshNames(const ir::Graph& g) {
  for (const auto& [k, _] : g.initializers) used_.insert(k);
  for (const auto& [k, _] : g.values) used_.insert(k);
  used_.insert(g.inputs.begin(), g.inputs.end());
  used_.insert(g.outputs.begin(), g.outputs.end());
  for (const auto& n : g.nodes) {
    used_.insert(n->name);
    used_.insert(n->inputs.begin(), n->inputs.end());
    used_.insert(n->outputs.begin(), n->outputs.end());
  }
}

std::string FreshNames::make(const std::string& base) {
  std::string name = base;
  for (int k = 1; used_.count(name); ++k) name = base + "_" + std::to_string(k);
  used_.insert(name);
  return name;
}

bool matches_any(const ir::Node& node, const std::vector<std::string>& patterns) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return p == node.name || p == node.op_type; });
}

void for_each_calibration_batch(const PassContext& ctx, const std::string& pass_name, int64_t samples,
                                int64_t batch, uint64_t seed, const std::function<void(const ir::Tensor&)>& fn) {
  if (!ctx.calibration || !ctx.preprocess) {
    throw bad_input("{} needs calibration data: run it in a pipeline with a dataset, or give "
                    "`hone optimize` a --dataset", pass_name);
  }
  auto ds = ctx.calibration(samples, seed);
  const int64_t n = ds->size();
  if (n == 0) throw bad_input("{}: the calibration set is empty", pass_name);
  for (int64_t first = 0; first < n; first += batch) {
    const datasets::Batch b = ds->read(first, std::min(batch, n - first));
    fn(ctx.preprocess(b.samples));
  }
}

}  // namespace hone::passes
