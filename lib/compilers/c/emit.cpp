#include "compilers/c/emit.h"

#include "compilers/c/ops.h"
#include "ir/onnx_io.h"
#include "passes/qdq_fusion.h"
#include "runtime/constant_folding.h"
#include "runtime/memory_planner.h"
#include "support/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace hone::compilers::c {

namespace {

std::string upper(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

// A value computed at run time in floating point (constants are folded into the code).
bool computes_in_float(const ir::Graph& g, const std::string& v) {
  const ir::ValueInfo* vi = g.value_info(v);
  return !v.empty() && !g.is_initializer(v) && vi &&
         (vi->dtype == ir::DType::Float32 || vi->dtype == ir::DType::Float64 || vi->dtype == ir::DType::Float16);
}

std::string c_identifier(const std::string& s) {
  std::string r;
  for (char ch : s) r += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return r;
}

}  // namespace

ir::Graph prepare_graph(const ir::Graph& graph, std::vector<ir::Shape> input_shapes) {
  ir::Model m;
  m.graph = graph;
  runtime::fold_constant_nodes(m.graph, false);
  passes::fuse_qdq_to_qlinear(m.graph);
  runtime::fold_constant_nodes(m.graph, true);
  // Static shapes: the given input shapes, else each input's dims with 1 for a symbolic one.
  std::map<std::string, ir::ValueInfo> inputs;
  for (size_t i = 0; i < m.graph.inputs.size(); ++i) {
    const std::string& name = m.graph.inputs[i];
    const ir::ValueInfo* vi = m.graph.value_info(name);
    if (!vi || !vi->shape) throw bad_input("graph input '{}' has no shape", name);
    ir::ValueInfo s = *vi;
    if (i < input_shapes.size()) {
      s.shape.emplace();
      for (int64_t d : input_shapes[i]) s.shape->push_back(ir::Dim{d, ""});
    } else {
      for (auto& d : *s.shape) {
        if (d.value < 0) d = ir::Dim{1, ""};
      }
    }
    inputs[name] = s;
  }
  m.graph.values.clear();
  for (auto& [name, vi] : inputs) m.graph.values[name] = vi;
  ir::infer_shapes(m);
  for (const auto& node : m.graph.nodes) {
    for (const auto& out : node->outputs) {
      const ir::ValueInfo* vi = m.graph.value_info(out);
      if (!out.empty() && (!vi || vi->dtype == ir::DType::Undefined || !vi->static_shape())) {
        throw unsupported("the C backend needs static shapes; shape inference left '{}' without one", out)
            .with_node(node->name, node->op_type);
      }
    }
  }
  return m.graph;
}

nlohmann::json strip_quantization_boundary(ir::Graph& g) {
  using nlohmann::json;
  const auto scalar_params = [&](const ir::Node& n) {
    for (size_t i = 1; i < n.inputs.size(); ++i) {
      const ir::Tensor* t = n.inputs[i].empty() ? nullptr : g.initializer(n.inputs[i]);
      if (!n.inputs[i].empty() && (!t || t->numel() != 1)) return false;
    }
    return n.inputs.size() >= 2;
  };
  json boundary = {{"inputs", json::array()}, {"outputs", json::array()}};
  std::vector<const ir::Node*> drop;
  for (auto& name : g.inputs) {
    const std::vector<ir::Node*> readers = g.consumers(name);
    if (readers.size() != 1 || readers[0]->op_type != "QuantizeLinear" || !scalar_params(*readers[0]) ||
        g.is_graph_output(name)) {
      throw unsupported("integer_only: graph input '{}' must be read by exactly one QuantizeLinear with constant "
                        "per-tensor parameters (quantize the model with quantize_static first)",
                        name);
    }
    boundary["inputs"].push_back({{"name", name}, {"quantized", readers[0]->outputs[0]}, {"node", readers[0]->name}});
    name = readers[0]->outputs[0];
    drop.push_back(readers[0]);
  }
  for (auto& name : g.outputs) {
    const ir::Node* p = g.producer(name);
    if (!p || p->op_type != "DequantizeLinear" || !scalar_params(*p) || g.is_graph_input(p->inputs[0])) {
      throw unsupported("integer_only: graph output '{}' must come from a DequantizeLinear with constant per-tensor "
                        "parameters (quantize_static's quantize_outputs)",
                        name);
    }
    boundary["outputs"].push_back({{"name", name}, {"quantized", p->inputs[0]}, {"node", p->name}});
    name = p->inputs[0];
    drop.push_back(p);
  }
  for (const ir::Node* n : drop) g.remove_node(n);
  g.remove_unused();
  for (const auto& node : g.nodes) {
    for (const auto* list : {&node->inputs, &node->outputs}) {
      for (const auto& v : *list) {
        if (computes_in_float(g, v)) {
          throw unsupported("integer_only: the model still computes in floating point here ('{}' is {})", v,
                            ir::dtype_name(g.value_info(v)->dtype))
              .with_node(node->name, node->op_type);
        }
      }
    }
  }
  return boundary;
}

std::vector<std::string> supported_ops() {
  std::vector<std::string> r;
  for (const OpEmitter& e : op_emitters()) r.push_back(e.op_type);
  return r;
}

CSource emit_c(const ir::Graph& g, const EmitOptions& options) {
  CSource out;
  const std::string P = options.prefix, PU = upper(options.prefix);

  // Emitters first: an unsupported node stops here, before anything is written.
  std::vector<const OpEmitter*> emitters;
  for (const auto& node : g.nodes) {
    const OpEmitter* e = find_op_emitter(*node);
    if (!e) throw unsupported("the C backend has no emitter for this op").with_node(node->name, node->op_type);
    if (std::string why = e->check ? e->check(g, *node) : std::string(); !why.empty()) {
      throw unsupported("the C backend does not take it: {}", why).with_node(node->name, node->op_type);
    }
    emitters.push_back(e);
  }

  // Values: graph inputs and outputs are the caller's buffers, initializers const arrays,
  // everything else an arena slice planned by lifetime (step i = node i).
  std::map<std::string, std::string> where;  // value -> C expression of its address (char*)
  std::map<std::string, size_t> request_of;
  std::vector<runtime::BufferRequest> requests;
  std::vector<std::string> request_names;
  for (size_t i = 0; i < g.inputs.size(); ++i) where[g.inputs[i]] = fmt::format("((char*)inputs[{}])", i);
  for (size_t i = 0; i < g.outputs.size(); ++i) {
    if (where.count(g.outputs[i]) || g.is_initializer(g.outputs[i])) {
      throw unsupported("graph output '{}' is a graph input or a constant", g.outputs[i]);
    }
    where[g.outputs[i]] = fmt::format("((char*)outputs[{}])", i);
  }
  for (size_t step = 0; step < g.nodes.size(); ++step) {
    const ir::Node& node = *g.nodes[step];
    for (const auto& in : node.inputs) {
      auto it = request_of.find(in);
      if (it != request_of.end()) requests[it->second].last_step = static_cast<int>(step);
    }
    for (const auto& o : node.outputs) {
      if (o.empty() || where.count(o)) continue;
      const ir::ValueInfo* vi = g.value_info(o);
      const int64_t bytes = vi->static_shape() ? ir::checked_numel(*vi->static_shape()) *
                                                     static_cast<int64_t>(ir::dtype_size(vi->dtype))
                                               : 0;
      request_of[o] = requests.size();
      requests.push_back({bytes, static_cast<int>(step), static_cast<int>(step)});
      request_names.push_back(o);
    }
  }
  const runtime::MemoryPlan plan = runtime::plan_memory(requests, 16);
  out.arena_bytes = plan.arena_bytes;
  for (size_t r = 0; r < requests.size(); ++r) where[request_names[r]] = fmt::format("(arena + {})", plan.offsets[r]);

  std::string consts, functions, run_body;
  int const_index = 0;
  std::map<std::string, std::string> const_name;
  auto constant = [&](const std::string& value) -> std::string {
    auto it = const_name.find(value);
    if (it != const_name.end()) return it->second;
    const std::string name = fmt::format("c{}_{}", const_index++, c_identifier(value).substr(0, 40));
    const_name[value] = name;
    return name;
  };

  for (size_t step = 0; step < g.nodes.size(); ++step) {
    const ir::Node& node = *g.nodes[step];
    NodeContext ctx{g, node};
    for (const auto& in : node.inputs) {
      if (in.empty()) {
        ctx.inputs.push_back({});
        continue;
      }
      ValueRef v;
      v.name = in;
      if (const ir::Tensor* t = g.initializer(in)) {
        v.constant = t;
        v.dtype = t->dtype();
        v.shape = t->shape();
        v.address = "((const char*)" + constant(in) + ")";
      } else {
        const ir::ValueInfo* vi = g.value_info(in);
        v.dtype = vi->dtype;
        v.shape = *vi->static_shape();
        v.address = where.at(in);
      }
      ctx.inputs.push_back(v);
    }
    for (const auto& o : node.outputs) {
      ValueRef v;
      v.name = o;
      if (!o.empty()) {
        const ir::ValueInfo* vi = g.value_info(o);
        v.dtype = vi->dtype;
        v.shape = *vi->static_shape();
        v.address = where.at(o);
      }
      ctx.outputs.push_back(v);
    }
    const std::string fn = fmt::format("node_{}", step);
    std::string body;
    try {
      body = emitters[step]->emit(ctx);
    } catch (Error& e) {
      throw e.with_node(node.name, node.op_type);
    }
    functions += fmt::format("/* node '{}' ({}) */\nstatic void {}(char* arena, const void* const* inputs, void* const* outputs) {{\n"
                             "  (void)arena; (void)inputs; (void)outputs;\n{}}}\n\n",
                             node.name, node.op_type, fn, body);
    run_body += fmt::format("  {}(a, inputs, outputs);\n", fn);
    out.nodes.push_back({{"function", fn}, {"node", node.name}, {"op", node.op_type}});
  }

  // Only the constants some node reads through its address become arrays (scales and zero
  // points are folded into the code as literals).
  for (const auto& [value, name] : const_name) {
    if (functions.find("((const char*)" + name + ")") == std::string::npos) continue;
    const ir::Tensor* t = g.initializer(value);
    consts += fmt::format("/* '{}' {} {} */\n", value, ir::dtype_name(t->dtype()), ir::shape_str(t->shape()));
    consts += c_array(name, *t) + "\n";
    out.weight_bytes += static_cast<int64_t>(t->nbytes());
  }

  for (const auto& [list, ports] : {std::pair{&g.inputs, &out.inputs}, std::pair{&g.outputs, &out.outputs}}) {
    for (const auto& name : *list) {
      const ir::ValueInfo* vi = g.value_info(name);
      Port p{name, vi->dtype, *vi->static_shape(), 0};
      p.bytes = ir::checked_numel(p.shape) * static_cast<int64_t>(ir::dtype_size(p.dtype));
      ports->push_back(p);
    }
  }

  // model.h
  std::string h = fmt::format(
      "/* Generated by hone (C backend). Standalone C99: no malloc, no global mutable state. */\n"
      "#ifndef {0}_H\n#define {0}_H\n\n#include <stddef.h>\n\n"
      "#define {0}_ARENA_BYTES {1}\n#define {0}_ARENA_ALIGN 8\n#define {0}_NUM_INPUTS {2}\n#define {0}_NUM_OUTPUTS {3}\n",
      PU, out.arena_bytes, out.inputs.size(), out.outputs.size());
  for (size_t i = 0; i < out.inputs.size(); ++i) {
    h += fmt::format("#define {}_INPUT{}_BYTES {} /* '{}' {} {} */\n", PU, i, out.inputs[i].bytes, out.inputs[i].name,
                     ir::dtype_name(out.inputs[i].dtype), ir::shape_str(out.inputs[i].shape));
  }
  for (size_t i = 0; i < out.outputs.size(); ++i) {
    h += fmt::format("#define {}_OUTPUT{}_BYTES {} /* '{}' {} {} */\n", PU, i, out.outputs[i].bytes,
                     out.outputs[i].name, ir::dtype_name(out.outputs[i].dtype), ir::shape_str(out.outputs[i].shape));
  }
  h += fmt::format(
      "\n/* 0 when `arena` ({0}_ARENA_BYTES, {0}_ARENA_ALIGN-aligned) can run the model, else -1. */\n"
      "int {1}_init(void* arena, size_t bytes);\n"
      "/* Runs the model: inputs[i] / outputs[i] hold {0}_INPUT<i>_BYTES / {0}_OUTPUT<i>_BYTES. */\n"
      "void {1}_run(void* arena, const void* const* inputs, void* const* outputs);\n\n#endif\n",
      PU, P);
  out.header = std::move(h);

  // model.c
  // A graph without float values (integer_only) gets no float helpers and no libm.
  bool uses_float = false;
  for (const auto& node : g.nodes) {
    for (const auto& v : node->inputs) uses_float = uses_float || computes_in_float(g, v);
    for (const auto& v : node->outputs) uses_float = uses_float || computes_in_float(g, v);
  }
  std::string c = fmt::format(
      "/* Generated by hone (C backend) from {} nodes; arena {} bytes, weights {} bytes. */\n"
      "#include \"model.h\"\n\n{}#include <stdint.h>\n#include <string.h>\n\n",
      g.nodes.size(), out.arena_bytes, out.weight_bytes, uses_float ? "#include <math.h>\n" : "");
  c += runtime_helpers(uses_float);
  c += consts + "\n" + functions;
  c += fmt::format(
      "int {0}_init(void* arena, size_t bytes) {{\n"
      "{3}"
      "  return ((uintptr_t)arena % {1}_ARENA_ALIGN) != 0 ? -1 : 0;\n}}\n\n"
      "void {0}_run(void* arena, const void* const* inputs, void* const* outputs) {{\n"
      "  char* a = (char*)arena;\n{2}}}\n",
      P, PU, run_body,
      out.arena_bytes > 0 ? fmt::format("  if (bytes < (size_t){}_ARENA_BYTES) return -1;\n", PU) : std::string("  (void)bytes;\n"));
  out.source = std::move(c);
  return out;
}

namespace {

// What both harnesses declare per port: a static buffer each ("in0", "out0", ...), the lists
// the run call takes, and a statement per input / output from `read` / `write` (format strings
// over the port index {0} and the upper-case prefix {1}).
struct HarnessPorts {
  std::string buffers, in_list, out_list, reads, writes;
};
HarnessPorts harness_ports(const CSource& src, const std::string& PU, fmt::string_view read, fmt::string_view write) {
  HarnessPorts h;
  for (size_t i = 0; i < src.inputs.size(); ++i) {
    h.buffers += fmt::format("static unsigned char in{0}[{1}_INPUT{0}_BYTES + 1];\n", i, PU);
    h.in_list += fmt::format("in{}, ", i);
    h.reads += fmt::format(fmt::runtime(read), i, PU);
  }
  for (size_t i = 0; i < src.outputs.size(); ++i) {
    h.buffers += fmt::format("static unsigned char out{0}[{1}_OUTPUT{0}_BYTES + 1];\n", i, PU);
    h.out_list += fmt::format("out{}, ", i);
    h.writes += fmt::format(fmt::runtime(write), i, PU);
  }
  return h;
}

}  // namespace

std::string emit_harness(const CSource& src, const EmitOptions& options) {
  const std::string P = options.prefix, PU = upper(options.prefix);
  const HarnessPorts h = harness_ports(
      src, PU, "    if (fread(in{0}, 1, {1}_INPUT{0}_BYTES, stdin) != {1}_INPUT{0}_BYTES) return 4;\n",
      "    if (fwrite(out{0}, 1, {1}_OUTPUT{0}_BYTES, stdout) != {1}_OUTPUT{0}_BYTES) return 3;\n");
  return fmt::format(
      "/* Generated by hone: runs the model on every sample read from stdin (the byte 'S', then the\n"
      "   inputs' bytes in order) and writes the outputs' bytes to stdout. Exit 0 at end of input,\n"
      "   4 on a truncated sample. */\n"
      "#include \"model.h\"\n\n#include <stdio.h>\n\n"
      "static long long arena_storage[({0}_ARENA_BYTES + 7) / 8 + 1];\n{1}\n"
      "static int done(long samples) {{\n  fprintf(stderr, \"%ld samples\\n\", samples);\n  return 0;\n}}\n\n"
      "int main(void) {{\n"
      "  const void* inputs[{0}_NUM_INPUTS + 1] = {{{2}0}};\n"
      "  void* outputs[{0}_NUM_OUTPUTS + 1] = {{{3}0}};\n"
      "  long samples = 0;\n"
      "  if ({4}_init(arena_storage, sizeof arena_storage) != 0) return 2;\n"
      "  for (;;) {{\n"
      "    if (getchar() != 'S') return done(samples); /* each sample starts with 'S'; EOF ends */\n{5}"
      "    {4}_run(arena_storage, inputs, outputs);\n{6}"
      "    ++samples;\n    fflush(stdout);\n  }}\n}}\n",
      PU, h.buffers, h.in_list, h.out_list, P, h.reads, h.writes);
}

std::string emit_board_harness(const CSource& src, const EmitOptions& options) {
  const std::string P = options.prefix, PU = upper(options.prefix);
  const HarnessPorts h = harness_ports(src, PU,
                                       "    got = hone_board_read(fin, in{0}, {1}_INPUT{0}_BYTES);\n"
                                       "    if (got != {1}_INPUT{0}_BYTES) return got == 0 && {0} == 0 ? 0 : 4;\n",
                                       "    if (hone_board_write(fout, out{0}, {1}_OUTPUT{0}_BYTES) != 0) return 3;\n");
  // A model without inputs would read nothing forever: run it once.
  const std::string once = src.inputs.empty() ? "    if (samples == 1) return 0;\n" : "";
  return fmt::format(
      "/* Generated by hone: runs the model on every sample of the host file input.bin (the inputs'\n"
      "   bytes in order, sample after sample) and appends to output.bin each sample's outputs and the\n"
      "   board timer's ticks around its run (uint64, little-endian). Board I/O: board.h. */\n"
      "#include \"board.h\"\n#include \"model.h\"\n\n#include <stdint.h>\n\n"
      "static long long arena_storage[({0}_ARENA_BYTES + 7) / 8 + 1];\n{1}\n"
      "int hone_main(void) {{\n"
      "  const void* inputs[{0}_NUM_INPUTS + 1] = {{{2}0}};\n"
      "  void* outputs[{0}_NUM_OUTPUTS + 1] = {{{3}0}};\n"
      "  const int fin = hone_board_open(\"input.bin\", 0), fout = hone_board_open(\"output.bin\", 1);\n"
      "  long samples = 0;\n"
      "  if (fin < 0 || fout < 0) return 5;\n"
      "  if ({4}_init(arena_storage, sizeof arena_storage) != 0) return 2;\n"
      "  for (;;) {{\n"
      "    uint32_t got = 0;\n    uint64_t t0, t1;\n    unsigned char ticks[8];\n    int b;\n{5}{8}"
      "    t0 = hone_board_ticks();\n"
      "    {4}_run(arena_storage, inputs, outputs);\n"
      "    t1 = hone_board_ticks();\n{6}"
      "    for (b = 0; b < 8; ++b) ticks[b] = (unsigned char)((t1 - t0) >> (8 * b));\n"
      "    if (hone_board_write(fout, ticks, 8) != 0) return 3;\n"
      "    ++samples;\n{7}  }}\n}}\n",
      PU, h.buffers, h.in_list, h.out_list, P, h.reads, h.writes, once, "    (void)got;\n");
}

}  // namespace hone::compilers::c
