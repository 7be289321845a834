#include "ir/graph.h"

#include <algorithm>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace hone::ir {

bool Attribute::operator==(const Attribute& o) const {
  if (kind != o.kind) return false;
  switch (kind) {
    case Kind::Float: return f == o.f || (f != f && o.f != o.f);
    case Kind::Int: return i == o.i;
    case Kind::String: return s == o.s;
    case Kind::Tensor: return t.identical(o.t);
    case Kind::Floats: return floats == o.floats;
    case Kind::Ints: return ints == o.ints;
    case Kind::Strings: return strings == o.strings;
    case Kind::Graph: return true;
  }
  return false;
}

std::string_view attribute_kind_name(Attribute::Kind k) {
  switch (k) {
    case Attribute::Kind::Float: return "float";
    case Attribute::Kind::Int: return "int";
    case Attribute::Kind::String: return "string";
    case Attribute::Kind::Tensor: return "tensor";
    case Attribute::Kind::Floats: return "floats";
    case Attribute::Kind::Ints: return "ints";
    case Attribute::Kind::Strings: return "strings";
    case Attribute::Kind::Graph: return "graph";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------- Node

const std::string& Node::input(size_t i) const {
  static const std::string kEmpty;
  return i < inputs.size() ? inputs[i] : kEmpty;
}

namespace {
const Attribute* find_attr(const Node& n, const std::string& key, Attribute::Kind want) {
  auto it = n.attrs.find(key);
  if (it == n.attrs.end()) return nullptr;
  if (it->second.kind != want) {
    throw bad_input("attribute '{}' of {} should be {}, is {}", key, n.label(),
                    attribute_kind_name(want), attribute_kind_name(it->second.kind));
  }
  return &it->second;
}
}  // namespace

int64_t Node::attr_int(const std::string& key, int64_t def) const {
  const Attribute* a = find_attr(*this, key, Attribute::Kind::Int);
  return a ? a->i : def;
}
float Node::attr_float(const std::string& key, float def) const {
  const Attribute* a = find_attr(*this, key, Attribute::Kind::Float);
  return a ? a->f : def;
}
std::string Node::attr_string(const std::string& key, const std::string& def) const {
  const Attribute* a = find_attr(*this, key, Attribute::Kind::String);
  return a ? a->s : def;
}
std::vector<int64_t> Node::attr_ints(const std::string& key, std::vector<int64_t> def) const {
  const Attribute* a = find_attr(*this, key, Attribute::Kind::Ints);
  return a ? a->ints : def;
}
std::vector<float> Node::attr_floats(const std::string& key, std::vector<float> def) const {
  const Attribute* a = find_attr(*this, key, Attribute::Kind::Floats);
  return a ? a->floats : def;
}
const Tensor* Node::attr_tensor(const std::string& key) const {
  const Attribute* a = find_attr(*this, key, Attribute::Kind::Tensor);
  return a ? &a->t : nullptr;
}

std::string Node::label() const { return "'" + name + "' (" + op_type + ")"; }

// ----------------------------------------------------------------------------------- ValueInfo

std::optional<Shape> ValueInfo::static_shape() const {
  if (!shape) return std::nullopt;
  Shape s;
  for (const Dim& d : *shape) {
    if (!d.known()) return std::nullopt;
    s.push_back(d.value);
  }
  return s;
}

std::string ValueInfo::str() const {
  std::string s(dtype_name(dtype));
  if (!shape) return s + "[?]";
  s += "[";
  for (size_t i = 0; i < shape->size(); ++i) {
    if (i) s += ", ";
    const Dim& d = (*shape)[i];
    s += d.known() ? std::to_string(d.value) : (d.param.empty() ? "?" : d.param);
  }
  return s + "]";
}

// --------------------------------------------------------------------------------------- Graph

Graph::Graph(const Graph& other) { copy_from(other); }

Graph& Graph::operator=(const Graph& other) {
  if (this != &other) copy_from(other);
  return *this;
}

void Graph::copy_from(const Graph& other) {
  name = other.name;
  inputs = other.inputs;
  outputs = other.outputs;
  initializers = other.initializers;  // tensors share storage; passes replace, never mutate
  values = other.values;
  opset_imports = other.opset_imports;
  nodes.clear();
  nodes.reserve(other.nodes.size());
  for (const auto& n : other.nodes) nodes.push_back(std::make_unique<Node>(*n));
}

int64_t Graph::opset(const std::string& domain) const {
  auto it = opset_imports.find(domain);
  if (it == opset_imports.end() && domain == "ai.onnx") it = opset_imports.find("");
  return it == opset_imports.end() ? 0 : it->second;
}

bool Graph::is_graph_input(const std::string& v) const {
  return std::find(inputs.begin(), inputs.end(), v) != inputs.end();
}
bool Graph::is_graph_output(const std::string& v) const {
  return std::find(outputs.begin(), outputs.end(), v) != outputs.end();
}

Node* Graph::producer(const std::string& value) const {
  if (value.empty()) return nullptr;
  for (const auto& n : nodes) {
    for (const auto& o : n->outputs) {
      if (o == value) return n.get();
    }
  }
  return nullptr;
}

std::vector<Node*> Graph::consumers(const std::string& value) const {
  std::vector<Node*> out;
  if (value.empty()) return out;
  for (const auto& n : nodes) {
    if (std::find(n->inputs.begin(), n->inputs.end(), value) != n->inputs.end()) {
      out.push_back(n.get());
    }
  }
  return out;
}

const Tensor* Graph::initializer(const std::string& v) const {
  auto it = initializers.find(v);
  return it == initializers.end() ? nullptr : &it->second;
}

const ValueInfo* Graph::value_info(const std::string& v) const {
  auto it = values.find(v);
  return it == values.end() ? nullptr : &it->second;
}

std::string Graph::unique_name(const std::string& base) const {
  std::unordered_set<std::string> used;
  for (const auto& [k, _] : initializers) used.insert(k);
  for (const auto& [k, _] : values) used.insert(k);
  for (const auto& v : inputs) used.insert(v);
  for (const auto& v : outputs) used.insert(v);
  for (const auto& n : nodes) {
    used.insert(n->name);
    for (const auto& o : n->outputs) used.insert(o);
    for (const auto& i : n->inputs) used.insert(i);
  }
  if (!used.count(base)) return base;
  for (int k = 1;; ++k) {
    std::string cand = base + "_" + std::to_string(k);
    if (!used.count(cand)) return cand;
  }
}

Node& Graph::add_node(Node node) {
  nodes.push_back(std::make_unique<Node>(std::move(node)));
  return *nodes.back();
}

Node& Graph::insert_node_before(const Node* before, Node node) {
  auto it = std::find_if(nodes.begin(), nodes.end(),
                         [&](const auto& p) { return p.get() == before; });
  HONE_ASSERT(it != nodes.end());
  it = nodes.insert(it, std::make_unique<Node>(std::move(node)));
  return **it;
}

void Graph::remove_node(const Node* node) {
  auto it = std::find_if(nodes.begin(), nodes.end(), [&](const auto& p) { return p.get() == node; });
  HONE_ASSERT(it != nodes.end());
  nodes.erase(it);
}

std::string Graph::add_initializer(const std::string& base, Tensor t) {
  std::string n = unique_name(base);
  ValueInfo vi;
  vi.dtype = t.dtype();
  std::vector<Dim> dims;
  for (int64_t d : t.shape()) dims.push_back(Dim{d, ""});
  vi.shape = std::move(dims);
  values[n] = vi;
  initializers.emplace(n, std::move(t));
  return n;
}

void Graph::replace_all_uses(const std::string& from, const std::string& to) {
  for (auto& n : nodes) {
    for (auto& i : n->inputs) {
      if (i == from) i = to;
    }
  }
  for (auto& o : outputs) {
    if (o == from) o = to;
  }
}

void Graph::remove_unused() {
  std::unordered_set<std::string> used(outputs.begin(), outputs.end());
  used.insert(inputs.begin(), inputs.end());
  for (const auto& n : nodes) {
    used.insert(n->inputs.begin(), n->inputs.end());
    used.insert(n->outputs.begin(), n->outputs.end());
  }
  for (auto it = initializers.begin(); it != initializers.end();) {
    it = used.count(it->first) ? std::next(it) : initializers.erase(it);
  }
  for (auto it = values.begin(); it != values.end();) {
    it = used.count(it->first) ? std::next(it) : values.erase(it);
  }
}

void Graph::topological_sort() {
  std::unordered_set<std::string> available(inputs.begin(), inputs.end());
  for (const auto& [k, _] : initializers) available.insert(k);
  available.insert("");  // omitted optional inputs

  // Kahn's algorithm over value names; among ready nodes the earliest in the current order
  // goes first, so an already sorted graph keeps its order.
  std::unordered_map<std::string, std::vector<size_t>> waiting;  // value -> nodes that need it
  std::vector<size_t> missing(nodes.size(), 0);
  std::set<size_t> ready;
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::set<std::string> need;
    for (const auto& in : nodes[i]->inputs) {
      if (!available.count(in)) need.insert(in);
    }
    missing[i] = need.size();
    for (const auto& v : need) waiting[v].push_back(i);
    if (need.empty()) ready.insert(i);
  }
  std::vector<size_t> order;
  order.reserve(nodes.size());
  while (!ready.empty()) {
    const size_t i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(i);
    for (const auto& out : nodes[i]->outputs) {
      if (out.empty() || available.count(out)) continue;
      available.insert(out);
      auto it = waiting.find(out);
      if (it == waiting.end()) continue;
      for (size_t j : it->second) {
        if (--missing[j] == 0) ready.insert(j);
      }
    }
  }
  if (order.size() != nodes.size()) {
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (missing[i] == 0) continue;
      for (const auto& in : nodes[i]->inputs) {
        if (available.count(in)) continue;
        const bool produced = producer(in) != nullptr;
        throw bad_input("node {} reads '{}', which {}", nodes[i]->label(), in,
                        produced ? "is part of a cycle" : "no node, input or initializer provides");
      }
    }
  }
  std::vector<std::unique_ptr<Node>> sorted;
  sorted.reserve(nodes.size());
  for (size_t i : order) sorted.push_back(std::move(nodes[i]));
  nodes = std::move(sorted);
}

}  // namespace hone::ir
