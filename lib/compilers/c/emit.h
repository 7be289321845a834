// The C backend's emitter: a prepared ONNX graph -> one standalone C99 translation unit and its
// header. No malloc, no global mutable state: activations live in one caller-supplied arena
// planned by tensor lifetimes (runtime/memory_planner.h, the cpu runtime's planner), weights
// are `static const` arrays (flash on a microcontroller), one C function per graph node with a
// comment naming the ONNX node and op. Integer ops follow the reference interpreter's integer
// semantics bit for bit (runtime/reference/kernels/quantized_common.h): int32 accumulation that
// wraps, requantization by M = m * 2^-shift (M's 24-bit significand; exact, integer only),
// round half to even, saturation. Float ops are plain loops over constant bounds.
//
// Generated API (prefix "hone_model" by default):
//   #define HONE_MODEL_ARENA_BYTES, HONE_MODEL_NUM_INPUTS / _OUTPUTS,
//           HONE_MODEL_INPUT<i>_BYTES, HONE_MODEL_OUTPUT<i>_BYTES
//   int  hone_model_init(void* arena, size_t bytes);   0, or -1 when too small / misaligned
//   void hone_model_run(void* arena, const void* const* inputs, void* const* outputs);
#pragma once

#include "ir/graph.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace hone::compilers::c {

struct EmitOptions {
  std::string prefix = "hone_model";  // C identifier prefix of the API
};

// A graph input or output as the generated API exposes it.
struct Port {
  std::string name;
  ir::DType dtype = ir::DType::Undefined;
  ir::Shape shape;
  int64_t bytes = 0;
};

struct CSource {
  std::string header;  // model.h
  std::string source;  // model.c
  int64_t arena_bytes = 0;
  int64_t weight_bytes = 0;  // bytes of the const arrays
  std::vector<Port> inputs, outputs;
  nlohmann::json nodes = nlohmann::json::array();  // {"function", "node", "op"} per emitted node
};

// The graph the emitter takes: QDQ patterns rewritten to integer ops (passes/qdq_fusion.h),
// constant subgraphs (DequantizeLinear of a weight, a Reshape of a constant) folded by the
// reference kernels, and every value given a static shape for `input_shapes` (batch 1 for
// dims that are not numbers when empty). Throws BadInput for a graph that cannot be shaped.
ir::Graph prepare_graph(const ir::Graph& graph, std::vector<ir::Shape> input_shapes = {});

// integer_only: moves the graph's quantization boundary out of the graph. Each input must be
// read by exactly one QuantizeLinear and each output come from a DequantizeLinear (constant
// per-tensor parameters); the graph then takes and gives the quantized values, and whoever runs
// it quantizes and dequantizes (the executable runtime does, on the host, with the reference
// interpreter). Returns {"inputs": [{"name", "quantized", "node"}], "outputs": [...]}, naming
// the original value, the quantized one and the node that was moved out. Throws Unsupported
// when the boundary is not like that, or when a node still computes in floating point.
nlohmann::json strip_quantization_boundary(ir::Graph& graph);

// Throws Unsupported naming the first node outside the emitter's ops (supported_ops()).
CSource emit_c(const ir::Graph& prepared, const EmitOptions& options = {});

// main.c for a hosted target (Linux, or newlib with semihosting): reads samples from stdin, each
// the byte 'S' and then the inputs' bytes in order (the marker ends the stream cleanly even when
// the inputs have no bytes), runs the model on each and writes the outputs' bytes to stdout;
// the arena is a static array of the harness (the model code has no global state of its own).
std::string emit_harness(const CSource& source, const EmitOptions& options = {});

// main.c for a bare-metal board (platforms/boards/board.h): reads the samples from the host file
// "input.bin" (each sample the inputs' bytes in order, back to back) through the board's file
// I/O, runs the model on each and appends to "output.bin" the outputs' bytes and then the board
// timer's ticks around that one run (uint64, little-endian). Exit 0 at the end of the input, 4
// on a truncated sample, 5 when a file cannot be opened, 3 when the host refuses the output.
std::string emit_board_harness(const CSource& source, const EmitOptions& options = {});

// The ONNX op types the emitter takes, in the order of its one list.
std::vector<std::string> supported_ops();

}  // namespace hone::compilers::c
