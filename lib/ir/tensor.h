// One tensor type for weights, activations and test data: dtype + shape + bytes.
// Storage is shared (copying a Tensor is cheap and aliases the data, like ggml's tensors);
// clone() makes an independent copy. A borrowed tensor points at memory it does not own
// (an arena, a caller's buffer); the owner must outlive it.
#pragma once

#include "ir/dtype.h"
#include "support/error.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace hone::ir {

using Shape = std::vector<int64_t>;

// Upper bound on the element count of any one tensor: the guard that keeps a file from
// asking for 10^12 elements. 2^32 elements = 16 GiB of float32, more than this machine class
// can hold next to the rest of a model.
inline constexpr int64_t kMaxElements = int64_t{1} << 32;
// Product of dims; throws BadInput on a negative dim or if the count exceeds `limit`.
int64_t checked_numel(const Shape& shape, int64_t limit = kMaxElements);
std::string shape_str(const Shape& shape);                 // "[1, 3, 224, 224]"

class Tensor {
 public:
  Tensor() = default;

  // Zero-initialised owned tensor.
  static Tensor zeros(DType dtype, Shape shape);
  // Owned tensor holding a copy of `data` (bytes must equal numel * dtype_size).
  static Tensor from_bytes(DType dtype, Shape shape, const void* data, size_t bytes);
  template <typename T>
  static Tensor from_vector(Shape shape, const std::vector<T>& v) {
    return from_bytes(dtype_of<T>(), std::move(shape), v.data(), v.size() * sizeof(T));
  }
  template <typename T>
  static Tensor scalar(T v) {
    return from_bytes(dtype_of<T>(), {}, &v, sizeof(T));
  }
  // Non-owning view of caller memory.
  static Tensor borrow(DType dtype, Shape shape, void* data);

  bool defined() const { return dtype_ != DType::Undefined; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  size_t rank() const { return shape_.size(); }
  int64_t dim(int64_t i) const { return shape_.at(static_cast<size_t>(i < 0 ? i + rank() : i)); }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }
  bool owns_data() const { return owner_ != nullptr; }

  void* raw() { return data_; }
  const void* raw() const { return data_; }

  // Typed access; throws InternalError if T does not match the dtype.
  template <typename T> T* data() {
    check_type(dtype_of<T>());
    return static_cast<T*>(data_);
  }
  template <typename T> const T* data() const {
    check_type(dtype_of<T>());
    return static_cast<const T*>(data_);
  }
  template <typename T> std::span<T> span() { return {data<T>(), static_cast<size_t>(numel_)}; }
  template <typename T> std::span<const T> span() const {
    return {data<T>(), static_cast<size_t>(numel_)};
  }

  // Same bytes, new shape (numel must match). Shares storage.
  Tensor reshaped(Shape shape) const;
  // Deep copy into owned storage.
  Tensor clone() const;

  // Element i converted to double / int64 (any numeric dtype): for shape-like inputs,
  // statistics and tests, not for kernels' inner loops.
  double get_as_double(int64_t i) const;
  int64_t get_as_int64(int64_t i) const;
  std::vector<int64_t> to_int64_vector() const;

  // Bitwise equality of dtype, shape and bytes.
  bool identical(const Tensor& other) const;

 private:
  void check_type(DType t) const;

  DType dtype_ = DType::Undefined;
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<void> owner_;  // null for borrowed tensors
  void* data_ = nullptr;
};

}  // namespace hone::ir
