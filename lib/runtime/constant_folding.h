// Constant folding shared by the cpu runtime and the C backend: nodes whose value is known before
// any input is (Constant, a Reshape of a constant, an exporter's Identity in front of a shared
// weight, a DequantizeLinear of an int8 weight) run once on the reference kernels and become
// initializers, so kernels and emitters see constant weights.
#pragma once

#include "ir/graph.h"

namespace hone::runtime {

// Folds every node that reads only initializers, in place. Left alone: DequantizeLinear unless
// `dequantize` (the QDQ rewrite must see DequantizeLinear -> Conv on the int8 weight first),
// nondeterministic ops, nodes with subgraphs, and nodes writing a graph output. Returns the
// number of nodes folded.
int fold_constant_nodes(ir::Graph& graph, bool dequantize);

}  // namespace hone::runtime
