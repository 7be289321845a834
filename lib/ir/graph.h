// The graph IR: values are named (as in ONNX), nodes refer to them by name. Small on purpose:
// passes, runtimes and the C emitter all read this one structure.
#pragma once

#include "ir/tensor.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hone::ir {

struct Attribute {
  enum class Kind { Float, Int, String, Tensor, Floats, Ints, Strings, Graph };
  Kind kind = Kind::Int;
  float f = 0.0f;
  int64_t i = 0;
  std::string s;
  ir::Tensor t;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;

  static Attribute of_int(int64_t v) { Attribute a; a.kind = Kind::Int; a.i = v; return a; }
  static Attribute of_float(float v) { Attribute a; a.kind = Kind::Float; a.f = v; return a; }
  static Attribute of_string(std::string v) { Attribute a; a.kind = Kind::String; a.s = std::move(v); return a; }
  static Attribute of_ints(std::vector<int64_t> v) { Attribute a; a.kind = Kind::Ints; a.ints = std::move(v); return a; }
  static Attribute of_floats(std::vector<float> v) { Attribute a; a.kind = Kind::Floats; a.floats = std::move(v); return a; }
  static Attribute of_tensor(ir::Tensor v) { Attribute a; a.kind = Kind::Tensor; a.t = std::move(v); return a; }
  bool operator==(const Attribute& o) const;
};
std::string_view attribute_kind_name(Attribute::Kind k);

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;               // "" is the default ONNX domain (ai.onnx)
  std::vector<std::string> inputs;  // "" marks an omitted optional input
  std::vector<std::string> outputs;
  std::map<std::string, Attribute> attrs;
  std::string doc_string;

  // Input i's name, or "" when absent (so optional inputs need no bounds checks).
  const std::string& input(size_t i) const;
  bool has_input(size_t i) const { return !input(i).empty(); }

  bool has_attr(const std::string& key) const { return attrs.count(key) != 0; }
  // Typed getters: the default when absent; BadInput when present with another kind.
  int64_t attr_int(const std::string& key, int64_t def) const;
  float attr_float(const std::string& key, float def) const;
  std::string attr_string(const std::string& key, const std::string& def) const;
  std::vector<int64_t> attr_ints(const std::string& key, std::vector<int64_t> def = {}) const;
  std::vector<float> attr_floats(const std::string& key, std::vector<float> def = {}) const;
  const Tensor* attr_tensor(const std::string& key) const;  // nullptr when absent

  std::string label() const;  // "conv1 (Conv)" for messages
};

// A dimension is a known size, a named symbol ("N"), or unknown.
struct Dim {
  int64_t value = -1;  // >= 0 when known
  std::string param;   // symbolic name, when given
  bool known() const { return value >= 0; }
  bool operator==(const Dim&) const = default;
};

struct ValueInfo {
  DType dtype = DType::Undefined;
  std::optional<std::vector<Dim>> shape;  // nullopt: rank unknown
  bool operator==(const ValueInfo&) const = default;
  // Static shape if every dim is known.
  std::optional<Shape> static_shape() const;
  std::string str() const;  // "float32[N, 3, 224, 224]"
};

class Graph {
 public:
  std::string name;
  std::vector<std::string> inputs;  // graph inputs that are not initializers
  std::vector<std::string> outputs;
  std::map<std::string, Tensor> initializers;
  std::map<std::string, ValueInfo> values;  // type and shape of every value known so far
  std::vector<std::unique_ptr<Node>> nodes;  // topological order after load; Node* is stable
  std::map<std::string, int64_t> opset_imports;  // domain -> version ("" = ai.onnx)

  Graph() = default;
  Graph(const Graph& other);  // deep copy of nodes
  Graph& operator=(const Graph& other);
  Graph(Graph&&) = default;
  Graph& operator=(Graph&&) = default;

  int64_t opset(const std::string& domain = "") const;

  // --- queries ---
  bool is_initializer(const std::string& v) const { return initializers.count(v) != 0; }
  bool is_graph_input(const std::string& v) const;
  bool is_graph_output(const std::string& v) const;
  Node* producer(const std::string& value) const;          // nullptr for inputs/initializers
  std::vector<Node*> consumers(const std::string& value) const;
  const Tensor* initializer(const std::string& v) const;  // nullptr when not an initializer
  const ValueInfo* value_info(const std::string& v) const;

  // --- mutation helpers for passes ---
  // A name not yet used by any value, node or initializer, derived from `base`.
  std::string unique_name(const std::string& base) const;
  // Append a node (caller restores topological order with topological_sort() if needed).
  Node& add_node(Node node);
  // Insert a node right before `before` (keeps topological order when its inputs exist).
  Node& insert_node_before(const Node* before, Node node);
  void remove_node(const Node* node);
  // Registers an initializer under a fresh unique name derived from `base`; returns the name.
  std::string add_initializer(const std::string& base, Tensor t);
  // Every node input and graph output that reads `from` reads `to` instead.
  void replace_all_uses(const std::string& from, const std::string& to);
  // Drop initializers and value infos nothing refers to.
  void remove_unused();
  // Reorder nodes so every input is produced before use. BadInput on a cycle or on an
  // input that no node, graph input or initializer provides.
  void topological_sort();

 private:
  void copy_from(const Graph& other);
};

// A model: the graph plus ModelProto's metadata, kept so export writes it back.
struct Model {
  Graph graph;
  int64_t ir_version = 8;
  std::string producer_name;
  std::string producer_version;
  std::string domain;
  int64_t model_version = 0;
  std::string doc_string;
  std::map<std::string, std::string> metadata;
  std::string path;  // file it was loaded from, for messages ("" when built in memory)
};

}  // namespace hone::ir
