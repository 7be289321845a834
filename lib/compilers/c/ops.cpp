#include "compilers/c/ops.h"

#include "runtime/reference/kernel_util.h"
#include "runtime/reference/kernels/quantized_common.h"
#include "support/error.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <algorithm>
#include <numeric>

namespace hone::compilers::c {

namespace {

namespace quant = runtime::reference::quant;
using ir::DType;

const char* c_type(DType t) {
  switch (t) {
    case DType::Float32: return "float";
    case DType::Float64: return "double";
    case DType::Int8: return "int8_t";
    case DType::UInt8: return "uint8_t";
    case DType::Int16: return "int16_t";
    case DType::UInt16: return "uint16_t";
    case DType::Int32: return "int32_t";
    case DType::UInt32: return "uint32_t";
    case DType::Int64: return "int64_t";
    case DType::UInt64: return "uint64_t";
    case DType::Bool: return "uint8_t";
    default: return nullptr;
  }
}

int64_t numel(const ir::Shape& s) { return std::accumulate(s.begin(), s.end(), int64_t{1}, std::multiplies<>()); }

// `const float* x = (const float*)(addr);`
std::string in_ptr(const std::string& var, const ValueRef& v) {
  return fmt::format("  const {0}* {1} = (const {0}*){2};\n", c_type(v.dtype), var, v.address);
}
std::string out_ptr(const std::string& var, const ValueRef& v) {
  return fmt::format("  {0}* {1} = ({0}*){2};\n", c_type(v.dtype), var, v.address);
}

std::string float_literal(float v) {
  if (std::isnan(v)) return "NAN";
  if (std::isinf(v)) return v > 0 ? "INFINITY" : "-INFINITY";
  return fmt::format("{:a}f", v);
}

float scalar_float(const ValueRef& v) { return v.constant->data<float>()[0]; }
int32_t scalar_zero_point(const ValueRef& v) {
  if (v.name.empty() || !v.constant) return 0;
  return v.constant->dtype() == DType::Int8 ? v.constant->data<int8_t>()[0] : v.constant->data<uint8_t>()[0];
}


std::string needs(bool ok, const char* why) { return ok ? std::string() : std::string(why); }

// Input / output value info of a node, from the prepared graph.
const ir::ValueInfo* info(const ir::Graph& g, const std::string& v) { return g.value_info(v); }
DType dtype_of(const ir::Graph& g, const std::string& v) {
  if (const ir::Tensor* t = g.initializer(v)) return t->dtype();
  const ir::ValueInfo* vi = info(g, v);
  return vi ? vi->dtype : DType::Undefined;
}
size_t rank_of(const ir::Graph& g, const std::string& v) {
  if (const ir::Tensor* t = g.initializer(v)) return t->shape().size();
  const ir::ValueInfo* vi = info(g, v);
  return vi && vi->shape ? vi->shape->size() : 0;
}

// ------------------------------------------------------------------------ elementwise

std::string check_float_io(const ir::Graph& g, const ir::Node& n) {
  if (n.inputs.empty() || n.outputs.empty()) return "no input or output";
  return needs(dtype_of(g, n.inputs[0]) == DType::Float32, "only float32 inputs");
}

OpEmitter unary(const char* op, const char* expr) {
  return {op, check_float_io, [expr](const NodeContext& c) {
            return in_ptr("x", c.inputs[0]) + out_ptr("y", c.outputs[0]) +
                   fmt::format("  for (long i = 0; i < {}L; ++i) {{\n    const float v = x[i];\n    y[i] = {};\n  }}\n",
                               numel(c.outputs[0].shape), expr);
          }};
}

std::string emit_clip(const NodeContext& c) {
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  if (c.node.has_attr("min") || c.node.has_attr("max")) {
    lo = c.node.attr_float("min", lo);
    hi = c.node.attr_float("max", hi);
  }
  if (c.inputs.size() > 1 && !c.inputs[1].name.empty()) lo = scalar_float(c.inputs[1]);
  if (c.inputs.size() > 2 && !c.inputs[2].name.empty()) hi = scalar_float(c.inputs[2]);
  return in_ptr("x", c.inputs[0]) + out_ptr("y", c.outputs[0]) +
         fmt::format("  for (long i = 0; i < {}L; ++i) {{\n    float v = x[i];\n    v = v < {} ? {} : v;\n"
                     "    y[i] = v > {} ? {} : v;\n  }}\n",
                     numel(c.outputs[0].shape), float_literal(lo), float_literal(lo), float_literal(hi), float_literal(hi));
}

std::string check_clip(const ir::Graph& g, const ir::Node& n) {
  if (std::string why = check_float_io(g, n); !why.empty()) return why;
  for (size_t i = 1; i < n.inputs.size() && i < 3; ++i) {
    const ir::Tensor* t = n.inputs[i].empty() ? nullptr : g.initializer(n.inputs[i]);
    if (!n.inputs[i].empty() && (!t || t->numel() != 1)) return "min / max must be constant scalars";
  }
  return "";
}

// N-ary elementwise op with numpy broadcasting over any number of inputs of C types. `expr`
// builds the C expression from the operands' names (a0, a1, ...).
using NaryExpr = std::function<std::string(const std::vector<std::string>& a, const ir::Node& n)>;

std::vector<int64_t> broadcast_strides(const ir::Shape& in, size_t rank) {
  std::vector<int64_t> st(rank, 0);
  int64_t acc = 1;
  for (size_t k = 0; k < in.size(); ++k) {
    const size_t d = in.size() - 1 - k, o = rank - 1 - k;
    st[o] = in[d] == 1 ? 0 : acc;
    acc *= in[d];
  }
  return st;
}

std::string emit_nary(const NodeContext& c, const NaryExpr& expr) {
  const ir::Shape& y = c.outputs[0].shape;
  const size_t r = y.size();
  std::string s = out_ptr("y", c.outputs[0]);
  std::vector<std::string> names;
  bool same = true;
  for (size_t j = 0; j < c.inputs.size(); ++j) {
    s += in_ptr(fmt::format("x{}", j), c.inputs[j]);
    names.push_back(fmt::format("x{}[i{}]", j, j));
    same = same && c.inputs[j].shape == y;
  }
  s += fmt::format("  long i;\n  for (i = 0; i < {}L; ++i) {{\n", numel(y));
  if (same) {
    for (size_t j = 0; j < c.inputs.size(); ++j) s += fmt::format("    const long i{} = i;\n", j);
  } else {
    s += "    long t = i, d;\n";
    for (size_t j = 0; j < c.inputs.size(); ++j) s += fmt::format("    long i{} = 0;\n", j);
    std::vector<std::vector<int64_t>> st;
    for (const auto& in : c.inputs) st.push_back(broadcast_strides(in.shape, r));
    for (size_t k = r; k-- > 0;) {
      s += fmt::format("    d = t % {0}L; t /= {0}L;", y[k]);
      for (size_t j = 0; j < c.inputs.size(); ++j) {
        if (st[j][k] != 0) s += fmt::format(" i{} += d * {}L;", j, st[j][k]);
      }
      s += "\n";
    }
    s += "    (void)t; (void)d;\n";
  }
  s += fmt::format("    y[i] = ({})({});\n  }}\n", c_type(c.outputs[0].dtype), expr(names, c.node));
  return s;
}

// `types`: the allowed input types ({} = any C-representable type); all inputs the same type.
std::function<std::string(const ir::Graph&, const ir::Node&)> nary_check(std::vector<DType> types) {
  return [types](const ir::Graph& g, const ir::Node& n) -> std::string {
    if (n.inputs.empty() || n.outputs.size() != 1) return "needs inputs and one output";
    for (const auto& in : n.inputs) {
      if (in.empty()) return "omitted input";
      const DType t = dtype_of(g, in);
      if (!c_type(t)) return "unsupported element type";
      if (!types.empty() && std::find(types.begin(), types.end(), t) == types.end()) return "unsupported element type";
      if (t != dtype_of(g, n.inputs[0])) return "inputs of different types";
    }
    return needs(c_type(dtype_of(g, n.outputs[0])) != nullptr, "unsupported output type");
  };
}

OpEmitter nary(const char* op, std::vector<DType> types, NaryExpr expr) {
  return {op, nary_check(std::move(types)), [expr](const NodeContext& c) { return emit_nary(c, expr); }};
}

std::string fold_expr(const std::vector<std::string>& a, const char* fmt_pair) {
  std::string e = a[0];
  for (size_t j = 1; j < a.size(); ++j) e = fmt::format(fmt::runtime(fmt_pair), e, a[j]);
  return e;
}

const std::vector<DType> kFloat = {DType::Float32};
const std::vector<DType> kNumeric = {DType::Float32, DType::Float64, DType::Int8, DType::UInt8, DType::Int16,
                                     DType::UInt16, DType::Int32, DType::UInt32, DType::Int64, DType::UInt64};
const std::vector<DType> kBool = {DType::Bool};
const std::vector<DType> kArith = {DType::Float32, DType::Int32, DType::Int64};

// Reductions over constant axes (attribute, or the second input from opset 13 / 18).
std::vector<int64_t> reduce_axes(const ir::Graph& g, const ir::Node& n, bool& ok) {
  ok = true;
  std::vector<int64_t> axes = n.attr_ints("axes");
  if (n.inputs.size() > 1 && !n.inputs[1].empty()) {
    const ir::Tensor* t = g.initializer(n.inputs[1]);
    if (!t || t->dtype() != DType::Int64) {
      ok = false;
      return {};
    }
    axes.assign(t->data<int64_t>(), t->data<int64_t>() + t->numel());
  }
  return axes;
}

struct ReduceOp {
  const char* init;    // acc's first value ("" = the type's lowest / highest, see max)
  const char* update;  // with v and acc
  const char* result;  // from acc and count
};

std::string emit_reduce(const NodeContext& c, const ReduceOp& op) {
  const ir::Shape& x = c.inputs[0].shape;
  const size_t r = x.size();
  bool ok = true;
  std::vector<int64_t> axes = reduce_axes(c.graph, c.node, ok);
  const bool noop = c.node.attr_int("noop_with_empty_axes", 0) != 0;
  std::vector<bool> reduced(r, axes.empty() && !noop);
  for (int64_t a : axes) reduced[static_cast<size_t>(a < 0 ? a + static_cast<int64_t>(r) : a)] = true;
  std::vector<int64_t> stride(r, 1);
  for (size_t k = r; k-- > 1;) stride[k - 1] = stride[k] * x[k];
  int64_t count = 1, outer = 1;
  for (size_t k = 0; k < r; ++k) (reduced[k] ? count : outer) *= x[k];
  const bool is_float = c.inputs[0].dtype == DType::Float32 || c.inputs[0].dtype == DType::Float64;
  std::string s = in_ptr("x", c.inputs[0]) + out_ptr("y", c.outputs[0]);
  s += fmt::format("  long o, q;\n  for (o = 0; o < {}L; ++o) {{\n    long t = o, base = 0, d;\n    {} acc = {};\n",
                   outer, is_float ? "double" : "int64_t", op.init);
  for (size_t k = r; k-- > 0;) {
    if (!reduced[k]) s += fmt::format("    d = t % {0}L; t /= {0}L; base += d * {1}L;\n", x[k], stride[k]);
  }
  s += fmt::format("    (void)t; (void)d;\n    for (q = 0; q < {}L; ++q) {{\n      long u = q, off = base, e;\n", count);
  for (size_t k = r; k-- > 0;) {
    if (reduced[k]) s += fmt::format("      e = u % {0}L; u /= {0}L; off += e * {1}L;\n", x[k], stride[k]);
  }
  s += fmt::format("      (void)u; (void)e;\n      {{ const double v = (double)x[off]; {} }}\n    }}\n", op.update);
  s += fmt::format("    y[o] = ({})({});\n  }}\n", c_type(c.outputs[0].dtype),
                   fmt::format(fmt::runtime(op.result), fmt::arg("count", count)));
  return s;
}

OpEmitter reduce(const char* name, ReduceOp op, std::vector<DType> types) {
  auto check = [types](const ir::Graph& g, const ir::Node& n) -> std::string {
    if (n.inputs.empty() || n.outputs.size() != 1) return "needs an input and one output";
    const DType t = dtype_of(g, n.inputs[0]);
    if (std::find(types.begin(), types.end(), t) == types.end()) return "unsupported element type";
    bool ok = true;
    reduce_axes(g, n, ok);
    if (!ok) return "axes must be a constant int64 tensor";
    const auto r = static_cast<int64_t>(rank_of(g, n.inputs[0]));
    for (int64_t a : reduce_axes(g, n, ok)) {
      if (a < -r || a >= r) return "axis out of range";
    }
    return "";
  };
  return {name, check, [op](const NodeContext& c) { return emit_reduce(c, op); }};
}

std::string emit_arg(const NodeContext& c, bool max) {
  const ir::Shape& x = c.inputs[0].shape;
  const auto r = static_cast<int64_t>(x.size());
  int64_t axis = c.node.attr_int("axis", 0);
  if (axis < 0) axis += r;
  const bool last = c.node.attr_int("select_last_index", 0) != 0;
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= x[static_cast<size_t>(k)];
  for (int64_t k = axis + 1; k < r; ++k) inner *= x[static_cast<size_t>(k)];
  const int64_t n = x[static_cast<size_t>(axis)];
  const char* cmp = max ? (last ? ">=" : ">") : (last ? "<=" : "<");
  return in_ptr("x", c.inputs[0]) + out_ptr("y", c.outputs[0]) +
         fmt::format("  long o, i, k;\n  for (o = 0; o < {0}L; ++o)\n    for (i = 0; i < {2}L; ++i) {{\n"
                     "      long best = 0;\n      for (k = 1; k < {1}L; ++k)\n"
                     "        if (x[(o * {1}L + k) * {2}L + i] {3} x[(o * {1}L + best) * {2}L + i]) best = k;\n"
                     "      y[o * {2}L + i] = best;\n    }}\n",
                     outer, n, inner, cmp);
}

std::string check_arg(const ir::Graph& g, const ir::Node& n) {
  const DType t = dtype_of(g, n.inputs[0]);
  if (t != DType::Float32 && t != DType::Int32 && t != DType::Int64 && t != DType::UInt8 && t != DType::Int8) {
    return "unsupported element type";
  }
  const ir::ValueInfo* vi = info(g, n.inputs[0]);
  return needs(vi && vi->static_shape() && ir::checked_numel(*vi->static_shape()) > 0, "empty input");
}

std::string emit_cast(const NodeContext& c) {
  const bool to_bool = c.outputs[0].dtype == DType::Bool;
  return in_ptr("x", c.inputs[0]) + out_ptr("y", c.outputs[0]) +
         fmt::format("  long i;\n  for (i = 0; i < {}L; ++i) y[i] = {};\n", numel(c.outputs[0].shape),
                     to_bool ? "(uint8_t)(x[i] != 0)" : fmt::format("({})x[i]", c_type(c.outputs[0].dtype)));
}

std::string check_cast(const ir::Graph& g, const ir::Node& n) {
  const DType a = dtype_of(g, n.inputs[0]), b = dtype_of(g, n.outputs[0]);
  auto numeric = [](DType t) {
    return t == DType::Bool || std::find(kNumeric.begin(), kNumeric.end(), t) != kNumeric.end();
  };
  if (!numeric(a) || !numeric(b)) return "only numeric and bool types";
  // Float to integer conversion of out-of-range values is undefined in C: only float -> float /
  // bool, integer -> anything.
  if ((a == DType::Float32 || a == DType::Float64) && b != DType::Float32 && b != DType::Float64 && b != DType::Bool) {
    return "float to integer";
  }
  return "";
}

std::string emit_transpose(const NodeContext& c) {
  const ir::Shape& x = c.inputs[0].shape;
  const size_t r = x.size();
  std::vector<int64_t> perm = c.node.attr_ints("perm");
  if (perm.empty()) {
    for (size_t k = 0; k < r; ++k) perm.push_back(static_cast<int64_t>(r - 1 - k));
  }
  std::vector<int64_t> stride(r, 1);
  for (size_t k = r; k-- > 1;) stride[k - 1] = stride[k] * x[k];
  const ir::Shape& y = c.outputs[0].shape;
  std::string s = in_ptr("x", c.inputs[0]) + out_ptr("y", c.outputs[0]);
  s += fmt::format("  long i;\n  for (i = 0; i < {}L; ++i) {{\n    long t = i, src = 0, d;\n", numel(y));
  for (size_t k = r; k-- > 0;) {
    s += fmt::format("    d = t % {0}L; t /= {0}L; src += d * {1}L;\n", y[k], stride[static_cast<size_t>(perm[k])]);
  }
  s += "    (void)t; (void)d;\n    y[i] = x[src];\n  }\n";
  return s;
}

OpEmitter unary_attr(const char* op, std::function<std::string(const ir::Node&)> expr) {
  return {op, check_float_io, [expr](const NodeContext& c) {
            return in_ptr("x", c.inputs[0]) + out_ptr("y", c.outputs[0]) +
                   fmt::format("  for (long i = 0; i < {}L; ++i) {{\n    const float v = x[i];\n    y[i] = {};\n  }}\n",
                               numel(c.outputs[0].shape), expr(c.node));
          }};
}

// -------------------------------------------------------------------- data movement

std::string emit_copy(const NodeContext& c) {
  const int64_t bytes = numel(c.outputs[0].shape) * static_cast<int64_t>(ir::dtype_size(c.outputs[0].dtype));
  return fmt::format("  if ((const char*){0} != (const char*){1}) memmove({0}, {1}, {2});\n", c.outputs[0].address,
                     c.inputs[0].address, bytes);
}

std::string check_copy(const ir::Graph& g, const ir::Node& n) {
  if (n.inputs.empty() || n.outputs.empty()) return "no input or output";
  return needs(c_type(dtype_of(g, n.inputs[0])) != nullptr, "unsupported element type");
}

std::string emit_concat(const NodeContext& c) {
  const ir::Shape& y = c.outputs[0].shape;
  int64_t axis = c.node.attr_int("axis", 0);
  if (axis < 0) axis += static_cast<int64_t>(y.size());
  int64_t outer = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= y[static_cast<size_t>(k)];
  const int64_t elem = static_cast<int64_t>(ir::dtype_size(c.outputs[0].dtype));
  const int64_t row = numel(y) / std::max<int64_t>(outer, 1) * elem;  // bytes per outer index in y
  std::string s = fmt::format("  char* y = (char*){};\n  long o;\n", c.outputs[0].address);
  int64_t offset = 0;
  for (const ValueRef& in : c.inputs) {
    const int64_t part = numel(in.shape) / std::max<int64_t>(outer, 1) * elem;
    if (part == 0) continue;
    s += fmt::format("  for (o = 0; o < {0}L; ++o) memcpy(y + o * {1}L + {2}L, (const char*){3} + o * {4}L, {4});\n", outer,
                     row, offset, in.address, part);
    offset += part;
  }
  return s;
}

std::string check_concat(const ir::Graph& g, const ir::Node& n) {
  if (n.inputs.empty()) return "no inputs";
  for (const auto& in : n.inputs) {
    if (dtype_of(g, in) != dtype_of(g, n.inputs[0])) return "inputs of different types";
  }
  return needs(c_type(dtype_of(g, n.inputs[0])) != nullptr, "unsupported element type");
}

// --------------------------------------------------------------------------- windows

// 2-D window geometry of a Conv / pool node from the prepared shapes.
runtime::reference::WindowGeometry geometry(const NodeContext& c, const std::vector<int64_t>& kernel) {
  const ir::Shape& x = c.inputs[0].shape;
  const bool ceil_mode = c.node.attr_int("ceil_mode", 0) != 0;
  auto g = runtime::reference::window_geometry(c.node, {x[2], x[3]}, kernel, ceil_mode);
  g.out_spatial = {c.outputs[0].shape[2], c.outputs[0].shape[3]};
  return g;
}

std::string check_2d(const ir::Graph& g, const ir::Node& n) {
  if (n.inputs.empty() || n.outputs.empty()) return "no input or output";
  if (rank_of(g, n.inputs[0]) != 4) return "only 2-D windows (4-D input)";
  if (n.attr_ints("kernel_shape", {1, 1}).size() != 2) return "only 2-D windows";
  return "";
}

// The loops of a 2-D convolution (NCHW, groups) around C snippets: `acc_decl` starts an output
// element, `accumulate` adds tap (x[xi], w[wi]), `store` writes y[yi] from acc (m is the output
// channel). The taps of each output row / column that fall inside the input are worked out
// once (kh_lo..kh_hi, kw_lo..kw_hi), so the inner loops have no bounds checks, and windows
// wholly inside the input take loops with constant bounds the compiler unrolls; the taps are
// added in the order ci, kh, kw either way.
std::string conv_loops(const NodeContext& c, const ir::Shape& x, const ir::Shape& w, const std::string& acc_decl,
                       const std::string& accumulate, const std::string& store) {
  const ir::Shape& y = c.outputs[0].shape;
  const int64_t groups = c.node.attr_int("group", 1);
  const auto g = geometry(c, {w[2], w[3]});
  // Windows up to 5x5 are spelled out tap by tap (compilers do not always unroll constant
  // loops), larger ones loop.
  std::string inside, border;
  if (w[2] * w[3] <= 25) {
    for (int64_t kh = 0; kh < w[2]; ++kh) {
      for (int64_t kw = 0; kw < w[3]; ++kw) {
        inside += fmt::format("              {{ const long xi = xb + {}L, wi = wb + {}L; {} }}\n",
                              kh * g.dilations[0] * x[3] + kw * g.dilations[1], kh * w[3] + kw, accumulate);
      }
    }
    // At the border, the same taps, each under its row's and column's test (loop invariants).
    for (int64_t kh = 0; kh < w[2]; ++kh) {
      border += fmt::format("            const int row{0} = kh_lo <= {0} && {0} < kh_hi;\n", kh);
    }
    for (int64_t kw = 0; kw < w[3]; ++kw) {
      border += fmt::format("            const int col{0} = kw_lo <= {0} && {0} < kw_hi;\n", kw);
    }
    border += fmt::format(
        "            for (ci = 0; ci < {CG}; ++ci) {{\n"
        "              const long xb = ((long)(n * {C} + c0 + ci) * {H} + ih0) * {W} + iw0;\n"
        "              const long wb = ((long)m * {CG} + ci) * {KH} * {KW};\n",
        fmt::arg("CG", w[1]), fmt::arg("C", x[1]), fmt::arg("H", x[2]), fmt::arg("W", x[3]), fmt::arg("KH", w[2]),
        fmt::arg("KW", w[3]));
    for (int64_t kh = 0; kh < w[2]; ++kh) {
      for (int64_t kw = 0; kw < w[3]; ++kw) {
        border += fmt::format("              if (row{} && col{}) {{ const long xi = xb + {}L, wi = wb + {}L; {} }}\n", kh, kw,
                              kh * g.dilations[0] * x[3] + kw * g.dilations[1], kh * w[3] + kw, accumulate);
      }
    }
    border += "              (void)kh; (void)kw;\n            }\n";
  } else {
    inside = fmt::format(
        "              for (kh = 0; kh < {KH}; ++kh)\n"
        "                for (kw = 0; kw < {KW}; ++kw) {{\n"
        "                  const long xi = xb + (long)kh * {DH} * {W} + kw * {DW};\n"
        "                  const long wi = wb + kh * {KW} + kw;\n"
        "                  {ACCUMULATE}\n"
        "                }}\n",
        fmt::arg("KH", w[2]), fmt::arg("KW", w[3]), fmt::arg("DH", g.dilations[0]), fmt::arg("DW", g.dilations[1]),
        fmt::arg("W", x[3]), fmt::arg("ACCUMULATE", accumulate));
    border = fmt::format(
        "            for (ci = 0; ci < {CG}; ++ci) {{\n"
        "              const long xb = ((long)(n * {C} + c0 + ci) * {H} + ih0) * {W} + iw0;\n"
        "              const long wb = ((long)m * {CG} + ci) * {KH} * {KW};\n"
        "              for (kh = kh_lo; kh < kh_hi; ++kh)\n"
        "                for (kw = kw_lo; kw < kw_hi; ++kw) {{\n"
        "                  const long xi = xb + (long)kh * {DH} * {W} + kw * {DW};\n"
        "                  const long wi = wb + kh * {KW} + kw;\n"
        "                  {ACCUMULATE}\n"
        "                }}\n"
        "            }}\n",
        fmt::arg("CG", w[1]), fmt::arg("C", x[1]), fmt::arg("H", x[2]), fmt::arg("W", x[3]), fmt::arg("KH", w[2]),
        fmt::arg("KW", w[3]), fmt::arg("DH", g.dilations[0]), fmt::arg("DW", g.dilations[1]),
        fmt::arg("ACCUMULATE", accumulate));
  }
  return fmt::format(
      "  int n, m, oh, ow, ci, kh, kw;\n"
      "  for (n = 0; n < {N}; ++n)\n"
      "    for (m = 0; m < {M}; ++m) {{\n"
      "      const int c0 = (m / {MG}) * {CG};\n"
      "      for (oh = 0; oh < {OH}; ++oh) {{\n"
      "        const int ih0 = oh * {SH} - {PT};\n"
      "        const int kh_lo = ih0 < 0 ? (-ih0 + {DH} - 1) / {DH} : 0;\n"
      "        const int kh_end = {H} - 1 - ih0 < 0 ? 0 : ({H} - 1 - ih0) / {DH} + 1;\n"
      "        const int kh_hi = kh_end < {KH} ? kh_end : {KH};\n"
      "        for (ow = 0; ow < {OW}; ++ow) {{\n"
      "          const int iw0 = ow * {SW} - {PL};\n"
      "          const int kw_lo = iw0 < 0 ? (-iw0 + {DW} - 1) / {DW} : 0;\n"
      "          const int kw_end = {W} - 1 - iw0 < 0 ? 0 : ({W} - 1 - iw0) / {DW} + 1;\n"
      "          const int kw_hi = kw_end < {KW} ? kw_end : {KW};\n"
      "          const long yi = ((long)(n * {M} + m) * {OH} + oh) * {OW} + ow;\n"
      "          {ACC}\n"
      "          if (kh_lo == 0 && kh_hi == {KH} && kw_lo == 0 && kw_hi == {KW}) {{ /* inside: constant bounds */\n"
      "            for (ci = 0; ci < {CG}; ++ci) {{\n"
      "              const long xb = ((long)(n * {C} + c0 + ci) * {H} + ih0) * {W} + iw0;\n"
      "              const long wb = ((long)m * {CG} + ci) * {KH} * {KW};\n"
      "{INSIDE}"
      "            }}\n"
      "          }} else {{\n"
      "{BORDER}"
      "          }}\n"
      "          {STORE}\n"
      "        }}\n"
      "      }}\n"
      "    }}\n",
      fmt::arg("N", x[0]), fmt::arg("M", y[1]), fmt::arg("MG", y[1] / groups), fmt::arg("CG", w[1]),
      fmt::arg("OH", y[2]), fmt::arg("OW", y[3]), fmt::arg("KH", w[2]), fmt::arg("KW", w[3]),
      fmt::arg("SH", g.strides[0]), fmt::arg("SW", g.strides[1]), fmt::arg("PT", g.pads_begin[0]),
      fmt::arg("PL", g.pads_begin[1]), fmt::arg("DH", g.dilations[0]), fmt::arg("DW", g.dilations[1]),
      fmt::arg("H", x[2]), fmt::arg("W", x[3]), fmt::arg("C", x[1]), fmt::arg("ACC", acc_decl),
      fmt::arg("ACCUMULATE", accumulate), fmt::arg("STORE", store), fmt::arg("INSIDE", inside),
      fmt::arg("BORDER", border));
}

std::string emit_conv(const NodeContext& c) {
  const bool bias = c.inputs.size() > 2 && !c.inputs[2].name.empty();
  std::string s = in_ptr("x", c.inputs[0]) + in_ptr("w", c.inputs[1]) + out_ptr("y", c.outputs[0]);
  if (bias) s += in_ptr("b", c.inputs[2]);
  return s + conv_loops(c, c.inputs[0].shape, c.inputs[1].shape, "float acc = 0.0f;", "acc += x[xi] * w[wi];",
                        bias ? "y[yi] = acc + b[m];" : "y[yi] = acc;");
}

std::string check_conv(const ir::Graph& g, const ir::Node& n) {
  if (std::string why = check_2d(g, n); !why.empty()) return why;
  if (n.inputs.size() < 2 || rank_of(g, n.inputs[1]) != 4) return "needs a 4-D weight";
  for (const auto& in : n.inputs) {
    if (!in.empty() && dtype_of(g, in) != DType::Float32) return "only float32";
  }
  return "";
}

std::string emit_pool(const NodeContext& c, bool max) {
  const ir::Shape &x = c.inputs[0].shape, &y = c.outputs[0].shape;
  const auto k = c.node.attr_ints("kernel_shape");
  const auto g = geometry(c, k);
  const DType t = c.inputs[0].dtype;
  const char* acc_type = t == DType::Float32 ? "float" : "int32_t";
  const std::string init = !max ? "0" : t == DType::Float32 ? "-INFINITY" : t == DType::Int8 ? "-128" : "0";
  const bool include_pad = !max && c.node.attr_int("count_include_pad", 0) != 0;
  std::string s = in_ptr("x", c.inputs[0]) + out_ptr("y", c.outputs[0]);
  s += fmt::format(
      "  int nc, oh, ow, kh, kw;\n"
      "  for (nc = 0; nc < {NC}; ++nc)\n"
      "    for (oh = 0; oh < {OH}; ++oh)\n"
      "      for (ow = 0; ow < {OW}; ++ow) {{\n"
      "        {T} acc = {INIT};\n"
      "        int count = 0;\n"
      "        for (kh = 0; kh < {KH}; ++kh) {{\n"
      "          const int ih = oh * {SH} - {PT} + kh * {DH};\n"
      "          if (ih < 0 || ih >= {H}) continue;\n"
      "          for (kw = 0; kw < {KW}; ++kw) {{\n"
      "            const int iw = ow * {SW} - {PL} + kw * {DW};\n"
      "            if (iw < 0 || iw >= {W}) continue;\n"
      "            {{ const {T} v = x[((long)nc * {H} + ih) * {W} + iw]; {UPDATE} }}\n"
      "            ++count;\n"
      "          }}\n"
      "        }}\n"
      "        (void)count;\n"
      "        y[((long)nc * {OH} + oh) * {OW} + ow] = {RESULT};\n"
      "      }}\n",
      fmt::arg("NC", x[0] * x[1]), fmt::arg("OH", y[2]), fmt::arg("OW", y[3]), fmt::arg("T", acc_type),
      fmt::arg("INIT", init), fmt::arg("KH", k[0]), fmt::arg("KW", k[1]), fmt::arg("SH", g.strides[0]),
      fmt::arg("SW", g.strides[1]), fmt::arg("PT", g.pads_begin[0]), fmt::arg("PL", g.pads_begin[1]),
      fmt::arg("DH", g.dilations[0]), fmt::arg("DW", g.dilations[1]), fmt::arg("H", x[2]), fmt::arg("W", x[3]),
      fmt::arg("UPDATE", max ? "if (v > acc) acc = v;" : "acc += v;"),
      fmt::arg("RESULT", max ? fmt::format("({})acc", c_type(t))
                             : include_pad ? fmt::format("acc / {}.0f", k[0] * k[1]) : std::string("acc / (float)count")));
  return s;
}

std::string check_pool(const ir::Graph& g, const ir::Node& n, bool max) {
  if (std::string why = check_2d(g, n); !why.empty()) return why;
  if (n.outputs.size() > 1 && !n.outputs[1].empty()) return "no Indices output";
  const DType t = dtype_of(g, n.inputs[0]);
  if (max) return needs(t == DType::Float32 || t == DType::Int8 || t == DType::UInt8, "only float32, int8, uint8");
  if (n.attr_int("ceil_mode", 0) != 0 && n.attr_int("count_include_pad", 0) != 0) return "ceil_mode with count_include_pad";
  return needs(t == DType::Float32, "only float32");
}

std::string emit_global_average_pool(const NodeContext& c) {
  const ir::Shape& x = c.inputs[0].shape;
  const int64_t hw = numel(x) / (x[0] * x[1]);
  return in_ptr("x", c.inputs[0]) + out_ptr("y", c.outputs[0]) +
         fmt::format("  long nc, i;\n  for (nc = 0; nc < {0}L; ++nc) {{\n    float acc = 0.0f;\n"
                     "    for (i = 0; i < {1}L; ++i) acc += x[nc * {1}L + i];\n    y[nc] = acc / {1}.0f;\n  }}\n",
                     x[0] * x[1], hw);
}

// ------------------------------------------------------------------------ Gemm, MatMul

std::string emit_gemm(const NodeContext& c) {
  const bool ta = c.node.attr_int("transA", 0) != 0, tb = c.node.attr_int("transB", 0) != 0;
  const float alpha = c.node.attr_float("alpha", 1.0f), beta = c.node.attr_float("beta", 1.0f);
  const ir::Shape &a = c.inputs[0].shape, &y = c.outputs[0].shape;
  const int64_t M = y[0], N = y[1], K = ta ? a[0] : a[1];
  std::string s = in_ptr("a", c.inputs[0]) + in_ptr("b", c.inputs[1]) + out_ptr("y", c.outputs[0]);
  std::string cterm;
  if (c.inputs.size() > 2 && !c.inputs[2].name.empty() && beta != 0.0f) {
    s += in_ptr("cc", c.inputs[2]);
    const ir::Shape& cs = c.inputs[2].shape;
    // C broadcast to [M, N]: index by the dims it has.
    const int64_t cm = cs.size() == 2 ? cs[0] : 1, cn = cs.empty() ? 1 : cs.back();
    const std::string idx = fmt::format("{} * {}L + {}", cm == 1 ? "0" : "i", cn, cn == 1 ? "0" : "j");
    cterm = beta == 1.0f ? fmt::format(" + cc[{}]", idx) : fmt::format(" + {} * cc[{}]", float_literal(beta), idx);
  }
  const std::string scale = alpha == 1.0f ? "acc" : fmt::format("{} * acc", float_literal(alpha));
  s += fmt::format(
      "  long i, j, k;\n  for (i = 0; i < {M}L; ++i)\n    for (j = 0; j < {N}L; ++j) {{\n      float acc = 0.0f;\n"
      "      for (k = 0; k < {K}L; ++k) acc += a[{AI}] * b[{BI}];\n      y[i * {N}L + j] = {SCALE}{C};\n    }}\n",
      fmt::arg("M", M), fmt::arg("N", N), fmt::arg("K", K),
      fmt::arg("AI", ta ? fmt::format("k * {}L + i", M) : fmt::format("i * {}L + k", K)),
      fmt::arg("BI", tb ? fmt::format("j * {}L + k", K) : fmt::format("k * {}L + j", N)), fmt::arg("SCALE", scale),
      fmt::arg("C", cterm));
  return s;
}

std::string check_gemm(const ir::Graph& g, const ir::Node& n) {
  if (n.inputs.size() < 2) return "needs A and B";
  for (const auto& in : n.inputs) {
    if (!in.empty() && dtype_of(g, in) != DType::Float32) return "only float32";
  }
  if (rank_of(g, n.inputs[0]) != 2 || rank_of(g, n.inputs[1]) != 2) return "A and B must be 2-D";
  if (n.inputs.size() > 2 && !n.inputs[2].empty() && rank_of(g, n.inputs[2]) > 2) return "C of rank > 2";
  return "";
}

std::string emit_matmul(const NodeContext& c) {
  const ir::Shape &a = c.inputs[0].shape, &b = c.inputs[1].shape;
  return in_ptr("a", c.inputs[0]) + in_ptr("b", c.inputs[1]) + out_ptr("y", c.outputs[0]) +
         fmt::format("  long i, j, k;\n  for (i = 0; i < {0}L; ++i)\n    for (j = 0; j < {2}L; ++j) {{\n"
                     "      float acc = 0.0f;\n      for (k = 0; k < {1}L; ++k) acc += a[i * {1}L + k] * b[k * {2}L + j];\n"
                     "      y[i * {2}L + j] = acc;\n    }}\n",
                     a[0], a[1], b[1]);
}

std::string check_matmul(const ir::Graph& g, const ir::Node& n) {
  if (n.inputs.size() != 2) return "needs two inputs";
  if (dtype_of(g, n.inputs[0]) != DType::Float32 || dtype_of(g, n.inputs[1]) != DType::Float32) return "only float32";
  return needs(rank_of(g, n.inputs[0]) == 2 && rank_of(g, n.inputs[1]) == 2, "only 2-D x 2-D");
}

std::string emit_softmax(const NodeContext& c) {
  const ir::Shape& x = c.inputs[0].shape;
  const int64_t d = x.back(), rows = numel(x) / std::max<int64_t>(d, 1);
  return in_ptr("x", c.inputs[0]) + out_ptr("y", c.outputs[0]) +
         fmt::format("  long r, i;\n  for (r = 0; r < {0}L; ++r) {{\n    const float* xr = x + r * {1}L;\n"
                     "    float* yr = y + r * {1}L;\n    float mx = xr[0], sum = 0.0f;\n"
                     "    for (i = 1; i < {1}L; ++i) if (xr[i] > mx) mx = xr[i];\n"
                     "    for (i = 0; i < {1}L; ++i) {{ yr[i] = expf(xr[i] - mx); sum += yr[i]; }}\n"
                     "    for (i = 0; i < {1}L; ++i) yr[i] /= sum;\n  }}\n",
                     rows, d);
}

std::string check_softmax(const ir::Graph& g, const ir::Node& n) {
  if (std::string why = check_float_io(g, n); !why.empty()) return why;
  const auto r = static_cast<int64_t>(rank_of(g, n.inputs[0]));
  int64_t axis = n.attr_int("axis", -1);
  if (axis < 0) axis += r;
  return needs(r >= 1 && axis == r - 1, "only the last axis");
}

// ------------------------------------------------------------------------- quantized

std::string check_qparams(const ir::Graph& g, const ir::Node& n, size_t scale, size_t zp) {
  const ir::Tensor* s = scale < n.inputs.size() ? g.initializer(n.inputs[scale]) : nullptr;
  if (!s || s->numel() != 1 || s->dtype() != DType::Float32) return "scale must be a constant float32 scalar";
  if (!(s->data<float>()[0] > 0) || !std::isfinite(s->data<float>()[0])) return "scale must be finite and > 0";
  if (zp < n.inputs.size() && !n.inputs[zp].empty()) {
    const ir::Tensor* z = g.initializer(n.inputs[zp]);
    if (!z || z->numel() != 1 || (z->dtype() != DType::Int8 && z->dtype() != DType::UInt8)) {
      return "zero point must be a constant int8 / uint8 scalar";
    }
  }
  return "";
}

std::string emit_quantize(const NodeContext& c) {
  const DType t = c.outputs[0].dtype;
  const auto r = quant::qrange(t);
  return in_ptr("x", c.inputs[0]) + out_ptr("y", c.outputs[0]) +
         fmt::format("  long i;\n  for (i = 0; i < {}L; ++i) y[i] = ({})hone_quantize(x[i], {}, {}, {}, {});\n",
                     numel(c.outputs[0].shape), c_type(t), float_literal(scalar_float(c.inputs[1])),
                     scalar_zero_point(c.inputs.size() > 2 ? c.inputs[2] : ValueRef{}), r.lo, r.hi);
}

std::string check_quantize(const ir::Graph& g, const ir::Node& n) {
  if (dtype_of(g, n.inputs[0]) != DType::Float32) return "only float32 input";
  if (n.has_attr("saturate") || n.has_attr("output_dtype")) return "saturate / output_dtype attributes";
  const DType y = dtype_of(g, n.outputs[0]);
  if (y != DType::Int8 && y != DType::UInt8) return "only int8 / uint8 output";
  return check_qparams(g, n, 1, 2);
}

std::string emit_dequantize(const NodeContext& c) {
  return in_ptr("x", c.inputs[0]) + out_ptr("y", c.outputs[0]) +
         fmt::format("  long i;\n  for (i = 0; i < {}L; ++i) y[i] = (float)((int32_t)x[i] - {}) * {};\n",
                     numel(c.outputs[0].shape), scalar_zero_point(c.inputs.size() > 2 ? c.inputs[2] : ValueRef{}),
                     float_literal(scalar_float(c.inputs[1])));
}

std::string check_dequantize(const ir::Graph& g, const ir::Node& n) {
  const DType x = dtype_of(g, n.inputs[0]);
  if (x != DType::Int8 && x != DType::UInt8) return "only int8 / uint8 input";
  return check_qparams(g, n, 1, 2);
}

// QLinearConv: int32 accumulation of (x - x_zp) * (w - w_zp) (+ B), wrapping; requantized per
// output channel by M = mul * 2^-shift (M's 24-bit significand: exact).
std::string emit_qlinear_conv(const NodeContext& c) {
  const ir::Shape &x = c.inputs[0].shape, &w = c.inputs[3].shape;
  const int64_t M = c.outputs[0].shape[1];
  const float sx = scalar_float(c.inputs[1]), sy = scalar_float(c.inputs[6]);
  const ir::Tensor& ws = *c.inputs[4].constant;
  const ir::Tensor* wz = c.inputs[5].constant;
  std::string mul = "{", shift = "{", wzp = "{";
  bool all_zero_wzp = true;
  for (int64_t m = 0; m < M; ++m) {
    const float s = ws.numel() == 1 ? ws.data<float>()[0] : ws.data<float>()[m];
    const float mm = quant::requant_multiplier(sx, s, sy);
    int e = 0;
    const double f = std::frexp(static_cast<double>(mm), &e);  // mm = f * 2^e, f in [0.5, 1)
    const auto m24 = static_cast<int64_t>(std::ldexp(f, 24));  // exact: a float has 24 bits
    const int sh = mm == 0.0f ? 24 : 24 - e;
    if (sh < 1) throw unsupported("requantization multiplier {} >= 2^23", mm);
    mul += fmt::format("{},", m24);
    shift += fmt::format("{},", sh);
    int32_t z = 0;
    if (wz) {
      const int64_t i = wz->numel() == 1 ? 0 : m;
      z = wz->dtype() == DType::Int8 ? wz->data<int8_t>()[i] : wz->data<uint8_t>()[i];
    }
    wzp += fmt::format("{},", z);
    all_zero_wzp = all_zero_wzp && z == 0;
  }
  const bool bias = c.inputs.size() > 8 && !c.inputs[8].name.empty();
  const DType yt = c.outputs[0].dtype;
  const auto r = quant::qrange(yt);
  std::string s = in_ptr("x", c.inputs[0]) + in_ptr("w", c.inputs[3]) + out_ptr("y", c.outputs[0]);
  if (bias) s += in_ptr("b", c.inputs[8]);
  s += fmt::format("  static const int32_t mul[{0}] = {1}}};\n  static const int32_t shift[{0}] = {2}}};\n", M, mul,
                   shift);
  if (!all_zero_wzp) s += fmt::format("  static const int32_t wzp[{0}] = {1}}};\n", M, wzp);
  // Zero points that are 0 (symmetric weights, as quantize_static writes them) drop out.
  const int32_t xz = scalar_zero_point(c.inputs[2]);
  const std::string xterm = xz == 0 ? "(int32_t)x[xi]" : fmt::format("((int32_t)x[xi] - ({}))", xz);
  const std::string wterm = all_zero_wzp ? "(int32_t)w[wi]" : "((int32_t)w[wi] - wzp[m])";
  s += conv_loops(c, x, w, bias ? "uint32_t acc = (uint32_t)b[m];" : "uint32_t acc = 0u;",
                  fmt::format("acc += (uint32_t)({} * {});", xterm, wterm),
                  fmt::format("y[yi] = ({})hone_requantize((int32_t)acc, mul[m], shift[m], {}, {}, {});", c_type(yt),
                              scalar_zero_point(c.inputs[7]), r.lo, r.hi));
  return s;
}

std::string check_qlinear_conv(const ir::Graph& g, const ir::Node& n) {
  if (n.inputs.size() < 8) return "needs 8 or 9 inputs";
  if (std::string why = check_2d(g, n); !why.empty()) return why;
  if (rank_of(g, n.inputs[3]) != 4) return "needs a 4-D weight";
  for (size_t i : {size_t{0}, size_t{3}}) {
    const DType t = dtype_of(g, n.inputs[i]);
    if (t != DType::Int8 && t != DType::UInt8) return "x and w must be int8 / uint8";
  }
  if (std::string why = check_qparams(g, n, 1, 2); !why.empty()) return "x: " + why;
  if (std::string why = check_qparams(g, n, 6, 7); !why.empty()) return "y: " + why;
  const ir::Tensor* ws = g.initializer(n.inputs[4]);
  if (!ws || ws->dtype() != DType::Float32) return "w_scale must be a constant float32";
  for (float s : ws->span<float>()) {
    if (!(s > 0) || !std::isfinite(s)) return "w_scale must be finite and > 0";
  }
  if (!n.inputs[5].empty() && !g.initializer(n.inputs[5])) return "w_zero_point must be a constant";
  if (n.inputs.size() > 8 && !n.inputs[8].empty() && dtype_of(g, n.inputs[8]) != DType::Int32) return "B must be int32";
  return "";
}

}  // namespace

const std::vector<OpEmitter>& op_emitters() {
  static const std::vector<OpEmitter> kOps = {
      // elementwise
      unary("Relu", "v > 0.0f ? v : (v == v ? 0.0f : v)"),
      unary("Sigmoid", "1.0f / (1.0f + expf(-v))"),
      unary("Tanh", "tanhf(v)"),
      unary("Exp", "expf(v)"),
      unary("Log", "logf(v)"),
      unary("Neg", "-v"),
      unary("Abs", "fabsf(v)"),
      unary("Sqrt", "sqrtf(v)"),
      unary("Reciprocal", "1.0f / v"),
      unary("Floor", "floorf(v)"),
      unary("Ceil", "ceilf(v)"),
      {"Clip", check_clip, emit_clip},
      unary("Sin", "sinf(v)"),
      unary("Cos", "cosf(v)"),
      unary("Erf", "erff(v)"),
      unary("Softplus", "logf(expf(v) + 1.0f)"),
      unary("Softsign", "v / (1.0f + fabsf(v))"),
      unary("Sign", "(float)((v > 0.0f) - (v < 0.0f))"),
      unary_attr("LeakyRelu", [](const ir::Node& n) {
        return fmt::format("v >= 0.0f ? v : {} * v", float_literal(n.attr_float("alpha", 0.01f)));
      }),
      unary_attr("Elu", [](const ir::Node& n) {
        return fmt::format("v >= 0.0f ? v : {} * (expf(v) - 1.0f)", float_literal(n.attr_float("alpha", 1.0f)));
      }),
      unary_attr("Selu", [](const ir::Node& n) {
        return fmt::format("{} * (v > 0.0f ? v : {} * (expf(v) - 1.0f))", float_literal(n.attr_float("gamma", 1.0507009873554805f)),
                           float_literal(n.attr_float("alpha", 1.6732632423543772f)));
      }),
      unary_attr("HardSigmoid", [](const ir::Node& n) {
        return fmt::format("fmaxf(0.0f, fminf(1.0f, {} * v + {}))", float_literal(n.attr_float("alpha", 0.2f)),
                           float_literal(n.attr_float("beta", 0.5f)));
      }),
      nary("Max", kNumeric, [](const auto& a, const ir::Node&) { return fold_expr(a, "({1} > {0} ? {1} : {0})"); }),
      nary("Min", kNumeric, [](const auto& a, const ir::Node&) { return fold_expr(a, "({1} < {0} ? {1} : {0})"); }),
      nary("Sum", kNumeric, [](const auto& a, const ir::Node&) { return fold_expr(a, "{0} + {1}"); }),
      nary("Mean", kFloat, [](const auto& a, const ir::Node&) { return fmt::format("({}) / {}.0f", fold_expr(a, "{0} + {1}"), a.size()); }),
      {"PRelu",
       [](const ir::Graph& g, const ir::Node& n) {
         if (std::string why = nary_check(kFloat)(g, n); !why.empty()) return why;
         // A slope of X's rank, or one value (older exporters' [C] slope broadcasts by channel).
         const size_t rs = rank_of(g, n.inputs[1]);
         const ir::Tensor* t = g.initializer(n.inputs[1]);
         return needs(rs == rank_of(g, n.inputs[0]) || (t && t->numel() == 1), "slope of another rank");
       },
       [](const NodeContext& c) {
         return emit_nary(c, [](const auto& a, const ir::Node&) { return fmt::format("{0} < 0.0f ? {0} * {1} : {0}", a[0], a[1]); });
       }},
      nary("Equal", kNumeric, [](const auto& a, const ir::Node&) { return a[0] + " == " + a[1]; }),
      nary("Less", kNumeric, [](const auto& a, const ir::Node&) { return a[0] + " < " + a[1]; }),
      nary("LessOrEqual", kNumeric, [](const auto& a, const ir::Node&) { return a[0] + " <= " + a[1]; }),
      nary("Greater", kNumeric, [](const auto& a, const ir::Node&) { return a[0] + " > " + a[1]; }),
      nary("GreaterOrEqual", kNumeric, [](const auto& a, const ir::Node&) { return a[0] + " >= " + a[1]; }),
      nary("And", kBool, [](const auto& a, const ir::Node&) { return a[0] + " && " + a[1]; }),
      nary("Or", kBool, [](const auto& a, const ir::Node&) { return a[0] + " || " + a[1]; }),
      nary("Xor", kBool, [](const auto& a, const ir::Node&) { return fmt::format("(!{}) != (!{})", a[0], a[1]); }),
      nary("Not", kBool, [](const auto& a, const ir::Node&) { return "!" + a[0]; }),
      reduce("ReduceSum", {"0", "acc += v;", "acc"}, kNumeric),
      reduce("ReduceMean", {"0", "acc += v;", "acc / {count}.0"}, {DType::Float32}),
      reduce("ReduceMax", {"-INFINITY", "if (v > acc) acc = v;", "acc"}, {DType::Float32}),
      reduce("ReduceMin", {"INFINITY", "if (v < acc) acc = v;", "acc"}, {DType::Float32}),
      reduce("ReduceProd", {"1", "acc *= v;", "acc"}, {DType::Float32}),
      reduce("ReduceSumSquare", {"0", "acc += v * v;", "acc"}, {DType::Float32}),
      reduce("ReduceL1", {"0", "acc += fabs(v);", "acc"}, {DType::Float32}),
      reduce("ReduceL2", {"0", "acc += v * v;", "sqrt(acc)"}, {DType::Float32}),
      reduce("ReduceLogSum", {"0", "acc += v;", "log(acc)"}, {DType::Float32}),
      reduce("ReduceLogSumExp", {"0", "acc += exp(v);", "log(acc)"}, {DType::Float32}),
      {"ArgMax", check_arg, [](const NodeContext& c) { return emit_arg(c, true); }},
      {"ArgMin", check_arg, [](const NodeContext& c) { return emit_arg(c, false); }},
      {"Cast", check_cast, emit_cast},
      {"Transpose", check_copy, emit_transpose},
      nary("Add", kArith, [](const auto& a, const ir::Node&) { return a[0] + " + " + a[1]; }),
      nary("Sub", kArith, [](const auto& a, const ir::Node&) { return a[0] + " - " + a[1]; }),
      nary("Mul", kArith, [](const auto& a, const ir::Node&) { return a[0] + " * " + a[1]; }),
      nary("Div", kArith, [](const auto& a, const ir::Node&) { return a[0] + " / " + a[1]; }),
      // data movement
      {"Reshape", check_copy, emit_copy},
      {"Flatten", check_copy, emit_copy},
      {"Squeeze", check_copy, emit_copy},
      {"Unsqueeze", check_copy, emit_copy},
      {"Identity", check_copy, emit_copy},
      {"Dropout", [](const ir::Graph& g, const ir::Node& n) {
         if (n.outputs.size() > 1 && !n.outputs[1].empty()) return std::string("no mask output");
         if (n.inputs.size() > 2 && !n.inputs[2].empty()) return std::string("no training_mode input");
         return check_copy(g, n);
       }, emit_copy},
      {"Concat", check_concat, emit_concat},
      // windows
      {"Conv", check_conv, emit_conv},
      {"MaxPool", [](const ir::Graph& g, const ir::Node& n) { return check_pool(g, n, true); },
       [](const NodeContext& c) { return emit_pool(c, true); }},
      {"AveragePool", [](const ir::Graph& g, const ir::Node& n) { return check_pool(g, n, false); },
       [](const NodeContext& c) { return emit_pool(c, false); }},
      {"GlobalAveragePool", [](const ir::Graph& g, const ir::Node& n) {
         if (std::string why = check_float_io(g, n); !why.empty()) return why;
         return needs(rank_of(g, n.inputs[0]) >= 3, "needs N, C and spatial dims");
       }, emit_global_average_pool},
      // dense
      {"Gemm", check_gemm, emit_gemm},
      {"MatMul", check_matmul, emit_matmul},
      {"Softmax", check_softmax, emit_softmax},
      // quantized
      {"QuantizeLinear", check_quantize, emit_quantize},
      {"DequantizeLinear", check_dequantize, emit_dequantize},
      {"QLinearConv", check_qlinear_conv, emit_qlinear_conv},
  };
  return kOps;
}

const OpEmitter* find_op_emitter(const ir::Node& node) {
  if (!(node.domain.empty() || node.domain == "ai.onnx")) return nullptr;
  for (const OpEmitter& e : op_emitters()) {
    if (node.op_type == e.op_type) return &e;
  }
  return nullptr;
}

std::string c_array(const std::string& name, const ir::Tensor& t) {
  const char* type = c_type(t.dtype());
  if (!type) throw unsupported("constant '{}' of type {}", name, ir::dtype_name(t.dtype()));
  const int64_t n = t.numel();
  std::string s = fmt::format("static const {} {}[{}] = {{", type, name, std::max<int64_t>(n, 1));
  if (n == 0) return s + "0};";
  for (int64_t i = 0; i < n; ++i) {
    if (i % 16 == 0) s += "\n  ";
    switch (t.dtype()) {
      case DType::Float32: s += float_literal(t.data<float>()[i]); break;
      case DType::Float64: {
        const double v = t.data<double>()[i];
        s += std::isnan(v) ? "NAN" : std::isinf(v) ? (v > 0 ? "INFINITY" : "-INFINITY") : fmt::format("{:a}", v);
        break;
      }
      case DType::Int8: s += std::to_string(t.data<int8_t>()[i]); break;
      case DType::UInt8: case DType::Bool: s += std::to_string(t.data<uint8_t>()[i]); break;
      case DType::Int16: s += std::to_string(t.data<int16_t>()[i]); break;
      case DType::UInt16: s += std::to_string(t.data<uint16_t>()[i]); break;
      case DType::Int32: {
        const int32_t v = t.data<int32_t>()[i];
        s += v == std::numeric_limits<int32_t>::min() ? "(-2147483647 - 1)" : std::to_string(v);
        break;
      }
      case DType::UInt32: s += std::to_string(t.data<uint32_t>()[i]) + "u"; break;
      case DType::Int64: {
        const int64_t v = t.data<int64_t>()[i];
        s += v == std::numeric_limits<int64_t>::min() ? "(-INT64_C(9223372036854775807) - 1)"
                                                       : fmt::format("INT64_C({})", v);
        break;
      }
      case DType::UInt64: s += fmt::format("UINT64_C({})", t.data<uint64_t>()[i]); break;
      default: break;
    }
    s += ",";
  }
  return s + "\n};";
}

std::string runtime_helpers(bool with_float) {
  std::string s = R"(/* The reference interpreter's integer semantics (quantized_common.h), bit for bit. */
/* saturate(round_half_even(acc * mul * 2^-shift) + zp): exact in int64 (|acc * mul| < 2^55). */
static inline int32_t hone_requantize(int32_t acc, int32_t mul, int32_t shift, int32_t zp, int32_t lo, int32_t hi) {
  const int64_t p = (int64_t)acc * (int64_t)mul;
  int64_t q = 0;
  if (shift <= 62) {
    const int64_t f = p >= 0 ? (p >> shift) : -((-p - 1) >> shift) - 1; /* floor(p / 2^shift) */
    const int64_t r = p - f * ((int64_t)1 << shift);
    const int64_t half = (int64_t)1 << (shift - 1);
    q = f + ((r > half || (r == half && (f & 1))) ? 1 : 0);
  }
  q += zp;
  return q < lo ? lo : q > hi ? hi : (int32_t)q;
}
)";
  if (!with_float) return s + "\n";
  return s + R"(/* QuantizeLinear: saturate(round_half_even(x / scale) + zp); NaN -> zp. */
static inline int32_t hone_quantize(float x, float scale, int32_t zp, int32_t lo, int32_t hi) {
  const float v = x / scale;
  double f, r;
  if (v != v) return zp;
  f = floor((double)v);
  r = (double)v - f;
  if (r > 0.5 || (r == 0.5 && fmod(f, 2.0) != 0.0)) f += 1.0;
  f += (double)zp;
  return f < (double)lo ? lo : f > (double)hi ? hi : (int32_t)f;
}

)";
}

}  // namespace hone::compilers::c
