// Static statistics of a model for `hone inspect`: interface, opsets, op histogram, per-node
// parameters and MACs, weight bytes, sparsity, and the peak activation memory of running the
// nodes in order. Nothing is executed; everything comes from the graph, its initializers and
// the shapes in Graph::values. Conventions and formulas: docs/inspect.md.
//
// The model is untrusted: an unknown rank, a symbolic dim, a missing value info or a product
// that overflows int64 never throws -- it makes the affected number "unknown" and is listed.
#pragma once

#include "ir/graph.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hone::analysis {

// A named value with its dtype and (possibly symbolic) shape.
struct ValueStats {
  std::string name;
  ir::ValueInfo info;
  std::optional<int64_t> bytes;  // size with the assumed batch; nullopt when unknown
};

struct NodeStats {
  std::string name;
  std::string op_type;  // "domain.Op" outside the default ONNX domain
  std::vector<ValueStats> outputs;
  int64_t params = 0;       // initializer elements first read by this node
  int64_t macs = 0;         // 0 for ops without a MAC formula (see docs/inspect.md)
  bool macs_known = true;   // false when a MAC op's shapes were unknown; macs is then 0
};

struct OpTypeCount {
  std::string op_type;
  int64_t count = 0;
  int64_t macs = 0;  // sum of the known MACs of these nodes
};

struct ModelStats {
  std::string graph_name;
  std::string producer;  // "pytorch 1.13.0"
  int64_t ir_version = 0;

  std::vector<ValueStats> inputs;   // graph inputs that are not initializers
  std::vector<ValueStats> outputs;
  std::map<std::string, int64_t> opset_imports;  // domain ("" = ai.onnx) -> version
  std::vector<OpTypeCount> op_types;  // by count descending, then op type
  std::vector<NodeStats> nodes;       // in graph order

  // Set when a leading dim that was not a known number (batch "N") was taken as this value.
  std::optional<int64_t> assumed_batch;

  int64_t node_count = 0;
  int64_t parameters = 0;  // elements of all initializers, each counted once
  int64_t macs = 0;        // sum over nodes with known MACs
  std::vector<std::string> macs_unknown_nodes;

  std::map<ir::DType, int64_t> weight_bytes;  // initializer bytes by dtype
  int64_t weight_bytes_total = 0;
  int64_t zero_weights = 0;     // initializer elements equal to 0 (float and integer dtypes)
  int64_t counted_weights = 0;  // float and integer initializer elements
  double zero_weight_fraction() const {
    return counted_weights > 0 ? static_cast<double>(zero_weights) / counted_weights : 0.0;
  }

  // Peak of the live activation bytes over the sequential schedule (graph order).
  std::optional<int64_t> peak_activation_bytes;  // nullopt only if the sum overflowed int64
  std::string peak_activation_node;  // node at which the peak is reached ("" if none)
  std::vector<std::string> activation_size_unknown;  // values left out of the sum
};

ModelStats compute_model_stats(const ir::Model& model);

// Op types (default ONNX domain) that have a MAC formula; every other op counts 0 MACs.
std::vector<std::string_view> mac_op_types();

nlohmann::json to_json(const ModelStats& stats);  // schema in docs/inspect.md
std::string to_table(const ModelStats& stats);    // human-readable summary and per-node rows

}  // namespace hone::analysis
