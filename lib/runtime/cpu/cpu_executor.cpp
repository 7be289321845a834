#include "runtime/cpu/cpu_executor.h"

#include "analysis/model_stats.h"
#include "ir/onnx_io.h"
#include "passes/qdq_fusion.h"
#include "runtime/constant_folding.h"
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
#include <thread>

#include <pthreadpool.h>

namespace hone::runtime::cpu {

namespace {

constexpr int64_t kAlignment = 64;  // a cache line; every AVX-512 load from a slot is aligned

using KernelFactory = std::unique_ptr<Kernel> (*)(const NodeDesc&, const Context&);
// Fast kernels, tried in order before the reference fallback. The sparse convolution comes
// before the dense one: it declines the layers where it would lose.
constexpr KernelFactory kFactories[] = {
    &make_sparse_conv_kernel,      // sparse_conv.cpp
    &make_xnn_conv_kernel,         // xnn_conv.cpp
    &make_xnn_dense_kernel,        // xnn_conv.cpp
    &make_xnn_pool_kernel,         // xnn_pool.cpp
    &make_xnn_elementwise_kernel,  // xnn_elementwise.cpp
    &make_concat_kernel,           // data_movement.cpp
    &make_vnni_qconv_kernel,       // vnni_qconv.cpp
    &make_qlinear_conv_kernel,     // dnnl_qconv.cpp
    &make_quantize_kernel,         // quantize_kernels.cpp
    &make_data_movement_kernel,    // data_movement.cpp
};

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
  // Pooling with ceil_mode: ONNX releases disagree on whether a last window starting in the end
  // padding counts; the reference kernel's answer (it does not) is the one that holds.
  const bool ceil_pool = std::any_of(graph.nodes.begin(), graph.nodes.end(), [](const auto& node) {
    return node->attr_int("ceil_mode", 0) != 0;
  });
  const bool complete = !ceil_pool && std::all_of(graph.nodes.begin(), graph.nodes.end(), [&](const auto& node) {
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

// "Conv", "Conv+Relu" for a fused group, "LayoutConversion" for an inserted transpose.
std::string step_op(const std::vector<const ir::Node*>& nodes) {
  if (nodes.empty()) return "LayoutConversion";
  std::string op = nodes.front()->op_type;
  for (size_t i = 1; i < nodes.size(); ++i) op += "+" + nodes[i]->op_type;
  return op;
}

}  // namespace

struct CpuExecutor::Plan {
  std::vector<ir::Shape> input_shapes;  // what this plan was prepared for
  std::vector<ValueDesc> values;         // by id
  std::vector<int> input_ids, output_ids;
  struct Step {
    std::unique_ptr<Kernel> kernel;
    std::vector<const ir::Node*> nodes;  // the node, a fused group in order, or none (a layout conversion)
    std::string label;                   // a layout conversion: the value it converts
    int64_t macs = 0;                    // of its nodes (profile only)
    double seconds = 0;
    int64_t calls = 0;
  };
  std::vector<Step> steps;
  std::vector<std::byte> arena_storage;  // arena_bytes + alignment + 64 readable bytes past the end
  std::byte* arena = nullptr;            // aligned start inside arena_storage
  int64_t arena_bytes = 0;
  std::vector<void*> ptrs;  // by value id
};

void CpuExecutor::PoolDeleter::operator()(pthreadpool* p) const { pthreadpool_destroy(p); }

CpuExecutor::CpuExecutor(const ir::Graph& graph, Options options) : graph_(graph), options_(options) {
  for (const auto& node : graph_.nodes) check_node(graph_, *node);  // every node valid before any rewrite
  // Constant subgraphs become initializers (runtime/constant_folding.h); QDQ patterns become
  // QLinearConv nodes, which the int8 kernels run (passes/qdq_fusion.h); weights still behind
  // DequantizeLinear (a float layer of a QDQ model, such as a classifier writing float logits)
  // are then dequantized once, here, for the float kernels.
  hone::runtime::fold_constant_nodes(graph_, false);
  passes::fuse_qdq_to_qlinear(graph_);
  hone::runtime::fold_constant_nodes(graph_, true);
  for (const auto& node : graph_.nodes) since_versions_.push_back(check_node(graph_, *node).since_version);
}

CpuExecutor::~CpuExecutor() = default;

std::vector<CpuExecutor::Group> CpuExecutor::fusion_groups() const {
  std::map<std::string, std::vector<size_t>> consumers;
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    for (const auto& in : graph_.nodes[i]->inputs) {
      if (!in.empty()) consumers[in].push_back(i);
    }
  }
  const std::set<std::string> outputs(graph_.outputs.begin(), graph_.outputs.end());
  // The one node reading node i's first output, or -1.
  auto sole_consumer = [&](size_t i) -> int {
    const ir::Node& n = *graph_.nodes[i];
    if (n.outputs.empty() || outputs.count(n.outputs[0])) return -1;
    for (size_t o = 1; o < n.outputs.size(); ++o) {
      if (!n.outputs[o].empty() && (consumers.count(n.outputs[o]) || outputs.count(n.outputs[o]))) return -1;
    }
    auto it = consumers.find(n.outputs[0]);
    if (it == consumers.end() || it->second.size() != 1) return -1;
    const size_t c = it->second[0];
    // It must read the value as its first input only (Add(x, x) is not an activation of x).
    const auto& ins = graph_.nodes[c]->inputs;
    if (ins.empty() || ins[0] != n.outputs[0] || std::count(ins.begin(), ins.end(), n.outputs[0]) != 1) return -1;
    return static_cast<int>(c);
  };
  static const std::set<std::string> kClampable = {"Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div",
                                                   "MaxPool", "AveragePool", "GlobalAveragePool"};
  std::vector<Group> groups;
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    const ir::Node& head = *graph_.nodes[i];
    if (!onnx_domain(head) || !kClampable.count(head.op_type)) continue;
    Group g{i, {}, nullptr, {}};
    size_t tail = i;
    int c = sole_consumer(tail);
    if (c >= 0 && onnx_op(head, "Conv") && foldable_batch_norm(*graph_.nodes[static_cast<size_t>(c)], graph_)) {
      g.batch_norm = graph_.nodes[static_cast<size_t>(c)].get();
      g.fused.push_back(static_cast<size_t>(c));
      tail = static_cast<size_t>(c);
      c = sole_consumer(tail);
    }
    if (c >= 0 && fusable_activation(*graph_.nodes[static_cast<size_t>(c)], since_versions_[static_cast<size_t>(c)], graph_,
                                     &g.activation)) {
      g.fused.push_back(static_cast<size_t>(c));
    }
    if (!g.fused.empty()) groups.push_back(std::move(g));
  }
  return groups;
}

void CpuExecutor::prepare(std::span<const ir::Tensor> inputs) {
  auto plan = std::make_unique<Plan>();
  for (const auto& t : inputs) plan->input_shapes.push_back(t.shape());
  const ir::Model shaped = shaped_model(graph_, inputs);
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = options_.threads > 0 ? options_.threads : cores;
  // oneDNN (the int8 convolutions) runs on OpenMP's threads. Two pools spinning on the same
  // cores fight (ResNet-18 int8 on 2 threads: 26 ms with both, measured against 6.6 ms on one
  // thread), so a graph with int8 convolutions runs its XNNPACK steps on the calling thread.
  const bool openmp = std::any_of(graph_.nodes.begin(), graph_.nodes.end(),
                                  [](const auto& n) { return n->op_type == "QLinearConv"; });
  if (!pool_ && threads > 1 && !openmp) pool_.reset(pthreadpool_create(static_cast<size_t>(threads)));
  const Context context{pool_.get(), threads, &graph_};

  std::map<std::string, int> ids;
  std::vector<std::string> names;  // by value id, for the labels of layout conversions
  auto add_value = [&](ir::DType dt, ir::Shape shape, const ir::Tensor* constant, Layout layout,
                       const std::string& name) {
    names.push_back(name);
    ValueDesc v;
    v.id = static_cast<int>(plan->values.size());
    v.dtype = dt;
    v.shape = std::move(shape);
    v.constant = constant;
    v.layout = layout;
    plan->values.push_back(v);
    return v.id;
  };
  for (size_t i = 0; i < inputs.size(); ++i) {
    const int id = add_value(inputs[i].dtype(), inputs[i].shape(), nullptr, Layout::Nchw, graph_.inputs[i]);
    ids[graph_.inputs[i]] = id;
    plan->input_ids.push_back(id);
  }
  for (const auto& [name, t] : graph_.initializers) ids[name] = add_value(t.dtype(), t.shape(), &t, Layout::Nchw, name);
  // A node output's value, made on first use (a fused group makes its activation's output early).
  auto output_value = [&](const ir::Node& node, const std::string& out) -> ValueDesc {
    if (out.empty()) return {};
    if (auto it = ids.find(out); it != ids.end()) return plan->values[static_cast<size_t>(it->second)];
    const ir::ValueInfo* vi = shaped.graph.value_info(out);
    const auto shape = vi ? vi->static_shape() : std::nullopt;
    if (!shape) throw internal_error("no shape was learnt for '{}' of {}", out, node.label());
    const int id = add_value(vi->dtype, *shape, nullptr, Layout::Nchw, out);
    ids[out] = id;
    return plan->values[static_cast<size_t>(id)];
  };

  // Steps record the values they read and write; lifetimes come from them afterwards.
  std::vector<std::vector<int>> reads, writes;
  std::map<std::pair<int, Layout>, int> converted;  // (value, layout) -> its converted copy
  auto convert = [&](int id, Layout to) {
    const ValueDesc v = plan->values[static_cast<size_t>(id)];
    if (v.layout == to || layout_free(v)) return id;
    if (auto it = converted.find({id, to}); it != converted.end()) return it->second;
    const std::string label = fmt::format("{} to {}", names[static_cast<size_t>(id)], to == Layout::Nhwc ? "NHWC" : "NCHW");
    const int copy = add_value(v.dtype, v.shape, nullptr, to, label);
    converted[{id, to}] = copy;
    auto k = make_layout_kernel(v, v.layout, to);
    k->in = {id};
    k->out = {copy};
    reads.push_back({id});
    writes.push_back({copy});
    plan->steps.push_back({std::move(k), {}, label, 0, 0, 0});
    return copy;
  };
  // Converts the inputs the kernel reads in another layout, then appends its step.
  auto emit = [&](std::unique_ptr<Kernel> k, const NodeDesc& n) {
    HONE_ASSERT(k->input_layouts.size() == n.inputs.size() && k->output_layouts.size() == n.outputs.size());
    k->in.clear();
    k->out.clear();
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      k->in.push_back(n.inputs[i].id < 0 ? -1 : convert(n.inputs[i].id, k->input_layouts[i]));
    }
    for (size_t o = 0; o < n.outputs.size(); ++o) {
      const int id = n.outputs[o].id;
      k->out.push_back(id);
      if (id >= 0) plan->values[static_cast<size_t>(id)].layout = k->output_layouts[o];
    }
    std::vector<int> r, w;
    for (int id : k->in) if (id >= 0) r.push_back(id);
    for (int id : k->out) if (id >= 0) w.push_back(id);
    reads.push_back(std::move(r));
    writes.push_back(std::move(w));
    std::vector<const ir::Node*> nodes{n.node};
    nodes.insert(nodes.end(), n.fused.begin(), n.fused.end());
    plan->steps.push_back({std::move(k), std::move(nodes), {}, 0, 0, 0});
  };

  // Fusion groups: Conv [-> BatchNormalization] [-> Relu / Clip], and the other ops XNNPACK
  // clamps on output followed by an activation. A node joins its producer's group when it is
  // that producer's only consumer (and not a graph output).
  const std::vector<Group> groups = fusion_groups();
  std::vector<char> absorbed(graph_.nodes.size(), 0);
  for (const Group& g : groups) {
    for (size_t f : g.fused) absorbed[f] = 1;
  }
  std::vector<const Group*> group_of(graph_.nodes.size(), nullptr);
  for (const Group& g : groups) group_of[g.head] = &g;

  // Node i with its inputs (a group's head too: the group reads what its head reads).
  auto describe_inputs = [&](size_t i) {
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
    return n;
  };
  auto describe_node = [&](size_t i) {
    NodeDesc n = describe_inputs(i);
    for (const auto& out : n.node->outputs) n.outputs.push_back(output_value(*n.node, out));
    return n;
  };
  auto fast_kernel = [&](const NodeDesc& n) -> std::unique_ptr<Kernel> {
    for (const KernelFactory factory : kFactories) {
      if (auto k = factory(n, context)) return k;
    }
    return nullptr;
  };
  auto single = [&](size_t i) {
    NodeDesc n = describe_node(i);
    std::unique_ptr<Kernel> kernel = fast_kernel(n);
    if (!kernel) {
      log_fallback(*n.node);
      kernel = make_reference_kernel(n);
    }
    emit(std::move(kernel), n);
  };

  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    if (absorbed[i]) continue;  // ran with its group
    const Group* g = group_of[i];
    if (!g) {
      single(i);
      continue;
    }
    // The group's kernel reads the head's inputs and writes the last node's outputs.
    const ir::Node& last = *graph_.nodes[g->fused.back()];
    NodeDesc f = describe_inputs(i);
    f.outputs.push_back(output_value(last, last.outputs[0]));
    for (size_t k : g->fused) f.fused.push_back(graph_.nodes[k].get());
    f.batch_norm = g->batch_norm;
    f.activation = g->activation;
    if (auto k = fast_kernel(f)) {
      emit(std::move(k), f);
      continue;
    }
    // No fast kernel takes the group: its nodes run one by one, here (each reads only the one
    // before it and constants, so running them now keeps the order valid).
    single(i);
    for (size_t k : g->fused) single(k);
  }
  for (const auto& name : graph_.outputs) {
    auto it = ids.find(name);
    if (it == ids.end()) throw bad_input("graph output '{}' is never computed", name);
    plan->output_ids.push_back(convert(it->second, Layout::Nchw));
  }
  if (options_.profile) {
    // MACs per node with these shapes, for the profile's achieved GFLOP/s.
    const analysis::ModelStats stats = analysis::compute_model_stats(shaped);
    std::map<const ir::Node*, int64_t> macs;
    for (size_t i = 0; i < graph_.nodes.size() && i < stats.nodes.size(); ++i) macs[graph_.nodes[i].get()] = stats.nodes[i].macs;
    for (auto& s : plan->steps) {
      for (const ir::Node* n : s.nodes) s.macs += macs[n];
    }
  }

  // Every value a step writes gets an arena slot, alive from its first write to its last read;
  // graph outputs stay alive to the end, graph inputs and constants are not in the arena.
  const int end = static_cast<int>(plan->steps.size());
  std::vector<int> first(plan->values.size(), -1), last(plan->values.size(), -1);
  for (int s = 0; s < end; ++s) {
    for (int id : writes[static_cast<size_t>(s)]) {
      if (first[static_cast<size_t>(id)] < 0) first[static_cast<size_t>(id)] = s;
      last[static_cast<size_t>(id)] = std::max(last[static_cast<size_t>(id)], s);
    }
    for (int id : reads[static_cast<size_t>(s)]) last[static_cast<size_t>(id)] = s;
  }
  for (int id : plan->output_ids) last[static_cast<size_t>(id)] = end;
  std::vector<BufferRequest> requests;
  std::vector<int> request_of(plan->values.size(), -1);
  for (const ValueDesc& v : plan->values) {
    if (v.constant || first[static_cast<size_t>(v.id)] < 0) continue;
    request_of[static_cast<size_t>(v.id)] = static_cast<int>(requests.size());
    requests.push_back({v.bytes(), first[static_cast<size_t>(v.id)], last[static_cast<size_t>(v.id)]});
  }
  const MemoryPlan mp = plan_memory(requests, kAlignment);
  plan->arena_bytes = mp.arena_bytes;
  // Room to align the start, and 64 bytes past the last slot that vector kernels may read
  // (XNNPACK reads up to XNN_EXTRA_BYTES beyond an input; slots before the last are followed
  // by the next slot).
  plan->arena_storage.resize(static_cast<size_t>(mp.arena_bytes + 2 * kAlignment));
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
      if (s.nodes.empty()) nodes.push_back(s.label);
      steps.push_back({{"nodes", nodes}, {"op_type", step_op(s.nodes)}, {"kernel", s.kernel->name()}});
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
  if (!plan_ || !options_.profile) return layers;
  double total = 0;
  for (const auto& s : plan_->steps) total += s.seconds;
  for (const auto& s : plan_->steps) {
    const double mean_ms = s.calls ? s.seconds / static_cast<double>(s.calls) * 1e3 : 0.0;
    const ir::Node* n = s.nodes.empty() ? nullptr : s.nodes.front();
    layers.push_back({{"node", !n ? s.label : n->name.empty() ? n->op_type : n->name},
                      {"op_type", step_op(s.nodes)},
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
