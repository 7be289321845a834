#include "runtime/reference/interpreter.h"

#include <onnx/defs/schema.h>

#include <map>
#include <unordered_map>

namespace hone::runtime {

namespace {
constexpr int64_t kMaxDefaultOpset = 17;  // ONNX 1.12, the version Debian 12 ships

template <typename F>
decltype(auto) with_node_context(const ir::Node& node, int64_t opset, F&& f) {
  try {
    return f();
  } catch (Error& e) {
    e.with_node(node.name, node.op_type, static_cast<int>(opset));
    throw;
  } catch (const std::bad_alloc&) {
    throw Error(ErrorKind::BadInput, "out of memory", {})
        .with_node(node.name, node.op_type, static_cast<int>(opset));
  } catch (const std::exception& e) {
    throw Error(ErrorKind::Internal, e.what(), {})
        .with_node(node.name, node.op_type, static_cast<int>(opset));
  }
}
}  // namespace

int64_t resolve_since_version(const ir::Graph& graph, const ir::Node& node) {
  const std::string domain = node.domain == "ai.onnx" ? "" : node.domain;
  const int64_t opset = graph.opset(domain);
  if (opset <= 0) {
    throw bad_input("domain '{}' is not in the model's opset imports",
                    domain.empty() ? "ai.onnx" : domain);
  }
  if (domain.empty() && opset > kMaxDefaultOpset) {
    throw unsupported("ai.onnx opset {} is newer than hone supports ({})", opset, kMaxDefaultOpset);
  }
  const auto* schema = onnx::OpSchemaRegistry::Schema(node.op_type, static_cast<int>(opset), domain);
  if (!schema) {
    throw unsupported("ONNX defines no operator '{}' in domain '{}' at opset {}", node.op_type,
                      domain.empty() ? "ai.onnx" : domain, opset);
  }
  return schema->since_version();
}

CheckedNode check_node(const ir::Graph& graph, const ir::Node& node) {
  CheckedNode c;
  with_node_context(node, graph.opset(node.domain), [&] {
    c.since_version = resolve_since_version(graph, node);
    c.kernel = reference::find_kernel(node.domain, node.op_type);
    if (!c.kernel) throw unsupported("operator is not supported by the reference interpreter");
    if (c.since_version < c.kernel->min_since_version) {
      throw unsupported("operator version {} is older than the oldest supported ({})", c.since_version,
                        c.kernel->min_since_version);
    }
    reference::KernelInfo info{node, c.since_version, {}, {}, graph};
    for (const auto& in : node.inputs) {
      const ir::ValueInfo* vi = graph.value_info(in);
      const ir::Tensor* init = graph.initializer(in);
      info.input_dtypes.push_back(init ? init->dtype() : vi ? vi->dtype : ir::DType::Undefined);
    }
    for (const auto& out : node.outputs) {
      const ir::ValueInfo* vi = graph.value_info(out);
      info.output_dtypes.push_back(vi ? vi->dtype : ir::DType::Undefined);
    }
    c.kernel->check(info);
  });
  return c;
}

void check_graph_inputs(const ir::Graph& graph, std::span<const ir::Tensor> inputs) {
  if (inputs.size() != graph.inputs.size()) {
    throw bad_input("the model has {} inputs, {} were given", graph.inputs.size(), inputs.size());
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string& name = graph.inputs[i];
    const ir::ValueInfo* vi = graph.value_info(name);
    if (!vi) continue;
    if (vi->dtype != ir::DType::Undefined && vi->dtype != inputs[i].dtype()) {
      throw bad_input("input '{}' expects dtype {}, got {}", name, ir::dtype_name(vi->dtype),
                      ir::dtype_name(inputs[i].dtype()));
    }
    if (vi->shape) {
      bool ok = vi->shape->size() == inputs[i].rank();
      for (size_t d = 0; ok && d < vi->shape->size(); ++d) {
        ok = !(*vi->shape)[d].known() || (*vi->shape)[d].value == inputs[i].shape()[d];
      }
      if (!ok) {
        throw bad_input("input '{}' expects shape {}, got {}", name, vi->str(), ir::shape_str(inputs[i].shape()));
      }
    }
  }
}

ReferenceInterpreter::ReferenceInterpreter(const ir::Graph& graph) : graph_(graph) {
  std::unordered_map<std::string, size_t> last_use;
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    const ir::Node& node = *graph_.nodes[i];
    const CheckedNode c = check_node(graph_, node);
    Step step{&node, c.kernel, c.since_version, {}};
    for (const auto& in : node.inputs) {
      if (!in.empty()) last_use[in] = i;
    }
    steps_.push_back(std::move(step));
  }
  for (const auto& [value, i] : last_use) {
    if (graph_.is_graph_output(value) || graph_.is_initializer(value)) continue;
    steps_[i].frees.push_back(value);
  }
}

std::vector<ir::Tensor> ReferenceInterpreter::run(std::span<const ir::Tensor> inputs) {
  return run_keep_all(inputs, nullptr);
}

std::vector<ir::Tensor> ReferenceInterpreter::run_keep_all(
    std::span<const ir::Tensor> inputs, std::map<std::string, ir::Tensor>* all_values) {
  check_graph_inputs(graph_, inputs);
  std::unordered_map<std::string, ir::Tensor> env;
  for (const auto& [name, t] : graph_.initializers) env[name] = t;
  for (size_t i = 0; i < inputs.size(); ++i) env[graph_.inputs[i]] = inputs[i];

  std::vector<const ir::Tensor*> in_ptrs;
  std::vector<ir::Tensor> outs;
  for (const Step& step : steps_) {
    const ir::Node& node = *step.node;
    in_ptrs.clear();
    for (const auto& in : node.inputs) {
      if (in.empty()) {
        in_ptrs.push_back(nullptr);
        continue;
      }
      auto it = env.find(in);
      if (it == env.end()) {
        throw bad_input("node {} reads '{}', which has no value", node.label(), in);
      }
      in_ptrs.push_back(&it->second);
    }
    outs.assign(node.outputs.size(), ir::Tensor());
    reference::KernelArgs args{node, step.since_version, in_ptrs, outs};
    with_node_context(node, graph_.opset(node.domain), [&] { step.kernel->run(args); });
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      if (node.outputs[o].empty()) continue;
      if (!outs[o].defined()) {
        throw internal_error("kernel for {} did not produce output {}", node.label(), o);
      }
      env[node.outputs[o]] = std::move(outs[o]);
    }
    if (all_values) {
      for (const auto& o : node.outputs) {
        if (!o.empty()) (*all_values)[o] = env[o];
      }
    }
    for (const auto& v : step.frees) env.erase(v);
  }

  std::vector<ir::Tensor> results;
  results.reserve(graph_.outputs.size());
  for (const auto& name : graph_.outputs) {
    auto it = env.find(name);
    if (it == env.end()) throw bad_input("graph output '{}' was never computed", name);
    results.push_back(it->second);
  }
  return results;
}

}  // namespace hone::runtime
