// What the CPU runtime's kernels implement. A kernel is made at prepare for one node (or one
// fused group of nodes) with every shape known; run() then only reads and writes memory through
// the pointer table: ptrs[value id] is the value's data (constants and arena slots fixed at
// prepare, graph inputs and outputs set per run).
//
// Adding a fast kernel: write a factory (NodeDesc -> Kernel, nullptr when the node is outside
// its fast path), list it in kFactories (cpu_executor.cpp), and add the op to the
// differential tests (tests/unit/test_cpu_differential.cpp; int8: test_cpu_int8.cpp).
#pragma once

#include "ir/graph.h"
#include "ir/tensor.h"
#include "runtime/reference/kernel.h"

#include <limits>
#include <memory>
#include <string>
#include <vector>

struct pthreadpool;

namespace hone::runtime::cpu {

// How a value's bytes are laid out. Shapes are always the ONNX (logical) shape; a 4-D value
// [N, C, H, W] stored as Nhwc has its channels innermost, which is what the convolution and
// pooling kernels read and write. Everything else (reference fallbacks, Flatten, graph outputs)
// reads Nchw; prepare inserts a conversion step where a value is stored otherwise.
enum class Layout { Nchw, Nhwc };

struct ValueDesc {
  int id = -1;
  ir::DType dtype = ir::DType::Undefined;
  ir::Shape shape;
  const ir::Tensor* constant = nullptr;  // an initializer: its bytes are fixed at prepare
  Layout layout = Layout::Nchw;
  int64_t bytes() const { return ir::checked_numel(shape) * static_cast<int64_t>(ir::dtype_size(dtype)); }
};

// True when both layouts of `v` are the same bytes: not 4-D, or C == 1, or H * W == 1.
bool layout_free(const ValueDesc& v);

// Helpers every factory uses.
inline bool onnx_domain(const ir::Node& node) { return node.domain.empty() || node.domain == "ai.onnx"; }
inline bool onnx_op(const ir::Node& node, const char* op) { return onnx_domain(node) && node.op_type == op; }
// A float32 constant's data, or nullptr.
inline const float* constant_floats(const ValueDesc& v) {
  return v.constant && v.dtype == ir::DType::Float32 ? static_cast<const float*>(v.constant->raw()) : nullptr;
}

// An activation fused into the kernel that produces its input: the output is clamped to
// [min, max] (Relu: [0, inf), Clip / ReLU6: [lo, hi]).
struct Activation {
  float min = -std::numeric_limits<float>::infinity();
  float max = std::numeric_limits<float>::infinity();
  bool none() const { return min == -std::numeric_limits<float>::infinity() && max == std::numeric_limits<float>::infinity(); }
};

// One step as prepare sees it: a node, or a fused group: a node with the nodes that follow it
// folded in (a Conv's BatchNormalization, then an activation). A group's `outputs` are its last
// node's; the values between its nodes are never stored.
struct NodeDesc {
  const ir::Node* node = nullptr;
  int64_t since_version = 0;
  std::vector<ValueDesc> inputs;   // id -1 for an omitted optional input
  std::vector<ValueDesc> outputs;  // id -1 for an omitted optional output
  const reference::KernelEntry* reference = nullptr;
  std::vector<const ir::Node*> fused;    // the nodes folded in, in order
  const ir::Node* batch_norm = nullptr;  // one of them: an inference BatchNormalization after a Conv
  Activation activation;                 // the clamp of a fused Relu / Clip
};

// What every kernel factory may use: the executor's thread pool (nullptr: run on the calling
// thread) and the graph.
struct Context {
  pthreadpool* threadpool = nullptr;
  int threads = 1;                   // the runtime's thread count (oneDNN's OpenMP kernels)
  const ir::Graph* graph = nullptr;  // the graph being prepared (for constant inputs by name)
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual void run(void* const* ptrs) = 0;
  // Shown in describe() and the profile: "reference", "copy", "xnnpack:conv", ...
  virtual std::string name() const = 0;
  // True when run() may allocate (reference fallbacks build tensors).
  virtual bool allocates() const { return false; }

  // Set by the factory: the layout run() reads each input in and writes each output in (one
  // entry per NodeDesc input / output). Prepare converts inputs stored otherwise.
  std::vector<Layout> input_layouts, output_layouts;
  // Set by prepare after any conversion: the value ids run() reads and writes.
  std::vector<int> in, out;
};

// The golden-model kernel of `n` over the pointer table: correct for every op the reference
// interpreter runs, and the fallback of every node no fast kernel takes. Reads and writes Nchw.
std::unique_ptr<Kernel> make_reference_kernel(const NodeDesc& n);

// A layout conversion of a 4-D value (a transpose between Nchw and Nhwc storage).
std::unique_ptr<Kernel> make_layout_kernel(const ValueDesc& v, Layout from, Layout to);

// Fast kernels, tried in order; each returns nullptr when the node is outside its fast path.
// They leave `in` / `out` to prepare and set input_layouts / output_layouts.
std::unique_ptr<Kernel> make_data_movement_kernel(const NodeDesc& n, const Context& c);  // Reshape, Flatten, ...
std::unique_ptr<Kernel> make_sparse_conv_kernel(const NodeDesc& n, const Context& c);     // Conv, mostly zero weights
std::unique_ptr<Kernel> make_xnn_conv_kernel(const NodeDesc& n, const Context& c);        // Conv
std::unique_ptr<Kernel> make_xnn_dense_kernel(const NodeDesc& n, const Context& c);       // Gemm, MatMul
std::unique_ptr<Kernel> make_xnn_pool_kernel(const NodeDesc& n, const Context& c);        // MaxPool, AveragePool, GlobalAveragePool
std::unique_ptr<Kernel> make_xnn_elementwise_kernel(const NodeDesc& n, const Context& c); // Add, Mul, Relu, Clip, ...
std::unique_ptr<Kernel> make_concat_kernel(const NodeDesc& n, const Context& c);          // Concat
std::unique_ptr<Kernel> make_vnni_qconv_kernel(const NodeDesc& n, const Context& c);      // QLinearConv: 1x1, depthwise
std::unique_ptr<Kernel> make_qlinear_conv_kernel(const NodeDesc& n, const Context& c);    // QLinearConv (int8), oneDNN
std::unique_ptr<Kernel> make_quantize_kernel(const NodeDesc& n, const Context& c);        // QuantizeLinear, DequantizeLinear

// Fusion (used by prepare). An activation that fuses, with its clamp; an inference
// BatchNormalization with constant float parameters, which folds into the Conv before it.
bool fusable_activation(const ir::Node& node, int64_t since_version, const ir::Graph& graph, Activation* act);
bool foldable_batch_norm(const ir::Node& node, const ir::Graph& graph);

}  // namespace hone::runtime::cpu
