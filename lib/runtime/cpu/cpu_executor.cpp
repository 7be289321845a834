#include "runtime/cpu/cpu_executor.h"

#include "analysis/model_stats.h"
#include "ir/onnx_io.h"
#include "runtime/cpu/kernel.h"
#include "runtime/memory_planner.h"
#include "runtime/reference/interpreter.h"
#include "support/error.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

namespace hone::runtime::cpu {

namespace {

constexpr int64_t kAlignment = 64;  // a cache line; every AVX-512 load from a slot is aligned

using KernelFactory = std::unique_ptr<Kernel> (*)(const NodeDesc&);
// Fast kernels, tried in order before the reference fallback.
constexpr KernelFactory kFactories[] = {&make_data_movement_kernel};

// The reference fallback is logged once per op type per process, not per node or per model.
void log_fallback(const ir::Node& node) {
  static std::mutex mu;
  static std::set<std::string> seen;
  const std::lock_guard lock(mu);
  if (seen.insert(node.domain + "::" + node.op_type).second) {
    spdlog::info("cpu runtime: {} runs on the reference kernel (no fast kernel takes it)", node.op_type);
  }
}

ir::ValueInfo static_value_info(ir::DType dtype, const ir::Shape& shape) {
  ir::ValueInfo vi;
  vi.dtype = dtype;
  vi.shape.emplace();
  for (int64_t d : shape) vi.shape->push_back(ir::Dim{d, ""});
  return vi;
}

// The graph with every value's dtype and static shape for these inputs: ONNX shape inference
// with the inputs' dims made concrete, else (data-dependent shapes) one run of the reference
// interpreter. Kernels are chosen and the arena planned from it; the profile counts MACs on it.
ir::Model shaped_model(const ir::Graph& graph, std::span<const ir::Tensor> inputs) {
  ir::Model m;
  m.graph = graph;
  m.graph.values.clear();
  for (size_t i = 0; i < inputs.size(); ++i) {
    m.graph.values[graph.inputs[i]] = static_value_info(inputs[i].dtype(), inputs[i].shape());
  }
  ir::infer_shapes(m);
  const bool complete = std::all_of(graph.nodes.begin(), graph.nodes.end(), [&](const auto& node) {
    return std::all_of(node->outputs.begin(), node->outputs.end(), [&](const std::string& out) {
      const ir::ValueInfo* vi = m.graph.value_info(out);
      return out.empty() || (vi && vi->dtype != ir::DType::Undefined && vi->static_shape());
    });
  });
  if (complete) return m;
  std::map<std::string, ir::Tensor> all;
  ReferenceInterpreter(graph).run_keep_all(inputs, &all);
  for (const auto& [name, t] : all) m.graph.values[name] = static_value_info(t.dtype(), t.shape());
  return m;
}

}  // namespace

struct CpuExecutor::Plan {
  std::vector<ir::Shape> input_shapes;  // what this plan was prepared for
  std::vector<ValueDesc> values;         // by id
  std::vector<int> input_ids, output_ids;
  struct Step {
    std::unique_ptr<Kernel> kernel;
    std::vector<const ir::Node*> nodes;  // the node, or a fused group in order
    int64_t macs = 0;                    // of its nodes (profile only)
    double seconds = 0;
    int64_t calls = 0;
  };
  std::vector<Step> steps;
  std::vector<std::byte> arena_storage;  // arena_bytes + alignment slack
  std::byte* arena = nullptr;            // aligned start inside arena_storage
  int64_t arena_bytes = 0;
  std::vector<void*> ptrs;  // by value id
};

CpuExecutor::CpuExecutor(const ir::Graph& graph, Options options) : graph_(graph), options_(options) {
  for (const auto& node : graph_.nodes) since_versions_.push_back(check_node(graph_, *node).since_version);
}

CpuExecutor::~CpuExecutor() = default;

void CpuExecutor::prepare(std::span<const ir::Tensor> inputs) {
  auto plan = std::make_unique<Plan>();
  for (const auto& t : inputs) plan->input_shapes.push_back(t.shape());
  const ir::Model shaped = shaped_model(graph_, inputs);

  std::map<std::string, int> ids;
  auto add_value = [&](const std::string& name, ir::DType dt, ir::Shape shape, const ir::Tensor* constant) {
    ValueDesc v;
    v.id = static_cast<int>(plan->values.size());
    v.dtype = dt;
    v.shape = std::move(shape);
    v.constant = constant;
    plan->values.push_back(v);
    ids[name] = v.id;
    return v.id;
  };
  for (size_t i = 0; i < inputs.size(); ++i) {
    plan->input_ids.push_back(add_value(graph_.inputs[i], inputs[i].dtype(), inputs[i].shape(), nullptr));
  }
  for (const auto& [name, t] : graph_.initializers) add_value(name, t.dtype(), t.shape(), &t);

  // Steps in graph order; lifetimes in step indices for the planner.
  std::vector<int> first(plan->values.size(), 0), last(plan->values.size(), 0);
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    const ir::Node& node = *graph_.nodes[i];
    NodeDesc n;
    n.node = &node;
    n.since_version = since_versions_[i];
    n.reference = reference::find_kernel(node.domain, node.op_type);
    for (const auto& in : node.inputs) {
      if (in.empty()) {
        n.inputs.emplace_back();
        continue;
      }
      auto it = ids.find(in);
      if (it == ids.end()) throw bad_input("node {} reads '{}', which has no value", node.label(), in);
      n.inputs.push_back(plan->values[static_cast<size_t>(it->second)]);
    }
    for (const auto& out : node.outputs) {
      if (out.empty()) {
        n.outputs.emplace_back();
        continue;
      }
      const ir::ValueInfo* vi = shaped.graph.value_info(out);
      const auto shape = vi ? vi->static_shape() : std::nullopt;
      if (!shape) throw internal_error("no shape was learnt for '{}' of {}", out, node.label());
      const int id = add_value(out, vi->dtype, *shape, nullptr);
      first.push_back(static_cast<int>(plan->steps.size()));
      last.push_back(static_cast<int>(plan->steps.size()));
      n.outputs.push_back(plan->values[static_cast<size_t>(id)]);
    }
    std::unique_ptr<Kernel> kernel;
    for (const KernelFactory f : kFactories) {
      if ((kernel = f(n))) break;
    }
    if (!kernel) {
      log_fallback(node);
      kernel = make_reference_kernel(n);
    }
    const int step = static_cast<int>(plan->steps.size());
    for (const ValueDesc& v : n.inputs) {
      if (v.id >= 0) last[static_cast<size_t>(v.id)] = step;
    }
    plan->steps.push_back({std::move(kernel), {&node}, 0, 0, 0});
  }
  if (options_.profile) {
    // MACs per node with these shapes, for the profile's achieved GFLOP/s.
    const analysis::ModelStats stats = analysis::compute_model_stats(shaped);
    for (size_t i = 0; i < plan->steps.size() && i < stats.nodes.size(); ++i) plan->steps[i].macs = stats.nodes[i].macs;
  }
  for (const auto& name : graph_.outputs) {
    auto it = ids.find(name);
    if (it == ids.end()) throw bad_input("graph output '{}' is never computed", name);
    plan->output_ids.push_back(it->second);
  }

  // Every value a step writes gets an arena slot; graph outputs stay alive to the end, graph
  // inputs and constants are not in the arena.
  std::vector<BufferRequest> requests;
  std::vector<int> request_of(plan->values.size(), -1);
  const int end = static_cast<int>(plan->steps.size());
  for (const ValueDesc& v : plan->values) {
    const bool is_input = std::find(plan->input_ids.begin(), plan->input_ids.end(), v.id) != plan->input_ids.end();
    if (v.constant || is_input) continue;
    const bool is_output =
        std::find(plan->output_ids.begin(), plan->output_ids.end(), v.id) != plan->output_ids.end();
    request_of[static_cast<size_t>(v.id)] = static_cast<int>(requests.size());
    requests.push_back({v.bytes(), first[static_cast<size_t>(v.id)], is_output ? end : last[static_cast<size_t>(v.id)]});
  }
  const MemoryPlan mp = plan_memory(requests, kAlignment);
  plan->arena_bytes = mp.arena_bytes;
  plan->arena_storage.resize(static_cast<size_t>(mp.arena_bytes + kAlignment));
  void* base = plan->arena_storage.data();
  size_t space = plan->arena_storage.size();
  plan->arena = static_cast<std::byte*>(std::align(kAlignment, static_cast<size_t>(mp.arena_bytes), base, space));
  plan->ptrs.assign(plan->values.size(), nullptr);
  for (const ValueDesc& v : plan->values) {
    const int r = request_of[static_cast<size_t>(v.id)];
    if (v.constant) {
      plan->ptrs[static_cast<size_t>(v.id)] = const_cast<void*>(v.constant->raw());
    } else if (r >= 0) {
      plan->ptrs[static_cast<size_t>(v.id)] = plan->arena + mp.offsets[static_cast<size_t>(r)];
    }
  }
  plan_ = std::move(plan);
}

void CpuExecutor::prepare_for(std::span<const ir::Tensor> inputs) {
  bool same = plan_ && plan_->input_shapes.size() == inputs.size();
  for (size_t i = 0; same && i < inputs.size(); ++i) same = plan_->input_shapes[i] == inputs[i].shape();
  if (!same) {
    check_graph_inputs(graph_, inputs);
    prepare(inputs);
  }
}

void CpuExecutor::run_into(std::span<const ir::Tensor> inputs, std::span<ir::Tensor> outputs) {
  prepare_for(inputs);
  Plan& p = *plan_;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].dtype() != p.values[static_cast<size_t>(p.input_ids[i])].dtype) {
      check_graph_inputs(graph_, inputs);  // names the input and both dtypes
    }
  }
  if (outputs.size() != p.output_ids.size()) {
    throw internal_error("run_into got {} output tensors for {} outputs", outputs.size(), p.output_ids.size());
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    p.ptrs[static_cast<size_t>(p.input_ids[i])] = const_cast<void*>(inputs[i].raw());
  }
  if (options_.profile) {
    for (auto& s : p.steps) {
      const auto t0 = std::chrono::steady_clock::now();
      s.kernel->run(p.ptrs.data());
      s.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      ++s.calls;
    }
  } else {
    for (auto& s : p.steps) s.kernel->run(p.ptrs.data());
  }
  for (size_t o = 0; o < outputs.size(); ++o) {
    const ValueDesc& v = p.values[static_cast<size_t>(p.output_ids[o])];
    ir::Tensor& out = outputs[o];
    if (out.dtype() != v.dtype || out.shape() != v.shape) {
      throw internal_error("run_into: output {} is {} {}, the model gives {} {}", o, ir::dtype_name(out.dtype()),
                           ir::shape_str(out.shape()), ir::dtype_name(v.dtype), ir::shape_str(v.shape));
    }
    if (out.nbytes() > 0) std::memcpy(out.raw(), p.ptrs[static_cast<size_t>(v.id)], out.nbytes());
  }
}

std::vector<ir::Tensor> CpuExecutor::run(std::span<const ir::Tensor> inputs) {
  std::vector<ir::Tensor> outputs;
  prepare_for(inputs);
  for (const int id : plan_->output_ids) {
    const ValueDesc& v = plan_->values[static_cast<size_t>(id)];
    outputs.push_back(ir::Tensor::zeros(v.dtype, v.shape));
  }
  run_into(inputs, outputs);
  return outputs;
}

nlohmann::json CpuExecutor::describe() const {
  nlohmann::json steps = nlohmann::json::array();
  nlohmann::json fallbacks = nlohmann::json::array();
  if (plan_) {
    for (const auto& s : plan_->steps) {
      nlohmann::json nodes = nlohmann::json::array();
      for (const ir::Node* n : s.nodes) nodes.push_back(n->name.empty() ? n->op_type : n->name);
      steps.push_back({{"nodes", nodes}, {"op_type", s.nodes.front()->op_type}, {"kernel", s.kernel->name()}});
      if (s.kernel->allocates()) fallbacks.push_back(nodes.front());
    }
  }
  return {{"runtime", "cpu"},
          {"prepared", plan_ != nullptr},
          {"arena_bytes", plan_ ? plan_->arena_bytes : 0},
          {"steps", steps},
          {"reference_fallbacks", fallbacks}};
}

nlohmann::json CpuExecutor::profile() const {
  nlohmann::json layers = nlohmann::json::array();
  if (!plan_) return layers;
  double total = 0;
  for (const auto& s : plan_->steps) total += s.seconds;
  for (const auto& s : plan_->steps) {
    const ir::Node& n = *s.nodes.front();
    const double mean_ms = s.calls ? s.seconds / static_cast<double>(s.calls) * 1e3 : 0.0;
    layers.push_back({{"node", n.name.empty() ? n.op_type : n.name},
                      {"op_type", n.op_type},
                      {"kernel", s.kernel->name()},
                      {"calls", s.calls},
                      {"mean_ms", mean_ms},
                      {"share", total > 0 ? s.seconds / total : 0.0},
                      {"macs", s.macs},
                      {"gflops", mean_ms > 0 ? 2.0 * static_cast<double>(s.macs) / (mean_ms * 1e6) : 0.0}});
  }
  return layers;
}

}  // namespace hone::runtime::cpu
