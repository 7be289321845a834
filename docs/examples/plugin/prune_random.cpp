// prune_random: an example hone plugin, and a baseline for pruning studies. It zeroes a random
// `sparsity` fraction of every Conv/Gemm/MatMul weight, where prune_magnitude zeroes the smallest
// ones: the gap between the two at equal sparsity is what the magnitude criterion is worth.
//
// It uses only the SDK's public headers (<hone/plugin.h> and what it includes): the IR
// (ir::Model, ir::Tensor), the Pass interface, the registry and hone's typed errors.
#include <hone/plugin.h>
#include <hone/passes/pass.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace {

using hone::pipeline::ParamSpec;
using hone::pipeline::ParamType;
using nlohmann::json;

struct Options {
  double sparsity = 0.5;
  uint64_t seed = 0;
  int64_t min_size = 0;
  std::vector<std::string> exclude;  // node names or op types left dense
};

// SplitMix64: a tiny, fully specified generator, so a seed gives the same mask on every machine
// and standard library (std::shuffle's algorithm is not specified).
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }  // bias < n / 2^64: negligible here
};

bool excluded(const hone::ir::Node& n, const Options& o) {
  for (const auto& e : o.exclude) {
    if (e == n.name || e == n.op_type) return true;
  }
  return false;
}

class PruneRandom : public hone::passes::Pass {
 public:
  explicit PruneRandom(Options o) : o_(std::move(o)) {}
  std::string name() const override { return "prune_random"; }

  json run(hone::ir::Model& model, const hone::passes::PassContext&) override {
    hone::ir::Graph& g = model.graph;
    json layers = json::array(), skipped = json::array();
    int64_t total = 0, zeros = 0;
    SplitMix64 rng{o_.seed};
    // Match: weight layers whose weight (input 1) is a float32 initializer read by this node only.
    for (const auto& node : g.nodes) {
      const hone::ir::Node& n = *node;
      if (n.op_type != "Conv" && n.op_type != "Gemm" && n.op_type != "MatMul") continue;
      if (!n.has_input(1) || !g.is_initializer(n.input(1))) continue;
      const std::string w = n.input(1);
      const hone::ir::Tensor& t = *g.initializer(w);
      std::string reason;
      if (t.dtype() != hone::ir::DType::Float32) reason = "not float32";
      else if (excluded(n, o_)) reason = "excluded";
      else if (t.numel() < o_.min_size) reason = "fewer weights than min_size";
      else if (g.consumers(w).size() != 1 || g.is_graph_output(w)) reason = "the weight is shared";
      if (!reason.empty()) {
        skipped.push_back({{"node", n.name}, {"op", n.op_type}, {"reason", reason}});
        continue;
      }
      // Apply: a partial Fisher-Yates shuffle picks exactly round(sparsity * n) positions.
      const int64_t count = t.numel();
      const auto k = static_cast<int64_t>(o_.sparsity * static_cast<double>(count) + 0.5);
      std::vector<int64_t> idx(static_cast<size_t>(count));
      for (int64_t i = 0; i < count; ++i) idx[static_cast<size_t>(i)] = i;
      hone::ir::Tensor pruned = hone::ir::Tensor::from_bytes(t.dtype(), t.shape(), t.raw(), t.nbytes());
      float* data = pruned.data<float>();
      for (int64_t i = 0; i < k; ++i) {
        const int64_t j = i + static_cast<int64_t>(rng.below(static_cast<uint64_t>(count - i)));
        std::swap(idx[static_cast<size_t>(i)], idx[static_cast<size_t>(j)]);
        data[idx[static_cast<size_t>(i)]] = 0.0f;
      }
      int64_t z = 0;
      for (int64_t i = 0; i < count; ++i) z += data[i] == 0.0f;
      g.initializers[w] = std::move(pruned);
      total += count;
      zeros += z;
      layers.push_back({{"node", n.name}, {"op", n.op_type}, {"weights", count}, {"zeros", z},
                        {"sparsity", count ? static_cast<double>(z) / static_cast<double>(count) : 0.0}});
    }
    return {{"layers", layers}, {"skipped", skipped}, {"pruned_weights", total}, {"zeros", zeros},
            {"sparsity", total ? static_cast<double>(zeros) / static_cast<double>(total) : 0.0}};
  }

 private:
  Options o_;
};

void register_components(hone::plugin::Registrar& r) {
  hone::pipeline::ComponentSpec spec;
  spec.name = "prune_random";
  spec.description = "Baseline pruner: zero a random fraction of every Conv/Gemm/MatMul weight (example plugin)";
  spec.params = {
      {"sparsity", ParamType::Float, 0.5, false, 0.0, 1.0, {}, "fraction of each layer's weights to zero"},
      {"seed", ParamType::Int, 0, false, 0.0, std::nullopt, {}, "seed of the random choice"},
      {"min_size", ParamType::Int, 0, false, 0.0, std::nullopt, {}, "leave weights with fewer elements dense"},
      {"exclude", ParamType::StringList, json::array(), false, std::nullopt, std::nullopt, {},
       "node names or op types to leave dense"},
  };
  // The factory gets parameters already validated against the spec, defaults filled in.
  r.add(hone::pipeline::make_registration<hone::passes::Pass>(
      std::move(spec), [](const json& p, const hone::pipeline::BuildContext&) {
        Options o;
        o.sparsity = p.at("sparsity").get<double>();
        o.seed = p.at("seed").get<uint64_t>();
        o.min_size = p.at("min_size").get<int64_t>();
        o.exclude = p.at("exclude").get<std::vector<std::string>>();
        return std::make_unique<PruneRandom>(std::move(o));
      }));
}

}  // namespace

HONE_PLUGIN("prune_random", "1.0.0", "Random pruning, a baseline for magnitude pruning", register_components)
