// Element types. The numeric values are ONNX's TensorProto.DataType codes so import/export is a cast.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace hone::ir {

enum class DType : int32_t {
  Undefined = 0,
  Float32 = 1,
  UInt8 = 2,
  Int8 = 3,
  UInt16 = 4,
  Int16 = 5,
  Int32 = 6,
  Int64 = 7,
  String = 8,  // recognised so it can be named in errors; no kernel computes on it
  Bool = 9,
  Float16 = 10,
  Float64 = 11,
  UInt32 = 12,
  UInt64 = 13,
  BFloat16 = 16,
};

// Size of one element in bytes; 0 for Undefined and String.
size_t dtype_size(DType t);
std::string_view dtype_name(DType t);  // "float32", "int8", ...
bool dtype_is_known(int32_t onnx_code);  // a code hone can hold in a Tensor
bool dtype_is_float(DType t);            // float16, bfloat16, float32, float64
bool dtype_is_integer(DType t);          // signed or unsigned integer (not bool)

// IEEE 754 binary16 and bfloat16 storage types; arithmetic is done in float.
struct Float16 {
  uint16_t bits = 0;
};
struct BFloat16 {
  uint16_t bits = 0;
};

float f16_to_f32(Float16 h);
Float16 f32_to_f16(float f);  // round to nearest even, overflow -> inf, NaN kept
float bf16_to_f32(BFloat16 h);
BFloat16 f32_to_bf16(float f);  // round to nearest even

// Map a C++ type to its DType (used by Tensor::data<T>() to check the caller's assumption).
template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::UInt8; }
template <> constexpr DType dtype_of<int8_t>() { return DType::Int8; }
template <> constexpr DType dtype_of<uint16_t>() { return DType::UInt16; }
template <> constexpr DType dtype_of<int16_t>() { return DType::Int16; }
template <> constexpr DType dtype_of<int32_t>() { return DType::Int32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::Int64; }
template <> constexpr DType dtype_of<uint32_t>() { return DType::UInt32; }
template <> constexpr DType dtype_of<uint64_t>() { return DType::UInt64; }
template <> constexpr DType dtype_of<bool>() { return DType::Bool; }
template <> constexpr DType dtype_of<Float16>() { return DType::Float16; }
template <> constexpr DType dtype_of<BFloat16>() { return DType::BFloat16; }

}  // namespace hone::ir
