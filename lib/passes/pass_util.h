// What several passes need: the layers that carry weights, safe replacement of a node's
// constant input, `exclude` matching, and streaming calibration batches. Passes include this;
// nothing outside lib/passes should.
#pragma once

#include "ir/graph.h"
#include "passes/pass.h"

#include <functional>
#include <string>
#include <unordered_set>
#include <vector>

namespace hone::passes {

// A Conv, ConvTranspose, Gemm or MatMul in the ONNX domain whose weight is a float32 constant.
struct WeightLayer {
  ir::Node* node = nullptr;
  size_t weight_input = 1;  // index of the weight among node->inputs
  // Axis of the weight tensor that indexes output channels (Conv: 0; ConvTranspose: 1, per
  // group; Gemm: 0 with transB else 1; MatMul: 1 of a 2-D [K, N] weight).
  int64_t out_axis = 0;
  // Axis along which one output's dot product runs (Conv: 1 (with the kernel window);
  // Gemm: 1 with transB else 0; MatMul: 0).
  int64_t in_axis = 1;
  int64_t out_channels = 0;
};

// Every weight layer in graph order. MatMul counts only with a 2-D constant second input.
std::vector<WeightLayer> weight_layers(const ir::Graph& g);
const ir::Tensor& weight_of(const ir::Graph& g, const WeightLayer& layer);

// The weight initializers of `layers`, each once, in graph order of first use, with the
// indices (into `layers`) of the layers that read it as their weight.
struct WeightTensor {
  std::string init;
  std::vector<size_t> layers;
};
std::vector<WeightTensor> weight_tensors(const std::vector<WeightLayer>& layers);

// Why `layers[i]` is left alone by an `exclude` list (names or op types) or by
// `exclude_first_last` (first / last weight layer in graph order), or "".
std::string exclusion_reason(const std::vector<WeightLayer>& layers, size_t i,
                             const std::vector<std::string>& exclude, bool exclude_first_last);

// Why the weight `init`, read as weight (input 1) by `users`, must not be changed for them
// alone -- it is a graph output or something else reads it -- or "".
std::string sharing_problem(const ir::Graph& g, const std::string& init, const std::vector<const ir::Node*>& users);

// Number of weight elements feeding output channel c (numel / out_channels), and the flat
// indices of channel c's weights. Works for every out_axis.
std::vector<int64_t> channel_indices(const ir::Tensor& w, int64_t out_axis, int64_t c);

// Points node input `index` at a new initializer holding `t` (named from `base`). The old
// initializer is dropped by Graph::remove_unused() when nothing else reads it, so a weight
// shared with another node is never changed under that node.
std::string set_constant_input(ir::Graph& g, ir::Node& node, size_t index, const std::string& base, ir::Tensor t);

// Fresh value / node / initializer names for a pass that adds many: each costs O(1), where
// Graph::unique_name scans the whole graph. "base", else "base_1", "base_2", ...
class FreshNames {
 public:
  explicit FreshNames(const ir::Graph& g);
  std::string make(const std::string& base);

 private:
  std::unordered_set<std::string> used_;
};

// True when `node`'s name or op type is in `patterns` (the `exclude` parameter of passes).
bool matches_any(const ir::Node& node, const std::vector<std::string>& patterns);

// Streams `samples` calibration samples, preprocessed into model input, in batches of at
// most `batch` to `fn`. BadInput naming `pass_name` when the context has no calibration data
// (e.g. `hone optimize` without --dataset).
void for_each_calibration_batch(const PassContext& ctx, const std::string& pass_name, int64_t samples,
                                int64_t batch, uint64_t seed, const std::function<void(const ir::Tensor&)>& fn);

}  // namespace hone::passes
