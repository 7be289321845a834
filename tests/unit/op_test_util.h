// Helpers for per-op unit tests: build a one-node graph in code and run it through the
// reference interpreter (which also runs the kernel's load-time check).
#pragma once

#include "ir/graph.h"
#include "runtime/reference/interpreter.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace hone::test {

// Runs `node` (its inputs/outputs are renamed to in0.. / out0..; "" inputs stay omitted) with
// the given input tensors under ai.onnx opset `opset`. Returns the outputs.
inline std::vector<ir::Tensor> run_node(ir::Node node, const std::vector<ir::Tensor>& inputs,
                                        int64_t opset = 17, size_t num_outputs = 1) {
  ir::Graph g;
  g.opset_imports[""] = opset;
  std::vector<ir::Tensor> feed;
  for (size_t i = 0; i < node.inputs.size() || i < inputs.size(); ++i) {
    if (i < node.inputs.size() && node.inputs[i].empty()) continue;  // omitted optional
    if (i >= inputs.size()) break;
    const std::string name = "in" + std::to_string(i);
    if (i < node.inputs.size()) node.inputs[i] = name; else node.inputs.push_back(name);
    g.inputs.push_back(name);
    ir::ValueInfo vi;
    vi.dtype = inputs[i].dtype();
    g.values[name] = vi;
    feed.push_back(inputs[i]);
  }
  node.inputs.resize(std::max(node.inputs.size(), feed.size()));
  node.outputs.clear();
  for (size_t o = 0; o < num_outputs; ++o) {
    node.outputs.push_back("out" + std::to_string(o));
    g.outputs.push_back(node.outputs.back());
  }
  if (node.name.empty()) node.name = "n0";
  g.add_node(std::move(node));
  runtime::ReferenceInterpreter interp(g);
  return interp.run(feed);
}

inline ir::Node make_node(std::string op_type, std::map<std::string, ir::Attribute> attrs = {},
                          size_t num_inputs = 1) {
  ir::Node n;
  n.op_type = std::move(op_type);
  n.attrs = std::move(attrs);
  n.inputs.assign(num_inputs, "x");  // any non-empty placeholder; run_node renames
  return n;
}

template <typename T>
std::vector<T> values(const ir::Tensor& t) {
  auto s = t.span<T>();
  return std::vector<T>(s.begin(), s.end());
}

}  // namespace hone::test
