// Helpers shared by reference kernels: dtype dispatch, numpy broadcasting, axis handling,
// and the convolution / pooling window geometry (pads, strides, dilations, auto_pad).
#pragma once

#include "ir/dtype.h"
#include "ir/graph.h"
#include "ir/tensor.h"
#include "runtime/reference/kernel.h"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace hone::runtime::reference {

// ------------------------------------------------------------------------------ dtype dispatch
// visit_dtype(dt, [&]<typename T>() { ... }) calls the lambda with T = the C++ type of dt.
// Float16/BFloat16 are storage types: kernels that compute on them convert to float.
template <typename F>
decltype(auto) visit_dtype(ir::DType dt, F&& f) {
  using ir::DType;
  switch (dt) {
    case DType::Float32: return f.template operator()<float>();
    case DType::Float64: return f.template operator()<double>();
    case DType::Float16: return f.template operator()<ir::Float16>();
    case DType::BFloat16: return f.template operator()<ir::BFloat16>();
    case DType::Int8: return f.template operator()<int8_t>();
    case DType::UInt8: return f.template operator()<uint8_t>();
    case DType::Int16: return f.template operator()<int16_t>();
    case DType::UInt16: return f.template operator()<uint16_t>();
    case DType::Int32: return f.template operator()<int32_t>();
    case DType::UInt32: return f.template operator()<uint32_t>();
    case DType::Int64: return f.template operator()<int64_t>();
    case DType::UInt64: return f.template operator()<uint64_t>();
    case DType::Bool: return f.template operator()<bool>();
    default: throw unsupported("dtype {} is not supported here", ir::dtype_name(dt));
  }
}

// Convert between a storage type and the type arithmetic is done in.
template <typename T> inline float to_float(T v) { return static_cast<float>(v); }
template <> inline float to_float(ir::Float16 v) { return ir::f16_to_f32(v); }
template <> inline float to_float(ir::BFloat16 v) { return ir::bf16_to_f32(v); }
template <typename T> inline T from_float(float v) { return static_cast<T>(v); }
template <> inline ir::Float16 from_float(float v) { return ir::f32_to_f16(v); }
template <> inline ir::BFloat16 from_float(float v) { return ir::f32_to_bf16(v); }

// Load-time dtype check: BadInput/Unsupported naming the input and the dtypes accepted.
// Undefined (not inferred) passes: the run-time kernel checks again.
void require_dtype(const KernelInfo& info, size_t input, std::initializer_list<ir::DType> allowed);
// Same check at run time.
void require_dtype(const ir::Tensor& t, const char* what, std::initializer_list<ir::DType> allowed);

inline constexpr std::initializer_list<ir::DType> kFloatTypes = {
    ir::DType::Float32, ir::DType::Float64, ir::DType::Float16, ir::DType::BFloat16};

// ---------------------------------------------------------------------------------- shapes
// Normalise a possibly negative axis into [0, rank); BadInput when out of range.
int64_t normalize_axis(int64_t axis, int64_t rank);
// Numpy-style broadcast of two shapes; BadInput when incompatible.
ir::Shape broadcast_shapes(const ir::Shape& a, const ir::Shape& b);
// Element strides of `in` when iterated over `out` (0 on broadcast dims); in.rank <= out.rank.
std::vector<int64_t> broadcast_strides(const ir::Shape& in, const ir::Shape& out);
// Row-major strides of a shape.
std::vector<int64_t> contiguous_strides(const ir::Shape& shape);

// Iterates a multi-index over `shape` and keeps one flat offset per operand in step, for
// broadcasting loops: for (BroadcastIter it(out, {sa, sb}); !it.done(); it.next()) ...
class BroadcastIter {
 public:
  BroadcastIter(const ir::Shape& shape, std::vector<std::vector<int64_t>> strides);
  bool done() const { return done_; }
  int64_t offset(size_t operand) const { return offsets_[operand]; }
  void next();

 private:
  ir::Shape shape_;
  std::vector<std::vector<int64_t>> strides_;
  std::vector<int64_t> index_;
  std::vector<int64_t> offsets_;
  bool done_ = false;
};

// ------------------------------------------------------------------------ window geometry
// Resolved geometry of a Conv / ConvTranspose / pooling window over N spatial dims.
struct WindowGeometry {
  std::vector<int64_t> kernel;     // kernel spatial size
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  std::vector<int64_t> pads_begin;
  std::vector<int64_t> pads_end;
  std::vector<int64_t> in_spatial;
  std::vector<int64_t> out_spatial;
};

// Conv and pooling: output = floor((in + pb + pe - ((k-1)*d + 1)) / s) + 1 (ceil with
// ceil_mode). auto_pad SAME_UPPER / SAME_LOWER / VALID / NOTSET per the ONNX spec.
WindowGeometry window_geometry(const ir::Node& node, const std::vector<int64_t>& in_spatial,
                               const std::vector<int64_t>& kernel, bool ceil_mode = false);
// Checks the attributes window_geometry reads (auto_pad values, list lengths) at load time.
void check_window_attrs(const ir::Node& node, int64_t spatial_rank_or_minus1);

}  // namespace hone::runtime::reference
