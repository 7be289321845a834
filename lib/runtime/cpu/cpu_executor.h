// The CPU runtime: what users deploy on x86-64 / Arm Linux hosts. Three phases, as in TFLite
// Micro and ONNX Runtime:
//   construction: check every node; fold nodes that read only constants; rewrite QDQ patterns
//     into QLinearConv for the int8 kernel (passes/qdq_fusion.h);
//   prepare (the first run with a new input shape): learn every value's shape, form fusion
//     groups, pick a kernel per step (a fast kernel when one takes it, else the reference kernel,
//     logged once per op type), insert layout conversions, and plan every intermediate value
//     into one arena by lifetime;
//   run: point graph inputs into the pointer table and call a flat list of kernels. Nothing is
//     allocated except inside reference fallbacks and oneDNN's int8 convolutions (describe()
//     names both).
// The reference interpreter stays the golden model: tests compare this runtime against it.
// docs/performance.md has the kernels, the measurements behind them and the benchmark.
#pragma once

#include "runtime/cpu/kernel.h"
#include "runtime/executor.h"

#include <nlohmann/json.hpp>

#include <memory>

struct pthreadpool;

namespace hone::runtime::cpu {

struct Options {
  int threads = 0;       // 0: every core
  bool profile = false;  // time every kernel call (profile())
};

class CpuExecutor final : public Executor {
 public:
  // Checks every node (schema version, and a reference kernel to fall back on) the way the
  // reference interpreter does. Throws Unsupported / BadInput with node context.
  CpuExecutor(const ir::Graph& graph, Options options);
  ~CpuExecutor() override;

  std::string name() const override { return "cpu"; }
  std::vector<ir::Tensor> run(std::span<const ir::Tensor> inputs) override;

  // The steady-state path: `outputs` must hold tensors of the output dtypes and shapes (as
  // run() returns them); with inputs of the prepared shapes and no fallback node, nothing is
  // allocated.
  void run_into(std::span<const ir::Tensor> inputs, std::span<ir::Tensor> outputs);

  // What prepare chose: arena bytes, and per step its nodes, kernel and whether it allocates.
  nlohmann::json describe() const;
  // With Options::profile: per step, in execution order: node, op_type, kernel, calls,
  // mean_ms, share (of the summed kernel time). Empty before the first run.
  nlohmann::json profile() const override;

 private:
  struct Plan;
  struct PoolDeleter {
    void operator()(pthreadpool* p) const;
  };
  // A node and the nodes fused into it (indices into graph_.nodes).
  struct Group {
    size_t head;
    std::vector<size_t> fused;
    const ir::Node* batch_norm;
    Activation activation;
  };
  std::vector<Group> fusion_groups() const;
  void prepare(std::span<const ir::Tensor> inputs);
  // Prepares unless the current plan was made for these input shapes.
  void prepare_for(std::span<const ir::Tensor> inputs);

  ir::Graph graph_;
  Options options_;
  std::vector<int64_t> since_versions_;  // per node
  std::unique_ptr<pthreadpool, PoolDeleter> pool_;  // made at the first prepare; none for 1 thread
  std::unique_ptr<Plan> plan_;
};

}  // namespace hone::runtime::cpu
