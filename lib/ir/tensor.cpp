#include "ir/tensor.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

namespace hone::ir {

int64_t checked_numel(const Shape& shape, int64_t limit) {
  // Bound the product of the non-zero dims too: an empty tensor of shape [0, 2^40, 2^40] would
  // otherwise pass, and kernels multiplying its other dims would overflow.
  int64_t n = 1;
  bool empty = false;
  for (int64_t d : shape) {
    if (d < 0) throw bad_input("negative dimension {} in shape {}", d, shape_str(shape));
    if (d == 0) {
      empty = true;
      continue;
    }
    if (n > limit / d) {
      throw bad_input("shape {} has more than {} elements", shape_str(shape), limit);
    }
    n *= d;
  }
  return empty ? 0 : n;
}

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

namespace {
std::shared_ptr<void> allocate(size_t bytes) {
  // 64-byte alignment suits every SIMD width. 64 more readable bytes past the end: vector
  // kernels may read a partial vector beyond a tensor (XNNPACK documents up to XNN_EXTRA_BYTES,
  // 16, for every input it is given), and this also keeps data() non-null for empty tensors.
  const size_t n = ((bytes + 63) / 64) * 64 + 64;
  void* p = std::aligned_alloc(64, n);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, n);
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}
}  // namespace

Tensor Tensor::zeros(DType dtype, Shape shape) {
  if (dtype_size(dtype) == 0) {
    throw unsupported("tensors of dtype {} are not supported", dtype_name(dtype));
  }
  Tensor t;
  t.dtype_ = dtype;
  t.numel_ = checked_numel(shape);
  t.shape_ = std::move(shape);
  t.owner_ = allocate(t.nbytes());
  t.data_ = t.owner_.get();
  return t;
}

Tensor Tensor::from_bytes(DType dtype, Shape shape, const void* data, size_t bytes) {
  Tensor t = zeros(dtype, std::move(shape));
  if (bytes != t.nbytes()) {
    throw bad_input("tensor of shape {} and dtype {} needs {} bytes, got {}", shape_str(t.shape_),
                    dtype_name(dtype), t.nbytes(), bytes);
  }
  if (bytes) std::memcpy(t.data_, data, bytes);
  return t;
}

Tensor Tensor::borrow(DType dtype, Shape shape, void* data) {
  Tensor t;
  t.dtype_ = dtype;
  t.numel_ = checked_numel(shape);
  t.shape_ = std::move(shape);
  t.data_ = data;
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  const int64_t n = checked_numel(shape);
  if (n != numel_) {
    throw bad_input("cannot reshape {} ({} elements) to {} ({} elements)", shape_str(shape_),
                    numel_, shape_str(shape), n);
  }
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  if (!defined()) return {};
  return from_bytes(dtype_, shape_, data_, nbytes());
}

void Tensor::check_type(DType t) const {
  if (t != dtype_) {
    throw internal_error("tensor of dtype {} accessed as {}", dtype_name(dtype_), dtype_name(t));
  }
}

double Tensor::get_as_double(int64_t i) const {
  const auto* p = static_cast<const unsigned char*>(data_);
  switch (dtype_) {
    case DType::Float32: return reinterpret_cast<const float*>(p)[i];
    case DType::Float64: return reinterpret_cast<const double*>(p)[i];
    case DType::Float16: return f16_to_f32(reinterpret_cast<const Float16*>(p)[i]);
    case DType::BFloat16: return bf16_to_f32(reinterpret_cast<const BFloat16*>(p)[i]);
    case DType::UInt8: return reinterpret_cast<const uint8_t*>(p)[i];
    case DType::Int8: return reinterpret_cast<const int8_t*>(p)[i];
    case DType::UInt16: return reinterpret_cast<const uint16_t*>(p)[i];
    case DType::Int16: return reinterpret_cast<const int16_t*>(p)[i];
    case DType::Int32: return reinterpret_cast<const int32_t*>(p)[i];
    case DType::Int64: return static_cast<double>(reinterpret_cast<const int64_t*>(p)[i]);
    case DType::UInt32: return reinterpret_cast<const uint32_t*>(p)[i];
    case DType::UInt64: return static_cast<double>(reinterpret_cast<const uint64_t*>(p)[i]);
    case DType::Bool: return reinterpret_cast<const uint8_t*>(p)[i] ? 1.0 : 0.0;
    default: throw internal_error("get_as_double on dtype {}", dtype_name(dtype_));
  }
}

int64_t Tensor::get_as_int64(int64_t i) const {
  const auto* p = static_cast<const unsigned char*>(data_);
  switch (dtype_) {
    case DType::Int64: return reinterpret_cast<const int64_t*>(p)[i];
    case DType::Int32: return reinterpret_cast<const int32_t*>(p)[i];
    case DType::Int16: return reinterpret_cast<const int16_t*>(p)[i];
    case DType::Int8: return reinterpret_cast<const int8_t*>(p)[i];
    case DType::UInt8: return reinterpret_cast<const uint8_t*>(p)[i];
    case DType::UInt16: return reinterpret_cast<const uint16_t*>(p)[i];
    case DType::UInt32: return reinterpret_cast<const uint32_t*>(p)[i];
    case DType::UInt64: return static_cast<int64_t>(reinterpret_cast<const uint64_t*>(p)[i]);
    case DType::Bool: return reinterpret_cast<const uint8_t*>(p)[i] ? 1 : 0;
    default: {
      // Float -> int64 saturates (NaN -> 0): a plain cast of NaN or |x| >= 2^63 is undefined.
      const double d = get_as_double(i);
      if (std::isnan(d)) return 0;
      if (d >= 9223372036854775807.0) return INT64_MAX;
      if (d <= -9223372036854775808.0) return INT64_MIN;
      return static_cast<int64_t>(d);
    }
  }
}

std::vector<int64_t> Tensor::to_int64_vector() const {
  std::vector<int64_t> v(static_cast<size_t>(numel_));
  for (int64_t i = 0; i < numel_; ++i) v[static_cast<size_t>(i)] = get_as_int64(i);
  return v;
}

bool Tensor::identical(const Tensor& other) const {
  return dtype_ == other.dtype_ && shape_ == other.shape_ &&
         (nbytes() == 0 || std::memcmp(data_, other.data_, nbytes()) == 0);
}

}  // namespace hone::ir
