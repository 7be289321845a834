// ONNX <-> IR. Files are untrusted: every size a file states is checked against the bytes it
// actually holds before anything is allocated, and every problem is a BadInput / Unsupported
// error naming the file, the node or the tensor.
#pragma once

#include "ir/graph.h"

#include <string>

namespace onnx {
class ModelProto;
class TensorProto;
}  // namespace onnx

namespace hone::ir {

struct LoadOptions {
  bool check = true;         // run onnx::checker on the file
  bool infer_shapes = true;  // fill Graph::values with ONNX shape inference
};

// Load an .onnx file; tensors with external data are read from files next to the model.
Model load_onnx(const std::string& path, const LoadOptions& options = {});
// Parse serialized ModelProto bytes; `name` is used in messages, `base_dir` for external data.
Model load_onnx_bytes(const std::string& bytes, const std::string& name,
                      const std::string& base_dir, const LoadOptions& options = {});

// Write a model (all tensors inline). The export is validated by onnx::checker first, and the
// file is written atomically (temporary file + rename): an existing file is never half-replaced.
void save_onnx(const Model& model, const std::string& path);
// Serialized bytes of the exported model.
std::string serialize_onnx(const Model& model);

// Converters, also used by the conformance runner to read ONNX test data (.pb tensors).
onnx::ModelProto to_proto(const Model& model);
Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::string& base_dir = "");
void tensor_to_proto(const Tensor& t, onnx::TensorProto* proto);
// Reads one serialized TensorProto file (test_data_set_*/input_0.pb).
Tensor load_tensor_pb(const std::string& path);

// Recompute Graph::values with ONNX's shape inference (after a pass changed the graph).
// Values ONNX cannot infer keep whatever they had.
void infer_shapes(Model& model);

}  // namespace hone::ir
