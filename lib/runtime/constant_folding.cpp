#include "runtime/constant_folding.h"

#include "runtime/reference/interpreter.h"
#include "runtime/reference/kernel.h"

#include <set>
#include <string>
#include <vector>

namespace hone::runtime {

int fold_constant_nodes(ir::Graph& graph, bool dequantize) {
  const std::set<std::string> outputs(graph.outputs.begin(), graph.outputs.end());
  static const std::set<std::string> kKeep = {"DequantizeLinear", "RandomNormal", "RandomUniform", "RandomNormalLike",
                                              "RandomUniformLike", "Multinomial", "Bernoulli", "If", "Loop", "Scan"};
  int folded = 0;
  for (size_t i = 0; i < graph.nodes.size();) {
    const ir::Node& node = *graph.nodes[i];
    const bool onnx = node.domain.empty() || node.domain == "ai.onnx";
    bool fold = onnx && !kKeep.count(node.op_type) && !node.outputs.empty();
    fold = fold || (dequantize && onnx && node.op_type == "DequantizeLinear");
    for (const auto& in : node.inputs) fold = fold && (in.empty() || graph.is_initializer(in));
    for (const auto& out : node.outputs) fold = fold && !out.empty() && !outputs.count(out) && !graph.is_initializer(out);
    for (const auto& [key, attr] : node.attrs) fold = fold && attr.kind != ir::Attribute::Kind::Graph;
    if (!fold) {
      ++i;
      continue;
    }
    std::vector<const ir::Tensor*> in;
    for (const auto& name : node.inputs) in.push_back(name.empty() ? nullptr : graph.initializer(name));
    std::vector<ir::Tensor> out(node.outputs.size());
    reference::KernelArgs args{node, check_node(graph, node).since_version, in, out};
    reference::find_kernel(node.domain, node.op_type)->run(args);
    for (size_t o = 0; o < out.size(); ++o) graph.initializers[node.outputs[o]] = std::move(out[o]);
    graph.nodes.erase(graph.nodes.begin() + static_cast<std::ptrdiff_t>(i));
    ++folded;
  }
  return folded;
}

}  // namespace hone::runtime
