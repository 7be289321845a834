// `cluster_weights`: weight sharing by 1-D k-means. Each weight layer's values (Conv,
// ConvTranspose, Gemm, MatMul weights; biases are left alone) are replaced by the nearest of
// k = 2^bits centroids:
//   init    k-means++: c_1 uniform over the values; c_j drawn with probability D(w)^2 / sum D^2,
//           D(w) = distance to the nearest chosen centroid (std::mt19937_64 seeded by `seed`)
//   Lloyd   assign each w to its nearest centroid, c_j = mean of its values; repeat until no
//           assignment changes or `iterations` rounds. In 1-D the clusters are runs of the
//           sorted values between midpoints of consecutive centroids, so one round is O(k log n).
//   empty   a centroid left without values is re-seeded at the value farthest from its
//           centroid (the one that adds most to the distortion); one that still has no value
//           at the end is dropped from the codebook.
//   distortion = mean((w - c[idx(w)])^2)
// A weight with at most k distinct values is stored exactly (its distinct values are the
// codebook, distortion 0).
// Storage, standard ONNX only: indices uint8 [weight shape] + codebook float32 [clusters], and
//   W = Gather(codebook, Cast<int32>(indices), axis=0)
// (Gather's indices must be int32/int64 in ONNX, hence the Cast; the file keeps 1 byte per
// weight). The Gather output replaces the weight input of every clustered layer that reads it;
// a layer left alone (excluded) keeps reading the original float weight.
#include "passes/pass.h"
#include "passes/pass_util.h"
#include "passes/passes.h"
#include "support/error.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

namespace hone::passes {

namespace {

using nlohmann::json;

constexpr int64_t kOnnxInt32 = 6;  // TensorProto.INT32, Cast's `to`

struct Options {
  int64_t bits = 4;
  std::vector<std::string> exclude;
  int64_t min_size = 256;
  int64_t iterations = 50;
  uint64_t seed = 0;
};

// ---------------------------------------------------------------------------- k-means

struct Clustering {
  std::vector<float> codebook;  // sorted ascending
  std::vector<uint8_t> indices;  // per weight, into codebook
  double distortion = 0;
  int64_t distinct_values = 0;
  int64_t iterations = 0;
  bool converged = true;
  int64_t reseeded = 0;  // empty clusters re-seeded
  int64_t dropped = 0;   // clusters still empty at the end, dropped from the codebook
};

// Values sorted ascending with prefix sums, so a cluster's mean and error are O(1) per run.
struct SortedValues {
  std::vector<double> v;
  std::vector<double> sum;  // sum[i] = v[0] + ... + v[i-1]
  explicit SortedValues(const ir::Tensor& w) : v(w.span<float>().begin(), w.span<float>().end()) {
    std::sort(v.begin(), v.end());
    sum.resize(v.size() + 1, 0.0);
    for (size_t i = 0; i < v.size(); ++i) sum[i + 1] = sum[i] + v[i];
  }
  size_t size() const { return v.size(); }
};

// A uniform double in [0, 1) from the generator (portable, unlike std::uniform_real_distribution).
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// k-means++ seeding over the sorted values.
std::vector<double> kmeans_plus_plus(const SortedValues& s, size_t k, std::mt19937_64& rng) {
  const size_t n = s.size();
  std::vector<double> centers{s.v[static_cast<size_t>(rng() % n)]};
  std::vector<double> d2(n);
  for (size_t i = 0; i < n; ++i) d2[i] = (s.v[i] - centers[0]) * (s.v[i] - centers[0]);
  while (centers.size() < k) {
    const double total = std::accumulate(d2.begin(), d2.end(), 0.0);
    if (!(total > 0)) break;  // every value is already a centroid
    const double r = uniform01(rng) * total;
    double acc = 0;
    size_t pick = n - 1;
    for (size_t i = 0; i < n; ++i) {
      acc += d2[i];
      if (acc > r && d2[i] > 0) {
        pick = i;
        break;
      }
    }
    while (d2[pick] == 0 && pick > 0) --pick;  // rounding at the end of the sum
    const double c = s.v[pick];
    centers.push_back(c);
    for (size_t i = 0; i < n; ++i) d2[i] = std::min(d2[i], (s.v[i] - c) * (s.v[i] - c));
  }
  std::sort(centers.begin(), centers.end());
  return centers;
}

// Cluster j holds the sorted values [start[j], start[j + 1]): those below the midpoint to the
// next centroid (a value on a midpoint goes to the upper cluster).
std::vector<size_t> assign(const SortedValues& s, const std::vector<double>& centers) {
  std::vector<size_t> start(centers.size() + 1, 0);
  start.back() = s.size();
  for (size_t j = 1; j < centers.size(); ++j) {
    const double mid = (centers[j - 1] + centers[j]) / 2;
    start[j] = static_cast<size_t>(std::lower_bound(s.v.begin(), s.v.end(), mid) - s.v.begin());
    start[j] = std::max(start[j], start[j - 1]);
  }
  return start;
}

// Re-seeds each empty cluster at the value farthest from its centroid; false when none could be.
bool reseed_empty(const SortedValues& s, std::vector<double>& centers, const std::vector<size_t>& start,
                  int64_t& reseeded) {
  bool changed = false;
  for (size_t j = 0; j < centers.size(); ++j) {
    if (start[j] != start[j + 1]) continue;
    double worst = 0;
    size_t at = 0;
    for (size_t c = 0; c < centers.size(); ++c) {
      for (size_t i : {start[c], start[c + 1] - 1}) {  // a run's farthest value is at an end
        if (start[c] == start[c + 1]) continue;
        const double e = std::fabs(s.v[i] - centers[c]);
        if (e > worst) worst = e, at = i;
      }
    }
    if (!(worst > 0)) break;
    centers[j] = s.v[at];
    ++reseeded;
    changed = true;
    std::sort(centers.begin(), centers.end());
    break;  // re-assign before re-seeding another
  }
  return changed;
}

Clustering cluster(const ir::Tensor& w, size_t k, const Options& opt) {
  const SortedValues s(w);
  Clustering r;
  std::vector<double> distinct(s.v.begin(), s.v.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  r.distinct_values = static_cast<int64_t>(distinct.size());

  std::vector<double> centers;
  if (distinct.size() <= k) {
    centers = distinct;  // exact
    r.iterations = 0;
  } else {
    std::mt19937_64 rng(opt.seed);
    centers = kmeans_plus_plus(s, k, rng);
    std::vector<size_t> start = assign(s, centers);
    r.converged = false;
    for (r.iterations = 0; r.iterations < opt.iterations;) {
      ++r.iterations;
      for (size_t j = 0; j < centers.size(); ++j) {
        const size_t a = start[j], b = start[j + 1];
        if (b > a) centers[j] = (s.sum[b] - s.sum[a]) / static_cast<double>(b - a);
      }
      std::sort(centers.begin(), centers.end());
      std::vector<size_t> next = assign(s, centers);
      if (reseed_empty(s, centers, next, r.reseeded)) next = assign(s, centers);
      else if (next == start) r.converged = true;
      start = std::move(next);
      if (r.converged) break;
    }
    // Final codebook: the centroids that own values.
    std::vector<double> used;
    for (size_t j = 0; j < centers.size(); ++j) {
      if (start[j + 1] > start[j]) used.push_back(centers[j]);
    }
    r.dropped = static_cast<int64_t>(centers.size() - used.size());
    centers = std::move(used);
  }

  for (double c : centers) r.codebook.push_back(static_cast<float>(c));
  // Nearest codebook entry per weight (ties to the upper entry, like assign()).
  std::vector<double> mids;
  for (size_t j = 1; j < centers.size(); ++j) mids.push_back((centers[j - 1] + centers[j]) / 2);
  const auto values = w.span<float>();
  r.indices.resize(values.size());
  double se = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const auto j = static_cast<size_t>(std::upper_bound(mids.begin(), mids.end(), double(values[i])) - mids.begin());
    r.indices[i] = static_cast<uint8_t>(j);
    const double e = double(values[i]) - double(r.codebook[j]);
    se += e * e;
  }
  r.distortion = values.empty() ? 0.0 : se / static_cast<double>(values.size());
  return r;
}

// ---------------------------------------------------------------------------- the pass

class ClusterWeights final : public Pass {
 public:
  explicit ClusterWeights(Options opt) : opt_(std::move(opt)) {}
  std::string name() const override { return "cluster_weights"; }

  json run(ir::Model& model, const PassContext&) override {
    ir::Graph& g = model.graph;
    const size_t k = size_t{1} << opt_.bits;
    // Match: the clusterable layers, grouped by weight (a shared weight is clustered once).
    std::map<std::string, std::vector<ir::Node*>> by_weight;
    std::vector<std::string> order;
    json skipped = json::array();
    for (const WeightLayer& l : weight_layers(g)) {
      const std::string reason = why_not(g, l);
      if (!reason.empty()) {
        skipped.push_back({{"node", l.node->name}, {"op", l.node->op_type}, {"reason", reason}});
        continue;
      }
      const std::string& w = l.node->input(l.weight_input);
      if (!by_weight.count(w)) order.push_back(w);
      by_weight[w].push_back(l.node);
    }

    json layers = json::array();
    int64_t before = 0, after = 0;
    for (const std::string& w : order) {
      const ir::Tensor weight = *g.initializer(w);
      const Clustering c = cluster(weight, k, opt_);
      const std::string out = store(g, w, weight, c, by_weight[w]);
      json nodes = json::array();
      for (ir::Node* n : by_weight[w]) nodes.push_back(n->name);
      layers.push_back({{"node", by_weight[w].front()->name},
                        {"nodes", nodes},
                        {"weight", w},
                        {"k", k},
                        {"clusters", c.codebook.size()},
                        {"distinct_values", c.distinct_values},
                        {"distortion", c.distortion},
                        {"weights", weight.numel()},
                        {"iterations", c.iterations},
                        {"converged", c.converged},
                        {"empty_clusters_reseeded", c.reseeded},
                        {"empty_clusters_dropped", c.dropped}});
      before += static_cast<int64_t>(weight.nbytes());
      after += weight.numel() + static_cast<int64_t>(c.codebook.size() * sizeof(float));
    }
    g.remove_unused();
    return {{"layers", layers},
            {"skipped", skipped},
            {"weight_bytes_before", before},
            {"weight_bytes_after", after}};
  }

 private:
  std::string why_not(const ir::Graph& g, const WeightLayer& l) const {
    if (matches_any(*l.node, opt_.exclude)) return "excluded";
    const ir::Tensor& w = weight_of(g, l);
    if (w.numel() < opt_.min_size) {
      return "its weight has " + std::to_string(w.numel()) + " values, fewer than min_size " +
             std::to_string(opt_.min_size);
    }
    if (w.numel() == 0) return "its weight is empty";
    for (float v : w.span<float>()) {
      if (!std::isfinite(v)) return "its weight holds NaN or infinite values";
    }
    return "";
  }

  // Adds indices, codebook, Cast and Gather; points every node in `users` at the Gather output.
  static std::string store(ir::Graph& g, const std::string& w, const ir::Tensor& weight, const Clustering& c,
                           const std::vector<ir::Node*>& users) {
    const std::string indices = g.add_initializer(w + "_indices", ir::Tensor::from_vector<uint8_t>(weight.shape(), c.indices));
    const std::string codebook = g.add_initializer(
        w + "_codebook", ir::Tensor::from_vector<float>({static_cast<int64_t>(c.codebook.size())}, c.codebook));
    std::vector<ir::Dim> dims;
    for (int64_t d : weight.shape()) dims.push_back({d, ""});

    ir::Node cast;
    cast.op_type = "Cast";
    cast.name = g.unique_name(w + "_indices_cast");
    cast.inputs = {indices};
    cast.outputs = {g.unique_name(w + "_indices_int32")};
    cast.attrs["to"] = ir::Attribute::of_int(kOnnxInt32);
    g.values[cast.outputs[0]] = ir::ValueInfo{ir::DType::Int32, dims};
    ir::Node gather;
    gather.op_type = "Gather";
    gather.name = g.unique_name(w + "_gather");
    gather.inputs = {codebook, cast.outputs[0]};
    gather.outputs = {g.unique_name(w + "_clustered")};
    gather.attrs["axis"] = ir::Attribute::of_int(0);
    g.values[gather.outputs[0]] = ir::ValueInfo{ir::DType::Float32, dims};

    const std::string out = gather.outputs[0];
    g.insert_node_before(users.front(), std::move(cast));
    g.insert_node_before(users.front(), std::move(gather));
    for (ir::Node* n : users) n->inputs[1] = out;
    return out;
  }

  Options opt_;
};

}  // namespace

pipeline::Registration cluster_weights_registration() {
  using pipeline::ParamType;
  pipeline::ComponentSpec spec;
  spec.name = "cluster_weights";
  spec.description =
      "Weight clustering: per-layer 1-D k-means (k = 2^bits, k-means++ init) storing uint8 indices and a "
      "float codebook, decoded by a standard Gather";
  spec.repeatable = false;  // a clustered weight is no longer a constant weight
  spec.params = {
      {"bits", ParamType::Int, 4, false, 1.0, 8.0, {}, "index bits: k = 2^bits clusters per layer"},
      {"exclude", ParamType::StringList, json::array(), false, {}, {}, {}, "node names or op types to leave alone"},
      {"min_size", ParamType::Int, 256, false, 0.0, {}, {}, "weights with fewer values are left alone"},
      {"iterations", ParamType::Int, 50, false, 1.0, 10000.0, {}, "maximum Lloyd iterations"},
      {"seed", ParamType::Int, 0, false, 0.0, {}, {}, "seed of the k-means++ initialisation"},
  };
  return pipeline::make_registration<Pass>(
      std::move(spec), [](const json& p, const pipeline::BuildContext&) {
        Options opt;
        opt.bits = p.at("bits").get<int64_t>();
        opt.exclude = p.at("exclude").get<std::vector<std::string>>();
        opt.min_size = p.at("min_size").get<int64_t>();
        opt.iterations = p.at("iterations").get<int64_t>();
        opt.seed = static_cast<uint64_t>(p.at("seed").get<int64_t>());
        return std::make_unique<ClusterWeights>(std::move(opt));
      });
}

}  // namespace hone::passes
