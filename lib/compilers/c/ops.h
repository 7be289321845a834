// The C backend's op emitters: one entry per ONNX op in op_emitters() (ops.cpp), the one list
// that decides what the backend takes. An emitter returns the body of the node's C function;
// the function receives `char* arena, const void* const* inputs, void* const* outputs`, and
// every value's address is a C expression over those (ValueRef::address).
#pragma once

#include "ir/graph.h"

#include <functional>
#include <string>
#include <vector>

namespace hone::compilers::c {

struct ValueRef {
  std::string name;                  // empty: an omitted optional input
  ir::DType dtype = ir::DType::Undefined;
  ir::Shape shape;
  std::string address;               // C expression of type char* / const char*
  const ir::Tensor* constant = nullptr;  // the initializer when the value is one
};

struct NodeContext {
  const ir::Graph& graph;
  const ir::Node& node;
  std::vector<ValueRef> inputs, outputs;
};

struct OpEmitter {
  const char* op_type;
  // "" when the emitter takes the node, else why not (shapes, types, attributes).
  std::function<std::string(const ir::Graph&, const ir::Node&)> check;
  std::function<std::string(const NodeContext&)> emit;
};

const std::vector<OpEmitter>& op_emitters();
const OpEmitter* find_op_emitter(const ir::Node& node);

// `static const T name[n] = {...};` with exact literals (hex floats).
std::string c_array(const std::string& name, const ir::Tensor& t);
// The static inline helpers every model.c starts with: requantize, and quantize when the model
// has floating-point values (`with_float`).
std::string runtime_helpers(bool with_float);

}  // namespace hone::compilers::c
