#include "ir/onnx_io.h"

#include "support/file_io.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace hone::ir {

namespace fs = std::filesystem;

namespace {

// Largest file hone reads whole: protobuf's own limit for one message.
constexpr uintmax_t kMaxFileBytes = uintmax_t{2} << 30;

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    throw bad_input("no such file (or not a regular file)").with_file(path);
  }
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) throw bad_input("cannot read file: {}", ec.message()).with_file(path);
  if (size > kMaxFileBytes) {
    throw bad_input("file is {} bytes, more than the 2 GiB a protobuf can hold", size).with_file(path);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw bad_input("cannot open file").with_file(path);
  std::string bytes(static_cast<size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (static_cast<uintmax_t>(in.gcount()) != size) throw bad_input("short read").with_file(path);
  return bytes;
}

// ------------------------------------------------------------------------- tensor import

// Typed repeated fields -> packed bytes of `dtype`. `count` was already checked against
// the shape, so the allocation is bounded by what the file holds.
template <typename Dst, typename Field>
void copy_field(const Field& field, Tensor& t) {
  Dst* out = static_cast<Dst*>(t.raw());
  for (int i = 0; i < field.size(); ++i) out[i] = static_cast<Dst>(field.Get(i));
}

Tensor tensor_from_typed_fields(const onnx::TensorProto& p, DType dt, const Shape& shape,
                                int64_t numel) {
  auto need = [&](int have, const char* field) {
    if (have != numel) {
      throw bad_input("tensor '{}' has {} values in {} but its shape {} needs {}", p.name(), have,
                      field, shape_str(shape), numel);
    }
  };
  Tensor t;
  switch (dt) {
    case DType::Float32:
      need(p.float_data_size(), "float_data");
      t = Tensor::zeros(dt, shape);
      copy_field<float>(p.float_data(), t);
      break;
    case DType::Float64:
      need(p.double_data_size(), "double_data");
      t = Tensor::zeros(dt, shape);
      copy_field<double>(p.double_data(), t);
      break;
    case DType::Int64:
      need(p.int64_data_size(), "int64_data");
      t = Tensor::zeros(dt, shape);
      copy_field<int64_t>(p.int64_data(), t);
      break;
    case DType::UInt32:
      need(p.uint64_data_size(), "uint64_data");
      t = Tensor::zeros(dt, shape);
      copy_field<uint32_t>(p.uint64_data(), t);
      break;
    case DType::UInt64:
      need(p.uint64_data_size(), "uint64_data");
      t = Tensor::zeros(dt, shape);
      copy_field<uint64_t>(p.uint64_data(), t);
      break;
    case DType::Int32:
      need(p.int32_data_size(), "int32_data");
      t = Tensor::zeros(dt, shape);
      copy_field<int32_t>(p.int32_data(), t);
      break;
    // Narrow types are stored one per int32_data entry (float16/bfloat16 as their bit pattern).
    case DType::Int16: need(p.int32_data_size(), "int32_data"); t = Tensor::zeros(dt, shape); copy_field<int16_t>(p.int32_data(), t); break;
    case DType::UInt16:
    case DType::Float16:
    case DType::BFloat16: need(p.int32_data_size(), "int32_data"); t = Tensor::zeros(dt, shape); copy_field<uint16_t>(p.int32_data(), t); break;
    case DType::Int8: need(p.int32_data_size(), "int32_data"); t = Tensor::zeros(dt, shape); copy_field<int8_t>(p.int32_data(), t); break;
    case DType::UInt8:
    case DType::Bool: need(p.int32_data_size(), "int32_data"); t = Tensor::zeros(dt, shape); copy_field<uint8_t>(p.int32_data(), t); break;
    default: throw unsupported("tensor '{}' has dtype {}", p.name(), dtype_name(dt));
  }
  if (dt == DType::Bool) {  // normalise to 0/1
    auto* b = static_cast<uint8_t*>(t.raw());
    for (int64_t i = 0; i < numel; ++i) b[i] = b[i] != 0;
  }
  return t;
}

std::string read_external(const onnx::TensorProto& p, const std::string& base_dir, size_t want) {
  std::string location;
  int64_t offset = 0;
  int64_t length = -1;
  for (const auto& kv : p.external_data()) {
    if (kv.key() == "location") location = kv.value();
    else if (kv.key() == "offset") offset = std::stoll(kv.value());
    else if (kv.key() == "length") length = std::stoll(kv.value());
  }
  if (location.empty()) throw bad_input("tensor '{}' has external data without a location", p.name());
  const fs::path rel(location);
  if (rel.is_absolute() || location.find("..") != std::string::npos) {
    throw bad_input("tensor '{}': external data location '{}' must be a relative path inside the "
                    "model's folder", p.name(), location);
  }
  const fs::path file = fs::path(base_dir.empty() ? "." : base_dir) / rel;
  std::error_code ec;
  const uintmax_t size = fs::file_size(file, ec);
  if (ec) throw bad_input("tensor '{}': cannot read external data file '{}'", p.name(), file.string());
  if (length < 0) length = static_cast<int64_t>(want);
  if (offset < 0 || static_cast<uintmax_t>(offset) + static_cast<uintmax_t>(length) > size ||
      static_cast<size_t>(length) != want) {
    throw bad_input("tensor '{}': external data (offset {}, length {}) does not match file '{}' of "
                    "{} bytes and the {} bytes its shape needs",
                    p.name(), offset, length, file.string(), size, want);
  }
  std::ifstream in(file, std::ios::binary);
  in.seekg(offset);
  std::string bytes(want, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(want));
  if (static_cast<size_t>(in.gcount()) != want) throw bad_input("tensor '{}': short read of external data", p.name());
  return bytes;
}

// ---------------------------------------------------------------------- attributes / values

Attribute attribute_from_proto(const onnx::AttributeProto& a, const std::string& base_dir) {
  Attribute out;
  using AP = onnx::AttributeProto;
  switch (a.type()) {
    case AP::FLOAT: out.kind = Attribute::Kind::Float; out.f = a.f(); break;
    case AP::INT: out.kind = Attribute::Kind::Int; out.i = a.i(); break;
    case AP::STRING: out.kind = Attribute::Kind::String; out.s = a.s(); break;
    case AP::TENSOR: out.kind = Attribute::Kind::Tensor; out.t = tensor_from_proto(a.t(), base_dir); break;
    case AP::FLOATS: out.kind = Attribute::Kind::Floats; out.floats.assign(a.floats().begin(), a.floats().end()); break;
    case AP::INTS: out.kind = Attribute::Kind::Ints; out.ints.assign(a.ints().begin(), a.ints().end()); break;
    case AP::STRINGS: out.kind = Attribute::Kind::Strings; out.strings.assign(a.strings().begin(), a.strings().end()); break;
    case AP::GRAPH:
    case AP::GRAPHS: throw unsupported("attribute '{}' holds a subgraph; control flow is not supported", a.name());
    default: throw unsupported("attribute '{}' has an unsupported type ({})", a.name(), static_cast<int>(a.type()));
  }
  return out;
}

void attribute_to_proto(const std::string& name, const Attribute& a, onnx::AttributeProto* p) {
  using AP = onnx::AttributeProto;
  p->set_name(name);
  switch (a.kind) {
    case Attribute::Kind::Float: p->set_type(AP::FLOAT); p->set_f(a.f); break;
    case Attribute::Kind::Int: p->set_type(AP::INT); p->set_i(a.i); break;
    case Attribute::Kind::String: p->set_type(AP::STRING); p->set_s(a.s); break;
    case Attribute::Kind::Tensor: p->set_type(AP::TENSOR); tensor_to_proto(a.t, p->mutable_t()); break;
    case Attribute::Kind::Floats: p->set_type(AP::FLOATS); for (float f : a.floats) p->add_floats(f); break;
    case Attribute::Kind::Ints: p->set_type(AP::INTS); for (int64_t i : a.ints) p->add_ints(i); break;
    case Attribute::Kind::Strings: p->set_type(AP::STRINGS); for (const auto& s : a.strings) p->add_strings(s); break;
    case Attribute::Kind::Graph: throw internal_error("cannot export graph attribute '{}'", name);
  }
}

ValueInfo value_info_from_proto(const onnx::ValueInfoProto& v) {
  ValueInfo vi;
  if (!v.has_type() || !v.type().has_tensor_type()) return vi;
  const auto& tt = v.type().tensor_type();
  if (dtype_is_known(tt.elem_type())) vi.dtype = static_cast<DType>(tt.elem_type());
  if (tt.has_shape()) {
    std::vector<Dim> dims;
    for (const auto& d : tt.shape().dim()) {
      Dim dim;
      if (d.has_dim_value() && d.dim_value() >= 0) dim.value = d.dim_value();
      if (d.has_dim_param()) dim.param = d.dim_param();
      dims.push_back(dim);
    }
    vi.shape = std::move(dims);
  }
  return vi;
}

void value_info_to_proto(const std::string& name, const ValueInfo& vi, onnx::ValueInfoProto* p) {
  p->set_name(name);
  auto* tt = p->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(static_cast<int32_t>(vi.dtype));
  if (!vi.shape) return;
  auto* shape = tt->mutable_shape();
  for (const Dim& d : *vi.shape) {
    auto* pd = shape->add_dim();
    if (d.known()) pd->set_dim_value(d.value);
    else if (!d.param.empty()) pd->set_dim_param(d.param);
  }
}

void read_value_infos(const onnx::GraphProto& g, Graph& graph) {
  auto merge = [&](const onnx::ValueInfoProto& v) {
    ValueInfo vi = value_info_from_proto(v);
    if (vi.dtype == DType::Undefined && !vi.shape) return;
    graph.values[v.name()] = vi;
  };
  for (const auto& v : g.value_info()) merge(v);
  for (const auto& v : g.input()) merge(v);
  for (const auto& v : g.output()) merge(v);
}

// -------------------------------------------------------------------------- model import

Model model_from_proto(const onnx::ModelProto& m, const std::string& base_dir) {
  Model model;
  model.ir_version = m.ir_version();
  model.producer_name = m.producer_name();
  model.producer_version = m.producer_version();
  model.domain = m.domain();
  model.model_version = m.model_version();
  model.doc_string = m.doc_string();
  for (const auto& kv : m.metadata_props()) model.metadata[kv.key()] = kv.value();
  if (m.functions_size() > 0) throw unsupported("model-local functions are not supported");

  Graph& g = model.graph;
  for (const auto& op : m.opset_import()) g.opset_imports[op.domain() == "ai.onnx" ? "" : op.domain()] = op.version();
  if (!g.opset_imports.count("") && m.ir_version() < 3) g.opset_imports[""] = 1;

  const onnx::GraphProto& gp = m.graph();
  g.name = gp.name();
  if (gp.sparse_initializer_size() > 0) throw unsupported("sparse initializers are not supported");
  for (const auto& t : gp.initializer()) {
    try {
      if (g.initializers.count(t.name())) throw bad_input("initializer '{}' is defined twice", t.name());
      g.initializers.emplace(t.name(), tensor_from_proto(t, base_dir));
    } catch (Error& e) {
      if (e.detail().find(t.name()) == std::string::npos) {
        throw Error(e.kind(), fmt::format("initializer '{}': {}", t.name(), e.detail()), e.context());
      }
      throw;
    }
  }
  auto require_tensor_type = [](const onnx::ValueInfoProto& v, const char* what) {
    if (v.has_type() && !v.type().has_tensor_type()) {
      throw unsupported("graph {} '{}' is not a tensor (sequence, map and optional types are not "
                        "supported)", what, v.name());
    }
  };
  for (const auto& in : gp.input()) {
    require_tensor_type(in, "input");
    if (!g.initializers.count(in.name())) g.inputs.push_back(in.name());
  }
  for (const auto& out : gp.output()) require_tensor_type(out, "output");
  for (const auto& out : gp.output()) g.outputs.push_back(out.name());
  read_value_infos(gp, g);
  for (const auto& [name, t] : g.initializers) {  // initializers' own type is authoritative
    ValueInfo vi;
    vi.dtype = t.dtype();
    std::vector<Dim> dims;
    for (int64_t d : t.shape()) dims.push_back(Dim{d, ""});
    vi.shape = std::move(dims);
    g.values[name] = vi;
  }

  std::set<std::string> node_names;
  int unnamed = 0;
  for (const auto& np : gp.node()) {
    Node n;
    n.name = np.name();
    n.op_type = np.op_type();
    n.domain = np.domain() == "ai.onnx" ? "" : np.domain();
    n.doc_string = np.doc_string();
    n.inputs.assign(np.input().begin(), np.input().end());
    n.outputs.assign(np.output().begin(), np.output().end());
    try {
      for (const auto& a : np.attribute()) {
        if (n.attrs.count(a.name())) throw bad_input("attribute '{}' is given twice", a.name());
        n.attrs.emplace(a.name(), attribute_from_proto(a, base_dir));
      }
    } catch (Error& e) {
      e.with_node(n.name, n.op_type);
      throw;
    }
    // Node names are optional in ONNX; hone needs them in reports and messages.
    if (n.name.empty() || node_names.count(n.name)) {
      std::string base = n.name.empty() ? n.op_type + "_" + std::to_string(unnamed++) : n.name;
      while (node_names.count(base)) base += "_";
      n.name = base;
    }
    node_names.insert(n.name);
    g.add_node(std::move(n));
  }
  g.topological_sort();
  return model;
}

void check_proto(const onnx::ModelProto& m, const std::string& name) {
  try {
    onnx::checker::check_model(m);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    // The checker's messages run over several lines; hone prints one.
    for (char& c : msg) {
      if (c == '\n') c = ' ';
    }
    while (!msg.empty() && msg.back() == ' ') msg.pop_back();
    throw bad_input("not a valid ONNX model: {}", msg).with_file(name);
  }
}

}  // namespace

// ------------------------------------------------------------------------------ public API

Tensor tensor_from_proto(const onnx::TensorProto& p, const std::string& base_dir) {
  if (!dtype_is_known(p.data_type())) {
    throw unsupported("tensor '{}' has unknown data type code {}", p.name(), p.data_type());
  }
  const DType dt = static_cast<DType>(p.data_type());
  if (dt == DType::String) throw unsupported("tensor '{}' holds strings", p.name());
  if (p.has_segment()) throw unsupported("tensor '{}' is segmented", p.name());
  Shape shape(p.dims().begin(), p.dims().end());
  int64_t numel = 0;
  try {
    numel = checked_numel(shape);
  } catch (Error& e) {
    throw bad_input("tensor '{}': {}", p.name(), e.detail());
  }
  const size_t want = static_cast<size_t>(numel) * dtype_size(dt);
  if (p.data_location() == onnx::TensorProto::EXTERNAL) {
    const std::string bytes = read_external(p, base_dir, want);
    return Tensor::from_bytes(dt, shape, bytes.data(), bytes.size());
  }
  if (p.has_raw_data()) {
    if (p.raw_data().size() != want) {
      throw bad_input("tensor '{}' has {} bytes of data but shape {} of {} needs {}", p.name(),
                      p.raw_data().size(), shape_str(shape), dtype_name(dt), want);
    }
    Tensor t = Tensor::from_bytes(dt, shape, p.raw_data().data(), want);
    if (dt == DType::Bool) {
      auto* b = static_cast<uint8_t*>(t.raw());
      for (int64_t i = 0; i < numel; ++i) b[i] = b[i] != 0;
    }
    return t;
  }
  return tensor_from_typed_fields(p, dt, shape, numel);
}

void tensor_to_proto(const Tensor& t, onnx::TensorProto* p) {
  p->set_data_type(static_cast<int32_t>(t.dtype()));
  for (int64_t d : t.shape()) p->add_dims(d);
  p->set_raw_data(t.raw(), t.nbytes());
}

Tensor load_tensor_pb(const std::string& path) {
  const std::string bytes = read_file(path);
  onnx::TensorProto p;
  if (!p.ParseFromString(bytes)) throw bad_input("not a serialized ONNX TensorProto").with_file(path);
  try {
    return tensor_from_proto(p, fs::path(path).parent_path().string());
  } catch (Error& e) {
    throw e.with_file(path);
  }
}

Model load_onnx_bytes(const std::string& bytes, const std::string& name,
                      const std::string& base_dir, const LoadOptions& options) {
  onnx::ModelProto m;
  if (bytes.empty()) throw bad_input("file is empty").with_file(name);
  if (!m.ParseFromString(bytes)) {
    throw bad_input("not an ONNX model (the protobuf does not parse; truncated or another format)")
        .with_file(name);
  }
  if (!m.has_graph()) throw bad_input("not an ONNX model (no graph)").with_file(name);
  if (m.opset_import_size() == 0) throw bad_input("model declares no opset_import").with_file(name);
  if (options.check) check_proto(m, name);
  if (options.infer_shapes) {
    try {
      onnx::ShapeInferenceOptions opts(/*check_type=*/false, /*error_mode=*/0, /*data_prop=*/true);
      onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), opts);
    } catch (const std::exception&) {
      // Inference is advisory: the interpreter computes real shapes at run time, and a model
      // ONNX cannot fully infer is not an error. Keep what the file declared.
    }
  }
  try {
    Model model = model_from_proto(m, base_dir);
    model.path = name;
    return model;
  } catch (Error& e) {
    throw e.with_file(name);
  }
}

Model load_onnx(const std::string& path, const LoadOptions& options) {
  const std::string bytes = read_file(path);
  return load_onnx_bytes(bytes, path, fs::path(path).parent_path().string(), options);
}

onnx::ModelProto to_proto(const Model& model) {
  onnx::ModelProto m;
  m.set_ir_version(model.ir_version > 0 ? model.ir_version : 8);
  m.set_producer_name(model.producer_name.empty() ? "hone" : model.producer_name);
  m.set_producer_version(model.producer_version);
  m.set_domain(model.domain);
  m.set_model_version(model.model_version);
  m.set_doc_string(model.doc_string);
  for (const auto& [k, v] : model.metadata) {
    auto* p = m.add_metadata_props();
    p->set_key(k);
    p->set_value(v);
  }
  const Graph& g = model.graph;
  for (const auto& [domain, version] : g.opset_imports) {
    auto* op = m.add_opset_import();
    op->set_domain(domain);
    op->set_version(version);
  }
  auto* gp = m.mutable_graph();
  gp->set_name(g.name.empty() ? "hone" : g.name);
  for (const auto& [name, t] : g.initializers) {
    auto* tp = gp->add_initializer();
    tp->set_name(name);
    tensor_to_proto(t, tp);
  }
  const ValueInfo unknown;
  auto info = [&](const std::string& v) -> const ValueInfo& {
    const ValueInfo* vi = g.value_info(v);
    return vi ? *vi : unknown;
  };
  for (const auto& in : g.inputs) value_info_to_proto(in, info(in), gp->add_input());
  if (m.ir_version() < 4) {  // before IR 4, every initializer must also be a graph input
    for (const auto& [name, _] : g.initializers) value_info_to_proto(name, info(name), gp->add_input());
  }
  for (const auto& out : g.outputs) value_info_to_proto(out, info(out), gp->add_output());
  // Intermediate types and shapes are written only for outputs of nodes outside the ONNX
  // domain, which ONNX shape inference cannot recover; the rest is re-inferred on load (by hone
  // and by other runtimes), so writing it would only grow the file (by ~5% for a QDQ model).
  std::set<std::string> io(g.inputs.begin(), g.inputs.end());
  io.insert(g.outputs.begin(), g.outputs.end());
  for (const auto& n : g.nodes) {
    if (n->domain.empty() || n->domain == "ai.onnx") continue;
    for (const auto& o : n->outputs) {
      const ValueInfo* vi = g.value_info(o);
      if (o.empty() || io.count(o) || !vi || vi->dtype == DType::Undefined) continue;
      value_info_to_proto(o, *vi, gp->add_value_info());
    }
  }
  for (const auto& n : g.nodes) {
    auto* np = gp->add_node();
    np->set_name(n->name);
    np->set_op_type(n->op_type);
    np->set_domain(n->domain);
    if (!n->doc_string.empty()) np->set_doc_string(n->doc_string);
    for (const auto& i : n->inputs) np->add_input(i);
    for (const auto& o : n->outputs) np->add_output(o);
    for (const auto& [k, a] : n->attrs) attribute_to_proto(k, a, np->add_attribute());
  }
  return m;
}

std::string serialize_onnx(const Model& model) {
  const onnx::ModelProto m = to_proto(model);
  check_proto(m, model.path.empty() ? "<exported model>" : model.path);
  std::string bytes;
  if (!m.SerializeToString(&bytes)) {
    throw internal_error("protobuf serialization failed (model over 2 GiB?)");
  }
  return bytes;
}

void save_onnx(const Model& model, const std::string& path) {
  // Serialize first: a model that fails the checker never touches the target.
  // write_file_atomic: temp + fsync + rename; BadInput naming the path on failure.
  support::write_file_atomic(path, serialize_onnx(model));
}

void infer_shapes(Model& model) {
  onnx::ModelProto m = to_proto(model);
  // Inference starts from declared types; drop intermediate value_info so stale shapes from
  // before a pass do not conflict with the new graph.
  m.mutable_graph()->clear_value_info();
  try {
    onnx::ShapeInferenceOptions opts(false, 0, true);
    onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), opts);
  } catch (const std::exception&) {
    return;
  }
  read_value_infos(m.graph(), model.graph);
}

}  // namespace hone::ir
